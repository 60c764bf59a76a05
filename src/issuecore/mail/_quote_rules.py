"""The words mail clients put around quoted history, as data keyed by language.

Adding a language is adding a row to :data:`LANGUAGES`; :mod:`issuecore.mail._quotes`
never names a word itself. Every phrase is matched whole (lower-cased, spaces
collapsed), never as a pattern, so matching stays linear.

A reply header takes one of the :class:`HeaderOrder` shapes; each row says which
of them its clients write, so the orders a language uses are data too.
"""
# The words of other scripts are the data here, not look-alikes of Latin letters.
# ruff: noqa: RUF001

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

__all__ = [
    "DECORATION",
    "HEADER_LINE_SPLITS",
    "LANGUAGES",
    "FieldRole",
    "HeaderOrder",
    "Language",
    "Lexicon",
    "lexicon",
]


class HeaderOrder(enum.Enum):
    """Where a reply header puts its date, name and verb."""

    OPENER_DATE_NAME_VERB = "On DATE, NAME wrote:"
    OPENER_DATE_VERB_NAME = "Am DATE schrieb NAME:"
    DATE_NAME_VERB = "DATE, NAME írta:"
    DATE_VERB_NAME = "DATE skrev NAME:"
    DATE_NAME = "DATE, NAME <ADDRESS>:"  # has no words, so every language has it
    NAME_VERB = "NAME <ADDRESS> wrote:"


class FieldRole(enum.Enum):
    """What a line of an Outlook-style header block says."""

    FROM = "from"
    DATE = "date"
    TO = "to"
    CC = "cc"
    SUBJECT = "subject"


@attrs.frozen(kw_only=True)
class Language:
    """One language's reply headers, separators, header-block labels and client signatures."""

    code: str
    openers: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    verbs_before_name: tuple[str, ...] = ()
    orders: frozenset[HeaderOrder] = frozenset(
        {HeaderOrder.OPENER_DATE_NAME_VERB, HeaderOrder.NAME_VERB}
    )
    original_message: tuple[str, ...] = ()
    forwarded: tuple[str, ...] = ()
    labels: Mapping[FieldRole, tuple[str, ...]] = attrs.field(factory=dict)
    client_signatures: tuple[str, ...] = ()
    client_signature_brands: tuple[str, ...] = ()
    client_signature_endings: tuple[str, ...] = ()
    list_footers: tuple[str, ...] = ()


_F, _D, _T, _C, _S = (FieldRole.FROM, FieldRole.DATE, FieldRole.TO, FieldRole.CC, FieldRole.SUBJECT)
_O = HeaderOrder

