"""Automated-mail signals: each fires on its own, and ordinary mail fires none."""

from __future__ import annotations

import pytest
from mail_support import fixture_bytes

from issuecore.mail import InboundMessage, classify_automated, is_robot_address, parse_message
from issuecore.mail._automated import reply_to_person


def _message(headers: str, body: str = "hello") -> InboundMessage:
    raw = f"From: Person <person@example.com>\nMessage-ID: <m@example.com>\n{headers}\n\n{body}\n"
    message = parse_message(raw.encode())
    assert isinstance(message, InboundMessage)
    return message


@pytest.mark.parametrize(
    ("headers", "signal"),
    [
        ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: Auto-Generated; comment", "Auto-Submitted: auto-generated"),
        ("Precedence: bulk", "Precedence: bulk"),
        ("Precedence: JUNK", "Precedence: junk"),
        ("Precedence: list", "Precedence: list"),
        ("Precedence: auto_reply", "Precedence: auto_reply"),
        ("X-Autoreply: yes", "x-autoreply present"),
        ("X-Autorespond: yes", "x-autorespond present"),
        ("X-AutoResponse: yes", "x-autoresponse present"),
        ("X-AutoReply-From: a@example.com", "x-autoreply-from present"),
        ("X-Mail-Autoreply: yes", "x-mail-autoreply present"),
        ("X-Auto-Response-Suppress: DR, RN, NRN", "X-Auto-Response-Suppress: dr"),
        ("X-Auto-Response-Suppress: oof", "X-Auto-Response-Suppress: oof"),
        ("X-Auto-Response-Suppress: AutoReply", "X-Auto-Response-Suppress: autoreply"),
        ("X-Auto-Response-Suppress: All", "X-Auto-Response-Suppress: all"),
        ("List-Id: <x.lists.example.com>", "list-id present"),
        ("List-Unsubscribe: <mailto:x@example.com>", "list-unsubscribe present"),
        ("Return-Path: <>", "empty Return-Path"),
        ("X-Failed-Recipients: a@example.com", "x-failed-recipients present"),
        (
            "Content-Type: multipart/report; report-type=delivery-status; boundary=b",
            "delivery-status report",
        ),
        (
            "Content-Type: multipart/report; report-type=disposition-notification; boundary=b",
            "disposition-notification report",
        ),
    ],
)
def test_each_signal_marks_mail_automated_and_is_named(headers: str, signal: str) -> None:
    automation = classify_automated(_message(headers))
    assert automation.automated
    assert signal in automation.signals


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: no",
        "Precedence: first-class",
        "X-Auto-Response-Suppress: RN, NRN",
        "Return-Path: <person@example.com>",
        "Subject: Out of office? No, I am here",
    ],
)
def test_ordinary_mail_fires_no_signal(headers: str) -> None:
    assert classify_automated(_message(headers)).signals == ()


@pytest.mark.parametrize(
    "address",
    [
        "MAILER-DAEMON@mx.example.com",
        "postmaster@example.com",
        "noreply@example.com",
        "no-reply@example.com",
        "no_reply+tag@example.com",
        "do-not-reply@example.com",
        "DoNotReply@example.com",
    ],
)
def test_robot_senders_are_recognised(address: str) -> None:
    assert is_robot_address(address)
    raw = f"From: {address}\nMessage-ID: <m@x>\n\nhello\n".encode()
    message = parse_message(raw)
    assert isinstance(message, InboundMessage)
    assert f"robot sender {message.from_address}" in classify_automated(message).signals


@pytest.mark.parametrize("address", ["nora@example.com", "replies@example.com", None, ""])
def test_people_are_not_robots(address: str | None) -> None:
    assert not is_robot_address(address)


def test_bounce_fixture_fires_every_bounce_signal() -> None:
    message = parse_message(fixture_bytes("bounce_dsn"))
    assert isinstance(message, InboundMessage)
    signals = classify_automated(message).signals
    assert "empty Return-Path" in signals
    assert "delivery-status report" in signals
    assert "robot sender MAILER-DAEMON@mx.helpdesk.example" in signals


def test_written_reply_is_not_automated() -> None:
    message = parse_message(fixture_bytes("outlook_reply"))
    assert isinstance(message, InboundMessage)
    assert not classify_automated(message).automated


# --- the edges of each signal, stated one by one ----------------------------------------


@pytest.mark.parametrize(
    ("header", "signal"),
    [
        ("Auto-Submitted: Auto-Generated; by=cron; job=nightly", "Auto-Submitted: auto-generated"),
        ("Auto-Submitted:", "Auto-Submitted: (empty)"),
        ("Auto-Submitted: ; comment", "Auto-Submitted: (empty)"),
    ],
)
def test_auto_submitted_names_the_value_before_the_first_semicolon(
    header: str, signal: str
) -> None:
    assert classify_automated(_message(header)).signals == (signal,)


def test_auto_submitted_no_with_several_parameters_is_a_person() -> None:
    assert classify_automated(_message("Auto-Submitted: no; reason=x; by=y")).signals == ()


@pytest.mark.parametrize(
    ("header", "signal"),
    [
        ("X-Auto-Response-Suppress: RN; OOF", "X-Auto-Response-Suppress: oof"),
        ("X-Auto-Response-Suppress: OOF, DR", "X-Auto-Response-Suppress: dr, oof"),
        ("X-Auto-Response-Suppress: RN;All;DR", "X-Auto-Response-Suppress: all, dr"),
    ],
)
def test_auto_response_suppress_reads_comma_and_semicolon_lists_and_names_each_value(
    header: str, signal: str
) -> None:
    assert classify_automated(_message(header)).signals == (signal,)


def test_a_blank_return_path_is_an_empty_return_path() -> None:
    assert classify_automated(_message("Return-Path:   ")).signals == ("empty Return-Path",)


@pytest.mark.parametrize(
    "address",
    [
        "postmaster+bounces@example.com",
        "mailer-daemon+x+y@example.com",
        "no.reply@example.com",
        "do.not.reply@example.com",
        "Mailer.Daemon@example.com",
    ],
)
def test_robot_names_are_read_without_plus_tags_dots_dashes_and_case(address: str) -> None:
    assert is_robot_address(address)


@pytest.mark.parametrize(
    "address", ["postmasters@example.com", "nora+noreply@example.com", "reply.no@example.com"]
)
def test_names_that_only_contain_a_robot_name_are_people(address: str) -> None:
    assert not is_robot_address(address)


def test_only_the_first_reply_to_of_a_no_reply_sender_is_its_person() -> None:
    raw = (
        b"From: noreply@erp.example\nReply-To: postmaster@erp.example, buyer@customer.example\n"
        b"Message-ID: <m@erp.example>\n\nOrder 1\n"
    )
    message = parse_message(raw)
    assert isinstance(message, InboundMessage)
    assert reply_to_person(message) is None
    assert "robot sender noreply@erp.example" in classify_automated(message).signals
