"""The ``logs`` plugin: its commands, and the logging handler it installs while a kernel runs.

At ``flext_startup`` the handler is added to the top-level logger of the
kernel, the SDK and every loaded plugin (``flext_kernel``,
``flext_plugin_pipeline``, ``tap_oracle_wms`` ...), whose level is lowered
to INFO if it was unset or higher, so their INFO lines reach the store; at
``flext_shutdown`` (and before a hot reload) the handler is removed, the
levels are put back, and what is queued is stored, waiting two seconds at
most. Starting costs no thread and no import of the store or of
pydantic-settings: the writer thread starts with the first line logged and
reads the settings itself (at once when ``FLEXT_LOGS_LEVEL`` or
``FLEXT_LOGS_ENABLED`` is set, since they change what is let through).

The correlation id comes from ``flext_kernel.correlation.current_correlation_id``
when the kernel has it; with an older kernel lines are stored without one.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Final

from flext_sdk import CommandEntry, FlextPlugin, FlextResult, GroupEntry, PluginManifest

if TYPE_CHECKING:
    from collections.abc import Callable

    from flext_plugin_logs.handler import BatchWriter, StoreHandler
    from flext_plugin_logs.settings import LogsSettings
    from flext_sdk import FlextKernel

__all__ = ["NAME", "Plugin"]

NAME: Final = "logs"
"""The plugin's name."""
_CLI: Final = "flext_plugin_logs.logs_cli"
_ALWAYS: Final = {"flext_kernel": "kernel", "flext_sdk": "sdk", "flext": "kernel"}
"""Loggers that belong to no plugin record, and who they are shown as."""
_DEFAULT_LEVEL: Final = logging.INFO
_APPLIED_AT_START: Final = ("FLEXT_LOGS_LEVEL", "FLEXT_LOGS_ENABLED")
"""Settings that change what the handler lets through: when set, the writer reads them at start-up."""


def correlation_source() -> Callable[[], str | None] | None:
    """``flext_kernel.correlation.current_correlation_id`` if this kernel has it, else None."""
    try:
        from flext_kernel.correlation import (  # type: ignore[import-not-found,unused-ignore]  # lands with issue 18's correlation part
            current_correlation_id,
        )
    except ImportError:
        return None
    source: Callable[[], str | None] = current_correlation_id
    return source


def owners(kernel: FlextKernel) -> dict[str, str]:
    """Top-level package -> plugin name, for every plugin the kernel loaded (and the kernel's own)."""
    found = dict(_ALWAYS)
    for record in kernel.plugins.records.values():
        modules = [*record.modules, record.candidate.target.partition(":")[0]]
        for module in modules:
            top = module.partition(".")[0]
            if top and top not in {"__main__", "builtins"}:
                found.setdefault(top, record.name)
    return found


class Plugin(FlextPlugin):
    """Stores the kernel's and plugins' log lines while a kernel runs; ``flext logs`` reads them."""

    manifest = PluginManifest(
        name=NAME,
        version="0.1.0",
        description="A searchable store of FLEXT's log lines (kernel, plugins, pipeline runs)",
        kernel=">=0.1",
        commands=tuple(
            CommandEntry(path=(NAME, command), target=f"{_CLI}:{command}", help=text)
            for command, text in (
                ("search", "Search the stored log lines."),
                ("tail", "Print the last lines; --follow for new ones."),
                ("export", "Write log lines as JSON lines or CSV."),
            )
        ),
        groups=(GroupEntry(path=(NAME,), help="Search, follow and export FLEXT's log lines."),),
    )

    def __init__(self) -> None:
        self.handler: StoreHandler | None = None
        self.writer: BatchWriter | None = None
        self._levels: dict[str, int] = {}
        self._owned: list[str] = []

    def initialize(self, kernel: FlextKernel) -> FlextResult[None]:
        """Install the handler on the kernel's and the plugins' loggers and start the writer."""
        from flext_plugin_logs.handler import BatchWriter, StoreHandler

        self.shutdown()  # a hot reload calls us again
        owned = owners(kernel)
        writer = BatchWriter(_settings, on_ready=self._apply)
        handler = StoreHandler(writer, plugin_of=_plugin_of(owned), correlation_id=correlation_source())
        handler.setLevel(_DEFAULT_LEVEL)
        self.handler, self.writer, self._owned = handler, writer, sorted(owned)
        for name in self._owned:
            logging.getLogger(name).addHandler(handler)
        self._lower_levels(_DEFAULT_LEVEL)
        if any(name in os.environ for name in _APPLIED_AT_START):
            writer.start()  # read the settings now, so that a lower level applies from the start
        return FlextResult.ok(None)

    def _lower_levels(self, level: int) -> None:
        """Let records of ``level`` and above through the owned loggers (remembering what they had)."""
        for name in self._owned:
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET or logger.level > level:
                self._levels.setdefault(name, logger.level)
                logger.setLevel(level)

    def _apply(self, settings: LogsSettings) -> None:
        """The writer read the settings: apply ``FLEXT_LOGS_LEVEL`` and ``FLEXT_LOGS_ENABLED``."""
        handler = self.handler
        if handler is None:
            return
        handler.setLevel(settings.levelno if settings.enabled else logging.CRITICAL + 1)
        if settings.enabled and settings.levelno < _DEFAULT_LEVEL:
            self._lower_levels(settings.levelno)

    def shutdown(self) -> FlextResult[None]:
        """Remove the handler, put the levels back, store what is queued."""
        handler, writer = self.handler, self.writer
        self.handler = self.writer = None
        if handler is not None:
            for name in list(logging.Logger.manager.loggerDict):
                logger = logging.getLogger(name)
                if handler in logger.handlers:
                    logger.removeHandler(handler)
            for name, level in self._levels.items():
                logging.getLogger(name).setLevel(level)
            self._levels.clear()
            handler.close()
        if writer is not None:
            writer.close()
        return FlextResult.ok(None)

    def health(self) -> FlextResult[dict[str, Any]]:
        """Lines stored and dropped by this process, and the store's last error."""
        writer = self.writer
        if writer is None:
            return FlextResult.ok({"status": "stopped"})
        settings = writer.settings
        return FlextResult.ok(
            {
                "status": "degraded" if writer.last_error else "ok",
                "store": str(settings.path) if settings is not None else None,
                "written": writer.written,
                "dropped": writer.dropped,
                "last_error": writer.last_error,
            }
        )


def _settings() -> LogsSettings:
    from flext_plugin_logs.settings import LogsSettings

    return LogsSettings()


def _plugin_of(owned: dict[str, str]) -> Callable[[str], str | None]:
    def plugin_of(logger: str) -> str | None:
        return owned.get(logger.partition(".")[0])

    return plugin_of
