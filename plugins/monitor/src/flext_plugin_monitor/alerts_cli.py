"""``flext monitor alerts list|add|remove|test|evaluate``: the rules file, and the rules evaluated.

Rules are read (and checked) with the kernel up, since a notifier's ``type``
is any kind a plugin's ``flext_alert_notifiers`` answers. ``add`` and
``remove`` rewrite the file atomically after checking the result, holding
a lock on ``<rules file>.lock`` from reading it to replacing it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_kernel.errors import ALREADY_REGISTERED, NOT_FOUND, VALIDATION_ERROR
from flext_sdk import FlextResult
from flext_sdk.cli import boot_kernel, current, emit, emit_error, emit_table, fail, note

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel
    from flext_plugin_monitor.rules import RulesFile

__all__ = ["add", "evaluate_alerts", "list_alerts", "remove", "try_rule"]

LIST_COLUMNS = ("rule", "severity", "condition", "notify", "state", "since")


def notifier_kinds(kernel: FlextKernel) -> dict[str, Any]:
    """Every active plugin's notifiers, by kind; the first plugin to claim a kind keeps it."""
    kinds: dict[str, Any] = {}
    for _, answer in kernel.plugins.collect("flext_alert_notifiers"):
        for notifier in answer or ():
            kinds.setdefault(str(notifier.kind), notifier)
    return kinds


@contextmanager
def _rules(
    option: str | None, *, edit: bool = False
) -> Iterator[tuple[FlextKernel, Path, RulesFile, dict[str, Any]] | int]:
    """The kernel, the rules file and its rules; ``edit`` holds the file's lock until the block ends."""
    from flext_plugin_monitor.rules import load_rules, locked_rules, rules_path

    booted = boot_kernel()
    if booted.is_failure:
        yield fail(booted)
        return
    with booted.value as kernel:
        path = rules_path(option)
        kinds = notifier_kinds(kernel)
        with locked_rules(path) if edit else nullcontext():
            loaded = load_rules(path, notifier_kinds=kinds)
            if loaded.is_failure:
                yield fail(loaded)
                return
            yield kernel, path, loaded.value, kinds


def list_alerts(*, rules: str | None = None, store: str | None = None) -> int:
    """The rules, their notifiers (secrets hidden), and which fire now (from the alert events).

    Args:
        rules: The rules file (default $FLEXT_ALERT_RULES, else <config dir>/monitor/alerts.yaml).
        store: The event store (a SQLite path or postgresql:// URL; default $FLEXT_EVENTSTORE_URL).

    """
    with _rules(rules) as opened:
        if isinstance(opened, int):
            return opened
        kernel, path, loaded, kinds = opened
        firing = _firing(kernel, store)
        rows = [
            {
                "rule": rule.name,
                "severity": rule.severity,
                "condition": rule.when.describe(),
                "notify": ", ".join(_shown(name, loaded, kinds) for name in rule.notify),
                "state": "firing" if rule.name in firing else "ok",
                "since": firing[rule.name].since if rule.name in firing else None,
            }
            for rule in loaded.rules
        ]
        if not rows:
            return emit([], human=f"no alert rules in {path}")
        return emit_table(rows, LIST_COLUMNS, title=f"Alert rules ({path})")


def _shown(name: str, loaded: RulesFile, kinds: dict[str, Any]) -> str:
    settings = loaded.notifiers[name].model_dump()
    return f"{name} ({kinds[settings['type']].describe(settings)})"


def _firing(kernel: FlextKernel, store: str | None) -> dict[str, Any]:
    from flext_eventsourcing import stores_of
    from flext_plugin_monitor.alert_events import read_alerts

    stores = stores_of(kernel)
    if stores.is_failure:
        return {}
    opened = stores.value.open_event_store(store, create=False, read_only=True)
    if opened.is_failure:
        return {}  # no store yet: nothing ever fired
    try:
        found = read_alerts(opened.value)
    finally:
        opened.value.close()
    return found.value[1] if found.is_success else {}


