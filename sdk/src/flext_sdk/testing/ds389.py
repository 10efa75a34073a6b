"""A private 389 Directory Server for tests: ``ns-slapd`` on a free loopback port, in a directory of its own.

389 DS speaks the ``aci`` dialect of the Sun/Oracle family (Oracle Unified
Directory's is a sibling), so tests that translate access rules ask it what a
user may really do: bind as the user, search, read, modify, and see what the
server allows. ``Ds389Server.start(directory)`` creates an instance whose
every file lives under ``directory`` and starts it listening on
``ldap://127.0.0.1:PORT/`` only; it never touches ``/etc/dirsrv``,
``/var/lib/dirsrv`` or a system instance.

How, without systemd and without root-owned paths: ``dscreate`` (lib389)
reads its defaults from ``$PREFIX/share/dirsrv/inf/defaults.inf`` when
``PREFIX`` is set (its ``ds-root`` mode for non-root users does the same, but
refuses to run as root). The fixture writes that file with every instance
path (configuration, database, logs, run and lock directories, the LDAPI
socket) under ``directory``, ``with_systemd = 0``, the current user and
group as the server's user (so it runs as root or as any user), and a copy of
the DSE template that adds ``nsslapd-listenhost: 127.0.0.1``, so the server
never listens on another interface, not even while ``dscreate`` configures
it. ``/etc/dirsrv`` (three small files dscreate copies) is readable by root
and the ``dirsrv`` group only; for other users the fixture writes those files
with their defaults. ``dscreate from-file``
then builds the instance (``start = False``: it stops the server it started
for the setup), and the fixture runs ``ns-slapd -D CONFIG -d 0`` in the
foreground as its own child. No ``/data`` container marker is needed.

The suffix entry is added without any ACI: 389's installer would put an
"Enable anyone domain read" ACI on it, and tests of access rules need a
directory that grants nothing but what they load (the Directory Manager,
``cn=Directory Manager``, is not subject to ACIs). The root DSE keeps its
anonymous-read ACI.

The ``ds389_server`` fixture is one such server per test session, shared by
every test that asks for it and stopped at the end (creating an instance takes
about ten seconds). Tests share it by working in a subtree of their own
(``server.subtree()``). Import the fixture in a ``conftest.py``::

    from flext_sdk.testing.ds389 import ds389_server  # noqa: F401  (a fixture)

Without 389-ds-base and the OpenLDAP client tools (Debian: ``apt-get install
389-ds-base ldap-utils``) the fixture skips its tests, except on CI (``CI``
set), where it fails them: a missing server there is a broken build.
"""

from __future__ import annotations

import grp
import hashlib
import itertools
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest

from flext_sdk.testing.ldap_server import LdapError, _executable, _free_port, _on_ci

__all__ = ["ADMIN_DN", "SUFFIX", "Ds389Server", "ds389_server", "missing_tools"]

SUFFIX: Final = "dc=example,dc=com"
"""The suffix of the server's database (``userroot``)."""
ADMIN_DN: Final = "cn=Directory Manager"
"""The root DN: ACIs do not apply to it."""
INSTANCE: Final = "flext"
"""The instance name (``slapd-flext``); unique per directory, so instances never clash."""

_SYSTEM_DEFAULTS: Final = Path("/usr/share/dirsrv/inf/defaults.inf")
_SYSTEM_DATA: Final = Path("/usr/share/dirsrv/data")
_SYSTEM_CONFIG: Final = Path("/etc/dirsrv/config")
_SYSTEM_SCHEMA: Final = Path("/etc/dirsrv/schema")
_FALLBACK_CONFIG: Final = {
    "certmap.conf": "certmap default\tdefault\n",
    "slapd-collations.conf": 'collation "" "" "" 1 3\t2.16.840.1.113730.3.3.2.0.1\tdefault\n',
}
"""What dscreate copies from ``/etc/dirsrv/config``, reduced to its defaults, for users who cannot read it."""
_FALLBACK_SCHEMA: Final = {"99user.ldif": "dn: cn=schema\n"}
"""The empty user schema of ``/etc/dirsrv/schema``, for users who cannot read it."""
_TOOLS: Final = ("ldapadd", "ldapmodify", "ldapsearch", "ldapcompare")
_SETUP_TIMEOUT: Final = 180.0
_START_TIMEOUT: Final = 60.0


def missing_tools() -> list[str]:
    """What this machine lacks to run the server (empty when nothing is missing)."""
    missing = [name for name in ("ns-slapd", "dscreate", *_TOOLS) if _executable(name) is None]
    missing += [str(path) for path in (_SYSTEM_DEFAULTS, _SYSTEM_DATA) if not path.exists()]
    return missing


