"""Signed Message-IDs: they name the issue and cannot be forged or altered."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore.mail._signing import SignatureStatus, make_message_id, verify_message_id

KEY = b"k" * 32


def test_signed_id_names_its_issue() -> None:
    message_id = make_message_id("ISS-2026-00042", key=KEY, domain="example.com", unique="u1")
    checked = verify_message_id(message_id, key=KEY)
    assert checked.valid
    assert checked.issue_number == "ISS-2026-00042"
    assert message_id.startswith("<ic1.")
    assert message_id.endswith("@example.com>")


def test_same_unique_part_gives_the_same_id_for_retries() -> None:
    first = make_message_id("ISS-2026-00042", key=KEY, domain="example.com", unique="retry")
    again = make_message_id("ISS-2026-00042", key=KEY, domain="example.com", unique="retry")
    assert first == again


def test_fresh_ids_are_unique() -> None:
    made = {make_message_id("ISS-2026-00042", key=KEY, domain="example.com") for _ in range(50)}
    assert len(made) == 50


def test_id_signed_with_another_key_is_forged() -> None:
    other = make_message_id("ISS-2026-00042", key=b"x" * 32, domain="example.com")
    assert verify_message_id(other, key=KEY).status is SignatureStatus.FORGED


def test_id_with_a_swapped_issue_number_is_forged() -> None:
    genuine = make_message_id("ISS-2026-00001", key=KEY, domain="example.com", unique="u1")
    victim = make_message_id("ISS-2026-00042", key=KEY, domain="example.com", unique="u1")
    _, _, unique, mac = genuine.strip("<>").split("@")[0].split(".")
    victim_number = victim.strip("<>").split(".")[1]
    swapped = f"<ic1.{victim_number}.{unique}.{mac}@example.com>"
    assert verify_message_id(swapped, key=KEY).status is SignatureStatus.FORGED


def test_case_changes_by_relays_do_not_break_the_signature() -> None:
    message_id = make_message_id("ISS-2026-00042", key=KEY, domain="example.com")
    assert verify_message_id(message_id.upper(), key=KEY).valid


@pytest.mark.parametrize(
    "message_id",
    ["<abc@example.com>", "<CAF123@mail.gmail.com>", "", "<>", "no brackets", "<ic1@x>"],
)
def test_other_ids_are_not_signed(message_id: str) -> None:
    assert verify_message_id(message_id, key=KEY).status is SignatureStatus.NOT_SIGNED


@pytest.mark.parametrize(
    "message_id",
    ["<ic1.a.b@x>", "<ic1.!!!.u.mac@x>", "<ic1.4953.u.mac@x>", "<ic1.a.b.c.d.e@x>", "<ic1...@x>"],
)
def test_ids_in_our_shape_that_fail_the_check_are_forged(message_id: str) -> None:
    assert verify_message_id(message_id, key=KEY).status is SignatureStatus.FORGED


@given(st.text(max_size=300))
def test_verifying_any_text_never_raises(text: str) -> None:
    assert verify_message_id(text, key=KEY).status in set(SignatureStatus)
    assert verify_message_id(f"<ic1.{text}@x>", key=KEY).status in set(SignatureStatus)


@given(st.text(min_size=1, max_size=40))
def test_any_issue_number_round_trips(number: str) -> None:
    message_id = make_message_id(number, key=KEY, domain="example.com")
    assert verify_message_id(message_id, key=KEY).issue_number == number


@pytest.mark.parametrize(("unique", "domain"), [("Upper", "x.com"), ("a b", "x.com"), ("ok", "X!")])
def test_unsafe_unique_part_or_domain_is_refused(unique: str, domain: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        make_message_id("ISS-2026-00042", key=KEY, domain=domain, unique=unique)
