"""The public contact form: off by default, opens an issue as a mail would, and its guards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from web_support import AGENT, Console, account_settings, build_console, csrf_of

from issuecore.web._contact import MAX_MESSAGE, MAX_SUBJECT

ORIGIN = "https://www.example.com"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Console]:
    settings = attrs.evolve(
        account_settings(tmp_path),
        contact_form=True,
        contact_limit=2,
        contact_max_bytes=5_000,
        contact_frame_ancestors=(ORIGIN,),
    )
    yield from build_console(tmp_path, settings=settings)


def fields(**changes: str) -> dict[str, str]:
    return {
        "name": "Ana Silva",
        "address": "ana@customer.test",
        "subject": "Printer on fire",
        "message": "It burns.",
        **changes,
    }


def send(site: Console, path: str = "/contact", files: Any = None, **changes: str) -> Any:
    token = csrf_of(site.client.get(path).text)
    return site.client.post(path, data={"csrf_token": token, **fields(**changes)}, files=files)


def test_the_contact_form_is_off_by_default(console: Console) -> None:
    assert console.client.get("/contact").status_code == 404
    assert console.client.post("/contact", data=fields()).status_code == 404
    assert console.client.get("/contact/embed").status_code == 404


def test_a_submission_opens_an_issue_and_acknowledges_it_like_mail(site: Console) -> None:
    response = send(site)
    assert response.status_code == 200
    assert 'id="contact-sent"' in response.text
    [issue] = site.desk.find()
    assert issue.subject == "Printer on fire"
    assert issue.raised_by == "ana@customer.test"
    assert site.desk.thread(issue.number)[0].text.strip() == "It burns."
    [acknowledgement] = site.mailer.sent
    assert str(acknowledgement["To"]) == "ana@customer.test"
    assert issue.number in str(acknowledgement["Subject"])


def test_the_form_needs_no_sign_in(site: Console) -> None:
    assert site.client.get("/contact", follow_redirects=False).status_code == 200


def test_files_come_along_as_attachments(site: Console) -> None:
    response = send(site, files={"files": ("log.txt", b"smoke", "text/plain")})
    assert response.status_code == 200
    [issue] = site.desk.find()
    [entry] = site.desk.thread(issue.number)
    assert [(a.filename, a.data) for a in entry.attachments] == [("log.txt", b"smoke")]


def test_a_filled_honeypot_is_thanked_and_dropped(site: Console) -> None:
    response = send(site, website="http://spam.example")
    assert 'id="contact-sent"' in response.text
    assert site.desk.find() == []
    assert site.mailer.sent == []


def test_a_submission_without_the_csrf_token_is_forbidden(site: Console) -> None:
    site.client.get("/contact")
    assert site.client.post("/contact", data=fields()).status_code == 403
    assert site.desk.find() == []


@pytest.mark.parametrize("field", ["name", "address", "subject", "message"])
def test_every_field_is_required(site: Console, field: str) -> None:
    response = send(site, **{field: "  "})
    assert response.status_code == 400
    assert "Please fill in" in response.text
    assert site.desk.find() == []


def test_a_subject_of_the_limit_is_taken_and_one_more_is_refused(site: Console) -> None:
    assert send(site, subject="s" * (MAX_SUBJECT + 1)).status_code == 400
    assert send(site, subject="s" * MAX_SUBJECT).status_code == 200


def test_a_message_longer_than_the_limit_is_refused(site: Console) -> None:
    response = send(site, message="m" * (MAX_MESSAGE + 1))
    assert response.status_code in (400, 413)
    assert site.desk.find() == []


def test_files_beyond_the_size_limit_are_refused(site: Console) -> None:
    response = send(site, files={"files": ("big.bin", b"x" * 5_001, "application/octet-stream")})
    assert response.status_code == 400
    assert "exceed 5000 bytes" in response.text
    assert site.desk.find() == []


def test_a_request_far_beyond_the_limit_is_refused_unread(site: Console) -> None:
    response = send(site, files={"files": ("big.bin", b"x" * 80_000, "application/octet-stream")})
    assert response.status_code == 413


def test_something_that_is_no_address_is_refused(site: Console) -> None:
    response = send(site, address="not an address")
    assert response.status_code == 400
    assert "is not an address" in response.text


def test_the_desks_own_addresses_are_refused(site: Console) -> None:
    assert send(site, address=AGENT).status_code == 400
    assert send(site, address="support@example.com").status_code == 400
    assert site.desk.find() == []


def test_a_name_cannot_inject_headers(site: Console) -> None:
    response = send(site, name="Ana\r\nBcc: victim@example.com")
    assert response.status_code == 200
    [acknowledgement] = site.mailer.sent
    assert acknowledgement["Bcc"] is None


def test_a_sender_is_limited_per_window(site: Console) -> None:
    assert send(site, subject="one").status_code == 200
    assert send(site, subject="two").status_code == 200
    refused = send(site, subject="three")
    assert refused.status_code == 429
    assert len(site.desk.find()) == 2
    site.clock.advance(timedelta(hours=1))
    assert send(site, subject="four").status_code == 200


def test_the_limit_counts_per_client_too(site: Console) -> None:
    send(site, address="a@one.test")
    send(site, address="b@two.test")
    assert send(site, address="c@three.test").status_code == 429


def test_the_embeddable_form_may_be_framed_by_the_configured_origins(site: Console) -> None:
    page = site.client.get("/contact/embed")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert f"frame-ancestors {ORIGIN}" in policy
    assert "x-frame-options" not in page.headers
    assert "<header>" not in page.text
    assert send(site, path="/contact/embed").status_code == 200


def test_the_full_page_form_may_not_be_framed(site: Console) -> None:
    page = site.client.get("/contact")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
