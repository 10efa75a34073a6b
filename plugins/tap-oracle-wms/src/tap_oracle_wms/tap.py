"""``tap-oracle-wms``: Oracle WMS Cloud entities, read through the LGF API v10, as Singer streams.

Config (docs/plugins/tap-oracle-wms.md has every setting): ``base_url``,
``auth_method`` (``basic`` with ``username``/``password``, or ``oauth2``
with ``oauth_token_url``/``client_id``/``client_secret``/``oauth_scope``),
``entities`` (the nine GrupoNos reads by default), ``page_size``,
``page_concurrency`` (pages in flight at once, ``pages``), ``start_date``,
retry settings. Secrets are marked secret in the schema,
so Singer SDK redacts them from ``--about`` and its logs.

Discovery asks the API to describe each configured entity (``schema``); a
run given a catalog builds its streams from the catalog and describes
nothing. Each failure the source causes is one ``error:`` line on stderr
and exit code 1 (2 for a setting), after the records and states already
written, and no state past them.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cached_property
from typing import Any, Final, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.authenticators import APIAuthenticatorBase

from tap_oracle_wms.auth import authenticator
from tap_oracle_wms.client import DescribeClient
from tap_oracle_wms.errors import SettingsError, WmsError
from tap_oracle_wms.retry import RetryPolicy
from tap_oracle_wms.schema import EntitySchema, entity_schema
from tap_oracle_wms.streams import EntityStream

__all__ = ["DEFAULT_ENTITIES", "TapOracleWMS"]

DEFAULT_ENTITIES: Final = (
    "facility", "company", "item", "location", "inventory",
    "order_hdr", "order_dtl", "allocation", "container",
)  # fmt: skip
"""The entities read when ``entities`` is not set: those the GrupoNos pipeline loads."""

_REQUIRED: Final[Mapping[str, tuple[str, ...]]] = {
    "basic": ("username", "password"),
    "oauth2": ("oauth_token_url", "client_id", "client_secret"),
}


class TapOracleWMS(Tap):
    """Oracle WMS Cloud (LGF API v10) entities as Singer streams."""

    name = "tap-oracle-wms"
    package_name = "flext-tap-oracle-wms"
    dynamic_catalog = True

    config_jsonschema = th.PropertiesList(
        th.Property(
            "base_url",
            th.URIType,
            required=True,
            description="The WMS environment's URL, up to the environment name: https://{host}/{environment}.",
        ),
        th.Property(
            "auth_method",
            th.StringType,
            default="basic",
            allowed_values=["basic", "oauth2"],
            description="basic (username, password) or oauth2 (client credentials against oauth_token_url).",
        ),
        th.Property("username", th.StringType, description="The WMS API user (basic auth)."),
        th.Property("password", th.StringType, secret=True, description="Its password (basic auth)."),
        th.Property(
            "oauth_token_url", th.URIType, description="OAuth2 token endpoint (IDCS: .../oauth2/v1/token)."
        ),
        th.Property("client_id", th.StringType, description="The OAuth2 client id."),
        th.Property("client_secret", th.StringType, secret=True, description="The OAuth2 client secret."),
        th.Property(
            "oauth_scope",
            th.StringType,
            description="The scope to ask for (the WMS resource's scope in IDCS), if the endpoint needs one.",
        ),
        th.Property(
            "entities",
            th.ArrayType(th.StringType),
            default=list(DEFAULT_ENTITIES),
            description="The LGF API entities to discover and read, one stream each.",
        ),
        th.Property(
            "page_size",
            th.IntegerType,
            default=1000,
            minimum=1,
            maximum=1250,
            description="Rows per page (the API allows up to 1250).",
        ),
        th.Property(
            "page_concurrency",
            th.IntegerType,
            default=1,
            minimum=1,
            maximum=16,
            description=(
                "Pages of one entity fetched at once (1: one at a time, following next_page). "
                "Above 1 the tap reads page_count from the first page and fetches the rest by page "
                "number, writing rows in page order."
            ),
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            description="On a first incremental run, read rows with mod_ts at or after this instant only.",
        ),
        th.Property(
            "source_timezone",
            th.StringType,
            default="UTC",
            description="IANA zone of date-times written without an offset (all leave the tap in UTC).",
        ),
        th.Property("max_tries", th.IntegerType, default=5, minimum=1, description="Tries per request."),
        th.Property(
            "backoff_base_seconds",
            th.NumberType,
            default=1.0,
            minimum=0,
            description="The first wait after a 429 without Retry-After or a 5xx; doubled each try.",
        ),
        th.Property(
            "backoff_max_seconds", th.NumberType, default=60.0, minimum=0, description="Longest wait."
        ),
        th.Property(
            "max_retry_after_seconds",
            th.NumberType,
            default=300.0,
            minimum=0,
            description="The longest Retry-After wait honoured (a longer one is cut to this).",
        ),
        th.Property(
            "request_timeout", th.IntegerType, default=300, minimum=1, description="Seconds per request."
        ),
    ).to_dict()

    def __init__(self, **kwargs: Any) -> None:
        """Build the tap; with a validated config, the settings the chosen ``auth_method`` needs too.

        Raises:
            SettingsError: a setting ``auth_method`` needs is missing, or ``source_timezone`` is unknown.

        """
        super().__init__(**kwargs)
        if kwargs.get("validate_config", True):
            self.check_settings()

    def check_settings(self) -> None:
        """Fail on what the JSON schema cannot say: the settings each ``auth_method`` needs.

        Raises:
            SettingsError: one is missing, or ``source_timezone`` is not an IANA zone.

        """
        method = self.config.get("auth_method", "basic")
        missing = [name for name in _REQUIRED.get(method, ()) if not self.config.get(name)]
        if missing:
            raise SettingsError(f"auth_method {method} needs {', '.join(missing)} in the tap's config")
        _ = self.naive_zone

    @cached_property
    def naive_zone(self) -> ZoneInfo:
        """The zone of date-times without an offset (``source_timezone``).

        Raises:
            SettingsError: it is not an IANA zone name.

        """
        name = str(self.config.get("source_timezone") or "UTC")
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"source_timezone {name!r} is not an IANA time zone (e.g. UTC, America/Sao_Paulo)"
            ) from None

    @cached_property
    def authenticator(self) -> APIAuthenticatorBase:
        """One authenticator for discovery and every stream."""
        self.check_settings()
        return authenticator(self.config)

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """The retry settings."""
        return RetryPolicy.from_config(self.config)

    def discover_streams(self) -> list[Stream]:
        """A stream per catalog entry when a catalog is given, else per configured entity (described)."""
        catalog = self.input_catalog
        if catalog is not None and len(catalog):
            found = {
                entry.tap_stream_id: EntitySchema(
                    entry.schema.to_dict(), tuple(entry.key_properties or ()), entry.replication_key
                )
                for entry in catalog.streams
            }
        else:
            client = DescribeClient(
                self.config["base_url"],
                self.authenticator,
                self.retry_policy,
                timeout=int(self.config.get("request_timeout", 300)),
            )
            found = {entity: self._described(client, entity) for entity in self._entities()}
        return [self._stream(name, schema) for name, schema in found.items()]

    def _entities(self) -> list[str]:
        entities = list(self.config.get("entities") or DEFAULT_ENTITIES)
        return list(dict.fromkeys(entities))  # once each, in the given order

    def _described(self, client: DescribeClient, entity: str) -> EntitySchema:
        found = entity_schema(entity, client.describe(entity))
        for name, type_name in found.unknown_types.items():
            self.logger.warning("entity %s: field %s has type %r, read as a string", entity, name, type_name)
        if found.replication_key is None:
            self.logger.info("entity %s has no mod_ts date-time: read in full every run", entity)
        return found

    def _stream(self, name: str, found: EntitySchema) -> EntityStream:
        return EntityStream(
            self,
            found,
            name=name,
            auth=self.authenticator,
            policy=self.retry_policy,
            naive_zone=self.naive_zone,
        )

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Sync; a source failure ends the run with one ``error:`` line (exit 1, 2 for a setting)."""
        try:
            super().invoke(*args, **kwargs)
        except (WmsError, SettingsError) as exc:
            _fail(exc)

    @classmethod
    def cb_discover(cls, *args: Any, **kwargs: Any) -> None:
        """``--discover``: as in a run, a describe that fails is one ``error:`` line."""
        try:
            super().cb_discover(*args, **kwargs)
        except (WmsError, SettingsError) as exc:
            _fail(exc)

    @classmethod
    def cb_test(cls, *args: Any, **kwargs: Any) -> None:
        """``--test``: as in a run, a failure is one ``error:`` line."""
        try:
            super().cb_test(*args, **kwargs)
        except (WmsError, SettingsError) as exc:
            _fail(exc)


def _fail(error: WmsError | SettingsError) -> NoReturn:
    """End the run the documented way: one ``error:`` line on stderr, exit 1 (2: a setting)."""
    sys.stdout.flush()
    print(f"error: {error}", file=sys.stderr)
    raise SystemExit(2 if isinstance(error, SettingsError) else 1) from None


if __name__ == "__main__":
    TapOracleWMS.cli()
