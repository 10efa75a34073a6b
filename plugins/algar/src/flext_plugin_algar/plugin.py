"""The ``algar`` plugin: the OID to OUD migration.

Its commands (``flext algar ...``) are declared in the manifest and imported
only when they run (``flext_plugin_algar.cli``); the LDIF phases read the
export through the ``ldif`` plugin's ``LdifReader`` service, found in the
container, never by import. Loading the plugin imports nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flext_sdk import CommandEntry, GroupEntry, PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_sdk import FlextResult

__all__ = ["NAME", "flext_health", "manifest"]

NAME = "algar"
"""The plugin's name."""

_CLI = "flext_plugin_algar.cli"

_COMMANDS = (
    (
        ("algar", "init"),
        "init",
        "Start a migration project: a commented algar.yaml and a rules.yaml.",
    ),
    (("algar", "sample"), "sample", "Write an OID-style LDIF export to try the migration on."),
    (("algar", "migration", "plan"), "plan", "Show each phase of the migration, its files and its state."),
    (("algar", "migration", "run"), "run", "Run the LDIF phases of the migration (or one with --phase)."),
    (("algar", "migration", "status"), "status", "Show each phase's counts, problems, time and checkpoint."),
    (("algar", "logs"), "logs", "Print a migration run's events and items (--follow: as they come)."),
)

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="ALGAR: Oracle Internet Directory to Oracle Unified Directory migration",
    commands=(
        *(
            CommandEntry(path=path, target=f"{_CLI}:{attribute}", help=text)
            for path, attribute, text in _COMMANDS
        ),
        CommandEntry(
            path=("algar", "migration", "sync"),
            target="flext_plugin_algar.cli_directory:sync",
            help="Load the migration's output into the target, idempotently (or --dry-run).",
        ),
        CommandEntry(
            path=("algar", "migration", "verify"),
            target="flext_plugin_algar.cli_directory:verify",
            help="Compare the migration's output with the target: missing, extra, different.",
        ),
        CommandEntry(
            path=("algar", "oud", "sync"),
            target="flext_plugin_algar.cli_oud:sync",
            help="Apply to the target only what changed in the source since the last sync (or --dry-run).",
        ),
        CommandEntry(
            path=("algar", "pipeline", "deploy"),
            target="flext_plugin_algar.cli_deploy:deploy",
            help="Schedule 'flext algar oud sync' for the project (or --remove it).",
        ),
    ),
    groups=(
        GroupEntry(
            path=("algar",), help="ALGAR: migrate Oracle Internet Directory to Oracle Unified Directory."
        ),
        GroupEntry(path=("algar", "migration"), help="The migration's LDIF phases: plan, run, status."),
        GroupEntry(path=("algar", "oud"), help="Keep the OUD target in step with the source: sync."),
        GroupEntry(path=("algar", "pipeline"), help="Keep OUD in step on a schedule: deploy."),
    ),
)
"""The plugin's manifest: its commands, declared lazily."""


@hookimpl
def flext_health() -> FlextResult[dict[str, Any]]:
    """Check that the ACL translator loads and translates a known directive as documented."""
    from flext_kernel.errors import INTERNAL_ERROR
    from flext_plugin_algar.acl import translate_acl
    from flext_sdk import FlextResult

    probe = translate_acl("access to entry by * (browse)", entry_dn="dc=example,dc=com")
    if len(probe.acis) != 1 or probe.failed:
        return FlextResult.fail(
            f"the ACL translator gave {probe.acis!r} for a known directive",
            error_code=INTERNAL_ERROR,
        )
    return FlextResult.ok({"acl_translator": "ok"})
