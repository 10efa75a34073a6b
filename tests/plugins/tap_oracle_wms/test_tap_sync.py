"""The real ``tap-oracle-wms`` in a subprocess against the local LGF API v10 (``FakeWms``).

Discovery from the describe endpoint, ``next_page`` paging, field selection
from the catalog, retries (a 500 once, a 429 with Retry-After), failures that
end the run in one ``error:`` line (malformed JSON, a refused login, retries
used up, a ``next_page`` to another host) without a bookmark past the records
written, and incremental runs (only the changes, equal timestamps sent once).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from .conftest import CLIENT_SECRET, PASSWORD, FakeWms, Fault, RunTap, TapRun, make_rows

pytestmark = pytest.mark.slow  # each test runs the tap as a subprocess, some several times

NOT_JSON = '{"result_count": 25, "results": [{"id": 11, "code": "C000'


def _discover(run_tap: RunTap, config: dict[str, Any]) -> dict[str, Any]:
    run = run_tap(config, "--discover")
    assert run.exit_code == 0, run.stderr
    catalog: dict[str, Any] = run.catalog()
    return catalog


def _no_secret(*runs: TapRun) -> None:
    for run in runs:
        for secret in (PASSWORD, CLIENT_SECRET):
            assert secret not in run.stdout
            assert secret not in run.stderr


def _bookmarks(run: TapRun, stream: str) -> list[Any]:
    """The ``replication_key_value`` of ``stream`` in every STATE the run wrote."""
    found = []
    for message in run.of("STATE"):
        bookmark = message["value"].get("bookmarks", {}).get(stream, {})
        found.append(bookmark.get("replication_key_value"))
    return found


def _deselect(catalog: dict[str, Any], stream: str, *names: str) -> dict[str, Any]:
    chosen = copy.deepcopy(catalog)
    for entry in chosen["streams"]:
        for item in entry["metadata"]:
            breadcrumb = tuple(item["breadcrumb"])
            if entry["tap_stream_id"] != stream and breadcrumb == ():
                item["metadata"]["selected"] = False
            elif entry["tap_stream_id"] == stream and breadcrumb == ():
                item["metadata"]["selected"] = True
            elif entry["tap_stream_id"] == stream and breadcrumb[-1] in names:
                item["metadata"]["selected"] = False
    return chosen


def test_discovery_types_each_entity_from_its_describe_answer(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(3))
    wms.add("order_hdr", make_rows(2))
    catalog = _discover(run_tap, wms.basic_config())

    streams = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert sorted(streams) == ["item", "order_hdr"]
    item = streams["item"]
    assert (item["key_properties"], item["replication_key"]) == (["id"], "mod_ts")
    properties = item["schema"]["properties"]
    assert properties["id"] == {"type": ["integer"]}
    assert properties["qty"]["type"] == ["number", "null"]  # DecimalField: a number, never a string
    assert properties["mod_ts"] == {"type": ["string", "null"], "format": "date-time"}
    assert properties["ship_date"]["format"] == "date"
    assert properties["code"]["maxLength"] == 40
    assert properties["facility_id"]["properties"]["id"] == {"type": ["integer", "null"]}
    assert properties["active"]["type"] == ["boolean", "null"]
    asked = [seen.path for seen in wms.seen]
    assert asked == [
        "/prod/wms/lgfapi/v10/entity/item/describe/",
        "/prod/wms/lgfapi/v10/entity/order_hdr/describe/",
    ]
    assert all(seen.authorization.startswith("Basic ") for seen in wms.seen)


def test_the_nine_gruponos_entities_are_discovered_by_default(wms: FakeWms, run_tap: RunTap) -> None:
    entities = ["facility", "company", "item", "location", "inventory", "order_hdr", "order_dtl",
                "allocation", "container"]  # fmt: skip
    for entity in entities:
        wms.add(entity, make_rows(1))
    config = wms.basic_config()
    del config["entities"]
    catalog = _discover(run_tap, config)
    assert sorted(entry["tap_stream_id"] for entry in catalog["streams"]) == sorted(entities)
    assert [seen.path.split("/")[-3] for seen in wms.seen] == entities  # described in the default order


def test_a_full_sync_follows_next_page_over_three_pages(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(25))
    config = wms.basic_config()
    run = run_tap(config, catalog=_discover(run_tap, config))

    assert run.exit_code == 0, run.stderr
    records = run.records("item")
    assert [record["id"] for record in records] == list(range(1, 26))
    pages = wms.list_requests("item")
    assert len(pages) == 3
    assert pages[0].args == {"page_size": "10", "page_mode": "sequenced"}  # no filter on a first run
    assert [seen.args.get("page") for seen in pages[1:]] == ["2", "3"]  # the next_page links, as given
    # Decimals digit for digit, date-times in UTC with their offset.
    assert '"qty":25123456789.123456789' in run.stdout
    assert records[0]["mod_ts"] == "2026-12-01T07:00:00.000000+00:00"
    assert run.state["bookmarks"]["item"]["replication_key_value"] == "2026-12-01T07:24:00.000000+00:00"
    assert run.state["bookmarks"]["item"]["ids_at_bookmark"] == {
        "mod_ts": "2026-12-01T07:24:00.000000+00:00",
        "ids": [25],
    }
    _no_secret(run)


def test_deselected_fields_are_not_asked_for_nor_sent(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(12))
    wms.add("order_hdr", make_rows(2))
    config = wms.basic_config()
    catalog = _deselect(_discover(run_tap, config), "item", "description", "qty")

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 0, run.stderr
    assert run.counts() == {"item": 12}  # order_hdr is not selected
    first = wms.list_requests("item")[0]
    assert first.args["fields"].split(",") == [
        "id", "code", "active", "facility_id", "ship_date", "create_ts", "mod_ts",
    ]  # fmt: skip
    assert all(set(record) == set(first.args["fields"].split(",")) for record in run.records())
    assert not wms.list_requests("order_hdr")


def test_a_page_that_fails_once_with_500_is_fetched_again(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(25))
    config = wms.basic_config()
    catalog = _discover(run_tap, config)
    wms.fail("item", 2, Fault(500))

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 0, run.stderr
    assert [record["id"] for record in run.records()] == list(range(1, 26))  # each once
    assert [seen.args.get("page") for seen in wms.list_requests("item")] == [None, "2", "2", "3"]
    assert "entity item: HTTP 500, retrying in" in run.stderr


def test_a_429_waits_what_retry_after_asks(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(5))
    config = wms.basic_config()
    catalog = _discover(run_tap, config)
    wms.fail("item", 1, Fault(429, {"Retry-After": "1"}, '{"detail": "Request was throttled."}'))

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 0, run.stderr
    assert len(run.records()) == 5
    # The wait is the server's (1 s), not the configured exponential one (0.05 s, plus jitter).
    assert "entity item: HTTP 429, retrying in 1.0 s (try 1 of 5)" in run.stderr
    assert len(wms.list_requests("item")) == 2


def test_retries_used_up_end_the_run_naming_the_entity(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(5))
    config = wms.basic_config(max_tries=2)
    catalog = _discover(run_tap, config)
    for _ in range(2):
        wms.fail("item", 1, Fault(503))

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 1
    assert run.errors() == [
        "error: entity item: the WMS answered HTTP 503 SERVICE UNAVAILABLE after 2 tries: "
        "try again later, or raise max_tries"
    ]
    assert "Traceback" not in run.stderr
    assert run.records() == []


def test_malformed_json_stops_the_run_with_no_bookmark_past_the_records(
    wms: FakeWms, run_tap: RunTap
) -> None:
    wms.add("item", make_rows(25))
    config = wms.basic_config()
    catalog = _discover(run_tap, config)
    first = run_tap(config, catalog=catalog)
    assert first.exit_code == 0, first.stderr
    bookmark = first.state["bookmarks"]["item"]["replication_key_value"]

    wms.add("item", make_rows(25, minute0=60))  # every row changed an hour later
    wms.fail("item", 2, Fault(200, body=NOT_JSON))
    run = run_tap(config, catalog=catalog, state=first.state)

    assert run.exit_code == 1
    (line,) = run.errors()
    assert line.startswith("error: entity item: page 2 is not JSON (")
    assert line.endswith("nothing of it was sent, and no bookmark moved")
    assert "Traceback" not in run.stderr
    assert [record["id"] for record in run.records()] == list(range(1, 11))  # page 1 only
    assert set(_bookmarks(run, "item")) == {bookmark}  # every STATE still says the first run's bookmark


def test_a_next_page_on_another_host_is_not_followed(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(25))
    config = wms.basic_config()
    catalog = _discover(run_tap, config)
    wms.next_host = "http://127.0.0.9:9"

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 1
    assert run.errors() == [
        f"error: entity item: next_page points to http://127.0.0.9:9, not to the configured "
        f"{wms.base_url.rsplit('/', 1)[0]}: the tap does not send credentials there (check base_url)"
    ]
    assert len(wms.list_requests("item")) == 1


def test_a_second_run_sends_only_what_changed(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(25))
    config = wms.basic_config()
    catalog = _discover(run_tap, config)
    first = run_tap(config, catalog=catalog)
    assert first.exit_code == 0, first.stderr

    rows = wms.rows["item"]
    changed = make_rows(1, start_id=5, minute0=100)[0] | {"description": "changed"}
    rows[4] = changed
    rows[16] = make_rows(1, start_id=17, minute0=101)[0]
    rows.append(make_rows(1, start_id=26, minute0=102)[0])
    second = run_tap(config, catalog=catalog, state=first.state)

    assert second.exit_code == 0, second.stderr
    assert [record["id"] for record in second.records()] == [5, 17, 26]
    assert second.records()[0]["description"] == "changed"
    asked = wms.list_requests("item")[-1].args
    assert asked["mod_ts__gte"] == first.state["bookmarks"]["item"]["replication_key_value"]
    assert second.state["bookmarks"]["item"]["replication_key_value"] == "2026-12-01T08:42:00.000000+00:00"

    third = run_tap(config, catalog=catalog, state=second.state)
    assert third.exit_code == 0, third.stderr
    assert third.records() == []  # nothing changed since
    _no_secret(first, second, third)


def test_rows_sharing_the_bookmark_timestamp_are_sent_once(wms: FakeWms, run_tap: RunTap) -> None:
    stamp = "2026-12-01T04:00:00-03:00"
    wms.add("item", [row | {"mod_ts": stamp} for row in make_rows(3)])
    config = wms.basic_config()
    catalog = _discover(run_tap, config)
    first = run_tap(config, catalog=catalog)
    assert first.state["bookmarks"]["item"]["ids_at_bookmark"]["ids"] == [1, 2, 3]

    # A row committed later with the same mod_ts: mod_ts__gt would lose it, __gte alone would resend 1-3.
    wms.rows["item"].append(make_rows(1, start_id=4)[0] | {"mod_ts": stamp})
    second = run_tap(config, catalog=catalog, state=first.state)
    assert second.exit_code == 0, second.stderr
    assert [record["id"] for record in second.records()] == [4]
    assert second.state["bookmarks"]["item"]["ids_at_bookmark"] == {
        "mod_ts": "2026-12-01T07:00:00.000000+00:00",
        "ids": [1, 2, 3, 4],
    }


def test_oauth2_client_credentials_one_token_for_every_stream(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(12))
    wms.add("order_hdr", make_rows(3))
    config = wms.oauth_config()
    catalog = _discover(run_tap, config)
    wms.tokens.clear()  # discovery's token is no longer valid
    wms.seen.clear()

    run = run_tap(config, catalog=catalog)
    assert run.exit_code == 0, run.stderr
    assert run.counts() == {"item": 12, "order_hdr": 3}
    assert wms.tokens == ["token-1"]
    assert all(seen.authorization == "Bearer token-1" for seen in wms.seen if seen.path.startswith("/prod/"))
    _no_secret(run)


def test_a_refused_oauth2_client_is_one_error_line(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(1))
    config = wms.oauth_config(client_secret="not-the-secret-7731")

    run = run_tap(config, "--discover")
    assert run.exit_code == 1
    (line,) = run.errors()
    assert line.startswith("error: entity item: Failed to update access token (status=401) from http://")
    assert line.endswith(": check client_id and client_secret")
    assert "not-the-secret-7731" not in run.stderr + run.stdout
    assert "Traceback" not in run.stderr


def test_wrong_basic_credentials_are_one_error_line(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(1))
    config = wms.basic_config(password="wrong-pw-5519")

    run = run_tap(config, "--discover")
    assert run.exit_code == 1
    assert run.errors() == [
        "error: entity item: the WMS refused the credentials (HTTP 401): check username/password or "
        "OAuth2 client"
    ]
    assert "wrong-pw-5519" not in run.stderr + run.stdout


def test_an_entity_the_api_does_not_have_is_named(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(1))
    run = run_tap(wms.basic_config(entities=["item", "no_such_entity"]), "--discover")
    assert run.exit_code == 1
    assert run.errors() == [
        "error: entity no_such_entity: not found (HTTP 404): check base_url and that the entity exists "
        "in LGF API v10"
    ]


def test_a_describe_failing_once_is_asked_again(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(1))
    wms.describe_faults["item"].append(Fault(502))
    catalog = _discover(run_tap, wms.basic_config())
    assert [entry["tap_stream_id"] for entry in catalog["streams"]] == ["item"]
    assert len([s for s in wms.seen if s.path.endswith("/describe/")]) == 2


def test_a_describe_without_fields_is_named(wms: FakeWms, run_tap: RunTap) -> None:
    wms.add("item", make_rows(1))
    wms.describe["item"] = {"parameters": []}
    run = run_tap(wms.basic_config(), "--discover")
    assert run.exit_code == 1
    assert run.errors() == [
        "error: entity item: the describe answer has no field definitions ('fields'): check that the "
        "entity name is an LGF API v10 entity and that the user may read it"
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"auth_method": "oauth2"}, "auth_method oauth2 needs oauth_token_url, client_id, client_secret"),
        ({"password": ""}, "auth_method basic needs password"),
        ({"source_timezone": "Mars/Olympus"}, "source_timezone 'Mars/Olympus' is not an IANA time zone"),
    ],
)
def test_a_missing_setting_is_exit_code_2(
    wms: FakeWms, run_tap: RunTap, change: dict[str, str], message: str
) -> None:
    wms.add("item", make_rows(1))
    run = run_tap(wms.basic_config(**change))
    assert run.exit_code == 2
    (line,) = run.errors()
    assert line.startswith(f"error: {message}")
    assert run.messages == []
    assert wms.seen == []


def test_the_secrets_are_marked_secret_in_about(run_tap: RunTap) -> None:
    run = run_tap({}, "--about", "--format", "json")
    assert run.exit_code == 0, run.stderr
    settings = json.loads(run.stdout)["settings"]["properties"]
    assert settings["password"].get("secret") is True
    assert settings["client_secret"].get("secret") is True


def test_a_server_that_does_not_answer_is_named_after_the_retries(run_tap: RunTap) -> None:
    config = {
        "base_url": "http://127.0.0.1:9/prod",  # the discard port: nothing listens there
        "username": "u",
        "password": PASSWORD,
        "entities": ["item"],
        "max_tries": 2,
        "backoff_base_seconds": 0.01,
    }
    run = run_tap(config, "--discover")
    assert run.exit_code == 1
    assert run.errors() == ["error: entity item: no answer from http://127.0.0.1:9/prod: ConnectionError"]
    _no_secret(run)
