"""Configuration, init, defaults, the signing-key file, bad arguments and exit codes."""

from __future__ import annotations

import stat
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from cli_support import EXAMPLE_CONFIG, MAILBOX, issuecore

from issuecore._sla.calendar import BusinessCalendar
from issuecore.config import (
    DEFAULT_AGREEMENT,
    config_template,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
)
from issuecore.errors import ConfigError
from issuecore.mail._signing import verify_message_id

ONE_MESSAGE = b"From: Ana <ana@example.org>\nSubject: Hello\nMessage-ID: <1@example.org>\n\nHi\n"


def test_without_a_file_the_defaults_make_a_sqlite_file_a_key_file_and_a_maildir_outbox(
    tmp_path: Path,
) -> None:
    (tmp_path / "one.eml").write_bytes(ONE_MESSAGE)

    done = issuecore(tmp_path, "ingest", "one.eml")

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "issuecore.db").is_file()
    key_file = tmp_path / "issuecore.db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(bytes.fromhex(key_file.read_text().strip())) == 32
    (reply,) = (tmp_path / "outbox" / "new").iterdir()
    message = message_from_bytes(reply.read_bytes(), policy=default_policy)
    assert message["From"] == "support@localhost"


def test_the_key_file_is_reused_so_message_ids_stay_verifiable_across_runs(
    tmp_path: Path,
) -> None:
    (tmp_path / "one.eml").write_bytes(ONE_MESSAGE)
    issuecore(tmp_path, "ingest", "one.eml")
    key = (tmp_path / "issuecore.db.key").read_text()

    issuecore(
        tmp_path, "reply", "ISS-2026-00001", "--body", "Hello Ana", "--author", "ben@example.org"
    )

    assert (tmp_path / "issuecore.db.key").read_text() == key
    signing_key = bytes.fromhex(key.strip())
    for path in (tmp_path / "outbox" / "new").iterdir():
        message = message_from_bytes(path.read_bytes(), policy=default_policy)
        signed = verify_message_id(str(message["Message-ID"]), key=signing_key)
        assert signed.valid
        assert signed.issue_number == "ISS-2026-00001"


def test_a_reply_to_our_mail_finds_its_issue_in_a_later_run_by_the_signed_id(
    tmp_path: Path,
) -> None:
    (tmp_path / "one.eml").write_bytes(ONE_MESSAGE)
    issuecore(tmp_path, "ingest", "one.eml")
    (auto_reply,) = (tmp_path / "outbox" / "new").iterdir()
    our_id = str(message_from_bytes(auto_reply.read_bytes(), policy=default_policy)["Message-ID"])
    (tmp_path / "two.eml").write_bytes(
        b"From: Ana <ana@example.org>\nSubject: Thanks\nMessage-ID: <2@example.org>\n"
        + f"In-Reply-To: {our_id}\n\nThanks!\n".encode()
    )

    done = issuecore(tmp_path, "ingest", "--verbose", "two.eml")

    assert done.stdout.startswith("appended     ISS-2026-00001")


def test_init_writes_a_commented_file_that_reads_back_with_a_signing_key(tmp_path: Path) -> None:
    done = issuecore(tmp_path, "init", "--support-address", "help@brightwater.example")

    assert done.returncode == 0, done.stderr
    text = (tmp_path / "issuecore.toml").read_text()
    assert text.startswith("# issuecore.toml")
    config = load_config(tmp_path / "issuecore.toml")
    assert config.support_address == "help@brightwater.example"
    assert config.signing_key is not None
    assert len(config.signing_key) == 32
    assert (tmp_path / "issuecore.db").is_file()
    assert (tmp_path / "outbox" / "new").is_dir()
    assert not (tmp_path / "issuecore.db.key").exists()  # the file holds the key


def test_init_refuses_to_overwrite_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "issuecore.toml").write_text('support_address = "a@example.org"\n')

    done = issuecore(tmp_path, "init")

    assert done.returncode == 1
    assert "exists already; use --force" in done.stderr
    assert (tmp_path / "issuecore.toml").read_text() == 'support_address = "a@example.org"\n'


