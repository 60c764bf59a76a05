"""The console's pages and actions, through Starlette's test client on a SQLite desk."""

from __future__ import annotations

import re
from datetime import timedelta

from web_support import AGENT, PASSWORD, START, Console, csrf_of, mail

from issuecore import Status
from issuecore.web._signin import SIGN_IN_FAILURES, SIGN_IN_WINDOW


def open_issue(console: Console, subject: str = "Printer on fire", **kwargs: str) -> str:
    issue = console.desk.open_issue(
        subject=subject, raised_by="ana@customer.test", body="It burns.", **kwargs
    )
    return issue.number


# --- signing in ---------------------------------------------------------------------------


def test_a_page_without_a_session_redirects_to_sign_in(console: Console) -> None:
    response = console.client.get("/issues?q=fire", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fissues%3Fq%3Dfire"


def test_an_issue_page_without_a_session_shows_nothing_of_the_issue(console: Console) -> None:
    number = open_issue(console)
    response = console.client.get(f"/issues/{number}")
    assert response.url.path == "/signin"
    assert "Printer on fire" not in response.text


def test_signing_in_returns_to_the_page_asked_for(console: Console) -> None:
    page = console.client.get("/signin?next=/report")
    response = console.client.post(
        "/signin",
        data={
            "csrf_token": csrf_of(page.text),
            "address": AGENT,
            "password": PASSWORD,
            "next": "/report",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/report"


def test_signing_in_never_redirects_off_the_site(console: Console) -> None:
    page = console.client.get("/signin")
    response = console.client.post(
        "/signin",
        data={
            "csrf_token": csrf_of(page.text),
            "address": AGENT,
            "password": PASSWORD,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/issues"


def test_a_wrong_password_signs_nobody_in(console: Console) -> None:
    page = console.client.get("/signin")
    response = console.client.post(
        "/signin",
        data={"csrf_token": csrf_of(page.text), "address": AGENT, "password": "wrong password!"},
    )
    assert response.status_code == 401
    assert "do not match" in response.text
    assert console.client.get("/issues", follow_redirects=False).status_code == 303


def test_an_unknown_address_is_refused_like_a_wrong_password(console: Console) -> None:
    page = console.client.get("/signin")
    response = console.client.post(
        "/signin",
        data={"csrf_token": csrf_of(page.text), "address": "eve@x.test", "password": PASSWORD},
    )
    assert response.status_code == 401


def fail_sign_in(console: Console, address: str = AGENT) -> int:
    page = console.client.get("/signin")
    return console.client.post(
        "/signin",
        data={"csrf_token": csrf_of(page.text), "address": address, "password": "wrong guess!"},
    ).status_code


def test_five_failed_sign_ins_lock_the_address_for_fifteen_minutes(console: Console) -> None:
    assert [fail_sign_in(console) for _ in range(SIGN_IN_FAILURES)] == [401] * SIGN_IN_FAILURES
    assert fail_sign_in(console) == 429
    page = console.client.get("/signin")
    refused = console.client.post(
        "/signin",
        data={"csrf_token": csrf_of(page.text), "address": AGENT, "password": PASSWORD},
    )
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.text
    console.clock.advance(SIGN_IN_WINDOW - timedelta(seconds=1))
    assert fail_sign_in(console) == 429
    console.clock.advance(timedelta(seconds=1))
    console.sign_in()
    assert console.client.get("/issues", follow_redirects=False).status_code == 200


def test_four_failed_sign_ins_do_not_lock(console: Console) -> None:
    for _ in range(SIGN_IN_FAILURES - 1):
        fail_sign_in(console)
    console.sign_in()
    assert console.client.get("/issues", follow_redirects=False).status_code == 200


def test_failed_sign_ins_of_one_address_do_not_lock_another(console: Console) -> None:
    for _ in range(SIGN_IN_FAILURES):
        fail_sign_in(console, "eve@x.test")
    assert fail_sign_in(console, "EVE@x.test") == 429
    console.sign_in()
    assert console.client.get("/issues", follow_redirects=False).status_code == 200


def test_signing_in_without_the_csrf_token_is_forbidden(console: Console) -> None:
    console.client.get("/signin")
    response = console.client.post("/signin", data={"address": AGENT, "password": PASSWORD})
    assert response.status_code == 403
    assert console.client.get("/issues", follow_redirects=False).status_code == 303


def test_a_session_ends_after_its_lifetime(agent: Console) -> None:
    lifetime = agent.settings.session_lifetime.total_seconds()
    agent.wall.now += lifetime
    assert agent.client.get("/issues", follow_redirects=False).status_code == 200
    agent.wall.now += 1
    assert agent.client.get("/issues", follow_redirects=False).status_code == 303


def test_a_tampered_session_cookie_signs_nobody_in(agent: Console) -> None:
    cookie = agent.client.cookies["issuecore_session"]
    payload, signature = cookie.rsplit(".", 1)
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    agent.client.cookies.clear()
    agent.client.cookies.set("issuecore_session", forged)
    assert agent.client.get("/issues", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_session(agent: Console) -> None:
    response = agent.client.post("/signout", data={"csrf_token": agent.csrf()})
    assert response.url.path == "/signin"
    assert agent.client.get("/issues", follow_redirects=False).status_code == 303


# --- CSRF on every change -----------------------------------------------------------------


def test_a_reply_without_the_csrf_token_is_forbidden_and_changes_nothing(agent: Console) -> None:
    number = open_issue(agent)
    response = agent.client.post(f"/issues/{number}/reply", data={"body": "Hi"})
    assert response.status_code == 403
    assert agent.desk.get(number).status == Status.OPEN
    assert agent.mailer.sent == []


def test_a_wrong_csrf_token_is_forbidden(agent: Console) -> None:
    number = open_issue(agent)
    response = agent.client.post(
        f"/issues/{number}/act", data={"csrf_token": "x" * 43, "action": "close"}
    )
    assert response.status_code == 403
    assert agent.desk.get(number).status == Status.OPEN


def test_another_sessions_csrf_token_is_forbidden(agent: Console, tmp_path: object) -> None:
    number = open_issue(agent)
    token = agent.csrf()
    agent.client.post("/signout", data={"csrf_token": token})
    agent.sign_in()
    response = agent.client.post(
        f"/issues/{number}/act", data={"csrf_token": token, "action": "close"}
    )
    assert response.status_code == 403


def test_every_post_route_demands_the_csrf_token(agent: Console) -> None:
    number = open_issue(agent)
    paths = [
        f"/issues/{number}/{name}"
        for name in ("reply", "note", "assign", "unassign", "priority", "reset-sla", "act")
    ] + ["/outbox/x/retry", "/signout"]
    for path in paths:
        assert agent.client.post(path, data={"body": "x"}).status_code == 403, path


# --- the issue page and its actions -------------------------------------------------------


def test_a_reply_mails_the_customer_and_waits_for_them(agent: Console) -> None:
    number = open_issue(agent)
    page = agent.post(f"/issues/{number}/reply", {"body": "We are on our way."})
    assert agent.desk.get(number).status == Status.WAITING_FOR_REPLY
    assert '<dd id="status">Waiting for Reply</dd>' in page
    assert "Reply sent." in page
    assert [str(m["To"]) for m in agent.mailer.sent] == ["ana@customer.test"]
    assert "We are on our way." in page


def test_an_empty_reply_is_refused(agent: Console) -> None:
    number = open_issue(agent)
    page = agent.post(f"/issues/{number}/reply", {"body": "   "})
    assert "Refused: the reply is empty" in page
    assert agent.desk.get(number).status == Status.OPEN


def test_a_note_is_kept_and_mailed_to_nobody(agent: Console) -> None:
    number = open_issue(agent)
    page = agent.post(f"/issues/{number}/note", {"body": "Call the fire brigade."})
    assert "Call the fire brigade." in page
    assert agent.mailer.sent == []


def test_assigning_and_unassigning(agent: Console) -> None:
    number = open_issue(agent)
    page = agent.post(f"/issues/{number}/assign", {"assignee": "cleo@example.com"})
    assert '<dd id="assignees">cleo@example.com</dd>' in page
    page = agent.post(f"/issues/{number}/unassign", {"assignee": "cleo@example.com"})
    assert '<dd id="assignees">-</dd>' in page


def test_changing_the_priority_moves_the_deadline(agent: Console) -> None:
    number = open_issue(agent)
    page = agent.post(f"/issues/{number}/priority", {"priority": "Urgent"})
    assert '<dd id="priority">Urgent</dd>' in page
    assert agent.desk.get(number).sla.response_by == START + timedelta(hours=1)


def test_an_unknown_priority_is_refused_with_the_known_ones(agent: Console) -> None:
    number = open_issue(agent)
    page = agent.post(f"/issues/{number}/priority", {"priority": "P0"})
    assert "Refused:" in page
    assert "Urgent" in page
    assert agent.desk.get(number).priority == "Medium"


def test_hold_resolve_close_and_reopen_follow_the_workflow(agent: Console) -> None:
    number = open_issue(agent)
    for action, status in (
        ("hold", Status.ON_HOLD),
        ("resolve", Status.RESOLVED),
        ("close", Status.CLOSED),
        ("reopen", Status.OPEN),
    ):
        page = agent.post(f"/issues/{number}/act", {"action": action, "reason": f"why {action}"})
        assert agent.desk.get(number).status == status
        assert f'<dd id="status">{status}</dd>' in page
    assert "why hold" in page


def test_the_issue_page_offers_only_the_actions_the_workflow_allows(agent: Console) -> None:
    number = open_issue(agent)
    page = agent.client.get(f"/issues/{number}").text
    buttons = set(re.findall(r'name="action" value="([^"]+)"', page))
    assert buttons == {"close", "hold", "resolve"}


def test_an_action_the_workflow_refuses_is_refused(agent: Console) -> None:
    number = open_issue(agent)
    page = agent.post(f"/issues/{number}/act", {"action": "reopen"})
    assert "Refused: can&#39;t reopen when in Open" in page
    assert agent.desk.get(number).status == Status.OPEN


def test_the_desk_only_actions_cannot_be_posted(agent: Console) -> None:
    number = open_issue(agent)
    agent.post(f"/issues/{number}/reply", {"body": "Answer"})
    page = agent.post(f"/issues/{number}/act", {"action": "auto_close"})
    assert "Refused: can&#39;t auto_close" in page
    assert agent.desk.get(number).status == Status.WAITING_FOR_REPLY


def test_resetting_the_sla_needs_and_keeps_a_reason(agent: Console) -> None:
    number = open_issue(agent)
    agent.clock.advance(timedelta(hours=2))
    page = agent.post(f"/issues/{number}/reset-sla", {"reason": ""})
    assert "Refused: the reason is empty" in page
    page = agent.post(f"/issues/{number}/reset-sla", {"reason": "customer sent new logs"})
    assert "customer sent new logs" in page
    assert agent.desk.get(number).sla.reset_reason == "customer sent new logs"


def test_the_sla_table_shows_each_target_with_time_left(agent: Console) -> None:
    number = open_issue(agent)
    agent.clock.advance(timedelta(hours=3))
    page = agent.client.get(f"/issues/{number}").text
    response = re.search(r'id="target-response">(.*?)</tr>', page, re.S)
    assert response is not None
    assert '<td class="left">5h business, 5h calendar</td>' in response[1]
    assert "2026-03-02 18:00" in response[1]  # 17:00 UTC shown in Berlin time
    resolution = re.search(r'id="target-resolution">(.*?)</tr>', page, re.S)
    assert resolution is not None
    assert "69h business" in resolution[1]


def test_an_unknown_issue_is_a_404(agent: Console) -> None:
    response = agent.client.get("/issues/ISS-2099-99999")
    assert response.status_code == 404
    assert "ISS-2099-99999" in response.text


# --- mail content is text, never markup ---------------------------------------------------

HOSTILE_SUBJECT = '<script>alert("s")</script> "quoted" & <b>bold</b>'
HOSTILE_BODY = (
    'Click <a href="javascript:alert(1)">here</a>\n'
    '<img src=x onerror="alert(2)">\n'
    "<svg onload=alert(3)></svg>\n"
)


def test_hostile_mail_renders_as_inert_text(agent: Console) -> None:
    outcome = agent.desk.receive(mail(HOSTILE_SUBJECT, HOSTILE_BODY))
    number = outcome.issue_number
    assert number is not None
    for path in ("/issues", f"/issues/{number}"):
        page = agent.client.get(path).text
        assert "<script>" not in page
        assert "<img" not in page
        assert "<svg" not in page
        assert 'href="javascript:' not in page
        assert "&lt;script&gt;alert(&#34;s&#34;)&lt;/script&gt;" in page
    page = agent.client.get(f"/issues/{number}").text
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in page


def test_quoted_text_is_folded_away(agent: Console) -> None:
    body = (
        "Still broken.\n\nOn Mon, 2 Mar 2026 at 09:00, Ben <ben@example.com> wrote:\n"
        "> Try turning it off.\n> And on again.\n"
    )
    number = agent.desk.receive(mail("Broken", body)).issue_number
    page = agent.client.get(f"/issues/{number}").text
    shown = re.search(r'<pre class="body">(.*?)</pre>', page, re.S)
    assert shown is not None
    assert "Try turning it off" not in shown[1]
    assert "<details><summary>Show quoted text</summary>" in page
    assert "&gt; Try turning it off." in page


# --- attachments ----------------------------------------------------------------------------


def test_an_attachment_downloads_as_a_file_with_a_safe_name(agent: Console) -> None:
    hostile = ("../../<evil> name.html", "text/html", b"<script>alert(1)</script>")
    number = agent.desk.receive(mail("Logs", attachment=hostile)).issue_number
    page = agent.client.get(f"/issues/{number}").text
    link = re.search(r'href="(/issues/[^"]+/attachments/0)"', page)
    assert link is not None
    response = agent.client.get(link[1])
    assert response.status_code == 200
    assert response.content == b"<script>alert(1)</script>"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    name = re.search(r'filename="([^"]*)"', disposition)
    assert name is not None
    assert re.fullmatch(r"[A-Za-z0-9._-]+", name[1])
    assert name[1].endswith(".html")
    assert ".." not in name[1]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_attachment_that_does_not_exist_is_a_404(agent: Console) -> None:
    number = open_issue(agent)
    response = agent.client.get(f"/issues/{number}/entries/0/attachments/3")
    assert response.status_code == 404
    response = agent.client.get(f"/issues/{number}/entries/7/attachments/0")
    assert response.status_code == 404


# --- headers --------------------------------------------------------------------------------


def test_every_response_carries_the_strict_headers(agent: Console) -> None:
    number = open_issue(agent)
    for path in ("/signin", "/issues", f"/issues/{number}", "/report", "/static/console.css"):
        headers = agent.client.get(path).headers
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy, path
        assert "default-src 'none'" in policy
        assert "unsafe-inline" not in policy
        assert "script-src" not in policy  # no script from anywhere
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"


def test_pages_are_not_cached(agent: Console) -> None:
    assert agent.client.get("/issues").headers["cache-control"] == "no-store"


def test_the_session_cookie_is_http_only_and_same_site_strict(console: Console) -> None:
    page = console.client.get("/signin")
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
