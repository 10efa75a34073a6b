"""What every ``flext algar`` command working on a migration does first: build the ``Migration``.

That is the project, its rules, a kernel, and the ``ldif`` plugin's
``LdifReader`` from the container. A failure on the way is the command's exit code (one ``error:`` line, and a
``hint:`` when the ldif plugin is off or missing).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from flext_sdk.cli import fail

if TYPE_CHECKING:
    from flext_plugin_algar.phases import Migration
    from flext_sdk import FlextKernel

__all__ = ["with_migration"]


def with_migration(
    project: Path,
    action: Callable[[FlextKernel, Migration], int],
    *,
    why: str = "the ALGAR migration reads LDIF",
) -> int:
    """Build the project's migration in a booted kernel and run ``action`` with both; its exit code."""
    from flext_plugin_algar.phases import Migration
    from flext_plugin_algar.project import load_project, load_rules
    from flext_sdk.cli import boot_kernel
    from flext_sdk.contracts import hint_of, require_service
    from flext_sdk.contracts.ldif import LdifReader

    loaded = load_project(project)
    if loaded.is_failure:
        return fail(loaded)
    rules = load_rules(loaded.value)
    if rules.is_failure:
        return fail(rules)
    booted = boot_kernel()
    if booted.is_failure:
        return fail(booted)
    with booted.value as kernel:
        reader = require_service(kernel, LdifReader, why=why)
        if reader.is_failure:
            return fail(reader, hint=hint_of(reader))
        migration = Migration.of(loaded.value, rules.value, reader.value)
        if migration.is_failure:
            return fail(migration)
        return action(kernel, migration.value)
