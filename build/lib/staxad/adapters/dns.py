"""DNS lookups with dnspython against the configured nameservers (or the system's)."""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver

from staxad.model.ownership import FAILED, NO_ANSWER, NXDOMAIN, OK, TIMEOUT, Lookup


class DnsResolver:
    def __init__(self, nameservers: tuple[str, ...], port: int, timeout: float) -> None:
        self.nameservers, self.port, self.timeout = nameservers, port, timeout

    def _resolver(self) -> dns.asyncresolver.Resolver:
        # Made per lookup so /etc/resolv.conf changes apply, and no cache hides a fixed record.
        resolver = dns.asyncresolver.Resolver(configure=not self.nameservers)
        if self.nameservers:
            resolver.nameservers = list(self.nameservers)
            resolver.port = self.port
        resolver.lifetime = self.timeout
        resolver.timeout = self.timeout
        return resolver

    async def lookup(self, name: str, rdtype: str) -> Lookup:
        try:
            answer = await self._resolver().resolve(name, rdtype, raise_on_no_answer=True, search=False)
        except dns.resolver.NXDOMAIN:
            return Lookup(NXDOMAIN)
        except dns.resolver.NoAnswer:
            return Lookup(NO_ANSWER)
        except dns.exception.Timeout:
            return Lookup(TIMEOUT)
        except (dns.resolver.NoNameservers, dns.exception.DNSException):
            return Lookup(FAILED)
        values: list[str] = []
        for record in answer:
            if record.rdtype == dns.rdatatype.TXT:
                values.append(b"".join(record.strings).decode(errors="replace"))
            elif record.rdtype == dns.rdatatype.CNAME:
                values.append(record.target.to_text().rstrip(".").lower())
            elif record.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                values.append(record.address)
        return Lookup(OK, tuple(values))
