"""A migration project: ``algar.yaml``, its rules file, and the secrets they refer to.

``flext algar init DIR`` writes both files, commented. ``load_project(DIR)``
reads them back as a ``Project`` (pydantic v2), or fails with a
``VALIDATION_ERROR`` that names the file, the line and the field
(``algar.yaml:12: target.bind_password: ...``).

Bind credentials are never in the file: ``bind_password`` is a *secret
reference*, ``env:NAME`` (an environment variable) or ``file:PATH`` (a file
holding the secret, relative to the project), resolved only when a
connection is made (``resolve_secret``). A value that is neither is refused,
so a password pasted into the file fails validation instead of being used.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from flext_kernel.errors import ALREADY_REGISTERED, NOT_FOUND, VALIDATION_ERROR
from flext_sdk import FlextResult

__all__ = [
    "PROJECT_FILE",
    "RULES_FILE",
    "BaseMapping",
    "ExcludeRule",
    "Project",
    "Rules",
    "SecretRef",
    "Source",
    "Target",
    "init_project",
    "load_project",
    "load_rules",
    "resolve_secret",
]

PROJECT_FILE: Final = "algar.yaml"
"""The project file's name."""
RULES_FILE: Final = "rules.yaml"
"""The starter rules file's name."""

_SECRET = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$")
_LDAP_URL = re.compile(r"^ldaps?://[^/\s]+(:\d+)?/?$", re.IGNORECASE)


def _secret(value: str) -> str:
    if not _SECRET.match(value):
        raise ValueError("must be a secret reference, env:NAME or file:PATH, never the secret itself")
    return value


def _ldap_url(value: str) -> str:
    if "@" in value.partition("://")[2]:  # user:password@host (a password may hold '/'): never echoed
        raise ValueError(
            "an LDAP URL here holds no credentials (ldap://host:port); put the user in bind_dn and the "
            "password in bind_password (env:NAME or file:PATH)"
        )
    if not _LDAP_URL.match(value):
        raise ValueError("is not an LDAP URL (ldap://host:port or ldaps://host:port)")
    return value


def _dn(value: str) -> str:
    parts = [part.strip() for part in value.split(",")]
    if not value.strip() or any("=" not in part or part.startswith("=") for part in parts):
        raise ValueError(f"{value!r} is not a DN (attribute=value pairs separated by commas)")
    return value


SecretRef = Annotated[str, AfterValidator(_secret)]
"""``env:NAME`` or ``file:PATH``: where a secret is, never the secret."""
LdapUrl = Annotated[str, AfterValidator(_ldap_url)]
"""``ldap://host:port`` or ``ldaps://host:port``."""
Dn = Annotated[str, AfterValidator(_dn)]
"""A distinguished name (checked for shape here; fully by the LDIF reader)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Source(_Model):
    """Where the OID entries come from: an LDIF export, or a live server read with paged searches."""

    ldif: Path | None = None
    """An OID export (``ldifwrite`` or ``ldapsearch -L``), relative to the project."""
    url: LdapUrl | None = None
    """A live OID server, read into ``<output>/00-source.ldif`` by the first run (docs/algar.md)."""
    base_dn: Dn | None = None
    """The subtree to read from the server (with ``url``)."""
    bind_dn: Dn | None = None
    """Who reads the server (with ``url``)."""
    bind_password: SecretRef | None = None
    """Where the bind password is (``env:NAME`` or ``file:PATH``)."""
    page_size: int = Field(default=1000, ge=1, le=100_000)
    """Entries per page of the paged search."""
    encoding: str = "utf-8"
    """The export's text encoding."""

    @model_validator(mode="after")
    def _one_source(self) -> Source:
        if (self.ldif is None) == (self.url is None):
            raise ValueError("give exactly one of ldif (an export file) and url (a live server)")
        if self.url is not None and self.base_dn is None:
            raise ValueError("url needs base_dn (the subtree to read)")
        if self.url is not None and self.bind_dn is not None and self.bind_password is None:
            raise ValueError("bind_dn needs bind_password (env:NAME or file:PATH)")
        return self


