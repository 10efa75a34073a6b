"""Alert rules: the YAML file people write, as pydantic models, read with file/line/key errors.

The file (``$FLEXT_ALERT_RULES``, else ``<config dir>/monitor/alerts.yaml``,
or ``--rules FILE``) has two keys::

    notifiers:
      ops: {type: webhook, url: "https://hooks.example.com/T0/B1/secret"}
      pager: {type: command, command: ["/usr/local/bin/page", "--team", "data"]}
    rules:
      - name: numbers-failed
        when: {type: run_failed, pipeline: numbers}
        severity: critical
        notify: [ops, pager]
      - name: numbers-stale
        when: {type: no_success, pipeline: numbers, within: 2h}
      - name: dispatch-failures
        when: {type: metric, metric: flext_dispatch_failures_total, above: 5, for: 10m}

A notifier's ``type`` is a kind some plugin's ``flext_alert_notifiers``
answers (this plugin ships ``webhook`` and ``command``); its other keys are
that notifier's to validate.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flext_kernel.errors import VALIDATION_ERROR
from flext_kernel.result import FlextResult
from flext_plugin_monitor.window import DURATION_HELP, seconds_of

__all__ = [
    "Condition",
    "MetricAbove",
    "NoSuccess",
    "Rule",
    "RulesFile",
    "RunFailed",
    "load_rules",
    "locked_rules",
    "rules_path",
    "save_rules",
]

_NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


def _duration(value: str) -> str:
    seconds = seconds_of(value)
    if seconds is None:
        raise ValueError(f"{value!r} is not {DURATION_HELP}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class RunFailed(_Strict):
    """Fires while the pipeline's latest finished run failed; resolves when a later run completes."""

    type: Literal["run_failed"] = "run_failed"
    pipeline: str = Field(min_length=1)

    def describe(self) -> str:
        """For people: ``pipeline numbers failed``."""
        return f"pipeline {self.pipeline} failed"


class NoSuccess(_Strict):
    """Fires when no run of the pipeline completed within the window (``within: 2h``)."""

    type: Literal["no_success"] = "no_success"
    pipeline: str = Field(min_length=1)
    within: str
    """A duration (``2h``)."""

    _check_within = field_validator("within")(_duration)

    def describe(self) -> str:
        """For people: ``no successful run of numbers for 2h``."""
        return f"no successful run of {self.pipeline} for {self.within}"


class MetricAbove(_Strict):
    """Fires when a metric's sample compares true with ``threshold`` for the whole ``for`` duration."""

    type: Literal["metric"] = "metric"
    metric: str = Field(min_length=1)
    """The sample's name (``flext_dispatch_failures_total``); with several label sets, their sum."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Only samples with these labels."""
    above: float | None = None
    below: float | None = None
    for_: str = Field(default="0s", alias="for")
    """How long the condition must hold before the alert fires (``10m``)."""
    service: str | None = None
    """Read the metrics of this service's ``/metrics`` (default: the evaluating process's)."""

    _check_for = field_validator("for_")(_duration)

    @model_validator(mode="after")
    def _one_threshold(self) -> MetricAbove:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' and 'below'")
        return self

    def describe(self) -> str:
        """For people: ``flext_x > 5 for 10m``."""
        labels = (
            "{" + ",".join(f"{k}={v}" for k, v in sorted(self.labels.items())) + "}" if self.labels else ""
        )
        compared = f"> {self.above:g}" if self.above is not None else f"< {self.below:g}"
        where = f" on {self.service}" if self.service else ""
        return f"{self.metric}{labels}{where} {compared} for {self.for_}"


Condition = Annotated[RunFailed | NoSuccess | MetricAbove, Field(discriminator="type")]


class Rule(_Strict):
    """One alert rule."""

    name: str = Field(pattern=_NAME)
    when: Condition
    severity: Literal["info", "warning", "critical"] = "warning"
    notify: tuple[str, ...] = ()
    """Names of entries under ``notifiers``."""
    description: str = ""


