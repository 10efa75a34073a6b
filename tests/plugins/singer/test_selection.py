"""Meltano-style selection patterns on a discovered catalog: examples and properties."""

from __future__ import annotations

import copy
import string

from flext_plugin_singer.selection import select, selected_streams, unmatched
from hypothesis import given
from hypothesis import strategies as st


def _stream(name: str, properties: list[str], keys: list[str]) -> dict:
    return {
        "tap_stream_id": name,
        "key_properties": keys,
        "schema": {"type": "object", "properties": {prop: {"type": "string"} for prop in properties}},
        "metadata": [{"breadcrumb": [], "metadata": {"inclusion": "available"}}],
    }


CATALOG = {
    "streams": [
        _stream("users", ["dn", "uid", "mail", "attributes"], ["dn"]),
        _stream("groups", ["dn", "cn", "members"], ["dn"]),
    ]
}


def _picked(catalog: dict) -> dict[str, set[str]]:
    picked = {}
    for stream in catalog["streams"]:
        entries = {tuple(e["breadcrumb"]): e["metadata"] for e in stream["metadata"]}
        if entries[()].get("selected"):
            picked[stream["tap_stream_id"]] = {
                crumb[1] for crumb, meta in entries.items() if crumb and meta.get("selected")
            }
    return picked


def test_patterns_pick_streams_and_properties_and_keys_come_along():
    chosen = select(CATALOG, ["users.*", "!users.attributes", "groups.cn"])
    assert _picked(chosen) == {"users": {"dn", "uid", "mail"}, "groups": {"dn", "cn"}}
    assert selected_streams(chosen) == ["users", "groups"]


def test_later_patterns_win_and_a_negated_stream_is_left_out():
    assert _picked(select(CATALOG, ["*.*", "!groups.*"])) == {"users": {"dn", "uid", "mail", "attributes"}}
    assert _picked(select(CATALOG, ["!groups.*", "groups.*"]))["groups"] == {"dn", "cn", "members"}


def test_unmatched_names_the_patterns_that_match_nothing():
    assert unmatched(CATALOG, ["users.*", "user.*", "groups.cnn", "!groups.members", "*.mail"]) == [
        "user.*",
        "groups.cnn",
    ]


_names = st.text(string.ascii_lowercase, min_size=1, max_size=6)
_catalogs = st.dictionaries(
    _names, st.lists(_names, min_size=1, max_size=5, unique=True), min_size=1, max_size=4
).map(lambda streams: {"streams": [_stream(name, props, [props[0]]) for name, props in streams.items()]})
_patterns = st.lists(
    st.builds(
        lambda neg, stream, prop: ("!" if neg else "") + stream + "." + prop,
        st.booleans(),
        st.one_of(_names, st.just("*")),
        st.one_of(_names, st.just("*")),
    ),
    max_size=6,
)


@given(_catalogs, _patterns)
def test_selection_keeps_keys_never_mutates_and_agrees_with_selected_streams(catalog, patterns):
    before = copy.deepcopy(catalog)
    chosen = select(catalog, patterns)
    assert catalog == before
    picked = _picked(chosen)
    assert sorted(picked) == sorted(selected_streams(chosen))
    for stream in chosen["streams"]:
        if stream["tap_stream_id"] in picked:
            assert set(stream["key_properties"]) <= picked[stream["tap_stream_id"]]


@given(_catalogs)
def test_everything_pattern_selects_every_property(catalog):
    picked = _picked(select(catalog, ["*.*"]))
    assert picked == {s["tap_stream_id"]: set(s["schema"]["properties"]) for s in catalog["streams"]}
    assert unmatched(catalog, ["*.*"]) == []
