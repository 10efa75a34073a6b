"""CommandRegistry: where plugins declare their CLI commands during a cache rebuild."""

from __future__ import annotations

from flext_kernel.plugins.manifest import CommandEntry

__all__ = ["CommandRegistry"]


class CommandRegistry:
    """Collects one plugin's ``CommandEntry`` declarations.

    The kernel hands a fresh registry to each plugin's ``flext_register_commands``
    hook, so every entry is attributed to the plugin that declared it.
    """

    def __init__(self) -> None:
        self.entries: list[CommandEntry] = []
        """What was declared, in order."""

    def add(self, path: str | tuple[str, ...], target: str, help: str = "") -> None:
        """Declare ``flext <path>`` to run ``target`` (``"module:attr"``) when invoked.

        Args:
            path: ``"data taps"`` or ``("data", "taps")``.
            target: a function or a cyclopts ``App``; imported only when the command runs.
            help: the one line ``flext --help`` shows.

        """
        parts = tuple(path.split()) if isinstance(path, str) else path
        self.entries.append(CommandEntry(path=parts, target=target, help=help))