def test_db_option_overrides_the_database_of_the_file(tmp_path: Path) -> None:
    (tmp_path / "one.eml").write_bytes(ONE_MESSAGE)

    done = issuecore(tmp_path, "--db", "other.db", "ingest", "one.eml")

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "other.db").is_file()
    assert (tmp_path / "other.db.key").is_file()
    assert not (tmp_path / "issuecore.db").exists()


def test_a_db_option_naming_a_file_that_is_not_sqlite_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("shopping list")

    done = issuecore(tmp_path, "--db", "notes.txt", "list")

    assert done.returncode == 2
    assert "issuecore: error: --db: cannot open notes.txt as SQLite: file is not a database" in (
        done.stderr
    )


def test_relative_paths_in_the_file_are_taken_from_its_folder(tmp_path: Path) -> None:
    settings = tmp_path / "etc"
    settings.mkdir()
    (settings / "desk.toml").write_text('database = "desk.db"\n[outbox]\nmaildir = "sent"\n')
    (tmp_path / "one.eml").write_bytes(ONE_MESSAGE)

    done = issuecore(tmp_path, "--config", "etc/desk.toml", "ingest", "one.eml")

    assert done.returncode == 0, done.stderr
    assert (settings / "desk.db").is_file()
    assert (settings / "sent" / "new").is_dir()


def test_the_example_configuration_ingests_the_example_mailbox(tmp_path: Path) -> None:
    (tmp_path / "issuecore.toml").write_bytes(EXAMPLE_CONFIG.read_bytes())

    done = issuecore(tmp_path, "ingest", str(MAILBOX))

    assert done.returncode == 0, done.stderr
    assert "total           50" in done.stdout
    assert "times in Europe/Berlin" in issuecore(tmp_path, "list").stdout


BAD_CONFIGURATIONS = [
    pytest.param(
        '[[agreements]]\nname = "S"\n[agreements.targets.High]\nresponse = "4 hours"\n',
        'agreements[0].targets.High.response: "4 hours" is not a duration; '
        'write e.g. "4h", "30m", "2d"',
        id="duration",
    ),
    pytest.param(
        'support_adress = "a@example.org"\n',
        "support_adress: unknown key; known here: support_address,",
        id="unknown-key",
    ),
    pytest.param(
        '[smtp]\nhots = "mail.example.org"\n', "smtp.hots: unknown key", id="unknown-nested-key"
    ),
    pytest.param('agents = "ben@example.org"\n', "agents: must be a list of strings", id="type"),
    pytest.param(
        'support_address = "not an address"\n',
        'support_address: "not an address" is not an address',
        id="address",
    ),
    pytest.param(
        'auto_close_after = "a week"\n', 'auto_close_after: "a week" is not a duration', id="off"
    ),
    pytest.param(
        '[mail]\nstranger_policy = "welcome"\n',
        'mail.stranger_policy: "welcome" is not usable',
        id="policy",
    ),
    pytest.param('[mail]\nreopen_within = "14 days"\n', "mail.reopen_within:", id="mail-duration"),
    pytest.param(
        '[[agreements]]\nname = "S"\ntargets = { High = { response = "4h" } }\n'
        '[agreements.calendar]\ntimezone = "Europe/Berlinn"\nhours = {}\n',
        'agreements[0].calendar.timezone: "Europe/Berlinn" is not a known time zone',
        id="timezone",
    ),
    pytest.param(
        '[[agreements]]\nname = "S"\ntargets = { High = { response = "4h" } }\n'
        '[agreements.calendar]\ntimezone = "UTC"\nhours = { wed = [["09:00", "25:00"]] }\n',
        "agreements[0].calendar.hours.wed: invalid time '25:00'",
        id="hours",
    ),
    pytest.param(
        '[[agreements]]\nname = "S"\ntargets = { High = { response = "4h" } }\n'
        '[agreements.calendar]\ntimezone = "UTC"\nhours = { mon = [["09:00", "17:00"]] }\n'
        'holidays = ["2026-02-30"]\n',
        'agreements[0].calendar.holidays[0]: "2026-02-30" is not a date',
        id="holiday",
    ),
    pytest.param(
        '[[agreements]]\nname = "A"\ndefault = true\ntargets = { High = { response = "4h" } }\n'
        '[[agreements]]\nname = "B"\ndefault = true\ntargets = { High = { response = "4h" } }\n',
        "agreements: at most one agreement may be the default",
        id="two-defaults",
    ),
    pytest.param(
        '[[agreements]]\nname = "S"\ndefault_priority = "Normal"\n'
        'targets = { High = { response = "4h" } }\n',
        'agreements[0].default_priority: "Normal" has no target; known: High',
        id="default-priority",
    ),
    pytest.param(
        'signing_key = "abc"\n', "signing_key: must be at least 32 hexadecimal digits", id="key"
    ),
    pytest.param(
        'database = "oracle://db/issues"\n',
        'database: "oracle://db/issues" is not a supported URL',
        id="database-url",
    ),
    pytest.param(
        '[outbox]\nmaildir = "out"\n[smtp]\nhost = "mail.example.org"\n',
        "smtp: give either [outbox] or [smtp], not both",
        id="outbox-and-smtp",
    ),
    pytest.param("support_address = \n", "is not valid TOML", id="syntax"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGURATIONS)
def test_bad_configuration_exits_2_with_an_error_naming_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "issuecore.toml").write_text(text)

    done = issuecore(tmp_path, "list")

    assert done.returncode == 2
    assert f"issuecore: error: issuecore.toml: {message}" in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "issuecore.db").exists()


