"""Run every benchmark side by side in one process and print the ratio table.

    python -m benchmarks            # full run (several minutes: 10 M-row tables)
    python -m benchmarks --quick    # small sizes, every item: a smoke check (about a minute)
    python -m benchmarks --only 7 10b

Ratios, not absolute times: each figure compares svc_nb with a baseline measured
in the same run, with medians of several repetitions run alternately. The run
writes benchmarks/results.md and .json (the docs include the .md).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import _items, _items_remote, _items_sql
from benchmarks._harness import (
    Row,
    item_order,
    load_rows,
    markdown_table,
    save_rows,
    write_readme_table,
)

_ROOT = Path(__file__).resolve().parents[1]
_DEFAULT_RESULTS = _ROOT / "benchmarks" / "results.md"
_README = _ROOT / "README.md"

ITEMS: dict[str, Callable[..., Row]] = {
    "1": _items.diagnose_concurrency,
    "2": _items.diagnose_hung_peer,
    "3": _items.token_inspect,
    "4": _items.webhook_verify,
    "5": _items.deliver_many,
    "6": _items.attempt_timeline,
    "7": _items_sql.load_attempts_sql,
    "8": _items.import_time,
    "9": _items_remote.doctor_process,
    "10": _items_remote.checks_through_proxy,
    "10b": _items_remote.diagnose_through_proxy,
    "11": _items_sql.summary_in_database,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions")
    parser.add_argument(
        "--only", nargs="*", metavar="ITEM", help="item numbers to run (e.g. 7 10b)"
    )
    parser.add_argument(
        "--write",
        metavar="PATH",
        default=None,
        help="write the markdown table here and its figures next to it as .json "
        "(default benchmarks/results.md; a --quick run writes nothing unless "
        "told, so that smoke figures never replace real ones)",
    )
    args = parser.parse_args(argv)
    if args.write is None:
        args.write = "" if args.quick else "benchmarks/results.md"
    unknown = sorted(set(args.only or ()) - set(ITEMS))
    if unknown:
        parser.error(f"no item {', '.join(unknown)}; items: {', '.join(ITEMS)}")
    rows: list[Row] = []
    started_all = time.perf_counter()
    for number, item in ITEMS.items():
        if args.only and number not in args.only:
            continue
        started = time.perf_counter()
        print(
            f"[{number}] {item.__doc__.splitlines()[0] if item.__doc__ else item.__name__} …",
            flush=True,
        )
        row = item(quick=args.quick)
        rows.append(row)
        print(
            f"    {row.cells()[3]} (target {row.target}) in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    print(f"\n{len(rows)} item(s) in {time.perf_counter() - started_all:.1f} s")
    if args.write and args.only:
        # Keep the figures of the items not re-run, from the last full run.
        done = {r.number for r in rows}
        rows += [
            r for r in load_rows(Path(args.write).with_suffix(".json")) if r.number not in done
        ]
    rows.sort(key=lambda r: item_order(r.number))
    table = markdown_table(rows)
    print()
    print(table)
    if args.write:
        Path(args.write).write_text(table + "\n")
        save_rows(rows, Path(args.write).with_suffix(".json"))
        if Path(args.write).resolve() == _DEFAULT_RESULTS.resolve():
            write_readme_table(rows, _README)  # the front door shows the latest figures too
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
