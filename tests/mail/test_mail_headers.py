"""The faster Content-Type headers are the standard library's, value for value."""

from __future__ import annotations

import email.message
import email.parser
import email.policy
from email.headerregistry import HeaderRegistry

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mail_support import folded

from issuecore.mail._headers import (
    MimeHeaderFactory,
    ParsedMessage,
    ReadingPolicy,
    _plain_content_type,
    plain_parameters,
    plain_type_parameters,
)

STOCK = HeaderRegistry()

token = st.from_regex(r"[A-Za-z0-9!#$%&'+.^_`{|}~-]{1,12}", fullmatch=True)
quoted = st.text(
    st.characters(codec="ascii", exclude_characters='"\\\r\n'), min_size=0, max_size=12
).map(lambda text: f'"{text}"')
spaces = st.sampled_from(["", " ", "  ", "\t", " \t"])
param = st.builds(
    lambda gap, name, eq, value, tail: f";{gap}{name}{eq}{value}{tail}",
    spaces,
    token,
    st.sampled_from(["=", " =", "= "]),
    st.one_of(token, quoted),
    spaces,
)
content_types = st.builds(
    lambda lead, kind, sub, gap, params, end: f"{lead}{kind}/{sub}{gap}{''.join(params)}{end}",
    spaces,
    token,
    token,
    spaces,
    st.lists(param, max_size=4),
    st.sampled_from(["", ";", " ", "(comment)", "; x*=utf-8''a", '; y="a\\"b"']),
)


def _same(value: str) -> None:
    try:
        stock = STOCK("Content-Type", value)
    except Exception as error:  # the standard parser has bugs of its own; share them exactly
        with pytest.raises(type(error)):
            MimeHeaderFactory()("Content-Type", value)
        return
    fast = MimeHeaderFactory()("Content-Type", value)
    assert str(fast) == str(stock)
    assert fast.content_type == stock.content_type  # type: ignore[attr-defined]
    assert dict(fast.params) == dict(stock.params)  # type: ignore[attr-defined]
    assert [type(d) for d in fast.defects] == [type(d) for d in stock.defects]
    assert folded(fast) == folded(stock)


@given(content_types)
def test_generated_content_types_read_like_the_standard_library(value: str) -> None:
    _same(value)


@given(st.text(max_size=60))
def test_any_text_as_content_type_reads_like_the_standard_library(value: str) -> None:
    _same(value)


@pytest.mark.parametrize(
    "value",
    [
        'text/plain; charset="UTF-8"',
        'multipart/alternative;\tboundary="_000_AM0PR07MB4865_"',
        "text/plain; charset=us-ascii; format=flowed",
        'image/png; x-unix-mode=0644; name="blinking.png"',
    ],
)
def test_plain_content_types_take_the_direct_path(value: str) -> None:
    assert _plain_content_type(value) is not None
    _same(value)


@pytest.mark.parametrize(
    "value",
    [
        "text/plain; charset*=utf-8''x",
        "text/plain (comment)",
        'text/plain; name="a\\"b"',
        "text/plain; a=b; a=c",
        "text/plain;",
        'text/plain; charset=""',
        "text/plain ",
        "text",
        'text/plain; name="=?utf-8?q?x?="',
    ],
)
def test_unusual_content_types_go_to_the_standard_parser(value: str) -> None:
    assert _plain_content_type(value) is None
    _same(value)


plain_token = st.from_regex(r"[A-Za-z0-9!#$%&+.^_`{|}~-]{1,12}", fullmatch=True)
plain_name = st.from_regex(r"[A-Za-z0-9!#$&+.^_`{|}~-]{1,12}", fullmatch=True)
plain_quoted = st.from_regex(r'"[ !#-\[\]-~]{1,12}"', fullmatch=True)
plain_content_types = st.builds(
    lambda kind, sub, params: f"{kind}/{sub}" + "".join(params),
    plain_token,
    plain_token,
    st.lists(
        st.builds(lambda n, v: f"; {n}={v}", plain_name, st.one_of(plain_token, plain_quoted)),
        max_size=4,
        unique_by=lambda text: text.split("=", 1)[0].lower(),
    ),
)


@given(plain_content_types)
def test_plain_generated_content_types_take_the_direct_path_and_agree(value: str) -> None:
    if "=?" in value:
        return
    assert _plain_content_type(value) is not None
    _same(value)