def test_fetch_without_an_imap_section_names_the_missing_section(tmp_path: Path) -> None:
    done = issuecore(tmp_path, "fetch")

    assert done.returncode == 2
    assert "issuecore.toml: imap: missing; fetch needs an [imap] section" in done.stderr


def test_fetch_with_a_password_variable_that_is_not_set_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "issuecore.toml").write_text(
        '[imap]\nhost = "imap.example.org"\nusername = "support"\n'
        'password_env = "ISSUECORE_TEST_UNSET_PASSWORD"\n'
    )

    done = issuecore(tmp_path, "fetch")

    assert done.returncode == 2
    assert (
        "imap.password_env: the environment variable ISSUECORE_TEST_UNSET_PASSWORD is not set"
        in done.stderr
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["frobnicate"], "'frobnicate' is not a command; known: init, ingest"),
        (["show"], "the following arguments are required: NUMBER"),
        (["list", "--limit", "many"], "argument --limit: expected a whole number from 1 to"),
        (["reply", "ISS-1", "--body", "a", "--body-file", "b"], "not allowed with argument"),
        (["reset-sla", "ISS-1", "--by", "ben"], "the following arguments are required: --reason"),
    ],
)
def test_bad_arguments_exit_2_with_the_problem_on_stderr(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = issuecore(tmp_path, *args)

    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("value", ["yesterday", "2026-03-02T09:00:00"])
def test_a_bad_fixed_clock_is_a_usage_error(tmp_path: Path, value: str) -> None:
    done = issuecore(tmp_path, "list", now=value)

    assert done.returncode == 2
    assert "ISSUECORE_NOW=" in done.stderr


# --- the configuration module itself ------------------------------------------------------


def test_an_empty_file_gives_the_defaults() -> None:
    config = parse_config("")

    assert config.support_address == "support@localhost"
    assert config.database == "issuecore.db"
    assert config.outbox_maildir == "outbox"
    assert config.auto_close_after == timedelta(days=7)
    assert config.agreements == (DEFAULT_AGREEMENT,)
    assert config.signing_key is None


def test_auto_close_after_false_turns_auto_close_off() -> None:
    assert parse_config("auto_close_after = false").auto_close_after is None


def test_an_empty_agreements_list_turns_slas_off() -> None:
    assert parse_config("agreements = []").agreements == ()


def test_the_template_reads_back_as_the_defaults_with_its_key() -> None:
    config = parse_config(config_template(signing_key=b"k" * 32))

    assert config.signing_key == b"k" * 32
    assert config.agreements == (DEFAULT_AGREEMENT,)
    assert config.mail == {}
    assert config.smtp is None


def test_an_agreement_with_a_calendar_counts_business_time() -> None:
    config = parse_config(EXAMPLE_CONFIG.read_text())

    (agreement,) = config.agreements
    assert isinstance(agreement.calendar, BusinessCalendar)
    assert agreement.targets["High"].resolution == timedelta(hours=16)
    assert agreement.targets["Low"].resolution is None
    assert agreement.at_risk is not None
    assert agreement.at_risk.fraction == 0.25
    assert config.desk_settings(b"k" * 32).agents == frozenset(
        {"ben@brightwater.example", "mia@brightwater.example"}
    )


def test_config_error_carries_the_key_and_the_source() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('timezone = "Nowhere/City"', source="desk.toml")

    assert caught.value.key == "timezone"
    assert caught.value.source == "desk.toml"
    assert str(caught.value).startswith("desk.toml: timezone: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4h", timedelta(hours=4)),
        ("30m", timedelta(minutes=30)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 90S ", timedelta(seconds=90)),
    ],
)
def test_durations_are_read_from_short_forms(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "4", "4 hours", "h4", "-1h", "1.5h"])
def test_other_duration_spellings_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_business_durations_are_formatted_in_hours_and_calendar_ones_in_days() -> None:
    assert format_duration(timedelta(hours=40), days=False) == "40h"
    assert format_duration(timedelta(hours=40)) == "1d 16h"
    assert format_duration(-timedelta(minutes=90)) == "-1h 30m"
    assert format_duration(timedelta(0)) == "0s"


