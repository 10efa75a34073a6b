"""``flext plugin list|info|enable|disable``: see, enable and disable plugins."""

from __future__ import annotations

from flext_kernel.cli import output
from flext_kernel.cli.commands._inspection import inspect_plugins
from flext_kernel.cli.settings import current
from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR

__all__ = ["disable", "enable", "info", "list_plugins"]

_COLUMNS = ("name", "version", "state", "commands", "hooks", "reason")


def list_plugins() -> int:
    """List every plugin with its version, state, commands and hooks (``--json``, global, for all of it).

    The table counts commands and hooks, one line per plugin at 80 columns; JSON has the lists.
    """
    manager = inspect_plugins()
    rows = [record.summary() for record in manager.records.values()]
    if not output.is_human():
        return output.emit(rows)
    counted = [{**row, "commands": len(row["commands"]), "hooks": len(row["hooks"])} for row in rows]
    return output.emit_table(counted, _COLUMNS, title="FLEXT plugins")


def info(name: str) -> int:
    """Show everything known about one plugin: manifest, state, failure reason."""
    manager = inspect_plugins()
    record = manager.records.get(name)
    if record is None:
        known = ", ".join(sorted(manager.records)) or "none"
        return output.emit_error(f"no plugin named {name!r}", NOT_FOUND, hint=f"installed plugins: {known}")
    data = record.summary()
    manifest = record.manifest  # None when the plugin failed before its manifest was read
    data["kernel_range"] = manifest.kernel if manifest is not None else None
    data["config_schema"] = manifest.config_schema if manifest is not None else None
    data["commands"] = [
        {"command": f"flext {c.name}", "target": c.target, "help": c.help} for c in record.commands
    ]
    if output.is_human():
        lines = [f"{key}: {value}" for key, value in data.items() if key != "commands"]
        lines += [f"command: {c['command']}  ({c['target']})  {c['help']}" for c in data["commands"]]
        if record.detail and current().debug:
            lines.append(record.detail)
        return output.emit(data, human="\n".join(lines))
    return output.emit(data)


def enable(name: str) -> int:
    """Enable a plugin that was disabled (kept in the user's config directory)."""
    return _set_enabled(name, True)


def disable(name: str) -> int:
    """Disable a plugin without uninstalling it: its commands and handlers disappear."""
    return _set_enabled(name, False)


def _set_enabled(name: str, enabled: bool) -> int:
    from flext_kernel.cli.session import plugin_dirs, state_store
    from flext_kernel.plugins.discovery import canonical_name, discover

    names = {"kernel", *(candidate.name for candidate in discover(plugin_dirs()))}  # nothing imported
    if canonical_name(name) not in names:
        known = ", ".join(sorted(names))
        return output.emit_error(f"no plugin named {name!r}", NOT_FOUND, hint=f"installed plugins: {known}")
    name = canonical_name(name)
    if name == "kernel":
        return output.emit_error("the kernel plugin cannot be disabled", VALIDATION_ERROR)
    state_store().set_enabled(name, enabled)
    word = "enabled" if enabled else "disabled"
    return output.emit({"name": name, "enabled": enabled}, human=f"plugin {name} {word}")
