"""The triage view: open issues by their next deadline, filters, text search, pages, JSON, tick."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import issuecore

AGENT = "ben@brightwater.example"
# The example agreement: Berlin business hours, Medium 8h to respond, at risk in the last 25 %.
AT_RISK_TIME = "2026-03-02T15:30:00+00:00"  # 1h 30m of the 8h left
LATE_TIME = "2026-03-03T09:30:00+00:00"  # 30 minutes past the response deadline


def listed(folder: Path, *args: str, now: str | None = None) -> list[dict[str, Any]]:
    """Return the issues ``list --json ARGS`` prints, in order."""
    options = {} if now is None else {"now": now}
    done = issuecore(folder, "list", "--json", *args, **options)
    assert done.returncode == 0, done.stderr
    issues: list[dict[str, Any]] = json.loads(done.stdout)["issues"]
    return issues


def numbers(issues: list[dict[str, Any]]) -> list[str]:
    return [issue["number"] for issue in issues]


def test_list_shows_only_open_issues_by_default(example_desk_dir: Path) -> None:
    issuecore(example_desk_dir, "close", "ISS-2026-00003")
    issuecore(example_desk_dir, "resolve", "ISS-2026-00004")

    default = numbers(listed(example_desk_dir))
    everything = numbers(listed(example_desk_dir, "--all"))
    closed = numbers(listed(example_desk_dir, "--status", "closed"))

    assert "ISS-2026-00003" not in default
    assert "ISS-2026-00004" not in default
    assert {"ISS-2026-00003", "ISS-2026-00004"} <= set(everything)
    assert len(everything) == len(default) + 2
    assert closed == ["ISS-2026-00003"]


def test_several_statuses_can_be_listed_together(example_desk_dir: Path) -> None:
    issuecore(example_desk_dir, "close", "ISS-2026-00003")
    issuecore(example_desk_dir, "hold", "ISS-2026-00004")

    found = listed(example_desk_dir, "--status", "Closed", "--status", "on hold")

    assert sorted(numbers(found)) == ["ISS-2026-00003", "ISS-2026-00004"]


def test_list_sorts_by_the_next_deadline_with_paused_issues_last(example_desk_dir: Path) -> None:
    issuecore(example_desk_dir, "reply", "ISS-2026-00001", "--body", "On it.")  # response met
    issuecore(example_desk_dir, "hold", "ISS-2026-00002")  # clock paused: no deadline

    found = listed(example_desk_dir, "--limit", "1000")
    deadlines = [issue["next_deadline"] for issue in found]
    running = [d for d in deadlines if d is not None]

    assert running == sorted(running)
    assert deadlines[len(running) :] == [None] * (len(deadlines) - len(running))
    order = numbers(found)
    assert order.index("ISS-2026-00001") > order.index("ISS-2026-00005")  # later deadline
    assert order[-1] == "ISS-2026-00002" or found[-1]["next_deadline"] is None


def test_list_can_sort_by_creation_newest_first(example_desk_dir: Path) -> None:
    order = numbers(listed(example_desk_dir, "--sort", "created", "--descending", "--all"))

    assert order == sorted(order, reverse=True)


def test_at_risk_lists_the_issues_whose_target_is_close(example_desk_dir: Path) -> None:
    issuecore(example_desk_dir, "reply", "ISS-2026-00001", "--body", "On it.")

    before = listed(example_desk_dir, "--at-risk", now="2026-03-02T10:00:00+00:00")
    risky = listed(example_desk_dir, "--at-risk", now=AT_RISK_TIME)

    assert before == []
    assert risky
    assert "ISS-2026-00001" not in numbers(risky)  # answered in time
    assert all(issue["sla"]["response"]["due"] is not None for issue in risky)


def test_breached_lists_the_issues_past_a_deadline(example_desk_dir: Path) -> None:
    issuecore(example_desk_dir, "reply", "ISS-2026-00001", "--body", "On it.")

    in_time = listed(example_desk_dir, "--breached", now=AT_RISK_TIME)
    late = listed(example_desk_dir, "--breached", "--limit", "1000", now=LATE_TIME)

    assert in_time == []
    assert late
    assert "ISS-2026-00001" not in numbers(late)
    assert {issue["sla"]["status"] for issue in late} == {"Failed"}


def test_search_finds_words_of_the_subject_and_of_the_thread(example_desk_dir: Path) -> None:
    in_subject = numbers(listed(example_desk_dir, "--search", "espresso"))
    in_thread = numbers(listed(example_desk_dir, "--search", "drip tray"))
    by_prefix = numbers(listed(example_desk_dir, "--search", "espres*"))
    nowhere = listed(example_desk_dir, "--search", "xylophone")

    assert in_subject == ["ISS-2026-00001"]
    assert in_thread == ["ISS-2026-00001"]  # only Ana's second message says it
    assert by_prefix == ["ISS-2026-00001"]
    assert nowhere == []


def test_a_search_without_a_word_is_one_line_and_exit_1(example_desk_dir: Path) -> None:
    done = issuecore(example_desk_dir, "list", "--search", "!!!")

    assert done.returncode == 1
    assert done.stderr == "issuecore: error: text '!!!' holds no word to search for\n"


def test_pages_follow_each_other_without_gaps_or_repeats(example_desk_dir: Path) -> None:
    everything = numbers(listed(example_desk_dir, "--limit", "1000"))
    seen: list[str] = []
    after: list[str] = []
    for _ in range(10):
        done = issuecore(example_desk_dir, "list", "--json", "--limit", "7", *after)
        page = json.loads(done.stdout)
        seen += numbers(page["issues"])
        if page["next_cursor"] is None:
            break
        after = ["--after", page["next_cursor"]]

    assert seen == everything
    assert len(everything) > 7


def test_the_text_list_names_the_cursor_of_the_next_page(example_desk_dir: Path) -> None:
    first = issuecore(example_desk_dir, "list", "--limit", "2")
    cursor = first.stdout.splitlines()[-1].rsplit(" ", 1)[1]
    second = issuecore(example_desk_dir, "list", "--limit", "2", "--after", cursor)

    assert first.stdout.splitlines()[-1].startswith("more: the same command with --after ")
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[1].startswith("ISS-2026-00003")


def test_a_cursor_of_another_sort_is_one_line_and_exit_1(example_desk_dir: Path) -> None:
    page = json.loads(issuecore(example_desk_dir, "list", "--json", "--limit", "2").stdout)

    done = issuecore(example_desk_dir, "list", "--sort", "created", "--after", page["next_cursor"])

    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1
    assert "start again without a cursor" in done.stderr


def test_show_json_holds_the_issue_thread_and_history(example_desk_dir: Path) -> None:
    done = issuecore(example_desk_dir, "show", "ISS-2026-00001", "--json")

    shown = json.loads(done.stdout)
    assert shown["number"] == "ISS-2026-00001"
    assert shown["subject"] == "Espresso machine leaks water"
    assert shown["sla"]["response"]["due"] == "2026-03-03T09:00:00+00:00"
    assert shown["thread"][0]["author"] == "ana@fjordline.example"
    assert "drip tray" in shown["thread"][1]["text"]
    assert shown["history"][0]["action"] == "open"


def test_tick_names_the_issues_it_put_at_risk(example_desk_dir: Path) -> None:
    issuecore(example_desk_dir, "reply", "ISS-2026-00001", "--body", "On it.")

    done = issuecore(example_desk_dir, "tick", "--json", now=AT_RISK_TIME)

    report = json.loads(done.stdout)
    at_risk = {alert["number"] for alert in report["at_risk"]}
    assert at_risk == set(
        numbers(listed(example_desk_dir, "--at-risk", "--limit", "1000", now=AT_RISK_TIME))
    )
    assert "ISS-2026-00001" not in at_risk
    assert report["breached"] == []
    text = issuecore(example_desk_dir, "tick", now=AT_RISK_TIME).stdout
    assert "at risk      0" in text  # each target is reported once


def test_a_late_tick_names_breaches_without_the_at_risk_due_before_them(
    example_desk_dir: Path,
) -> None:
    done = issuecore(example_desk_dir, "tick", "--json", now=LATE_TIME)

    report = json.loads(done.stdout)
    breached = [alert for alert in report["breached"] if alert["target"] == "response"]
    assert {alert["number"] for alert in breached} >= {"ISS-2026-00001", "ISS-2026-00002"}
    assert report["at_risk"] == []
    text = issuecore(example_desk_dir, "tick", now="2026-03-09T12:00:00+00:00").stdout
    assert "  ISS-2026-00001  resolution was due 2026-03-09 11:00" in text


def test_tick_names_the_issues_it_auto_closed(example_desk_dir: Path) -> None:
    issuecore(example_desk_dir, "reply", "ISS-2026-00015", "--body", "Cancelled.")

    done = issuecore(example_desk_dir, "tick", "--json", now="2026-03-09T09:00:01Z")

    assert json.loads(done.stdout)["closed"] == ["ISS-2026-00015"]


@pytest.mark.parametrize("flag", ["--at-risk", "--breached"])
def test_agreement_filters_combine_with_a_status(example_desk_dir: Path, flag: str) -> None:
    found = listed(example_desk_dir, flag, "--status", "Closed", now=LATE_TIME)

    assert found == []


def test_a_bare_number_names_the_issue_of_this_year_or_the_year_before(desk_dir: Path) -> None:
    this_year = issuecore(desk_dir, "show", "3")
    next_january = issuecore(desk_dir, "show", "0003", now="2027-01-05T09:00:00+00:00")
    two_years_on = issuecore(desk_dir, "show", "3", now="2028-01-05T09:00:00+00:00")

    assert this_year.stdout.startswith("ISS-2026-00003  Grinder makes loud noise")
    assert next_january.stdout.startswith("ISS-2026-00003  Grinder makes loud noise")
    assert two_years_on.returncode == 1
    assert two_years_on.stderr == (
        "issuecore: error: no issue 3 this year or last (ISS-2028-00003 or ISS-2027-00003); "
        "give the number as `issuecore list` shows it\n"
    )


def test_a_bare_number_is_taken_by_every_command_naming_an_issue(desk_dir: Path) -> None:
    done = issuecore(desk_dir, "hold", "2", "--by", AGENT)

    assert done.stdout == "ISS-2026-00002 is On Hold\n"
    assert issuecore(desk_dir, "show", "0").returncode == 2
