"""The public surface is short and each public name has one home."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import issuecore
from issuecore import OutcomeKind, ReceiveOutcome

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_MODULES = {
    "issuecore",
    "issuecore.adapters",
    "issuecore.adapters.blobs",
    "issuecore.adapters.clock",
    "issuecore.adapters.imap",
    "issuecore.adapters.maildir",
    "issuecore.adapters.memory",
    "issuecore.adapters.null",
    "issuecore.adapters.oauth2",
    "issuecore.adapters.smtp",
    "issuecore.adapters.sql",
    "issuecore.adapters.sqlite",
    "issuecore.charts",
    "issuecore.cli",
    "issuecore.config",
    "issuecore.errors",
    "issuecore.mail",
    "issuecore.ports",
    "issuecore.testing",
    "issuecore.testing.contracts",
    "issuecore.testing.pytest_plugin",
    "issuecore.testing.stateful",
    "issuecore.testing.strategies",
    "issuecore.web",
    "issuecore.workflow",
}


def public_modules() -> set[str]:
    found = {"issuecore"}
    for module in pkgutil.walk_packages(issuecore.__path__, "issuecore."):
        if not any(part.startswith("_") for part in module.name.split(".")):
            found.add(module.name)
    return found


def test_only_the_listed_modules_are_public() -> None:
    assert public_modules() == PUBLIC_MODULES


def test_every_public_module_declares_what_it_exports() -> None:
    namespaces = {"issuecore.adapters", "issuecore.cli", "issuecore.testing.pytest_plugin"}
    for name in PUBLIC_MODULES - namespaces:
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"{name} has no __all__"
        for each in exported:
            assert hasattr(module, each), f"{name}.__all__ names {each}, which is missing"


def test_a_name_of_the_facade_has_no_second_public_home() -> None:
    facade = set(issuecore.__all__)
    errors = set(importlib.import_module("issuecore.errors").__all__)
    for name in PUBLIC_MODULES - {"issuecore", "issuecore.errors"}:
        module = importlib.import_module(name)
        twice = (facade - errors) & set(getattr(module, "__all__", ()))
        assert not twice, f"{name} exports {sorted(twice)}, already in issuecore"


def test_the_facade_exports_every_error() -> None:
    errors = importlib.import_module("issuecore.errors")
    assert set(errors.__all__) <= set(issuecore.__all__)


def test_the_api_reference_lists_every_name_of_the_facade() -> None:
    text = (ROOT / "docs" / "api.md").read_text("utf-8")
    documented = set(re.findall(r"auto(?:class|function|data):: issuecore\.(\w+)$", text, re.M))
    errors = set(importlib.import_module("issuecore.errors").__all__)
    assert documented == set(issuecore.__all__) - errors


def test_outcome_kinds_are_an_enum_equal_to_their_strings() -> None:
    outcome = ReceiveOutcome(
        kind="created",
        issue_number="ISS-2026-00001",
        created=True,
        auto_reply=False,
        reason="new",
        signal="none",
        message_id="<m@example.com>",
    )
    assert outcome.kind is OutcomeKind.CREATED
    assert outcome.kind == "created"
    assert repr(outcome.kind) == "'created'"
    assert [str(kind) for kind in OutcomeKind] == [
        "created",
        "appended",
        "duplicate",
        "loop",
        "ignored",
        "quarantined",
    ]


def test_an_unknown_outcome_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="'shelved' is not a valid OutcomeKind"):
        ReceiveOutcome(
            kind="shelved",
            issue_number=None,
            created=False,
            auto_reply=False,
            reason="",
            signal="",
            message_id="<m@example.com>",
        )


def public_objects() -> dict[int, str]:
    found = {}
    for name in PUBLIC_MODULES - {"issuecore.adapters", "issuecore.cli"}:
        module = importlib.import_module(name)
        for each in getattr(module, "__all__", ()):
            found[id(getattr(module, each))] = f"{name}.{each}"
    return found


def internal_names_in_signatures() -> dict[str, set[str]]:
    """Map each internal class a public signature names to the callables that name it."""
    public = public_objects()
    named: dict[str, set[str]] = {}
    for name in sorted(PUBLIC_MODULES - {"issuecore.adapters", "issuecore.cli"}):
        module = importlib.import_module(name)
        for each in getattr(module, "__all__", ()):
            value = getattr(module, each)
            members = [(each, value)]
            if inspect.isclass(value):
                members += [
                    (f"{each}.{member}", attribute)
                    for member, attribute in vars(value).items()
                    if not member.startswith("_") and callable(attribute)
                ]
            for owner, function in members:
                try:
                    signature = inspect.signature(function)
                except (TypeError, ValueError):
                    continue
                home = inspect.getmodule(function)
                text = " ".join(str(p.annotation) for p in signature.parameters.values())
                for word in set(re.findall(r"\b_?[A-Z]\w+", text)):
                    found = getattr(home, word, None)
                    internal = (
                        inspect.isclass(found)
                        and found.__module__.startswith("issuecore")
                        and id(found) not in public
                    )
                    if internal:
                        named.setdefault(f"{found.__module__}.{word}", set()).add(owner)
    return named


def test_public_signatures_name_only_public_types() -> None:
    named = internal_names_in_signatures()
    # Returned by adapters, never built by adopters: their constructors take the adapter's own.
    built_by_adapters = {"ImapMessage", "InMemoryOutbox", "SqlBlobStore"}
    # The SLA clock's calculation helpers are being moved onto public names.
    named = {
        k: {o for o in v if o not in built_by_adapters and not o.startswith("SlaClock")}
        for k, v in named.items()
    }
    assert {k: v for k, v in named.items() if v} == {}
