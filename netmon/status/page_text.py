"""The status page's words and settings. The words, in Bahasa Indonesia and English, are
data in texts/id.yaml and texts/en.yaml so a NOC can change the wording without touching
Python; they are read and checked once, when netmon starts: both files have the same keys,
a text uses only the values netmon fills into it, and every text formats. A broken file
stops netmon with its file:line:col instead of showing a raw or empty label. The markup is
in templates/, what the page shows in page.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import yaml

from netmon.schema import ZONES

REFRESH_SECONDS = 30
MAX_PARAM = 100  # longer query values are cut before they are echoed back
ORDER = ("down", "unreachable", "degraded", "unknown", "up")  # worst first
PROBLEMS = ORDER[:-1]
DEFAULT_ZONE = "Asia/Makassar"
LANGS = ("id", "en")
#: texts for values that come from data: a state, cause or site kind without one shows its
#: own name (``pop``); any other key missing from the files is an error
NAMED = ("state", "cause", "kind")
#: the values netmon fills into a text, each with a sample to try the text on at load
FIELDS: dict[str, dict[str, object]] = {
    "link.end": {"end": "noc/rtr-noc:sfp1"},
    "link.rx": {"v": -40.0},
    "affected": {"n": 3},
    "backup": {"name": "POP Tanjung Redeb (pop)"},
    "sites": {"n": 7},
    "bad_kab": {"v": "Atlantis"},
    "bad_status": {"v": "sideways"},
    "first": {"done": 12, "total": 300},
    "stale": {"n": 10, "total": 300},
    "updated": {"t": "23 Nov 17:00:00 WITA", "s": REFRESH_SECONDS},
}
#: texts that are lists of words, and how many words each must have
WORD_LISTS = {"units": 4, "months": 12}  # units: days hours minutes seconds

_STR = "tag:yaml.org,2002:str"


class TextError(ValueError):
    """A text file the page cannot use; the message says where."""


def load(directory: Traversable) -> dict[str, dict[str, str]]:
    """language -> key -> text, from ``<directory>/<language>.yaml``; nested keys are
    joined with dots (``state: {down: Mati}`` is ``state.down``)."""
    read = {lang: _read(directory / f"{lang}.yaml") for lang in LANGS}
    problems: list[str] = []
    every = set().union(*read.values()) | set(FIELDS) | set(WORD_LISTS)
    for lang, texts in read.items():
        missing = sorted(every - set(texts))
        if missing:
            problems.append(f"{directory / f'{lang}.yaml'}: no text for {', '.join(missing)}")
        for key, (text, where) in texts.items():
            try:
                text.format(**FIELDS.get(key, {}))
            except (KeyError, IndexError, ValueError, AttributeError, TypeError) as e:
                fills = ", ".join(f"{{{f}}}" for f in FIELDS.get(key, {})) or "nothing"
                problems.append(
                    f"{where}: {key}: {text!r} does not format ({type(e).__name__}: {e}); "
                    f"netmon fills in {fills}, and a literal brace is written twice"
                )
            if key in WORD_LISTS and len(text.split()) != WORD_LISTS[key]:
                problems.append(f"{where}: {key}: needs {WORD_LISTS[key]} words: {text!r}")
    if problems:
        raise TextError("status page texts: " + "; ".join(problems))
    return {lang: {k: text for k, (text, _) in texts.items()} for lang, texts in read.items()}


def _read(path: Traversable) -> dict[str, tuple[str, str]]:
    """key -> (text, file:line:col) of one language's file."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        at = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise TextError(f"{at}: not YAML: {e.problem}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise TextError(f"{path}: cannot read: {e}") from None
    out: dict[str, tuple[str, str]] = {}
    if root is None:
        return out

    def where(node: yaml.Node) -> str:
        return f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"

    def walk(node: yaml.Node, prefix: str) -> None:
        if not isinstance(node, yaml.MappingNode):
            raise TextError(f"{where(node)}: expected keys with texts")
        for key_node, value in node.value:
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR):
                raise TextError(f"{where(key_node)}: a key must be a word")
            key = prefix + str(key_node.value)
            if key in out or any(k.startswith(key + ".") for k in out):
                raise TextError(f"{where(key_node)}: {key} given twice")
            if isinstance(value, yaml.MappingNode):
                walk(value, key + ".")
            elif isinstance(value, yaml.ScalarNode) and value.tag == _STR and value.value:
                out[key] = (str(value.value), where(value))
            else:  # a number, yes/no, a list or nothing: quote it to mean the text
                raise TextError(f"{where(value)}: {key}: expected a text (quote it)")

    walk(root, "")
    return out


TEXTS = load(files("netmon.status") / "texts")


def word(key: str, lang: str, **values: Any) -> str:
    """The text in ``lang`` with ``values`` filled in. A key not in the files raises
    KeyError, except a state, cause or site kind without a text, which shows its name."""
    got = TEXTS[lang].get(key)
    if got is None:
        prefix, _, name = key.partition(".")
        if prefix in NAMED and name:
            return name.replace("_", " ")
        raise KeyError(f"no status page text {key!r} in texts/{lang}.yaml")
    return got.format(**values)


def zone(name: str) -> tuple[tzinfo, str]:
    """The inventory allows only Indonesia's three zones; anything else shows as UTC."""
    hours, abbr = ZONES.get(name, (0, "UTC"))
    return timezone(timedelta(hours=hours), abbr), abbr


def local_time(ts: float, tz_name: str, lang: str, now: float, fmt: str = "%H:%M") -> str:
    """``23 Nov 14:05 WITA``; the year only when it is not the current one."""
    tz, abbr = zone(tz_name)
    at = datetime.fromtimestamp(ts, tz)
    month = word("months", lang).split()[at.month - 1]
    year = "" if at.year == datetime.fromtimestamp(now, tz).year else f" {at.year}"
    return f"{at.day} {month}{year} {at.strftime(fmt)} {abbr}"


def duration(seconds: float, lang: str) -> str:
    """``3 j 5 m``: the two largest units."""
    d_, h_, m_, s_ = word("units", lang).split()
    left = int(max(0.0, seconds))
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    if days:
        return f"{days} {d_} {hours} {h_}"
    if hours:
        return f"{hours} {h_} {minutes} {m_}"
    return f"{minutes} {m_}" if minutes else f"{secs} {s_}"


def link_detail(link: dict[str, Any], lang: str) -> str:
    """``fo-x (ujung noc/core:sfp1: antarmuka mati, daya terima -40.0 dBm)``: the link a
    site is down by, and what its near end (the parent's interface) reads now."""
    readings = []
    if link.get("oper_up") is False:
        readings.append(word("link.down", lang))
    if link.get("rx_power_dbm") is not None:
        readings.append(word("link.rx", lang, v=link["rx_power_dbm"]))
    end = word("link.end", lang, end=link["near_end"])
    return f"{link['id']} ({end}{': ' if readings else ''}{', '.join(readings)})"


HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
