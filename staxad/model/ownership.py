"""Deciding from DNS answers whether a tenant owns a custom domain.

Three records each prove something, checked in this order:

- TXT `_staxa-challenge.<domain>` = `staxa-verify=<token>`: whoever controls the zone
  put the token there. Proves ownership even before traffic is moved (no downtime).
- CNAME `<domain>` -> the tenant's platform hostname: the name already follows the
  tenant wherever the platform moves it.
- A/AAAA `<domain>` -> this server's address: traffic for the name arrives here. On a
  host shared by several providers that proves nothing about *which* tenant owns the
  name, so it counts only when `a_proves` (setting `domains.a_record_proves_ownership`)
  and only when the name has no CNAME: an A query follows CNAMEs, and a name CNAMEd to
  another tenant's hostname must not verify for this one.

Pure: the lookups are made by staxad.adapters.dns and passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OK, NXDOMAIN, NO_ANSWER, TIMEOUT, FAILED = "ok", "nxdomain", "no_answer", "timeout", "failed"


@dataclass(frozen=True)
class Lookup:
    status: str  # one of OK, NXDOMAIN, NO_ANSWER, TIMEOUT, FAILED
    values: tuple[str, ...] = ()

    def show(self) -> str:
        if self.status == OK:
            return ", ".join(self.values)
        return {NXDOMAIN: "the name does not exist", NO_ANSWER: "no such record", TIMEOUT: "no answer in time"}.get(
            self.status, "lookup failed"
        )


@dataclass(frozen=True)
class Expected:
    domain: str
    token: str
    server_ips: tuple[str, ...]
    platform_host: str
    a_proves: bool = False

    @property
    def txt_name(self) -> str:
        return f"_staxa-challenge.{self.domain}"

    @property
    def txt_value(self) -> str:
        return f"staxa-verify={self.token}"

    def queries(self) -> list[tuple[str, str]]:
        return [(self.txt_name, "TXT"), (self.domain, "CNAME"), (self.domain, "A"), (self.domain, "AAAA")]


@dataclass(frozen=True)
class Verdict:
    verified: bool
    method: str | None
    message: str
    inconclusive: bool = False  # DNS did not answer: says nothing about ownership
    found: dict[str, str] = field(default_factory=dict)
    expected: dict[str, str] = field(default_factory=dict)


def judge(want: Expected, answers: dict[tuple[str, str], Lookup]) -> Verdict:
    txt = answers[(want.txt_name, "TXT")]
    cname = answers[(want.domain, "CNAME")]
    addresses = [answers[(want.domain, kind)] for kind in ("A", "AAAA")]
    found = {
        f"TXT {want.txt_name}": txt.show(),
        f"CNAME {want.domain}": cname.show(),
        f"A {want.domain}": addresses[0].show(),
        f"AAAA {want.domain}": addresses[1].show(),
    }
    expected = {
        f"TXT {want.txt_name}": want.txt_value,
        f"CNAME {want.domain}": want.platform_host,
    }
    if want.a_proves:
        expected[f"A/AAAA {want.domain}"] = " or ".join(want.server_ips)
    ways = _ways(want)

    def verdict(verified: bool, method: str | None, message: str, inconclusive: bool = False) -> Verdict:
        return Verdict(verified, method, message, inconclusive, found, expected)

    if txt.status == OK and want.txt_value in txt.values:
        return verdict(True, "txt", f"TXT record {want.txt_name} carries this domain's token.")
    if cname.status == OK and want.platform_host in (v.lower().rstrip(".") for v in cname.values):
        return verdict(True, "cname", f"{want.domain} is a CNAME to {want.platform_host}.")
    pointed = {v for lookup in addresses if lookup.status == OK for v in lookup.values}
    if want.a_proves and cname.status == NO_ANSWER and pointed and pointed <= set(want.server_ips):
        return verdict(True, "a", f"{want.domain} points at this server ({', '.join(sorted(pointed))}).")
    everything = [txt, cname, *addresses]
    if all(lookup.status in (TIMEOUT, FAILED) for lookup in everything):
        return verdict(False, None, "DNS did not answer; check the configured nameservers and try again.", True)
    if cname.status == OK:
        return verdict(
            False,
            None,
            f"{want.domain} is a CNAME to {cname.show()}, not to {want.platform_host}; "
            f"point it there, or add TXT {want.txt_name} = {want.txt_value}.",
        )
    if pointed and not want.a_proves:
        return verdict(
            False,
            None,
            f"{want.domain} has an A/AAAA record, which does not prove which tenant owns it on this server; {ways}.",
        )
    if pointed - set(want.server_ips):
        stray = ", ".join(sorted(pointed - set(want.server_ips)))
        return verdict(
            False,
            None,
            f"{want.domain} points at {stray}, not at this server ({' or '.join(want.server_ips)}); "
            f"change its A/AAAA record, or add TXT {want.txt_name} = {want.txt_value}.",
        )
    if addresses[0].status == NXDOMAIN and txt.status == NXDOMAIN:
        return verdict(
            False,
            None,
            f"{want.domain} does not exist in DNS yet; {ways}.",
        )
    return verdict(False, None, f"No record proves ownership of {want.domain}; {ways}.")


def _ways(want: Expected) -> str:
    """What the user may add, in the words of the failure messages."""
    if want.a_proves:
        return (
            f"add an A record to {' or '.join(want.server_ips)}, a CNAME to {want.platform_host}, "
            f"or TXT {want.txt_name} = {want.txt_value}"
        )
    return f"add TXT {want.txt_name} = {want.txt_value}, or a CNAME to {want.platform_host}"
