"""Autowiring: what a factory needs, read from its signature once per registration.

Reflection is slow, so it happens only here; compiled resolvers never reflect.
See "Autowiring" and "How it works inside" in docs/kernel/container.md.
"""

from __future__ import annotations

import builtins
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, final

__all__ = ["Param", "WiringError", "describe_chain", "describe_key", "introspect"]

_EMPTY: Final = inspect.Parameter.empty
_SKIPPED_KINDS: Final = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class WiringError(Exception):
    """A factory's signature cannot be autowired; the message says which parameter and why."""


@final
@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a factory, as the container will fill it."""

    name: str
    """The parameter's name (used when it must be passed by keyword)."""
    key: object | None
    """The service key to resolve, or None when the parameter is never injected."""
    kind: inspect._ParameterKind
    """Positional-only, positional-or-keyword or keyword-only."""
    has_default: bool
    """True when the parameter has a default, used if ``key`` is not registered."""
    default: object
    """The default value (``inspect.Parameter.empty`` when there is none)."""
    optional: bool
    """True when annotated ``T | None``: an unregistered ``T`` passes None."""


def describe_key(key: object) -> str:
    """Return a short, readable name for a key: ``Database``, ``'db'``, ``list[int]``."""
    if isinstance(key, type):
        return key.__name__
    if isinstance(key, str):
        return repr(key)
    return str(key)


def describe_chain(chain: typing.Iterable[object]) -> str:
    """Return ``A -> B -> C`` for a dependency chain."""
    return " -> ".join(describe_key(key) for key in chain)


def introspect(
    factory: Callable[..., Any], registered: Callable[[], Mapping[str, object]]
) -> tuple[tuple[Param, ...], bool]:
    """Return the parameters of ``factory`` with the key each one asks for, and whether that is final.

    ``registered()`` maps names to registered types, for string annotations the factory's
    module cannot resolve; a name that resolves to nothing makes the reading not final.
    Raises ``WiringError`` for a parameter with neither annotation nor default, or an
    annotation that cannot be evaluated.
    """
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without signature metadata take nothing we could give
        return (), True
    hints, complete = _type_hints(factory, registered)
    params = tuple(
        _param(factory, parameter, hints)
        for parameter in signature.parameters.values()
        if parameter.kind not in _SKIPPED_KINDS
    )
    return params, complete


def _param(factory: Callable[..., Any], parameter: inspect.Parameter, hints: Mapping[str, Any]) -> Param:
    has_default = parameter.default is not _EMPTY
    annotation = hints.get(parameter.name, _EMPTY)
    if annotation is _EMPTY:
        if not has_default:
            raise WiringError(
                f"parameter {parameter.name!r} of {_describe_factory(factory)} has no type annotation "
                "and no default, so the container cannot tell what to pass"
            )
        return Param(parameter.name, None, parameter.kind, True, parameter.default, False)
    key, optional = _key_of(annotation)
    return Param(parameter.name, key, parameter.kind, has_default, parameter.default, optional)


def _key_of(annotation: Any) -> tuple[object, bool]:
    """Return the key an annotation asks for and whether it is ``T | None``."""
    if typing.get_origin(annotation) is Annotated:
        names = [item for item in annotation.__metadata__ if isinstance(item, str)]
        if names:
            return names[0], False
        return _key_of(annotation.__origin__)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return _key_of(members[0])[0], True
    return annotation, False


def _type_hints(
    factory: Callable[..., Any], registered: Callable[[], Mapping[str, object]]
) -> tuple[Mapping[str, Any], bool]:
    target: object = factory.__init__ if isinstance(factory, type) else factory  # type: ignore[misc]  # reading, not calling, the initializer
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        return {}, True  # C initializers and other callables carry no annotations we can read
    names = _Names(getattr(inspect.unwrap(target), "__globals__", {}), registered)
    try:
        hints = typing.get_type_hints(target, localns=names, include_extras=True)
    except Exception as exc:  # get_type_hints evaluates arbitrary annotation strings
        raise WiringError(f"cannot read the annotations of {_describe_factory(factory)}: {exc}") from exc
    return hints, not names.placeholders


class _Names(dict[str, object]):
    """Local names for evaluating annotations: the module's own, else registered types, else placeholders.

    Empty on purpose: every lookup lands in ``__missing__``, whose ``KeyError`` for a
    module-level or builtin name lets ``eval`` find it, so a registered type never shadows it.
    """

    def __init__(
        self, globalns: Mapping[str, object], registered: Callable[[], Mapping[str, object]]
    ) -> None:
        super().__init__()
        self.globalns = globalns
        self.registered = registered
        self.placeholders: list[str] = []

    def __missing__(self, name: str) -> object:
        if name in self.globalns or hasattr(builtins, name):
            raise KeyError(name)
        found = self.registered().get(name)
        if found is None:
            found = type(name, (), {"__module__": __name__, "__doc__": "Placeholder for an unresolved name."})
            self.placeholders.append(name)
        self[name] = found
        return found


def _describe_factory(factory: Callable[..., Any]) -> str:
    return getattr(factory, "__qualname__", None) or repr(factory)
