"""Readable plain text from an HTML body, with the standard library's HTML parser.

Block elements and ``<br>`` end lines, paragraphs, headings, lists, tables
and quotes are set apart by a blank line, table cells are separated by a tab
and rows by a line break, list items start with ``- `` (``1. `` in ordered
lists, indented when nested), ``<pre>`` keeps its layout, ``<script>``,
``<style>``, ``<head>`` and the like are dropped, entities are decoded and
other white space collapses to one space, as a browser shows it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Final

__all__ = ["html_to_text"]

_LINE: Final = frozenset(
    {
        "address",
        "article",
        "aside",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "section",
        "tr",
        "center",
        "caption",
    }
)
_PARAGRAPH: Final = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol"}
)
_HIDDEN: Final = frozenset(
    {"script", "style", "head", "title", "template", "object", "applet", "svg", "math"}
)
_VOID: Final = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
_SPACE: Final = re.compile(r"[ \t\n\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES: Final = re.compile(r"\n{3,}")
_TAGS: Final = re.compile(r"<[^<>]{0,2000}>")


class _TextFromHtml(HTMLParser):
    """Collects the text a reader sees, line by line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._newlines = 2  # newlines at the end of the output; the start counts as a paragraph
        self._space = False  # a space is owed before the next text
        self._hidden: list[str] = []
        self._pre = 0
        self._lists: list[list[int]] = []  # per open list: [next number] or [] when unordered
        self._first_cell = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" and "head" in self._hidden:
            self._hidden.clear()  # a head left open ends where the body starts, as in a browser
        if self._hidden:
            if tag == self._hidden[-1] and tag not in _VOID:
                self._hidden.append(tag)
            return
        if tag in _HIDDEN:
            self._hidden.append(tag)
        elif tag in ("td", "th"):
            if not self._first_cell:
                self._emit_raw("\t")
                self._space = False
            self._first_cell = False
        elif tag == "li":
            self._break(1)
            depth = max(len(self._lists) - 1, 0)
            if self._lists and self._lists[-1]:
                marker = f"{self._lists[-1][0]}. "
                self._lists[-1][0] += 1
            else:
                marker = "- "
            self._emit_raw("  " * depth + marker)
            self._space = False
        elif tag in ("ul", "ol"):
            self._break(1 if self._lists else 2)
            self._lists.append([1] if tag == "ol" else [])
        elif tag in _PARAGRAPH:
            self._break(2)
            if tag == "pre":
                self._pre += 1
        elif tag == "br":
            self._emit_raw("\n")
            self._space = False
        elif tag in _LINE:
            self._break(1)
            if tag == "tr":
                self._first_cell = True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            if tag == self._hidden[-1]:
                self._hidden.pop()
            return
        if tag in ("ul", "ol"):
            if self._lists:
                self._lists.pop()
            self._break(1 if self._lists else 2)
        elif tag in _PARAGRAPH:
            if tag == "pre":
                self._pre = max(0, self._pre - 1)
            self._break(2)
        elif tag in _LINE and tag != "br":
            self._break(1)

    def handle_data(self, data: str) -> None:
        if self._hidden or not data:
            return
        if self._pre:
            self._emit_raw(data.replace("\r\n", "\n").replace("\r", "\n"))
            self._space = False
            return
        leading = data[0].isspace() or data[0] == "\u00a0"
        words = _SPACE.sub(" ", data).strip(" ")
        if not words:
            self._space = self._space or self._newlines == 0
            return
        if (self._space or leading) and self._newlines == 0 and self.out[-1][-1:] != "\t":
            self.out.append(" ")
        self._emit_raw(words)
        last = data[-1]
        self._space = last.isspace() or last == "\u00a0"

    def _emit_raw(self, text: str) -> None:
        self.out.append(text)
        stripped = text.rstrip("\n")
        if stripped:
            self._newlines = len(text) - len(stripped)
        else:
            self._newlines += len(text)

    def _break(self, newlines: int) -> None:
        self._space = False
        if self._newlines < newlines:
            self.out.append("\n" * (newlines - self._newlines))
            self._newlines = newlines

    def text(self) -> str:
        lines = "".join(self.out).split("\n")
        tidy = "\n".join(line.rstrip(" \t") for line in lines)
        return _BLANK_LINES.sub("\n\n", tidy).strip("\n")


def html_to_text(html: str) -> str:
    """Return readable plain text from an HTML body (no scripts, styles or tags)."""
    if not html:
        return ""
    parser = _TextFromHtml()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # the parser is lenient; this guards against the unforeseen
        return " ".join(_TAGS.sub(" ", html).split())
    return parser.text()
