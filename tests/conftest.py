"""Fixtures for the services the tests talk to, shared by every test directory.

The PostgreSQL server is ``$FLEXT_TEST_POSTGRES_URL`` (default: the ``test``
database at 127.0.0.1:5432 as ``postgres``). When it cannot be reached the
tests that need it skip, except on CI (``CI`` set), where they fail: CI runs
PostgreSQL, so a missing server is a broken build, not a reason to skip.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator

import pytest

from flext_sdk.testing.ds389 import ds389_server

__all__ = ["ds389_server"]  # one 389 Directory Server for the whole session, whichever tests use it

POSTGRES_URL = os.environ.get("FLEXT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def on_ci() -> bool:
    """True when running on CI, where tests that need a service never skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The server's URL, once it answered; skips (fails on CI) when it does not."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {str(exc).strip()}"
        if on_ci():
            pytest.fail(f"{message} (CI is set: the postgres tests must run there)")
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """A schema name no other test or test run uses; dropped (with everything in it) afterwards."""
    import psycopg
    from psycopg import sql

    name = f"flext_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


_SESSION_HANDLERS: dict[int, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    """Remember the process's SIGINT and SIGTERM handlers before anything is collected."""
    for number in (signal.SIGINT, signal.SIGTERM):
        _SESSION_HANDLERS[number] = signal.getsignal(number)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Put them back once collection is done.

    Singer SDK taps and targets point both signals at their own handler when they are built, and the
    SDK's test classes (tap-oracle-wms's ``get_tap_test_class``) build taps while they are collected:
    without this, every test after collection would run with Ctrl-C redirected to a tap.
    """
    for number, handler in _SESSION_HANDLERS.items():
        signal.signal(number, handler)  # type: ignore[arg-type]  # what getsignal returned
