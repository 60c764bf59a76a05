"""The console in real headless Chromium: sign in, triage, reply, hold, resolve, search, report.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/install-chromium``);
without them every test here is skipped and says why. The driver is given by
path, so nothing is downloaded. Screenshots of the inbox and an issue page
are written to ``ISSUECORE_SCREENSHOTS`` when that names a folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
import uvicorn
from web_support import (
    AGENT,
    PASSWORD,
    START,
    account_settings,
    add_agent,
    build_desk,
    mail,
)

from issuecore import Status
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.testing import FakeClock, RecordingMailer
from issuecore.web import create_app

CHROMIUM = Path(os.environ.get("ISSUECORE_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("ISSUECORE_CHROMEDRIVER", "/usr/bin/chromedriver"))
_missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]

pytestmark = pytest.mark.skipif(
    bool(_missing),
    reason=f"headless Chromium tests need {' and '.join(_missing)} "
    "(install with: bash .ci/install-chromium)",
)

if not _missing:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

HOSTILE_SUBJECT = '<script>document.title="owned"</script><img src=x onerror="alert(1)">'
HOSTILE_BODY = (
    '<a href="javascript:alert(2)">click</a>\n<b onmouseover="alert(3)">hover</b>\n'
    '<iframe src="javascript:alert(4)"></iframe>\n'
)


class _Server(uvicorn.Server):
    """A uvicorn server that says when it is listening."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()


