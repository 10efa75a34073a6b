"""A GrupoNos deployment's settings: ``gruponos.yaml``, validated, and the starter file ``init`` writes.

The file says where the WMS is and how to log in, which facility and company
and which entities to read, which database to load and how often. Secrets are
never in it: a password is a reference to an environment variable,
``env:NAME``, which the deployed pipelines keep as ``${NAME}`` and the
pipeline plugin fills in only when a run starts (so the registered
definitions, their events and their logs never hold it). Anything else in a
secret's place is refused, so a password pasted into the file fails
validation instead of being deployed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from flext_kernel.errors import ALREADY_REGISTERED, NOT_FOUND, VALIDATION_ERROR
from flext_sdk import FlextResult

__all__ = [
    "CONFIG_FILE",
    "ENTITIES",
    "EnvRef",
    "GrupoNosConfig",
    "OracleTarget",
    "PostgresTarget",
    "Schedules",
    "Target",
    "WmsSource",
    "init_project",
    "load_config",
]

CONFIG_FILE: Final = "gruponos.yaml"
"""The deployment's settings file, in the project directory."""
ENTITIES: Final = (
    "facility", "company", "item", "location", "inventory",
    "order_hdr", "order_dtl", "allocation", "container",
)  # fmt: skip
"""The WMS entities GrupoNos loads (tap-oracle-wms reads them by default too)."""

_ENV_REF = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
_CRON_FIELDS: Final = 5


def _env_ref(value: str) -> str:
    if not _ENV_REF.match(value):
        raise ValueError(
            "must be a secret reference, env:NAME (an environment variable), never the secret itself"
        )
    return value


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError("1 to 41 lower-case letters, digits, '-' and '_', starting with a letter or digit")
    return value


def _cron(value: str) -> str:
    # Checked fully while the file is read (croniter, what the scheduler evaluates with), so a deploy
    # never creates the pipeline and then fails on its schedule: nothing is half-deployed.
    if len(value.split()) != _CRON_FIELDS:
        raise ValueError(f"{value!r} is not a 5-field cron expression (minute hour day month weekday)")
    from croniter import croniter  # type: ignore[import-untyped,unused-ignore]  # no stubs unless types-croniter

    try:
        croniter(value)
    except ValueError as exc:  # croniter's CroniterBadCronError and the rest are ValueErrors
        reason = str(exc).replace(f"[{value}] ", "")
        raise ValueError(f"{value!r} does not parse as a cron expression ({reason})") from None
    return value