class NotifierConfig(BaseModel):
    """A notifier entry: its ``type`` and the keys that notifier reads (checked by the notifier)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str = Field(min_length=1)


class RulesFile(_Strict):
    """The whole file."""

    notifiers: dict[str, NotifierConfig] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _names(self) -> RulesFile:
        seen: set[str] = set()
        for index, rule in enumerate(self.rules):
            if rule.name in seen:
                raise _At(("rules", index, "name"), f"the rule name {rule.name!r} is used twice")
            seen.add(rule.name)
            for position, name in enumerate(rule.notify):
                if name not in self.notifiers:
                    raise _At(
                        ("rules", index, "notify", position), f"no notifier named {name!r} under notifiers"
                    )
        return self

    def rule(self, name: str) -> Rule | None:
        """The rule called ``name``."""
        return next((rule for rule in self.rules if rule.name == name), None)


class _At(ValueError):
    """A cross-field problem and the key it is about (pydantic reports model errors at the root)."""

    def __init__(self, location: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.location = location


def rules_path(option: str | None) -> Path:
    """``--rules``, else ``$FLEXT_ALERT_RULES``, else ``<config dir>/monitor/alerts.yaml``."""
    if option:
        return Path(option)
    configured = os.environ.get("FLEXT_ALERT_RULES")
    if configured:
        return Path(configured)
    from flext_kernel.paths import config_dir

    return config_dir() / "monitor" / "alerts.yaml"


def load_rules(path: Path, *, notifier_kinds: Mapping[str, Any] | None = None) -> FlextResult[RulesFile]:
    """Read and validate the rules; a missing file is no rules. A problem is one line: file:line: key: why.

    ``notifier_kinds`` (kind -> notifier), when given, checks each notifier's
    ``type`` and its settings with that notifier's ``validate``.
    """
    from flext_sdk.yaml_files import read_yaml

    if not path.exists():
        return FlextResult.ok(RulesFile())
    read = read_yaml(path)
    if read.is_failure:
        return FlextResult.fail(read.error or "", error_code=read.error_code, error_data=read.error_data)
    document = read.value
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        return _invalid(path, 1, "the file", "must be a mapping with 'notifiers' and 'rules'")
    try:
        rules = RulesFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = first.get("ctx", {}).get("error")
        location = cause.location if isinstance(cause, _At) else _without_tags(tuple(first["loc"]))
        message = str(cause) if isinstance(cause, _At) else first["msg"].removeprefix("Value error, ")
        return _invalid(path, document.line_of(location), _key(location), message)
    if notifier_kinds is not None:
        for name, config in rules.notifiers.items():
            problem = _notifier_problem(config, notifier_kinds)
            if problem is not None:
                where = ("notifiers", name, *problem[0])
                return _invalid(path, document.line_of(where), _key(where), problem[1])
    return FlextResult.ok(rules)


def _notifier_problem(
    config: NotifierConfig, kinds: Mapping[str, Any]
) -> tuple[tuple[str | int, ...], str] | None:
    notifier = kinds.get(config.type)
    if notifier is None:
        return ("type",), f"no notifier of type {config.type!r} (known: {', '.join(sorted(kinds)) or 'none'})"
    checked = notifier.validate(config.model_dump())
    if checked.is_failure:
        location = checked.error_data.get("loc", ())
        return tuple(location), checked.error or "invalid"
    return None


_TAGS = frozenset({"run_failed", "no_success", "metric"})


def _without_tags(location: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Pydantic's location without the union member it tried (when.no_success.within: when.within)."""
    kept: list[str | int] = []
    for part in location:
        if kept and kept[-1] == "when" and part in _TAGS:
            continue
        kept.append(part)
    return tuple(kept)


def _key(location: Sequence[str | int]) -> str:
    parts = [str(part) for part in location if not str(part).startswith(("function-", "tagged-union"))]
    return ".".join(parts) or "the file"


def _invalid(path: Path, line: int, key: str, message: str) -> FlextResult[Any]:
    return FlextResult.fail(
        f"{path}:{line}: {key}: {message}",
        error_code=VALIDATION_ERROR,
        error_data={"file": str(path), "line": line},
    )


@contextlib.contextmanager
def locked_rules(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<rules file>.lock`` (a sibling): one ``add``/``remove`` at a time.

    Held from reading the file to replacing it, so two edits at once do not
    both start from the same rules and lose one's change.
    """
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path.with_name(f"{path.name}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def save_rules(path: Path, rules: RulesFile) -> None:
    """Write the rules atomically (a temporary file renamed over the old one); comments are not kept."""
    import tempfile

    import yaml

    written: list[dict[str, Any]] = []
    for rule in rules.rules:
        dumped = rule.model_dump(by_alias=True, exclude_defaults=True)
        dumped["name"] = rule.name
        dumped["when"] = {"type": rule.when.type} | rule.when.model_dump(by_alias=True, exclude_defaults=True)
        if "notify" in dumped:
            dumped["notify"] = list(dumped["notify"])
        written.append(dumped)
    body = {
        "notifiers": {name: config.model_dump() for name, config in rules.notifiers.items()},
        "rules": written,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".alerts-", delete=False) as out:
        yaml.safe_dump(body, out, sort_keys=False)
    os.replace(out.name, path)