def add(
    name: str,
    /,
    *,
    pipeline_failed: str | None = None,
    no_success: str | None = None,
    within: str = "2h",
    metric: str | None = None,
    above: float | None = None,
    below: float | None = None,
    hold: str = "0s",
    severity: str = "warning",
    notify: tuple[str, ...] = (),
    description: str = "",
    rules: str | None = None,
) -> int:
    """Add a rule: exactly one of --pipeline-failed, --no-success, --metric.

    Args:
        name: The rule's name.
        pipeline_failed: Fire while this pipeline's latest finished run failed.
        no_success: Fire when no run of this pipeline completed within --within.
        within: The window of --no-success (2h).
        metric: Fire when this metric's sample is --above or --below a threshold for --hold.
        above: Threshold for --metric.
        below: Threshold for --metric.
        hold: How long the --metric condition must hold before firing (10m).
        severity: info, warning or critical.
        notify: A notifier named in the file's notifiers (repeatable).
        description: One line for the alert.
        rules: The rules file.

    """
    chosen = [value for value in (pipeline_failed, no_success, metric) if value]
    if len(chosen) != 1:
        return fail(
            FlextResult.fail(
                "give exactly one of --pipeline-failed, --no-success and --metric",
                error_code=VALIDATION_ERROR,
            )
        )
    when: dict[str, Any]
    if pipeline_failed:
        when = {"type": "run_failed", "pipeline": pipeline_failed}
    elif no_success:
        when = {"type": "no_success", "pipeline": no_success, "within": within}
    else:
        when = {"type": "metric", "metric": metric, "above": above, "below": below, "for": hold}
    rule = {
        "name": name,
        "when": when,
        "severity": severity,
        "notify": list(notify),
        "description": description,
    }
    with _rules(rules, edit=True) as opened:
        if isinstance(opened, int):
            return opened
        _, path, loaded, kinds = opened
        if loaded.rule(name) is not None:
            return fail(
                FlextResult.fail(f"a rule named {name!r} exists in {path}", error_code=ALREADY_REGISTERED),
                hint=f"remove it first: flext monitor alerts remove {name}",
            )
        return _save(
            path, loaded, [*(_dump(r) for r in loaded.rules), rule], kinds, f"added rule {name} to {path}"
        )


def remove(name: str, /, *, rules: str | None = None) -> int:
    """Remove a rule (an alert it fired resolves at the next evaluation).

    Args:
        name: The rule's name.
        rules: The rules file.

    """
    with _rules(rules, edit=True) as opened:
        if isinstance(opened, int):
            return opened
        _, path, loaded, kinds = opened
        if loaded.rule(name) is None:
            return fail(FlextResult.fail(f"no rule named {name!r} in {path}", error_code=NOT_FOUND))
        kept = [_dump(rule) for rule in loaded.rules if rule.name != name]
        return _save(path, loaded, kept, kinds, f"removed rule {name} from {path}")


