"""Error codes are constants of one errors module per distribution, and each is documented.

A caller matches on a failure's code, so a code is an interface: a typo in a
string literal is a code nobody documented and nobody matches. The rule
(``/work/shared/design/conventions.md``, "Results and errors") is checked on
the source of the kernel, the SDK and every plugin, read with ``ast``:

- An error code is *defined* as an UPPER_SNAKE ``Final`` string constant in a
  module named ``errors.py`` (a class attribute ``code = "..."`` of an
  exception there counts too).
- It is *used* where a string is passed as ``error_code=`` (or ``code=``), as
  the second positional argument of ``Failure(...)``, ``FlextResult.fail(...)``,
  ``FlextResult.from_exception(...)`` or the CLI's ``emit_error(...)``, compared
  with an ``.error_code``, or assigned to an ``error_code`` / ``code``.
- Every code defined or used has a row ``| `CODE` |`` in ``docs/errors.md``.
- Outside an errors module a code is never a string literal: not where it is
  used, and not as a ``Final`` constant of another module either.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "errors.md"
KERNEL_ERRORS = "flext_kernel.errors"
EVENTSOURCING_ERRORS = "flext_eventsourcing.errors"

_CODE_SHAPE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
"""What an error code looks like: ``NOT_FOUND``, ``TIMEOUT``."""
_POSITIONAL_CODE = frozenset({"Failure", "_fail", "fail", "from_exception", "emit_error"})
"""Callables whose second positional argument is an error code."""
_CODE_NAMES = frozenset({"error_code", "code"})
"""Keyword, attribute and variable names that hold an error code."""


class _StringConstant(ast.Constant):
    """A string literal, for the type checker (``ast.Constant`` may hold any constant)."""

    value: str


@dataclass(frozen=True)
class Code:
    """One place an error code is written."""

    path: Path
    """The source file."""
    line: int
    """1-based line of the code."""
    value: str
    """The code."""
    literal: bool
    """Written as a string literal outside an errors module (a definition there is not)."""

    def where(self) -> str:
        """``file:line``, relative to the repository."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def sources() -> Iterator[Path]:
    """Every Python file of the kernel, the SDK and the plugins."""
    for pattern in ("kernel/src/**/*.py", "sdk/src/**/*.py", "plugins/*/src/**/*.py"):
        yield from sorted(ROOT.glob(pattern))


def module_name(path: Path) -> str:
    """The dotted module name of a source file (``flext_kernel.cli.main``)."""
    parts = list(path.relative_to(next(p for p in path.parents if p.name == "src")).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_errors_module(path: Path) -> bool:
    """Whether ``path`` is where its distribution keeps its codes."""
    return path.name == "errors.py"


def _is_string(node: ast.AST | None) -> TypeGuard[_StringConstant]:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _callee(call: ast.Call) -> str | None:
    """The name a call is made through: ``Failure``, ``fail`` of ``FlextResult.fail``, ..."""
    function = call.func
    if isinstance(function, ast.Name):
        return function.id
    if isinstance(function, ast.Attribute):
        if function.attr == "fail":  # only FlextResult.fail / FlextResult[T].fail, not pytest.fail
            receiver = function.value.value if isinstance(function.value, ast.Subscript) else function.value
            return "fail" if isinstance(receiver, ast.Name) and receiver.id == "FlextResult" else None
        return function.attr
    return None


def _call_codes(call: ast.Call) -> Iterator[ast.AST]:
    for keyword in call.keywords:
        if keyword.arg in _CODE_NAMES:
            yield keyword.value
    if _callee(call) in _POSITIONAL_CODE and len(call.args) >= 2:
        yield call.args[1]


def _holds_code(node: ast.AST) -> bool:
    """``x.error_code``, ``error_code``, ``x.code``, ``code``."""
    if isinstance(node, ast.Attribute):
        return node.attr in _CODE_NAMES
    return isinstance(node, ast.Name) and node.id in _CODE_NAMES


def _compared_codes(compare: ast.Compare) -> Iterator[ast.AST]:
    operands = [compare.left, *compare.comparators]
    if not any(_holds_code(operand) for operand in operands):
        return
    for operand in operands:
        if isinstance(operand, ast.Tuple | ast.List | ast.Set):
            yield from operand.elts
        else:
            yield operand


def _assigned_codes(node: ast.Assign | ast.AnnAssign) -> Iterator[ast.AST]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if any(_holds_code(target) for target in targets) and node.value is not None:
        yield node.value


def _final_constants(tree: ast.Module) -> Iterator[tuple[ast.AnnAssign, str]]:
    """Module-level ``NAME: Final = "..."`` with an UPPER_SNAKE name."""
    for node in tree.body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and _CODE_SHAPE.fullmatch(node.target.id)
            and "Final" in ast.unparse(node.annotation)
        ):
            value = _string(node.value)
            if value is not None:
                yield node, value


def _uses(tree: ast.Module) -> Iterator[ast.AST]:
    """Every expression in ``tree`` that holds an error code."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield from _call_codes(node)
        elif isinstance(node, ast.Compare):
            yield from _compared_codes(node)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            yield from _assigned_codes(node)


def _not_values(tree: ast.Module) -> set[int]:
    """Strings that are names, not values: docstrings, ``__all__``, dict keys (lazy export tables)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr):
            skipped.add(id(node.value))
        elif isinstance(node, ast.Dict):
            skipped.update(id(key) for key in node.keys if key is not None)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(target, ast.Name) and target.id == "__all__" for target in targets):
                skipped.update(id(child) for child in ast.walk(node))
    return skipped


