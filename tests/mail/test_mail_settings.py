"""Mail settings refuse values that cannot work, saying what would."""

from __future__ import annotations

from datetime import timedelta

import pytest

from issuecore.errors import IssueCoreError, MailSettingsError
from issuecore.mail._settings import AutomatedPolicy, FollowUpPolicy, MailSettings, StrangerPolicy


def test_defaults_follow_the_specification() -> None:
    settings = MailSettings(support_address="Help@Example.COM")
    assert settings.support_address == "Help@example.com"
    assert settings.stranger_policy is StrangerPolicy.NEW_ISSUE
    assert settings.follow_up_policy is FollowUpPolicy.REOPEN_WITHIN
    assert settings.reopen_within == timedelta(days=14)
    assert settings.automated_policy is AutomatedPolicy.IGNORE
    assert settings.auto_reply_limit == 10
    assert settings.auto_reply_window == timedelta(hours=24)
    assert settings.tokens.render("ISS-2026-00042") == "[#ISS-2026-00042]"
    assert settings.id_domain == "example.com"


def test_policies_accept_their_string_values() -> None:
    settings = MailSettings(
        support_address="help@example.com",
        stranger_policy="reject",
        follow_up_policy="reopen",
        automated_policy="create",
    )
    assert settings.stranger_policy is StrangerPolicy.REJECT
    assert settings.follow_up_policy is FollowUpPolicy.REOPEN
    assert settings.automated_policy is AutomatedPolicy.CREATE


def test_signing_key_is_hidden_from_repr() -> None:
    settings = MailSettings(support_address="help@example.com", signing_key=b"s3cret" * 4)
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("field", "value", "hint"),
    [
        ("support_address", "not an address", "help@example.com"),
        ("aliases", ("ok@example.com", "broken"), "sales@example.com"),
        ("signing_key", b"short", "16 random bytes"),
        ("token_format", "[#number]", "'{number}'"),
        ("token_format", "{number}", "'{number}'"),
        ("token_format", "[#{number}]\r\nBcc: x", "'{number}'"),
        ("number_pattern", "([", "regular expression"),
        ("reopen_within", timedelta(0), "positive timedelta"),
        ("auto_reply_window", timedelta(hours=-1), "positive timedelta"),
        ("auto_reply_limit", -1, "0 or more"),
        ("auto_reply_template", "Issue {nummer}", "{number}"),
        ("loop_header", "X Loop\r\n", "header name"),
        ("message_id_domain", "exa mple.com", "domain"),
        ("stranger_policy", "ignore", "'new_issue', 'attach_unverified', 'reject'"),
        ("follow_up_policy", "sometimes", "'reopen_within', 'new_issue', 'reopen'"),
        ("automated_policy", "drop", "'ignore', 'create'"),
    ],
)
def test_unusable_setting_is_refused_with_what_would_work(
    field: str, value: object, hint: str
) -> None:
    values: dict[str, object] = {"support_address": "help@example.com", field: value}
    with pytest.raises(MailSettingsError) as caught:
        MailSettings(**values)  # type: ignore[arg-type]
    assert isinstance(caught.value, IssueCoreError)
    assert isinstance(caught.value, ValueError)
    assert hint in str(caught.value)
    assert field in str(caught.value)
