"""Plain text sent as ``format=flowed`` (RFC 3676), joined back into its paragraphs.

A client writing flowed text wraps each paragraph into lines that end in a
space (a soft break) and adds a space before lines that begin with a space,
``>`` or ``From `` (space-stuffing). Read as it is, such a body shows the
sender's wrapping and stray spaces; read as RFC 3676 says, each paragraph is
one line again, quoted paragraphs keep their ``>`` depth, and with
``DelSp=yes`` the space a soft break added inside a word is dropped. The
standard library has no reader for it and the packages that do are
unmaintained, so these few lines follow section 4 of the RFC directly.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["unflow"]

_LINE_END: Final = re.compile(r"\r\n|\n|\r")
_SIGNATURE: Final = "-- "


def unflow(text: str, *, delete_space: bool = False) -> str:
    """Return ``text`` with its soft line breaks joined and its space-stuffing removed."""
    lines = _LINE_END.split(text)
    out: list[str] = []
    paragraph: list[str] = []
    paragraph_depth = 0
    for line in lines:
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing, or the space after the quote marks
        if paragraph and depth != paragraph_depth:
            out.append(_quoted(paragraph_depth, "".join(paragraph)))  # a depth change ends it
            paragraph = []
        soft = content.endswith(" ") and content != _SIGNATURE
        if soft and delete_space:
            content = content[:-1]
        paragraph.append(content)
        paragraph_depth = depth
        if not soft:
            out.append(_quoted(depth, "".join(paragraph)))
            paragraph = []
    if paragraph:
        out.append(_quoted(paragraph_depth, "".join(paragraph)))
    return "\n".join(out)


def _quoted(depth: int, text: str) -> str:
    if not depth:
        return text
    return f"{'>' * depth} {text}" if text else ">" * depth
