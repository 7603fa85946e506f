"""Comparing two replies to one greedy request that may have run as n > 1 choices. The choices run
side by side, and which forward steps they share depends on timing: a logprob computed in a batch of
two can differ from the same one computed alone in the last float bits (~1e-5 here), whichever front
door or link asked. One choice runs alone: its numbers are exact. Used by the gRPC suite (gRPC vs
HTTP on one server) and the gateway suite (a gRPC link vs an HTTP link)."""

BATCH_NOISE = 1e-3


def assert_same(a, b, n, where="reply"):
    """a == b; with n > 1, numbers may differ by BATCH_NOISE (texts, tokens and counts may not)."""
    if n > 1 and isinstance(a, float) and isinstance(b, (int, float)):
        assert abs(a - b) <= BATCH_NOISE, f"{where}: {a} != {b}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert sorted(a) == sorted(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            assert_same(a[key], b[key], n, f"{where}.{key}")
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        assert len(a) == len(b), f"{where}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, n, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
