"""Address identity: ASCII case and IDNA domain forms aside, an address is exactly itself."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuecore._model import Issue
from issuecore.mail import normalize_address, same_address
from issuecore.mail._addresses import (
    _cached_key,
    address_key,
    ascii_domain,
    outbound_address,
    unique_addresses,
)
from issuecore.mail._settings import MailSettings
from strategies import hostile_text

# Letters that case folding or compatibility mapping would take for ASCII ones.
LOOKALIKE_LETTERS = "ßſ\u212a\u0131\u0130\uff41\uff33\u00df\u1e9e\u01c5\u0345"
LOCAL_ALPHABET = st.sampled_from(list("aAkKsSiIzZ09.+-_" + LOOKALIKE_LETTERS))
DOMAIN_ALPHABET = st.sampled_from(list("aAbBsSkKiI0-" + "üÜßſ\u212a\u0131\uff41"))

locals_ = st.text(LOCAL_ALPHABET, min_size=1, max_size=12)
labels = st.text(DOMAIN_ALPHABET, min_size=1, max_size=10)
domains = st.lists(labels, min_size=1, max_size=3).map(".".join).map(lambda d: f"{d}.example")
addresses = st.builds(lambda local, domain: f"{local}@{domain}", locals_, domains)


def _ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("ceo@busineß.example", "ceo@business.example", id="sharp-s-domain"),
        pytest.param("kaß@example.com", "kass@example.com", id="sharp-s-local"),
        pytest.param("KAẞ@example.com", "kass@example.com", id="capital-sharp-s-local"),
        pytest.param("\u017fam@example.com", "sam@example.com", id="long-s-local"),
        pytest.param("\u212aim@example.com", "kim@example.com", id="kelvin-sign-local"),
        pytest.param("\u0131van@example.com", "ivan@example.com", id="dotless-i-local"),
        pytest.param("ivan@\u0131.example", "ivan@i.example", id="dotless-i-domain"),
        pytest.param("\u0130van@example.com", "ivan@example.com", id="dotted-capital-i-local"),
        pytest.param("\uff41na@example.com", "ana@example.com", id="fullwidth-local"),
        pytest.param("ana@b\u00fccher.example", "ana@bucher.example", id="umlaut-domain"),
    ],
)
def test_lookalike_is_not_the_same_address(first: str, second: str) -> None:
    assert not same_address(first, second)
    assert address_key(first) != address_key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("Bob@Example.COM", "bob@example.com", id="ascii-case"),
        pytest.param("  bob@example.com ", "BOB@EXAMPLE.COM", id="surrounding-space"),
        pytest.param("ana@bücher.example", "ana@xn--bcher-kva.example", id="idn-forms"),
        pytest.param("ana@BÜCHER.example", "ana@XN--BCHER-KVA.EXAMPLE", id="idn-forms-upper"),
        pytest.param("kaß@example.com", "KAß@Example.com", id="ascii-case-beside-sharp-s"),
    ],
)
def test_ascii_case_and_idna_forms_are_the_same_address(first: str, second: str) -> None:
    assert same_address(first, second)


@pytest.mark.parametrize(
    ("written", "mapped"),
    [
        pytest.param("ceo@\uff45xample.com", "ceo@example.com", id="fullwidth"),
        pytest.param("ceo@\u212aiosk.example", "ceo@kiosk.example", id="kelvin-sign"),
        pytest.param("ceo@\u017fupport.example", "ceo@support.example", id="long-s"),
    ],
)
def test_domain_letters_uts46_maps_to_ascii_name_the_same_host(written: str, mapped: str) -> None:
    # UTS #46 maps these to ASCII before DNS is asked, so mail to either reaches one host.
    assert same_address(written, mapped)


def test_key_keeps_a_non_ascii_local_part_exactly() -> None:
    assert address_key("KAß@BUSINEß.Example") == "kaß@xn--busine-gta.example"


def test_something_that_is_no_address_compares_only_with_itself() -> None:
    assert address_key("Not An Address") == "not an address"
    assert not same_address("x@xn--zz.example", "x@zz.example")
    assert same_address("x@XN--ZZ.example", "x@xn--zz.example")


def test_domain_idna_refuses_is_no_address() -> None:
    assert normalize_address("ana@xn--zz.example") is None
    assert normalize_address("ana@a\u05d0.example") is None  # mixed directions in one label
    assert normalize_address("ana@\u0640.example") is None  # a joining mark alone
    assert ascii_domain("xn--zz.example") is None


def test_normalized_address_keeps_its_unicode_domain() -> None:
    assert normalize_address("Ana@Bücher.Example") == "Ana@bücher.example"


def test_address_whose_key_is_longer_than_320_characters_is_no_address() -> None:
    domain = "ü" * 60 + ".example"
    local = "a" * (320 - len(domain) - 1)
    assert len(f"{local}@{domain}") == 320
    assert normalize_address(f"{local}@{domain}") is None
    assert normalize_address(f"{local}@{'u' * 60}.example") is not None


def test_outbound_address_uses_idna2008_not_idna2003() -> None:
    # The IDNA 2003 codec maps "ß" to "ss" and would send to a different domain.
    assert outbound_address("ceo@busineß.example") == "ceo@xn--busine-gta.example"


def test_unique_addresses_keeps_lookalikes_apart() -> None:
    kept = unique_addresses(["kass@x.test", "kaß@x.test", "KASS@X.TEST", "\u212aass@x.test"])
    assert kept == ("kass@x.test", "kaß@x.test", "\u212aass@x.test")


def test_participant_check_keeps_lookalikes_apart() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 1, tzinfo=UTC)
    issue = Issue(
        number="ISS-1",
        subject="s",
        raised_by="ceo@business.example",
        status="open",
        created_at=at,
        updated_at=at,
        status_since=at,
        participants=("kass@example.com",),
    )
    assert issue.is_participant("CEO@BUSINESS.example")
    assert not issue.is_participant("ceo@busineß.example")
    assert issue.is_participant("Kass@example.com")
    assert not issue.is_participant("kaß@example.com")


def test_own_addresses_do_not_take_in_lookalikes() -> None:
    settings = MailSettings(support_address="support@help.example", aliases=("sales@help.example",))
    assert address_key("SUPPORT@Help.Example") in settings.own_addresses
    assert address_key("\u017fupport@help.example") not in settings.own_addresses


@given(st.one_of(addresses, hostile_text, st.text()))
def test_address_key_is_idempotent(value: str) -> None:
    assert address_key(address_key(value)) == address_key(value)


@given(addresses, addresses)
def test_same_address_implies_equal_ascii_lowered_local_parts(first: str, second: str) -> None:
    if same_address(first, second):
        assert _ascii_lower(first.rpartition("@")[0]) == _ascii_lower(second.rpartition("@")[0])


@given(addresses)
def test_ascii_case_changes_keep_the_address(value: str) -> None:
    swapped = "".join(c.swapcase() if c.isascii() else c for c in value)
    assert same_address(value, swapped)


@given(addresses, st.data())
def test_changing_one_non_ascii_local_letter_makes_another_address(
    value: str, data: st.DataObject
) -> None:
    local, _, domain = value.rpartition("@")
    positions = [i for i, c in enumerate(local) if not c.isascii()]
    if not positions:
        return
    index = data.draw(st.sampled_from(positions))
    replacement = data.draw(st.sampled_from([c for c in "ksiaSKIA" if c != local[index]]))
    changed = f"{local[:index]}{replacement}{local[index + 1 :]}@{domain}"
    assert not same_address(value, changed)


# --- edges stated one by one: the longest address and domain, brackets, a second @ ---

LONGEST_DOMAIN = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters
LONGEST_ADDRESS = "x" * (320 - len("@example.com")) + "@example.com"


def test_a_domain_of_253_characters_is_accepted_and_254_refused() -> None:
    assert len(LONGEST_DOMAIN) == 253
    assert ascii_domain(LONGEST_DOMAIN) == LONGEST_DOMAIN
    assert ascii_domain(LONGEST_DOMAIN + "e") is None


def test_an_address_of_320_characters_is_accepted_and_321_refused() -> None:
    assert len(LONGEST_ADDRESS) == 320
    assert normalize_address(LONGEST_ADDRESS) == LONGEST_ADDRESS
    assert normalize_address("x" + LONGEST_ADDRESS) is None
    assert normalize_address(f"<{LONGEST_ADDRESS}>") == LONGEST_ADDRESS


@pytest.mark.parametrize("value", ["<ana@example.com", "ana@example.com>"])
def test_an_address_with_one_angle_bracket_is_refused(value: str) -> None:
    assert normalize_address(value) is None


def test_an_address_in_angle_brackets_is_read() -> None:
    assert normalize_address(" <Ana@Example.COM> ") == "Ana@example.com"


@pytest.mark.parametrize("value", ["a@b@example.com", " a@b@Example.com "])
def test_an_address_with_two_at_signs_is_refused(value: str) -> None:
    assert normalize_address(value) is None


def test_a_domain_label_of_63_characters_is_accepted_and_64_refused() -> None:
    for label, expected in (("b" * 63, True), ("b" * 64, False)):
        address = f"ana@{label}.example"
        assert (normalize_address(address) is not None) is expected
        assert (ascii_domain(f"{label}.example") is not None) is expected
    assert normalize_address(f"ana@{'b' * 64}.example") is None
    assert normalize_address(f"<ana@{'b' * 64}.example>") is None


def test_a_plain_address_with_a_domain_over_253_characters_is_refused() -> None:
    domain = ".".join(["c" * 60] * 5)  # 304 characters in labels DNS allows
    assert normalize_address(f"ana@{domain}") is None
    assert normalize_address(f" ana@{domain} ") is None
    assert normalize_address(f"ana@{LONGEST_DOMAIN}") == f"ana@{LONGEST_DOMAIN}"


@given(addresses)
def test_the_plain_shortcut_reads_an_address_as_the_full_check_does(address: str) -> None:
    ascii_only = address.encode("ascii", "ignore").decode()
    for value in (address, ascii_only):
        assert normalize_address(value) == normalize_address(f" <{value}> ")


@pytest.mark.parametrize("value", ["@example.com", "@Bücher.example", "ana@", " <@example.com> "])
def test_an_address_without_a_local_part_or_domain_is_refused(value: str) -> None:
    assert normalize_address(value) is None


@pytest.mark.parametrize(
    "space",
    ["\u00a0", "\u200b", "\u2003", "\u00ad"],
    ids=["no-break-space", "zero-width-space", "em-space", "soft-hyphen"],
)
def test_an_address_with_an_invisible_or_unusual_space_is_refused(space: str) -> None:
    assert normalize_address(f"ana{space}x@example.com") is None
    assert normalize_address(f"ana@exa{space}mple.com") is None


def test_something_without_a_local_part_compares_in_its_exact_form() -> None:
    assert address_key("@Bücher.Example") == "@bücher.example"
    assert not same_address("@bücher.example", "@xn--bcher-kva.example")
    assert address_key("Bücher.Example") == "bücher.example"
    assert not same_address("bücher.example", "xn--bcher-kva.example")


def test_a_quoted_local_part_holding_an_at_sign_keeps_it_and_converts_the_domain() -> None:
    assert address_key('"Ana@Home"@Bücher.example') == '"ana@home"@xn--bcher-kva.example'


def test_a_value_longer_than_an_address_is_compared_without_being_remembered() -> None:
    # Only address-sized values are cached, so header text cannot fill memory.
    long_value = "Ana@Bücher.example " + "X" * 400
    before = _cached_key.cache_info().currsize
    assert address_key(long_value) == "ana@bücher.example " + "x" * 400
    assert address_key("A" * 321) == "a" * 321
    assert _cached_key.cache_info().currsize == before
