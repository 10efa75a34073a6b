"""FlextResult against a plain function call and the `returns` and `result` libraries.

Targets (issue 2): ``ok`` at most 5x and ``map`` at most 6x a plain
one-argument function call, and both faster than both peers.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from _timing import Row, ns_per_op
from result import Ok
from returns.result import Success as ReturnsSuccess

from flext_kernel import FlextResult


def _identity(value: object) -> object:
    return value


def _inc(value: int) -> int:
    return value + 1


def run() -> list[Row]:
    """Measure construction and ``map`` of each result type."""
    plain = ns_per_op(lambda: _identity(1))
    flext_ok = FlextResult.ok(1)
    peer_ok = Ok(1)
    returns_ok = ReturnsSuccess(1)
    ok_peers = {
        "result.Ok": ns_per_op(lambda: Ok(1)),
        "returns.Success": ns_per_op(lambda: ReturnsSuccess(1)),
    }
    map_peers = {
        "result.Ok.map": ns_per_op(lambda: peer_ok.map(_inc)),
        "returns.Success.map": ns_per_op(lambda: returns_ok.map(_inc)),
    }
    rows = [
        Row("result", "FlextResult.ok", ns_per_op(lambda: FlextResult.ok(1)), "plain call", plain, 5.0),
        Row("result", "FlextResult.map", ns_per_op(lambda: flext_ok.map(_inc)), "plain call", plain, 6.0),
        Row(
            "result",
            "FlextResult.fail",
            ns_per_op(lambda: FlextResult.fail("bad", error_code="X")),
            "plain call",
            plain,
        ),
    ]
    rows += [Row("result", name, ns, "plain call", plain) for name, ns in ok_peers.items()]
    rows += [Row("result", name, ns, "plain call", plain) for name, ns in map_peers.items()]
    rows[0].notes.append(f"faster than peers: {rows[0].ns < min(ok_peers.values())}")
    rows[1].notes.append(f"faster than peers: {rows[1].ns < min(map_peers.values())}")
    return rows


if __name__ == "__main__":
    print(json.dumps([asdict(row) | {"ratio": row.ratio, "met": row.met} for row in run()], indent=2))
