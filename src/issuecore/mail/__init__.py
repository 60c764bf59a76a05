"""Email intake and outbound mail: parsing, threading, loops and replies.

The domain side of mail: pure functions over values. Nothing here touches a
database, the network or the system clock; the desk passes in a
:class:`MailLookup`, an :class:`AutoReplyCounter`, the settings and ``now``.
"""

from issuecore.mail.addresses import (
    normalize_address,
    outbound_address,
    safe_header_text,
    same_address,
)
from issuecore.mail.automated import Automation, classify_automated, is_robot_address
from issuecore.mail.compose import (
    AutoReplyCounter,
    InMemoryAutoReplyCounter,
    auto_reply_recipient,
    compose_agent_reply,
    compose_auto_reply,
    reference_chain,
    reserve_auto_reply,
)
from issuecore.mail.matching import (
    Decision,
    DecisionKind,
    MailLookup,
    PriorMessage,
    Signal,
    decide,
    message_fingerprint,
    reused_message_id,
)
from issuecore.mail.parse import (
    InboundMessage,
    Quarantined,
    html_to_text,
    parse_message,
    safe_filename,
    synthetic_message_id,
)
from issuecore.mail.quotes import new_content
from issuecore.mail.settings import (
    AgentMailPolicy,
    AutomatedPolicy,
    FollowUpPolicy,
    MailSettings,
    StrangerPolicy,
)
from issuecore.mail.signing import SignatureStatus, SignedId, make_message_id, verify_message_id
from issuecore.mail.tokens import (
    REPLY_PREFIXES,
    TokenFormat,
    clean_subject,
    reply_subject,
    strip_prefixes,
)

__all__ = [
    "REPLY_PREFIXES",
    "AgentMailPolicy",
    "AutoReplyCounter",
    "AutomatedPolicy",
    "Automation",
    "Decision",
    "DecisionKind",
    "FollowUpPolicy",
    "InMemoryAutoReplyCounter",
    "InboundMessage",
    "MailLookup",
    "MailSettings",
    "PriorMessage",
    "Quarantined",
    "Signal",
    "SignatureStatus",
    "SignedId",
    "StrangerPolicy",
    "TokenFormat",
    "auto_reply_recipient",
    "classify_automated",
    "clean_subject",
    "compose_agent_reply",
    "compose_auto_reply",
    "decide",
    "html_to_text",
    "is_robot_address",
    "make_message_id",
    "message_fingerprint",
    "new_content",
    "normalize_address",
    "outbound_address",
    "parse_message",
    "reference_chain",
    "reply_subject",
    "reserve_auto_reply",
    "reused_message_id",
    "safe_filename",
    "safe_header_text",
    "same_address",
    "strip_prefixes",
    "synthetic_message_id",
    "verify_message_id",
]
