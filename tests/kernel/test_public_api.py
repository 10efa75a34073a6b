"""Pin the kernel's public surface, so that an accidental export or removal fails CI."""

from __future__ import annotations

import subprocess
import sys

import flext_kernel

EXPECTED = {
    "AsyncBehavior", "AsyncNext", "Behavior", "CacheInvalidator", "ContainerScope", "Failure",
    "FlextBusError", "FlextCommand", "FlextCommandBus", "FlextContainer", "FlextContainerError",
    "FlextDomainEvent", "FlextError", "FlextEventBus", "FlextMessage", "FlextQuery",
    "FlextQueryBus", "FlextResult", "FlextResultError", "Handler", "HandlerObject", "HandlerSpec",
    "LoggingBehavior", "MessageRegistry", "Next", "QueryCachingBehavior", "Subscriber", "Success",
    "TimingBehavior", "Upcaster", "ValidationBehavior", "Validator", "__version__",
    "command_handler", "correlation_scope", "current_correlation_id", "event_handler",
    "handler_specs", "in_current_context", "message_type_name", "new_correlation_id", "query_handler",
    "register_handlers", "safe", "to_envelope", "to_json", "to_msgpack",
}  # fmt: skip


def test_public_names_are_pinned() -> None:
    assert set(flext_kernel.__all__) == EXPECTED


def test_every_public_name_exists() -> None:
    missing = [name for name in flext_kernel.__all__ if not hasattr(flext_kernel, name)]
    assert missing == []


def test_every_module_declares_all() -> None:
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(flext_kernel.__path__):
        module = importlib.import_module(f"flext_kernel.{info.name}")
        assert isinstance(getattr(module, "__all__", None), list), f"{info.name} has no __all__"


def test_lazy_locations_cover_exactly_the_public_names() -> None:
    assert set(flext_kernel._LOCATIONS) | {"__version__"} == set(flext_kernel.__all__)


def test_unknown_attribute_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = flext_kernel.Nope  # type: ignore[attr-defined]


def test_importing_the_kernel_loads_no_plugin_machinery_cli_or_pydantic() -> None:
    # flext --help imports flext_kernel.cli; the package itself must stay this light.
    code = (
        "import sys, flext_kernel; "
        "print(sorted(m for m in ('pluggy', 'cyclopts', 'rich', 'sqlalchemy', 'pydantic', 'msgpack')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
