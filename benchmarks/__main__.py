"""Run every benchmark side by side in one process and print the ratio table.

    python -m benchmarks            # full run (a few minutes)
    python -m benchmarks --quick    # smaller sizes, for a smoke check
    python -m benchmarks --only 3 4 # some items

Ratios, not absolute times: each figure compares svc_nb with a baseline measured
in the same run, with medians of several repetitions run alternately.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks import _items
from benchmarks._harness import Row, load_rows, markdown_table, save_rows

ITEMS = {
    1: _items.diagnose_concurrency,
    2: _items.diagnose_hung_peer,
    3: _items.token_inspect,
    4: _items.webhook_verify,
    5: _items.deliver_many,
    6: _items.attempt_timeline,
    7: _items.load_attempts_sql,
    8: _items.import_time,
    9: _items.doctor_process,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions")
    parser.add_argument("--only", type=int, nargs="*", help="item numbers to run")
    parser.add_argument("--write", metavar="PATH", default="benchmarks/results.md",
                        help="write the markdown table here (default benchmarks/results.md)")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for number, item in ITEMS.items():
        if args.only and number not in args.only:
            continue
        started = time.perf_counter()
        print(f"[{number}] {item.__doc__.splitlines()[0] if item.__doc__ else item.__name__} …", flush=True)
        row = item(quick=args.quick)
        rows.append(row)
        print(f"    {row.cells()[3]} (target {row.target}) in {time.perf_counter() - started:.1f} s", flush=True)
    if args.write and args.only:
        # Keep the figures of the items not re-run, from the last full run.
        done = {r.number for r in rows}
        rows += [r for r in load_rows(Path(args.write).with_suffix(".json")) if r.number not in done]
        rows.sort(key=lambda r: r.number)
    table = markdown_table(rows)
    print()
    print(table)
    if args.write:
        Path(args.write).write_text(table + "\n")
        save_rows(rows, Path(args.write).with_suffix(".json"))
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
