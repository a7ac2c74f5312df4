"""Where a hung async test waits. pytest-timeout prints the threads' stacks, and for an async
test they show only the event loop idling in ``select``. So a minute before the timeout, this
plugin prints the stack of every task of the test's event loop, which names the stuck ``await``."""

from __future__ import annotations

import asyncio
import linecache
import sys
import threading
from collections.abc import Generator
from typing import TextIO

import pytest

AHEAD_S = 60.0  # how long before pytest-timeout's deadline the tasks are printed


def _timeout_s(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    try:
        return float(item.config.getini("timeout") or 0)
    except (ValueError, KeyError):
        return 0.0


def await_chain(coro: object, limit: int = 60) -> list[str]:
    """The frames from a task's coroutine down to what it awaits (``Task.print_stack`` shows
    only the outermost frame of a suspended coroutine)."""
    lines: list[str] = []
    obj: object = coro
    for _ in range(limit):
        frame = next(
            (f for a in ("cr_frame", "gi_frame", "ag_frame") if (f := getattr(obj, a, None))),
            None,
        )
        if frame is not None:
            code = frame.f_code
            lines.append(f'  File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}')
            text = linecache.getline(code.co_filename, frame.f_lineno).strip()
            if text:
                lines.append(f"    {text}")
        inner = next(
            (n for a in ("cr_await", "gi_yieldfrom", "ag_await") if (n := getattr(obj, a, None))),
            None,
        )
        if inner is None:
            if isinstance(obj, asyncio.Future):
                lines.append(f"  waits for {obj!r}"[:500])
            break
        obj = inner
    return lines


def print_tasks(loop: asyncio.AbstractEventLoop, out: TextIO) -> None:
    tasks = asyncio.all_tasks(loop)
    print(f"\n=== {len(tasks)} asyncio tasks of the test's event loop ===", file=out)
    for task in sorted(tasks, key=lambda t: t.get_name()):
        print(f"--- task {task.get_name()}", file=out)
        print("\n".join(await_chain(task.get_coro())), file=out)
    out.flush()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    funcargs: dict[str, object] = getattr(item, "funcargs", {})
    runner = next((v for k, v in funcargs.items() if k.endswith("_scoped_runner")), None)
    timeout = _timeout_s(item)
    if not isinstance(runner, asyncio.Runner) or timeout <= AHEAD_S:
        return (yield)
    loop = runner.get_loop()
    out = sys.stderr  # captured: shown with the failure

    def dump() -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(print_tasks, loop, out)

    timer = threading.Timer(timeout - AHEAD_S, dump)
    timer.daemon = True
    timer.start()
    try:
        return (yield)
    finally:
        timer.cancel()
