"""New content without quoted history, in the languages and clients people use."""

# The words of other scripts are the data here, not look-alikes of Latin letters.
# ruff: noqa: RUF001

from __future__ import annotations

import time

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from issuecore.mail import html_to_text, new_content
from issuecore.mail._quote_rules import LANGUAGES, FieldRole

REPLY = "Thanks, that worked."
QUOTE = "> Please restart the printer.\n> Helpdesk"


@pytest.mark.parametrize(
    "header",
    [
        "On Wed, Nov 25, 2026 at 4:02 PM Helpdesk <support@helpdesk.example> wrote:",
        "On 25 Nov 2026, at 16:02, Helpdesk <support@helpdesk.example> wrote:",
        "Am 25.11.2026 um 16:02 schrieb Helpdesk <support@helpdesk.example>:",
        "Am Mi., 25. Nov. 2026 um 16:02 Uhr schrieb Helpdesk <support@helpdesk.example>:",
        "Le mer. 25 nov. 2026 à 16:02, Helpdesk <support@helpdesk.example> a écrit :",
        "El mié, 25 nov 2026 a las 16:02, Helpdesk (<support@helpdesk.example>) escribió:",
        "Il giorno mer 25 nov 2026 alle ore 16:02 Helpdesk <support@helpdesk.example> ha scritto:",
        "Op wo 25 nov. 2026 om 16:02 schreef Helpdesk <support@helpdesk.example>:",
        "Em qua., 25 de nov. de 2026 às 16:02, Helpdesk <support@helpdesk.example> escreveu:",
        "W dniu 25.11.2026 o 16:02, Helpdesk <support@helpdesk.example> pisze:",
        "śr., 25 lis 2026 o 16:02 Helpdesk <support@helpdesk.example> napisał(a):",
        "Den ons. 25. nov. 2026 kl. 16.02 skrev Helpdesk <support@helpdesk.example>:",
        "ons 25 nov. 2026 kl 16:02 skrev Helpdesk <support@helpdesk.example>:",
        "ср, 25 нояб. 2026 г. в 16:02, Helpdesk <support@helpdesk.example>:",
        '25.11.2026, 16:02, "Helpdesk" <support@helpdesk.example>:',
        "Среда, 25 ноября 2026, 16:02 +03:00 от Helpdesk <support@helpdesk.example>:",
        "25 листопада 2026 р. о 16:02 Helpdesk <support@helpdesk.example> написав:",
        "ke 25.11.2026 klo 16.02 Helpdesk <support@helpdesk.example> kirjoitti:",
        "2026. nov. 25., Sze 16:02 keltezéssel, Helpdesk <support@helpdesk.example> írta:",
        "El dc., 25 de nov. 2026, a les 16:02, Helpdesk (<support@helpdesk.example>) va escriure:",
        "Vào 16:02 25 tháng 11, 2026, Helpdesk <support@helpdesk.example> đã viết:",
        "Helpdesk <support@helpdesk.example> 于2026年11月25日周三 16:02写道：",
        "2026年11月25日(水) 16:02 Helpdesk <support@helpdesk.example>:",
        "2026년 11월 25일 (수) 오후 4:02, Helpdesk <support@helpdesk.example>님이 작성:",
        "2026-11-25 16:02 GMT+01:00 Helpdesk <support@helpdesk.example>:",
        "---- On Wed, 25 Nov 2026 16:02 Helpdesk wrote ----",
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-------- Message d'origine --------",
        "-----Исходное сообщение-----",
    ],
)
def test_reply_header_starts_the_quoted_history(header: str) -> None:
    text = f"{REPLY}\n\n{header}\nYour old message.\nMore of it."
    assert new_content(text) == REPLY


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.code)
def test_every_languages_original_message_line_starts_the_history(language: object) -> None:
    for phrase in language.original_message:  # type: ignore[attr-defined]
        text = f"{REPLY}\n\n-----{phrase.title()}-----\n\nOld text."
        assert new_content(text) == REPLY, phrase


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.code)
def test_every_languages_header_block_starts_the_history(language: object) -> None:
    labels = language.labels  # type: ignore[attr-defined]
    block = "\n".join(
        [
            f"{labels[FieldRole.FROM][0].title()}: Helpdesk <support@helpdesk.example>",
            f"{labels[FieldRole.DATE][0].title()}: 25.11.2026 16:02",
            f"{labels[FieldRole.TO][0].title()}: alice@example.com",
        ]
    )
    assert new_content(f"{REPLY}\n\n{block}\n\nOld text.") == REPLY


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.code)
def test_every_languages_forwarded_message_is_kept(language: object) -> None:
    for phrase in language.forwarded:  # type: ignore[attr-defined]
        text = (
            f"See below.\n\n---------- {phrase.title()} ---------\n"
            "From: Bob <bob@example.com>\nDate: 25.11.2026 16:02\nTo: me@example.com\n\nThe text."
        )
        assert new_content(text) == text, phrase


