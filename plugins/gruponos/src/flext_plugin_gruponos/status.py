"""``flext gruponos status``: per entity, the last run, its rows, failures, and the lag behind the WMS.

- **Runs** come from ``flext pipeline history`` of the deployment's pipeline
  (run as a child process, like the deploy's commands).
- **Loaded up to** is the entity's bookmark (``mod_ts``) in the latest state a
  target confirmed, asked of the pipeline plugin through its state contract
  (``GetPipelineState`` on the query bus).
- **Newest in the WMS** is asked of the API: one row of the entity ordered by
  ``-mod_ts`` (the LGF API's documented ``ordering`` parameter). **Lag** is the
  difference, zero when everything the WMS has is loaded; unknown when the
  WMS cannot be reached (the error is shown, the rest of the table still is).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from flext_kernel.errors import NOT_FOUND
from flext_plugin_gruponos.config import GrupoNosConfig
from flext_plugin_gruponos.deploy import Flext
from flext_plugin_gruponos.errors import WMS_UNAVAILABLE
from flext_sdk import FlextEventStore, FlextKernel, FlextResult

__all__ = ["COLUMNS", "entity_status", "newest_in_wms"]

COLUMNS: Final = (
    "entity", "last_run", "outcome", "rows", "failures", "loaded_up_to", "newest_in_wms", "lag_seconds",
)  # fmt: skip
"""The columns people see (JSON has these and ``error``)."""
_TIMEOUT: Final = 30.0


@dataclass(frozen=True)
class _Run:
    pipeline: str
    status: str
    started_at: str
    finished_at: str | None
    records: dict[str, int]


def _runs(flext: Flext, names: list[str]) -> FlextResult[list[_Run]]:
    runs: list[_Run] = []
    for name in names:
        history = flext.json("pipeline", "history", name, store=True)
        if history.is_failure:
            if history.error_code == NOT_FOUND:
                continue  # not deployed (yet)
            return FlextResult.fail(history.error or "", history.error_code)
        runs.extend(
            _Run(name, row["status"], row["started_at"], row.get("finished_at"), row.get("records") or {})
            for row in history.value or []
        )
    runs.sort(key=lambda run: run.started_at)
    return FlextResult.ok(runs)


def _bookmarks(kernel: FlextKernel, store: FlextEventStore, names: list[str]) -> dict[str, str]:
    """Per entity, the highest ``mod_ts`` bookmark in the latest confirmed state of the pipelines."""
    from flext_sdk.contracts.pipeline import GetPipelineState

    found: dict[str, str] = {}
    for name in names:
        asked: FlextResult[dict[str, Any] | None] = kernel.query_bus.execute(
            GetPipelineState(pipeline=name, store=store)
        )
        if asked.is_failure or asked.value is None:
            continue  # not deployed yet, or never ran: nothing loaded
        state = asked.value
        for entity, bookmark in (state.get("bookmarks") or {}).items():
            value = bookmark.get("replication_key_value") if isinstance(bookmark, dict) else None
            if isinstance(value, str) and _instant(value) is not None:
                known = found.get(entity)
                if known is None or _instant(value) > _instant(known):  # type: ignore[operator]
                    found[entity] = value
    return found


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _session(config: GrupoNosConfig) -> FlextResult[Any]:
    import requests  # only when the WMS is asked

    wms = config.wms
    session = requests.Session()
    if wms.auth_method == "basic":
        password = os.environ.get((wms.password or "").removeprefix("env:"))
        if password is None:
            return FlextResult.fail(f"{(wms.password or '').removeprefix('env:')} is not set", NOT_FOUND)
        session.auth = (wms.username or "", password)
        return FlextResult.ok(session)
    secret = os.environ.get((wms.client_secret or "").removeprefix("env:"))
    if secret is None:
        return FlextResult.fail(f"{(wms.client_secret or '').removeprefix('env:')} is not set", NOT_FOUND)
    form = {"grant_type": "client_credentials", **({"scope": wms.oauth_scope} if wms.oauth_scope else {})}
    try:
        answer = requests.post(
            wms.oauth_token_url or "", data=form, auth=(wms.client_id or "", secret), timeout=_TIMEOUT
        )
        answer.raise_for_status()
        token = answer.json()["access_token"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        reason = f"no OAuth2 token from {wms.oauth_token_url}: {type(exc).__name__}"
        return FlextResult.fail(reason, WMS_UNAVAILABLE)
    session.headers["Authorization"] = f"Bearer {token}"
    return FlextResult.ok(session)


def newest_in_wms(config: GrupoNosConfig, entity: str, session: Any) -> FlextResult[str | None]:
    """The newest ``mod_ts`` of ``entity`` in the WMS (None: the entity has no rows)."""
    import requests

    url = f"{config.wms.base_url.rstrip('/')}/wms/lgfapi/v10/entity/{entity}/"
    params = {"ordering": "-mod_ts", "page_size": 1, "fields": "mod_ts"}
    try:
        answer = session.get(url, params=params, timeout=_TIMEOUT)
        answer.raise_for_status()
        results = answer.json().get("results") or []
    except (requests.RequestException, ValueError, AttributeError) as exc:
        response = getattr(exc, "response", None)
        reason = f"HTTP {response.status_code}" if response is not None else type(exc).__name__
        return FlextResult.fail(f"WMS {entity}: {reason}", WMS_UNAVAILABLE)
    value = results[0].get("mod_ts") if results and isinstance(results[0], dict) else None
    return FlextResult.ok(value if isinstance(value, str) else None)


def entity_status(
    config: GrupoNosConfig, flext: Flext, kernel: FlextKernel, store: FlextEventStore, *, ask_wms: bool = True
) -> FlextResult[list[dict[str, Any]]]:
    """One row per configured entity (see the module docstring for where each column comes from)."""
    names = [config.pipeline]
    runs = _runs(flext, names)
    if runs.is_failure:
        return FlextResult.fail(runs.error or "", runs.error_code)
    loaded = _bookmarks(kernel, store, names)
    session = _session(config) if ask_wms else None
    rows = []
    for entity in config.wms.entities:
        mine = runs.value  # every run reads every entity; one that found nothing new has no count
        last = mine[-1] if mine else None
        failures = 0
        for run in reversed(mine):
            if run.status == "completed":
                break
            failures += run.status == "failed"
        row: dict[str, Any] = {
            "entity": entity,
            "last_run": last.finished_at or last.started_at if last else None,
            "outcome": last.status if last else "never run",
            "rows": last.records.get(entity, 0) if last else None,
            "failures": failures,
            "loaded_up_to": loaded.get(entity),
            "newest_in_wms": None,
            "lag_seconds": None,
            "error": None,
        }
        if session is not None and session.is_failure:
            row["error"] = session.error
        elif session is not None:
            newest = newest_in_wms(config, entity, session.value)
            if newest.is_failure:
                row["error"] = newest.error
            else:
                row["newest_in_wms"] = newest.value
                row["lag_seconds"] = _lag(loaded.get(entity), newest.value)
        rows.append(row)
    return FlextResult.ok(rows)


def _lag(loaded: str | None, newest: str | None) -> float | None:
    if newest is None:
        return 0.0  # the WMS has no rows of the entity: nothing to be behind on
    source, target = _instant(newest), _instant(loaded)
    if source is None:
        return None
    if target is None:
        return None  # nothing loaded yet: the lag is the whole entity, not a number of seconds
    return max(0.0, (source - target).total_seconds())
