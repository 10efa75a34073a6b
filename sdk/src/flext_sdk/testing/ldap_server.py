"""A private OpenLDAP server for tests: ``slapd`` on a free port, in a directory of its own.

Tests of directory plugins ask a real server what a directory makes of some
LDIF (``ldapadd`` then ``slapcat`` or ``ldapsearch -LLL``) instead of
hard-coding what they believe it does. ``LdapServer.start(directory)``
writes a ``slapd.conf`` (mdb backend, the ``core``, ``cosine``,
``inetorgperson`` and ``nis`` schemas of ``/etc/ldap/schema``, the
``auditlog`` overlay), starts ``slapd -f`` as the current user listening on
``ldap://127.0.0.1:PORT/`` only, and waits until it answers; it never touches
the system's slapd or its configuration.

The ``ldap_server`` fixture is one such server per test session, shared by
every test that asks for it and stopped at the end. Tests share it by working
in a subtree of their own (``server.subtree()``). Import the fixture in a
``conftest.py``::

    from flext_sdk.testing.ldap_server import ldap_server  # noqa: F401  (a fixture)

Without ``slapd`` and the OpenLDAP client tools (Debian: ``apt-get install
slapd ldap-utils``) the fixture skips its tests, except on CI (``CI`` set),
where it fails them: a missing server there is a broken build.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest

__all__ = ["LdapError", "LdapServer", "ldap_server", "missing_tools", "require_slapd"]

SUFFIX: Final = "dc=example,dc=com"
"""The suffix of the server's database."""
ADMIN_DN: Final = "cn=admin,dc=example,dc=com"
"""The root DN: it may do anything."""
ADMIN_PASSWORD: Final = "secret"
"""The root DN's password."""
SCHEMAS: Final = ("core", "cosine", "inetorgperson", "nis")
"""The schemas of ``/etc/ldap/schema`` the server loads, in order."""

_SCHEMA_DIR: Final = Path("/etc/ldap/schema")
_MODULE_DIRS: Final = (Path("/usr/lib/ldap"), Path("/usr/lib64/openldap"), Path("/usr/lib/openldap"))
_SBIN: Final = ("/usr/sbin", "/usr/local/sbin", "/usr/local/libexec")
_TOOLS: Final = ("ldapadd", "ldapmodify", "ldapsearch")
_START_TIMEOUT: Final = 15.0


