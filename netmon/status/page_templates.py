"""The status page's Jinja environment: the templates in templates/, autoescaped, and the
page out on one line as it was when built by hand (page.py decides what it shows)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape

from jinja2 import Environment, PackageLoader, StrictUndefined
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup

_NEWLINE = re.compile(r"\r?\n[ \t]*")  # and the indentation after it


class _OneLine(Extension):
    """The page goes out on one line, as it did when it was built by hand: in the
    templates' own text a newline and the indentation after it are dropped. Values are
    left alone."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        for token in stream:
            if token.type == "data":
                token = Token(token.lineno, token.type, _NEWLINE.sub("", token.value))
            yield token


def _escape(value: object) -> Markup:
    """Autoescaping as ``html.escape`` writes it (``&quot;``, ``&#x27;``), as this page
    always did; markup a macro made is escaped already."""
    if isinstance(value, Markup):
        return value
    return Markup(escape(str(value), quote=True))  # noqa: S704 (escaped just now)


ENV = Environment(
    loader=PackageLoader("netmon.status", "templates"),
    autoescape=True,
    undefined=StrictUndefined,  # a misspelt name fails the render instead of showing ""
    finalize=_escape,
    extensions=[_OneLine],
    auto_reload=False,
)
PAGE = ENV.get_template("page.html")
