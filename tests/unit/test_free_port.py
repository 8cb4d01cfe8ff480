"""Ports for embedded servers are chosen where no outgoing connection can take them first."""

import socket
from pathlib import Path

from ots_runtime.embedded import free_port


def kernel_ephemeral_range() -> range:
    low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    return range(low, high + 1)


def test_a_free_port_is_never_one_the_kernel_gives_outgoing_connections() -> None:
    ephemeral = kernel_ephemeral_range()
    assert not [port for port in (free_port() for _ in range(300)) if port in ephemeral]


def test_a_process_is_never_handed_the_same_port_twice() -> None:
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)


def test_a_port_something_listens_on_is_not_handed_out() -> None:
    taken = []
    try:
        for _ in range(50):
            s = socket.socket()
            s.bind(("127.0.0.1", free_port()))
            s.listen()
            taken.append(s)
        listening = {s.getsockname()[1] for s in taken}
        assert not listening & {free_port() for _ in range(300)}
    finally:
        for s in taken:
            s.close()
