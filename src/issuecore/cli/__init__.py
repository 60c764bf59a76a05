"""The ``issuecore`` command: a help desk from the command line.

Run ``issuecore --help`` for the commands. Exit codes: 0 when the command did
what it was asked; 1 when an operation was refused (an unknown issue, a
transition the workflow does not allow, a priority without a target, a
database locked by another process); 2 for a usage or configuration error (a
damaged or read-only database included); 3 when ``ingest --strict`` or
``fetch --strict`` quarantined messages; 4 when ``ingest`` or ``fetch`` could
not record some messages at all; 5 when what was asked is recorded but mail
could not be sent yet (it waits in the outbox); 141 when the reader of the
output went away (``issuecore show ... | head``).

The package: ``_parser`` (the arguments), ``_context`` (one invocation),
``_triage`` (list, show, tick), ``_commands`` (changing issues), ``_intake``
(ingest, fetch), ``_operations`` (outbox, attachments, reports, SLA pictures),
``_quarantine``, ``_views`` (text and JSON), ``_errors`` (exit codes, one-line
errors) and ``_main``. It builds its desk with
:func:`issuecore.config.build_desk`, as adopters do.

``ISSUECORE_NOW`` (an ISO 8601 instant with an offset, e.g.
``2027-03-01T09:00:00+01:00``) makes the command act at that instant instead
of the system clock's (a :class:`~issuecore.adapters.clock.FixedClock`); it
is meant for tests and demonstrations.
"""

from issuecore.cli._errors import (
    EXIT_BROKEN_PIPE,
    EXIT_NOT_DELIVERED,
    EXIT_NOT_RECORDED,
    EXIT_OK,
    EXIT_QUARANTINED,
    EXIT_REFUSED,
    EXIT_USAGE,
)
from issuecore.cli._main import main
from issuecore.cli._parser import build_parser

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_NOT_DELIVERED",
    "EXIT_NOT_RECORDED",
    "EXIT_OK",
    "EXIT_QUARANTINED",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "build_parser",
    "main",
]
