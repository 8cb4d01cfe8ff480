"""An embedded nats-server that cannot start says why, in its own words."""

import socket
from pathlib import Path

import pytest

from ots_runtime.embedded import EmbeddedNats


def test_a_server_whose_port_is_taken_fails_with_its_log_in_the_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:  # bound, not listening: the local end of a connection
        squatter.bind(("127.0.0.1", 0))
        node = EmbeddedNats(tmp_path / "nats", port=squatter.getsockname()[1])
        try:
            with pytest.raises(RuntimeError, match="address already in use"):
                node.start()
        finally:
            node.stop()
    assert not node.running