dispositions = st.builds(
    lambda kind, params: kind + "".join(params),
    st.sampled_from(["attachment", "inline", "Attachment", " inline "]),
    st.lists(st.one_of(param, st.sampled_from(["; filename*=utf-8''a%20b", "; size=12"]))),
)


@given(dispositions)
def test_plain_dispositions_give_the_standard_parameters(value: str) -> None:
    plain = plain_parameters(value)
    if plain is None:
        return
    stock = STOCK("Content-Disposition", value)
    assert plain[0] == stock.content_disposition  # type: ignore[attr-defined]
    assert plain[1] == dict(stock.params)  # type: ignore[attr-defined]
    assert not stock.defects


@given(plain_content_types)
def test_plain_content_type_parameters_agree_with_the_header_object(value: str) -> None:
    plain = plain_parameters(value)
    if "=?" in value:
        return
    assert plain is not None
    stock = STOCK("Content-Type", value)
    assert plain == (stock.content_type, dict(stock.params))  # type: ignore[attr-defined]


@given(st.one_of(content_types, plain_content_types, st.text(max_size=30)))
def test_the_parameters_of_a_plain_content_type_are_those_of_the_plain_reading(value: str) -> None:
    typed = plain_type_parameters(value)
    if typed is not None:  # the header objects' reading, shared with parameter look-ups
        plain = plain_parameters(value)
        assert plain is not None
        assert dict(typed) == dict(plain[1])
        assert plain[0].count("/") == 1


def test_plain_content_type_parameters_are_forgotten_with_the_headers() -> None:
    factory = MimeHeaderFactory()
    factory.cache_clear()
    assert plain_type_parameters("text/plain; charset=utf-8") == {"charset": "utf-8"}
    assert _plain_content_type.cache_info().currsize == 1
    factory.cache_clear()
    assert _plain_content_type.cache_info().currsize == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            'attachment; filename="Invoice 2026-11.eml"',
            ("attachment", {"filename": "Invoice 2026-11.eml"}),
        ),
        ("inline;\tfilename=blinking.png", ("inline", {"filename": "blinking.png"})),
        ("attachment; filename*=UTF-8''R%C3%A4", None),
        ('attachment; filename="=?utf-8?q?R=C3=A4?="', None),
    ],
)
def test_plain_parameters_of_common_dispositions(
    value: str, expected: tuple[str, dict[str, str]] | None
) -> None:
    assert plain_parameters(value) == expected


@given(
    st.sampled_from(["Content-Type", "content-transfer-encoding", "Subject", "From", "X-Other"]),
    st.one_of(content_types, st.text(max_size=60)),
    st.lists(st.sampled_from(["\r\n ", "\n\t", "\r", "\n"]), max_size=2),
)
def test_the_reading_policy_fetches_headers_as_policy_default_does(
    name: str, value: str, breaks: list[str]
) -> None:
    folded = "".join(breaks) + value if breaks else value
    stock = email.policy.default.clone(header_factory=MimeHeaderFactory())
    reading = ReadingPolicy(header_factory=MimeHeaderFactory())
    try:
        expected = stock.header_fetch_parse(name, folded)
    except Exception as error:  # the standard parser's own failures are shared exactly
        with pytest.raises(type(error)):
            reading.header_fetch_parse(name, folded)
        return
    fetched = reading.header_fetch_parse(name, folded)
    # each factory makes its own header class per name: compare the classes by name
    assert (type(fetched).__name__, str(fetched)) == (type(expected).__name__, str(expected))
    assert [type(d) for d in fetched.defects] == [type(d) for d in expected.defects]


def _tree(message: email.message.Message) -> list[tuple[object, ...]]:
    return [
        (
            part.get_content_type(),
            part.get_default_type(),
            part.is_multipart(),
            part.get_payload() if not part.is_multipart() else len(part.get_payload()),
            [type(defect).__name__ for defect in part.defects],
        )
        for part in message.walk()
    ]


part_types = st.one_of(
    content_types,
    st.sampled_from(["multipart/mixed; boundary=b", "multipart/digest; boundary=b", "text/html"]),
)


