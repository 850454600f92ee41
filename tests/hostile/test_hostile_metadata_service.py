"""Metadata service faults against real HTTP servers on loopback.

Every case ends in success or exit 40 (one line) within the bound the README states:
``n x ATTEMPT_DEADLINE + (n - 1) x BACKOFF_CAP`` for ``-n n`` attempts. In-process cases
shrink the timeouts so the whole file runs in seconds, and assert the elapsed time
against the same formula computed from the shrunk values (with slack for noisy
machines: the point is "bounded", not "fast").
"""
import gzip
import json
import socket
import threading
import time

import pytest

from packetnetworking import metadata as metadata_module, source

from .harness import BASE_METADATA, metadata

GOOD = json.dumps(BASE_METADATA).encode()
# Generous on purpose: without the deadline a stalling server holds each attempt for its
# own 30 s, so any elapsed time under bound + SLACK still proves the bound, and a loaded
# CI machine (this flaked once at 3 s) does not fail the test.
SLACK = 10.0


@pytest.fixture(autouse=True)
def quiet_werkzeug(monkeypatch):
    """pytest-httpserver's request log would land in the captured stderr of in-process runs."""
    import logging
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)


@pytest.fixture
def fast(monkeypatch):
    """Small timeouts; ``fast.sleeps`` records every wait between attempts."""

    class Fast:
        sleeps = []

        @staticmethod
        def bound(attempts):
            return attempts * source.ATTEMPT_DEADLINE + (attempts - 1) * source.BACKOFF_CAP

    monkeypatch.setattr(source, "CONNECT_TIMEOUT", 0.5)
    monkeypatch.setattr(source, "READ_TIMEOUT", 0.4)
    monkeypatch.setattr(source, "ATTEMPT_DEADLINE", 1.0)
    monkeypatch.setattr(source, "BACKOFF_FIRST", 0.02)
    monkeypatch.setattr(source, "BACKOFF_CAP", 0.1)
    real_sleep = source._sleep
    Fast.sleeps = []

    def sleep(seconds):
        Fast.sleeps.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(source, "_sleep", sleep)
    return Fast


def url_args(ws, url, attempts=3, extra=()):
    args = ws.args()
    i = args.index("-M")
    del args[i:i + 2]
    return args + ["--metadata-url", url, "-n", str(attempts), *extra]


# --- a raw socket server for what no well-behaved HTTP server does ----------------------

class RawServer:
    """Accepts connections on 127.0.0.1 and hands each to ``behaviour(conn, stop)``."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.connections = 0
        self.threads = [threading.Thread(target=self._serve, daemon=True)]
        self.threads[0].start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/metadata"

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            t = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _handle(self, conn):
        try:
            conn.settimeout(1.0)
            try:
                conn.recv(65536)  # the request
            except OSError:
                pass
            self.behaviour(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()
        for t in self.threads:
            t.join(timeout=5)


@pytest.fixture
def raw_server():
    servers = []

    def make(behaviour):
        server = RawServer(behaviour)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def never_answer(conn, stop):
    stop.wait(60)


def headers_then_stall(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 5000\r\n\r\n{")
    stop.wait(60)


def stall_mid_headers(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: appli")
    stop.wait(60)


def trickle_body(conn, stop):
    """One byte at a time, each well within the read timeout: only a deadline ends it."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    deadline = time.monotonic() + 30
    while not stop.is_set() and time.monotonic() < deadline:
        conn.sendall(b" ")
        stop.wait(0.05)


