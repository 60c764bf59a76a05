"""The character-set policy intake reads bodies, headers and file names with.

Mail names its character set, and is often wrong or dangerous about it. The
policy, applied alike to bodies, RFC 2047 encoded words, raw 8-bit header
bytes and RFC 2231 or raw file names:

- Labels are read as mail clients read them: GB2312 and GBK as GB18030,
  Shift_JIS as Windows-31J (cp932), EUC-KR and ks_c_5601-1987 as cp949,
  ISO-8859-1, US-ASCII and unlabelled 8-bit as windows-1252 unless the bytes
  are UTF-8, ISO-2022-JP with the vendor extensions Japanese mail uses.
- Only real text encodings are used. A label naming anything else
  (``utf-7``, ``unicode_escape``, ``punycode``, ``idna``, ``base64``, EBCDIC
  code pages, unknown names) is treated as unknown: the bytes are read as
  UTF-8 if they are, else as windows-1252.
- Decoding never raises and never yields a lone surrogate. Bytes that fit
  no reading become U+FFFD in text; in identifiers (Message-ID, Content-ID)
  they are written as ``%XX`` so that two different raw identifiers stay
  different.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import re
from collections.abc import Iterable, Sequence
from typing import Final

__all__ = [
    "codec_for",
    "decode_body",
    "decode_encoded_words",
    "decode_header_bytes",
    "escape_identifier",
    "is_multibyte",
    "undo_surrogates",
]

_FALLBACK_ERRORS: Final = "issuecore.windows-1252"

# Labels mail clients use, read as the superset every client actually decodes them with.
_ALIASES: Final = {
    "gb2312": "gb18030",
    "gb-2312": "gb18030",
    "gb-2312-80": "gb18030",
    "iso-gb2312": "gb18030",
    "csgb2312": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "chinese": "gb18030",
    "shift-jis": "cp932",
    "shiftjis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms-kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "x-ms-cp932": "cp932",
    "euc-kr": "cp949",
    "x-euc-kr": "cp949",
    "cseuckr": "cp949",
    "ks-c-5601-1987": "cp949",
    "ks-c-5601": "cp949",
    "ks-c-5601-1989": "cp949",
    "ksc5601": "cp949",
    "ksc-5601": "cp949",
    "korean": "cp949",
    "csksc56011987": "cp949",
    "windows-949": "cp949",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "iso-ir-100": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi-x3.4-1968": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "unicode-1-1-utf-8": "utf-8",
    "utf8": "utf-8",
    "x-unicode20utf8": "utf-8",
}

# Canonical names (``codecs.lookup(...).name``) of the codecs that decode text mail is written in.
_ALLOWED: Final = frozenset(
    {
        "utf-8",
        "utf-8-sig",
        "utf-16",
        "utf-16-le",
        "utf-16-be",
        "utf-32",
        "utf-32-le",
        "utf-32-be",
        "ascii",
        "iso8859-1",
        *(f"iso8859-{number}" for number in range(2, 17) if number != 12),
        *(f"cp{number}" for number in range(1250, 1259)),
        "cp437",
        "cp850",
        "cp852",
        "cp855",
        "cp866",
        "cp874",
        "koi8-r",
        "koi8-u",
        "kz1048",
        "ptcp154",
        "mac-roman",
        "mac-cyrillic",
        "mac-greek",
        "mac-iceland",
        "mac-latin2",
        "mac-turkish",
        "gb2312",
        "gbk",
        "gb18030",
        "hz",
        "big5",
        "big5hkscs",
        "cp950",
        "cp932",
        "shift_jis",
        "shift_jis_2004",
        "shift_jisx0213",
        "euc_jp",
        "euc_jis_2004",
        "euc_jisx0213",
        "iso2022_jp",
        "iso2022_jp_1",
        "iso2022_jp_2",
        "iso2022_jp_2004",
        "iso2022_jp_3",
        "iso2022_jp_ext",
        "euc_kr",
        "cp949",
        "johab",
        "iso2022_kr",
        "tis-620",
    }
)
_MULTIBYTE: Final = frozenset(
    {
        "gb2312",
        "gbk",
        "gb18030",
        "big5",
        "big5hkscs",
        "cp950",
        "cp932",
        "shift_jis",
        "shift_jis_2004",
        "shift_jisx0213",
        "euc_jp",
        "euc_jis_2004",
        "euc_jisx0213",
        "euc_kr",
        "cp949",
        "johab",
    }
)
# ISO-2022-JP as Japanese mail writes it: try the strict codec, then the vendor extensions.
_ISO_2022_JP: Final = ("iso2022_jp", "cp50220", "iso2022_jp_2004", "iso2022_jp_ext", "iso2022_jp_2")
_SURROGATES: Final = re.compile("[\udc80-\udcff]+")
_ANY_SURROGATE: Final = re.compile("[\ud800-\udfff]")
# Encoded text may not hold spaces, but some clients put them there; '?' still ends it.
_ENCODED_WORD: Final = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?([^?]{0,4000}?)\?=")
_BETWEEN_WORDS: Final = re.compile(r"[ \t\r\n]*")
_QUOTED_BYTE: Final = re.compile(rb"=([0-9A-Fa-f]{2})")
_UNSAFE_IN_IDENTIFIER: Final = re.compile("[\x00-\x20\x7f-\x9f\ud800-\udfff%]")
_UTF8_SEQUENCE: Final = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_HIGH_BYTES: Final = bytes(range(0x80, 0x100))
_CP1252_UNDEFINED: Final = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})


def _fallback(error: UnicodeError) -> tuple[str, int]:
    """Read the bytes a codec could not decode as windows-1252 (U+FFFD where it has none)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    text = "".join(
        "\ufffd" if byte in _CP1252_UNDEFINED else bytes([byte]).decode("cp1252") for byte in bad
    )
    return text, error.end


