"""``flext plugin pin``: choose which plugin keeps a command that two plugins claim.

See docs/kernel/plugin-host.md, "Command clashes".
"""

from __future__ import annotations

from flext_kernel.cli import output
from flext_kernel.errors import NOT_FOUND, USAGE_ERROR, VALIDATION_ERROR

__all__ = ["pin"]


def pin(command: str, plugin: str | None = None, *, clear: bool = False) -> int:
    """Give COMMAND (quoted: 'pipeline run') to PLUGIN when several plugins claim it; --clear forgets it."""
    from flext_kernel.cli import command_cache
    from flext_kernel.cli.commands._inspection import inspect_plugins
    from flext_kernel.cli.session import state_store

    words = " ".join(command.split())
    if clear == (plugin is not None):
        return output.emit_error(
            "give the PLUGIN to pin the command to, or --clear",
            USAGE_ERROR,
            hint="see flext plugin pin --help",
        )
    store = state_store()
    if plugin is None:
        store.pin(words, None)
        command_cache.invalidate()
        return output.emit(
            {"command": words, "plugin": None},
            human=f"'flext {words}' is no longer pinned",
        )
    manager = inspect_plugins()
    claimants = sorted(
        name
        for name, record in manager.records.items()
        if record.manifest is not None and any(entry.name == words for entry in record.manifest.commands)
    )
    if not claimants:
        return output.emit_error(f"no plugin declares 'flext {words}'", NOT_FOUND, hint="see flext --help")
    chosen = manager.records.get(plugin)
    if chosen is None or chosen.name not in claimants:
        return output.emit_error(
            f"plugin {plugin!r} does not declare 'flext {words}'",
            VALIDATION_ERROR,
            hint=f"plugins declaring it: {', '.join(claimants)}",
        )
    store.pin(words, chosen.name)
    command_cache.invalidate()
    return output.emit(
        {"command": words, "plugin": chosen.name},
        human=f"'flext {words}' is plugin {chosen.name}'s",
    )
