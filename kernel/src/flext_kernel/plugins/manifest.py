"""The plugin manifest: what a plugin is, needs and contributes, as data the CLI caches.

Plugins declare one as the ``manifest`` attribute of the object their entry point names.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

__all__ = ["NAME_PATTERN", "CommandEntry", "GroupEntry", "PluginManifest"]

NAME_PATTERN: Final = r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$"
"""Plugin and command names: lower case, digits, single dashes or underscores."""
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_MODULE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")


def _check_path(path: tuple[str, ...]) -> tuple[str, ...]:
    for part in path:
        if not re.match(NAME_PATTERN, part):
            raise ValueError(f"command name {part!r} must be lower case words joined by '-' or '_'")
    return path


class _Placed(BaseModel):
    """Something at a command path under ``flext``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Annotated[tuple[str, ...], Field(min_length=1), AfterValidator(_check_path)]
    """Where it sits under ``flext``: ``("data", "taps")`` is ``flext data taps``."""

    @property
    def name(self) -> str:
        """The path as typed: ``"data taps"``."""
        return " ".join(self.path)


class CommandEntry(_Placed):
    """One CLI command or command group a plugin contributes, imported only when it runs."""

    target: str
    """``"module:attr"`` of a function or a cyclopts ``App``."""
    help: str = ""
    """One line shown by ``flext --help`` without importing the target."""

    @field_validator("target")
    @classmethod
    def _check_target(cls, target: str) -> str:
        if not _TARGET.match(target):
            raise ValueError(f"target {target!r} must look like 'package.module:attribute'")
        return target


class GroupEntry(_Placed):
    """The one-line help of a command group (without one, the group shows its first plugin's description)."""

    help: str = Field(min_length=1)
    """One line shown by ``flext --help`` and ``flext <group> --help``."""


class PluginManifest(BaseModel):
    """Identity, requirements and contributions of one plugin."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    """Unique plugin name (``pipeline``, ``eventstore-sqlite``); what users type."""
    version: str = "0.0.0"
    """The plugin's own version (usually its distribution's)."""
    description: str = ""
    """One line for ``flext plugin list``."""
    kernel: str = ">=0.1"
    """PEP 440 specifier of the flext-kernel versions the plugin works with."""
    requires: tuple[str, ...] = ()
    """Names of plugins that must load before this one."""
    commands: tuple[CommandEntry, ...] = ()
    """CLI commands, declared statically (``flext_register_commands`` may add more)."""
    groups: tuple[GroupEntry, ...] = ()
    """Help lines of the command groups the plugin's commands sit in."""
    config_schema: dict[str, Any] | None = None
    """JSON schema of the plugin's configuration section."""
    hookspecs: str | None = None
    """Module of the hooks this plugin defines for others (``"flext_eventsourcing.hookspecs"``)."""

    @field_validator("hookspecs")
    @classmethod
    def _check_hookspecs(cls, module: str | None) -> str | None:
        if module is not None and not _MODULE.match(module):
            raise ValueError(f"hookspecs {module!r} must be a module path like 'package.hookspecs'")
        return module