@given(
    st.lists(st.lists(part_types, max_size=2), min_size=1, max_size=4),
    st.sampled_from(["multipart/mixed", "multipart/digest", "multipart/alternative"]),
)
def test_parsed_messages_read_like_email_messages(parts: list[list[str]], outer: str) -> None:
    # each part has zero, one or two Content-Type headers; nested "b" boundaries are fine too
    body = "".join(
        "--a\n" + "".join(f"Content-Type: {value}\n" for value in values) + "\n--b\nx\n--b--\n"
        for values in parts
    )
    raw = f"From: a@example.com\nContent-Type: {outer}; boundary=a\n\n{body}--a--\n".encode()
    reading = ReadingPolicy(header_factory=MimeHeaderFactory())
    ours = email.parser.BytesParser(policy=reading).parsebytes(raw)
    stock = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(ours, ParsedMessage)
    assert _tree(ours) == _tree(stock)
    assert _tree(ours) == _tree(stock)  # asked again: the remembered answers


def test_a_parsed_message_reads_its_content_type_again_after_any_change() -> None:
    raw = b"Content-Type: text/plain\n\nhi\n"
    message = email.parser.BytesParser(
        policy=ReadingPolicy(header_factory=MimeHeaderFactory())
    ).parsebytes(raw)
    assert message.get_content_type() == "text/plain"
    message.replace_header("Content-Type", "text/html")
    assert message.get_content_type() == "text/html"
    del message["Content-Type"]
    assert message.get_content_type() == "text/plain"
    message.set_default_type("message/rfc822")
    assert message.get_content_type() == "message/rfc822"
    message["Content-Type"] = "image/png"
    assert message.get_content_type() == "image/png"
    message.set_raw("Content-Type", "audio/ogg")  # a second one: the first still decides
    assert message.get_content_type() == "image/png"
    message.replace_header("Content-Type", "video/mp4")
    assert message.get_content_type() == "video/mp4"


def _mutations() -> st.SearchStrategy[list[tuple[str, str]]]:
    values = st.sampled_from(
        ["text/html", "image/png; name=a.png", "multipart/mixed; boundary=z", "text", ""]
    )
    names = st.sampled_from(["Content-Type", "content-type", "Subject", "X-Other"])
    operations = st.one_of(
        st.tuples(st.just("set"), names, values),
        st.tuples(st.just("set_raw"), names, values),
        st.tuples(st.just("replace"), names, values),
        st.tuples(st.just("delete"), names, st.just("")),
        st.tuples(
            st.just("default"), st.just(""), st.sampled_from(["message/rfc822", "text/plain"])
        ),
        st.tuples(st.just("param"), st.just("charset"), st.sampled_from(["utf-8", "latin-1"])),
        st.tuples(st.just("boundary"), st.just(""), st.just("new-boundary")),
        st.tuples(st.just("mixed"), st.just(""), st.just("")),
        st.tuples(st.just("clear"), st.just(""), st.just("")),
    )
    return st.lists(st.tuples(operations, st.booleans()), max_size=12).map(
        lambda steps: [(f"{op}:{ask}", f"{name}\0{value}") for (op, name, value), ask in steps]
    )


def _apply(message: email.message.EmailMessage, operation: str, argument: str) -> None:
    op = operation.split(":")[0]
    name, value = argument.split("\0")
    if op == "set":
        message[name] = value
    elif op == "set_raw":
        message.set_raw(name, value)
    elif op == "replace":
        message.replace_header(name, value)
    elif op == "delete":
        del message[name]
    elif op == "default":
        message.set_default_type(value)
    elif op == "param":
        message.set_param(name, value)
    elif op == "boundary":
        message.set_boundary(value)
    elif op == "mixed":
        message.make_mixed()
    else:
        message.clear()


@given(_mutations())
def test_a_parsed_message_gives_the_content_type_an_email_message_gives_after_any_changes(
    steps: list[tuple[str, str]],
) -> None:
    raw = b"Subject: s\nContent-Type: text/plain; charset=us-ascii\nX-Other: o\n\nhi\n"
    ours = email.parser.BytesParser(
        policy=ReadingPolicy(header_factory=MimeHeaderFactory())
    ).parsebytes(raw)
    stock = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    assert ours.get_content_type() == stock.get_content_type()
    for operation, argument in steps:
        outcomes = []
        for message in (ours, stock):
            try:
                _apply(message, operation, argument)  # type: ignore[arg-type]
                outcomes.append("done")
            except Exception as error:  # both refuse the same changes
                outcomes.append(type(error).__name__)
        assert outcomes[0] == outcomes[1]
        if operation.endswith(":True"):  # asked between changes, or only at the end
            assert ours.get_content_type() == stock.get_content_type()
    assert ours.get_content_type() == stock.get_content_type()
    assert ours.get_content_type() == stock.get_content_type()  # asked again: remembered
