"""Write examples/support.mbox: a month of support mail for Brightwater, a coffee-machine maker.

The mailbox is made for issuecore's intake: new requests, replies found by
In-Reply-To and by References, a forward, attachments, out-of-office
answers (Exchange and Gmail style), a read receipt, a bounce, mailing-list
mail, a stranger trying to get into someone else's thread with a forged
reference, the same message delivered twice, and a message without a
readable sender. ``EXPECTED`` says what each message must become when the
mailbox is ingested, in order, into an empty desk.

Nothing in it depends on the year it is ingested in: replies name the
messages they answer by Message-ID, never an issue number (issue numbers
carry the year of the desk's clock, so a subject token written today would
name no issue next year). The output is deterministic::

    python examples/make_mailbox.py                  # writes examples/support.mbox
    python examples/make_mailbox.py --output /tmp/support.mbox
"""

from __future__ import annotations

import argparse
import email
import io
from collections.abc import Sequence
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

SUPPORT = "Brightwater Support <support@brightwater.example>"
POLICY = default_policy.clone(linesep="\n", max_line_length=78)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8ffff3f0005fe02fea7d6a4a10000000049454e44ae426082"
)
PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)
OGG = b"OggS\x00\x02" + bytes(range(64))
# A reference dressed up as one of the desk's signed Message-IDs (for issue 2) with a made-up
# signature: what someone who saw a reply's headers, but has no key, could put together.
FORGED = (
    "<ic1.4953532d323032362d3030303032.5f1d2e3c4b5a6978"
    ".0123456789abcdef0123456789abcdef@brightwater.example>"
)

BOUNCE = b"""\
From: Mail Delivery System <MAILER-DAEMON@mx.brightwater.example>
To: support@brightwater.example
Subject: Undelivered Mail Returned to Sender
Date: Tue, 03 Mar 2026 10:12:00 +0100
Message-ID: <20260303091200.4F1A2@mx.brightwater.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="4F1A2.1772529120/mx"

This is a MIME-encapsulated message.

--4F1A2.1772529120/mx
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.brightwater.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<gustav@bakery-gold.example>: host mx.bakery-gold.example said:
    552 5.2.2 mailbox full

--4F1A2.1772529120/mx
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.brightwater.example
Arrival-Date: Tue,  3 Mar 2026 10:11:58 +0100

Final-Recipient: rfc822; gustav@bakery-gold.example
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 mailbox full

--4F1A2.1772529120/mx
Content-Type: text/rfc822-headers

From: Brightwater Support <support@brightwater.example>
To: gustav@bakery-gold.example
Subject: Re: Milk frother not heating
Message-ID: <ic1.returned.example@brightwater.example>

--4F1A2.1772529120/mx--
"""

# What each message must become, in mailbox order (issue numbers without the year).
EXPECTED: list[tuple[str, int | None]] = []


