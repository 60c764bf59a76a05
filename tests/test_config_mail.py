"""The mail sections of the configuration: [imap.oauth2] and [smtp.oauth2], and the builders."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from issuecore.adapters.oauth2 import CommandTokens, GoogleTokens, Microsoft365Tokens
from issuecore.config import OAuth2Config, parse_config
from issuecore.errors import ConfigError, MissingExtraError

MICROSOFT = """
[imap]
host = "outlook.office365.com"
username = "support@contoso.example"
[imap.oauth2]
provider = "microsoft"
tenant = "contoso.example"
client_id = "11111111-2222-3333-4444-555555555555"
client_secret = "entra-secret-value"
"""


def problem(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, source="desk.toml")
    return raised.value


def test_microsoft_oauth2_for_imap_reads_and_hides_the_secret() -> None:
    config = parse_config(MICROSOFT)
    assert config.imap is not None
    oauth2 = config.imap.oauth2
    assert oauth2 is not None
    assert (oauth2.provider, oauth2.tenant, oauth2.section) == (
        "microsoft",
        "contoso.example",
        "imap.oauth2",
    )
    assert oauth2.client_secret == "entra-secret-value"
    assert "entra-secret-value" not in repr(config)


def test_imap_source_of_an_oauth2_section_logs_in_with_tokens() -> None:
    source = parse_config(MICROSOFT).imap_source(mailbox="Support")
    assert source.mailbox == "Support"
    assert "XOAUTH2" in repr(source)
    assert isinstance(source._token_provider, Microsoft365Tokens)
    assert "entra-secret-value" not in repr(source)


def test_smtp_mailer_of_a_google_user_grant_reads_its_secrets_from_the_environment() -> None:
    config = parse_config(
        """
[smtp]
host = "smtp.gmail.com"
username = "support@example.com"
[smtp.oauth2]
provider = "google"
client_id = "desk.apps.googleusercontent.com"
client_secret_env = "DESK_GOOGLE_SECRET"
refresh_token_env = "DESK_GOOGLE_REFRESH"
"""
    )
    mailer = config.smtp_mailer(
        environ={"DESK_GOOGLE_SECRET": "s3cret", "DESK_GOOGLE_REFRESH": "1//refresh"}
    )
    assert isinstance(mailer._token_provider, GoogleTokens)
    assert mailer.username == "support@example.com"
    with pytest.raises(ConfigError, match=r"smtp\.oauth2\.refresh_token_env: the environment"):
        config.smtp_mailer(environ={"DESK_GOOGLE_SECRET": "s3cret"})


def test_google_service_account_file_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    config = parse_config(
        """
[imap]
host = "imap.gmail.com"
username = "support@example.com"
[imap.oauth2]
provider = "google"
service_account_file = "desk-key.json"
""",
        base=tmp_path,
    )
    assert config.imap is not None
    assert config.imap.oauth2 is not None
    assert config.imap.oauth2.service_account_file == tmp_path / "desk-key.json"
    with pytest.raises(ConfigError, match="service_account_file: cannot be read"):
        config.imap_source()
    (tmp_path / "desk-key.json").write_text("not json, but -----BEGIN PRIVATE KEY-----")
    with pytest.raises(ConfigError) as raised:
        config.imap_source()
    assert "is not a service account key" in str(raised.value)
    assert "PRIVATE KEY" not in str(raised.value)


def test_command_provider_runs_the_listed_program() -> None:
    config = parse_config(
        f"""
