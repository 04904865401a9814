"""svc_nb.run and the nested-loop handling, in scripts, threads, uvloop and a real kernel."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import svc_nb
from svc_nb import Finding, Status
from svc_nb._runtime import gather_checks, start_background
from tests._support import cell_text, execute_cells


async def _answer(value: int = 42, delay: float = 0.0) -> int:
    await asyncio.sleep(delay)
    return value


def test_run_in_a_plain_script() -> None:
    assert svc_nb.run(_answer()) == 42


def test_run_rejects_non_awaitables_with_advice() -> None:
    with pytest.raises(TypeError, match="call the async function first"):
        svc_nb.run(_answer)  # type: ignore[arg-type]


def test_run_from_a_thread_whose_loop_is_running() -> None:
    results: list[object] = []

    async def host() -> None:
        # Inside a running loop, as in a widget callback or a kernel.
        results.append(svc_nb.run(_answer(7)))

    thread = threading.Thread(target=lambda: asyncio.run(host()))
    thread.start()
    thread.join(10)
    assert results == [7]


def test_run_falls_back_to_a_thread_under_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")
    results: list[object] = []

    async def host() -> None:
        loop = asyncio.get_running_loop()
        assert not svc_nb._runtime.patchable(loop)
        results.append(svc_nb.run(_answer(9)))
        results.append(svc_nb._runtime.is_patched(loop))

    uvloop.run(host())
    assert results == [9, False]


def test_gather_checks_bounds_each_check_and_keeps_the_others() -> None:
    async def slow() -> Finding:
        await asyncio.sleep(10)
        raise AssertionError("unreachable")

    async def broken() -> Finding:
        raise RuntimeError("boom")

    async def fine() -> Finding:
        return Finding("fine.check", "ok", "fine")

    started = time.perf_counter()
    report = svc_nb.run(gather_checks({"slow": slow, "broken": broken, "fine": fine}, timeout=0.3))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.3 + 0.3
    assert report.checks == ["slow", "broken", "fine.check"]
    assert (
        report["slow"].status is Status.FAIL
        and "did not finish within 0.3 s" in report["slow"].summary
    )
    assert (
        report["broken"].status is Status.FAIL and "RuntimeError: boom" in report["broken"].summary
    )
    assert report["fine.check"].status is Status.OK


def test_start_background_outside_a_loop_uses_a_thread() -> None:
    done = threading.Event()
    seen: list[object] = []

    def on_done(result: object, error: BaseException | None) -> None:
        seen.append((result, error))
        done.set()

    start_background(_answer(5, 0.05), on_done)
    assert done.wait(5)
    assert seen == [(5, None)]


def test_diagnose_rejects_a_bad_timeout() -> None:
    with pytest.raises(ValueError, match="positive"):
        svc_nb.run(svc_nb.diagnose(timeout=0))


@pytest.mark.notebook
def test_in_a_real_kernel_the_guides_patterns_work() -> None:
    nb = execute_cells(
        [
            # 1. asyncio.run in a cell after importing svc_nb: patched once
            "import asyncio, svc_nb\n"
            "async def main():\n    await asyncio.sleep(0.01)\n    return 'ran'\n"
            "print(asyncio.run(main()), svc_nb._runtime.is_patched())",
            # 2. the guide's own nest_asyncio cell still works afterwards
            "import nest_asyncio\nnest_asyncio.apply()\nprint(asyncio.run(main()))",
            # 3. svc_nb.run and top-level await in the same kernel
            "print(svc_nb.run(main()))\nprint(await main())",
            # 4. a background probe from a 'widget callback' updates later without blocking
            "from svc_nb._runtime import start_background\nbox = []\n"
            "t = start_background(main(), lambda r, e: box.append(r))\nprint(type(t).__name__, box)",
            "await asyncio.sleep(0.1)\nprint(box)",
        ]
    )
    texts = [cell_text(c) for c in nb.cells]
    assert texts[0].strip() == "ran True"
    assert texts[1].strip() == "ran"
    assert texts[2].split() == ["ran", "ran"]
    assert texts[3].strip() == "Task []"
    assert texts[4].strip() == "['ran']"


@pytest.mark.notebook
def test_in_a_real_kernel_nest_asyncio_first_then_svc_nb() -> None:
    nb = execute_cells(
        [
            "import asyncio, nest_asyncio\nnest_asyncio.apply()",
            "import svc_nb\nasync def main():\n    return 'ok'\n"
            "print(asyncio.run(main()), svc_nb.run(main()))",
        ]
    )
    assert cell_text(nb.cells[1]).split() == ["ok", "ok"]
    assert all(o.get("output_type") != "error" for c in nb.cells for o in c.outputs)


def test_run_outside_a_kernel_changes_nothing_global() -> None:
    """A script calling svc_nb.run() inside its own loop must keep the stdlib asyncio.run.

    nest-asyncio2 replaces asyncio.run process-wide; that patch would ignore
    uvloop's loop_factory and hang on futures of other loops, so it is applied
    only in a Jupyter kernel.
    """
    code = textwrap.dedent(
        """
        import asyncio, sys
        original = asyncio.run
        import svc_nb

        async def inner():
            return 41 + 1

        async def main():
            return svc_nb.run(inner())

        assert asyncio.run(main()) == 42
        assert asyncio.run is original, "asyncio.run was patched outside a kernel"

        other = asyncio.new_event_loop()
        foreign = other.create_future()
        try:
            svc_nb.run(foreign)
        except RuntimeError as exc:
            print("raised:", exc)
        else:
            sys.exit("awaiting another loop's future did not raise")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "raised:" in done.stdout