codecs.register_error(_FALLBACK_ERRORS, _fallback)


@functools.lru_cache(maxsize=256)
def codec_for(label: str | None) -> str | None:
    """Return the codec a charset label is read with, or ``None`` when it names no text encoding."""
    if not label:
        return None
    name = label.strip().strip("\"'").strip().lower().replace("_", "-")
    name = name.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
    if not name or len(name) > 40 or not name.isascii():
        return None
    name = _ALIASES.get(name, name)
    if name == "iso-2022-jp" or name == "csiso2022jp":
        return "iso2022_jp"
    try:
        canonical = codecs.lookup(name).name
    except (LookupError, ValueError):
        return None
    return canonical if canonical in _ALLOWED else None


def is_multibyte(codec: str) -> bool:
    """Return whether ``codec`` writes characters in several bytes (CJK encodings)."""
    return codec in _MULTIBYTE


def _strict(data: bytes, codec: str) -> str | None:
    try:
        if codec == "cp50220":
            return _decode_cp50220(data)
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError, ValueError):
        return None


def decode_body(data: bytes, declared: str | None) -> str:
    """Return the text of a body or file name whose charset label is ``declared`` (never raises)."""
    codec = codec_for(declared)
    if codec is not None and _seven_bit_or_wide(codec):
        text = _iso_2022_jp(data) if codec == "iso2022_jp" else _strict(data, codec)
        if text is not None:
            return text
        if codec.startswith("utf-"):
            return data.decode(codec, _FALLBACK_ERRORS)
        codec = None
    if data.isascii():
        return data.decode("ascii")
    if codec is None or codec == "utf-8":
        # a stray byte in UTF-8 text is read as windows-1252, the rest stays UTF-8
        return data.decode("utf-8", _FALLBACK_ERRORS)
    # Text in another charset is hardly ever valid UTF-8 by accident, while UTF-8 under a wrong
    # label is common: bytes that are UTF-8 are read as UTF-8.
    text = _strict(data, "utf-8")
    if text is None and _mostly_utf8(data):
        return data.decode("utf-8", _FALLBACK_ERRORS)
    if text is None:
        text = _strict(data, codec)
    return text if text is not None else data.decode(codec, _FALLBACK_ERRORS)


