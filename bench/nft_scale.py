"""What one network-rule change costs in nftables with 1 and with 1,000 rules in place.

staxad loads its table whole once, then applies each change as one transaction of the
map elements that differ (rules are map elements, the rule count is constant). Measured:
adding one rule and removing it again, as staxad renders them. Baseline, same run: the
same add and delete by hand with two `nft add/delete element` calls, the smallest change
nft can make; and, for scale, a whole-table load.
Uses a table of its own, deleted by name at the end. Root.

Usage: .venv/bin/python -m bench.nft_scale [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import subprocess
import time

from bench.harness import Row
from staxad.model.nftables import Forward, host_ruleset


def forwards(count: int) -> list[Forward]:
    return [Forward("tcp", f"198.18.{i // 250}.{i % 250}/32", 30000 + i, 40000 + i) for i in range(count)]


def nft(*args: str, stdin: str | None = None) -> None:
    subprocess.run(["nft", *args], input=stdin, text=True, check=True, capture_output=True)


def timed(action: object, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    return parser


async def measure(args: argparse.Namespace) -> list[Row]:
    rows = []
    table = f"staxad-bench{secrets.token_hex(3)}"
    try:
        for count in (1, 1000):
            base = forwards(count)
            extra = Forward("tcp", "198.19.0.1/32", 33000, 45000)
            loaded, grown = host_ruleset(table, base), host_ruleset(table, [*base, extra])
            nft("-f", "-", stdin=loaded.full())
            add, remove = grown.diff(loaded), loaded.diff(grown)
            assert add and remove

            def staxad_change(add: str = add, remove: str = remove) -> None:
                nft("-f", "-", stdin=add)
                nft("-f", "-", stdin=remove)

            def by_hand() -> None:
                nft("add", "element", "ip", table, "inbound_tcp", "{ 198.19.0.1/32 . 33000 : 127.0.0.1 . 45000 }")
                nft("delete", "element", "ip", table, "inbound_tcp", "{ 198.19.0.1/32 . 33000 }")

            change = timed(staxad_change, args.repeat)
            hand = timed(by_hand, args.repeat)
            full = loaded.full()
            whole = timed(lambda full=full: nft("-f", "-", stdin=full), args.repeat)
            print(
                f"{count:5d} rules: staxad add+remove one rule {change * 1000:5.1f} ms   "
                f"by hand {hand * 1000:5.1f} ms   ratio {change / hand:.2f}x   "
                f"(whole-table load {whole * 1000:5.1f} ms)"
            )
            rows.append(
                Row(
                    f"nft: one rule added and removed, {count} rules",
                    f"{change * 1000:.1f} ms",
                    f"by hand {hand * 1000:.1f} ms",
                    change / hand,
                    "keep (<= 1x)",
                )
            )
    finally:
        subprocess.run(["nft", "delete", "table", "ip", table], capture_output=True, check=False)
    return rows


if __name__ == "__main__":
    asyncio.run(measure(options().parse_args()))
