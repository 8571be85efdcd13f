"""Every benchmark, then one table of figure, staxad, baseline, ratio and goal.

Usage (root, after scripts/bootstrap): .venv/bin/python -m bench.all
Benchmarks print honest numbers and never fail: a missed goal is a line of the table.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import traceback

from bench import api, build_deploy, nft_scale, scale, time_to_live
from bench.harness import Row

BENCHMARKS = [
    ("bench.api", api, "wrk"),
    ("bench.time_to_live", time_to_live, None),
    ("bench.build_deploy", build_deploy, None),
    ("bench.nft_scale", nft_scale, None),
    ("bench.scale", scale, None),
]


async def main() -> None:
    rows: list[Row] = []
    for name, module, needs in BENCHMARKS:
        print(f"==> {name}", flush=True)
        if needs and shutil.which(needs) is None:
            print(f"skipped: {needs} is not installed (apt-get install {needs})")
            continue
        try:
            rows += await module.measure(module.options().parse_args([]))
        except Exception:
            traceback.print_exc()
            rows.append(Row(name, "failed (see above)", "-", None, "-"))
    cpus, memory = os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") >> 30
    print(f"\n{platform.node()}: {cpus} cores, {memory} GiB, {platform.platform()}")
    header = ("figure", "staxad", "baseline", "ratio", "goal")
    table = [header, *((r.figure, r.measured, r.baseline, f"{r.ratio:.2f}x" if r.ratio else "-", r.goal) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for i, line in enumerate(table):
        print("| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (width + 2) for width in widths) + "|")


if __name__ == "__main__":
    asyncio.run(main())
