"""Reading a file the config names, bounded: a regular file, at most N bytes, never blocking.

A config reload runs inside the daemon. A path that names a FIFO would hang it (and every
reload after it, behind the reload lock); ``/dev/zero`` or a runaway generated file
would fill its memory. Everything the config loader reads from disk comes through here.

No imports from the rest of netmon: :mod:`netmon.schema` and the YAML loader use it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class FileRefused(Exception):
    """A file that cannot be read or is not accepted; the message names the reason only
    (the caller names the file), never any of its content."""


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    return f"{kind}, not a regular file"


def describe_size(limit: int) -> str:
    """``16 MiB``, ``64 KiB`` or a byte count: limits as an admin reads them in errors."""
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes.

    Checked before opening (so a device is never opened) and again on the open file (it
    may have been replaced in between); opened with ``O_NONBLOCK`` so that even a FIFO
    swapped in at that moment cannot block; at most ``limit + 1`` bytes are read, as
    files under /proc report a size of 0. Raises :class:`FileRefused`.
    """
    try:
        before = os.stat(path)
        reason = _not_regular(before.st_mode)
        if reason is not None:
            raise FileRefused(reason)
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        fd = os.open(path, flags)
    except OSError as exc:
        raise FileRefused(exc.strerror or type(exc).__name__) from None
    try:
        info = os.fstat(fd)
        reason = _not_regular(info.st_mode)
        if reason is not None:
            raise FileRefused(reason)
        too_big = f"larger than {describe_size(limit)}"
        if info.st_size > limit:
            raise FileRefused(too_big)
        chunks: list[bytes] = []
        got = 0
        while got <= limit:
            chunk = os.read(fd, min(limit + 1 - got, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > limit:
            raise FileRefused(too_big)
        return b"".join(chunks)
    except OSError as exc:
        raise FileRefused(exc.strerror or type(exc).__name__) from None
    finally:
        os.close(fd)