HOLIDAY_CALENDAR = """
[[agreements]]
name = "Bavaria"
[agreements.calendar]
timezone = "Europe/Berlin"
holidays = {{ country = "DE", subdivision = "{subdivision}"{extra} }}
hours = {{ mon = [["09:00", "17:00"]], tue = [["09:00", "17:00"]], wed = [["09:00", "17:00"]] }}
[agreements.targets.High]
response = "4h"
"""


def test_country_holidays_come_from_the_toml() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from issuecore.config import parse_config

    berlin = ZoneInfo("Europe/Berlin")
    bavaria = parse_config(HOLIDAY_CALENDAR.format(subdivision="BY", extra=""))
    berlin_state = parse_config(HOLIDAY_CALENDAR.format(subdivision="BE", extra=""))
    extra = parse_config(
        HOLIDAY_CALENDAR.format(subdivision="BE", extra=', dates = ["2027-03-02"]')
    )
    epiphany = datetime(2027, 1, 6, 10, tzinfo=berlin)  # a Wednesday, a holiday in Bavaria only
    calendar = bavaria.agreements[0].business_time

    assert not calendar.is_open(epiphany)
    assert berlin_state.agreements[0].business_time.is_open(epiphany)
    assert calendar.is_open(datetime(2027, 12, 28, 10, tzinfo=berlin))  # an ordinary Tuesday
    assert not calendar.is_open(datetime(2040, 12, 25, 10, tzinfo=berlin))  # years ahead too
    assert not extra.agreements[0].business_time.is_open(datetime(2027, 3, 2, 10, tzinfo=berlin))


@pytest.mark.parametrize(
    ("holidays", "message"),
    [
        ('{ country = "XX" }', "no public holidays known for 'XX'"),
        ('{ subdivision = "BY" }', "holidays.country: is required"),
        ('{ country = "DE", region = "BY" }', "holidays.region: unknown key"),
        ('"DE"', 'must be a list of dates or a table like { country = "DE"'),
    ],
)
def test_wrong_country_holidays_name_the_key(tmp_path: Path, holidays: str, message: str) -> None:
    text = HOLIDAY_CALENDAR.format(subdivision="BY", extra="").replace(
        '{ country = "DE", subdivision = "BY" }', holidays
    )
    (tmp_path / "issuecore.toml").write_text(text)

    done = issuecore(tmp_path, "list")

    assert done.returncode == 2
    assert done.stderr.startswith("issuecore: error: issuecore.toml: agreements[0].calendar.")
    assert message in done.stderr
    assert len(done.stderr.splitlines()) == 1
