"""An agreement's condition written in the TOML configuration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from issuecore._workflow import open_issue
from issuecore.config import parse_config
from issuecore.errors import ConfigError

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOML = """
[[agreements]]
name = "Critical 24h"
default_priority = "Urgent"

[agreements.condition]
issue_types = ["Critical"]
priorities = ["Urgent", "High"]
references = { contract = ["C-1", "C-2"] }
fields = { tier = "gold", vip = true }

[agreements.targets.Urgent]
response = "1h"
"""


def test_a_condition_is_read_from_the_configuration() -> None:
    (agreement,) = parse_config(TOML).agreements
    condition = agreement.condition
    assert condition is not None
    assert condition.issue_types == frozenset({"Critical"})
    assert condition.priorities == frozenset({"Urgent", "High"})
    assert condition.references == {"contract": frozenset({"C-1", "C-2"})}
    assert condition.fields == {"tier": frozenset({"gold"}), "vip": frozenset({True})}
    issue = open_issue(
        number="A",
        subject="s",
        raised_by="a@b.test",
        at=AT,
        priority="Urgent",
        issue_type="Critical",
        references={"contract": "C-2"},
        fields={"tier": "gold", "vip": True},
    ).issue
    assert agreement.covers(issue)


@pytest.mark.parametrize(
    ("condition", "key"),
    [
        ('issue_types = "Critical"', "agreements[0].condition.issue_types"),
        ("colour = 1", "agreements[0].condition.colour"),
        ("fields = { tier = { a = 1 } }", "agreements[0].condition.fields.tier"),
    ],
)
def test_a_wrong_condition_names_its_key(condition: str, key: str) -> None:
    text = TOML.replace(
        'issue_types = ["Critical"]\npriorities = ["Urgent", "High"]\n'
        'references = { contract = ["C-1", "C-2"] }\nfields = { tier = "gold", vip = true }',
        condition,
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert caught.value.key == key
