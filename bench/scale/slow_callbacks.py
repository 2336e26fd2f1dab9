"""Run netmon, logging each event-loop callback that held the loop longer than a threshold:
which task or callback it was, where it was, and for how long (a JSON line on stderr,
"slow callback", with the loop thread's CPU time over the same span: far less than the
seconds means it waited, for the interpreter lock or a core).
``netmon_event_loop_lag_seconds`` says that the loop was late; this says what held it.
For benchmarks only (``python -m bench.scale --slow-callbacks 0.05``): every callback
pays a clock read.

    python -m bench.scale.slow_callbacks 0.05 --log-format json run -c netmon.yaml
"""

from __future__ import annotations

import asyncio
import collections
import gc
import json
import os
import runpy
import sys
import time
from typing import Any


def describe(handle: asyncio.Handle) -> str:
    """A task's coroutine and the line it stopped at, or the callback's name."""
    callback: Any = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro: Any = owner.get_coro()
        frame = getattr(coro, "cr_frame", None)
        where = f" at {frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else ""
        return f"task {owner.get_name()} {getattr(coro, '__qualname__', coro)}{where}"
    return str(getattr(callback, "__qualname__", callback))


def install(threshold: float, late_timers: bool = False) -> None:
    """Log callbacks longer than ``threshold``; with ``late_timers`` also each timer that
    ran later than ``threshold`` after its time ("late timer": when, how late)."""
    run = asyncio.Handle._run

    def timed(self: asyncio.Handle) -> None:
        began = time.perf_counter()
        if late_timers:
            when = getattr(self, "_when", None)
            now = time.monotonic()  # the loop's clock
            if when is not None and now - when > threshold:
                late = round(now - when, 4)
                line = {"event": "late timer", "late": late, "at": time.time()}
                print(json.dumps(line), file=sys.stderr, flush=True)
        cpu = time.thread_time()
        run(self)
        took = time.perf_counter() - began
        if took > threshold:
            line = {"event": "slow callback", "seconds": round(took, 4), "at": time.time()}
            # the loop thread's own CPU meanwhile: much less than the seconds, and it
            # waited (for the interpreter lock held by another thread, or for a core)
            line["cpu"] = round(time.thread_time() - cpu, 4)
            line["callback"] = describe(self)
            print(json.dumps(line), file=sys.stderr, flush=True)

    asyncio.Handle._run = timed  # type: ignore[method-assign]


_SIZED = (list, dict, tuple, set, frozenset, collections.deque)


def young_census() -> dict[str, Any]:
    """What the youngest generation holds: counts by type, and its largest containers."""
    young = gc.get_objects(0)
    kinds = collections.Counter(type(o).__qualname__ for o in young)
    sized = [(len(o), type(o).__qualname__) for o in young if type(o) in _SIZED]
    sized.sort(reverse=True)
    return {
        "objects": len(young),
        "references_in_containers": sum(n for n, _ in sized),
        "kinds": kinds.most_common(12),
        "largest": sized[:8],
    }


def install_gc_census(threshold: float) -> None:
    """Log what the youngest generation held before each collection longer than threshold
    (the census runs before every collection of generation 0 and is not timed)."""
    state: dict[str, Any] = {}

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            state["census"] = young_census() if info.get("generation") == 0 else None
            state["began"] = time.perf_counter()
            return
        took = time.perf_counter() - state.get("began", time.perf_counter())
        if took > threshold and state.get("census") is not None:
            line = {"event": "long gc census", "seconds": round(took, 4), **state["census"]}
            print(json.dumps(line), file=sys.stderr, flush=True)

    gc.callbacks.insert(0, callback)


def install_reload_phases() -> None:
    """Log when each phase of a reload began and ended ("reload phase")."""
    from netmon.daemon import Daemon

    def say(phase: str, began: float) -> None:
        line = {"event": "reload phase", "phase": phase, "began": began, "ended": time.time()}
        print(json.dumps(line), file=sys.stderr, flush=True)

    def timed_async(name: str) -> None:
        original = getattr(Daemon, name)

        async def wrapper(self: Daemon, *args: Any) -> Any:
            began = time.time()
            try:
                return await original(self, *args)
            finally:
                say(name, began)

        setattr(Daemon, name, wrapper)

    def timed_sync(name: str) -> None:
        original = getattr(Daemon, name)

        def wrapper(self: Daemon, *args: Any) -> Any:
            began = time.time()
            try:
                return original(self, *args)
            finally:
                say(name, began)

        setattr(Daemon, name, wrapper)

    def timed_steps(name: str) -> None:
        original = getattr(Daemon, name)

        def wrapper(self: Daemon, *args: Any) -> Any:
            began = time.time()
            try:
                return (yield from original(self, *args))
            finally:
                say(name, began)

        setattr(Daemon, name, wrapper)

    for name in ("reload", "_reload_load"):
        timed_async(name)
    timed_steps("_prepare")
    timed_sync("_swap")


def main() -> None:
    threshold = float(sys.argv.pop(1))
    install(threshold, os.environ.get("NETMON_BENCH_LATE_TIMERS") == "1")
    if os.environ.get("NETMON_BENCH_RELOAD_PHASES") == "1":
        install_reload_phases()
    if os.environ.get("NETMON_BENCH_GC_CENSUS") == "1":
        install_gc_census(threshold)
    sys.argv[0] = "netmon"
    runpy.run_module("netmon", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