def test_reply_header_wrapped_over_three_lines_is_recognised() -> None:
    header = "On Wed, Nov 25, 2026 at 4:02 PM Helpdesk\n<support@helpdesk.example>\nwrote:"
    assert new_content(f"{REPLY}\n\n{header}\n\n{QUOTE}") == REPLY


def test_reply_header_wrapped_over_five_lines_is_recognised() -> None:
    header = "On Wed, Nov 25, 2026 at 4:02 PM\nHelp\ndesk\n<support@helpdesk.example>\nwrote:"
    assert new_content(f"{REPLY}\n\n{header}\n\n{QUOTE}") == REPLY


def test_a_header_wrapped_over_six_lines_is_not_a_header() -> None:
    header = "On Wed, Nov 25, 2026 at 4:02 PM\nThe\nHelp\ndesk\n<support@helpdesk.example>\nwrote:"
    assert "Help" in new_content(f"{REPLY}\n\n{header}\n\n{QUOTE}")


def test_reply_sharing_its_line_with_the_header_keeps_the_reply() -> None:
    text = "reply--- On Wed, Nov 25, 2026 at 4:02 PM, bob@example.com wrote:\n> Hi"
    assert new_content(text) == "reply"


def test_a_dated_header_followed_by_unquoted_history_cuts_it() -> None:
    text = f"{REPLY}\n\nAm 25.11.2026 um 16:02 schrieb Helpdesk:\n\nYour old message."
    assert new_content(text) == REPLY


def test_an_undated_on_wrote_line_is_prose() -> None:
    text = "On Monday my colleague wrote:\nthe printer is broken.\n\nIs that so?"
    assert new_content(text) == text


def test_an_undated_on_wrote_line_before_quotes_is_prose_and_the_quote_stays() -> None:
    text = "On Monday my colleague wrote:\n> the printer is broken\n\nIs that so?"
    assert new_content(text) == text


def test_on_wrote_inside_a_sentence_is_prose() -> None:
    text = "As I said, on 25.11.2026 at 16:02 my colleague wrote: it is broken.\nMore text."
    assert new_content(text) == text


def test_an_addressed_name_header_needs_quotes_after_it() -> None:
    quoted = f"{REPLY}\n\nHelpdesk <support@helpdesk.example> wrote:\n{QUOTE}"
    assert new_content(quoted) == REPLY
    unquoted = f"{REPLY}\n\nHelpdesk <support@helpdesk.example> wrote:\nOld text."
    assert new_content(unquoted) == unquoted


def test_a_date_first_header_needs_a_year_or_a_numeric_date() -> None:
    dated = f"{REPLY}\n\n25.11.2026, 16:02, Helpdesk <support@helpdesk.example>:\n\nOld text."
    assert new_content(dated) == REPLY
    undated = f"{REPLY}\n\n16:02 call with Helpdesk <support@helpdesk.example>:\n\nNotes."
    assert new_content(undated) == undated


def test_a_verb_is_read_only_in_the_orders_its_language_writes() -> None:
    hungarian = f"{REPLY}\n\n2026.11.25. 16:02 keltezéssel, Bob írta:\n\nOld text."
    assert new_content(hungarian) == REPLY
    english = f"{REPLY}\n\n2026.11.25. 16:02 the printer wrote:\n\nA log line."
    assert new_content(english) == english


def test_quote_lines_without_any_header_are_kept() -> None:
    text = "> Did you restart it?\nYes, twice.\n> Which model?\nThe X100."
    assert new_content(text) == text


def test_a_command_prompt_and_a_comparison_are_kept() -> None:
    text = "I ran:\n\n> ls -l /tmp\n> 5 > 3\n\nand it failed."
    assert new_content(text) == text


