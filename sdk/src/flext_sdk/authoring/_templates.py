"""The files ``flext plugin new`` writes, as ``string.Template`` texts.

Placeholders: ``$name`` (the plugin name users type), ``$package``
(``flext_plugin_<name>``), ``$distribution`` (``flext-plugin-<name>``),
``$kernel_range`` and ``$sdk_requirement`` (the versions this kernel and SDK
satisfy), ``$install`` (the pip command that installs the project into
``.venv``) and ``$install_note`` (why it names local paths, when it does). A
literal dollar sign is written ``$$``. The generated Python is
formatted and lint-clean under ruff's defaults; tests/sdk/test_plugin_new.py
checks that.
"""

from __future__ import annotations

from string import Template
from typing import Final

__all__ = ["FILES", "PUBLISHED_INSTALL", "render"]

_PYPROJECT = """\
[project]
name = "$distribution"
version = "0.1.0"
description = "FLEXT plugin $name: says hello through the FLEXT command bus."
readme = "README.md"
requires-python = ">=3.11"
keywords = ["flext", "flext-plugin"]
dependencies = ["$sdk_requirement"]

[project.optional-dependencies]
test = ["pytest>=8"]

# How FLEXT finds the plugin: the name is what users type after `flext`,
# and it must equal manifest.name.
[project.entry-points."flext.plugins"]
$name = "$package.plugin:Plugin"

[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/$package"]

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = ["-ra", "--strict-markers"]
"""

_README = """\
# $distribution

A [FLEXT](https://pypi.org/project/flext/) plugin that adds one command:

```console
$$ flext $name hello --who Ada
Hello, Ada!
```

## Layout

| file | what it is |
|---|---|
| `pyproject.toml` | the distribution, its dependency on `flext-sdk`, and the `flext.plugins` entry point |
| `src/$package/plugin.py` | the plugin: its manifest (name, version, commands) and its hooks |
| `src/$package/handlers.py` | the `Hello` command message and the handler that answers it |
| `src/$package/cli.py` | `flext $name hello`: boots a kernel, dispatches `Hello`, prints the result |
| `tests/test_plugin.py` | the SDK's plugin contract suite, plus tests of the handler and the command |

## Develop

```console
$$ python -m venv .venv && $install
$$ .venv/bin/pytest
$$ .venv/bin/flext $name hello
```
$install_note
## Build, install, publish

```console
$$ python -m build --wheel            # or: uv build --wheel
$$ flext plugin install dist/${package}-0.1.0-py3-none-any.whl
$$ flext plugin uninstall $name
$$ twine upload dist/*                # or: uv publish
```

See the FLEXT plugin authoring guide (`docs/plugins/authoring.md`) for the details.
"""

_GITIGNORE = """\
__pycache__/
*.egg-info/
.venv/
build/
dist/
"""

_INIT = '''\
"""FLEXT plugin ``$name``.

FLEXT finds it through the ``flext.plugins`` entry point in ``pyproject.toml``,
which names ``$package.plugin:Plugin``.
"""
'''

_HANDLERS = '''\
"""The messages this plugin understands and the handlers that answer them."""

from flext_sdk import FlextCommand, FlextResult

__all__ = ["Hello", "hello"]


class Hello(FlextCommand):
    """Ask for a greeting."""

    # A stable type name: serialized messages keep it across renames.
    message_type = "$name.hello"

    who: str = "world"
    """Who to greet."""


def hello(command: Hello) -> FlextResult[str]:
    """Answer ``Hello`` with a greeting; a blank name is a validation error."""
    who = command.who.strip()
    if not who:
        return FlextResult.fail("who must not be blank", error_code="VALIDATION_ERROR")
    return FlextResult.ok(f"Hello, {who}!")
'''

