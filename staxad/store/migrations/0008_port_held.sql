-- 1 while a rule that stopped being active may still forward in the kernel: its node
-- port is not handed out again until the firewall has removed it (then 0).
ALTER TABLE network_rules ADD COLUMN port_held INTEGER NOT NULL DEFAULT 0;