def test_text_after_a_quoted_block_is_kept() -> None:
    text = f"On 25.11.2026 16:02, Helpdesk wrote:\n\n{QUOTE}\n\nIt works now.\n\nAlice"
    assert new_content(text) == "It works now.\n\nAlice"


def test_an_interleaved_reply_keeps_every_answer() -> None:
    text = (
        "Hi,\n\nOn 25.11.2026 16:02, Helpdesk wrote:\n> Did you restart it?\n\nYes, twice.\n\n"
        "> Which model?\n\nThe X100.\n\n> Anything else?"
    )
    assert new_content(text) == "Hi,\n\nYes, twice.\n\nThe X100."


def test_a_quoted_block_holding_a_header_is_quoted() -> None:
    text = f"{REPLY}\n\n> On 25.11.2026 16:02, Helpdesk <support@helpdesk.example> wrote:\n{QUOTE}"
    assert new_content(text) == REPLY


def test_a_quoted_line_broken_by_the_client_belongs_to_the_quote() -> None:
    quote = "> A long quoted line that the sending client broke in the middle of a wo\nrd here.\n>"
    text = f"{REPLY}\n\nOn 25.11.2026 16:02, Helpdesk wrote:\n{quote}\n\nAlice"
    assert new_content(text) == f"{REPLY}\n\nAlice"


def test_an_answer_between_quoted_lines_is_kept() -> None:
    quote = "> A long quoted question that goes on for quite a few words here?\nYes.\n> Next"
    text = f"{REPLY}\n\nOn 25.11.2026 16:02, Helpdesk wrote:\n{quote}"
    assert new_content(text) == f"{REPLY}\n\nYes."


@pytest.mark.parametrize(
    "block",
    [
        "From: Helpdesk <support@helpdesk.example>\nSent: Wednesday, November 25, 2026 4:02 PM\n"
        "To: Alice\nSubject: Re: Printer",
        "Von: Helpdesk <support@helpdesk.example>\nGesendet: Mittwoch, 25. November 2026 16:02\n"
        "An: Alice\nBetreff: AW: Drucker",
        "De : Helpdesk <support@helpdesk.example>\nEnvoyé : mercredi 25 novembre 2026 16:02\n"
        "À : Alice\nObjet : RE: Imprimante",
        "**From:** Helpdesk [mailto:\nsupport@helpdesk.example]\n**Sent:** today\n**To:** Alice",
        "Date: Wed, 25 Nov 2026 16:02:00 +0100\nTo: alice@example.com",
        "________________________________\nFrom: Helpdesk\nSent: today",
    ],
)
def test_outlook_header_block_starts_the_quoted_history(block: str) -> None:
    text = f"{REPLY}\n\n{block}\n\nYour old message."
    assert new_content(text) == REPLY


def test_a_booking_confirmation_is_not_a_header_block() -> None:
    text = "Your booking:\nFrom: London\nTo: Paris\nDate: 12 May 2026, 10:30\n\nSee you on board."
    assert new_content(text) == text


def test_two_addressed_fields_without_a_date_are_not_a_header_block() -> None:
    text = "Mail goes\nFrom: alice@example.com\nTo: bob@example.com\n\nand then it bounces."
    assert new_content(text) == text


def test_a_rule_alone_is_content() -> None:
    text = f"{REPLY}\n\n________________________________\n\nMore of my reply."
    assert new_content(text) == text


def test_a_mailing_list_footer_is_hidden() -> None:
    footer = "__\nriak-users mailing list\nriak-users@lists.example\nhttp://lists.example/listinfo"
    assert new_content(f"{REPLY}\n\n{footer}") == REPLY


def test_signature_after_separator_is_hidden() -> None:
    assert new_content(f"{REPLY}\n-- \nAlice\nACME Corp") == REPLY


def test_a_signature_of_fifteen_lines_is_hidden_and_of_sixteen_kept() -> None:
    fifteen = "\n".join(f"line {n}" for n in range(15))
    assert new_content(f"{REPLY}\n-- \n{fifteen}") == REPLY
    sixteen = f"{fifteen}\nline 15"
    assert new_content(f"{REPLY}\n-- \n{sixteen}") == f"{REPLY}\n-- \n{sixteen}"


