"""Port blocks for local services sit below the ephemeral range, so no outgoing connection takes them."""

from __future__ import annotations

import socket

from devenv.procs import _ephemeral_range, free_port_block, port_free


def test_block_is_free_and_outside_the_ephemeral_range() -> None:
    low, high = _ephemeral_range()
    for _ in range(20):
        base = free_port_block(span=30)
        assert all(port_free("127.0.0.1", p) for p in range(base, base + 30))
        assert base + 30 <= low or base > high


def test_ephemeral_range_matches_what_the_kernel_hands_out() -> None:
    low, high = _ephemeral_range()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        assert low <= s.getsockname()[1] <= high