def trickle_headers(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    deadline = time.monotonic() + 30
    while not stop.is_set() and time.monotonic() < deadline:
        conn.sendall(b"X-Slow: y\r\n")
        stop.wait(0.05)


def truncated_body(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(GOOD) + GOOD[:40])


def garbage(conn, stop):
    conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")


def reset(conn, stop):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def closed_without_answer(conn, stop):
    pass


def chunked_never_ends(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    deadline = time.monotonic() + 30
    while not stop.is_set() and time.monotonic() < deadline:
        conn.sendall(b"1\r\n \r\n")
        stop.wait(0.05)


FAULTS = [never_answer, headers_then_stall, stall_mid_headers, trickle_body, trickle_headers,
          truncated_body, garbage, reset, closed_without_answer, chunked_never_ends]


@pytest.mark.parametrize("behaviour", FAULTS, ids=[f.__name__ for f in FAULTS])
def test_fault_ends_in_exit_40_within_bound(ws, fast, raw_server, behaviour):
    server = raw_server(behaviour)
    result = ws.run(url_args(ws, server.url, attempts=3))
    ws.assert_failed(result, 40)
    assert "unreachable after 3 attempts" in result.stderr
    assert server.connections == 3
    assert result.elapsed < fast.bound(3) + SLACK, result.elapsed
    assert len(fast.sleeps) == 2 and all(s <= source.BACKOFF_CAP for s in fast.sleeps)


def test_connection_refused(ws, fast):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = ws.run(url_args(ws, f"http://127.0.0.1:{port}/metadata", attempts=4))
    ws.assert_failed(result, 40)
    assert "connection refused" in result.stderr
    assert len(fast.sleeps) == 3
    assert result.elapsed < fast.bound(4) + SLACK


def test_fault_then_success(ws, fast, raw_server):
    """A truncated body, then a whole one: the run succeeds."""
    calls = []

    def flaky(conn, stop):
        calls.append(1)
        if len(calls) == 1:
            truncated_body(conn, stop)
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(GOOD) + GOOD)

    server = raw_server(flaky)
    result = ws.run(url_args(ws, server.url, attempts=3))
    ws.assert_succeeded(result)
    assert len(calls) == 2


def test_server_errors_then_success(ws, fast, httpserver):
    for status in (500, 503, 502):
        httpserver.expect_ordered_request("/metadata").respond_with_data("oops", status=status)
    httpserver.expect_ordered_request("/metadata").respond_with_data(
        GOOD, content_type="application/json")
    result = ws.run(url_args(ws, httpserver.url_for("/metadata"), attempts=5))
    ws.assert_succeeded(result)
    assert len(fast.sleeps) == 3
    assert (ws.root / "etc/hostname").read_text().strip().endswith("web-01.example.net")


def test_server_errors_exhaust_attempts(ws, fast, httpserver):
    httpserver.expect_request("/metadata").respond_with_data("oops", status=500)
    result = ws.run(url_args(ws, httpserver.url_for("/metadata"), attempts=3))
    ws.assert_failed(result, 40)
    assert "HTTP 500" in result.stderr
    assert len(httpserver.log) == 3


@pytest.mark.parametrize("retry_after,expected", [("1", 1.0), ("120", 2.0), ("soon", None),
                                                  ("-5", None), ("9" * 40, 2.0)])
def test_429_honours_retry_after_up_to_the_cap(ws, fast, httpserver, monkeypatch,
                                               retry_after, expected):
    monkeypatch.setattr(source, "BACKOFF_CAP", 2.0)
    waits = []
    monkeypatch.setattr(source, "_sleep", waits.append)  # record only: no real wait
    httpserver.expect_ordered_request("/metadata").respond_with_data(
        "slow down", status=429, headers={"Retry-After": retry_after})
    httpserver.expect_ordered_request("/metadata").respond_with_data(GOOD)
    result = ws.run(url_args(ws, httpserver.url_for("/metadata"), attempts=2))
    ws.assert_succeeded(result)
    assert len(waits) == 1
    if expected is None:  # unparseable: the normal backoff
        assert waits[0] <= source.BACKOFF_FIRST
    else:
        assert waits[0] == pytest.approx(expected)


def test_429_retry_after_http_date(ws, fast, httpserver, monkeypatch):
    import email.utils
    monkeypatch.setattr(source, "BACKOFF_CAP", 5.0)
    waits = []
    monkeypatch.setattr(source, "_sleep", waits.append)
    when = email.utils.formatdate(time.time() + 3, usegmt=True)
    httpserver.expect_ordered_request("/metadata").respond_with_data(
        "", status=429, headers={"Retry-After": when})
    httpserver.expect_ordered_request("/metadata").respond_with_data(GOOD)
    result = ws.run(url_args(ws, httpserver.url_for("/metadata"), attempts=2))
    ws.assert_succeeded(result)
    assert 1.0 < waits[0] <= 5.0


@pytest.mark.parametrize("status", [400, 401, 403, 410])
def test_client_errors_are_not_retried(ws, fast, httpserver, status):
    httpserver.expect_request("/metadata").respond_with_data("no", status=status)
    result = ws.run(url_args(ws, httpserver.url_for("/metadata"), attempts=5))
    ws.assert_failed(result, 40)
    assert f"HTTP {status}" in result.stderr
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("body,content_type", [
    (b"<html><body>Bad gateway</body></html>", "text/html"),
    (GOOD[:100], "application/json"),
    (b"[]", "application/json"),
    (json.dumps(metadata(hostname="bad host")).encode(), "application/json"),
], ids=["html", "truncated-json", "not-an-object", "invalid-field"])
def test_bad_document_is_exit_40_without_retry(ws, fast, httpserver, body, content_type):
    httpserver.expect_request("/metadata").respond_with_data(body, content_type=content_type)
    result = ws.run(url_args(ws, httpserver.url_for("/metadata"), attempts=5))
    ws.assert_failed(result, 40)
    assert len(httpserver.log) == 1


def test_wrong_content_type_with_a_good_document(ws, fast, httpserver):
    httpserver.expect_request("/metadata").respond_with_data(GOOD, content_type="text/html")
    ws.assert_succeeded(ws.run(url_args(ws, httpserver.url_for("/metadata"))))


def test_redirect_loop(ws, fast, httpserver):
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/a"})
    result = ws.run(url_args(ws, httpserver.url_for("/a"), attempts=5))
    ws.assert_failed(result, 40)
    assert "redirect" in result.stderr
    assert len(httpserver.log) <= 7


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://127.0.0.1/x",
                                      "http://[::1", "http://127.0.0.1:99999/"])