_PLUGIN = '''\
"""The plugin FLEXT loads through the ``flext.plugins`` entry point."""

from importlib.metadata import PackageNotFoundError, version

from flext_sdk import (
    CommandEntry,
    FlextCommandBus,
    FlextEventBus,
    FlextPlugin,
    FlextQueryBus,
    PluginManifest,
    hookimpl,
)

from $package.handlers import Hello, hello

__all__ = ["NAME", "Plugin"]

NAME = "$name"
"""The plugin's name: its entry point's name and the owner of what it registers."""

try:
    _VERSION = version("$distribution")
except PackageNotFoundError:  # imported from a source tree that is not installed
    _VERSION = "0.0.0"


class Plugin(FlextPlugin):
    """The plugin: the ``Hello`` handler and the ``hello`` command."""

    manifest = PluginManifest(
        name=NAME,
        version=_VERSION,
        description="Says hello through the FLEXT command bus.",
        kernel="$kernel_range",
        commands=(
            CommandEntry(
                path=(NAME, "hello"),
                target="$package.cli:hello",
                help="Say hello through the command bus.",
            ),
        ),
    )

    @hookimpl
    def flext_register_handlers(
        self,
        command_bus: FlextCommandBus,
        query_bus: FlextQueryBus,
        event_bus: FlextEventBus,
    ) -> None:
        """Register the handlers; ``owner`` lets the kernel remove them again."""
        command_bus.register(Hello, hello, owner=NAME)
'''

_CLI = '''\
"""The plugin's commands, imported only when one of them runs.

``flext $name hello`` calls ``hello`` below with the options it was given.
"""

from flext_sdk import FlextKernel
from flext_sdk.cli import fail

from $package.handlers import Hello
from $package.plugin import NAME

__all__ = ["hello"]


def hello(who: str = "world") -> int:
    """Say hello through the command bus.

    Args:
        who: Who to greet.

    """
    booted = FlextKernel.boot(only=[NAME], strict=True)
    if booted.is_failure:
        return fail(booted)
    with booted.value as kernel:
        result = kernel.command_bus.dispatch(Hello(who=who))
    if result.is_failure:
        return fail(result)
    print(result.value)
    return 0
'''

_TESTS = '''\
"""Tests of the plugin, with the fixtures and contract of ``flext_sdk.testing``."""

from flext_sdk.testing import FlextCliRunner, FlextKernelFactory, PluginContract

from $package.handlers import Hello
from $package.plugin import Plugin


class TestPluginContract(PluginContract):
    """The rules every FLEXT plugin follows: manifest, hooks, owners, commands."""

    plugin = "$package.plugin:Plugin"


def test_hello_is_answered_through_the_command_bus(
    flext_kernel_factory: FlextKernelFactory,
) -> None:
    kernel = flext_kernel_factory(Plugin)
    assert kernel.command_bus.dispatch(Hello(who="Ada")).value == "Hello, Ada!"


def test_a_blank_name_is_a_validation_error(
    flext_kernel_factory: FlextKernelFactory,
) -> None:
    result = flext_kernel_factory(Plugin).command_bus.dispatch(Hello(who=" "))
    assert result.error_code == "VALIDATION_ERROR"


def test_the_hello_command(flext_cli: FlextCliRunner) -> None:
    result = flext_cli("$name", "hello", "--who", "Ada")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "Hello, Ada!"
'''

FILES: Final[dict[str, str]] = {
    "pyproject.toml": _PYPROJECT,
    "README.md": _README,
    ".gitignore": _GITIGNORE,
    "src/$package/__init__.py": _INIT,
    "src/$package/py.typed": "",
    "src/$package/plugin.py": _PLUGIN,
    "src/$package/handlers.py": _HANDLERS,
    "src/$package/cli.py": _CLI,
    "tests/test_plugin.py": _TESTS,
}
"""Relative path (itself a template) to file text."""


PUBLISHED_INSTALL: Final = ".venv/bin/pip install -e '.[test]'"
"""The install step once flext-sdk is on an index pip reads."""

_INSTALL_NOTE = """
flext-sdk is not on PyPI yet, so the install above takes it, and the FLEXT
distributions it needs, from the paths where `flext plugin new` found them.
Once it is published, `$published` is enough.
"""


def render(
    name: str, *, kernel_range: str, sdk_requirement: str, install: str | None = None
) -> dict[str, str]:
    """Return every file of the plugin ``name`` as relative path to text.

    ``install`` is the pip command of the README's Develop section (default: ``PUBLISHED_INSTALL``).
    """
    install = install or PUBLISHED_INSTALL
    values = {
        "name": name,
        "package": "flext_plugin_" + name.replace("-", "_"),
        "distribution": "flext-plugin-" + name.replace("_", "-"),
        "kernel_range": kernel_range,
        "sdk_requirement": sdk_requirement,
        "install": install,
        "install_note": ""
        if install == PUBLISHED_INSTALL
        else _INSTALL_NOTE.replace("$published", PUBLISHED_INSTALL),
    }
    return {
        Template(path).substitute(values): Template(text).substitute(values) for path, text in FILES.items()
    }