def _dump(rule: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = rule.model_dump(by_alias=True, exclude_none=True)
    dumped["notify"] = list(dumped.get("notify", ()))
    return dumped


def _save(
    path: Path, loaded: RulesFile, rule_list: list[dict[str, Any]], kinds: dict[str, Any], done: str
) -> int:
    """Validate the new content as a whole, then write it; a bad rule writes nothing."""
    from pydantic import ValidationError

    from flext_plugin_monitor.rules import RulesFile, save_rules

    body = {
        "notifiers": {name: config.model_dump() for name, config in loaded.notifiers.items()},
        "rules": rule_list,
    }
    try:
        new = RulesFile.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(
            str(part) for part in first["loc"][2:] if not str(part).startswith(("function-", "tagged-union"))
        )
        return fail(FlextResult.fail(f"{key or 'rule'}: {first['msg']}", error_code=VALIDATION_ERROR))
    save_rules(path, new)
    return emit({"file": str(path), "rules": [rule.name for rule in new.rules]}, human=done)


def try_rule(name: str, /, *, rules: str | None = None, store: str | None = None, send: bool = True) -> int:
    """Check one rule now (nothing recorded) and send a test alert through its notifiers.

    Args:
        name: The rule's name.
        rules: The rules file.
        store: The event store.
        send: Send the test alert (--no-send: only check the condition).

    """
    from flext_plugin_monitor.evaluate import alert_document, check_rule
    from flext_plugin_monitor.notifiers import send as deliver

    with _rules(rules) as opened:
        if isinstance(opened, int):
            return opened
        kernel, path, loaded, kinds = opened
        rule = loaded.rule(name)
        if rule is None:
            return fail(FlextResult.fail(f"no rule named {name!r} in {path}", error_code=NOT_FOUND))
        fold = _fold(kernel, store)
        if isinstance(fold, int):
            return fold
        checked = check_rule(rule, fold, _metrics_reader(kernel), time.time())
        if checked.is_failure:
            return fail(checked)
        document = alert_document("test", rule, checked.value.summary, value=checked.value.value)
        failures = []
        for notifier in rule.notify if send else ():
            settings = loaded.notifiers[notifier].model_dump()
            sent = deliver(kinds[settings["type"]], document, settings)
            if sent.is_failure:
                failures.append(f"{notifier}: {sent.error}")
        would = "would fire" if checked.value.active else "would not fire"
        sent_to = f"; test alert sent to {', '.join(rule.notify)}" if send and rule.notify else ""
        if failures:
            from flext_plugin_monitor.errors import ALERT_NOTIFY_FAILED

            return emit_error(f"test alert not delivered: {'; '.join(failures)}", ALERT_NOTIFY_FAILED)
        return emit(
            {
                "rule": name,
                "active": checked.value.active,
                "summary": checked.value.summary,
                "notified": list(rule.notify) if send else [],
            },
            human=f"{name} {would}: {checked.value.summary}{sent_to}",
        )


def _fold(kernel: FlextKernel, store: str | None) -> Any:
    from flext_eventsourcing import stores_of
    from flext_plugin_monitor.runs import RunFold

    fold = RunFold()
    stores = stores_of(kernel)
    if stores.is_failure:
        return fail(stores)
    opened = stores.value.open_event_store(store, create=False, read_only=True)
    if opened.is_failure:
        return fold if opened.error_code == NOT_FOUND else fail(opened)
    try:
        caught = fold.catch_up(opened.value)
    finally:
        opened.value.close()
    return fold if caught.is_success else fail(caught)


def _metrics_reader(kernel: FlextKernel) -> Any:
    from flext_plugin_monitor.metrics import metrics_text, parse_metrics

    cache: dict[str | None, Any] = {}

    def read(service: str | None) -> Any:
        if service not in cache:
            text = metrics_text(kernel, service)
            cache[service] = parse_metrics(text.value) if text.is_success else text
        return cache[service]

    return read


def evaluate_alerts(*, rules: str | None = None, store: str | None = None) -> int:
    """Evaluate every rule once: record what fired or resolved (events), notify; exit 1 if a notifier failed.

    Args:
        rules: The rules file.
        store: The event store.

    """
    from flext_eventsourcing import stores_of
    from flext_plugin_monitor.evaluate import evaluate

    with _rules(rules) as opened:
        if isinstance(opened, int):
            return opened
        kernel, _, loaded, kinds = opened
        fold = _fold(kernel, store)
        if isinstance(fold, int):
            return fold
        stores = stores_of(kernel)
        if stores.is_failure:
            return fail(stores)
        writable = stores.value.open_event_store(store)
        if writable.is_failure:
            return fail(writable)
        try:
            done = evaluate(loaded, fold, writable.value, metrics_of=_metrics_reader(kernel), notifiers=kinds)
        finally:
            writable.value.close()
    if done.is_failure:
        return fail(done)
    outcome = done.value
    for line in outcome.problems:
        note(f"warning: not evaluated: {line}")
    document = {
        "checked": outcome.checked,
        "fired": outcome.fired,
        "resolved": outcome.resolved,
        "notify_failures": outcome.notify_failures,
        "not_evaluated": outcome.problems,
    }
    fired, resolved = ", ".join(outcome.fired) or "none", ", ".join(outcome.resolved) or "none"
    human = f"{outcome.checked} rule(s) checked; fired: {fired}; resolved: {resolved}"
    if outcome.notify_failures:
        from flext_plugin_monitor.errors import ALERT_NOTIFY_FAILED

        if current().output == "table":
            print(human, flush=True)
        failed = "; ".join(outcome.notify_failures)
        return emit_error(
            f"{len(outcome.notify_failures)} notification(s) failed: {failed}", ALERT_NOTIFY_FAILED
        )
    return emit(document, human=human)
