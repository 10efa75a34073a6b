"""The two notifiers this plugin ships through its own ``flext_alert_notifiers`` hook.

- ``webhook``: POST the alert as JSON to ``url`` (a URL may hold a token:
  it is shown only with its path and query replaced by ``***``);
- ``command``: run ``command`` (an argv list, no shell) with the alert JSON
  on stdin; exit 0 is delivered. It runs in a process group of its own,
  killed whole at its timeout, so its children do not outlive it.

Both fail as ``ALERT_NOTIFY_FAILED`` with one line that holds no secret.
A webhook URL is checked when the rules are read as urllib will send it
(a host, a numeric port, no spaces, control or non-ASCII characters), so a
URL that cannot be sent is a ``VALIDATION_ERROR`` then, not a failure (and
an error message quoting the URL) at the first alert. ``send`` calls any
notifier, this plugin's or another's, and turns an exception it raises into
a failure naming only its type: one broken notifier does not keep a rule's
others from being told.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import urllib.error
import urllib.request
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flext_kernel.errors import VALIDATION_ERROR
from flext_kernel.result import FlextResult
from flext_plugin_monitor.errors import ALERT_NOTIFY_FAILED

__all__ = ["CommandNotifier", "WebhookNotifier", "redacted_url", "send"]

_DEFAULT_TIMEOUT: Final = 10.0
_UNSENDABLE: Final = re.compile(r"[\x00-\x20\x7f]")


def redacted_url(url: str) -> str:
    """``scheme://host[:port]/***``: webhook tokens live in paths, queries and user info."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "***"
    host = parts.hostname or ""
    netloc = f"{host}:{port}" if port else host
    hidden = "/***" if parts.path not in ("", "/") or parts.query or "@" in parts.netloc else parts.path
    return urlunsplit((parts.scheme, netloc, hidden, "", ""))


def send(notifier: Any, alert: dict[str, Any], settings: dict[str, Any]) -> FlextResult[None]:
    """``notifier.notify``; an exception (a bug in it) is ``ALERT_NOTIFY_FAILED`` naming only its type."""
    try:
        sent = notifier.notify(alert, settings)
    except (
        Exception
    ) as exc:  # another plugin's bug must not stop the other notifiers; its text may hold a secret
        return FlextResult.fail(
            f"notifier {settings.get('type')!s} raised {type(exc).__name__}", error_code=ALERT_NOTIFY_FAILED
        )
    if not isinstance(sent, FlextResult):
        return FlextResult.fail(
            f"notifier {settings.get('type')!s} answered no FlextResult", error_code=ALERT_NOTIFY_FAILED
        )
    return sent


def _checked(model: type[BaseModel], settings: dict[str, Any]) -> FlextResult[Any]:
    try:
        return FlextResult.ok(model.model_validate(settings))
    except ValidationError as exc:
        first = exc.errors()[0]
        return FlextResult.fail(
            first["msg"].removeprefix("Value error, "),
            error_code=VALIDATION_ERROR,
            error_data={"loc": list(first["loc"])},
        )


class _Webhook(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    url: str = Field(pattern=r"^https?://")
    timeout: float = Field(default=_DEFAULT_TIMEOUT, gt=0)

    @field_validator("url")
    @classmethod
    def _sendable(cls, url: str) -> str:
        """What urllib refuses only when it sends; the messages never quote the URL (it may hold a token)."""
        if _UNSENDABLE.search(url) or not url.isascii():
            raise ValueError(
                "a URL may not hold spaces, control or non-ASCII characters (percent-encode them)"
            )
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ValueError("not a valid URL: its host or port cannot be read") from None
        if not parts.hostname:
            raise ValueError("the URL names no host")
        if port == 0:
            raise ValueError("the URL's port must be 1-65535")
        return url


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    command: list[str] = Field(min_length=1)
    timeout: float = Field(default=_DEFAULT_TIMEOUT, gt=0)


class WebhookNotifier:
    """POST the alert JSON to a URL; any 2xx answer is delivered."""

    kind = "webhook"

    def validate(self, settings: dict[str, Any]) -> FlextResult[None]:
        """Check ``url`` (http or https) and ``timeout``."""
        return _checked(_Webhook, settings).map(lambda _: None)

    def describe(self, settings: dict[str, Any]) -> str:
        """``webhook https://hooks.example.com/***``."""
        return f"webhook {redacted_url(str(settings.get('url', '')))}"

    def notify(self, alert: dict[str, Any], settings: dict[str, Any]) -> FlextResult[None]:
        """POST ``alert``; a refusal, an error status or no answer is ``ALERT_NOTIFY_FAILED``."""
        shown = redacted_url(str(settings.get("url", "")))
        try:
            config = _Webhook.model_validate(settings)
            request = urllib.request.Request(  # http(s) only: the model's pattern
                config.url,
                data=json.dumps(alert).encode(),
                headers={"Content-Type": "application/json", "User-Agent": "flext-monitor"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=config.timeout) as response:  # as above
                response.read()
        except urllib.error.HTTPError as exc:
            exc.close()
            return FlextResult.fail(f"webhook {shown} answered {exc.code}", error_code=ALERT_NOTIFY_FAILED)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            return FlextResult.fail(
                f"webhook {shown} could not be reached: {reason}", error_code=ALERT_NOTIFY_FAILED
            )
        except (ValueError, http.client.HTTPException) as exc:  # its text may quote the URL: the type only
            return FlextResult.fail(
                f"webhook {shown} failed: {type(exc).__name__}", error_code=ALERT_NOTIFY_FAILED
            )
        return FlextResult.ok(None)


class CommandNotifier:
    """Run a command with the alert JSON on stdin; exit 0 is delivered."""

    kind = "command"

    def validate(self, settings: dict[str, Any]) -> FlextResult[None]:
        """Check ``command`` (a non-empty argv list) and ``timeout``."""
        return _checked(_Command, settings).map(lambda _: None)

    def describe(self, settings: dict[str, Any]) -> str:
        """``command /usr/local/bin/page`` (the program only: arguments may hold tokens)."""
        command = settings.get("command") or ["?"]
        return f"command {command[0]}"

    def notify(self, alert: dict[str, Any], settings: dict[str, Any]) -> FlextResult[None]:
        """Run the command; a non-zero exit, a timeout or a missing program is ``ALERT_NOTIFY_FAILED``."""
        config = _Command.model_validate(settings)
        program = config.command[0]
        try:
            process = subprocess.Popen(  # an argv list from the user's own rules file, no shell
                config.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # a group of its own: a timeout ends its children too
            )
        except FileNotFoundError:
            return FlextResult.fail(f"command {program}: no such program", error_code=ALERT_NOTIFY_FAILED)
        except OSError as exc:
            return FlextResult.fail(f"command {program}: {exc.strerror}", error_code=ALERT_NOTIFY_FAILED)
        try:
            _, stderr = process.communicate(json.dumps(alert).encode(), timeout=config.timeout)
        except subprocess.TimeoutExpired:
            _end_group(process)
            return FlextResult.fail(
                f"command {program} did not end in {config.timeout:g}s", error_code=ALERT_NOTIFY_FAILED
            )
        if process.returncode != 0:
            last = (stderr.decode("utf-8", "replace").strip().splitlines() or [""])[-1]
            return FlextResult.fail(
                f"command {program} exited {process.returncode}" + (f": {last}" if last else ""),
                error_code=ALERT_NOTIFY_FAILED,
            )
        return FlextResult.ok(None)


def _end_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the command's process group, reap it, close its pipes (a child that left may hold them)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