def _paths(root: Path) -> dict[str, str]:
    """The instance paths of ``defaults.inf``, all under ``root``."""
    name = "slapd-{instance_name}"
    return {
        "with_systemd": "0",
        "with_selinux": "no",
        "prefix": str(root),
        "data_dir": str(root / "share"),
        "tmp_dir": str(root / "tmp"),
        "sysconf_dir": str(root / "etc"),
        "initconfig_dir": str(root / "etc" / "default"),
        "tmpfiles_d": str(root / "etc" / "tmpfiles.d"),
        "config_dir": str(root / "etc" / "dirsrv" / name),
        "schema_dir": str(root / "etc" / "dirsrv" / name / "schema"),
        "cert_dir": str(root / "etc" / "dirsrv" / name),
        "local_state_dir": str(root / "var"),
        "run_dir": str(root / "run"),
        "ldapi": str(root / "run" / f"{name}.socket"),
        "pid_file": str(root / "run" / f"{name}.pid"),
        "inst_dir": str(root / "lib" / name),
        "lock_dir": str(root / "lock" / name),
        "log_dir": str(root / "log" / name),
        "access_log": str(root / "log" / name / "access"),
        "audit_log": str(root / "log" / name / "audit"),
        "error_log": str(root / "log" / name / "errors"),
        "security_log": str(root / "log" / name / "security"),
        "db_dir": str(root / "db" / name),
        "db_home_dir": str(root / "db" / name),
        "backup_dir": str(root / "bak" / name),
        "ldif_dir": str(root / "ldif" / name),
        "user": pwd.getpwuid(os.getuid()).pw_name,
        "group": grp.getgrgid(os.getgid()).gr_name,
    }


def _defaults(root: Path) -> str:
    """The system ``defaults.inf`` with every key of ``_paths`` replaced."""
    overrides = _paths(root)
    lines = []
    for line in _SYSTEM_DEFAULTS.read_text(encoding="utf-8").splitlines():
        key = line.split("=", 1)[0].strip()
        lines.append(f"{key} = {overrides[key]}" if "=" in line and key in overrides else line)
    return "\n".join(lines) + "\n"


def _prepare_root(root: Path) -> None:
    """Lay out ``root`` as dscreate's prefix: defaults, templates (loopback only), config and schema."""
    (root / "share" / "dirsrv" / "inf").mkdir(parents=True, exist_ok=True)
    (root / "share" / "dirsrv" / "inf" / "defaults.inf").write_text(_defaults(root), encoding="utf-8")
    data = root / "share" / "dirsrv" / "data"
    shutil.copytree(_SYSTEM_DATA, data, dirs_exist_ok=True)
    for template in ("template-dse.ldif", "template-dse-minimal.ldif"):
        path = data / template
        if path.exists():
            port = "nsslapd-port: %ds_port%\n"
            text = path.read_text(encoding="utf-8")
            if port not in text:  # the server would listen on every interface
                raise LdapError(["dscreate"], -1, "", f"{path} has no '{port.strip()}' line to follow")
            path.write_text(text.replace(port, f"{port}nsslapd-listenhost: 127.0.0.1\n", 1), encoding="utf-8")
    for source, fallback in ((_SYSTEM_CONFIG, _FALLBACK_CONFIG), (_SYSTEM_SCHEMA, _FALLBACK_SCHEMA)):
        target = root / "etc" / "dirsrv" / source.name
        target.mkdir(parents=True, exist_ok=True)
        if os.access(source, os.R_OK | os.X_OK):
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:  # /etc/dirsrv is readable by root and the dirsrv group only
            for name, text in fallback.items():
                (target / name).write_text(text, encoding="utf-8")
    (root / "tmp").mkdir(exist_ok=True)


def _inf(port: int, suffix: str, password: str) -> str:
    return (
        "[general]\nconfig_version = 2\nfull_machine_name = localhost\nselinux = False\n"
        "start = False\nstrict_host_checking = False\nsystemd = False\n"
        f"[slapd]\ninstance_name = {INSTANCE}\nport = {port}\nself_sign_cert = False\n"
        f"root_dn = {ADMIN_DN}\nroot_password = {password}\n"
        f"[backend-userroot]\nsample_entries = no\nsuffix = {suffix}\ncreate_suffix_entry = False\n"
    )


