"""The status page's words as data (netmon/status/texts/*.yaml): both languages have the
same keys, every key the templates and page.py use exists, no text goes unused, and a
broken file stops netmon with file:line:col instead of showing a raw or empty label."""

from __future__ import annotations

import ast
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import nodes
from jinja2.exceptions import UndefinedError

from netmon.config.site_models import SiteKind
from netmon.status import page_text
from netmon.status.page_templates import ENV
from netmon.status.page_text import FIELDS, LANGS, NAMED, ORDER, WORD_LISTS, TextError, load, word
from tests.helpers import ROOT

STATUS = ROOT / "netmon/status"
TEXTS = STATUS / "texts"
TEMPLATES = STATUS / "templates"
#: the modules that ask for texts by key
CALLERS = [STATUS / "page.py", STATUS / "page_text.py"]


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """The files read with plain PyYAML, not netmon's loader: nested keys joined by dots."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def files() -> dict[str, dict[str, str]]:
    return {lang: flatten(yaml.safe_load((TEXTS / f"{lang}.yaml").read_text())) for lang in LANGS}


def fields_of(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def used_keys() -> tuple[set[str], set[str]]:
    """Keys the templates and page.py ask for by a literal name, and the prefixes of keys
    they build from data (``"state." ~ s``, ``f"cause.{cause}"``)."""
    keys: set[str] = set()
    prefixes: set[str] = set()

    def take(arg: object) -> None:
        if isinstance(arg, str):
            keys.add(arg)
        elif isinstance(arg, tuple):  # the literal start of a key built from data
            prefixes.add(arg[0])
        else:
            raise AssertionError(f"a text key that is neither literal nor prefix: {arg!r}")

    for path in TEMPLATES.glob("*.html"):
        tree = ENV.parse(path.read_text(), path.name)
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "t":
                arg = call.args[0]
                if isinstance(arg, nodes.Const):
                    take(arg.value)
                elif isinstance(arg, nodes.Concat) and isinstance(arg.nodes[0], nodes.Const):
                    take((arg.nodes[0].value,))
                else:
                    take(arg)
    for path in CALLERS:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name not in ("t", "word"):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant):
                take(first.value)
            elif isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
                take((first.values[0].value,))
            elif not (isinstance(first, ast.Name) and first.id == "key"):  # _Page.t's body
                raise AssertionError(f"{path.name}:{node.lineno}: a key this test cannot read")
    return keys, prefixes


def test_both_languages_have_the_same_keys_and_the_same_placeholders() -> None:
    got = files()
    assert set(got["id"]) == set(got["en"]), set(got["id"]) ^ set(got["en"])
    assert len(got["id"]) >= 48  # 42 from the hand-built page, 4 kinds, 2 filter labels
    for key, text in got["id"].items():
        for lang in LANGS:
            assert isinstance(got[lang][key], str), f"{lang}.yaml {key}"
            assert got[lang][key], f"{lang}.yaml {key} is empty"
        assert fields_of(text) == fields_of(got["en"][key]), key
    # what netmon loaded is what the files say
    assert got == page_text.TEXTS


def test_every_key_the_page_asks_for_exists_in_both_languages_and_none_is_unused() -> None:
    keys, prefixes = used_keys()
    assert {"title", "maint", "power_cut", "since", "months", "units", "link.rx"} <= keys
    assert prefixes == {"state.", "cause.", "kind."}
    assert {p.rstrip(".") for p in prefixes} == set(NAMED)
    for lang, texts in files().items():
        missing = sorted(keys - set(texts))
        assert not missing, f"{lang}.yaml lacks {missing}"
        unused = sorted(k for k in texts if k not in keys and not k.startswith(tuple(prefixes)))
        assert not unused, f"{lang}.yaml: nothing shows {unused}"


def test_every_state_and_site_kind_has_words_in_both_languages() -> None:
    """A new site kind (cctv, say) needs its words here, or the page shows its raw name."""
    for lang, texts in files().items():
        for state in ORDER:
            assert f"state.{state}" in texts, (lang, state)
        for kind in SiteKind:
            assert f"kind.{kind.value}" in texts, (lang, kind)
    assert word("kind.puskesmas", "id") == "puskesmas"


def test_a_key_missing_from_the_files_fails_loudly_only_data_values_show_their_name() -> None:
    with pytest.raises(KeyError, match="titel"):
        word("titel", "id")
    with pytest.raises(KeyError):
        word("link.nope", "en")
    # a cause or kind netmon does not know yet (a newer engine, a newer inventory)
    assert word("cause.fire_ants", "en") == "fire ants"
    assert word("kind.water_tower", "id") == "water tower"
    assert word("affected", "id", n=3) == "3 situs terdampak"
    assert word("link.rx", "en", v=-40.04) == "rx power -40.0 dBm"


def test_a_misspelt_name_in_a_template_fails_the_render() -> None:
    with pytest.raises(UndefinedError):
        ENV.from_string("<p>{{ v.nmae }}</p>").render(v=object())
    with pytest.raises(UndefinedError):
        ENV.from_string("<p>{{ nothing }}</p>").render()


def test_templates_go_out_on_one_line_with_values_untouched() -> None:
    template = ENV.from_string('<p>\n  <b>{{ x }}</b> <i>a</i>\n    {{ "y\\n  z" }}\n</p>\n')
    assert template.render(x="1\n  2") == "<p><b>1\n  2</b> <i>a</i>y\n  z</p>"
    assert ENV.from_string("<p>\r\n  <b>x</b>\r\n</p>").render() == "<p><b>x</b></p>"


def test_autoescape_writes_what_html_escape_writes() -> None:
    hostile = "<script>alert('x')</script> & \"q\""
    out = ENV.from_string('<a title="{{ x }}">{{ x }}</a>').render(x=hostile)
    esc = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;"
    assert out == f'<a title="{esc}">{esc}</a>'


def write(tmp: Path, lang: str, text: str) -> None:
    (tmp / f"{lang}.yaml").write_text(text)


@pytest.fixture
def texts(tmp_path: Path) -> Path:
    """A copy of the real files to break one thing in."""
    for lang in LANGS:
        write(tmp_path, lang, (TEXTS / f"{lang}.yaml").read_text())
    return tmp_path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_the_real_files_load_unchanged_from_a_copy(texts: Path) -> None:
    assert load(texts) == page_text.TEXTS


@pytest.mark.parametrize(
    ("lang", "old", "new", "said"),
    [
        # a key dropped from one language
        ("en", "search: Search\n", "", "en.yaml: no text for search"),
        # a placeholder netmon does not fill
        ("id", '"{n} situs terdampak"', '"{jml} situs terdampak"', "id.yaml:{line}:11: affected"),
        # a format the value does not take
        ("en", "rx power {v:.1f} dBm", "rx power {v:.1q} dBm", "en.yaml:{line}:7: link.rx"),
        # a literal brace not doubled
        ("id", "title: Status jaringan", "title: Status {jaringan", "id.yaml:{line}:8: title"),
        # not a text: YAML reads yes as a boolean and 3 as a number
        ("en", "show: Show", "show: yes", "en.yaml:{line}:7: show: expected a text"),
        ("en", "show: Show", "show: ''", "en.yaml:{line}:7: show: expected a text"),
        # a word list one word short
        ("id", "units: hr j m dtk", "units: hr j m", "id.yaml:{line}:8: units: needs 4 words"),
        # a key given twice
        ("en", "search: Search\n", "search: Search\nsearch: Find\n", "en.yaml:{line2}:1: search"),
        # not YAML at all
        ("id", "title: Status jaringan", "title: [Status", "id.yaml:"),
    ],
)
def test_a_broken_text_file_says_where(
    texts: Path, lang: str, old: str, new: str, said: str
) -> None:
    path = texts / f"{lang}.yaml"
    original = path.read_text()
    assert old in original
    needle = old.strip().split("\n")[0]
    line = line_of(path, needle)
    path.write_text(original.replace(old, new, 1))
    with pytest.raises(TextError) as raised:
        load(texts)
    assert said.format(line=line, line2=line + 1) in str(raised.value)
    assert str(texts) in str(raised.value)  # the whole path: which install's file


def test_fields_and_word_lists_are_texts_the_files_have() -> None:
    for key in [*FIELDS, *WORD_LISTS]:
        for lang in LANGS:
            assert key in files()[lang], (lang, key)