class Target(_Model):
    """The OUD server the migration loads (``sync``) and checks (``verify``)."""

    url: LdapUrl
    """``ldap://host:port`` or ``ldaps://host:port``."""
    bind_dn: Dn
    """Who writes to the server."""
    bind_password: SecretRef
    """Where the bind password is (``env:NAME`` or ``file:PATH``)."""


class BaseMapping(_Model):
    """The suffix rewrite: every DN under ``source`` moves under ``target``."""

    source: Dn = Field(alias="from")
    """The OID suffix (``dc=algar,dc=com,dc=br``)."""
    target: Dn = Field(alias="to")
    """The OUD suffix (``dc=algar,dc=br``)."""


class Project(_Model):
    """``algar.yaml``: one migration."""

    version: Literal[1] = 1
    """The file format's version."""
    source: Source
    """Where the entries come from."""
    target: Target
    """Where they go."""
    base_dn: BaseMapping
    """The suffix rewrite."""
    rules: Path = Path(RULES_FILE)
    """The rules file (exclusions), relative to the project."""
    output: Path = Path("out")
    """Where each phase writes its LDIF and report, relative to the project."""
    batch_size: int = Field(default=500, ge=1, le=100_000)
    """Entries per batch when loading the target."""
    rate_limit: float = Field(default=0, ge=0)
    """Entries per second at most when loading the target; 0: no limit."""
    _directory: Path = PrivateAttr(default=Path())

    @property
    def directory(self) -> Path:
        """The project directory (set by ``load_project``; not a setting of the file)."""
        return self._directory

    def path(self, relative: Path) -> Path:
        """A path of the file, relative to the project directory."""
        return relative if relative.is_absolute() else self.directory / relative


class ExcludeRule(_Model):
    """Entries that do not go: under a DN, or of an object class; with the reason the report gives."""

    under: Dn | None = None
    """Every entry at or below this (source) DN."""
    objectclass: str | None = None
    """Every entry of this object class."""
    reason: str = Field(min_length=1)
    """Why (shown in the report next to each excluded entry)."""

    @model_validator(mode="after")
    def _one_selector(self) -> ExcludeRule:
        if (self.under is None) == (self.objectclass is None):
            raise ValueError("give exactly one of under and objectclass")
        return self


class Rules(_Model):
    """The rules file: what the migration leaves out, and why."""

    exclude: tuple[ExcludeRule, ...] = ()
    """Entries left out (reported as excluded, with the reason)."""
    drop_attributes: tuple[str, ...] = ()
    """Attributes removed from every entry besides the documented operational ones."""


_PROJECT_TEMPLATE = """\
# ALGAR migration project: Oracle Internet Directory (OID) -> Oracle Unified Directory (OUD).
# Every path is relative to this directory. Passwords are never written here: bind_password
# is a secret reference, env:NAME (an environment variable) or file:PATH (a file holding it).
version: 1

source:
  # An OID export (ldapsearch -L ... or ldifwrite), read by the LDIF phases:
  ldif: oid-export.ldif
  encoding: utf-8
  # Or a live OID server, read with paged searches (instead of ldif):
  # url: ldaps://oid.example.com:3131
  # base_dn: dc=algar,dc=com,dc=br
  # bind_dn: cn=orcladmin
  # bind_password: env:OID_BIND_PASSWORD
  # page_size: 1000

target:
  url: ldap://localhost:1389
  bind_dn: cn=Directory Manager
  bind_password: env:OUD_BIND_PASSWORD

# Every DN under "from" moves under "to".
base_dn:
  from: dc=algar,dc=com,dc=br
  to: dc=algar,dc=br

rules: rules.yaml      # what is left out, and why
output: out            # each phase's LDIF and report
batch_size: 500        # entries per batch when loading the target
rate_limit: 0          # entries per second at most; 0 = no limit
"""

_RULES_TEMPLATE = """\
# ALGAR migration rules. Each excluded entry is reported with its reason; nothing is dropped silently.
exclude:
  # Everything under a (source) DN:
  # - under: cn=Products,cn=OracleContext,dc=algar,dc=com,dc=br
  #   reason: OID product metadata, recreated by the OUD installer
  # Every entry of an object class:
  # - objectclass: orclApplicationEntity
  #   reason: application entities are re-registered against OUD
  []

# Attributes removed from every entry, besides the documented operational ones (docs/algar.md).
drop_attributes: []
"""


