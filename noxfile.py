"""Developer sessions: ``nox -s tests``, ``nox -s lint typecheck``, ``nox -s bench``.

Each session installs the workspace members from this checkout with pip, the
same way the README's Quickstart does, so a green nox run means a green
fresh-clone install.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

MEMBERS = ["./kernel", "./sdk", *sorted(f"./{p.parent}" for p in Path("plugins").glob("*/pyproject.toml"))]
WORKSPACE = [arg for member in MEMBERS for arg in ("-e", member)]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite."""
    session.install(*WORKSPACE, ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check over the whole tree."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every distribution's source (the list is in pyproject.toml)."""
    session.install(*WORKSPACE, "mypy")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Kernel benchmarks against their peers; ``-- --write-docs`` refreshes docs/performance.md."""
    session.install(*WORKSPACE, "-r", "benchmarks/requirements.txt")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session
def bench_pipeline(session: nox.Session) -> None:
    """Pipeline throughput: shell pipe vs flext vs meltano (Meltano gets its own venv); ``-- --quick``."""
    session.install(*WORKSPACE)
    session.run("python", "benchmarks/bench_pipeline.py", *session.posargs)
