"""``page_concurrency``: pages fetched several at a time, against the local WMS answering several at once.

The real ``tap-oracle-wms`` runs as a subprocess against ``FakeWms`` on a
threaded loopback server. That pages really are in flight together is
shown without timing: the server answers pages 2 and 4 only once both are
being answered, which a reader going one page at a time never lets happen
(the control test shows the wait running out). Rows must still come in page order, each
once, with the bookmark and its ids as a one-page-at-a-time run leaves
them; a page that fails once, a 429 with ``Retry-After``, retries used up
and a malformed page behave as they do without concurrency; and rows
removed during the read make the tap read the entity again one page at a
time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from tap_oracle_wms.pages import numbered_pages

from .conftest import FakeWms, Fault, RunTap, TapRun, make_rows

pytestmark = pytest.mark.slow  # each test runs the tap as a subprocess

NOT_JSON = '{"result_count": 55, "results": [{"id": 11, "code": "C000'


@pytest.fixture
def wms() -> Iterator[FakeWms]:
    """A fake WMS on a loopback server that answers requests in parallel threads."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield FakeWms(server)
    finally:
        server.clear()
        server.stop()


def _catalog(run_tap: RunTap, config: dict[str, Any]) -> dict[str, Any]:
    run = run_tap(config, "--discover")
    assert run.exit_code == 0, run.stderr
    found: dict[str, Any] = run.catalog()
    return found


def _ids(run: TapRun) -> list[int]:
    return [record["id"] for record in run.records("item")]


def _bookmarks(run: TapRun) -> set[Any]:
    states = [message["value"].get("bookmarks", {}).get("item", {}) for message in run.of("STATE")]
    return {state.get("replication_key_value") for state in states}


def test_pages_are_in_flight_together_and_rows_come_in_page_order(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(55))  # 6 pages of 10
    config = wms.basic_config(page_concurrency=4)
    catalog = _catalog(run_tap, config)
    wms.meet("item", (2, 4))

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 0, run.stderr
    assert wms.met("item", 2)  # pages 2 and 4 were in flight at once
    assert wms.max_in_flight >= 2
    assert _ids(run) == list(range(1, 56))  # page order, each row once
    pages = wms.list_requests("item")
    assert pages[0].args == {"page_size": "10", "page_mode": "paged", "ordering": "id"}
    assert sorted(int(seen.args.get("page", "1")) for seen in pages) == [1, 2, 3, 4, 5, 6]
    assert all(seen.args["ordering"] == "id" for seen in pages)  # every page cut the same way
    assert run.state["bookmarks"]["item"]["replication_key_value"] == "2026-12-01T07:54:00.000000+00:00"
    assert run.state["bookmarks"]["item"]["ids_at_bookmark"] == {
        "mod_ts": "2026-12-01T07:54:00.000000+00:00",
        "ids": [55],
    }


def test_one_page_at_a_time_never_has_two_in_flight(wms: FakeWms, run_tap: RunTap) -> None:
    """The control of the test above: the same hold runs out when pages are read one at a time."""
    wms.add("item", make_rows(35))
    config = wms.basic_config()  # page_concurrency 1, the default
    catalog = _catalog(run_tap, config)
    wms.meet("item", (2, 3), timeout=1.0)

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 0, run.stderr
    assert not wms.met("item", 2)
    assert wms.max_in_flight == 1
    assert _ids(run) == list(range(1, 36))


def test_an_incremental_run_reads_concurrently_from_the_bookmark(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(45))
    config = wms.basic_config(page_concurrency=3)
    catalog = _catalog(run_tap, config)
    first = run_tap(config, catalog=catalog)
    assert first.exit_code == 0, first.stderr

    changed = make_rows(25, start_id=10, minute0=120)  # ids 10..34 changed two hours later
    wms.add("item", [row for row in wms.rows["item"] if not 10 <= row["id"] <= 34] + changed)
    second = run_tap(config, catalog=catalog, state=first.state)
    assert second.exit_code == 0, second.stderr
    assert _ids(second) == list(range(10, 35))  # only the changes, in id order
    asked = wms.list_requests("item")[-3:]
    assert all(seen.args["mod_ts__gte"] == "2026-12-01T07:44:00.000000+00:00" for seen in asked)
    assert second.state["bookmarks"]["item"]["ids_at_bookmark"]["ids"] == [34]


def test_a_page_that_fails_once_is_fetched_again_in_its_place(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(55))
    config = wms.basic_config(page_concurrency=4)
    catalog = _catalog(run_tap, config)
    wms.fail("item", 3, Fault(500))

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 0, run.stderr
    assert _ids(run) == list(range(1, 56))
    assert [seen.args.get("page") for seen in wms.list_requests("item")].count("3") == 2
    assert "entity item: HTTP 500, retrying in" in run.stderr


def test_a_429_on_one_page_waits_what_retry_after_asks(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(55))
    config = wms.basic_config(page_concurrency=4)
    catalog = _catalog(run_tap, config)
    wms.fail("item", 4, Fault(429, {"Retry-After": "1"}, '{"detail": "Request was throttled."}'))

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 0, run.stderr
    assert _ids(run) == list(range(1, 56))
    assert "entity item: HTTP 429, retrying in 1.0 s (try 1 of 5)" in run.stderr
    assert [seen.args.get("page") for seen in wms.list_requests("item")].count("4") == 2