def init_project(directory: Path) -> FlextResult[list[Path]]:
    """Write a commented ``algar.yaml`` and a starter ``rules.yaml`` in ``directory``; never overwrite."""
    files = [directory / PROJECT_FILE, directory / RULES_FILE]
    existing = [path for path in files if path.exists()]
    if existing:
        return FlextResult.fail(
            f"{existing[0]} already exists; init never overwrites (remove it or choose another directory)",
            error_code=ALREADY_REGISTERED,
            error_data={"file": str(existing[0])},
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, text in zip(files, (_PROJECT_TEMPLATE, _RULES_TEMPLATE), strict=True):
            with path.open("x", encoding="utf-8") as handle:  # "x": fails rather than overwrite
                handle.write(text)
    except OSError as exc:
        return FlextResult.fail(f"cannot write the project: {exc}", error_code=VALIDATION_ERROR)
    return FlextResult.ok(files)


def load_project(directory: Path) -> FlextResult[Project]:
    """``directory``'s ``algar.yaml``, validated; a failure names the file, the line and the field."""
    path = directory / PROJECT_FILE
    read = _read(path)
    if read.is_failure:
        if read.error_code == NOT_FOUND:
            return FlextResult.fail(
                f"{path}: no such file; 'flext algar init {directory}' writes one",
                error_code=NOT_FOUND,
                error_data={"file": str(path)},
            )
        return FlextResult.fail(read.error or "", read.error_code, read.error_data)
    document, data = read.value
    try:
        project = Project.model_validate(data)
    except ValidationError as exc:
        return _invalid(document, exc)
    project._directory = directory
    return FlextResult.ok(project)


def load_rules(project: Project) -> FlextResult[Rules]:
    """The project's rules file, validated (an absent file is no rules)."""
    path = project.path(project.rules)
    if not path.exists():
        return FlextResult.ok(Rules())
    read = _read(path)
    if read.is_failure:
        return FlextResult.fail(read.error or "", read.error_code, read.error_data)
    document, data = read.value
    try:
        return FlextResult.ok(Rules.model_validate(data))
    except ValidationError as exc:
        return _invalid(document, exc)


def resolve_secret(reference: str, directory: Path) -> FlextResult[str]:
    """The secret a reference names: an environment variable's value, or a file's first line."""
    kind, _, name = reference.partition(":")
    if kind == "env":
        value = os.environ.get(name)
        if value is None:
            return FlextResult.fail(f"environment variable {name} is not set", error_code=NOT_FOUND)
        return FlextResult.ok(value)
    if kind == "file":
        path = Path(name).expanduser()
        path = path if path.is_absolute() else directory / path
        try:
            return FlextResult.ok(
                path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
            )
        except OSError as exc:
            return FlextResult.fail(
                f"cannot read the secret file {path}: {exc.strerror}", error_code=NOT_FOUND
            )
    return FlextResult.fail(f"{reference!r} is not env:NAME or file:PATH", error_code=VALIDATION_ERROR)


def _read(path: Path) -> FlextResult[tuple[Any, dict[str, Any]]]:
    from flext_sdk.yaml_files import read_yaml

    read = read_yaml(path)
    if read.is_failure:
        return FlextResult.fail(read.error or "", read.error_code, read.error_data)
    document = read.value
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        return FlextResult.fail(f"{path}:1: must be a mapping of settings", error_code=VALIDATION_ERROR)
    return FlextResult.ok((document, data))


def _invalid(document: Any, exc: ValidationError) -> FlextResult[Any]:
    error = exc.errors(include_url=False)[0]
    location = [part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
    field = ".".join(str(part) for part in location) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    line = document.line_of([str(part) for part in location])
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return FlextResult.fail(
        f"{document.source}:{line}: {field}: {message}{more}",
        error_code=VALIDATION_ERROR,
        error_data={"file": document.source, "line": line, "field": field},
    )