@dataclass
class Ds389Server:
    """A running private 389 Directory Server; see the module docstring."""

    directory: Path
    """The prefix every file of the instance lives under."""
    port: int
    """The port it listens on (127.0.0.1 only)."""
    process: subprocess.Popen[bytes]
    """The ``ns-slapd`` process (in the foreground, as the current user)."""
    suffix: str = SUFFIX
    """The suffix of its database (the base entry exists, without ACIs)."""
    admin_dn: str = ADMIN_DN
    """The root DN."""
    admin_password: str = field(default="", repr=False)
    """The root DN's password: random, one per instance (see ``start``)."""
    _subtrees: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @property
    def url(self) -> str:
        """``ldap://127.0.0.1:PORT/``."""
        return f"ldap://127.0.0.1:{self.port}/"

    @property
    def config_dir(self) -> Path:
        """The instance's configuration directory (``dse.ldif``, schema)."""
        return self.directory / "etc" / "dirsrv" / f"slapd-{INSTANCE}"

    @property
    def error_log(self) -> Path:
        """The server's error log (ACI syntax errors are reported there)."""
        return self.directory / "log" / f"slapd-{INSTANCE}" / "errors"

    @classmethod
    def start(cls, directory: Path, *, suffix: str = SUFFIX) -> Ds389Server:
        """Create an instance under ``directory``, start ``ns-slapd`` and wait until it answers.

        Raises:
            LdapError: dscreate failed, or the server did not start.
            FileNotFoundError: 389-ds-base or an LDAP client tool is missing (``missing_tools`` says which).

        """
        missing = missing_tools()
        if missing:
            raise FileNotFoundError(f"cannot start 389 Directory Server; missing: {', '.join(missing)}")
        directory.mkdir(parents=True, exist_ok=True)
        _prepare_root(directory)
        password = secrets.token_urlsafe(24)  # any local user can reach the port: no known password
        port = cls._create(directory, suffix, password)
        server = cls._launch(directory, port, suffix, password)
        try:
            server._wait_until_ready()
            server._prepare_suffix()
        except BaseException:
            server.stop()
            raise
        return server

    @staticmethod
    def _create(directory: Path, suffix: str, password: str) -> int:
        dscreate = _executable("dscreate")
        assert dscreate is not None  # checked by missing_tools
        environment = {**os.environ, "PREFIX": str(directory), "INSTALL_PREFIX": str(directory)}
        last: LdapError | None = None
        for _ in range(3):  # another process may take the free port before dscreate's server binds it
            port = _free_port()
            inf = directory / "instance.inf"
            inf.touch(mode=0o600)
            inf.chmod(0o600)  # it holds the root password
            inf.write_text(_inf(port, suffix, password), encoding="utf-8")
            done = subprocess.run(
                [dscreate, "from-file", str(inf)],
                capture_output=True,
                timeout=_SETUP_TIMEOUT,
                check=False,
                env=environment,
                cwd=directory,
            )
            if done.returncode == 0:
                return port
            last = LdapError(
                ["dscreate", "from-file", str(inf)],
                done.returncode,
                done.stdout.decode("utf-8", "replace"),
                done.stderr.decode("utf-8", "replace")[-4000:],
            )
            shutil.rmtree(directory / "etc" / "dirsrv" / f"slapd-{INSTANCE}", ignore_errors=True)
            shutil.rmtree(directory / "db", ignore_errors=True)
        assert last is not None
        raise last

    @classmethod
    def _launch(cls, directory: Path, port: int, suffix: str, password: str) -> Ds389Server:
        slapd = _executable("ns-slapd")
        assert slapd is not None
        config = directory / "etc" / "dirsrv" / f"slapd-{INSTANCE}"
        pid_file = directory / "run" / f"slapd-{INSTANCE}.pid"
        with (directory / "ns-slapd.out").open("ab") as log:
            process = subprocess.Popen(
                [slapd, "-D", str(config), "-i", str(pid_file), "-d", "0"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        return cls(directory, port, process, suffix=suffix, admin_password=password)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        log = self.error_log.read_text(encoding="utf-8", errors="replace") if self.error_log.exists() else ""
        code = self.process.poll()
        command = ["ns-slapd", "-D", str(self.config_dir)]
        raise LdapError(command, -1 if code is None else code, "", log[-4000:])

    def _prepare_suffix(self) -> None:
        """Make sure the suffix entry exists and carries no ACI (dscreate adds one that lets anyone read)."""
        arguments = ("-LLL", "-s", "base", "-b", self.suffix, "(objectClass=*)", "aci")
        found = self.run_client("ldapsearch", *arguments)
        if found.returncode == 32:  # noSuchObject
            rdn = self.suffix.split(",", 1)[0]
            kind, _, value = rdn.partition("=")
            if kind.strip().lower() == "dc":
                body = f"objectClass: top\nobjectClass: domain\ndc: {value}\n"
            else:
                body = f"objectClass: top\nobjectClass: organization\no: {value}\n"
            self.ldapadd(f"dn: {self.suffix}\n{body}")
        elif b"\naci:" in found.stdout:
            self.ldapmodify(f"dn: {self.suffix}\nchangetype: modify\ndelete: aci\n")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 30 s); its files stay."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def subtree(self, name: str = "test") -> str:
        """Add a new, empty ``ou=<name>-<n>`` under the suffix and return its DN (one per test)."""
        dn = f"ou={name}-{next(self._subtrees)},{self.suffix}"
        ou = dn[3:].split(",", 1)[0]
        self.ldapadd(f"dn: {dn}\nobjectClass: top\nobjectClass: organizationalUnit\nou: {ou}\n")
        return dn

    def _password_file(self, password: str) -> Path:
        """A file of the instance's, readable by its owner only, that holds ``password`` for ``-y``.

        On the command line (``-w``) a password shows in the process list until the tool blanks it.
        """
        folder = self.directory / "passwords"
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / hashlib.sha256(password.encode("utf-8")).hexdigest()[:24]
        if not path.exists():
            descriptor, written = tempfile.mkstemp(dir=folder)  # mode 0600
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(password)  # -y reads the whole file: no newline
            os.replace(written, path)  # whole or absent, for a tool started at the same moment
        return path

    def run_client(
        self,
        tool: str,
        *arguments: str,
        stdin: str | bytes | None = None,
        bind: tuple[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``ldapadd``, ``ldapmodify`` or ``ldapsearch``; the result is not checked.

        ``bind`` is ``(dn, password)`` to bind as; the Directory Manager by default,
        ``("", "")`` for an anonymous bind.
        """
        executable = _executable(tool)
        assert executable is not None
        dn, password = bind if bind is not None else (self.admin_dn, self.admin_password)
        credentials = ["-D", dn, "-y", str(self._password_file(password))] if dn else []
        data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
        return subprocess.run(
            [executable, "-x", "-H", self.url, *credentials, *arguments],
            input=data,
            capture_output=True,
            timeout=120,
            check=False,
        )

    def _checked(
        self, tool: str, ldif: str | bytes, *, check: bool, bind: tuple[str, str] | None
    ) -> subprocess.CompletedProcess[bytes]:
        done = self.run_client(tool, stdin=ldif, bind=bind)
        if check and done.returncode != 0:
            raise LdapError(
                [tool],
                done.returncode,
                done.stdout.decode("utf-8", "replace"),
                done.stderr.decode("utf-8", "replace"),
            )
        return done

    def ldapadd(
        self, ldif: str | bytes, *, check: bool = True, bind: tuple[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Add the entries of ``ldif`` (as the Directory Manager unless ``bind`` says otherwise).

        Raises:
            LdapError: ldapadd failed and ``check`` is true.

        """
        return self._checked("ldapadd", ldif, check=check, bind=bind)

    def ldapmodify(
        self, ldif: str | bytes, *, check: bool = True, bind: tuple[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Apply the change records of ``ldif`` (as the Directory Manager unless ``bind`` says otherwise).

        Raises:
            LdapError: ldapmodify failed and ``check`` is true.

        """
        return self._checked("ldapmodify", ldif, check=check, bind=bind)

    def ldapsearch(
        self,
        base: str | None = None,
        *arguments: str,
        scope: str = "sub",
        bind: tuple[str, str] | None = None,
    ) -> bytes:
        """The ``ldapsearch -LLL`` output of a search under ``base`` (the suffix by default).

        Extra ``arguments`` (a filter, attribute names) follow the base. An
        entry the bound user may not see is simply absent, as with any search.

        Raises:
            LdapError: ldapsearch failed (a refused bind, a missing base, ...).

        """
        done = self.run_client(
            "ldapsearch",
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-s",
            scope,
            "-b",
            base or self.suffix,
            *arguments,
            bind=bind,
        )
        if done.returncode != 0:
            raise LdapError(
                ["ldapsearch", *arguments],
                done.returncode,
                done.stdout.decode("utf-8", "replace"),
                done.stderr.decode("utf-8", "replace"),
            )
        return done.stdout

    def acis(self, dn: str) -> list[str]:
        """The ``aci`` values stored on ``dn`` (read as the Directory Manager)."""
        found = self.ldapsearch(dn, "(objectClass=*)", "aci", scope="base").decode("utf-8")
        return [line[len("aci: ") :] for line in found.splitlines() if line.startswith("aci: ")]


@pytest.fixture(scope="session")
def ds389_server() -> Iterator[Ds389Server]:
    """One private 389 Directory Server for the test session (see the module docstring); stopped at the end.

    Skips when 389-ds-base or the OpenLDAP tools are missing, except on CI, where it fails.
    """
    missing = missing_tools()
    if missing:
        message = (
            f"389 Directory Server is not installed (missing: {', '.join(missing)}); "
            "on Debian: apt-get install 389-ds-base ldap-utils"
        )
        if _on_ci():
            pytest.fail(f"{message} (CI is set: the 389-ds tests must run there)")
        pytest.skip(message)
    with tempfile.TemporaryDirectory(prefix="flext-ds389-") as folder:
        server = Ds389Server.start(Path(folder))
        try:
            yield server
        finally:
            server.stop()
