"""Turn a dependency graph into one generated Python function per key.

Resolving should cost what the constructor calls cost when written by hand, so
the container writes them: see "How it works inside" in docs/kernel/container.md.
"""

from __future__ import annotations

import inspect
import itertools
import linecache
import re
from collections.abc import Callable, Sequence
from typing import Any, Final, final

from flext_kernel._container_wiring import Param

__all__ = ["SourceBuilder"]

_NOT_IDENTIFIER: Final = re.compile(r"\W")
_POSITIONAL_ONLY: Final = inspect.Parameter.POSITIONAL_ONLY
_KEYWORD_ONLY: Final = inspect.Parameter.KEYWORD_ONLY
_counter: Final = itertools.count()


@final
class SourceBuilder:
    """Collects the objects one generated function refers to, then builds it."""

    __slots__ = ("_names", "awaits", "namespace")

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {}
        """The generated function's globals: every bound object by its name."""
        self.awaits = False
        """True once an ``await`` was emitted: the function must be a coroutine."""
        self._names: dict[int, str] = {}

    def bind(self, obj: object, hint: str = "obj") -> str:
        """Return the global name under which the generated code sees ``obj``."""
        name = self._names.get(id(obj))
        if name is None:
            name = f"_{_NOT_IDENTIFIER.sub('_', hint)}_{len(self.namespace)}"
            self.namespace[name] = obj  # also keeps obj alive, so its id stays unique
            self._names[id(obj)] = name
        return name

    def local(self) -> str:
        """Return a fresh local variable name (for ``:=`` in singleton lookups)."""
        return f"_v{len(self.namespace)}_{next(_counter)}"

    def awaited(self, call: str) -> str:
        """Return ``(await call)`` and remember that the function is a coroutine."""
        self.awaits = True
        return f"(await {call})"

    def call(self, function: str, arguments: Sequence[tuple[Param, str | None]]) -> str:
        """Return the source of a call, passing each argument the way its parameter takes it.

        An argument of None lets the default apply: later arguments then go by keyword
        (a positional-only parameter gets its default passed explicitly instead).
        """
        parts: list[str] = []
        by_keyword = False
        for param, expression in arguments:
            if expression is None:
                if param.kind is _POSITIONAL_ONLY:
                    parts.append(self.bind(param.default, "default"))
                else:
                    by_keyword = True
                continue
            if param.kind is _KEYWORD_ONLY or (by_keyword and param.kind is not _POSITIONAL_ONLY):
                parts.append(f"{param.name}={expression}")
            else:
                parts.append(expression)
        return f"{function}({', '.join(parts)})"

    def function(self, expression: str, *, label: str) -> Callable[[], Any]:
        """Compile ``return expression`` into a function (a coroutine function if it awaits)."""
        name = f"resolve_{_NOT_IDENTIFIER.sub('_', label)}"
        keyword = "async def" if self.awaits else "def"
        source = f"{keyword} {name}():\n    return {expression}\n"
        # In linecache so that a traceback through a factory shows the generated line;
        # one entry per key name, so recompiling replaces it.
        filename = f"<flext-container {name}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        exec(compile(source, filename, "exec"), self.namespace)  # our own generated source
        function: Callable[[], Any] = self.namespace[name]
        return function
