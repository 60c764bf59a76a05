"""Reading ``issuecore.toml``: every value checked, every wrong one named by its key."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from issuecore._sla.calendar import BusinessCalendar
from issuecore.config import (
    DEFAULT_AGREEMENT,
    Config,
    config_template,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
)
from issuecore.errors import ConfigError

KEY = "signing_key = '" + "ab" * 16 + "'\n"


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="desk.toml")
    return info.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4h", timedelta(hours=4)), ("1h30m", timedelta(hours=1, minutes=30)),
     (" 2D ", timedelta(days=2)), ("1w 1s", timedelta(weeks=1, seconds=1)),
     ("0m", timedelta(0))],
)  # fmt: skip
def test_durations_are_read(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "  ", "4", "h", "4 hours", "-1h", "1.5h"])
def test_what_is_not_a_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a duration; write e\.g\."):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "days", "shown"),
    [(timedelta(days=2, hours=3, minutes=20), True, "2d 3h 20m"),
     (timedelta(days=2, hours=3, minutes=20), False, "51h 20m"),
     (timedelta(seconds=59), True, "59s"), (timedelta(0), True, "0s"),
     (-timedelta(hours=1), True, "-1h"), (timedelta(days=1), True, "1d")],
)  # fmt: skip
def test_durations_are_formatted(delta: timedelta, days: bool, shown: str) -> None:
    assert format_duration(delta, days=days) == shown


def test_an_empty_file_gives_the_defaults_found() -> None:
    config = parse_config("", source="desk.toml", base=Path("/srv/desk"))
    assert config.found is True
    assert config.support_address == "support@localhost"
    assert config.agreements == (DEFAULT_AGREEMENT,)
    assert config.auto_close_after == timedelta(days=7)
    assert config.database_path() == Path("/srv/desk/issuecore.db")
    assert config.outbox_path() == Path("/srv/desk/outbox")
    assert config.server_database is False
    assert config.display_timezone() == "UTC"


def test_a_missing_file_gives_the_defaults_not_found(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.toml")
    assert config.found is False
    assert config.base == tmp_path
    assert config.source == str(tmp_path / "absent.toml")


def test_a_file_is_read_with_its_folder_as_base(tmp_path: Path) -> None:
    path = tmp_path / "issuecore.toml"
    path.write_text('database = "data/desk.db"\n', "utf-8")
    config = load_config(path, source="mine")
    assert config.source == "mine"
    assert config.database_path() == tmp_path / "data" / "desk.db"


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "issuecore.toml"
    path.write_bytes(b'support_address = "\xff"\n')
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(path)


def test_a_folder_named_as_the_configuration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder, not a configuration file"):
        load_config(tmp_path)


def test_a_configuration_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "issuecore.toml"
    path.write_bytes(b'support_address = "caf\xe9@example.com"\n')
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(path)


def test_the_template_reads_back_as_a_configuration() -> None:
    text = config_template(signing_key=b"k" * 32, support_address="help@example.com")
    config = parse_config(text)
    assert config.support_address == "help@example.com"
    assert config.signing_key == b"k" * 32
    assert config.smtp is None


def test_a_full_configuration_is_read() -> None:
    config = parse_config(
        KEY
        + """