def test_a_bare_double_dash_hides_two_lines_and_keeps_three() -> None:
    two = "Alice\nACME Corp"
    assert new_content(f"{REPLY}\n--\n{two}") == REPLY
    three = f"{two}\n+1 555 0123"
    assert new_content(f"{REPLY}\n--\n{three}") == f"{REPLY}\n--\n{three}"


def test_a_bare_double_dash_hides_sixty_characters_and_keeps_sixty_one() -> None:
    assert new_content(f"{REPLY}\n--\n{'a' * 60}") == REPLY
    text = f"{REPLY}\n--\n{'a' * 61}"
    assert new_content(text) == text


def test_a_bare_double_dash_above_more_steps_is_prose() -> None:
    text = "Step one\n--\nStep two is to open the lid and take out the cartridge, then wait.\nDone"
    assert new_content(text) == text


def test_a_double_dash_before_prose_hides_nothing() -> None:
    prose = "x" * 120
    text = f"{REPLY}\n--\n{prose}"
    assert new_content(text) == text


def test_a_message_that_is_only_a_signature_is_kept() -> None:
    text = "-- \nAlice"
    assert new_content(text) == text


def test_double_dash_inside_a_line_is_prose() -> None:
    text = "And here is a fix -- this is not a signature.\n\nkthxbai"
    assert new_content(text) == text


@pytest.mark.parametrize(
    "line",
    [
        "Sent from my iPhone",
        "Sent from my Verizon Wireless BlackBerry",
        "Sent from Mail for Windows",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "iPhoneから送信",
    ],
)
def test_a_client_line_closing_the_reply_is_hidden(line: str) -> None:
    assert new_content(f"{REPLY}\n\n{line}") == REPLY
    assert new_content(f"{REPLY}\n\n{line}\n\nOn 25.11.2026 16:02, Bob wrote:\n{QUOTE}") == REPLY


@pytest.mark.parametrize(
    "text",
    [
        f"{REPLY}\n\nSent from a magnificent torch of pixels",
        f"{REPLY}\n\nThis was sent from my iPhone app to all users.",
        "Sent from my iPhone\n\nThe rest of my reply.",
        "Sent from my iPhone",
    ],
)
def test_client_words_that_are_not_a_closing_client_line_are_kept(text: str) -> None:
    assert new_content(text) == text


def test_a_dash_name_sign_off_is_kept() -> None:
    text = f"{REPLY}\n\n-Alice\n\nOn 25.11.2026 16:02, Bob wrote:\n{QUOTE}"
    assert new_content(text) == f"{REPLY}\n\n-Alice"


def test_text_without_history_is_unchanged() -> None:
    text = "Hello,\n\nthe printer is on fire.\nFrom: the third floor\n\nAlice"
    assert new_content(text) == text


def test_a_lone_from_line_is_not_an_outlook_block() -> None:
    text = "From: my phone\nIt does not work."
    assert new_content(text) == text


def test_a_message_that_is_only_quoted_keeps_its_full_text() -> None:
    text = "On 25.11.2026 16:02, Bob wrote:\n> everything here is quoted\n> and nothing is new"
    assert new_content(text) == text


# --- HTML ---------------------------------------------------------------------------------


def _html(body: str) -> str:
    """Return the new content of an HTML-only message, as the desk asks for it."""
    return new_content(html_to_text(body), html=body)


def test_an_html_body_alone_gives_its_new_content() -> None:
    html = "<p>Thanks, that worked.</p><blockquote type='cite'>Old</blockquote>"
    assert new_content("", html=html) == REPLY
    assert new_content("", html="<p>Only <b>this</b></p>") == "Only this"


def test_html_blockquote_after_a_header_is_removed() -> None:
    html = (
        "<div>Thanks, that worked.</div><div class='gmail_quote'><div class='gmail_attr'>"
        "On Wed, Nov 25, 2026 at 4:02 PM Helpdesk &lt;support@helpdesk.example&gt; wrote:</div>"
        "<blockquote class='gmail_quote'><div>Restart it.</div></blockquote></div>"
    )
    assert _html(html) == REPLY


def test_html_blockquote_without_a_header_is_kept_without_markers() -> None:
    html = "<div>Look:</div><blockquote>an indented note</blockquote><p>Bye</p>"
    assert new_content("", html=html) == "Look:\nan indented note\nBye"
    assert "".join(_html(html).split()) == "Look:anindentednoteBye"


