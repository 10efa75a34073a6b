"""``flext_sdk.redaction``: a registered secret never survives, whatever surrounds or escapes it."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import quote, quote_plus

from hypothesis import example, given, settings
from hypothesis import strategies as st

from flext_sdk.redaction import MASK, Redactor, forms_of, secret_key

secrets = st.text(min_size=3, max_size=40).filter(lambda value: value != MASK)
surroundings = st.text(max_size=60)


def _escaped(value: str) -> list[str]:
    return [
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value, safe=""),
        quote_plus(value),
        quote(value),
    ]


@settings(max_examples=400, deadline=None)
@given(secret=secrets, before=surroundings, after=surroundings, others=st.lists(secrets, max_size=3))
@example(secret="a***", before="a", after="", others=[])
@example(secret="**x", before="*", after="*", others=["x**"])
@example(secret='p"w\\d/é', before='{"password": "', after='"}', others=[])
def test_a_registered_secret_never_survives(secret: str, before: str, after: str, others: list[str]) -> None:
    redactor = Redactor([*others, secret])
    for form in _escaped(secret):
        text = redactor.redact(before + form + after)
        for shown in forms_of(secret):
            assert shown not in text, (form, text)


@settings(max_examples=200, deadline=None)
@given(secret=secrets, before=surroundings, after=surroundings)
def test_in_json_documents_and_fields(secret: str, before: str, after: str) -> None:
    redactor = Redactor([secret])
    document = json.dumps({"message": before + secret + after, "nested": [secret]})
    assert secret not in redactor.redact(document)
    assert json.dumps(secret)[1:-1] not in redactor.redact(document)
    fields = redactor.redact_fields({"note": before + secret + after, "list": [secret], secret: 1})
    strings = [*fields, fields["note"], *fields["list"]]
    assert not [text for text in strings if secret in text]


def test_shapes_of_secrets_nobody_registered() -> None:
    redactor = Redactor()
    cases = {
        "host=db password=hunter22 user=x": "host=db password=*** user=x",
        "PGPASSWORD=s3cret-value ./run": "PGPASSWORD=*** ./run",
        '{"api_key": "abc123xyz"}': '{"api_key": "***"}',
        "token: tok-1234": "token: ***",
        "postgresql://loader:pa55@127.0.0.1/db": "postgresql://loader:***@127.0.0.1/db",
        "Authorization: Bearer eyJhbGciOi.x.y": "Authorization: Bearer ***",
        "nothing secret here: port=5432": "nothing secret here: port=5432",
    }
    for text, expected in cases.items():
        assert redactor.redact(text) == expected


def test_fields_under_secret_keys_of_any_type() -> None:
    redactor = Redactor()
    assert redactor.redact_fields({"pin_password": 987654, "db": {"secret": ["a", "b"]}, "on": True}) == {
        "pin_password": MASK,
        "db": {"secret": [MASK, MASK]},
        "on": True,
    }
    assert secret_key("FLEXT_API_TOKEN")
    assert not secret_key("hostname")


def test_short_values_are_not_registered() -> None:
    redactor = Redactor()
    assert not redactor.register("ab")
    assert not redactor.register(MASK)
    assert redactor.register("abc")
    assert redactor.redact("xabcx ab") == "x***x ab"


def test_a_long_line_is_redacted_in_linear_time() -> None:
    # The key and URL patterns once scanned a long run of word characters from every position: a
    # 100,000-character line took about 30 s, and the log store and audit redact every line. 300,000
    # characters of each shape must finish well inside the bound (a hang guard, not a timing).
    code = (
        "from flext_sdk.redaction import redact\n"
        "n = 300_000\n"
        "for text in ('a' * n + '=x:y', 'x://' + 'a' * n, 'password=' + 'a' * n, 'a:' * n, 'a.' * n + '@'):\n"
        "    redact(text)\n"
        "print(redact('password=hunter2 postgresql://u:pw123@h/db'))\n"
    )
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "password=*** postgresql://u:***@h/db"