support_address = "help@example.com"
database = "postgresql+psycopg://u@db/desk"
auto_close_after = false
agents = ["ben@example.com"]
[smtp]
host = "smtp.example.com"
port = 465
security = "ssl"
username = "help"
password_env = "SMTP_PASSWORD"
[imap]
host = "imap.example.com"
username = "help"
password = "secret"
processed_mailbox = "Done"
[mail]
aliases = ["info@example.com"]
reopen_within = "3d"
auto_reply = false
auto_reply_limit = 3
stranger_policy = "reject"
[[agreements]]
name = "Gold"
default = true
default_priority = "High"
at_risk = { fraction = 0.2, remaining = "1h" }
valid_from = 2026-01-01
valid_until = "2026-12-31"
pause_on = ["On Hold"]
fulfilled_on = ["Closed"]
[agreements.targets.High]
response = "1h"
resolution = false
[agreements.targets.Low]
response = "1d"
resolution = "5d"
[agreements.calendar]
timezone = "Europe/Berlin"
holidays = ["2026-12-25", 2026-12-26]
overrides = { "2026-12-24" = [["09:00", "12:00"]], "2026-12-31" = [] }
[agreements.calendar.hours]
mon = [["09:00", "17:00"]]
tue = [[09:00:00, 17:00:00]]
sun = []
"""
    )
    assert config.server_database is True
    assert config.auto_close_after is None
    assert config.agents == ("ben@example.com",)
    assert config.smtp is not None
    assert (config.smtp.port, config.smtp.security, config.smtp.password_env) == (
        465,
        "ssl",
        "SMTP_PASSWORD",
    )
    assert config.imap is not None
    assert (config.imap.port, config.imap.mailbox, config.imap.processed_mailbox) == (
        993,
        "INBOX",
        "Done",
    )
    assert config.mail["reopen_within"] == timedelta(days=3)
    assert config.mail["aliases"] == ("info@example.com",)
    (gold,) = config.agreements
    assert gold.targets["High"].resolution is None
    assert gold.at_risk is not None
    assert (gold.at_risk.fraction, gold.at_risk.remaining) == (0.2, timedelta(hours=1))
    assert (gold.valid_from, gold.valid_until) == (date(2026, 1, 1), date(2026, 12, 31))
    assert gold.pause_on == frozenset({"On Hold"})
    assert isinstance(gold.calendar, BusinessCalendar)
    assert config.display_timezone() == "Europe/Berlin"
    assert config.agreement("Gold") is gold
    assert config.agreement("Silver") is None
    settings = config.desk_settings(b"s" * 32)
    assert settings.auto_close_after is None
    assert settings.agents == frozenset({"ben@example.com"})
    assert settings.mail.stranger_policy.value == "reject"


def test_an_explicit_timezone_is_shown_over_the_calendars() -> None:
    assert Config(timezone="Asia/Tokyo").display_timezone() == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("nonsense = 1", "nonsense", "unknown key; known here: support_address"),
        ("support_address = 3", "support_address", "must be a string, got 3"),
        ('support_address = "nobody"', "support_address", '"nobody" is not an address'),
        ('database = " "', "database", "must name a SQLite file or a database URL"),
        ('database = "sqlite://x"', "database", '"sqlite://x" is not a supported URL'),
        ("outbox = 1", "outbox", "must be a table, got 1"),
        ("[outbox]\nfolder = 'x'", "outbox.folder", "unknown key; known here: maildir"),
        ("[outbox]\n[smtp]\nhost = 'h'", "smtp", "give either [outbox] or [smtp], not both"),
        ("[smtp]\nport = 25", "smtp.host", "is required in [smtp]"),
        ("[smtp]\nhost = 'h'\nport = 0", "smtp.port", "must be a whole number from 1 to 65535"),
        ("[smtp]\nhost = 'h'\nport = true", "smtp.port", "got true"),
        ("[smtp]\nhost = 'h'\nsecurity = 'tls'", "smtp.security", '"tls" is not one of'),
        ("[smtp]\nhost = 'h'\npassword = 'p'\npassword_env = 'E'", "smtp.password_env",
         "give password or password_env, not both"),
        ("[imap]\nusername = 'u'\npassword = 'p'", "imap.host", "is required in [imap]"),
        ("[imap]\nhost = 'h'\npassword = 'p'", "imap.username", "is required in [imap]"),
        ("[imap]\nhost = 'h'\nusername = 'u'", "imap.password", "is required in [imap]"),
        ("auto_close_after = 7", "auto_close_after",
         'must be a duration string like "2d", or false to turn it off, got 7'),
        ('auto_close_after = "0h"', "auto_close_after", '"0h" must be longer than zero'),
        ('auto_close_after = "soon"', "auto_close_after", '"soon" is not a duration'),
        ("agents = 'ben@example.com'", "agents", "must be a list of strings"),
        ("agents = [1]", "agents[0]", "must be a string, got 1"),
        ('timezone = "Mars/Olympus"', "timezone", '"Mars/Olympus" is not a known time zone'),
        ('signing_key = "abc"', "signing_key", "must be at least 32 hexadecimal digits"),
        ('signing_key = "' + "zz" * 16 + '"', "signing_key", "must be at least 32"),
        ("[mail]\ncolour = 'red'", "mail.colour", "unknown key; known here: aliases"),
        ("[mail]\nauto_reply = 'yes'", "mail.auto_reply", 'must be true or false, got "yes"'),
        ("[mail]\nauto_reply_limit = -1", "mail.auto_reply_limit", "from 0 to 1000000"),
        ("[mail]\nstranger_policy = 'shrug'", "mail.stranger_policy", '"shrug" is not usable'),
        ("[mail]\naliases = {a = 1}", "mail.aliases", "must be a list of strings, got a table"),
        ("agreements = 1", "agreements", "must be an array of tables"),
        ("agreements = [1]", "agreements[0]", "must be a table, got 1"),
        ("[[agreements]]\nname = 'A'", "agreements[0].targets", "is required in an agreement"),
        ("[[agreements]]\nname = 'A'\ntargets = {}", "agreements[0].targets",
         "must name at least one priority"),
        ("[[agreements]]\nname = 'A'\n[agreements.targets.High]\nresolution = '1h'",
         "agreements[0].targets.High.response", "is required in a target"),
        ("[[agreements]]\nname = 'A'\ndefault_priority = 'Low'\n[agreements.targets.High]\n"
         "response = '1h'", "agreements[0].default_priority", '"Low" has no target; known: High'),
        ("[[agreements]]\nname = 'A'\npause_on = ['On Hold']\n[agreements.targets.High]\n"
         "response = '1h'", "agreements[0].pause_on", "give pause_on and fulfilled_on together"),
        ("[[agreements]]\nname = 'A'\nvalid_from = 'soon'\n[agreements.targets.High]\n"
         "response = '1h'", "agreements[0].valid_from", '"soon" is not a date'),
        ("[[agreements]]\nname = 'A'\nvalid_from = 2026-01-01T09:00:00\n"
         "[agreements.targets.High]\nresponse = '1h'", "agreements[0].valid_from",
         "is not a date"),
        ("[[agreements]]\nname = 'A'\nat_risk = {}\n[agreements.targets.High]\nresponse = '1h'",
         "agreements[0].at_risk", "give fraction (e.g. 0.2) or remaining"),
        ("[[agreements]]\nname = 'A'\nat_risk = { fraction = 1 }\n[agreements.targets.High]\n"
         "response = '1h'", "agreements[0].at_risk.fraction", "must lie between 0 and 1, got 1"),
        ("[[agreements]]\nname = 'A'\nat_risk = { fraction = true }\n"
         "[agreements.targets.High]\nresponse = '1h'", "agreements[0].at_risk.fraction",
         "got true"),
        ("[[agreements]]\nname = 'A'\nvalid_from = 2026-02-02\nvalid_until = 2026-02-01\n"
         "[agreements.targets.High]\nresponse = '1h'", "agreements[0]",
         "valid_from 2026-02-02 is after valid_until 2026-02-01"),
        ("[[agreements]]\nname = 'A'\ndefault = true\n[agreements.targets.H]\nresponse = '1h'\n"
         "[[agreements]]\nname = 'B'\ndefault = true\n[agreements.targets.H]\nresponse = '1h'",
         "agreements", "at most one agreement may be the default"),
    ],
)  # fmt: skip
def test_a_wrong_value_is_refused_naming_its_key(text: str, key: str, problem: str) -> None:
    error = refused(text)
    assert error.key == key
    assert problem in error.problem
    assert str(error).startswith(f"desk.toml: {key}: ")


CALENDAR = "[[agreements]]\nname = 'A'\n[agreements.targets.High]\nresponse = '1h'\n"


@pytest.mark.parametrize(
    ("calendar", "key", "problem"),
    [
        ("[agreements.calendar]\nhours = {}", "agreements[0].calendar.timezone",
         "is required in a calendar"),
        ("[agreements.calendar]\ntimezone = 'UTC'", "agreements[0].calendar.hours",
         "is required"),
        ("[agreements.calendar]\ntimezone = 'UTC'\nhours = { mon = 1 }",
         "agreements[0].calendar.hours.mon", 'must be a list of ["HH:MM", "HH:MM"] pairs'),
        ("[agreements.calendar]\ntimezone = 'UTC'\nhours = { mon = [['09:00']] }",
         "agreements[0].calendar.hours.mon[0]", 'must be a pair like ["09:00", "17:00"]'),
        ("[agreements.calendar]\ntimezone = 'UTC'\nhours = { mon = [[9, 17]] }",
         "agreements[0].calendar.hours.mon[0]", "got a list"),
        ("[agreements.calendar]\ntimezone = 'UTC'\nhours = { moon = [] }",
         "agreements[0].calendar.hours.moon", "unknown weekday; use mon, tue"),
        ("[agreements.calendar]\ntimezone = 'UTC'\nhours = { moon = [['09:00', '17:00']] }",
         "agreements[0].calendar.hours.moon", ""),
        ("[agreements.calendar]\ntimezone = 'UTC'\nhours = { mon = [['09:00', '25:00']] }",
         "agreements[0].calendar.hours.mon", ""),
        ("[agreements.calendar]\ntimezone = 'UTC'\nhours = {}\nholidays = '2026-12-25'",
         "agreements[0].calendar.holidays", "must be a list of dates"),
        ("[agreements.calendar]\ntimezone = 'UTC'\nhours = {}\nholidays = ['Xmas']",
         "agreements[0].calendar.holidays[0]", '"Xmas" is not a date'),
        ("[agreements.calendar]\ntimezone = 'UTC'\nhours = {}\noverrides = { soon = [] }",
         "agreements[0].calendar.overrides.soon", '"soon" is not a date'),
        ("[agreements.calendar]\ntimezone = 'UTC'\nhours = {}\n"
         "overrides = { 2026-12-24 = [['09:00', '25:00']] }",
         "agreements[0].calendar.overrides.2026-12-24", ""),
        ("[agreements.calendar]\ntimezone = 'UTC'\nhours = {}\nwhen = 1",
         "agreements[0].calendar.when", "unknown key"),
    ],
)  # fmt: skip
def test_a_wrong_calendar_is_refused_naming_its_key(calendar: str, key: str, problem: str) -> None:
    error = refused(CALENDAR + calendar)
    assert error.key == key
    assert problem in error.problem


def test_toml_that_does_not_parse_is_refused() -> None:
    error = refused("support_address = ")
    assert error.key == ""
    assert error.problem.startswith("is not valid TOML: ")
