"""Any query string, path or form the console receives is answered, never a server error."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_support import Console, account_settings, build_console

PARAMETERS = st.sampled_from(["status", "priority", "sla", "assignee", "q", "after", "x"])
VALUES = st.text(max_size=40)
QUIET = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@QUIET
@given(st.lists(st.tuples(PARAMETERS, VALUES), max_size=6))
def test_any_inbox_query_is_answered(pairs: list[tuple[str, str]]) -> None:
    response = CONSOLE.client.get("/issues?" + urlencode(pairs))
    assert response.status_code in (200, 400)
    assert "<script" not in response.text


@QUIET
@given(st.text(min_size=1, max_size=40))
def test_any_issue_number_is_answered(number: str) -> None:
    response = CONSOLE.client.get("/issues/" + quote(number, safe=""))
    assert response.status_code in (200, 404)
    attachment = CONSOLE.client.get(
        "/issues/" + quote(number, safe="") + "/entries/0/attachments/0"
    )
    assert attachment.status_code == 404


@QUIET
@given(
    st.sampled_from(["reply", "note", "assign", "unassign", "priority", "reset-sla", "act"]),
    st.dictionaries(
        st.sampled_from(["body", "assignee", "priority", "reason", "action"]), VALUES, max_size=4
    ),
)
def test_any_action_form_is_answered(operation: str, form: dict[str, str]) -> None:
    response = CONSOLE.client.post(
        f"/issues/{NUMBER}/{operation}", data={"csrf_token": TOKEN, **form}
    )
    assert response.status_code == 200
    assert response.url.path == f"/issues/{NUMBER}"


@QUIET
@given(st.text(max_size=20), st.lists(st.sampled_from(["priority", "month", "x"]), max_size=3))
def test_any_report_query_is_answered(period: str, by: list[str]) -> None:
    query = urlencode([("period", period), *(("by", d) for d in by)])
    assert CONSOLE.client.get("/report?" + query).status_code in (200, 400)
    assert CONSOLE.client.get("/report/chart.svg?" + query).status_code in (200, 400)


@QUIET
@given(
    st.fixed_dictionaries(
        {
            "name": st.text(max_size=60),
            "address": st.one_of(st.emails(), st.text(max_size=40)),
            "subject": st.text(max_size=60),
            "message": st.text(max_size=200),
        },
        optional={"website": st.text(max_size=10)},
    ),
    st.lists(st.tuples(st.text(max_size=30), st.binary(max_size=200)), max_size=2),
)
def test_any_contact_form_is_answered(form: dict[str, str], files: list[tuple[str, bytes]]) -> None:
    token = CONSOLE.csrf("/contact")
    uploads = [("files", (name or "f", data, "application/octet-stream")) for name, data in files]
    response = CONSOLE.client.post(
        "/contact", data={"csrf_token": token, **form}, files=uploads or None
    )
    assert response.status_code in (200, 400)
    if response.status_code == 200 and not form.get("website"):
        assert 'id="contact-sent"' in response.text


CONSOLE: Console
NUMBER: str
TOKEN: str


def setup_module() -> None:
    """One console for the module: Hypothesis runs each test many times."""
    global CONSOLE, NUMBER, TOKEN, _CONSOLES
    import tempfile

    folder = Path(tempfile.mkdtemp())
    settings = attrs.evolve(account_settings(), contact_form=True, contact_limit=10_000)
    _CONSOLES = build_console(folder, settings=settings)
    CONSOLE = next(_CONSOLES)
    CONSOLE.sign_in()
    NUMBER = CONSOLE.desk.open_issue(subject="x", raised_by="a@x.test", body="b").number
    TOKEN = CONSOLE.csrf()


def teardown_module() -> None:
    _CONSOLES.close()