def test_a_page_that_keeps_failing_ends_the_run_with_only_the_pages_before_it(
    wms: FakeWms, run_tap: RunTap
) -> None:
    wms.add("item", make_rows(55))
    config = wms.basic_config(page_concurrency=4, max_tries=2)
    catalog = _catalog(run_tap, config)
    first = run_tap(config, catalog=catalog)
    assert first.exit_code == 0, first.stderr
    bookmark = first.state["bookmarks"]["item"]["replication_key_value"]

    wms.add("item", make_rows(55, minute0=60))  # every row changed an hour later
    for _ in range(2):
        wms.fail("item", 3, Fault(503))
    run = run_tap(config, catalog=catalog, state=first.state)

    assert run.exit_code == 1
    assert run.errors() == [
        "error: entity item: the WMS answered HTTP 503 SERVICE UNAVAILABLE after 2 tries: "
        "try again later, or raise max_tries"
    ]
    assert "Traceback" not in run.stderr
    assert _ids(run) == list(range(1, 21))  # pages 1 and 2; nothing of the pages after the failed one
    assert _bookmarks(run) == {bookmark}  # no STATE moved the bookmark


def test_a_failed_page_stops_the_other_workers_retries_so_the_tap_exits(
    wms: FakeWms, run_tap: RunTap
) -> None:
    """Pages 3 to 5 keep answering 503 while page 2 fails for good: their workers must give up.

    Their retry schedule is 1 + 2 + 4 + 8 + 16 s (six tries); a worker left to it would ask each
    page six times before the process could exit. Stopped, each asks once (twice if the stop
    lands between its check and its wait), and no page after them is asked at all.
    """
    wms.add("item", make_rows(55))
    config = wms.basic_config(page_concurrency=4, max_tries=6, backoff_base_seconds=1.0)
    catalog = _catalog(run_tap, config)
    wms.meet("item", (2, 3, 4, 5))  # all four in flight before any is answered
    wms.fail("item", 2, Fault(400, body='{"detail": "bad request"}'))
    for page in (3, 4, 5):
        for _ in range(6):
            wms.fail("item", page, Fault(503))

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 1
    [line] = run.errors()
    assert line.startswith("error: entity item: the WMS answered HTTP 400"), line
    assert "Traceback" not in run.stderr
    assert _ids(run) == list(range(1, 11))  # page 1 only: nothing of the pages after the failed one
    asked = Counter(int(seen.args.get("page", "1")) for seen in wms.list_requests("item"))
    assert asked[2] == 1
    assert all(1 <= asked[page] <= 2 for page in (3, 4, 5)), asked  # not their six tries
    assert asked[6] == 0, asked


def test_a_malformed_page_is_named_and_nothing_after_it_is_sent(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(55))
    config = wms.basic_config(page_concurrency=4)
    catalog = _catalog(run_tap, config)
    wms.fail("item", 2, Fault(200, body=NOT_JSON))

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 1
    (line,) = run.errors()
    assert line.startswith("error: entity item: page 2 is not JSON (")
    assert _ids(run) == list(range(1, 11))
    assert _bookmarks(run) <= {None}  # no STATE with a bookmark


def test_rows_removed_during_the_read_make_it_read_again_one_page_at_a_time(
    wms: FakeWms, run_tap: RunTap
) -> None:
    wms.add("item", make_rows(55))
    config = wms.basic_config(page_concurrency=4)
    catalog = _catalog(run_tap, config)

    def remove_row_5() -> None:
        wms.rows["item"] = [row for row in wms.rows["item"] if row["id"] != 5]

    wms.after_page[("item", 1)] = remove_row_5  # every later page is cut one row further on
    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 0, run.stderr
    assert "entity item: rows were added or removed during the concurrent read" in run.stderr
    ids = _ids(run)
    assert set(ids) == set(range(1, 56))  # row 11, which moved onto page 1, is not lost
    assert ids[-54:] == [n for n in range(1, 56) if n != 5]  # the second read, one page at a time
    assert any(seen.args.get("page_mode") == "sequenced" for seen in wms.list_requests("item"))


def test_sixteen_pages_in_flight_each_on_its_own_connection(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(170))  # 17 pages
    config = wms.basic_config(page_concurrency=16)
    catalog = _catalog(run_tap, config)
    wms.meet("item", tuple(range(2, 18)))  # pages 2..17 answered only once all 16 are asked

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 0, run.stderr
    assert wms.met("item", 2)
    assert _ids(run) == list(range(1, 171))
    assert "Connection pool is full" not in run.stderr  # requests' default pool keeps only 10


def test_oauth2_one_token_serves_every_worker(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(55))
    config = wms.oauth_config(page_concurrency=4)
    catalog = _catalog(run_tap, config)
    wms.tokens.clear()

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 0, run.stderr
    assert _ids(run) == list(range(1, 56))
    assert len(wms.tokens) == 1  # asked once, before the first page; the workers reuse it
    assert {seen.authorization for seen in wms.list_requests("item")} == {f"Bearer {wms.tokens[0]}"}


@given(count=st.integers(min_value=-3, max_value=40), extra=st.sampled_from(["", "&fields=id,mod_ts"]))
def test_numbered_pages_are_the_first_link_with_each_page_number(count: int, extra: str) -> None:
    link = f"http://h/prod/wms/lgfapi/v10/entity/item/?page_size=10{extra}&page=2"
    urls = numbered_pages(link, count)
    assert urls is not None
    assert len(urls) == max(0, count - 1)
    for number, url in enumerate(urls, start=2):
        assert url == link.replace("page=2", f"page={number}").replace(",", "%2C")


@pytest.mark.parametrize(
    ("link", "count"),
    [
        ("http://h/x/?cursor=abc", 3),  # a cursor, not a page number
        ("http://h/x/?page=3", 3),  # not the second page
        ("http://h/x/?page=2", None),  # no page_count
        ("http://h/x/?page=2", True),
        (None, 3),
        (7, 3),
    ],
)
def test_links_that_are_not_numbered_pages_are_followed_one_at_a_time(link: object, count: object) -> None:
    assert numbered_pages(link, count) is None
