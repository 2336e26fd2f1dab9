"""Config building blocks shared by the core and the collectors' config models.

No imports from the rest of netmon (but the leaf netmon.regular_file): collectors reach
these through netmon.api.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from netmon.regular_file import FileRefused, read_regular

#: Indonesia keeps no daylight saving time: fixed offsets (hours, abbreviation), no tz
#: database needed (slim container images have none)
ZONES: dict[str, tuple[int, str]] = {
    "Asia/Jakarta": (7, "WIB"),
    "Asia/Pontianak": (7, "WIB"),
    "Asia/Makassar": (8, "WITA"),
    "Asia/Jayapura": (9, "WIT"),
}

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def _parse_duration(value: Any) -> Any:
    if isinstance(value, bool):
        return value  # let pydantic reject it
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            msg = f"not a duration: {value!r} (use e.g. 500ms, 2s, 5m, 1h, 7d)"
            raise ValueError(msg)
        return float(match.group(1)) * _UNIT[match.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(_parse_duration), Field(gt=0)]
_METRIC = re.compile(r"^netmon_[a-z0-9_]+$")


def _metric_name(value: str) -> str:
    if not _METRIC.match(value):
        msg = f"metric names start with netmon_ and use [a-z0-9_]: {value!r}"
        raise ValueError(msg)
    return value


#: a metric name of netmon's own namespace (profiles and MQTT mappings name metrics)
MetricName = Annotated[str, AfterValidator(_metric_name)]
#: a duration that may be 0 (e.g. no flap damping in a lab)
Delay = Annotated[float, BeforeValidator(_parse_duration), Field(ge=0)]
Id = Annotated[str, Field(pattern=ID_PATTERN)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class SecretRef(Strict):
    """Where a secret comes from: an environment variable or a file."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """name of the environment variable that holds the secret"""
    file: str | None = None
    """file that holds the secret (a relative path: relative to the folder of netmon.yaml)"""

    @model_validator(mode="before")
    @classmethod
    def _no_literal(cls, value: Any) -> Any:
        if isinstance(value, str):
            msg = (
                "secrets are references, not literals: write {env: NAME} or {file: PATH} "
                "(a literal here would end up in git and in backups)"
            )
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            msg = "give exactly one of env or file"
            raise ValueError(msg)
        return self

    def describe(self) -> str:
        return f"env {self.env}" if self.env is not None else f"file {self.file}"


class SecretError(ValueError):
    """A secret reference that cannot be read; the message never contains the value."""


#: the most bytes a secret file may hold: a community, a password or a key is a line of
#: text; anything larger is a wrong path (an image, a log, ``/dev/zero``), not a secret
MAX_SECRET_BYTES = 64 * 1024


def read_secret(ref: SecretRef, base: Path) -> str:
    """The secret's value; relative files are relative to ``base`` (the config's folder).

    A file must be a regular file of at most :data:`MAX_SECRET_BYTES` in UTF-8: a FIFO
    would block a reload for ever and a device such as ``/dev/zero`` would fill memory
    (see :func:`netmon.regular_file.read_regular`). Errors name the file, never its bytes.
    """
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if value is None:
            msg = f"environment variable {ref.env} is not set"
            raise SecretError(msg)
    else:
        assert ref.file is not None
        path = Path(ref.file)
        if not path.is_absolute():
            path = base / path
        try:
            raw = read_regular(path, MAX_SECRET_BYTES)
        except FileRefused as exc:
            msg = f"cannot read secret file {ref.file}: {exc}"
            raise SecretError(msg) from None
        try:
            value = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            msg = f"secret file {ref.file} is not UTF-8 text"  # never echo its bytes
            raise SecretError(msg) from None
    if not value:
        msg = f"secret from {ref.describe()} is empty"
        raise SecretError(msg)
    return value