@attrs.define
class Live:
    url: str
    driver: Any
    store: SQLiteStore
    clock: FakeClock
    mailer: RecordingMailer
    desk: Any
    shots: Path

    def open(self, path: str) -> None:
        self.driver.get(self.url + path)

    def wait_for(self, css: str) -> Any:
        return WebDriverWait(self.driver, 10).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def text(self, css: str) -> str:
        return str(self.driver.find_element(By.CSS_SELECTOR, css).text)

    def submit(self, css: str) -> None:
        """Click ``css`` and wait until the next page has replaced this one."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        self.driver.find_element(By.CSS_SELECTOR, css).click()
        WebDriverWait(self.driver, 10).until(expected_conditions.staleness_of(old))

    def screenshot(self, name: str) -> Path:
        path = self.shots / name
        self.driver.save_screenshot(str(path))
        wanted = os.environ.get("ISSUECORE_SCREENSHOTS")
        if wanted:
            Path(wanted).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(wanted) / name)
        return path


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    store = SQLiteStore(tmp_path / "desk.db")
    clock = FakeClock(START)
    mailer = RecordingMailer()
    desk = build_desk(store, clock, mailer)
    add_agent(store, clock)
    settings = attrs.evolve(account_settings(), contact_form=True)
    app = create_app(desk, settings, zone="Europe/Berlin")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    assert server.listening.wait(10), "the console did not start listening"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    arguments = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage")
    for argument in (*arguments, "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    try:
        yield Live(f"http://127.0.0.1:{port}", driver, store, clock, mailer, desk, shots)
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(10)
        listener.close()
        store.close()


def sign_in(live: Live) -> None:
    live.open("/issues")
    live.wait_for("#address").send_keys(AGENT)
    live.driver.find_element(By.ID, "password").send_keys(PASSWORD)
    live.submit("#signin")
    live.wait_for("table.issues")


def test_an_agent_replies_with_a_file_holds_resumes_and_resolves(live: Live) -> None:
    number = live.desk.receive(
        mail("Printer on fire", "It burns.\n", attachment=("log.txt", "text/plain", b"smoke"))
    ).issue_number
    live.desk.open_issue(subject="Password reset", raised_by="cleo@x.test", body="Locked out")
    late = live.desk.open_issue(
        subject="Shop down", raised_by="dan@x.test", body="500 errors", priority="Urgent"
    ).number
    live.clock.advance(timedelta(hours=2))
    sign_in(live)
    assert live.driver.current_url.endswith("/issues")
    marked = live.driver.find_element(By.XPATH, f"//tr[td/a[text()='{late}']]")
    assert marked.get_attribute("class") == "breached"
    live.screenshot("console-inbox.png")

    live.submit(f"a.issue-link[href$='{number}']")
    assert live.text("#status") == Status.OPEN
    assert "log.txt" in live.text("ul.attachments")
    live.screenshot("console-issue.png")

    live.driver.find_element(By.ID, "reply-body").send_keys("We are on our way.")
    steps = live.shots / "steps.txt"
    steps.write_bytes(b"1. Unplug it.\n")
    live.driver.find_element(By.ID, "reply-files").send_keys(str(steps))
    live.submit("#send-reply")
    assert live.text("#status") == Status.WAITING_FOR_REPLY
    assert "Reply sent." in live.text(".flash")
    assert "met at" in live.text("#target-response")
    reply = live.mailer.sent[-1]
    assert "We are on our way." in reply.get_body(preferencelist=("plain",)).get_content()
    assert [part.get_filename() for part in reply.iter_attachments()] == ["steps.txt"]
    assert "steps.txt" in live.driver.find_elements(By.CSS_SELECTOR, "ul.attachments")[-1].text

    live.submit("#action-hold")
    assert live.text("#status") == Status.ON_HOLD
    assert live.text("#sla-status").endswith("Paused")
    live.submit("#action-resume")
    assert live.text("#status") == Status.OPEN
    live.submit("#action-resolve")
    assert live.text("#status") == Status.RESOLVED
    assert live.desk.get(number).status == Status.RESOLVED


def test_a_visitor_sends_the_contact_form_and_is_acknowledged(live: Live) -> None:
    live.open("/contact")
    live.wait_for("#contact-name").send_keys("Ana Silva")
    for field, value in (
        ("#contact-address", "ana@customer.test"),
        ("#contact-subject", "Where is my order?"),
        ("#contact-message", "Ordered last week."),
    ):
        live.driver.find_element(By.CSS_SELECTOR, field).send_keys(value)
    live.submit("#contact-send")
    assert "We have received your message" in live.text("#contact-sent")
    [issue] = live.desk.find()
    assert (issue.subject, issue.raised_by) == ("Where is my order?", "ana@customer.test")
    [acknowledgement] = live.mailer.sent
    assert str(acknowledgement["To"]) == "ana@customer.test"


def test_search_and_the_report_in_the_browser(live: Live) -> None:
    wanted = live.desk.open_issue(subject="Printer jammed", raised_by="a@x.test", body="b").number
    live.desk.open_issue(subject="Login fails", raised_by="a@x.test", body="b")
    sign_in(live)
    live.driver.find_element(By.ID, "q").send_keys("printer")
    live.submit("#filter")
    links = live.driver.find_elements(By.CSS_SELECTOR, "a.issue-link")
    assert [link.text for link in links] == [wanted]
    live.open("/report?period=2026-03")
    total = live.wait_for("#report-total").text
    assert total.startswith("total 2 0")
    chart = live.driver.find_element(By.CSS_SELECTOR, "img.chart")
    assert live.driver.execute_script("return arguments[0].naturalWidth", chart) > 0


def test_hostile_mail_stays_inert_in_the_browser(live: Live) -> None:
    number = live.desk.receive(mail(HOSTILE_SUBJECT, HOSTILE_BODY)).issue_number
    sign_in(live)
    for path in ("/issues", f"/issues/{number}"):
        live.open(path)
        live.wait_for("main")
        assert live.driver.title != "owned"
        assert live.driver.find_elements(By.CSS_SELECTOR, "main script, main iframe") == []
        assert live.driver.find_elements(By.CSS_SELECTOR, "main img:not(.timeline), main b") == []
        anchors = live.driver.find_elements(By.CSS_SELECTOR, "main a")
        assert all(not (a.get_attribute("href") or "").startswith("javascript:") for a in anchors)
    assert "<script>" in live.text("h1")
    assert '<b onmouseover="alert(3)">hover</b>' in live.text("pre.body")
