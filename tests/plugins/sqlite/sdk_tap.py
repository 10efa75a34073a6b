"""A tap built on the Meltano Singer SDK, run as a program by the tests: the SDK's own message order.

Stream ``people`` (key ``id``, synced in full) has ``count`` records, ``id``
0 to count - 1, named ``name``; with ``fail_after`` the stream raises after
that many records (the tap exits non-zero, as a source that fails part way).
Stream ``teams`` is a child of ``people`` (one team per person, its
``ACTIVATE_VERSION`` repeated for each parent record). With
``emit_activate_version_messages`` the SDK sends each stream's
``ACTIVATE_VERSION`` before its records, and a version on every record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk import typing as th


class People(Stream):
    name = "people"
    primary_keys: ClassVar[list[str]] = ["id"]
    schema = th.PropertiesList(
        th.Property("id", th.IntegerType), th.Property("name", th.StringType)
    ).to_dict()

    def get_records(self, context: Any) -> Iterable[dict[str, Any]]:
        fail_after = self.config.get("fail_after")
        for number in range(int(self.config.get("count", 3))):
            if fail_after is not None and number == fail_after:
                raise RuntimeError(f"the source failed after {number} records")
            yield {"id": number, "name": self.config.get("name", "new")}

    def get_child_context(self, record: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"person": record["id"]}


class Teams(Stream):
    name = "teams"
    parent_stream_type = People
    primary_keys: ClassVar[list[str]] = ["person"]
    schema = th.PropertiesList(
        th.Property("person", th.IntegerType), th.Property("name", th.StringType)
    ).to_dict()

    def get_records(self, context: Any) -> Iterable[dict[str, Any]]:
        assert context is not None
        yield {"person": context["person"], "name": self.config.get("name", "new")}


class TapPeople(Tap):
    name = "tap-people"
    config_jsonschema: ClassVar[dict[str, Any]] = th.PropertiesList(
        th.Property("count", th.IntegerType),
        th.Property("fail_after", th.IntegerType),
        th.Property("name", th.StringType),
        th.Property("teams", th.BooleanType),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        streams: list[Stream] = [People(self)]
        if self.config.get("teams"):
            streams.append(Teams(self))
        return streams


if __name__ == "__main__":
    TapPeople.cli()
