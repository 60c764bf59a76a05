"""Replies with attachments and an HTML alternative; an acknowledgement for issues opened by API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest

from issuecore import Attachment, DeskSettings, HelpDesk, InvalidArgumentError
from issuecore.mail._settings import MailSettings
from issuecore.ports import Store
from issuecore.testing import FakeClock, RecordingMailer
from stores import fresh_store

START = pendulum.datetime(2026, 3, 2, 9, 0, tz="UTC")
PDF = Attachment(filename="invoice 1043.pdf", content_type="application/pdf", data=b"%PDF-1.7 x")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with fresh_store(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def desk(store: Store, mailer: RecordingMailer) -> HelpDesk:
    return HelpDesk(
        store=store,
        mailer=mailer,
        clock=FakeClock(START),
        settings=DeskSettings(
            support_address="support@example.com",
            mail=MailSettings(support_address="support@example.com", auto_reply_limit=2),
        ),
    )


def _opened(desk: HelpDesk, **extra: Any) -> str:
    return desk.open_issue(
        subject="Invoice wrong", raised_by="ana@customer.test", body="VAT missing", **extra
    ).number


def test_a_reply_carries_its_attachment_and_html_alternative(
    desk: HelpDesk, mailer: RecordingMailer
) -> None:
    number = _opened(desk)
    desk.reply(
        number,
        body="Corrected invoice attached.",
        html="<p>Corrected invoice <b>attached</b>.</p>",
        attachments=[PDF],
        author="ben",
    )
    (sent,) = mailer.sent
    assert sent.get_body(("plain",)).get_content().strip() == "Corrected invoice attached."  # type: ignore[union-attr]
    assert "<b>attached</b>" in sent.get_body(("html",)).get_content()  # type: ignore[union-attr]
    (attached,) = list(sent.iter_attachments())
    assert attached.get_filename() == "invoice 1043.pdf"
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_content() == b"%PDF-1.7 x"
    entry = desk.thread(number)[-1]
    assert entry.html == "<p>Corrected invoice <b>attached</b>.</p>"
    assert entry.attachments == (PDF,)


def test_a_reply_without_extras_stays_plain_text(desk: HelpDesk, mailer: RecordingMailer) -> None:
    desk.reply(_opened(desk), body="Looking into it.", author="ben")
    (sent,) = mailer.sent
    assert sent.get_content_type() == "text/plain"


@pytest.mark.parametrize(
    ("extra", "argument"),
    [
        ({"attachments": [b"bytes"]}, "attachments[0]"),
        ({"attachments": PDF}, "attachments"),
        (
            {"attachments": [Attachment(filename="a", content_type="pdf", data=b"x")]},
            "attachments[0].content_type",
        ),
        (
            {"attachments": [Attachment(filename="", content_type="a/b", data=b"x")]},
            "attachments[0].filename",
        ),
        ({"html": ""}, "html"),
        ({"html": 5}, "html"),
    ],
)
def test_unusable_reply_extras_are_refused(
    desk: HelpDesk, mailer: RecordingMailer, extra: dict[str, object], argument: str
) -> None:
    number = _opened(desk)
    with pytest.raises(InvalidArgumentError) as caught:
        desk.reply(number, body="b", author="ben", **extra)  # type: ignore[arg-type]
    assert caught.value.argument == argument
    assert mailer.sent == []


def test_an_issue_opened_by_api_is_acknowledged_when_asked(
    desk: HelpDesk, mailer: RecordingMailer
) -> None:
    number = _opened(desk, acknowledge=True)
    (sent,) = mailer.sent
    assert sent["To"] == "ana@customer.test"
    assert sent["Auto-Submitted"] == "auto-replied"
    assert number in str(sent["Subject"])
    assert number in sent.get_content()


def test_an_issue_opened_by_api_is_not_acknowledged_by_default(
    desk: HelpDesk, mailer: RecordingMailer
) -> None:
    _opened(desk)
    assert mailer.sent == []


def test_acknowledgements_keep_the_auto_reply_rate_limit(
    desk: HelpDesk, mailer: RecordingMailer
) -> None:
    for _ in range(3):
        _opened(desk, acknowledge=True)
    assert len(mailer.sent) == 2


def test_a_robot_raiser_gets_no_acknowledgement(desk: HelpDesk, mailer: RecordingMailer) -> None:
    desk.open_issue(subject="Order", raised_by="noreply@shop.test", body="b", acknowledge=True)
    assert mailer.sent == []


def test_acknowledge_must_be_a_bool(desk: HelpDesk) -> None:
    with pytest.raises(InvalidArgumentError):
        _opened(desk, acknowledge="yes")
    assert desk.find() == []