EnvRef = Annotated[str, AfterValidator(_env_ref)]
"""``env:NAME``: the environment variable that holds a secret."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class WmsSource(_Model):
    """The Oracle WMS Cloud environment and what to read from it (tap-oracle-wms's settings)."""

    base_url: str = Field(pattern=r"^https?://\S+$")
    """The WMS environment's URL, up to the environment name: ``https://host/environment``."""
    auth_method: Literal["basic", "oauth2"] = "basic"
    """``basic`` (``username``, ``password``) or ``oauth2`` (client credentials)."""
    username: str | None = None
    """The API user (basic)."""
    password: EnvRef | None = None
    """Where its password is (basic)."""
    oauth_token_url: str | None = None
    """The OAuth2 token endpoint (oauth2)."""
    client_id: str | None = None
    """The OAuth2 client id (oauth2)."""
    client_secret: EnvRef | None = None
    """Where the OAuth2 client secret is (oauth2)."""
    oauth_scope: str | None = None
    """The scope to ask for, if the token endpoint needs one (oauth2)."""
    facility: str = Field(min_length=1)
    """The facility code this deployment loads (names the pipelines and the status)."""
    company: str = Field(min_length=1)
    """The company code (parent company) this deployment loads."""
    entities: tuple[str, ...] = ENTITIES
    """The LGF API entities to load, one table each."""
    page_size: int = Field(default=1000, ge=1, le=1250)
    """Rows per API page (the API allows up to 1,250)."""
    page_concurrency: int = Field(default=1, ge=1, le=16)
    """Pages of an entity fetched at once (tap-oracle-wms's ``page_concurrency``; 1: one at a time)."""
    start_date: str | None = None
    """On the first incremental run, read rows modified at or after this instant only (ISO 8601)."""

    @model_validator(mode="after")
    def _credentials(self) -> WmsSource:
        needed = (
            {"username": self.username, "password": self.password}
            if self.auth_method == "basic"
            else {"oauth_token_url": self.oauth_token_url, "client_id": self.client_id,
                  "client_secret": self.client_secret}
        )  # fmt: skip
        missing = [name for name, value in needed.items() if not value]
        if missing:
            raise ValueError(f"auth_method {self.auth_method} needs {', '.join(missing)}")
        if not self.entities:
            raise ValueError("entities: name at least one entity")
        return self


class PostgresTarget(_Model):
    """The warehouse database: PostgreSQL, loaded with MeltanoLabs' target-postgres."""

    kind: Literal["postgres"] = "postgres"
    """The database kind (``oracle``: ``OracleTarget``)."""
    host: str = Field(min_length=1)
    port: int = Field(default=5432, ge=1, le=65535)
    user: str = Field(min_length=1)
    password: EnvRef | None = None
    """Where the password is; None for a server that trusts the connection."""
    database: str = Field(min_length=1)
    schema_name: str = Field(default="wms", alias="schema", pattern=r"^[a-z_][a-z0-9_]*$")
    """The schema the tables land in (created when missing)."""


class OracleTarget(_Model):
    """The warehouse database: Oracle, loaded with flext-target-oracle (``target-oracle``)."""

    kind: Literal["oracle"]
    host: str = Field(min_length=1)
    port: int = Field(default=1521, ge=1, le=65535)
    user: str = Field(min_length=1)
    password: EnvRef | None = None
    """Where the password is."""
    service_name: str = Field(min_length=1)
    """The database service to connect to (the PDB's service, e.g. ``WAREHOUSE``)."""
    schema_name: str | None = Field(default=None, alias="schema", pattern=r"^[A-Za-z][A-Za-z0-9_$#]{0,127}$")
    """The schema (an Oracle user) the tables land in; it must exist. None: the connecting user's own."""


def _target_kind(data: Any) -> str:
    """The ``kind`` of a target mapping (``postgres`` when it says none, as files written before did)."""
    if isinstance(data, dict):
        return str(data.get("kind", "postgres"))
    return str(getattr(data, "kind", "postgres"))


Target = Annotated[
    Annotated[PostgresTarget, Tag("postgres")] | Annotated[OracleTarget, Tag("oracle")],
    Discriminator(_target_kind, custom_error_type="target_kind",
                  custom_error_message="kind must be postgres or oracle"),
]  # fmt: skip
"""The database a deployment loads: ``kind: postgres`` (the default) or ``kind: oracle``."""
_TARGET_KINDS: Final = ("postgres", "oracle")


class Schedules(_Model):
    """When the deployed pipelines run (5-field cron, in ``timezone``)."""

    incremental: Annotated[str, AfterValidator(_cron)] = "*/15 * * * *"
    """The incremental pipeline: only rows modified since the last run."""
    full: Annotated[str, AfterValidator(_cron)] | None = "5 2 * * 0"
    """Full reloads (every row read and upserted again); None: on demand only."""
    timezone: str = "UTC"
    """The IANA time zone the expressions are read in."""


class GrupoNosConfig(_Model):
    """``gruponos.yaml``."""

    version: Literal[1] = 1
    name: Annotated[str, AfterValidator(_name)] = "gruponos"
    """Names the pipeline and its schedules (``NAME-incremental``, ``NAME-reload``)."""
    wms: WmsSource
    target: Target
    schedule: Schedules = Field(default_factory=Schedules)
    retry_attempts: int = Field(default=3, ge=1, le=20)
    """Attempts of a failed run before it counts as failed (with backoff; resumes from saved state)."""

    @property
    def pipeline(self) -> str:
        """The pipeline's name (the deployment's)."""
        return self.name

    @property
    def incremental(self) -> str:
        """The schedule of the incremental runs."""
        return f"{self.name}-incremental"

    @property
    def reload(self) -> str:
        """The schedule of the full reloads."""
        return f"{self.name}-reload"

    def secret_variables(self) -> list[str]:
        """The environment variables the deployed pipelines need when they run."""
        references = (self.wms.password, self.wms.client_secret, self.target.password)
        return [reference.removeprefix("env:") for reference in references if reference]


_TEMPLATE = """\
# GrupoNos: Oracle WMS Cloud -> the warehouse database, every few minutes, incrementally.
# 'flext gruponos pipeline deploy' turns this file into a FLEXT pipeline and its schedules.
# Secrets are never written here: a password is env:NAME, an environment variable that must
# be set where the pipelines run (the scheduler's environment).
version: 1
name: gruponos                      # the pipeline; schedules gruponos-incremental, gruponos-reload

wms:
  base_url: https://wms.example.com/gruponos   # https://<host>/<environment>
  auth_method: basic                # or oauth2 (oauth_token_url, client_id, client_secret)
  username: flext_api
  password: env:WMS_PASSWORD
  facility: DC01
  company: GRUPONOS
  # entities: [facility, company, item, location, inventory, order_hdr, order_dtl, allocation, container]
  page_size: 1000
  # page_concurrency: 4              # pages fetched at once (default 1: one at a time)

target:
  kind: postgres                    # or oracle (target-oracle): host, port 1521, user, password,
  host: 127.0.0.1                   #   service_name, schema (an existing Oracle user); no database
  port: 5432
  user: gruponos
  password: env:GRUPONOS_DB_PASSWORD
  database: warehouse
  schema: wms

schedule:
  incremental: "*/15 * * * *"       # only what changed since the last run
  full: "5 2 * * 0"                 # a full reload (every row read again); null: on demand only
  #                                   (off the incremental slots: a firing while a run goes fails)
  timezone: UTC
"""


def init_project(directory: Path) -> FlextResult[list[Path]]:
    """Write a commented ``gruponos.yaml`` (and the ``flext.yaml`` that makes DIR a FLEXT project)."""
    config = directory / CONFIG_FILE
    if config.exists():
        return FlextResult.fail(
            f"{config} already exists; init never overwrites (edit it, or choose another directory)",
            error_code=ALREADY_REGISTERED,
            error_data={"file": str(config)},
        )
    written = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with config.open("x", encoding="utf-8") as handle:
            handle.write(_TEMPLATE)
        written.append(config)
        project = directory / "flext.yaml"
        if not project.exists():  # the pipelines are registered in the nearest project directory
            project.write_text("# FLEXT project: the GrupoNos pipelines are registered here\n", "utf-8")
            written.append(project)
    except OSError as exc:
        return FlextResult.fail(f"cannot write {config}: {exc.strerror}", error_code=VALIDATION_ERROR)
    return FlextResult.ok(written)


def load_config(directory: Path) -> FlextResult[GrupoNosConfig]:
    """``directory``'s ``gruponos.yaml``, validated; a failure names the file, the line and the field."""
    from flext_sdk.yaml_files import read_yaml

    path = directory / CONFIG_FILE
    if not path.exists():
        return FlextResult.fail(
            f"{path}: no such file; 'flext gruponos init {directory}' writes one",
            error_code=NOT_FOUND,
            error_data={"file": str(path)},
        )
    read = read_yaml(path)
    if read.is_failure:
        return FlextResult.fail(read.error or "", read.error_code, read.error_data)
    document = read.value
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        return FlextResult.fail(f"{path}:1: must be a mapping of settings", error_code=VALIDATION_ERROR)
    try:
        return FlextResult.ok(GrupoNosConfig.model_validate(data))
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        location = [str(part) for part in error["loc"] if not str(part).startswith("function-")]
        if location[:1] == ["target"] and location[1:2] and location[1] in _TARGET_KINDS:
            del location[1]  # the union's tag, not a key of the file
        field = ".".join(location) or "(top level)"
        line = document.line_of(location)
        message = error["msg"].removeprefix("Value error, ")
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        return FlextResult.fail(
            f"{path}:{line}: {field}: {message}{more}",
            error_code=VALIDATION_ERROR,
            error_data={"file": str(path), "line": line, "field": field},
        )
