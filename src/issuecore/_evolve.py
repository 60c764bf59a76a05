"""A changed copy of a frozen attrs value, as ``attrs.evolve`` makes it, for the hot paths.

``attrs.evolve`` calls the class's ``__init__`` with every field, so each
converter and validator runs again on values the instance already holds. An
issue has ten instants, each converted and checked again when one number
changes. :func:`evolve` copies the fields not named as they are and converts
and validates only the ones named, which gives the same value when

- every converter returns a value it gives back unchanged when given again
  (the instants' UTC converter, ``str``, the mappings' copying converters),
- every validator looks at its own field only, and
- the class has no ``__attrs_pre_init__`` or ``__attrs_post_init__`` and
  caches no hash.

The domain's value classes hold to the first two (their converters and
validators are in ``_instants`` and beside each class); a class with any of
the last is handed to ``attrs.evolve``. The tests compare the two on
generated issues, clocks and outbox rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import attrs

__all__ = ["evolve"]

_T = TypeVar("_T")

# Per class: a function copying every field of an instance into a new one, and each
# field's (converter, validator, attribute) by name; None for a class left to attrs.
_Plan = tuple[Callable[[Any], Any], dict[str, tuple[Any, Any, "attrs.Attribute[Any]"]]]
_PLANS: dict[type, _Plan | None] = {}
_set = object.__setattr__


def evolve(instance: _T, **changes: Any) -> _T:
    """Return a copy of ``instance`` with ``changes``, equal to ``attrs.evolve``'s."""
    cls = type(instance)
    try:
        plan = _PLANS[cls]
    except KeyError:
        plan = _PLANS[cls] = _plan(cls)
    if plan is None or attrs.validators.get_disabled() or not changes.keys() <= plan[1].keys():
        # A name the class has no field for raises as its __init__ does.
        evolved: _T = attrs.evolve(cast(Any, instance), **changes)
        return evolved
    copy_of, fields = plan
    copy: _T = copy_of(instance)
    # As in __init__: converters in the fields' order, then validators in that order
    # once every field is set (which of two bad values is named first).
    named = changes if len(changes) == 1 else [name for name in fields if name in changes]
    checks = []
    for name in named:
        converter, validator, field = fields[name]
        value = changes[name]
        value = value if converter is None else converter(value)
        _set(copy, name, value)
        if validator is not None:
            checks.append((field, validator, value))
    for field, validator, value in checks:
        validator(copy, field, value)
    return copy


def _plan(cls: type) -> _Plan | None:
    if not attrs.has(cls) or any(
        hasattr(cls, hook) for hook in ("__attrs_pre_init__", "__attrs_post_init__")
    ):
        return None
    if any("_attrs_cached_hash" in vars(base).get("__slots__", ()) for base in cls.__mro__):
        return None  # a hash cached at __init__ would be copied with the old fields
    fields = {}
    for field in attrs.fields(cls):
        if not field.init or field.alias != field.name or not field.name.isidentifier():
            return None  # not settable under its own name: leave it to attrs
        fields[field.name] = (field.converter, field.validator, field)
    # Straight-line code, as attrs writes __init__: one line per field.
    lines = [f"    _set(copy, {name!r}, instance.{name})" for name in fields]
    source = (
        "def copy_of(instance):\n    copy = _new(cls)\n" + "\n".join(lines) + "\n    return copy\n"
    )
    namespace: dict[str, Any] = {"_set": _set, "_new": object.__new__, "cls": cls}
    exec(compile(source, f"<evolve {cls.__qualname__}>", "exec"), namespace)
    return namespace["copy_of"], fields
