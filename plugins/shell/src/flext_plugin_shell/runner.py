"""Run one command line in this process through the CLI's own entry point, and record it.

One code path: ``flext_kernel.cli.main.main`` parses and runs a line typed in the shell exactly as
it does ``sys.argv``; whatever it raises on the way out (``SystemExit`` from a help screen, Ctrl-C)
becomes an exit code, so no command can end the shell.
"""

from __future__ import annotations

import time

from flext_plugin_shell.history import record

__all__ = ["run_tokens"]


def run_tokens(tokens: list[str]) -> int:
    """Run ``flext TOKENS...`` in-process; return its exit code, recorded in the history."""
    from flext_kernel.cli.main import main

    started = time.monotonic()
    try:
        code = main(list(tokens))
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    record(tokens, code, time.monotonic() - started, source="shell")
    return code
