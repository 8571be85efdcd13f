"""Make the host match the store: level-triggered, per-tenant serial, idempotent."""
