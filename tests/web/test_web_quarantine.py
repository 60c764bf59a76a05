"""The quarantine page: what intake kept aside and why, its bytes, and filing it again."""

from __future__ import annotations

import re

from web_support import Console

NO_SENDER = b"Subject: <b>no sender</b>\nMessage-ID: <q1@x.test>\n\n<script>alert(1)</script>\n"


def test_quarantined_mail_is_listed_with_its_reason(agent: Console) -> None:
    agent.desk.receive(NO_SENDER)
    page = agent.client.get("/quarantine").text
    assert "&lt;q1@x.test&gt;" in page
    assert "the message has no readable sender" in page
    assert "<script>" not in page


def test_nothing_quarantined_says_so(agent: Console) -> None:
    assert "Nothing is quarantined." in agent.client.get("/quarantine").text


def test_a_quarantined_message_downloads_as_a_file(agent: Console) -> None:
    agent.desk.receive(NO_SENDER)
    page = agent.client.get("/quarantine").text
    link = re.search(r'href="(/quarantine/message\.eml\?id=[^"]+)"', page)
    assert link is not None
    response = agent.client.get(link[1].replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.content == NO_SENDER
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="q1_x.test.eml"'
    )
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_unknown_or_unstorable_message_id_is_a_404(agent: Console) -> None:
    assert agent.client.get("/quarantine/message.eml?id=%3Cnone%40x%3E").status_code == 404
    assert agent.client.get("/quarantine/message.eml?id=%00").status_code == 404


def test_filing_again_receives_the_kept_bytes_once_more(agent: Console) -> None:
    agent.desk.receive(NO_SENDER)
    page = agent.post("/quarantine/reingest", {"message_id": "<q1@x.test>"}, page="/quarantine")
    assert "Filed again: quarantined, the message has no readable sender" in page
    assert "&lt;q1@x.test&gt;" in page.split("<tbody>")[1]


def test_filing_again_what_is_not_quarantined_is_refused(agent: Console) -> None:
    page = agent.post("/quarantine/reingest", {"message_id": "<none@x>"}, page="/quarantine")
    assert "Refused: no quarantined message" in page


def test_filing_again_needs_the_csrf_token(agent: Console) -> None:
    agent.desk.receive(NO_SENDER)
    response = agent.client.post("/quarantine/reingest", data={"message_id": "<q1@x.test>"})
    assert response.status_code == 403


def test_the_quarantine_needs_a_session(console: Console) -> None:
    response = console.client.get("/quarantine", follow_redirects=False)
    assert response.status_code == 303
