"""Network rules on the host, from the store: staxad's table in the host namespace
(inbound NodePorts) and in the service user's rootless network namespace (egress of
restricted tenants).

A sync renders both documents and loads one only when it differs from what staxad
last loaded or the table is gone (`nft flush ruleset`, a recreated rootless
namespace). Syncs are serialised; each load replaces the whole table atomically.

One rule's elements that the kernel refuses must not stall every other tenant's
changes: when a load fails, the rules are applied one at a time on top of those the
kernel took before, and each rule it refuses is marked `failed` with its error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from staxad.adapters.nft import Nft, Table
from staxad.adapters.podman import Podman
from staxad.core.platform import Platform
from staxad.model import names
from staxad.model.errors import TemporaryError
from staxad.model.netrules import NetworkRule
from staxad.model.nftables import Allow, Forward, Ruleset, host_ruleset, netns_ruleset
from staxad.model.records import Deployment
from staxad.reconcile.syncer import Coalescer
from staxad.store import deployments as deployment_store
from staxad.store import events
from staxad.store import host as host_store
from staxad.store import netrules as rule_store

log = logging.getLogger("staxad.firewall")

ROUTE_LOCALNET = Path("/proc/sys/net/ipv4/conf/all/route_localnet")
ROUTE_LOCALNET_BEFORE = "route_localnet.before"  # in the data dir: the host's value before staxad set it

Render = Callable[[Sequence[str]], Ruleset]  # the table holding the elements of these rules only


class Firewall:
    def __init__(self, platform: Platform, podman: Podman, host: Nft, netns: Nft) -> None:
        self.platform = platform
        self.podman = podman
        self.settings = platform.ctx.settings
        self.table = names.firewall_table(self.settings.instance)
        self._tables = {"host": Table(host, "ip", self.table), "netns": Table(netns, "ip", self.table)}
        self._accepted: dict[str, set[str]] = {}  # per namespace, the rules in what was last loaded
        self._lock = asyncio.Lock()
        self.loads = 0
        self.request = Coalescer(self.sync)  # for tenant passes: one sync per burst of them

    async def sync(self, verify: bool = False) -> None:
        """Bring both tables to the store. With `verify` (the periodic pass) also make sure
        they still exist, which costs a subprocess per namespace; reconcile passes skip it."""
        async with self._lock:
            rules = {rule.id: rule for rule in await rule_store.active(self.platform.ctx.db)}
            forwards = await self._forwards(list(rules.values()))

            def host(ids: Sequence[str]) -> Ruleset:
                keep = set(ids)
                return host_ruleset(self.table, [f for f in forwards if f.rule_id in keep])

            await self._load("host", _owners(forwards), host, rules, verify)
            ctx = self.platform.ctx
            async with ctx.db.transaction() as tx:
                released = await rule_store.release_ports(tx, set(rules))
                for rule_id, tenant_id in released:
                    message = f"Network rule {rule_id} is gone from the kernel; its port is free again"
                    await events.append(tx, tenant_id, "network_rule.removed", message, ctx.clock.now())
            if released:
                ids = ", ".join(rule_id for rule_id, _ in released)
                log.info("node ports of rules %s released: the kernel no longer forwards them", ids)
            restricted, allows = await self._egress(list(rules.values()))

            def netns(ids: Sequence[str]) -> Ruleset:
                keep = set(ids)
                return netns_ruleset(self.table, restricted, [a for a in allows if a.rule_id in keep])

            if restricted or self._tables["netns"].loaded is not None:
                await self._load("netns", _owners(allows), netns, rules, verify)

    async def _load(
        self, where: str, ids: list[str], render: Render, rules: dict[str, NetworkRule], verify: bool
    ) -> None:
        table = self._tables[where]
        try:
            loaded = await table.set(render(ids), verify)
            accepted = set(ids)
        except TemporaryError as exc:
            log.warning("firewall table %s (%s) refused, applying rule by rule: %s", self.table, where, exc)
            accepted, loaded = await self._load_each(where, ids, render, rules), True
        self._accepted[where] = accepted
        if loaded:
            self.loads += 1
            log.info("loaded firewall table %s (%s)", self.table, where)

    async def _load_each(self, where: str, ids: list[str], render: Render, rules: dict[str, NetworkRule]) -> set[str]:
        """The rules the kernel took last time in one load (they still fit together), then
        each other rule on its own; a rule the kernel refuses is marked failed."""
        table = self._tables[where]
        kept = [i for i in ids if i in self._accepted.get(where, set())]
        table.forget()
        try:
            await table.set(render(kept))
        except TemporaryError:
            kept = []
            await table.set(render([]))  # refused even without rules: nothing per rule can help
        for rule_id in ids:
            if rule_id in kept:
                continue
            try:
                await table.set(render([*kept, rule_id]))
            except TemporaryError as exc:
                log.warning("network rule %s refused by the kernel; marking it failed", rule_id)
                await self.platform.netrules.fail(rules[rule_id], str(exc))
                continue
            kept.append(rule_id)
        return set(kept)

    async def _forwards(self, rules: list[NetworkRule]) -> list[Forward]:
        forwards = []
        lives: dict[str, dict[str, Deployment]] = {}
        udp_ports: dict[str, int | None] = {}  # container -> its UDP port (one per container)
        for rule in rules:
            if rule.direction != "inbound" or not rule.allocated_port or not rule.target_service_id:
                continue
            if rule.tenant_id not in lives:
                lives[rule.tenant_id] = await deployment_store.live_for(self.platform.ctx.db, rule.tenant_id)
            live = lives[rule.tenant_id].get(rule.target_service_id)
            if live is None or not live.container_name:
                continue  # not running: nothing to forward to until it is
            host_port = live.host_port
            if rule.protocol == "udp":
                if live.container_name not in udp_ports:
                    state = await self.podman.inspect(live.container_name)
                    published = state.published.items() if state else ()
                    udp_ports[live.container_name] = next((p for k, p in published if k.endswith("/udp")), None)
                host_port = udp_ports[live.container_name]
            if host_port:
                forwards += [
                    Forward(rule.protocol, source, rule.allocated_port, host_port, rule.id)
                    for source in rule.source_cidrs
                ]
        return forwards

    async def _egress(self, rules: list[NetworkRule]) -> tuple[list[str], list[Allow]]:
        restricted, allows = [], []
        for tenant_id, name in await host_store.restricted_tenants(self.platform.ctx.db):
            subnet = await self.podman.subnet(names.network(self.settings.instance, name))
            if subnet is None:
                continue  # no network yet: nothing of the tenant runs
            restricted.append(subnet)
            for rule in rules:
                if rule.tenant_id == tenant_id and rule.direction == "outbound" and rule.destination_port:
                    allows += [
                        Allow(subnet, d, rule.protocol, rule.destination_port, rule.id) for d in rule.destination_cidrs
                    ]
        return restricted, allows

    def allow_dnat_to_loopback(self, knob: Path = ROUTE_LOCALNET) -> None:
        """Inbound rules DNAT to 127.0.0.1, which the kernel routes only with route_localnet;
        the host table's guard chain drops what this would otherwise let in. The host's own
        value is kept the first time, for the package's purge to put back."""
        enable_route_localnet(knob, self.settings.data_dir / ROUTE_LOCALNET_BEFORE)

    def forget(self) -> None:
        """Load again on the next sync (the tables may have been changed behind staxad's back)."""
        for table in self._tables.values():
            table.forget()


def enable_route_localnet(knob: Path, saved: Path) -> None:
    """Turn `knob` on, recording its value in `saved` unless an earlier start already did
    (that one is the host's own: later starts only ever see staxad's 1)."""
    before = knob.read_text().strip()
    if not saved.exists():
        saved.write_text(f"{before}\n")
    if before != "1":
        knob.write_text("1")


def _owners(elements: Sequence[Forward | Allow]) -> list[str]:
    """The rules behind these elements, each once, in the order the rules came."""
    return list(dict.fromkeys(e.rule_id for e in elements))
