"""structlog set-up: JSON lines for journald/Loki, readable text on a terminal."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    as_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    route_library_logs()


class OneLine(logging.Handler):
    """Library records (aiohttp's "Error handling request" for every malformed request) as
    one structured line with the error's type and message, never a multi-line traceback:
    a hostile client must not be able to fill the journal with stack traces."""

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        text = " ".join(f"{type(exc).__name__}: {exc}".split()) if exc is not None else ""
        error = text[:300] or None
        logger = structlog.get_logger(record.name)
        logger.log(record.levelno, record.getMessage()[:300], error=error)


def route_library_logs(names: tuple[str, ...] = ("aiohttp",)) -> None:
    """Send these stdlib loggers through :class:`OneLine` (and nowhere else)."""
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers = [OneLine()]
        logger.propagate = False


def get(name: str = "netmon") -> structlog.typing.FilteringBoundLogger:
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger
