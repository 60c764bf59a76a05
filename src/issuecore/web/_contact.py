"""The website's contact form: a public page that opens an issue the way a mail would.

The form is written into an RFC 5322 message from the sender to the
support address and handed to :meth:`HelpDesk.receive
<issuecore._desk.HelpDesk.receive>`, so it meets exactly the rules mail meets:
the same threading, the same acknowledgement mail, the same per-sender
limit on automatic replies, the same quarantine. In front of that the form
has its own guards: off unless ``contact_form = true``, a CSRF token, a
honeypot field people never see, size limits, and at most ``contact_limit``
submissions per sender address and per client address in
``contact_window`` (counted in this process).
"""

from __future__ import annotations

import secrets
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from typing import Final

from starlette.datastructures import FormData, UploadFile

from issuecore import HelpDesk
from issuecore.mail import address_key, normalize_address, safe_header_text

__all__ = ["ContactRefusedError", "contact_message"]

HONEYPOT: Final = "website"
MAX_NAME: Final = 200
MAX_SUBJECT: Final = 200
MAX_MESSAGE: Final = 20_000
MAX_FILES: Final = 5


class ContactRefusedError(ValueError):
    """A submission the form turns away; the message says why, for the sender."""


def _field(form: FormData, name: str, limit: int, what: str) -> str:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ContactRefusedError(f"Please fill in {what}.")
    if len(text) > limit:
        raise ContactRefusedError(f"{what.capitalize()} is longer than {limit} characters.")
    return text


async def contact_message(
    form: FormData, desk: HelpDesk, *, max_bytes: int
) -> tuple[EmailMessage, str] | None:
    """Return the mail the form describes and its sender; ``None`` when the honeypot was filled.

    Raises :class:`ContactRefusedError` for a field missing, too long, an address
    that is none or the desk's own, or files larger than ``max_bytes``.
    """
    if form.get(HONEYPOT):
        return None
    name = safe_header_text(_field(form, "name", MAX_NAME, "your name"), limit=MAX_NAME)
    raw_address = _field(form, "address", 320, "your address")
    address = normalize_address(raw_address)
    if address is None:
        raise ContactRefusedError(f"{raw_address!r} is not an address like ana@example.com.")
    own = {address_key(desk.settings.support_address), *desk.settings.agents}
    if address_key(address) in own:
        raise ContactRefusedError("Please write from your own address.")
    subject = safe_header_text(_field(form, "subject", MAX_SUBJECT, "a subject"), limit=MAX_SUBJECT)
    body = _field(form, "message", MAX_MESSAGE, "your message")
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((name, address))
    message["To"] = desk.settings.support_address
    message["Subject"] = subject
    message["Date"] = format_datetime(desk.clock.now())
    domain = desk.settings.support_address.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<contact.{secrets.token_hex(16)}@{domain}>"
    message["X-Issuecore-Channel"] = "contact-form"
    message.set_content(body)
    files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
    files = [file for file in files if file.filename]
    if len(files) > MAX_FILES:
        raise ContactRefusedError(f"Please attach at most {MAX_FILES} files.")
    total = len(body.encode())
    for file in files:
        data = await file.read(max_bytes + 1)
        total += len(data)
        if total > max_bytes:
            raise ContactRefusedError(f"The message and its files exceed {max_bytes} bytes.")
        maintype, _, subtype = "application/octet-stream".partition("/")
        message.add_attachment(
            data, maintype=maintype, subtype=subtype, filename=file.filename or "attachment"
        )
    return message, address