[imap]
host = "imap.example.com"
username = "me@example.com"
[imap.oauth2]
provider = "command"
command = [{json.dumps(sys.executable)}, "-c", "print('tok-123')"]
"""
    )
    source = config.imap_source()
    assert isinstance(source._token_provider, CommandTokens)
    assert source._token_provider() == "tok-123"


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        ("", 'imap.oauth2.provider: is required: "microsoft", "google" or "command"'),
        ('provider = "yahoo"', 'imap.oauth2.provider: "yahoo" is not one of'),
        ('provider = "microsoft"\nclient_id = "c"\nclient_secret = "s"', "imap.oauth2.tenant: is"),
        (
            'provider = "microsoft"\ntenant = "t"\nclient_id = "c"',
            'imap.oauth2.client_secret: is required with provider = "microsoft" '
            "(or client_secret_env)",
        ),
        (
            'provider = "microsoft"\ntenant = "t"\nclient_id = "c"\nclient_secret = "s"\n'
            'client_secret_env = "E"',
            "imap.oauth2.client_secret_env: give client_secret or client_secret_env, not both",
        ),
        (
            'provider = "microsoft"\ntenant = "t"\nclient_id = "c"\nclient_secret = "s"\n'
            'refresh_token = "r"',
            "imap.oauth2.refresh_token: unknown key; known here: provider, tenant",
        ),
        ('provider = "google"\nclient_id = "c"\nclient_secret = "s"', "imap.oauth2.refresh_token"),
        (
            'provider = "google"\nservice_account_file = "k.json"\nclient_id = "c"',
            "imap.oauth2.service_account_file: give a service account key or client_id",
        ),
        ('provider = "command"', "imap.oauth2.command: is required"),
        ('provider = "command"\ncommand = []', "imap.oauth2.command: must list a program"),
    ],
)
def test_a_wrong_oauth2_table_names_the_key(tail: str, message: str) -> None:
    text = '[imap]\nhost = "h"\nusername = "u@example.com"\n[imap.oauth2]\n' + tail
    assert message in str(problem(text))


def test_a_secret_of_the_wrong_type_is_named_but_never_shown() -> None:
    error = problem(
        '[imap]\nhost = "h"\nusername = "u@example.com"\n[imap.oauth2]\nprovider = "microsoft"\n'
        'tenant = "t"\nclient_id = "c"\nclient_secret = 987654321\n'
    )
    assert error.key == "imap.oauth2.client_secret"
    assert "987654321" not in str(error)
    assert "value not shown" in str(error)


def test_a_password_and_oauth2_together_are_refused() -> None:
    error = problem(MICROSOFT.replace("[imap.oauth2]", 'password = "pw"\n[imap.oauth2]'))
    assert str(error) == "desk.toml: imap.oauth2: give a password or [imap.oauth2], not both"


def test_imap_without_password_or_oauth2_names_both_choices() -> None:
    error = problem('[imap]\nhost = "h"\nusername = "u@example.com"\n')
    assert "or [imap.oauth2]" in str(error)


def test_smtp_oauth2_needs_the_mailbox_user_name() -> None:
    error = problem('[smtp]\nhost = "h"\n[smtp.oauth2]\nprovider = "command"\ncommand = ["tok"]\n')
    assert error.key == "smtp.username"


def test_smtp_password_from_the_environment_is_resolved_by_the_builder() -> None:
    config = parse_config(
        '[smtp]\nhost = "h"\nusername = "desk"\npassword_env = "DESK_SMTP_PASSWORD"\n'
    )
    assert config.smtp_mailer(environ={"DESK_SMTP_PASSWORD": "pw"})._password == "pw"
    with pytest.raises(ConfigError, match=r"smtp\.password_env: the environment variable"):
        config.smtp_mailer(environ={})


def test_a_missing_extra_is_named_when_the_provider_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "msal", None)
    with pytest.raises(MissingExtraError, match=r"issuecore\[m365\]"):
        parse_config(MICROSOFT).imap_source()


def test_oauth2_config_secrets_stay_out_of_repr() -> None:
    table = OAuth2Config(
        section="smtp.oauth2",
        provider="google",
        client_id="c",
        client_secret="very-secret",
        refresh_token="1//also-secret",
    )
    assert "very-secret" not in repr(table)
    assert "also-secret" not in repr(table)


def test_agent_domains_and_the_agent_mail_policy_reach_the_desk_settings() -> None:
    config = parse_config(
        'agent_domains = ["helpdesk.example"]\n[mail]\nagent_mail_policy = "record_only"\n'
    )
    settings = config.desk_settings(b"k" * 32)
    assert settings.is_agent("kim@helpdesk.example")
    assert not settings.is_agent("kim@customer.test")
    assert settings.mail_settings().agent_mail_policy == "record_only"


def test_a_wrong_agent_domain_or_policy_is_named() -> None:
    assert str(problem('agent_domains = ["helpdesk example"]')) == (
        'desk.toml: agent_domains[0]: "helpdesk example" is not a domain like "example.com"'
    )
    assert "mail.agent_mail_policy" in str(problem('[mail]\nagent_mail_policy = "forward"'))


@pytest.mark.parametrize("section", ["imap", "smtp"])
def test_a_password_of_the_wrong_type_is_named_but_never_shown(section: str) -> None:
    error = problem(f'[{section}]\nhost = "h"\nusername = "u"\npassword = 24681357\n')
    assert error.key == f"{section}.password"
    assert "24681357" not in str(error)
