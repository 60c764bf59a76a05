"""The project's own Hypothesis strategies, for hostile mail: subjects, names, headers, messages.

The strategies adopters get live in :mod:`issuecore.testing.strategies`.
"""

from __future__ import annotations

from hypothesis import strategies as st

#: Characters that break headers or readers when they slip through.
NASTY = st.sampled_from(
    ["\r", "\n", "\r\n", "\0", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\udc80",
     "\u202e", ":", ";", ",", "<", ">", '"', "\\", "=?", "?=", "[#", "]", "Re:", " ", "\t"]
)  # fmt: skip

ENCODED_WORDS = st.sampled_from(
    [
        "=?UTF-8?B?SGVsbG8gV29ybGQ=?=",
        "=?UTF-8?Q?=0D=0ABcc:_victim@example.com?=",
        "=?ISO-8859-1?Q?f=FCr?=",
        "=?utf-8?b?4pyT?=",
        "=?bogus-charset?Q?x?=",
        "=?UTF-8?B?not base64?=",
        "=?UTF-8?Q?=00=0D?=",
    ]
)

CONTENT_TYPES = st.sampled_from(
    [
        "text/plain",
        "multipart/mixed; boundary=b",
        "text/html; charset=x-unknown",
        "multipart/report; report-type=delivery-status; boundary=b",
        "message/rfc822",
        "",
    ]
)

hostile_text = st.lists(st.one_of(st.text(max_size=20), NASTY, ENCODED_WORDS), max_size=25).map(
    "".join
)

long_text = st.builds(
    lambda unit, count: unit * count, st.text(min_size=1, max_size=5), st.integers(1, 3000)
)

subjects = st.one_of(hostile_text, long_text)
names = hostile_text


@st.composite
def raw_messages(draw: st.DrawFn) -> bytes:
    """Return a message assembled from hostile header values and bodies."""
    headers = [
        ("From", draw(st.one_of(names.map(lambda n: f"{n} <x@example.com>"), hostile_text))),
        ("To", draw(hostile_text)),
        ("Subject", draw(subjects)),
        ("Message-ID", draw(hostile_text)),
        ("References", draw(hostile_text)),
        ("Date", draw(hostile_text)),
        ("Content-Type", draw(CONTENT_TYPES)),
    ]
    extra_name = st.from_regex(r"[A-Za-z-]{1,20}", fullmatch=True)
    headers += draw(st.lists(st.tuples(extra_name, hostile_text), max_size=5))
    lines = [f"{name}: {value}" for name, value in draw(st.permutations(headers))]
    body = draw(st.one_of(hostile_text, st.just("--b\nContent-Type: text/plain\n\nhi\n--b--\n")))
    text = "\n".join(lines) + "\n\n" + body
    return text.encode("utf-8", "surrogateescape")