def _mostly_utf8(data: bytes) -> bool:
    """Return whether more characters are UTF-8 sequences than 8-bit bytes are left over.

    Text in a legacy charset hardly ever forms UTF-8 sequences; UTF-8 text with
    a few stray bytes in another charset does.
    """
    sequences = _UTF8_SEQUENCE.findall(data)
    if not sequences:
        return False
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    return len(sequences) > high - sum(len(sequence) for sequence in sequences)


def _seven_bit_or_wide(codec: str) -> bool:
    # ASCII bytes read as themselves except in 7-bit escape encodings and UTF-16/32
    return codec.startswith(("iso2022", "hz", "utf-16", "utf-32"))


def _iso_2022_jp(data: bytes) -> str | None:
    for codec in _ISO_2022_JP:
        text = _strict(data, codec)
        if text is not None:
            return text
    return None


_JIS_ESCAPES: Final = re.compile(rb"\x1b(\(B|\(J|\(I|\$@|\$B|\$\(D|\$\(Q|\$\(O)")


def _decode_cp50220(data: bytes) -> str:
    """Decode ISO-2022-JP with Microsoft's extensions (NEC and IBM rows, as cp932 has them)."""
    pieces: list[str] = []
    mode = b"(B"
    position = 0
    for match in [*_JIS_ESCAPES.finditer(data), None]:
        end = match.start() if match else len(data)
        chunk = data[position:end]
        if chunk:
            if mode in (b"(B", b"(J"):
                if not chunk.isascii():
                    raise UnicodeDecodeError("cp50220", data, position, end, "8-bit byte")
                pieces.append(chunk.decode("ascii"))
            elif mode == b"(I":
                pieces.append(bytes(byte | 0x80 for byte in chunk).decode("cp932"))
            else:
                pieces.append(_jis_to_sjis(chunk, data, position).decode("cp932"))
        if match is None:
            break
        mode = match.group(1)
        position = match.end()
    return "".join(pieces)


def _jis_to_sjis(chunk: bytes, data: bytes, position: int) -> bytes:
    if len(chunk) % 2:
        raise UnicodeDecodeError("cp50220", data, position, position + len(chunk), "odd length")
    out = bytearray()
    for index in range(0, len(chunk), 2):
        first, second = chunk[index], chunk[index + 1]
        if not (0x21 <= first <= 0x7E and 0x21 <= second <= 0x7E):
            at = position + index
            raise UnicodeDecodeError("cp50220", data, at, at + 2, "not JIS X 0208")
        lead = (first + 1) // 2 + (0x70 if first <= 0x5E else 0xB0)
        trail = second + (0x1F if first % 2 else 0x7D)
        if first % 2 and trail >= 0x7F:
            trail += 1
        out += bytes((lead, trail))
    return bytes(out)


def undo_surrogates(text: str, likely: Sequence[str] = ()) -> str:
    """Return ``text`` with raw 8-bit bytes (held as surrogate escapes) read by the policy.

    UTF-8 first, then each likely charset of the message (multibyte ones only
    when the bytes look like multibyte text), then windows-1252.
    """
    if text.isascii() or _ANY_SURROGATE.search(text) is None:
        return text
    data = text.encode("utf-8", "surrogateescape") if not _has_high_surrogates(text) else None
    if data is None:
        return _ANY_SURROGATE.sub("\ufffd", text)
    return decode_header_bytes(data, likely)


def _has_high_surrogates(text: str) -> bool:
    return any("\ud800" <= char <= "\udc7f" or "\udd00" <= char <= "\udfff" for char in text)


