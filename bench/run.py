"""Run the benchmarks and print one table (and bench/results/latest.json).

    .venv/bin/python -m bench.run            # everything, under 10 minutes on 2 cores
    .venv/bin/python -m bench.run --quick    # smaller data, under a minute (CI runs this)
    .venv/bin/python -m bench.run --only grid,pages

Needs PostgreSQL (DATABASE_URL, or the local one scripts/local-postgres sets up) and, for the
Redis figures, a Redis at REDIS_URL or 127.0.0.1:6379. Each benchmark builds its own data in a
database of its own and drops it afterwards."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# name -> module in bench/, each with run(quick: bool) -> list[Figure]
BENCHMARKS = {
    "pipeline": "bench.pipeline",
    "ratelimit": "bench.ratelimit",
    "overhead": "bench.overhead",
    "grid": "bench.grid",
    "pages": "bench.pages",
    "export": "bench.export",
    "memory": "bench.memory",
    "faces": "bench.faces",
    "signing": "bench.signing",
    "fairness": "bench.fairness",
    "people": "bench.people",
}


def table(figures) -> str:
    rows = [("benchmark", "measured", "value", "limit", "ratio", "target", "met")]
    for f in figures:
        rows.append(
            (
                f.bench,
                f.name,
                f"{f.value:,.2f} {f.unit}",
                "" if f.limit is None else f"{f.limit:,.2f} {f.unit}",
                "" if f.ratio is None else f"{f.ratio:.2f}",
                f.target,
                "" if f.ok is None else ("yes" if f.ok else "NO"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data sets, about a minute in all")
    parser.add_argument("--only", default="", help="comma-separated names: " + ", ".join(BENCHMARKS))
    args = parser.parse_args()
    chosen = [name for name in args.only.split(",") if name] or list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "avatar_project.settings")
    sys.path.insert(0, str(ROOT))
    figures, failures = [], []
    started = time.monotonic()
    for name in chosen:
        began = time.monotonic()
        print(f"bench {name} ...", flush=True)
        try:
            module = importlib.import_module(BENCHMARKS[name])
            figures += module.run(quick=args.quick)
        except Exception:
            failures.append(name)
            traceback.print_exc()
        print(f"bench {name}: {time.monotonic() - began:.1f} s", flush=True)
    print()
    print(table(figures))
    print(f"\n{len(figures)} figures in {time.monotonic() - started:.0f} s" + (" (quick)" if args.quick else ""))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("quick.json" if args.quick else "latest.json")).write_text(
        json.dumps({"quick": args.quick, "figures": [f.as_dict() for f in figures]}, indent=2)
    )
    if failures:
        print(f"benchmarks that crashed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
