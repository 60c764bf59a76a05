"""Strangers around a real thread never get in as verified, and the rate limit holds at any setting.

The participant rule (spec/mail.md, rule 4): a subject token admits only the
issue's participants and agents. These properties surround a real issue with
strangers whose To, Cc, Reply-To, References and subject say anything at all,
the customer's own Message-ID included, except a Message-ID of mail the desk
sent on the thread (only its participants received one), under every stranger
policy.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from mail_support import NOW, SIGNING_KEY, SUPPORT, WORKFLOW, settings, world

from issuecore.mail import InboundMessage, parse_message
from issuecore.mail._compose import InMemoryAutoReplyCounter, reserve_auto_reply
from issuecore.mail._matching import DecisionKind, decide
from issuecore.mail._settings import StrangerPolicy
from issuecore.mail._signing import make_message_id
from strategies import AROUND, hostile_text, settings_spans

VICTIM = "ISS-2026-00042"  # raised by alice@example.com, bob@example.com copied in
THREAD = ("alice@example.com", "bob@example.com")
AGENT = "sam@helpdesk.example"
MICRO = timedelta(microseconds=1)

stranger_addresses = st.builds(
    "{}@{}".format,
    st.from_regex(r"[a-z][a-z0-9.+_-]{0,12}", fullmatch=True),
    st.sampled_from(["evil.example", "example.org", "mail.example.net", "helpdesk.example.org"]),
).filter(lambda address: ".." not in address and not address.split("@")[0].endswith("."))

#: Anyone a stranger may name: the thread's people (in any case), the desk, other strangers.
named = st.one_of(
    st.sampled_from([*THREAD, "ALICE@EXAMPLE.COM", "Bob@Example.com", AGENT, SUPPORT]),
    stranger_addresses,
)  # fmt: skip


def forged(unique: str) -> str:
    """Return a Message-ID signed for the thread's issue, one digit of its signature changed."""
    real = make_message_id(VICTIM, key=SIGNING_KEY, domain="helpdesk.example", unique=unique)
    local, domain = real.split("@")
    last = local[-1]
    return f"{local[:-1]}{'0' if last != '0' else '1'}@{domain}"


#: References a stranger may know or invent: the customer's, unknown, signed with another
#: key, forged, or unverified.
invented_references = st.one_of(
    st.sampled_from(
        ["<CAF-alice-first@mail.gmail.com>", "<hijack-0@evil.example>", "<nobody@nowhere.example>"]
    ),
    st.builds(
        lambda unique: make_message_id(
            VICTIM, key=b"x" * 32, domain="helpdesk.example", unique=unique
        ),
        st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
    ),
    st.builds(forged, st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)),
)

TOKENS = (
    f"[#{VICTIM}]",
    f"[#{VICTIM.lower()}]",
    f"#{VICTIM}",
    VICTIM,
    f"[#{VICTIM}] [#ISS-2026-00007]",
)
subjects_naming_the_victim = st.builds(
    "{}{}{}".format,
    st.sampled_from(["", "Re: ", "RE: AW: ", "Fwd: "]),
    st.sampled_from(TOKENS),
    hostile_text.map(lambda text: " " + text.replace("\r", " ").replace("\n", " ")[:60]),
)  # fmt: skip


@st.composite
def stranger_messages(draw: st.DrawFn) -> bytes:
    sender = draw(stranger_addresses)
    lines = [f"From: {sender}", f"Subject: {draw(subjects_naming_the_victim)}"]
    for header in ("To", "Cc", "Reply-To"):
        addresses = draw(st.lists(named, max_size=4))
        if addresses:
            lines.append(f"{header}: {', '.join(addresses)}")
    references = draw(st.lists(invented_references, max_size=3))
    if references:
        lines.append(f"References: {' '.join(references)}")
        if draw(st.booleans()):
            lines.append(f"In-Reply-To: {references[-1]}")
    lines.append(f"Message-ID: <{draw(st.uuids())}@evil.example>")
    return ("\r\n".join(lines) + "\r\n\r\nLet me in.\r\n").encode("utf-8", "surrogateescape")


@given(stranger_messages(), st.sampled_from(list(StrangerPolicy)))
def test_a_stranger_is_never_appended_as_verified_whatever_the_headers_say(
    raw: bytes, policy: StrangerPolicy
) -> None:
    message = parse_message(raw)
    assert isinstance(message, InboundMessage), message
    decision = decide(
        message,
        lookup=world(),
        settings=settings(stranger_policy=policy),
        now=NOW,
        is_closed=WORKFLOW.is_closed,
    )
    if decision.kind is DecisionKind.APPEND:
        assert decision.unverified, decision.reason
        assert not decision.change_status
        assert decision.copied_in == ()


@given(stranger_messages())
def test_a_stranger_copying_the_thread_in_starts_an_issue_of_its_own_by_default(raw: bytes) -> None:
    message = parse_message(raw)
    assert isinstance(message, InboundMessage), message
    decision = decide(
        message, lookup=world(), settings=settings(), now=NOW, is_closed=WORKFLOW.is_closed
    )
    assert decision.kind is DecisionKind.CREATE, decision.reason
    assert decision.issue_number is None


# --- the automatic-reply rate limit at any setting -----------------------------------------


@given(st.integers(0, 30), settings_spans)
def test_the_rate_limit_admits_exactly_auto_reply_limit_replies_in_the_window(
    limit: int, window: timedelta
) -> None:
    counter = InMemoryAutoReplyCounter()
    config = settings(auto_reply_limit=limit, auto_reply_window=window)
    granted = [
        reserve_auto_reply(counter, "ana@example.org", now=NOW, settings=config)
        for _ in range(limit + 1)
    ]
    assert granted == [True] * limit + [False]


@given(st.integers(1, 30), settings_spans, st.sampled_from(AROUND))
def test_the_rate_limit_frees_a_reply_one_microsecond_after_the_window(
    limit: int, window: timedelta, step: int
) -> None:
    counter = InMemoryAutoReplyCounter()
    config = settings(auto_reply_limit=limit, auto_reply_window=window)
    for _ in range(limit):
        assert reserve_auto_reply(counter, "ana@example.org", now=NOW, settings=config)
    later = NOW + window + step * MICRO
    assert reserve_auto_reply(counter, "ana@example.org", now=later, settings=config) is (step > 0)
