"""The HTTP front of `cohortbot serve` (issue 15, item 14): a production server (uvicorn) with a
deep listen backlog, deadlines for slow or silent clients, and 400/413 instead of tracebacks for
malformed or oversized requests. Raw sockets, so every malformed byte reaches the server."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request

import pytest

from adapters import serve
from tests.slack_fake import SlackRig

# Slow: the served HTTP front, raw sockets. One database: what is tested is the HTTP server
# (backlog, deadlines, malformed requests), which reads none.
pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]


def _raw(rig: SlackRig, data: bytes, timeout: float = 5.0) -> bytes:
    """Send `data` on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", rig.runtime.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_listen_backlog_holds_a_burst(rig: SlackRig) -> None:
    # The kernel's view of the listening socket: ss shows the backlog as Send-Q.
    out = subprocess.run(
        ["ss", "-ltnH", f"sport = :{rig.runtime.port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "LISTEN"
    assert int(out[2]) >= 128


@pytest.mark.parametrize("length", [b"abc", b"-5", b"10, 20", b"0x10", b" "])
def test_malformed_content_length_is_a_400(rig: SlackRig, length: bytes) -> None:
    answer = _raw(
        rig,
        b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: " + length + b"\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 400"), answer[:80]
    assert b"Traceback" not in answer


def test_oversized_body_is_refused_before_it_is_read(rig: SlackRig) -> None:
    answer = _raw(
        rig, b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: 5000000\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]


def test_silent_and_slow_clients_are_cut_off(
    rig: SlackRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve, "HEADER_SECONDS", 0.5)
    monkeypatch.setattr(serve, "BODY_SECONDS", 0.5)
    port = rig.runtime.port
    # Many connections that never finish their headers: each is closed, none holds a worker.
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(150)]
    for i, sock in enumerate(idle):
        if i % 2:
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: b")  # a header, half sent
    started = time.monotonic()
    with urllib.request.urlopen(f"{rig.runtime.url}/healthz", timeout=5) as resp:
        assert resp.status == 200
    for sock in idle:
        assert sock.recv(100) == b""  # closed by the server, not by our 5 s timeout
        sock.close()
    assert time.monotonic() - started < 4
    # Headers complete, the body a trickle that stops: 408, and the connection ends.
    answer = _raw(
        rig,
        b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: 100\r\n\r\npayload=",
    )
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]


def test_routes_are_the_same(rig: SlackRig) -> None:
    with urllib.request.urlopen(f"{rig.runtime.url}/healthz", timeout=5) as resp:
        assert json.loads(resp.read())["ok"] is True
    with urllib.request.urlopen(f"{rig.runtime.url}/metrics", timeout=5) as resp:
        assert resp.status == 200
        assert "text/plain" in resp.headers["Content-Type"]
    for method, path in (("GET", "/nope"), ("POST", "/slack/other")):
        req = urllib.request.Request(f"{rig.runtime.url}{path}", method=method, data=None)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 404
    ans = rig.command("/settings show")
    assert ans.status == 200 and ans.body == ""
    rig.fake.wait_messages(1)