class Mailbox:
    """Collects the messages and what each must become."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, EmailMessage]] = []
        self.clock = 0

    def mail(
        self,
        expected: str,
        issue: int | None,
        *,
        sender: str,
        subject: str,
        body: str,
        message_id: str,
        to: str = SUPPORT,
        cc: str | None = None,
        in_reply_to: str | None = None,
        references: list[str] | None = None,
        headers: dict[str, str] | None = None,
        attachments: Sequence[tuple[str, str, bytes]] = (),
        html: str | None = None,
    ) -> EmailMessage:
        self.clock += 1
        day = 2 + self.clock // 4
        hour = 8 + (self.clock * 3) % 9
        minute = (self.clock * 17) % 60
        message = EmailMessage(policy=POLICY)
        message["From"] = sender
        message["To"] = to
        if cc:
            message["Cc"] = cc
        message["Subject"] = subject
        message["Date"] = f"{_weekday(day)}, {day:02d} Mar 2026 {hour:02d}:{minute:02d}:00 +0100"
        message["Message-ID"] = message_id
        if in_reply_to:
            message["In-Reply-To"] = in_reply_to
        if references:
            message["References"] = " ".join(references)
        for name, value in (headers or {}).items():
            message[name] = value
        message["MIME-Version"] = "1.0"
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
        for filename, content_type, data in attachments:
            maintype, subtype = content_type.split("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        address = message["From"].addresses[0].addr_spec if message["From"].addresses else ""
        self.add(expected, issue, message, envelope=address or "MAILER-DAEMON")
        return message

    def redeliver(self, expected: str, issue: int | None, message: EmailMessage) -> None:
        self.clock += 1
        address = message["From"].addresses[0].addr_spec
        self.add(expected, issue, message, envelope=address)

    def add(
        self, expected: str, issue: int | None, message: EmailMessage, *, envelope: str
    ) -> None:
        EXPECTED.append((expected, issue))
        self.messages.append((envelope, message))

    def write(self, path: Path) -> None:
        buffer = io.BytesIO()
        for index, (envelope, message) in enumerate(self.messages):
            _fix_boundaries(message, index)
            day = 2 + index // 4
            buffer.write(
                f"From {envelope} {_weekday(day)[:3]} Mar {day:2d} 09:00:00 2026\n".encode()
            )
            generator = BytesGenerator(buffer, mangle_from_=True, policy=POLICY)
            generator.flatten(message)
            if not buffer.getvalue().endswith(b"\n"):
                buffer.write(b"\n")
            buffer.write(b"\n")
        path.write_bytes(buffer.getvalue())


def _fix_boundaries(message: EmailMessage, index: int) -> None:
    # The email package draws random boundaries; fixed ones keep the file deterministic.
    for number, part in enumerate(message.walk()):
        boundary = part.get_boundary() or ""
        if part.is_multipart() and not boundary.startswith(("4F1A2", "==bw-")):
            part.set_boundary(f"==bw-{index:02d}-{number}==")


def _weekday(day: int) -> str:
    # 1 March 2026 is a Sunday.
    return ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][(day - 1) % 7]


def build() -> Mailbox:
    """Return the mailbox with every message, in the order they arrive."""
    EXPECTED.clear()
    box = Mailbox()
    m = box.mail

    ana_1 = "<20260302.leak.1@mail.fjordline.example>"
    m(
        "created",
        1,
        sender="Ana Lindqvist <ana@fjordline.example>",
        subject="Espresso machine leaks water",
        message_id=ana_1,
        body=(
            "Hello,\n\nour Brightwater Pro 2 (serial BW-PRO-11873) leaks water from the\n"
            "bottom since this morning. There is a puddle under the machine after\n"
            "every second cup. Can you help?\n\nAna Lindqvist\nFjordline Ferries, galley 3\n"
        ),
    )
    bruno_1 = "<CAF.bruno.1@cafe-rossi.example>"
    m(
        "created",
        2,
        sender="Bruno Rossi <bruno@cafe-rossi.example>",
        subject="Invoice 2026-0412 charged twice",
        message_id=bruno_1,
        body=(
            "Good morning,\n\nyour invoice 2026-0412 (EUR 1,249.00) was taken from our\n"
            "account twice, on 27 and 28 February. Please refund one of them.\n\n"
            "Bruno Rossi\nCaffè Rossi\n"
        ),
    )
    chen_1 = "<b1c2@bluebird.example>"
    m(
        "created",
        3,
        sender="Chen Wei <chen@bluebird.example>",
        subject="Grinder makes loud noise",
        message_id=chen_1,
        body=(
            "Hi,\n\nthe built-in grinder of our Brightwater Duo makes a loud rattling\n"
            "noise since we changed beans. A photo of the burr is attached.\n\nChen\n"
        ),
        attachments=[("burr.png", "image/png", PNG)],
    )
    m(
        "created",
        4,
        sender="Dora Kaya <dora@kiosk24.example>",
        subject="How do I descale the Brightwater Pro?",
        message_id="<dora.descale@kiosk24.example>",
        body="Hello, the descale light is on. Which descaler do I use and how much?\nDora\n",
    )
    m(
        "appended",
        1,
        sender="Ana Lindqvist <ana@fjordline.example>",
        subject="Re: Espresso machine leaks water",
        message_id="<20260302.leak.2@mail.fjordline.example>",
        in_reply_to=ana_1,
        references=[ana_1],
        body=(
            "One more thing: the water seems to come from the drip tray area, not\n"
            "from the tank.\n\nOn Mon, 2 Mar 2026, Ana Lindqvist wrote:\n"
            "> our Brightwater Pro 2 (serial BW-PRO-11873) leaks water from the\n"
            "> bottom since this morning.\n"
        ),
    )
    emil_1 = "<anker-5531@hotel-anker.example>"
    m(
        "created",
        5,
        sender="Emil Hartmann <emil@hotel-anker.example>",
        subject="Order BW-5531 not delivered",
        message_id=emil_1,
        body=(
            "Dear Brightwater team,\n\nwe ordered two Brightwater Duo machines (order BW-5531)\n"
            "three weeks ago. The tracking number has shown 'label created' since then.\n\n"
            "Kind regards\nEmil Hartmann\nHotel Anker, purchasing\n"
        ),
    )
    m(
        "appended",
        2,
        sender="Bruno Rossi <bruno@cafe-rossi.example>",
        subject="Re: Invoice 2026-0412 charged twice",
        in_reply_to=bruno_1,
        references=[bruno_1],
        message_id="<CAF.bruno.2@cafe-rossi.example>",
        body="Here is the bank reference of the second charge: RF18 5390 0754 7034.\nBruno\n",
    )
    fatima_1 = "<warranty.22871@studio-nord.example>"
    fatima_warranty = m(
        "created",
        6,
        sender="Fatima Nouri <fatima@studio-nord.example>",
        subject="Warranty claim for serial BW-PRO-22871",
        message_id=fatima_1,
        body=(
            "Hello,\n\nthe pump of our machine stopped working after 14 months. It is\n"
            "still under the 24-month warranty; the receipt is attached.\n\nFatima Nouri\n"
        ),
        attachments=[("receipt-2025-01-14.pdf", "application/pdf", PDF)],
    )
    m(
        "appended",
        5,
        sender="Emil Hartmann <emil@hotel-anker.example>",
        subject="Automatic reply: Re: Order BW-5531 not delivered",
        in_reply_to=emil_1,
        references=[emil_1],
        message_id="<oof.7731@hotel-anker.example>",
        headers={
            "Auto-Submitted": "auto-replied",
            "X-Auto-Response-Suppress": "All",
            "X-MS-Exchange-Inbox-Rules-Loop": "emil@hotel-anker.example",
            "Thread-Topic": "Order BW-5531 not delivered",
        },
        body=(
            "I am out of the office until 16 March with limited access to e-mail.\n"
            "For urgent matters please contact reception@hotel-anker.example.\n"
        ),
    )
    m(
        "created",
        7,
        sender="Gustav Berg <gustav@bakery-gold.example>",
        subject="Milk frother not heating",
        message_id="<frother.1@bakery-gold.example>",
        body="The milk frother runs but the milk stays cold. Machine: Brightwater Café 1.\n",
    )
    m(
        "appended",
        4,
        sender="Dora Kaya <dora@kiosk24.example>",
        subject="Re: How do I descale the Brightwater Pro?",
        in_reply_to="<dora.descale@kiosk24.example>",
        references=["<dora.descale@kiosk24.example>"],
        message_id="<CAGmail.vacation.dora@mail.gmail.example>",
        headers={"Auto-Submitted": "auto-replied", "Precedence": "bulk"},
        body="I'm on holiday until 10 March and will answer your message after that.\n",
    )
    forwarded = EmailMessage(policy=POLICY)
    forwarded["From"] = "Logistics Partner <dispatch@freight-partner.example>"
    forwarded["To"] = "hanna@fjordline.example"
    forwarded["Subject"] = "Delivery note for order BW-6120"
    forwarded["Date"] = "Fri, 27 Feb 2026 16:02:00 +0100"
    forwarded["Message-ID"] = "<dn-6120@freight-partner.example>"
    forwarded.set_content("Delivery note BW-6120: 1 x Brightwater Pro 2, 1 x water filter kit.\n")
    hanna_1 = "<fwd.6120@mail.fjordline.example>"
    forward = m(
        "created",
        8,
        sender="Hanna Olsen <hanna@fjordline.example>",
        subject="Fwd: Delivery note for order BW-6120",
        message_id=hanna_1,
        body=(
            "Hi, the delivery note says a filter kit was shipped but the box had\n"
            "none. Forwarding the note from your logistics partner.\n\nHanna\n\n"
            "---------- Forwarded message ---------\n"
            "From: Logistics Partner <dispatch@freight-partner.example>\n"
            "Date: Fri, 27 Feb 2026 at 16:02\nSubject: Delivery note for order BW-6120\n"
            "To: <hanna@fjordline.example>\n\n"
            "Delivery note BW-6120: 1 x Brightwater Pro 2, 1 x water filter kit.\n"
        ),
    )
    forward.add_attachment(forwarded)
    m(
        "appended",
        3,
        sender="Chen Wei <chen@bluebird.example>",
        subject="Re: Grinder makes loud noise",
        message_id="<b1c3@bluebird.example>",
        references=[chen_1],
        body="I recorded the noise, see the attached sound file.\nChen\n",
        attachments=[("grinder-noise.ogg", "audio/ogg", OGG)],
    )
    bounce = email.message_from_bytes(BOUNCE, _class=EmailMessage, policy=POLICY)
    box.add("ignored", None, bounce, envelope="MAILER-DAEMON")
    m(
        "ignored",
        None,
        sender="Coffee Pros <coffee-pros@lists.baristas.example>",
        to="coffee-pros@lists.baristas.example",
        subject="[coffee-pros] Digest: grind size for cold brew",
        message_id="<digest.2026.09@lists.baristas.example>",
        headers={
            "List-Id": "Coffee Pros <coffee-pros.lists.baristas.example>",
            "List-Unsubscribe": "<mailto:coffee-pros-leave@lists.baristas.example>",
            "Precedence": "list",
        },
        body="Today's topics: 1. Grind size for cold brew  2. Descaling schedules\n",
    )
    m(
        "created",
        9,
        sender="Mallory Crane <mallory@darkroast.example>",
        subject="Re: Invoice 2026-0412 charged twice",
        in_reply_to=FORGED,
        references=[FORGED],
        message_id="<hijack.1@darkroast.example>",
        body=(
            "Hello, this is the accounts team of Caffè Rossi. Please send the refund\n"
            "to our new account DE89 3704 0044 0532 0130 00 instead.\n"
        ),
    )
    # The same message delivered a second time: the very same bytes.
    box.redeliver("duplicate", 6, fatima_warranty)
    m(
        "quarantined",
        None,
        sender="undisclosed-recipients:;",
        subject="machine for sale",
        message_id="<nosender.1@unknown.example>",
        body="Used machine for sale, write back.\n",
    )
    ivan_1 = "<tank.ivan@printhaus.example>"
    m(
        "created",
        10,
        sender="Ivan Petrov <ivan@printhaus.example>",
        subject="Water tank cracked",
        message_id=ivan_1,
        body="The water tank of our machine has a crack along the bottom edge.\n",
    )
    m(
        "appended",
        2,
        sender="Bruno Rossi <bruno@cafe-rossi.example>",
        cc="Accounts <accounts@cafe-rossi.example>",
        subject="Re: Invoice 2026-0412 charged twice",
        message_id="<CAF.bruno.3@cafe-rossi.example>",
        in_reply_to=bruno_1,
        references=[bruno_1],
        body="I copied in our accounts department; they can confirm the refund.\nBruno\n",
    )
    m(
        "created",
        11,
        sender="Julia Stern <julia@cowork-loft.example>",
        subject="Request for a quote: 12 machines",
        message_id="<quote.loft@cowork-loft.example>",
        body="We would like a quote for 12 Brightwater Café 1 machines with service.\n",
        html=(
            "<html><body><p>We would like a quote for <b>12 Brightwater Café 1</b> "
            "machines with service.</p></body></html>"
        ),
    )
    m(
        "appended",
        2,
        sender="Accounts <accounts@cafe-rossi.example>",
        subject="RE: Invoice 2026-0412 charged twice",
        in_reply_to="<CAF.bruno.3@cafe-rossi.example>",
        references=[bruno_1, "<CAF.bruno.3@cafe-rossi.example>"],
        message_id="<acc.991@cafe-rossi.example>",
        body="We confirm the double charge. Our account for the refund is unchanged.\n",
    )
    m(
        "created",
        12,
        sender="Karl Meier <karl@meier-law.example>",
        subject="Can't register my machine online",
        message_id="<reg.karl@meier-law.example>",
        body="The registration form says 'serial number unknown' for BW-PRO-30014.\n",
    )
    m(
        "appended",
        4,
        sender="Dora Kaya <dora@kiosk24.example>",
        subject="Re: How do I descale the Brightwater Pro?",
        in_reply_to="<dora.descale@kiosk24.example>",
        references=["<dora.descale@kiosk24.example>"],
        message_id="<dora.descale.2@kiosk24.example>",
        body="Found it in the manual on page 31, thanks anyway!\nDora\n",
    )
    m(
        "created",
        13,
        sender="Lena Schäfer <lena@schaefer-gmbh.example>",
        subject="Kaffeemühle defekt \N{EN DASH} bitte um Rückruf",
        message_id="<muehle.lena@schaefer-gmbh.example>",
        body="Guten Tag,\n\nunsere Kaffeemühle mahlt nicht mehr. Bitte rufen Sie uns an.\n",
    )
    m(
        "created",
        14,
        sender="Mario Conti <mario@conti-bar.example>",
        subject="Wrong colour delivered",
        message_id="<colour.mario@conti-bar.example>",
        body="We ordered the red machine and received the white one. Photos attached.\n",
        attachments=[("front.png", "image/png", PNG), ("label.png", "image/png", PNG)],
    )
    m(
        "appended",
        10,
        sender="Ivan Petrov <ivan@printhaus.example>",
        subject="Re: Water tank cracked",
        message_id="<tank.ivan.2@printhaus.example>",
        in_reply_to=ivan_1,
        references=[ivan_1],
        body="The machine is a Brightwater Pro 2, bought in 2024.\n",
    )
    m(
        "created",
        15,
        sender="Nora Quist <nora@quist-design.example>",
        subject="Cancel my subscription",
        message_id="<cancel.nora@quist-design.example>",
        body="Please cancel the monthly bean subscription from April on.\n",
    )
    m(
        "appended",
        12,
        sender="Karl Meier <karl@meier-law.example>",
        subject="Read: Re: Can't register my machine online",
        in_reply_to="<reg.karl@meier-law.example>",
        references=["<reg.karl@meier-law.example>"],
        message_id="<mdn.karl.1@meier-law.example>",
        headers={"Auto-Submitted": "auto-replied"},
        body="Your message was read on Wednesday, 4 March 2026 09:14.\n",
    )
    m(
        "created",
        16,
        sender="Oskar Lund <oskar@lund-cafe.example>",
        subject="Steam wand blocked",
        message_id="<wand.oskar@lund-cafe.example>",
        body="No steam comes out of the wand; the machine beeps three times.\n",
    )
    m(
        "appended",
        1,
        sender="Ana Lindqvist <ana@fjordline.example>",
        subject="Re: Espresso machine leaks water",
        message_id="<20260304.leak.3@mail.fjordline.example>",
        references=[ana_1, "<20260302.leak.2@mail.fjordline.example>"],
        body="We emptied the drip tray and it still leaks. Should we stop using it?\n",
    )
    m(
        "created",
        17,
        sender="Paula Reyes <paula@reyes-catering.example>",
        subject="Bulk order discount?",
        message_id="<bulk.paula@reyes-catering.example>",
        body="Do you offer a discount for 30 machines for our catering sites?\n",
    )
    m(
        "appended",
        5,
        sender="Emil Hartmann <emil@hotel-anker.example>",
        subject="Re: Order BW-5531 not delivered",
        in_reply_to=emil_1,
        references=[emil_1],
        message_id="<anker-5531.2@hotel-anker.example>",
        body="Back in the office: still nothing has arrived. Please check.\nEmil\n",
    )
    m(
        "created",
        18,
        sender="Quentin Moreau <quentin@moreau-atelier.example>",
        subject="Descaling light stays on",
        message_id="<descale.quentin@moreau-atelier.example>",
        body="I descaled the machine twice but the light stays on.\n",
    )
    m(
        "appended",
        8,
        sender="Hanna Olsen <hanna@fjordline.example>",
        subject="Re: Fwd: Delivery note for order BW-6120",
        message_id="<fwd.6120.2@mail.fjordline.example>",
        in_reply_to=hanna_1,
        references=[hanna_1],
        body="The missing filter kit is part number BW-FK-10.\nHanna\n",
    )
    m(
        "created",
        19,
        sender="Rosa Jensen <rosa@jensen-bistro.example>",
        subject="Broken portafilter handle",
        message_id="<handle.rosa@jensen-bistro.example>",
        body="The portafilter handle broke off. Photo attached.\n",
        attachments=[("handle.png", "image/png", PNG)],
    )
    m(
        "appended",
        13,
        sender="Lena Schäfer <lena@schaefer-gmbh.example>",
        subject="AW: Re: Kaffeemühle defekt \N{EN DASH} bitte um Rückruf",
        in_reply_to="<muehle.lena@schaefer-gmbh.example>",
        references=["<muehle.lena@schaefer-gmbh.example>"],
        message_id="<muehle.lena.2@schaefer-gmbh.example>",
        body="Sie erreichen mich heute bis 16 Uhr unter +49 30 1234567.\n",
    )
    m(
        "created",
        20,
        sender="Sven Aalto <sven@aalto-office.example>",
        subject="Question about water filter compatibility",
        message_id="<filter.sven@aalto-office.example>",
        body="Does the BW-FK-10 filter fit the older Brightwater Pro 1?\n",
    )
    tara_1 = "<e07.tara@tara-roasters.example>"
    m(
        "created",
        21,
        sender="Tara Singh <tara@tara-roasters.example>",
        subject="Machine shows error E07",
        message_id=tara_1,
        body="Our machine shows E07 and refuses to brew.\n",
    )
    m(
        "appended",
        21,
        sender="Tara Singh <tara@tara-roasters.example>",
        subject="Re: Machine shows error E07",
        message_id="<e07.tara.2@tara-roasters.example>",
        in_reply_to=tara_1,
        references=[tara_1],
        body="Screenshot of the display attached.\n",
        attachments=[("display.png", "image/png", PNG)],
    )
    m(
        "created",
        22,
        sender="Ulf Berg <ulf@berg-consult.example>",
        subject="Firmware upgrade?",
        message_id="<fw.ulf@berg-consult.example>",
        body="Is there a firmware upgrade for the Brightwater Duo?\n",
    )
    m(
        "appended",
        17,
        sender="Paula Reyes <paula@reyes-catering.example>",
        subject="Re: Bulk order discount?",
        references=["<bulk.paula@reyes-catering.example>"],
        message_id="<bulk.paula.2@reyes-catering.example>",
        body="We could also take 40 machines if the price is right.\n",
    )
    m(
        "created",
        23,
        sender="Vera Novak <vera@novak-dental.example>",
        subject="Lost my manual",
        message_id="<manual.vera@novak-dental.example>",
        body="Where can I download the manual of the Brightwater Café 1?\n",
    )
    m(
        "ignored",
        None,
        sender="Brightwater Partner News <noreply@news.brightwater.example>",
        to="partners@brightwater.example",
        subject="Partner newsletter: spring price list",
        message_id="<news.2026.03@news.brightwater.example>",
        headers={"List-Unsubscribe": "<https://news.brightwater.example/leave>"},
        body="The spring price list is out. Read it on the partner portal.\n",
    )
    m(
        "created",
        24,
        sender="Wim de Vries <wim@devries-bakery.example>",
        subject="Payment failed",
        message_id="<pay.wim@devries-bakery.example>",
        body="My card payment for order BW-6402 failed twice. Can I pay by invoice?\n",
    )
    m(
        "appended",
        15,
        sender="Nora Quist <nora@quist-design.example>",
        subject="Re: Cancel my subscription",
        in_reply_to="<cancel.nora@quist-design.example>",
        references=["<cancel.nora@quist-design.example>"],
        message_id="<cancel.nora.2@quist-design.example>",
        body="Please confirm the cancellation in writing.\n",
    )
    m(
        "created",
        25,
        sender="Xenia Wolf <xenia@wolf-hotels.example>",
        subject="Request for a maintenance visit",
        message_id="<visit.xenia@wolf-hotels.example>",
        body="Our six machines are due for their yearly maintenance. When can you come?\n",
    )
    m(
        "appended",
        10,
        sender="Ivan Petrov <ivan@printhaus.example>",
        subject="Re: Water tank cracked",
        in_reply_to=ivan_1,
        references=[ivan_1],
        message_id="<tank.ivan.3@printhaus.example>",
        body="Any news about the replacement tank?\n",
    )
    m(
        "ignored",
        None,
        sender="Yusuf Demir <yusuf@demir-kebap.example>",
        subject="Auto: Thank you for your e-mail",
        message_id="<autoresp.yusuf@demir-kebap.example>",
        headers={"X-Autoreply": "yes"},
        body="Thank you for your e-mail. We will answer within two working days.\n",
    )
    m(
        "created",
        26,
        sender="Zoe Fischer <zoe@fischer-cafe.example>",
        subject="Cup warmer too hot",
        message_id="<warmer.zoe@fischer-cafe.example>",
        body="The cup warmer on top gets so hot that cups crack.\n",
    )
    return box


def main() -> None:
    """Write the mailbox."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).with_name("support.mbox"),
        help="file to write",
    )
    args = parser.parse_args()
    box = build()
    box.write(args.output)
    counts: dict[str, int] = {}
    for kind, _ in EXPECTED:
        counts[kind] = counts.get(kind, 0) + 1
    summary = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()))
    print(f"wrote {len(box.messages)} messages to {args.output} ({summary})")


if __name__ == "__main__":
    main()
