"""Shared test set-up: headless plotting, no leaked figures, hypothesis tolerant of Numba compile time."""
import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# The first call of a Numba kernel compiles it (or loads it from the cache); that one slow example must not
# count as a hypothesis deadline failure.
settings.register_profile("spikingnn", deadline=None, max_examples=60)
# The extra Pythons of .ci/run run every property test with fewer examples (``--hypothesis-profile=quick``).
settings.register_profile("quick", deadline=None, max_examples=15)
settings.load_profile("spikingnn")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def _no_network_beyond_this_machine(monkeypatch):
    """Tests talk to servers they start on 127.0.0.1 only (the download test, dask clusters): any other address is
    refused at once, so a test that would reach the internet fails loudly instead of waiting on it."""
    import ipaddress
    import socket

    connect = socket.socket.connect

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                local = ipaddress.ip_address(host).is_loopback
            except ValueError:                      # a name: only localhost is ours
                local = host == "localhost"
            if not local:
                raise OSError(f"tests must not reach the network beyond this machine (tried {host})")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