class LdapError(RuntimeError):
    """An OpenLDAP tool failed: its command, exit code and output."""

    def __init__(self, command: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        self.command = list(command)
        """The command line."""
        self.returncode = returncode
        """Its exit code (the LDAP result code for the client tools)."""
        self.stdout = stdout
        """What it printed on stdout."""
        self.stderr = stderr
        """What it printed on stderr."""
        super().__init__(f"{command[0]} exited with code {returncode}: {stderr.strip() or stdout.strip()}")


def _executable(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in _SBIN:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _module_dir() -> Path | None:
    return next((folder for folder in _MODULE_DIRS if (folder / "back_mdb.la").exists()), None)


def missing_tools() -> list[str]:
    """What this machine lacks to run the server (empty when nothing is missing)."""
    missing = [name for name in ("slapd", "slapcat", *_TOOLS) if _executable(name) is None]
    missing += [
        f"{_SCHEMA_DIR / name}.schema" for name in SCHEMAS if not (_SCHEMA_DIR / f"{name}.schema").exists()
    ]
    if _module_dir() is None and _executable("slapd") is not None:
        missing.append("the back_mdb module of slapd")
    return missing


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LdapServer:
    """A running private ``slapd``; see the module docstring."""

    directory: Path
    """Where its configuration, database, audit log and pid file are."""
    port: int
    """The port it listens on (127.0.0.1 only)."""
    process: subprocess.Popen[bytes]
    """The ``slapd`` process (in the foreground, as the current user)."""
    suffix: str = SUFFIX
    """The suffix of its database (the base entry exists)."""
    admin_dn: str = ADMIN_DN
    """The root DN."""
    admin_password: str = ADMIN_PASSWORD
    """The root DN's password."""
    _subtrees: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @property
    def url(self) -> str:
        """``ldap://127.0.0.1:PORT/``."""
        return f"ldap://127.0.0.1:{self.port}/"

    @property
    def config(self) -> Path:
        """Its ``slapd.conf``."""
        return self.directory / "slapd.conf"

    @property
    def audit_log(self) -> Path:
        """The ``auditlog`` overlay's file: every change, as LDIF change records."""
        return self.directory / "audit.ldif"

    @classmethod
    def start(cls, directory: Path, *, suffix: str = SUFFIX, schemas: Sequence[str] = SCHEMAS) -> LdapServer:
        """Write a configuration under ``directory``, start ``slapd`` and wait until it answers.

        ``schemas`` names the files of ``/etc/ldap/schema`` to load (``core`` first).

        Raises:
            LdapError: slapd did not start, or the base entry could not be added.
            FileNotFoundError: slapd or a tool is missing (``missing_tools`` says which).

        """
        missing = missing_tools()
        if missing:
            raise FileNotFoundError(f"cannot start slapd; missing: {', '.join(missing)}")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "db").mkdir(exist_ok=True)
        slapd = _executable("slapd")
        assert slapd is not None  # checked by missing_tools
        last: LdapError | None = None
        for _ in range(5):  # another process may take the free port before slapd binds it
            port = _free_port()
            server = cls._launch(slapd, directory, port, suffix, schemas)
            try:
                server._wait_until_ready()
            except LdapError as exc:
                server.stop()
                last = exc
                continue
            server._add_base_entry()
            return server
        assert last is not None
        raise last

    @classmethod
    def _launch(
        cls, slapd: str, directory: Path, port: int, suffix: str, schemas: Sequence[str]
    ) -> LdapServer:
        config = directory / "slapd.conf"
        config.write_text(_config(directory, suffix, schemas), encoding="utf-8")
        log = (directory / "slapd.log").open("ab")
        with log:
            process = subprocess.Popen(
                [slapd, "-d", "0", "-f", str(config), "-h", f"ldap://127.0.0.1:{port}/"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        return cls(directory, port, process, suffix=suffix, admin_dn=f"cn=admin,{suffix}")

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        log = (self.directory / "slapd.log").read_text(encoding="utf-8", errors="replace")
        code = self.process.poll()
        raise LdapError(["slapd", "-f", str(self.config)], -1 if code is None else code, "", log[-4000:])

    def _add_base_entry(self) -> None:
        rdn = self.suffix.split(",", 1)[0]
        kind, _, value = rdn.partition("=")
        if kind.strip().lower() == "dc":
            body = f"objectClass: dcObject\nobjectClass: organization\ndc: {value}\no: {value}\n"
        else:
            body = f"objectClass: organization\no: {value}\n"
        self.ldapadd(f"dn: {self.suffix}\n{body}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s); its files stay."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def subtree(self, name: str = "test") -> str:
        """Add a new, empty ``ou=<name>-<n>`` under the suffix and return its DN (one per test)."""
        dn = f"ou={name}-{next(self._subtrees)},{self.suffix}"
        self.ldapadd(f"dn: {dn}\nobjectClass: organizationalUnit\nou: {dn[3:].split(',', 1)[0]}\n")
        return dn

    def _bind(self) -> list[str]:
        return ["-x", "-H", self.url, "-D", self.admin_dn, "-w", self.admin_password]

    def run_client(
        self, tool: str, *arguments: str, stdin: str | bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``ldapadd``, ``ldapmodify`` or ``ldapsearch`` bound as the admin; the result is not checked."""
        executable = _executable(tool)
        assert executable is not None
        data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
        return subprocess.run(
            [executable, *self._bind(), *arguments], input=data, capture_output=True, timeout=120, check=False
        )

    def _checked(self, tool: str, ldif: str | bytes, *, check: bool) -> str:
        done = self.run_client(tool, stdin=ldif)
        stdout = done.stdout.decode("utf-8", errors="replace")
        if check and done.returncode != 0:
            raise LdapError([tool], done.returncode, stdout, done.stderr.decode("utf-8", errors="replace"))
        return stdout

    def ldapadd(self, ldif: str | bytes, *, check: bool = True) -> str:
        """Add the entries of ``ldif`` (``ldapadd``; change records work too); returns its output.

        Raises:
            LdapError: ldapadd failed and ``check`` is true.

        """
        return self._checked("ldapadd", ldif, check=check)

    def ldapmodify(self, ldif: str | bytes, *, check: bool = True) -> str:
        """Apply the change records of ``ldif`` (``ldapmodify``); returns its output.

        Raises:
            LdapError: ldapmodify failed and ``check`` is true.

        """
        return self._checked("ldapmodify", ldif, check=check)

    def ldapsearch(self, base: str | None = None, *arguments: str, ldif_flags: str = "-LLL") -> bytes:
        """The ``ldapsearch`` output (LDIF, ``-LLL`` by default) of a subtree search under ``base``.

        Extra ``arguments`` (a filter, attribute names, ``+`` for operational ones) follow the base.

        Raises:
            LdapError: ldapsearch failed.

        """
        flags = [ldif_flags] if ldif_flags else []
        done = self.run_client(
            "ldapsearch", *flags, "-o", "ldif-wrap=no", "-b", base or self.suffix, *arguments
        )
        if done.returncode != 0:
            raise LdapError(
                ["ldapsearch", *arguments],
                done.returncode,
                done.stdout.decode("utf-8", "replace"),
                done.stderr.decode("utf-8", "replace"),
            )
        return done.stdout

    def slapcat(self, base: str | None = None) -> bytes:
        """The ``slapcat`` export (LDIF) of the database, or of the subtree under ``base``.

        Raises:
            LdapError: slapcat failed.

        """
        slapcat = _executable("slapcat")
        assert slapcat is not None
        command = [slapcat, "-f", str(self.config), "-b", self.suffix, "-o", "ldif-wrap=no"]
        if base is not None:
            command += ["-H", f"ldap:///{_url_escape(base)}??sub"]
        done = subprocess.run(command, capture_output=True, timeout=120, check=False)
        if done.returncode != 0:
            raise LdapError(
                command,
                done.returncode,
                done.stdout.decode("utf-8", "replace"),
                done.stderr.decode("utf-8", "replace"),
            )
        return done.stdout


def _url_escape(dn: str) -> str:
    from urllib.parse import quote

    return quote(dn, safe="=,+")


def _config(directory: Path, suffix: str, schemas: Sequence[str]) -> str:
    modules = _module_dir()
    includes = "".join(f"include {_SCHEMA_DIR / name}.schema\n" for name in schemas)
    return (
        f"{includes}"
        f"pidfile {directory / 'slapd.pid'}\n"
        f"argsfile {directory / 'slapd.args'}\n"
        f"modulepath {modules}\n"
        "moduleload back_mdb\n"
        "moduleload auditlog\n"
        "sizelimit unlimited\n"
        "database mdb\n"
        "maxsize 268435456\n"
        f'suffix "{suffix}"\n'
        f'rootdn "cn=admin,{suffix}"\n'
        f"rootpw {ADMIN_PASSWORD}\n"
        f"directory {directory / 'db'}\n"
        "overlay auditlog\n"
        f"auditlog {directory / 'audit.ldif'}\n"
    )


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_slapd() -> None:
    """Skip the calling test when slapd or the OpenLDAP tools are missing; on CI, fail it instead.

    For tests that start a slapd of their own (``LdapServer.start``) rather than using the fixture.
    """
    missing = missing_tools()
    if missing:
        message = (
            f"slapd is not installed (missing: {', '.join(missing)}); "
            "on Debian: apt-get install slapd ldap-utils"
        )
        if _on_ci():
            pytest.fail(f"{message} (CI is set: the slapd tests must run there)")
        pytest.skip(message)


@pytest.fixture(scope="session")
def ldap_server() -> Iterator[LdapServer]:
    """One private slapd for the test session (see the module docstring); stopped at the end.

    Skips when slapd or the OpenLDAP tools are missing, except on CI, where it fails.
    """
    require_slapd()
    with tempfile.TemporaryDirectory(prefix="flext-slapd-") as folder:
        server = LdapServer.start(Path(folder))
        try:
            yield server
        finally:
            server.stop()
