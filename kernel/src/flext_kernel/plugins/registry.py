"""CommandRegistry: where plugins declare their CLI commands during a cache rebuild."""

from __future__ import annotations

from flext_kernel.plugins.manifest import CommandEntry

__all__ = ["CommandRegistry"]


class CommandRegistry:
    """Collects one plugin's ``CommandEntry`` declarations (each plugin gets its own registry)."""

    def __init__(self) -> None:
        self.entries: list[CommandEntry] = []
        """What was declared, in order."""

    def add(self, path: str | tuple[str, ...], target: str, help: str = "") -> None:
        """Declare ``flext <path>`` (``"data taps"`` or ``("data", "taps")``) to run ``target``.

        ``target`` is the ``"module:attr"`` of a function or a cyclopts ``App``, imported only when
        the command runs; ``help`` is the line ``flext --help`` shows.
        """
        parts = tuple(path.split()) if isinstance(path, str) else path
        self.entries.append(CommandEntry(path=parts, target=target, help=help))
