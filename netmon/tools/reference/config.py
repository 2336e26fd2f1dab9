"""The configuration reference (docs/configuration.md), generated from the config models.

``python -m netmon.tools.reference.config > docs/configuration.md``; a test fails when the file is
stale or a key has no description. A key's description is its field's description
(pydantic reads the docstring under each field: ``use_attribute_docstrings``), else the
docstring of its model or enum type. The streaming collectors' sections and each
collector kind's keys of a device entry and of ``defaults:`` come from the registry it
is given (the CLI hands it collectors.REGISTRY), so a new collector appears by itself.
"""

from __future__ import annotations

import enum
import functools
import json
import re
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import annotated_types as at
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from netmon import schema
from netmon.api import Registry
from netmon.config.contracts import ContractFile
from netmon.config.loader import EnvOverrides
from netmon.tools.reference import config_text as text
from netmon.tools.reference.config_models import origin, own_doc, with_kinds

M = TypeVar("M", bound=BaseModel)
_PARSE_DURATION = get_args(schema.Duration)[1].func
_METRIC_NAME = get_args(schema.MetricName)[1].func
#: field of EnvOverrides -> the key of netmon.yaml it overrides (see loader._apply_env)
ENV_TARGETS = {
    "listen": "listen",
    "log_level": "log.level",
    "reload_enabled": "http.reload_enabled",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One key of a config file as the reference lists it."""

    path: str
    model: type[BaseModel]
    name: str
    type: str
    default: str
    constraints: str
    description: str


@dataclass(slots=True)
class Section:
    """One place where a model appears in a file."""

    path: str
    model: type[BaseModel]
    anchor: str
    entries: list[Entry] = field(default_factory=list)
    #: the other places of this model (on the section that is shown)
    also: list[str] = field(default_factory=list)
    #: where the reference shows this model; None: here
    repeat_of: str | None = None


def anchor(scope: str, path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{scope} {path or 'top'}".lower()).strip("-")


def code(value: str) -> str:
    return f"`{value}`"


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """The bare type and the metadata of the Annotated layers around it."""
    meta: list[Any] = []
    while get_origin(tp) is Annotated:
        tp, *extra = get_args(tp)
        for item in extra:
            meta.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return tp, meta


def _yaml(value: Any, duration: bool = False) -> str:
    """A value as it is written in YAML."""
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return "(see its keys)"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return code("true" if value else "false")
    if duration and isinstance(value, int | float):
        return code(format_duration(float(value)))
    if isinstance(value, str):
        plain = value != "" and yaml.safe_load(value) == value
        return code(value if plain else json.dumps(value))
    return code(json.dumps(value))


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    millis = seconds * 1000
    return f"{int(millis)}ms" if millis == int(millis) else f"{seconds}s"


def _number(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _range(low: Any, high: Any, unit: str = "") -> list[str]:
    if low is not None and high is not None:
        words = f"{_number(low)} to {_number(high)}{unit}"
    elif low is not None or high is not None:
        words = (
            f"at least {_number(low)}{unit}" if high is None else f"at most {_number(high)}{unit}"
        )
    else:
        return []
    return [re.sub(r"^(at \w+ 1 \w+)s$", r"\1", words)]  # "at least 1 item"


def _limits(meta: list[Any], is_list: bool) -> list[str]:
    def first(kind: type, attr: str) -> Any:
        return next((getattr(m, attr) for m in meta if isinstance(m, kind)), None)

    out = _range(first(at.Ge, "ge"), first(at.Le, "le"))
    out += [f"more than {_number(m.gt)}" for m in meta if isinstance(m, at.Gt)]
    out += [f"less than {_number(m.lt)}" for m in meta if isinstance(m, at.Lt)]
    unit = " items" if is_list else " characters"
    out += _range(first(at.MinLen, "min_length"), first(at.MaxLen, "max_length"), unit)
    for m in meta:
        pattern = getattr(m, "pattern", None)
        if isinstance(pattern, str) and pattern != schema.ID_PATTERN:
            out.append(f"matches {code(pattern)}")
    return out


def _prose(value: str) -> str:
    """Source text as Markdown that shows it as written (``**`` is a glob, not bold)."""
    return value.replace("*", "\\*").replace("<", "&lt;")


def _named_types(tp: Any) -> list[type]:
    """Models and enums inside an annotation, outermost first."""
    tp, _ = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel | enum.Enum):
        return [tp]
    return [t for arg in get_args(tp) for t in _named_types(arg)]


def describe(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    if info.description:
        return " ".join(info.description.split())
    for named in _named_types(info.annotation):
        if named is not schema.SecretRef and own_doc(named):
            return own_doc(named)
    return ""


class _Walker:
    """Visits every place a file's models appear, depth first; the reference shows a model
    at its first place and names the others there."""

    def __init__(self, scope: str, outside: Mapping[str, type[BaseModel]] | None = None) -> None:
        self.scope = scope
        #: top-level keys documented in a section of their own (the streaming collectors')
        self.outside = outside or {}
        self.first: dict[type[BaseModel], str] = {}

    def walk(self, model: type[BaseModel], path: str) -> list[Section]:
        self.first[model] = path
        out: list[Section] = []
        self._visit(model, path, out)
        shown = {s.path: s for s in out if s.repeat_of is None}
        for section in out:
            if section.repeat_of is not None:
                shown[section.repeat_of].also.append(section.path)
        return out

    def _visit(self, model: type[BaseModel], path: str, out: list[Section]) -> None:
        first = self.first[model]
        section = Section(path, model, anchor(self.scope, path))
        section.repeat_of = first if first != path else None
        out.append(section)
        nested: list[tuple[type[BaseModel], str]] = []
        for name, info in model.model_fields.items():
            key = f"{path}.{name}" if path else name
            limits: list[str] = []
            description = describe(model, name, info)
            if key in self.outside:
                words = f"mapping, see [{code(key)}](#{anchor(self.scope, key)})"
                description = own_doc(self.outside[key]) or description
            else:
                words = self._words(info.annotation, list(info.metadata), key, limits, nested)
            default = "*required*"
            if not info.is_required():
                value = info.get_default(call_default_factory=True)
                default = _yaml(value, duration=words.startswith("duration"))
            owner = origin(model, name)
            entry = Entry(key, owner, name, words, default, "; ".join(limits), description)
            section.entries.append(entry)
        for child, where in nested:
            self._visit(child, where, out)

    def _words(
        self, tp: Any, meta: list[Any], path: str, limits: list[str], nested: list[Any]
    ) -> str:
        """The type in plain words; constraints go to ``limits``, nested models to ``nested``."""
        tp, more = _unwrap(tp)
        meta = [*meta, *more]
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            alts = [a for a in get_args(tp) if a is not type(None)]
            alts.sort(key=lambda a: bool(_named_types(a)))  # "boolean or mapping, see ..."
            models = [a for a in alts if isinstance(a, type) and issubclass(a, BaseModel)]
            if len(models) > 1:  # one place, several shapes (service checks): one section each
                where = {m: f"{path}<{_snake(m.__name__)}>" for m in models}
                return " or ".join(
                    self._words(a, meta, where.get(a, path), limits, nested) for a in alts
                )
            return " or ".join(self._words(a, meta, path, limits, nested) for a in alts)
        variadic = origin is tuple and len(get_args(tp)) == 2 and get_args(tp)[1] is Ellipsis
        is_list = origin is list or variadic  # tuple[X, ...] is written as a list
        limits.extend(_limits(meta, is_list))
        if any(getattr(m, "func", None) is _PARSE_DURATION for m in meta):
            return "duration"
        if tp is schema.SecretRef:
            return "secret reference (see [below](#secret-references))"
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            first = self.first.setdefault(tp, path)
            nested.append((tp, path))
            return f"mapping, see [{code(first or '(top level)')}](#{anchor(self.scope, first)})"
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return "one of " + ", ".join(_yaml(m.value) for m in tp)
        if origin is Literal:
            return "one of " + ", ".join(_yaml(v) for v in get_args(tp))
        if is_list:
            inner: list[str] = []
            words = self._words(get_args(tp)[0], [], f"{path}[]", inner, nested)
            limits.extend(f"each: {c}" for c in inner)
            return f"list of {words}"
        if origin is dict:
            key_type, value_type = get_args(tp)
            key_words = self._words(key_type, [], path, [], nested)
            slot = "<name>" if key_type is str else f"<{_snake(key_type.__name__)}>"
            if isinstance(key_type, type) and issubclass(key_type, enum.Enum):
                key_words = f"{slot[1:-1].replace('_', ' ')} ({key_words})"
            inner = []
            words = self._words(value_type, [], f"{path}.{slot}", inner, nested)
            limits.extend(f"each value: {c}" for c in inner)
            return f"mapping from {key_words} to {words}"
        if tp is str:
            if any(getattr(m, "func", None) is _METRIC_NAME for m in meta):
                return "metric name"
            ids = any(getattr(m, "pattern", None) == schema.ID_PATTERN for m in meta)
            return "id" if ids else "text"
        simple = {bool: "boolean", int: "integer", float: "number", datetime: "date and time"}
        return simple.get(tp, "any value")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.cache
def sections(registry: Registry) -> tuple[tuple[str, list[Section]], ...]:
    """(scope, sections): netmon.yaml, each streaming collector's section, the site files
    (with each per-device collector block), and the secret reference."""
    stream_models = {name: spec.model for name, spec in sorted(registry.sections().items())}
    main, site_file = with_kinds(registry)
    out = [("netmon.yaml", _Walker("netmon.yaml", stream_models).walk(main, ""))]
    for name, model in stream_models.items():
        out.append((f"netmon.yaml {name}", _Walker("netmon.yaml").walk(model, name)))
    out.append(("site file", _Walker("site file").walk(site_file, "")))
    out.append(("contract file", _Walker("contract file").walk(ContractFile, "")))
    out.append(("secret", _Walker("secret").walk(schema.SecretRef, "")))
    return tuple(out)


def entries(registry: Registry, shown_only: bool = False) -> list[Entry]:
    """Every key at every place; ``shown_only``: only where the reference lists it."""
    return [
        e
        for _, secs in sections(registry)
        for s in secs
        if not (shown_only and s.repeat_of is not None)
        for e in s.entries
    ]


def undocumented(registry: Registry) -> list[str]:
    """Keys without a description anywhere (the reference would show an empty cell)."""
    return [e.path for e in entries(registry, shown_only=True) if not e.description]


def env_overrides() -> list[tuple[str, str | None]]:
    """(variable, the key of netmon.yaml it overrides; None: not known here)."""
    prefix = str(EnvOverrides.model_config.get("env_prefix", ""))
    return [(f"{prefix}{n}".upper(), ENV_TARGETS.get(n)) for n in EnvOverrides.model_fields]


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _table(section: Section, doc: bool) -> list[str]:
    title = code(section.path) if section.path else "Top level"
    lines = [f'<a id="{section.anchor}"></a>', "", f"### {title}", ""]
    if doc and own_doc(section.model):
        lines += [_prose(own_doc(section.model)), ""]
    if section.also:
        lines += ["Also used at " + ", ".join(code(p) for p in section.also) + ".", ""]
    lines += ["| key | type | default | constraints | description |", "|---|---|---|---|---|"]
    for e in section.entries:
        cells = (code(e.path), e.type, e.default, e.constraints, _prose(e.description))
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return [*lines, ""]


def _tables(secs: list[Section]) -> list[str]:
    """The shown sections; the first one's docstring already introduces the file."""
    return [line for i, s in enumerate(secs) if s.repeat_of is None for line in _table(s, i > 0)]


def _example(name: str, body: str) -> list[str]:
    return [f"<!-- example: {name} -->", "```yaml", body.strip("\n"), "```", ""]


def _env_table(registry: Registry) -> list[str]:
    by_path = {e.path: e for e in entries(registry)}
    lines = ["| variable | overrides | type | description |", "|---|---|---|---|"]
    for variable, target in env_overrides():
        entry = by_path.get(target or "")
        if entry is None:
            lines.append(f"| `{variable}` | (not documented) | | |")
            continue
        where = anchor("netmon.yaml", entry.path.rpartition(".")[0])
        link = f"[{code(entry.path)}](#{where})"
        cells = (code(variable), link, entry.type, _prose(entry.description))
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return [*lines, ""]


def render(registry: Registry) -> str:
    """docs/configuration.md for netmon with these collectors."""
    parts = dict(sections(registry))
    streams = [(s.split()[1], secs) for s, secs in parts.items() if s.startswith("netmon.yaml ")]
    toc = [("value types", "value-types"), ("netmon.yaml", "netmon-yaml")]
    toc += [(f"`{name}:` in netmon.yaml", secs[0].anchor) for name, secs in streams]
    toc += [("site files", "site-files"), ("contract files", "contract-files")]
    toc += [("secret references", "secret-references")]
    toc += [("environment overrides", "environment-overrides")]
    lines = [text.INTRO, "Contents:", "", *(f"- [{t}](#{target})" for t, target in toc), ""]
    lines += [text.VALUE_TYPES, text.MAIN_FILE, *_example("netmon.yaml", text.MAIN_EXAMPLE)]
    lines += _tables(parts["netmon.yaml"])
    for name, secs in streams:
        lines += [f"## `{name}:` in netmon.yaml", "", _prose(own_doc(secs[0].model)), ""]
        if name in text.STREAM_EXAMPLES:
            lines += ["Worked example:", "", *_example(name, text.STREAM_EXAMPLES[name])]
        lines += _tables(secs)
    lines += [text.SITE_FILE, *_example("site file", text.SITE_EXAMPLE)]
    lines += _tables(parts["site file"])
    lines += [text.CONTRACT_FILE, *_example("contract file", text.CONTRACT_EXAMPLE)]
    lines += _tables(parts["contract file"])
    secret_paths = sorted({e.path for e in entries(registry) if "secret reference" in e.type})
    lines += [text.SECRETS, *_table(parts["secret"][0], doc=False)[4:]]
    lines += ["Keys that take a secret reference:", "", *(f"- {code(p)}" for p in secret_paths)]
    lines += ["", text.ENVIRONMENT, *_env_table(registry)]
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> int:
    """``python -m netmon.tools.reference.config``: the same as ``netmon reference config`` (the CLI
    is what hands the generator the collectors)."""
    from netmon.cli import main as cli_main

    return cli_main(["reference", "config"])


if __name__ == "__main__":
    sys.exit(main())