LANGUAGES: Final[tuple[Language, ...]] = (
    Language(
        code="en",
        openers=("on",),
        verbs=("wrote", "a wrote", "writes", "has written"),
        original_message=("original message", "reply message"),
        forwarded=("forwarded message", "begin forwarded message", "forwarded by"),
        labels={
            _F: ("from",),
            _D: ("sent", "date"),
            _T: ("to",),
            _C: ("cc", "bcc"),
            _S: ("subject",),
        },
        client_signatures=("sent from my", "sent via my", "get outlook for"),
        client_signature_brands=("sent from", "sent via", "sent using", "sent with"),
        list_footers=("mailing list",),
    ),
    Language(
        code="de",
        openers=("am",),
        verbs=("geschrieben", "schrieb"),
        verbs_before_name=("schrieb",),
        orders=frozenset({_O.OPENER_DATE_VERB_NAME, _O.OPENER_DATE_NAME_VERB, _O.NAME_VERB}),
        original_message=("ursprüngliche nachricht", "original nachricht", "originalnachricht"),
        forwarded=(
            "weitergeleitete nachricht",
            "weitergeleitete e-mail",
            "anfang der weitergeleiteten nachricht",
        ),
        labels={
            _F: ("von",),
            _D: ("gesendet", "datum"),
            _T: ("an",),
            _C: ("cc", "kopie"),
            _S: ("betreff",),
        },
        client_signatures=("von meinem", "gesendet von", "gesendet mit"),
        client_signature_endings=("gesendet",),
    ),
    Language(
        code="fr",
        openers=("le",),
        verbs=("a écrit", "écrit", "a ecrit"),
        original_message=("message d'origine", "message original", "message d’origine"),
        forwarded=("message transféré", "début du message réexpédié", "message transmis"),
        labels={
            _F: ("de",),
            _D: ("envoyé", "envoyé le", "date", "message du"),
            _T: ("à", "a", "pour"),
            _C: ("cc", "copie à", "copie"),
            _S: ("objet", "sujet"),
        },
        client_signatures=("envoyé de mon", "envoyé depuis mon"),
        client_signature_brands=("envoyé à partir de", "envoyé avec", "envoyé depuis"),
    ),
    Language(
        code="es",
        openers=("el",),
        verbs=("escribió", "escribio", "ha escrito"),
        original_message=("mensaje original",),
        forwarded=("mensaje reenviado", "mensaje enviado", "inicio del mensaje reenviado"),
        labels={
            _F: ("de",),
            _D: ("enviado", "enviado el", "fecha"),
            _T: ("para",),
            _C: ("cc", "copia"),
            _S: ("asunto",),
        },
        client_signatures=("enviado desde mi",),
        client_signature_brands=("enviado desde", "enviado con"),
    ),
    Language(
        code="it",
        openers=("il", "il giorno", "in data"),
        verbs=("ha scritto", "scrisse"),
        original_message=("messaggio originale",),
        forwarded=("messaggio inoltrato", "inizio messaggio inoltrato"),
        labels={
            _F: ("da",),
            _D: ("inviato", "data", "inviato il"),
            _T: ("a", "per"),
            _C: ("cc", "copia"),
            _S: ("oggetto",),
        },
        client_signatures=("inviato dal mio", "inviato da iphone"),
        client_signature_brands=("inviato da", "inviato con"),
    ),
    Language(
        code="nl",
        openers=("op",),
        verbs=("schreef", "geschreven", "het volgende geschreven", "heeft geschreven"),
        verbs_before_name=("schreef",),
        orders=frozenset({_O.OPENER_DATE_VERB_NAME, _O.OPENER_DATE_NAME_VERB, _O.NAME_VERB}),
        original_message=("oorspronkelijk bericht", "origineel bericht"),
        forwarded=("doorgestuurd bericht", "begin doorgestuurd bericht"),
        labels={
            _F: ("van",),
            _D: ("verzonden", "datum", "verstuurd"),
            _T: ("aan",),
            _C: ("cc",),
            _S: ("onderwerp",),
        },
        client_signatures=("verzonden vanaf mijn", "verstuurd vanaf mijn", "verzonden met"),
    ),
    Language(
        code="pt",
        openers=("em", "no dia", "a"),
        verbs=("escreveu",),
        original_message=("mensagem original",),
        forwarded=(
            "mensagem encaminhada",
            "mensagem reencaminhada",
            "início da mensagem reencaminhada",
        ),
        labels={
            _F: ("de",),
            _D: ("enviada em", "enviado", "enviado em", "data"),
            _T: ("para",),
            _C: ("cc",),
            _S: ("assunto",),
        },
        client_signatures=("enviado do meu", "enviado de meu", "enviado pelo"),
    ),
    Language(
        code="pl",
        openers=("w dniu", "dnia", "dn."),
        verbs=("napisał", "napisała", "napisał(a)", "pisze", "napisał/a"),
        original_message=("oryginalna wiadomość", "wiadomość oryginalna"),
        forwarded=("przekazana wiadomość", "wiadomość przekazana", "przesłana wiadomość"),
        labels={
            _F: ("od", "nadawca"),
            _D: ("wysłano", "wysłane", "data"),
            _T: ("do",),
            _C: ("dw", "kopia"),
            _S: ("temat",),
        },
        client_signatures=("wysłane z mojego", "wysłano z mojego", "wysłane z", "wysłano z"),
    ),
    Language(
        code="da",
        openers=("den", "d.", "på"),
        verbs=("skrev",),
        verbs_before_name=("skrev",),
        orders=frozenset({_O.OPENER_DATE_VERB_NAME, _O.OPENER_DATE_NAME_VERB, _O.DATE_VERB_NAME}),
        original_message=("oprindelig meddelelse", "original meddelelse"),
        forwarded=("videresendt meddelelse", "videresendt besked", "start på videresendt besked"),
        labels={_F: ("fra",), _D: ("sendt", "dato"), _T: ("til",), _C: ("cc",), _S: ("emne",)},
        client_signatures=("sendt fra min",),
    ),
    Language(
        code="nb",
        openers=("den", "på"),
        verbs=("skrev",),
        verbs_before_name=("skrev",),
        orders=frozenset({_O.OPENER_DATE_VERB_NAME, _O.OPENER_DATE_NAME_VERB, _O.DATE_VERB_NAME}),
        original_message=("opprinnelig melding", "original melding"),
        forwarded=("videresendt melding", "videresendt e-post", "start på videresendt melding"),
        labels={
            _F: ("fra",),
            _D: ("sendt", "dato"),
            _T: ("til",),
            _C: ("kopi", "cc"),
            _S: ("emne",),
        },
        client_signatures=("sendt fra min",),
    ),
    Language(
        code="sv",
        openers=("den", "på"),
        verbs=("skrev",),
        verbs_before_name=("skrev",),
        orders=frozenset({_O.OPENER_DATE_VERB_NAME, _O.OPENER_DATE_NAME_VERB, _O.DATE_VERB_NAME}),
        original_message=("ursprungligt meddelande", "originalmeddelande"),
        forwarded=("vidarebefordrat meddelande", "början på vidarebefordrat meddelande"),
        labels={
            _F: ("från",),
            _D: ("skickat", "datum"),
            _T: ("till",),
            _C: ("kopia", "cc"),
            _S: ("ämne",),
        },
        client_signatures=("skickat från min", "skickat från"),
    ),
    Language(
        code="fi",
        orders=frozenset({_O.DATE_NAME_VERB, _O.NAME_VERB}),
        verbs=("kirjoitti",),
        original_message=("alkuperäinen viesti",),
        forwarded=("välitetty viesti", "välitetty sähköposti"),
        labels={
            _F: ("lähettäjä",),
            _D: ("lähetetty", "päivämäärä"),
            _T: ("vastaanottaja",),
            _C: ("kopio",),
            _S: ("aihe",),
        },
        client_signatures=("lähetetty iphonesta",),
        client_signature_brands=("lähetetty",),
    ),
    Language(
        code="hu",
        orders=frozenset({_O.DATE_NAME_VERB, _O.NAME_VERB}),
        verbs=("írta", "írt"),
        original_message=("eredeti üzenet",),
        forwarded=("továbbított üzenet",),
        labels={
            _F: ("feladó",),
            _D: ("elküldve", "dátum", "küldve"),
            _T: ("címzett",),
            _C: ("másolat",),
            _S: ("tárgy",),
        },
        client_signature_endings=("küldve",),
    ),
    Language(
        code="ru",
        openers=("в",),
        verbs=("написал", "написала", "написал(а)", "пишет", "писал", "писал(а)"),
        orders=frozenset({_O.DATE_NAME_VERB, _O.NAME_VERB, _O.OPENER_DATE_NAME_VERB}),
        original_message=("исходное сообщение", "оригинальное сообщение"),
        forwarded=("пересылаемое сообщение", "пересланное сообщение", "перенаправленное сообщение"),
        labels={
            _F: ("от", "отправитель"),
            _D: ("отправлено", "дата", "отправлен"),
            _T: ("кому",),
            _C: ("копия",),
            _S: ("тема",),
        },
        client_signatures=("отправлено с", "отправлено из"),
    ),
    Language(
        code="uk",
        verbs=("написав", "написала", "написав(ла)", "пише"),
        orders=frozenset({_O.DATE_NAME_VERB, _O.NAME_VERB}),
        original_message=("оригінальне повідомлення", "початкове повідомлення"),
        forwarded=("переслане повідомлення", "пересланий лист"),
        labels={
            _F: ("від",),
            _D: ("надіслано", "дата"),
            _T: ("кому",),
            _C: ("копія",),
            _S: ("тема",),
        },
        client_signatures=("надіслано з",),
    ),
    Language(
        code="cs",
        openers=("dne",),
        verbs=("napsal", "napsala", "napsal(a)"),
        orders=frozenset({_O.OPENER_DATE_NAME_VERB, _O.DATE_NAME_VERB}),
        original_message=("původní zpráva", "původní e-mail"),
        forwarded=("přeposlaná zpráva",),
        labels={
            _F: ("od",),
            _D: ("odesláno", "datum"),
            _T: ("komu",),
            _C: ("kopie",),
            _S: ("předmět",),
        },
        client_signatures=("odesláno z",),
    ),
    Language(
        code="ca",
        openers=("el", "el dia"),
        verbs=("va escriure", "ha escrit", "escrigué"),
        original_message=("missatge original",),
        forwarded=("missatge reenviat",),
        labels={
            _F: ("de",),
            _D: ("enviat", "data"),
            _T: ("per a", "a"),
            _C: ("a/c", "cc"),
            _S: ("assumpte",),
        },
        client_signatures=("enviat des del meu", "enviat des de"),
    ),
    Language(
        code="ro",
        openers=("pe", "în"),
        verbs=("a scris",),
        original_message=("mesaj original",),
        forwarded=("mesaj redirecționat",),
        labels={_F: ("de la",), _D: ("trimis", "data"), _T: ("către",), _S: ("subiect",)},
    ),
    Language(
        code="tr",
        verbs=("yazdı", "şunu yazdı"),
        orders=frozenset({_O.DATE_NAME_VERB, _O.NAME_VERB}),
        original_message=("özgün ileti", "orijinal mesaj"),
        forwarded=("iletilmiş ileti", "iletilen mesaj"),
        labels={_F: ("kimden",), _D: ("gönderildi", "tarih"), _T: ("kime",), _S: ("konu",)},
    ),
    Language(
        code="el",
        openers=("στις",),
        verbs=("έγραψε",),
        original_message=("αρχικό μήνυμα",),
        forwarded=("προωθημένο μήνυμα",),
        labels={_F: ("από",), _D: ("στάλθηκε", "ημερομηνία"), _T: ("προς",), _S: ("θέμα",)},
    ),
    Language(
        code="vi",
        openers=("vào",),
        verbs=("đã viết", "viết"),
        original_message=("thư gốc",),
        forwarded=("thư được chuyển tiếp", "tin nhắn đã chuyển tiếp"),
        labels={_F: ("từ",), _D: ("đã gửi", "ngày", "gửi"), _T: ("đến", "tới"), _S: ("chủ đề",)},
        client_signatures=("gửi từ",),
    ),
    Language(
        code="zh",
        verbs=("写道", "寫道", "写了", "寫了"),
        orders=frozenset({_O.NAME_VERB, _O.DATE_NAME_VERB}),
        original_message=("原始邮件", "原始郵件", "原邮件"),
        forwarded=("转发的邮件", "轉寄的郵件", "转发邮件"),
        labels={
            _F: ("发件人", "寄件者", "寄件人"),
            _D: ("发送时间", "日期", "寄件日期", "時間"),
            _T: ("收件人", "收件者"),
            _C: ("抄送", "副本"),
            _S: ("主题", "主旨"),
        },
        client_signatures=("发自我的", "從我的", "从我的"),
    ),
    Language(
        code="ja",
        verbs=("のメッセージ", "書きました", "は書きました", "さんは書きました"),
        orders=frozenset({_O.DATE_NAME_VERB, _O.NAME_VERB}),
        original_message=("元のメッセージ", "オリジナル メッセージ"),
        forwarded=("転送されたメッセージ", "転送メッセージ"),
        labels={
            _F: ("差出人", "送信者"),
            _D: ("送信日時", "日付"),
            _T: ("宛先",),
            _C: ("cc",),
            _S: ("件名",),
        },
        client_signature_endings=("から送信",),
    ),
    Language(
        code="ko",
        verbs=("작성", "님이 작성", "작성했습니다"),
        orders=frozenset({_O.DATE_NAME_VERB, _O.NAME_VERB}),
        original_message=("원본 메시지", "원래 메시지"),
        forwarded=("전달된 메시지", "전달 메시지"),
        labels={
            _F: ("보낸 사람",),
            _D: ("보낸 날짜", "날짜"),
            _T: ("받는 사람",),
            _C: ("참조",),
            _S: ("제목",),
        },
        client_signature_endings=("에서 보냄",),
    ),
)

