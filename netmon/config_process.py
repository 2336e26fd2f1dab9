"""A reload's config load, in a child process.

A province's config (10,000 devices, ~200k YAML nodes) parses and validates in 1.5 s.
Loaded in a thread beside an event loop busy with 167 polls a second, the two shared one
interpreter lock: the load took 7-8 s and the loop's timers fell up to 5 s behind (each
of the loop's many system calls gave the lock away and waited a switch interval to get it
back). In a child process the load has an interpreter of its own (and, unpinned, a core
of its own); the daemon only reads the result back: one pickle of ~3 MB, unpickled in a
thread in 0.15 s (its objects' constructors are Python code, so the loop gets the lock
between them: gaps of 15 ms at most, measured).

The children come from a fork server (``prepare()``: the daemon starts it with itself once
its inventory has 2,000 devices, see Daemon.load_in_child), which has imported the loader
and the collectors' registry once; each reload forks one child, which exits with its
answer. A fork server that died is started again at the next reload. The environment
goes with each request (secrets may come from it, and the fork server's copy is from its
start). Nothing here logs: errors travel back as the loader raised them
(``ConfigErrors`` with their file positions), anything else as one line that names the
config.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import multiprocessing
import os
import pickle
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from netmon.api import Registry
from netmon.config import ConfigErrors, LoadedConfig, load
from netmon.config.identity import ConfigIdentity, identify
from netmon.gc_tuning import collector_off

#: modules the fork server imports once, so a reload's child starts with them loaded
PRELOAD = ["netmon.config.loader", "netmon.config_process"]
#: a child's answer larger than this is refused (a 10,000-device province: ~3 MB)
MAX_ANSWER = 512 * 2**20


class LoadFailed(Exception):
    """The child could not load for a reason other than the config's errors: one line
    that names the config (never its contents)."""


@dataclass(frozen=True, slots=True)
class Loaded:
    config: LoadedConfig
    identity: ConfigIdentity


def _context() -> Any:
    return multiprocessing.get_context("forkserver")


def prepare(registry_ref: str) -> None:
    """Start the fork server now (it imports the loader and ``registry_ref``'s module while
    the daemon starts), so the first reload does not pay for the imports."""
    ctx = _context()
    ctx.set_forkserver_preload([*PRELOAD, registry_ref.partition(":")[0]])
    from multiprocessing import forkserver

    forkserver.ensure_running()


def resolve(registry_ref: str) -> Registry:
    """``module:attribute`` to the registry object (the child's way to the collectors)."""
    module, _, name = registry_ref.partition(":")
    registry: Registry = getattr(importlib.import_module(module), name)
    return registry


def load_here(path: Path, registry: Registry) -> Loaded:
    """The load, and which files it read (git and the digest read them too)."""
    config = load(path, registry)
    return Loaded(config, identify(config.path, [Path(f) for f in config.inventory.files]))


def _child(path: str, registry_ref: str, env: dict[str, str], conn: Connection) -> None:
    """In the child: load, answer with the pickled outcome, exit."""
    os.environ.clear()
    os.environ.update(env)
    gc.disable()  # one load, then the process ends: no collection is worth its walk
    with contextlib.suppress(OSError):  # the daemon's loop first, when they share a core
        os.nice(5)
    answer: tuple[str, Any]
    try:
        answer = ("ok", load_here(Path(path), resolve(registry_ref)))
    except ConfigErrors as exc:
        answer = ("errors", exc.errors)
    except Exception as exc:
        answer = ("failed", f"{path}: cannot load: {exc!r}"[:500])
    conn.send_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    conn.close()


def _receive(conn: Connection) -> tuple[str, Any]:
    data = conn.recv_bytes(MAX_ANSWER)
    # a province's config is a million new objects at once: collected as they come, each
    # batch of them set off a collection of the whole heap, and the first young collection
    # after them walked them all (30-100 ms each, holding the event loop); so none runs
    # meanwhile, and they go out of the collector's sight at once (a config holds no
    # cycles; GcTuning's settle, when the frozen objects have grown by a tenth, collects
    # whatever else was frozen with them)
    with collector_off():
        # our own child's answer over an anonymous pipe: nothing else can write to it
        answer: tuple[str, Any] = pickle.loads(data)  # noqa: S301
        gc.freeze()
    return answer


def _start(path: Path, registry_ref: str) -> tuple[Any, Connection, str]:
    """Fork the child (the fork server's working directory is its own: the path goes
    absolute); the child's end of the pipe is closed here once it has it."""
    ctx = _context()
    reader, writer = ctx.Pipe(duplex=False)
    where = os.path.abspath(path)
    child = ctx.Process(
        target=_child,
        args=(where, registry_ref, dict(os.environ), writer),
        name="netmon-config-load",
        daemon=True,
    )
    try:
        child.start()
    except BaseException:
        reader.close()
        raise
    finally:
        writer.close()
    return child, reader, where


async def load_in_child(path: Path, registry_ref: str) -> Loaded:
    """Load ``path`` in a child process; raises ``ConfigErrors`` as ``load`` does, and
    ``LoadFailed`` (one line naming the config) when the child fails otherwise."""
    child, reader, where = _start(path, registry_ref)
    try:
        kind, payload = await asyncio.to_thread(_receive, reader)
    except (EOFError, OSError) as exc:  # killed (out of memory?) or it never answered
        await asyncio.to_thread(child.join, 5)
        raise LoadFailed(
            f"{where}: cannot load: the loading process ended without an answer "
            f"(exit code {child.exitcode}, {type(exc).__name__})"
        ) from None
    finally:
        reader.close()
    await asyncio.to_thread(child.join, 5)
    if kind == "ok":
        loaded: Loaded = payload
        return loaded
    if kind == "errors":
        raise ConfigErrors(payload)
    raise LoadFailed(str(payload))