def decode_header_bytes(data: bytes, likely: Sequence[str] = ()) -> str:
    """Return raw 8-bit header bytes as text: UTF-8, else a likely charset, else windows-1252.

    The last step keeps what is UTF-8 and reads only the other bytes as windows-1252.
    """
    text = _strict(data, "utf-8")
    if text is not None:
        return text
    multibyte_run = _looks_multibyte(data)
    for label in likely:
        codec = codec_for(label)
        if codec is None or codec in ("utf-8", "ascii", "cp1252"):
            continue
        if codec == "iso2022_jp":
            continue  # 7-bit: raw 8-bit bytes are not it
        if codec in _MULTIBYTE and not multibyte_run:
            continue
        text = _strict(data, codec)
        if text is not None:
            return text
    return data.decode("utf-8", _FALLBACK_ERRORS)


def _looks_multibyte(data: bytes) -> bool:
    """Return whether the 8-bit bytes come in runs, as CJK text has them, not alone as in Latin."""
    runs = re.findall(rb"[\x80-\xff]+", data)
    return bool(runs) and sum(len(run) for run in runs) >= 4 * len(runs)


def decode_encoded_words(value: str, likely: Sequence[str] = ()) -> str:
    """Return a header value with RFC 2047 encoded words decoded by the policy (never raises)."""
    value = undo_surrogates(value, likely)
    if "=?" not in value:
        return value
    pieces: list[str] = []
    pending: list[tuple[str, bytes]] = []  # adjacent words of one charset are decoded together
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        if pending and not _BETWEEN_WORDS.fullmatch(between):
            pieces.append(_decode_words(pending, likely))
            pending = []
        if not pending:
            pieces.append(between)
        label, kind, encoded = match.groups()
        data = _word_bytes(kind, encoded)
        if data is None:
            if pending:
                pieces.append(_decode_words(pending, likely))
                pending = []
            pieces.append(match.group(0))
        elif pending and pending[-1][0] == label.lower():
            pending[-1] = (pending[-1][0], pending[-1][1] + data)
        else:
            pending.append((label.lower(), data))
        position = match.end()
    if pending:
        pieces.append(_decode_words(pending, likely))
    pieces.append(value[position:])
    return "".join(pieces)


def _word_bytes(kind: str, encoded: str) -> bytes | None:
    raw = encoded.encode("utf-8")
    if kind in "bB":
        raw = raw.rstrip(b"=")
        raw += b"=" * (-len(raw) % 4)
        try:
            return base64.b64decode(raw, validate=False)
        except (binascii.Error, ValueError):
            return None
    return _QUOTED_BYTE.sub(lambda found: bytes([int(found.group(1), 16)]), raw.replace(b"_", b" "))


def _decode_words(words: Iterable[tuple[str, bytes]], likely: Sequence[str]) -> str:
    decoded: list[str] = []
    for label, data in words:
        codec = codec_for(label)
        if codec is None or codec in ("ascii", "utf-8"):
            decoded.append(decode_header_bytes(data, likely))
        else:
            decoded.append(decode_body(data, label))
    return "".join(decoded)


def escape_identifier(text: str) -> str:
    """Return an identifier with controls, spaces, ``%`` in escaped ids and raw bytes as ``%XX``.

    Raw bytes that are UTF-8 are read as UTF-8 (RFC 6532); other raw bytes and
    control characters are percent-escaped, so distinct raw identifiers stay
    distinct and the result is valid Unicode.
    """
    if text.isascii() and text.isprintable() and " " not in text:
        return text
    if _ANY_SURROGATE.search(text):
        if _has_high_surrogates(text):
            text = _ANY_SURROGATE.sub("\ufffd", text)
        else:
            data = text.encode("utf-8", "surrogateescape")
            text = data.decode("utf-8", "surrogateescape")  # keeps only the bytes UTF-8 cannot read
    return _UNSAFE_IN_IDENTIFIER.sub(_escape_char, text) if _needs_escape(text) else text


def _needs_escape(text: str) -> bool:
    return _UNSAFE_IN_IDENTIFIER.search(text.replace("%", "")) is not None


def _escape_char(found: re.Match[str]) -> str:
    char = found.group(0)
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"%{code - 0xDC00:02X}"
    if code > 0xFF:
        return "\ufffd"
    return f"%{code:02X}"
