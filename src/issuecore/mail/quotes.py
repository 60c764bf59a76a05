"""The new content of a reply: the text without the quoted earlier conversation.

:func:`new_content` never changes the full text; it returns a second,
shorter version for reading a thread as a conversation. It removes lines
quoted with ``>``, and cuts at the first reply header ("On … wrote:" in
English, German, French, Spanish, Italian, Dutch and Portuguese), Outlook's
"-----Original Message-----" line or From/Sent/To/Subject block, the
underscore rule Outlook puts above it, or a signature separator ("-- ").
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["new_content"]

_LINE_LIMIT: Final = 400  # longer lines are never reply headers, so matching stays linear
_OPENERS: Final = r"(?:on|am|le|el|il|il giorno|op|em)"
_VERBS: Final = (
    r"(?:wrote|schrieb|a\s+écrit|escribió|escribio|ha\s+scritto|schreef"
    r"|heeft\s+geschreven|geschreven|escreveu"
    # German and Dutch put the name after the verb: "Am 20.11. schrieb Jo:"
    r"|(?:schrieb|schreef)\s[^:\n]{1,200}+)"
)
_ON_WROTE: Final = re.compile(
    rf"^\s{{0,8}}{_OPENERS}\s.{{0,380}}?{_VERBS}\s{{0,4}}:\s*$", re.IGNORECASE
)
_ENDS_WITH_VERB: Final = re.compile(rf"{_VERBS}\s{{0,4}}:\s*$", re.IGNORECASE)
_STARTS_WITH_OPENER: Final = re.compile(rf"^\s{{0,8}}{_OPENERS}\s", re.IGNORECASE)
_ORIGINAL: Final = re.compile(
    r"^\s{0,8}-{2,}\s{0,4}(?:original message|original nachricht|ursprüngliche nachricht"
    r"|message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht"
    r"|mensagem original)"
    r"\s{0,4}-{2,}\s*$",
    re.IGNORECASE,
)
_RULE: Final = re.compile(r"^\s{0,8}_{20,}\s*$")
_FIELD: Final = re.compile(
    r"^\s{0,8}\*{0,2}(from|von|de|da|van|sent|gesendet|envoyé|enviado|enviada em|inviato"
    r"|verzonden|date|datum|fecha|data|to|an|à|a|para|aan|subject|betreff|objet|asunto"
    r"|oggetto|onderwerp|assunto|cc)\*{0,2}\s{0,2}:",
    re.IGNORECASE,
)
_FROM_FIELDS: Final = frozenset({"from", "von", "de", "da", "van"})


def new_content(text: str) -> str:
    """Return ``text`` without quoted history and signature; the full text if nothing is left."""
    lines = text.splitlines()
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _starts_history(lines, index):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    result = "\n".join(kept)
    return result if result.strip() else text


def _starts_history(lines: list[str], index: int) -> bool:
    line = lines[index]
    if line in ("-- ", "--") or line.rstrip("\r") == "-- ":
        return True
    if len(line) > _LINE_LIMIT:
        return False
    if _ON_WROTE.match(line) or _ORIGINAL.match(line) or _RULE.match(line):
        return True
    if _STARTS_WITH_OPENER.match(line) and index + 1 < len(lines):
        following = lines[index + 1]
        if len(following) <= _LINE_LIMIT and _ENDS_WITH_VERB.search(following):
            return True
    return _outlook_block(lines, index)


def _outlook_block(lines: list[str], index: int) -> bool:
    """Return whether a From: line starts a block of at least three header fields."""
    first = _FIELD.match(lines[index])
    if first is None or first.group(1).lower() not in _FROM_FIELDS:
        return False
    names = {first.group(1).lower()}
    for line in lines[index + 1 : index + 6]:
        if len(line) > _LINE_LIMIT:
            break
        field = _FIELD.match(line)
        if field is None:
            if line.strip():
                break
            continue
        names.add(field.group(1).lower())
    return len(names) >= 3