DECORATION: Final = "-=_*~—– \t"
"""Characters wrapped around a header or separator ("---- Bob wrote ----") and ignored."""

HEADER_LINE_SPLITS: Final = 5
"""A reply header may be wrapped over at most this many lines (blank lines included)."""


@attrs.frozen(kw_only=True)
class Lexicon:
    """Every language's rows merged into look-up sets, built once."""

    openers: frozenset[str]
    longest_opener: int
    verbs_by_last_word: Mapping[str, frozenset[str]]
    joined_verbs: tuple[str, ...]
    verbs_before_name: frozenset[str]
    orders_by_verb: Mapping[str, frozenset[HeaderOrder]]
    original_message: frozenset[str]
    forwarded: frozenset[str]
    labels: Mapping[str, FieldRole]
    longest_label: int
    client_signatures: tuple[str, ...]
    client_signature_brands: tuple[str, ...]
    client_signature_endings: tuple[str, ...]
    list_footers: tuple[str, ...]


def _is_spaced(phrase: str) -> bool:
    return all(not _ideographic(char) for char in phrase)


def _ideographic(char: str) -> bool:
    return "\u3000" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af"


def lexicon(languages: Iterable[Language] = LANGUAGES) -> Lexicon:
    """Return the look-up sets for ``languages`` (all of :data:`LANGUAGES` by default)."""
    languages = tuple(languages)
    by_last: dict[str, set[str]] = {}
    joined: list[str] = []
    orders: dict[str, set[HeaderOrder]] = {}
    labels: dict[str, FieldRole] = {}
    for language in languages:
        for verb in language.verbs + language.verbs_before_name:
            orders.setdefault(verb, set()).update(language.orders)
            if _is_spaced(verb):
                by_last.setdefault(verb.split()[-1], set()).add(verb)
            else:
                joined.append(verb)
        for role, names in language.labels.items():
            for name in names:
                labels.setdefault(name, role)
    return Lexicon(
        openers=frozenset(opener for lang in languages for opener in lang.openers),
        longest_opener=max(len(o.split()) for lang in languages for o in lang.openers),
        verbs_by_last_word={word: frozenset(verbs) for word, verbs in by_last.items()},
        joined_verbs=tuple(sorted(set(joined), key=len, reverse=True)),
        verbs_before_name=frozenset(v for lang in languages for v in lang.verbs_before_name),
        orders_by_verb={verb: frozenset(found) for verb, found in orders.items()},
        original_message=frozenset(p for lang in languages for p in lang.original_message),
        forwarded=frozenset(p for lang in languages for p in lang.forwarded),
        labels=labels,
        longest_label=max(len(name) for name in labels),
        client_signatures=tuple(p for lang in languages for p in lang.client_signatures),
        client_signature_brands=tuple(
            p for lang in languages for p in lang.client_signature_brands
        ),
        client_signature_endings=tuple(
            p for lang in languages for p in lang.client_signature_endings
        ),
        list_footers=tuple(p for lang in languages for p in lang.list_footers),
    )
