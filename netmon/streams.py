"""Putting the streaming collectors (MQTT, traps) to work on a config: all of them or
none, so a port that is taken or a secret that cannot be read changes nothing."""

from __future__ import annotations

from collections.abc import Mapping

from netmon import logging as nlog
from netmon.api import StreamingCollector
from netmon.config import LoadedConfig
from netmon.store import Store

log = nlog.get("netmon.daemon")


class StartError(Exception):
    """A part of the config could not be put to work (a port taken, a secret unreadable);
    its message is one line naming the part."""


def configure_streams(
    streams: Mapping[str, StreamingCollector],
    config: LoadedConfig,
    previous: LoadedConfig | None,
) -> None:
    """Configure every streaming collector, or none: on a failure the ones already
    switched go back to ``previous``, and StartError says what failed.

    All in one loop turn: a collector's task created here has not run (nor
    connected anywhere) when a later collector's failure cancels it again."""
    done: list[str] = []
    for name, stream in streams.items():
        try:
            stream.configure(config.sections.get(name), config.path.parent)
        except Exception as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            for back in done:
                old = previous.sections.get(back) if previous is not None else None
                base = (previous or config).path.parent
                try:
                    streams[back].configure(old, base)
                except Exception as undo:
                    log.error("cannot restore a collector", collector=back, error=repr(undo))
            raise StartError(f"{name}: {reason}") from None
        done.append(name)


def streams_follow(streams: Mapping[str, StreamingCollector], store: Store) -> None:
    """Streaming collectors drop what belongs to sites that are gone; their (new)
    families get HELP and TYPE."""
    for stream in streams.values():
        stream.sites_changed()
        store.add_meta(stream.metadata())