def test_html_cited_blockquote_is_removed_even_without_a_header() -> None:
    html = "<div>Thanks, that worked.</div><blockquote type='cite'><div>Old</div></blockquote>"
    assert _html(html) == REPLY


def test_html_text_after_a_quote_is_kept() -> None:
    html = (
        "<div class='moz-cite-prefix'>On 25.11.2026 16:02, Bob wrote:</div>"
        "<blockquote type='cite'>Question?</blockquote><p>Answer.</p>"
    )
    assert _html(html) == "Answer."


def test_html_outlook_reply_container_starts_the_history() -> None:
    html = (
        "<p>Thanks, that worked.</p><hr><div id='divRplyFwdMsg'><b>From:</b> Helpdesk<br>"
        "<b>Sent:</b> today</div><div>Old text</div>"
    )
    assert _html(html) == REPLY


def test_html_bordered_separator_above_a_header_block_starts_the_history() -> None:
    html = (
        "<p>Thanks, that worked.</p><div style='border:none;border-top:solid #E1E1E1 1.0pt'>"
        "<p><b>От:</b> Helpdesk<br><b>Отправлено:</b> 25 ноября 2026 г. 16:02<br>"
        "<b>Кому:</b> Alice</p></div><p>Old text</p>"
    )
    assert _html(html) == REPLY


def test_html_forwarded_message_is_kept() -> None:
    html = (
        "<div>FYI</div><div class='gmail_quote'>---------- Forwarded message ---------<br>"
        "From: Bob &lt;bob@example.com&gt;<br>Date: Wed, Nov 25, 2026 at 4:02 PM<br>"
        "<div>The text</div></div>"
    )
    assert _html(html).splitlines()[-1] == "The text"


def test_html_forward_inside_a_cited_blockquote_is_kept() -> None:
    html = (
        "<div>FYI</div><blockquote type='cite'><div>Begin forwarded message:</div>"
        "<div><b>From:</b> Bob &lt;bob@example.com&gt;</div><div>The text</div></blockquote>"
    )
    assert "The text" in _html(html)


def test_a_quoted_forward_below_a_reply_header_is_quoted() -> None:
    quote = "> ---------- Forwarded message ---------\n> Old"
    text = f"{REPLY}\n\nOn 25.11.2026 16:02, Bob wrote:\n{quote}"
    assert new_content(text) == REPLY


def test_html_lists_and_paragraphs_stay_readable() -> None:
    html = "<p>Steps:</p><ol><li>Open</li><li>Close</li></ol><ul><li>note</li></ul>"
    assert new_content("", html=html) == "Steps:\n1. Open\n2. Close\n- note"


def test_html_is_not_used_when_the_text_comes_from_a_plain_part() -> None:
    text = "Thanks.\n\nAm 25.11.2026 um 16:02 schrieb Bob:\n> old"
    html = "<div>Something else entirely</div>"
    assert new_content(text, html=html) == "Thanks."


def test_html_scripts_styles_and_comments_are_not_text() -> None:
    html = "<style>p{}</style><script>x<y</script><!-- note --><p>Hello</p><p>&lt;b&gt;</p>"
    assert new_content("", html=html) == "Hello\n<b>"


# --- properties -----------------------------------------------------------------------------