def test_redirect_to_somewhere_bad(ws, fast, httpserver, location):
    httpserver.expect_request("/metadata").respond_with_data(
        "", status=302, headers={"Location": location})
    result = ws.run(url_args(ws, httpserver.url_for("/metadata"), attempts=2))
    ws.assert_failed(result, 40)
    assert result.elapsed < fast.bound(2) + SLACK


def test_oversized_body(ws, fast, httpserver):
    padding = b" " * (metadata_module.MAX_DOCUMENT_BYTES + 1 - len(GOOD))
    httpserver.expect_request("/metadata").respond_with_data(padding + GOOD)
    result = ws.run(url_args(ws, httpserver.url_for("/metadata"), attempts=3))
    ws.assert_failed(result, 40)
    assert "bytes" in result.stderr
    assert len(httpserver.log) == 1


def test_oversized_chunked_body(ws, fast, raw_server):
    def endless(conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n" % 65536 + b" " * 65536 + b"\r\n"
        for _ in range(1100):  # 69 MiB, more than accepted, never terminated
            if stop.is_set():
                return
            conn.sendall(chunk)

    server = raw_server(endless)
    result = ws.run(url_args(ws, server.url, attempts=3))
    ws.assert_failed(result, 40)
    assert server.connections == 1


def test_compression_bomb(ws, fast, raw_server):
    bomb = gzip.compress(b" " * (80 << 20))

    def send(conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                     % len(bomb) + bomb)

    server = raw_server(send)
    result = ws.run(url_args(ws, server.url, attempts=2))
    assert result.code in (40,), str(result)
    ws.assert_failed(result, 40)


@pytest.mark.parametrize("url", ["http://", "not a url", "ftp://127.0.0.1/metadata",
                                 "file:///etc/passwd", "http://[::1", "http://127.0.0.1:99999/",
                                 "http://\u2603.example:1/"])
def test_invalid_url_is_exit_40_at_once(ws, fast, url):
    result = ws.run(url_args(ws, url, attempts=5))
    ws.assert_failed(result, 40)
    assert fast.sleeps == []


def test_file_wins_over_url(ws, fast, raw_server):
    server = raw_server(never_answer)
    result = ws.run(ws.args(extra=["--metadata-url", server.url]))
    ws.assert_succeeded(result)
    assert server.connections == 0


# --- the real CLI with its real defaults ------------------------------------------------

def test_cli_connection_refused_subprocess(ws):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = ws.run(url_args(ws, f"http://127.0.0.1:{port}/metadata", attempts=2),
                    subprocess=True)
    ws.assert_failed(result, 40)
    # default backoff after attempt 1 is at most BACKOFF_FIRST (1 s)
    assert result.elapsed < 2 * source.ATTEMPT_DEADLINE + source.BACKOFF_CAP + SLACK


def test_cli_server_error_then_success_subprocess(ws, httpserver):
    httpserver.expect_ordered_request("/metadata").respond_with_data("", status=503)
    httpserver.expect_ordered_request("/metadata").respond_with_data(GOOD)
    result = ws.run(url_args(ws, httpserver.url_for("/metadata"), attempts=2), subprocess=True)
    ws.assert_succeeded(result)


@pytest.mark.slow
def test_cli_never_answering_server_within_documented_bound(ws, raw_server):
    """Real defaults, ``-n 2``: ends within 2 x ATTEMPT_DEADLINE + BACKOFF_CAP = 70 s
    (in practice READ_TIMEOUT + ~1 s + READ_TIMEOUT, about 21 s)."""
    server = raw_server(never_answer)
    result = ws.run(url_args(ws, server.url, attempts=2), subprocess=True, timeout=200)
    ws.assert_failed(result, 40)
    assert result.elapsed < 2 * source.ATTEMPT_DEADLINE + source.BACKOFF_CAP + SLACK


@pytest.mark.slow
def test_cli_trickling_server_cut_by_attempt_deadline(ws, raw_server):
    """Real defaults, ``-n 1``: a body trickling within the read timeout is cut at
    ATTEMPT_DEADLINE (20 s)."""
    def trickle(conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        end = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < end:
            conn.sendall(b" ")
            stop.wait(1)

    server = raw_server(trickle)
    result = ws.run(url_args(ws, server.url, attempts=1), subprocess=True, timeout=200)
    ws.assert_failed(result, 40)
    assert result.elapsed < source.ATTEMPT_DEADLINE + SLACK