def codes_in(path: Path, known: set[str]) -> list[Code]:
    """The codes ``path`` defines or writes; ``known`` are the codes defined or documented anywhere.

    A string that is a known code is one wherever it appears (as an argument
    of a helper, a value in a dict); a new code is recognised by where it is
    written (``error_code=``, ``FlextResult.fail``, ...).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    literal = not is_errors_module(path)
    found: dict[int, Code] = {}
    for constant, value in _final_constants(tree):
        if not literal or value in known:
            found[id(constant.value)] = Code(path, constant.lineno, value, literal)
    for expression in _uses(tree):
        if _is_string(expression) and _CODE_SHAPE.fullmatch(expression.value):
            found.setdefault(id(expression), Code(path, expression.lineno, expression.value, literal))
    skipped = _not_values(tree)
    for node in ast.walk(tree):
        if _is_string(node) and node.value in known and id(node) not in skipped:
            found.setdefault(id(node), Code(path, node.lineno, node.value, literal))
    return sorted(found.values(), key=lambda code: (code.line, code.value))


def documented() -> set[str]:
    """The codes with a row in docs/errors.md."""
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", DOCS.read_text(encoding="utf-8"), re.MULTILINE))


@functools.cache
def definitions() -> dict[str, list[str]]:
    """Code to the errors modules that define it."""
    found: dict[str, list[str]] = {}
    for path in sources():
        if is_errors_module(path):
            for code in codes_in(path, set()):
                found.setdefault(code.value, []).append(module_name(path))
    return found


@functools.cache
def all_codes() -> tuple[Code, ...]:
    """Every code defined or written in the kernel, the SDK and the plugins (read once per run)."""
    known = documented() | set(definitions())
    return tuple(code for path in sources() for code in codes_in(path, known))


def home_of(code: Code, defined: dict[str, list[str]]) -> str:
    """The errors module ``code`` should come from.

    The kernel's if it defines the code, else event sourcing's (which the SDK
    and every plugin may import), else the file's own distribution's (to be
    created if need be): never another plugin's, which a plugin may not import.
    """
    modules = defined.get(code.value, [])
    for shared in (KERNEL_ERRORS, EVENTSOURCING_ERRORS):
        if shared in modules:
            return shared
    return module_name(code.path).split(".")[0] + ".errors"


def test_every_error_code_is_documented() -> None:
    rows = documented()
    missing = [f"{code.where()}: {code.value}" for code in all_codes() if code.value not in rows]
    assert not missing, "error codes without a row | `CODE` | in docs/errors.md:\n" + "\n".join(missing)


def test_error_codes_outside_errors_modules_are_constants() -> None:
    defined = definitions()
    wrong = [
        f"{code.where()}: {code.value!r} is a string literal; use the constant from {home_of(code, defined)}"
        for code in all_codes()
        if code.literal
    ]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_every_kind_of_use(tmp_path: Path) -> None:
    source = tmp_path / "src" / "flext_plugin_demo" / "thing.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "from typing import Final\n"
        "from flext_kernel.result import Failure, FlextResult\n"
        'MINE: Final = "NOT_FOUND"\n'
        'a = FlextResult.fail("no", error_code="A_CODE")\n'
        'b = FlextResult[int].fail("no", "B_CODE")\n'
        'c = Failure("no", "C_CODE")\n'
        'd = emit_error("no", "D_CODE")\n'
        'e = result.error_code == "E_CODE"\n'
        'f = result.error_code in ("F_CODE", "G_CODE")\n'
        'failure.code = "H_CODE"\n'
        'g = FlextResult.fail("Not a code", error_code=NOT_FOUND)\n'
        'pytest.fail("no", "NOT_A_CALL_OF_OURS")\n',
        encoding="utf-8",
    )
    found = [(code.line, code.value, code.literal) for code in codes_in(source, {"NOT_FOUND"})]
    assert sorted(found) == [
        (3, "NOT_FOUND", True),
        (4, "A_CODE", True),
        (5, "B_CODE", True),
        (6, "C_CODE", True),
        (7, "D_CODE", True),
        (8, "E_CODE", True),
        (9, "F_CODE", True),
        (9, "G_CODE", True),
        (10, "H_CODE", True),
    ]
    errors = source.with_name("errors.py")
    errors.write_text('from typing import Final\nDEMO_FAILED: Final = "DEMO_FAILED"\n', encoding="utf-8")
    assert codes_in(errors, set()) == [Code(errors, 2, "DEMO_FAILED", literal=False)]
    assert module_name(errors) == "flext_plugin_demo.errors"


def test_a_code_is_sent_to_a_module_its_file_may_import(tmp_path: Path) -> None:
    plugin = tmp_path / "plugins" / "demo" / "src" / "flext_plugin_demo" / "cli.py"
    defined = {
        "NOT_FOUND": [KERNEL_ERRORS, "flext_plugin_other.errors"],
        "STREAM_DELETED": [EVENTSOURCING_ERRORS],
        "OTHER_FAILED": ["flext_plugin_other.errors"],
    }
    homes = {code: home_of(Code(plugin, 1, code, literal=True), defined) for code in [*defined, "NEW_CODE"]}
    assert homes == {
        "NOT_FOUND": KERNEL_ERRORS,
        "STREAM_DELETED": EVENTSOURCING_ERRORS,
        "OTHER_FAILED": "flext_plugin_demo.errors",  # never another plugin's module
        "NEW_CODE": "flext_plugin_demo.errors",
    }
