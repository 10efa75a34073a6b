"""The registry: built-ins read from the environment, other plugins' contributions through the hook."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from flext_plugin_service.builtins import builtin_services
from flext_plugin_service.registry import read_registry
from flext_plugin_service.spec import ServiceSpec, redacted
from hypothesis import given
from hypothesis import strategies as st

from flext_kernel.plugins.discovery import Candidate
from flext_sdk import FlextKernel, FlextPlugin, PluginManifest, hookimpl


class _Contributor(FlextPlugin):
    manifest = PluginManifest(name="contributor", requires=("service",))
    answer: ClassVar[list[Any]] = []

    @hookimpl
    def flext_services(self) -> list[Any]:
        return _Contributor.answer


def _kernel(answer: list[Any]) -> FlextKernel:
    _Contributor.answer = answer
    candidates = [
        Candidate("service", "flext_plugin_service.plugin", "builtin"),
        Candidate("contributor", f"{__name__}:_Contributor", "builtin"),
    ]
    return FlextKernel.boot(candidates=candidates, strict=True).unwrap()


@pytest.mark.usefixtures("flext_home")
def test_the_builtins_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("FLEXT_POSTGRES_URL", "FLEXT_EVENTSTORE_URL", "FLEXT_NATS_URL", "FLEXT_REDIS_URL"):
        monkeypatch.delenv(variable, raising=False)
    assert [spec.name for spec in builtin_services()] == ["event-store", "serve"]
    monkeypatch.setenv("FLEXT_EVENTSTORE_URL", "postgresql://flext:pw@127.0.0.1:5432/flext")
    monkeypatch.setenv("FLEXT_NATS_URL", "nats://127.0.0.1:4222")
    monkeypatch.setenv("FLEXT_REDIS_URL", "redis://127.0.0.1:6379")
    monkeypatch.setenv("FLEXT_SERVE_PORT", "9999")
    found = {spec.name: spec for spec in builtin_services()}
    assert list(found) == ["event-store", "postgres", "nats", "redis", "serve"]
    assert found["postgres"].target() == "postgresql://flext:***@127.0.0.1:5432/flext"
    assert found["serve"].target() == "http://127.0.0.1:9999/health"
    assert found["serve"].argv[-2:] == ("--port", "9999")
    assert not found["serve"].required


@pytest.mark.usefixtures("flext_home")
def test_another_plugin_contributes_through_the_hook() -> None:
    kernel = _kernel(
        [
            {"name": "worker", "kind": "local-process", "argv": ["sleep", "60"], "required": False},
            {"name": "target-db", "kind": "dependency", "check": {"type": "tcp", "host": "db", "port": 5432}},
        ]
    )
    with kernel:
        registry = read_registry(kernel)
    assert registry.refused == []
    assert registry.services["worker"].owner == "contributor"
    assert registry.services["target-db"].target() == "db:5432"
    assert registry.services["event-store"].owner == "service"


@pytest.mark.usefixtures("flext_home")
def test_bad_descriptions_and_taken_names_are_refused_with_why() -> None:
    kernel = _kernel(
        [
            {"name": "event-store", "kind": "dependency"},
            {"name": "Bad Name", "kind": "dependency"},
            {"name": "noargv", "kind": "local-process"},
            {"name": "typo", "kind": "dependency", "chek": {}},
            ServiceSpec(name="fine", kind="dependency", check={"type": "tcp", "host": "h", "port": 1}),  # type: ignore[arg-type]
        ]
    )
    with kernel:
        registry = read_registry(kernel)
    assert "fine" in registry.services
    assert registry.services["event-store"].owner == "service"
    assert len(registry.refused) == 4
    assert "service 'event-store' is taken by service" in registry.refused[0]
    assert "invalid service description (name:" in registry.refused[1]
    assert "local process 'noargv' has no argv" in registry.refused[2]
    assert "chek" in registry.refused[3]


@given(
    user=st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8),
    password=st.text(st.characters(codec="ascii", categories=["L", "N", "P"]), min_size=4, max_size=20),
    host=st.sampled_from(["127.0.0.1", "db.example", "[::1]"]),
)
def test_a_password_never_survives_redaction(user: str, password: str, host: str) -> None:
    from urllib.parse import quote

    name = quote(user, safe="")
    url = f"postgresql://{name}:{quote(password, safe='')}@{host}:5432/db?password={quote(password)}"
    assert redacted(url) == f"postgresql://{name}:***@{host}:5432/db?***"


@given(
    password=st.text(
        st.characters(codec="ascii", categories=["L", "N", "P", "S", "Zs"]), min_size=4, max_size=20
    ),
    key=st.sampled_from(["password", "PASSWORD", "sslpassword"]),
)
def test_a_key_value_dsn_password_never_survives_redaction(password: str, key: str) -> None:
    quoted = "'" + password.replace("\\", "\\\\").replace("'", "\\'") + "'"
    for value in (quoted, password):
        shown = redacted(f"host=db.example port=5432 {key}={value} dbname=x")
        assert password not in shown or password in "host=db.example port=5432 dbname=x ***"
        assert shown.startswith("host=db.example port=5432 ")
