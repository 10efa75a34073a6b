"""Singer SDK's own tap tests (``get_tap_test_class``) against the local LGF API v10.

The SDK builds its test class, and discovers the streams for it, when this
module is imported, so the fake WMS starts here rather than in a fixture:
on a loopback port of its own, stopped when the module's tests are done.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from singer_sdk.testing import get_tap_test_class
from tap_oracle_wms.tap import TapOracleWMS

from .conftest import FakeWms, make_rows

_SERVER = HTTPServer(host="127.0.0.1", port=0)
_SERVER.start()
_WMS = FakeWms(_SERVER)
for _entity, _count in (("item", 23), ("order_hdr", 12), ("inventory", 7)):
    _WMS.add(_entity, make_rows(_count))

# Every Singer SDK tap it builds (here, at import, and in each test) points SIGINT and SIGTERM at its
# own handler: put the session's back, or a later test of the same process finds Ctrl-C redirected.
_HANDLERS = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
_Base = get_tap_test_class(TapOracleWMS, config=_WMS.basic_config(), parse_env_config=False)
for _number, _handler in _HANDLERS.items():
    signal.signal(_number, _handler)


class TestTapOracleWMSBuiltIn(_Base):  # type: ignore[misc, valid-type]  # a class the SDK builds at runtime
    """Every tap, stream and attribute test of Singer SDK 0.54."""


@pytest.fixture(autouse=True)
def _signal_handlers_put_back() -> Iterator[None]:
    yield
    for number, handler in _HANDLERS.items():
        signal.signal(number, handler)


@pytest.fixture(scope="module", autouse=True)
def _stop_server() -> Iterator[None]:
    yield
    _SERVER.clear()
    if _SERVER.is_running():
        _SERVER.stop()


def test_the_suite_ran_against_the_local_server() -> None:
    assert {seen.path for seen in _WMS.seen} >= {
        "/prod/wms/lgfapi/v10/entity/item/describe/",
        "/prod/wms/lgfapi/v10/entity/item/",
    }
