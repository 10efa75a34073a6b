"""The store: search filters and order, FTS5 queries (good and refused), retention, exports' pages."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from flext_plugin_logs.errors import LOG_QUERY_INVALID, LOG_STORE_FAILED
from flext_plugin_logs.query import fts_query
from flext_plugin_logs.store import Filters, LogStore, Row, check_query
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = time.time()


def row(
    message: str,
    *,
    ago: float = 0.0,
    level: int = 20,
    logger: str = "flext_kernel.bus",
    plugin: str | None = "kernel",
    pipeline: str | None = None,
    correlation_id: str | None = None,
    fields: dict[str, object] | None = None,
) -> Row:
    text = json.dumps(fields) if fields else None
    return (NOW - ago, level, logger, plugin, pipeline, None, correlation_id, message, text)


@pytest.fixture
def store(tmp_path: Path) -> LogStore:
    opened = LogStore.open(tmp_path / "logs" / "logs.db")
    assert opened.is_success, opened.error
    yield opened.value
    opened.value.close()


def messages(store: LogStore, filters: Filters, limit: int = 100) -> list[str]:
    found = store.search(filters, limit)
    assert found.is_success, found.error
    return [line.message for line in found.value]


def test_the_file_is_private_in_wal_mode(store: LogStore) -> None:
    assert store.path.stat().st_mode & 0o777 == 0o600
    assert store.path.parent.stat().st_mode & 0o777 == 0o700
    connection = sqlite3.connect(store.path)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    connection.close()


def test_search_returns_the_newest_matches_oldest_first(store: LogStore) -> None:
    store.insert([row(f"load step {n} done", ago=100 - n) for n in range(10)]).unwrap()
    store.insert([row("unrelated line")]).unwrap()
    assert messages(store, Filters(query="step"), limit=3) == [f"load step {n} done" for n in (7, 8, 9)]
    assert messages(store, Filters(), limit=2) == ["load step 9 done", "unrelated line"]


def test_filters_by_time_level_plugin_pipeline_and_correlation(store: LogStore) -> None:
    store.insert(
        [
            row("old timeout", ago=7200),
            row("recent timeout", ago=60, correlation_id="c-1"),
            row(
                "recent timeout warning",
                ago=30,
                level=30,
                plugin="scheduler",
                logger="flext_plugin_scheduler",
            ),
            row("run timeout", ago=10, level=40, plugin="pipeline", logger="tap-x", pipeline="numbers"),
        ]
    ).unwrap()
    assert messages(store, Filters(query="timeout", since=NOW - 3600)) == [
        "recent timeout",
        "recent timeout warning",
        "run timeout",
    ]
    assert messages(store, Filters(query="timeout", until=NOW - 3600)) == ["old timeout"]
    assert messages(store, Filters(query="timeout", level=30)) == ["recent timeout warning", "run timeout"]
    assert messages(store, Filters(query="timeout", plugins=("scheduler", "pipeline"))) == [
        "recent timeout warning",
        "run timeout",
    ]
    assert messages(store, Filters(query="timeout", pipeline="numbers")) == ["run timeout"]
    assert messages(store, Filters(correlation_id="c-1")) == ["recent timeout"]
    assert messages(store, Filters(query="timeout", correlation_id="c-1")) == ["recent timeout"]
    assert messages(store, Filters(query="warning", correlation_id="c-1")) == []
    exported = [
        line.message
        for page in store.iterate(Filters(query="timeout", correlation_id="c-1"))
        for line in page.unwrap()
    ]
    assert exported == ["recent timeout"]


def test_fields_are_searched_too(store: LogStore) -> None:
    store.insert(
        [row("dispatched", fields={"message_type": "pipeline.RunPipeline", "outcome": "ok"})]
    ).unwrap()
    assert messages(store, Filters(query="RunPipeline")) == ["dispatched"]
    assert messages(store, Filters(query="fields:outcome")) == ["dispatched"]
    assert messages(store, Filters(query="message:outcome")) == []


def test_fts5_syntax_and_words_with_punctuation(store: LogStore) -> None:
    store.insert(
        [
            row("run 20261207T101500.123-ab12 failed: connection refused by db.example"),
            row("connection reset"),
            row("refused politely"),
        ]
    ).unwrap()
    assert messages(store, Filters(query='"connection refused"')) == [
        "run 20261207T101500.123-ab12 failed: connection refused by db.example"
    ]
    assert len(messages(store, Filters(query="connection OR refused"))) == 3
    assert messages(store, Filters(query="connection NOT refused")) == ["connection reset"]
    assert len(messages(store, Filters(query="conn*"))) == 2
    assert len(messages(store, Filters(query="db.example"))) == 1
    assert len(messages(store, Filters(query="20261207T101500.123-ab12"))) == 1


@pytest.mark.parametrize("query", ['"unbalanced', "AND", "a OR", "(open", "NOT"])
def test_a_query_fts5_refuses_is_named(store: LogStore, query: str) -> None:
    found = store.search(Filters(query=query), 10)
    assert found.error_code == LOG_QUERY_INVALID
    assert repr(query) in (found.error or "")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_query_or_refused_never_an_exception(text: str) -> None:
    checked = check_query(text)
    assert checked.is_success or checked.error_code == LOG_QUERY_INVALID
    if checked.is_success:
        assert checked.value == fts_query(text)


def test_retention_by_age(store: LogStore) -> None:
    store.insert([row("ancient", ago=40 * 86400), row("fresh", ago=60)]).unwrap()
    assert store.enforce_retention(max_bytes=1 << 30, max_age_seconds=14 * 86400).unwrap() == 1
    assert messages(store, Filters()) == ["fresh"]
    assert messages(store, Filters(query="ancient")) == []  # gone from the index as well


def test_retention_by_size_keeps_the_newest_lines_under_the_limit(store: LogStore) -> None:
    words = " ".join(f"word{n}" for n in range(40))
    for batch in range(20):
        store.insert([row(f"line {batch}-{n} {words}") for n in range(500)]).unwrap()
    limit = 1024 * 1024
    assert store.used_bytes().unwrap() > limit
    deleted = store.enforce_retention(max_bytes=limit, max_age_seconds=86400).unwrap()
    assert deleted > 0
    assert store.used_bytes().unwrap() <= limit
    assert store.count().unwrap() == 10_000 - deleted
    newest = messages(store, Filters(), limit=1)
    assert newest[0].startswith("line 19-499 ")
    oldest = store.search(Filters(query="word0"), 10_000).unwrap()[0]
    assert oldest.id == 10_000 - store.count().unwrap() + 1  # what is left is the newest, in one piece
    assert store.path.stat().st_size < 4 * limit  # the free pages were given back


def test_iterate_pages_through_everything_in_order(store: LogStore) -> None:
    store.insert([row(f"line {n} {'even' if n % 2 == 0 else 'odd'}") for n in range(25)]).unwrap()
    pages = [page.unwrap() for page in store.iterate(Filters(query="even"), page=4)]
    assert [len(page) for page in pages] == [4, 4, 4, 1]
    assert [line.message for page in pages for line in page] == [f"line {n} even" for n in range(0, 25, 2)]
    everything = [line.message for page in store.iterate(Filters(), page=10) for line in page.unwrap()]
    assert len(everything) == 25


def test_a_store_that_cannot_be_opened_is_a_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    opened = LogStore.open(blocker / "logs.db")
    assert opened.error_code == LOG_STORE_FAILED
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    assert LogStore.open(corrupt).error_code == LOG_STORE_FAILED
