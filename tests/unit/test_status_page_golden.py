"""The page from templates shows what the hand-built page showed: its elements, attributes
and text, in order, for representative states, pinned in tests/golden/status_page/. Those
files were written by the hand-built page (commit 605bd6d) before the templates replaced
it (byte for byte the same output then, over ~500 random states). A deliberate change of
the page regenerates them with NETMON_UPDATE_GOLDEN=1; review the diff line by line."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from netmon.status.page import Progress, Query, render
from tests.helpers import ROOT
from tests.unit.test_status_page import HOSTILE, NOW, READY, named, page

GOLDEN = ROOT / "tests/golden/status_page"
VOID = frozenset({"meta", "br", "input", "link"})


class Outline(HTMLParser):
    """A page as an indented outline: one line per element (attributes sorted) and per
    piece of text (as JSON, so spaces and entities are visible), one level per element."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.depth = 0
        self.feed(text)
        self.close()
        assert self.depth == 0, "unclosed elements"

    def handle_decl(self, decl: str) -> None:
        self.lines.append(f"<!{decl}>")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        shown = "".join(
            f" {k}" if v is None else f" {k}={json.dumps(v, ensure_ascii=False)}"
            for k, v in sorted(attrs)
        )
        self.lines.append(f"{'  ' * self.depth}<{tag}{shown}>")
        if tag not in VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        self.lines.append(f"{'  ' * self.depth}{json.dumps(data, ensure_ascii=False)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


CASES: dict[str, Callable[[], str]] = {
    # Berau's POP down with villages behind it, Paser on WIB, the counts, the up list
    "province-id": lambda: page(),
    "province-en-paser": lambda: page(kabupaten="Paser", lang="en"),
    # a fibre cut named with its near end, a backup path, maintenance, a kind with no words
    "link-cut-id": lambda: page(named("Desa Uji")),
    "link-cut-en-unreachable": lambda: page(named("Desa Uji"), status="unreachable", lang="en"),
    # every inventory string hostile: text on the page, never markup
    "hostile-id": lambda: page(named(HOSTILE), q="pop"),
    # the hints while polls are missing, with the up list opened by the filter
    "starting-up-only": lambda: page(prog=Progress(True, 300, 12, 3), status="up"),
    "unknown-filter-values-en": lambda: page(kabupaten="Atlantis", status="x", lang="en"),
    "not-ready": lambda: render(None, Query(), now=NOW, progress=Progress(False)),
    "no-match": lambda: page(prog=READY, q="nothing like this"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_page_shows_what_the_hand_built_page_showed(case: str) -> None:
    got = Outline(CASES[case]()).text()
    golden = GOLDEN / f"{case}.txt"
    if os.environ.get("NETMON_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got)
    assert golden.exists(), f"missing {golden}; run with NETMON_UPDATE_GOLDEN=1 and review it"
    assert got == golden.read_text()


def test_the_outline_sees_what_matters() -> None:
    """The outline is sensitive to an element, an attribute and a space."""
    base = Outline('<p class="a">x <b>y</b></p>').text()
    for changed in ('<p class="b">x <b>y</b></p>', '<p class="a">x<b>y</b></p>', "<p>x y</p>"):
        assert Outline(changed).text() != base
    assert Outline("<p class=a>x <b>y</b></p>").text() == base  # quoting is no difference
