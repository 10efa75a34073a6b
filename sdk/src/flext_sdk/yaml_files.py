"""Reading YAML (and JSON) files that a user or an attacker wrote, with bounded cost and clear errors.

Every plugin that reads a definition or a config file reads it through here, so
that all of them refuse the same things the same way: files larger than a
limit, bytes that are not UTF-8, aliases that expand beyond a budget (the
"billion laughs"), recursive aliases and duplicate keys, each as a
``VALIDATION_ERROR`` naming the file and line. PyYAML's own ``safe_load``
expands aliases into shared objects, which is cheap to build but not to walk
or serialize, and it keeps the last of duplicate keys silently; see
docs/security.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    import yaml

__all__ = ["MAX_FILE_BYTES", "MAX_VALUES", "YamlDocument", "parse_yaml", "read_yaml"]

MAX_FILE_BYTES: Final = 4 * 1024 * 1024
"""Largest file ``read_yaml`` reads by default: a hand-written definition is a few kilobytes."""
MAX_VALUES: Final = 100_000
"""Most values a document may hold once its aliases are expanded, by default."""


_RECURSIVE: Final = "an alias refers to the anchor that contains it (a recursive alias)"


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed document and where each of its values was written."""

    data: Any
    """The document as Python values (dicts, lists, strings, numbers, booleans, dates, None)."""
    source: str
    """The file name (or a label) used in messages."""
    root: yaml.Node | None
    """The composed node tree, for line numbers (None for an empty document)."""

    def line_of(self, location: Sequence[str | int]) -> int:
        """1-based line of the value at ``location`` (keys, list indexes), else of its nearest parent."""
        import yaml

        node = self.root
        line = 1 if node is None else node.start_mark.line + 1
        for part in location:
            found: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                found = next((value for key, value in node.value if key.value == str(part)), None)
            elif isinstance(node, yaml.SequenceNode) and str(part).isdigit() and int(part) < len(node.value):
                found = node.value[int(part)]
            if found is None:
                break
            node = found
            line = node.start_mark.line + 1
        return line


def read_yaml(
    path: Path, *, max_bytes: int = MAX_FILE_BYTES, max_values: int = MAX_VALUES
) -> FlextResult[YamlDocument]:
    """Read and parse the YAML or JSON file at ``path``; refuses large and non-UTF-8 files too."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        return FlextResult.fail(f"{source}: no such file", NOT_FOUND, {"file": source})
    except IsADirectoryError:
        return _invalid(source, None, "is a directory, not a file")
    except OSError as exc:
        return _invalid(source, None, f"cannot be read: {exc.strerror or exc}")
    if len(raw) > max_bytes:
        return _invalid(source, None, f"is larger than {max_bytes} bytes; a definition is a small text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return _invalid(source, line, f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8")
    return parse_yaml(text, source, max_values=max_values)


def parse_yaml(
    text: str, source: str = "<text>", *, max_values: int = MAX_VALUES
) -> FlextResult[YamlDocument]:
    """Parse one YAML (or JSON) document; a failure is a ``VALIDATION_ERROR`` naming source and line."""
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser, when PyYAML has it
    try:
        root = yaml.compose(text, Loader=loader_class)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return _invalid(source, None if mark is None else mark.line + 1, f"not valid YAML: {problem}")
    except RecursionError:  # the pure-Python parser, where PyYAML was built without libyaml
        return _invalid(source, None, "not valid YAML: nested too deeply")
    if root is None:
        return FlextResult.ok(YamlDocument(None, source, None))
    problem = _check_tree(root, max_values)
    if problem is not None:
        line, message = problem
        return _invalid(source, line, message)
    try:
        data = loader_class("").construct_document(root)
    except yaml.YAMLError as exc:  # a value its tag cannot build, such as an invalid timestamp
        mark = getattr(exc, "problem_mark", None)
        problem_text = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return _invalid(source, None if mark is None else mark.line + 1, f"not valid YAML: {problem_text}")
    except RecursionError:
        return _invalid(source, None, "not valid YAML: nested too deeply")
    except (ValueError, OverflowError) as exc:
        return _invalid(source, None, f"not valid YAML: {exc}")
    return FlextResult.ok(YamlDocument(data, source, root))


def _check_tree(root: yaml.Node, max_values: int) -> tuple[int, str] | None:
    """``(line, problem)`` for a recursive alias, a duplicate key or too many values once expanded; else None.

    Walks the node graph once, iteratively (a deep document must not exhaust
    Python's stack), counting each shared node's expanded size once (memoised),
    so an alias bomb costs the size of its file, not of its expansion.
    """
    import yaml

    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > max_values:
                return node.start_mark.line + 1, (
                    f"holds more than {max_values} values once its aliases are expanded; "
                    "write the values out or split the file"
                )
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in on_path:
            return (
                node.start_mark.line + 1,
                _RECURSIVE,
            )
        if isinstance(node, yaml.MappingNode):
            duplicate = _duplicate_key(node)
            if duplicate is not None:
                return duplicate
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                return child.start_mark.line + 1, (_RECURSIVE)
            if id(child) not in sizes:
                stack.append((child, False))
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _duplicate_key(node: yaml.MappingNode) -> tuple[int, str] | None:
    """The second of two equal plain keys in one mapping (merge keys ``<<`` may override, as YAML says)."""
    import yaml

    first_line: dict[tuple[str, str], int] = {}
    for key, _value in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        identity, line = (key.tag, key.value), key.start_mark.line + 1
        if identity in first_line:
            return (
                line,
                f"duplicate key {key.value!r} (also at line {first_line[identity]}); keep one",
            )
        first_line[identity] = line
    return None


def _invalid(source: str, line: int | None, problem: str) -> FlextResult[Any]:
    where = source if line is None else f"{source}:{line}"
    data: dict[str, object] = {"file": source}
    if line is not None:
        data["line"] = line
    return FlextResult.fail(f"{where}: {problem}", VALIDATION_ERROR, data)