PROSE = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789.,!?'"),
    min_size=1,
    max_size=60,
).filter(str.strip)
TRICKY_LINES = st.sampled_from(
    [
        "> 5 is more than 3",
        "> ls -l /tmp",
        ">",
        "$ cat a > b",
        "--",
        "a -- b",
        "From: the third floor",
        "From: London",
        "To: Paris",
        "Date: 12 May 2026",
        "On Monday my colleague wrote:",
        "On the other hand, it works.",
        "On Thursday.",
        "",
    ]
)
customer_lines = st.lists(st.one_of(PROSE, TRICKY_LINES), min_size=1, max_size=12).filter(
    lambda lines: any(line.strip() for line in lines)
)
HEADERS = st.sampled_from(
    [
        "On Wed, Nov 25, 2026 at 4:02 PM Helpdesk <support@helpdesk.example> wrote:",
        "Am 25.11.2026 um 16:02 schrieb Helpdesk <support@helpdesk.example>:",
        "Le 25 nov. 2026 à 16:02, Helpdesk <support@helpdesk.example> a écrit :",
        "W dniu 25.11.2026 o 16:02, Helpdesk <support@helpdesk.example> pisze:",
        '25.11.2026, 16:02, "Helpdesk" <support@helpdesk.example>:',
        "On Wed, Nov 25, 2026 at 4:02 PM Helpdesk\n<support@helpdesk.example>\nwrote:",
        "Helpdesk <support@helpdesk.example> wrote:",
        "---- Helpdesk wrote ----",
    ]
)
quoted_lines = st.lists(PROSE.map(lambda line: f"> {line}"), min_size=1, max_size=5)
history = st.one_of(
    st.builds(lambda h, q: f"{h}\n" + "\n".join(q), HEADERS, quoted_lines),
    st.builds(lambda h, p: f"{h}\n\n" + "\n".join(p), HEADERS, st.lists(PROSE, min_size=1)),
    st.builds(lambda p: "-----Original Message-----\n" + "\n".join(p), st.lists(PROSE)),
    st.builds(
        lambda p: (
            "From: Helpdesk <support@helpdesk.example>\nSent: 25.11.2026 16:02\n"
            "To: Alice\nSubject: Printer\n\n" + "\n".join(p)
        ),
        st.lists(PROSE),
    ),
    st.builds(
        lambda q: (
            "> On 25.11.2026 16:02, Helpdesk <support@helpdesk.example> wrote:\n" + "\n".join(q)
        ),
        quoted_lines,
    ),
)


def closing_signature(lines: list[str]) -> set[int]:
    """Return the lines of a closing signature as the threading guide decides it."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index] in ("-- ", "--"):
            after = [line for line in lines[index + 1 :] if line.strip()]
            limit, width = (15, 100) if lines[index] == "-- " else (2, 60)
            words_before = any(line.strip() for line in lines[:index])
            if after and len(after) <= limit and all(len(line) <= width for line in after):
                return set(range(index, len(lines))) if words_before else set()
            return set()
    return set()


@given(customer_lines, history)
@example(lines=["0", "--"], old="Helpdesk <support@helpdesk.example> wrote:\n\n0")
def test_every_customer_line_survives_any_quoted_history(lines: list[str], old: str) -> None:
    shown = new_content("\n".join(lines) + "\n\n" + old).splitlines()
    # A history the rules do not recognise is text like any other: a signature
    # delimiter above it may then close the whole message, history included.
    whole = closing_signature([*lines, "", *old.splitlines()])
    hidden = closing_signature(lines) | {index for index in whole if index < len(lines)}
    for index, line in enumerate(lines):
        if line.strip() and index not in hidden:
            assert line in shown


@given(customer_lines)
def test_text_without_a_quote_is_its_own_new_content(lines: list[str]) -> None:
    text = "\n".join(lines)
    if not closing_signature(lines):
        assert new_content(text) == text


@given(st.text(max_size=500))
def test_new_content_is_made_of_lines_of_the_full_text(text: str) -> None:
    result = new_content(text)
    full_lines = {line.strip() for line in text.splitlines()}
    assert all(line.strip() in full_lines for line in result.splitlines()) or result == text


@given(st.text(max_size=300), st.text(max_size=300))
def test_any_html_gives_text_and_never_raises(text: str, html: str) -> None:
    assert isinstance(new_content(text, html=html), str)


@pytest.mark.parametrize(
    "unit",
    [
        "On Monday wrote wrote wrote From: x\n> quoted line\nSent: To: Subject: \n",
        "On 25.11.2026 16:02 a@b.c\n" * 3 + "-- \n",
        "<blockquote><div>On 25.11.2026 Bob wrote:<br>",
        "<a <b <!x -- --> </p></div>" * 3,
    ],
)
def test_huge_text_takes_linear_time(unit: str) -> None:
    tenth, huge = unit * 300, unit * 3000

    def seconds(value: str) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            if unit.startswith("<"):
                new_content("", html=value)
            else:
                new_content(value)
            best = min(best, time.process_time() - start)
        return best

    assert seconds(huge) < 35 * max(seconds(tenth), 1e-4)


def test_reply_header_wrapped_with_non_ascii_digits_is_recognised() -> None:
    # Full-width digits count as digits for a wrapped header, as ASCII ones do.
    header = "On Wed, Nov ２５ at ４:０２ PM Helpdesk\n<support@helpdesk.example>\nwrote:"
    assert new_content(f"{REPLY}\n\n{header}\n\n{QUOTE}") == REPLY
