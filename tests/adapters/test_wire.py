"""Serialising outbound mail: identifiers stay readable, other headers keep their place."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from issuecore.adapters._wire import wire_bytes, wire_message, wire_policy

LONG_ID = "<" + "m" * 90 + "@customer.test>"


def message(policy: email.policy.Policy = email.policy.default) -> EmailMessage:
    built = EmailMessage(policy=policy)  # type: ignore[arg-type]
    built["From"] = "support@example.com"
    built["Message-ID"] = LONG_ID
    built["Subject"] = "Help"
    built["References"] = LONG_ID
    built.set_content("Hello")
    return built


def parsed_after_folding() -> EmailMessage:
    """Return ``message()`` written with 78-character lines and read back."""
    folded = message().as_bytes(policy=email.policy.default)
    assert b"=?utf-8?q?" in folded  # the stdlib encoded the identifiers
    parsed = email.message_from_bytes(folded, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_a_policy_with_short_lines_is_replaced_by_smtp_with_998_characters() -> None:
    policy = wire_policy(message(), linesep="\r\n")
    assert policy.max_line_length == 998
    assert policy.linesep == "\r\n"
    assert policy.utf8 is False


def test_a_policy_that_allows_long_lines_is_kept_with_the_line_separator_asked_for() -> None:
    own = email.policy.default.clone(max_line_length=1000, utf8=True)
    policy = wire_policy(message(own), linesep="\n")
    assert policy.max_line_length == 1000
    assert policy.utf8 is True
    assert policy.linesep == "\n"


def test_a_policy_at_exactly_998_characters_is_kept() -> None:
    own = email.policy.default.clone(max_line_length=998, utf8=True)
    assert wire_policy(message(own), linesep="\n").utf8 is True


def test_a_policy_at_997_characters_is_replaced() -> None:
    own = email.policy.default.clone(max_line_length=997, utf8=True)
    policy = wire_policy(message(own), linesep="\n")
    assert policy.max_line_length == 998
    assert policy.utf8 is False


def test_a_policy_without_a_line_limit_is_kept() -> None:
    own = email.policy.default.clone(max_line_length=0, utf8=True)
    built = message()
    built.policy = own
    policy = wire_policy(built, linesep="\n")
    assert policy.max_line_length == 0
    assert policy.utf8 is True


def test_a_compat32_message_is_written_with_the_smtp_policy() -> None:
    legacy = EmailMessage(policy=email.policy.compat32)  # type: ignore[arg-type]
    legacy["Subject"] = "Hi"
    assert wire_policy(legacy, linesep="\r\n").max_line_length == 998


def test_identifiers_encoded_by_an_earlier_fold_are_written_plainly() -> None:
    parsed = parsed_after_folding()
    wire = wire_bytes(parsed, linesep="\n")
    assert b"=?utf-8?" not in wire
    assert f"Message-ID: {LONG_ID}\n".encode() in wire
    assert f"References: {LONG_ID}\n".encode() in wire
    again = email.message_from_bytes(wire, policy=email.policy.default)
    assert again["Message-ID"] == LONG_ID
    assert again["Subject"] == "Help"
    assert again.get_content().strip() == "Hello"  # type: ignore[attr-defined]


def test_wiring_leaves_the_message_given_unchanged() -> None:
    parsed = parsed_after_folding()
    before = parsed.as_bytes(policy=email.policy.default)
    names_before = list(parsed.keys())
    wire_message(parsed, linesep="\n")
    assert list(parsed.keys()) == names_before
    assert parsed.as_bytes(policy=email.policy.default) == before


def test_headers_other_than_identifiers_keep_their_place() -> None:
    wired = wire_message(parsed_after_folding(), linesep="\n")
    names = list(parsed_after_folding().keys())
    names.remove("References")
    # The re-set identifier comes at the end of the header block; the others stay.
    assert list(wired.keys()) == [*names, "References"]


def test_an_identifier_that_is_not_encoded_keeps_its_place() -> None:
    built = message()
    built.replace_header("Message-ID", "<short@example.com>")
    del built["References"]
    wired = wire_message(built, linesep="\n")
    assert list(wired.keys()) == list(built.keys())


def test_an_identifier_that_decodes_to_non_ascii_is_left_encoded() -> None:
    raw = (
        b"From: a@example.com\n"
        b"Message-ID: =?utf-8?q?=3Cgr=C3=BC=C3=9Fe=40example=2Ecom=3E?=\n"
        b"Subject: x\n\nbody\n"
    )
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    wired = wire_message(parsed, linesep="\n")
    assert list(wired.keys()) == ["From", "Message-ID", "Subject"]
    assert "=?" in str(next(raw for name, raw in wired.raw_items() if name == "Message-ID"))
