"""Properties of what sync computes and writes: the changes make the target the source, change records read
back as written, and the pacer never runs ahead of the rate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from flext_plugin_algar.directory import Change, Schema, changes, differences
from flext_plugin_algar.sync import Pacer, modify_record
from hypothesis import given, settings
from hypothesis import strategies as st

from flext_sdk.contracts.ldif import LdifReader, LdifRecord

_NAMES = st.sampled_from(["cn", "description", "objectclass", "member", "aci", "jpegphoto"])
_TEXT = st.text(alphabet="abcAB çã=,", min_size=1, max_size=6).filter(lambda s: s.strip() == s)
_VALUES = st.lists(st.one_of(_TEXT, st.binary(min_size=1, max_size=4)), min_size=1, max_size=5)
_SCHEMA = Schema(operational=frozenset({"aci"}))


def _normal(dn: str) -> str | None:
    return dn.lower() if "=" in dn else None  # enough for these values: only member holds DNs


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _applied(target: Mapping[str, Sequence[bytes]], done: Sequence[Change]) -> dict[str, list[bytes]]:
    """What a server holds after the changes (values kept as bytes, as it returns them)."""
    result = {name: list(values) for name, values in target.items()}
    for change in done:
        values = [_as_bytes(value) for value in change.values]
        if change.operation == "replace":
            result[change.attribute] = values
        elif change.operation == "add":
            result.setdefault(change.attribute, []).extend(values)
        elif not values:
            result.pop(change.attribute, None)
        else:
            result[change.attribute] = [v for v in result[change.attribute] if v not in values]
            if not result[change.attribute]:
                del result[change.attribute]
    return result


@settings(max_examples=300, deadline=None)
@given(
    source=st.dictionaries(_NAMES, _VALUES, max_size=4),
    target=st.dictionaries(_NAMES, st.lists(st.binary(min_size=1, max_size=4), min_size=1, max_size=5)),
)
def test_the_changes_make_the_target_equal_the_source(
    source: dict[str, list[str | bytes]], target: dict[str, list[bytes]]
) -> None:
    target = {name: list(dict.fromkeys(values)) for name, values in target.items()}  # a server keeps a set
    done = changes(source, target, _normal, _SCHEMA)
    after = _applied(target, done)
    assert differences(source, after, _normal, _SCHEMA) == []
    assert (done == []) == (differences(source, target, _normal, _SCHEMA) == [])
    if "aci" not in source:  # the server's own operational attribute is never touched
        assert all(change.attribute != "aci" for change in done)
        assert after.get("aci") == target.get("aci")


@settings(max_examples=200, deadline=None)
@given(
    dn_value=_TEXT,
    done=st.lists(
        st.builds(
            Change,
            st.sampled_from(["add", "delete", "replace"]),
            st.sampled_from(["cn", "description", "jpegphoto"]),
            st.lists(st.one_of(_TEXT, st.binary(min_size=1, max_size=40)), max_size=3).map(tuple),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_a_modify_record_reads_back_as_written(
    ldif_reader: LdifReader, tmp_path_factory: pytest.TempPathFactory, dn_value: str, done: list[Change]
) -> None:
    done = [c for c in done if c.values or c.operation == "delete"]
    if not done:
        return
    dn = f"cn={dn_value.replace(',', '').replace('=', '') or 'x'},dc=example,dc=com"
    path = tmp_path_factory.mktemp("records") / "changes.ldif"
    path.write_text("version: 1\n\n" + modify_record(dn, done), encoding="utf-8")
    [record] = list(ldif_reader.read(path))
    assert isinstance(record, LdifRecord), record
    assert (record.dn, record.change_type) == (dn, "modify")
    read = [(m.operation, m.attribute, [_as_bytes(v) for v in m.values]) for m in record.modifications]
    assert read == [(c.operation, c.attribute, [_as_bytes(v) for v in c.values]) for c in done]


@given(rate=st.floats(min_value=0.5, max_value=5000), work=st.lists(st.floats(0, 0.01), max_size=60))
def test_the_pacer_never_runs_ahead_of_the_rate(rate: float, work: list[float]) -> None:
    now = [100.0]
    calls: list[float] = []

    def sleep(seconds: float) -> None:
        assert seconds > 0
        now[0] += seconds

    pace = Pacer(rate, clock=lambda: now[0], sleep=sleep)
    for spent in work:
        pace()
        calls.append(now[0])
        now[0] += spent
    for index, at in enumerate(calls):
        assert at >= calls[0] + index / rate - 1e-9


def test_a_rate_of_zero_never_waits() -> None:
    def sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds} s")

    pace = Pacer(0, clock=lambda: 0.0, sleep=sleep)
    for _ in range(1000):
        pace()
