"""NotaryServer against a server that misbehaves: a real socket server on 127.0.0.1, driven by the GUN.

Each scenario must end in a retry or a clear typed error, quickly: short timeouts, and pytest-timeout guards
against a hang.
"""

from __future__ import annotations

import functools
import logging
import re
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

import trustkit as tk
from trustkit.remote import NotaryServer, overall_deadline

pytestmark = pytest.mark.timeout(30)

BODY = b'{"signed":{},"signatures":[]}'


def _gzip_stream(chunks: Iterator[bytes]) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join([*(compressor.compress(chunk) for chunk in chunks), compressor.flush()])


BOMB_SIZE = 64 << 20
"""What the double-gzip bomb decodes to (the red team's decoded to 8 GB from 13 kB)."""


@functools.cache
def bomb() -> bytes:
    return _gzip_stream(iter([_gzip_stream(b"\0" * (1 << 20) for _ in range(BOMB_SIZE >> 20))]))


STREAM_SIZE = 24 << 20


class Misbehaving(BaseHTTPRequestHandler):
    """Answers ``/v2/test/<mode>/_trust/tuf/...`` according to ``<mode>``."""

    protocol_version = "HTTP/1.1"
    hits: ClassVar[Counter[str]] = Counter()
    posts: ClassVar[Counter[str]] = Counter()
    sent: ClassVar[Counter[str]] = Counter()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _mode(self) -> str:
        parts = self.path.split("/")
        return parts[3] if len(parts) > 3 else ""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        Misbehaving.posts[self._mode()] += 1
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._serve()

    def _ok(self, body: bytes = BODY) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self) -> None:
        mode = self._mode()
        Misbehaving.hits[mode] += 1
        hit = Misbehaving.hits[mode]
        try:
            if mode == "slow":
                time.sleep(1.5)
                self._ok()
            elif mode == "slow-once":
                if hit == 1:
                    time.sleep(1.5)
                self._ok()
            elif mode == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif mode == "drop-once":
                if hit == 1:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                else:
                    self._ok()
            elif mode in ("flaky", "flaky-post"):
                if hit <= 2:
                    body = b'{"errors":[{"code":"UNKNOWN","message":"unknown error"}]}\n'
                    self.send_response(503)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self._ok(b"")
            elif mode == "always-500":
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif mode == "big-length":
                self.send_response(200)
                self.send_header("Content-Length", str(50 << 20))
                self.end_headers()
                self.wfile.write(b"x" * 1024)
            elif mode == "endless":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"x" * 65536
                for _ in range(10_000):  # 640 MiB unless the client hangs up
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            elif mode == "lying-length":
                self.send_response(200)  # no Content-Length and no chunking: the body runs until close
                self.send_header("Connection", "close")
                self.end_headers()
                for _ in range(10_000):
                    self.wfile.write(b"y" * 65536)
            elif mode == "trickle":
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                for _ in range(1000):
                    self.wfile.write(b"z")
                    self.wfile.flush()
                    time.sleep(0.05)
            elif mode == "gzip-bomb":
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip, gzip")
                self.send_header("Content-Length", str(len(bomb())))
                self.end_headers()
                self.wfile.write(bomb())
            elif mode == "gzip-then-junk":  # one tiny gzip member, then endless bytes after its end
                self.send_response(404)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                member = _gzip_stream(iter([b'{"errors":[]}']))
                self.wfile.write(b"%x\r\n%s\r\n" % (len(member), member))
                chunk = b"j" * 65536
                for _ in range(10_000):  # 640 MiB unless the client hangs up
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    Misbehaving.sent[mode] += len(chunk)
            elif mode == "trickle-headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for _ in range(200):  # 40 s of headers, one byte every 0.2 s
                    self.wfile.write(b"X")
                    self.wfile.flush()
                    time.sleep(0.2)
            elif mode == "endless-headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                line = b"X-Padding: " + b"p" * 1000 + b"\r\n"
                for _ in range(100_000):  # 100 MB of headers unless the client hangs up
                    self.wfile.write(line)
            elif mode == "stream":
                self.send_response(200)
                self.send_header("Content-Length", str(STREAM_SIZE))
                self.end_headers()
                chunk = b"s" * (1 << 20)
                for _ in range(STREAM_SIZE >> 20):
                    self.wfile.write(chunk)
            elif mode == "plain-to-tls":  # what Go's TLS server answers to plain HTTP
                self.wfile.write(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
                self.close_connection = True
            elif mode == "garbage":
                self.wfile.write(b"this is not HTTP\r\n\r\n")
                self.close_connection = True
            else:
                self._ok()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _reset_hits() -> None:
    Misbehaving.hits.clear()
    Misbehaving.posts.clear()
    Misbehaving.sent.clear()


def _remote(url: str, **options: Any) -> NotaryServer:
    defaults: dict[str, Any] = {"timeout": 0.5, "retries": 2, "backoff": 0.01}
    return NotaryServer(url, **{**defaults, **options})


def test_a_slow_server_times_out_after_the_retries(server_url: str) -> None:
    with _remote(server_url) as remote:
        started = time.monotonic()
        with pytest.raises(tk.ServerUnavailableError, match=r"did not answer .* within 0.5 s.*after 3 attempts"):
            remote.get_role("test/slow", "root", max_size=1000)
        assert time.monotonic() - started < 5
    assert Misbehaving.hits["slow"] == 3


def test_a_slow_first_answer_is_retried(server_url: str) -> None:
    with _remote(server_url) as remote:
        assert remote.get_role("test/slow-once", "root", max_size=1000) == BODY
    assert Misbehaving.hits["slow-once"] == 2


def test_a_dropped_connection_is_retried_then_reported(server_url: str) -> None:
    with _remote(server_url) as remote:
        assert remote.get_role("test/drop-once", "root", max_size=1000) == BODY
        assert Misbehaving.hits["drop-once"] == 2
        with pytest.raises(tk.ServerUnavailableError, match="dropped the connection"):
            remote.get_role("test/drop", "root", max_size=1000)
    assert Misbehaving.hits["drop"] == 3


def test_5xx_then_success_is_retried(server_url: str) -> None:
    with _remote(server_url) as remote:
        assert remote.get_role("test/flaky", "root", max_size=1000) == b""
    assert Misbehaving.hits["flaky"] == 3


def test_5xx_that_persists_keeps_status_and_code(server_url: str) -> None:
    with _remote(server_url, retries=1) as remote, pytest.raises(tk.ServerUnavailableError) as caught:
        remote.get_role("test/always-500", "root", max_size=1000)
    assert caught.value.status == 500
    assert "after 2 attempts" in str(caught.value)
    assert Misbehaving.hits["always-500"] == 2


def test_a_publish_is_never_retried(server_url: str) -> None:
    with _remote(server_url) as remote, pytest.raises(tk.ServerUnavailableError) as caught:
        remote.publish("test/flaky-post", {"root": b"{}"})
    assert (caught.value.status, caught.value.code) == (503, "UNKNOWN")
    assert Misbehaving.hits["flaky-post"] == 1
    Misbehaving.hits.clear()
    with _remote(server_url) as remote, pytest.raises(tk.ServerUnavailableError):
        remote.publish("test/drop", {"root": b"{}"})
    assert Misbehaving.posts["drop"] == 1
    assert Misbehaving.hits["drop"] == 1 + 3  # then the server is asked (3 GET attempts) whether it took the update


def test_content_length_over_the_cap_fails_before_reading(server_url: str) -> None:
    with _remote(server_url) as remote, pytest.raises(tk.OversizedResponseError, match="announced 52428800 bytes"):
        remote.get_role("test/big-length", "root", max_size=1 << 20)
    assert Misbehaving.hits["big-length"] == 1  # not retried: the answer is wrong, not the network


@pytest.mark.parametrize("mode", ["endless", "lying-length"])
def test_a_body_past_the_cap_stops_at_the_cap(server_url: str, mode: str) -> None:
    with _remote(server_url) as remote, pytest.raises(tk.OversizedResponseError, match="more than the 100000 bytes"):
        remote.get_role(f"test/{mode}", "root", max_size=100_000)


def test_a_trickling_body_hits_the_total_timeout(server_url: str) -> None:
    with _remote(server_url, total_timeout=0.5, retries=0) as remote:
        started = time.monotonic()
        with pytest.raises(tk.ServerUnavailableError, match=r"took longer than 0\.5 s"):
            remote.get_role("test/trickle", "root", max_size=1 << 20)
        assert time.monotonic() - started < 3


def test_a_server_that_does_not_speak_http(server_url: str) -> None:
    with _remote(server_url, retries=0) as remote, pytest.raises(tk.ServerUnavailableError):
        remote.get_role("test/garbage", "root", max_size=1000)


def test_nothing_listening(server_url: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with _remote(f"http://127.0.0.1:{port}") as remote, pytest.raises(tk.ServerUnavailableError, match="unreachable"):
        remote.get_role("test/none", "root", max_size=1000)


def test_a_gzip_bomb_is_stopped_at_the_cap_as_it_decodes(server_url: str) -> None:
    assert len(bomb()) < 64 << 10  # made before tracing starts
    tracemalloc.start()
    try:
        refused = pytest.raises(tk.OversizedResponseError, match=r"more than the 1048576 bytes .*decoded from gzip")
        with _remote(server_url, retries=0) as remote, refused:
            remote.get_role("test/gzip-bomb", "timestamp", max_size=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{peak} bytes allocated for a 1 MiB cap"


def test_bytes_after_an_encoded_error_body_end_are_not_read_on(server_url: str) -> None:
    """An error body (cut off at its cap, not refused) is still held to the cap on the wire: the junk after a tiny
    gzip member is neither read to the end nor piled up by zlib."""
    tracemalloc.start()
    try:
        started = time.monotonic()
        with _remote(server_url, retries=0, total_timeout=20) as remote, pytest.raises(tk.NotFoundError):
            remote.get_role("test/gzip-then-junk", "timestamp", max_size=1 << 20)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 5, f"{elapsed:.1f} s to read a 64 KiB error body"
    assert Misbehaving.sent["gzip-then-junk"] < 32 << 20, f"{Misbehaving.sent['gzip-then-junk']} bytes read"
    assert peak < 16 << 20, f"{peak} bytes allocated for a 64 KiB error body"


def test_an_encoded_body_within_the_cap_is_decoded(server_url: str) -> None:
    bomb()  # made before the request (the server answers within 0.5 s)
    with _remote(server_url, retries=0) as remote:
        assert len(remote.get_role("test/gzip-bomb", "timestamp", max_size=BOMB_SIZE)) == BOMB_SIZE


def test_a_body_is_kept_once_not_copied(server_url: str) -> None:
    tracemalloc.start()
    try:
        with _remote(server_url, retries=0) as remote:
            assert len(remote.get_role("test/stream", "snapshot", max_size=STREAM_SIZE)) == STREAM_SIZE
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < STREAM_SIZE * 1.5, f"{peak} bytes allocated to read {STREAM_SIZE}"


def test_trickled_headers_end_at_the_total_timeout(server_url: str) -> None:
    with _remote(server_url, timeout=1.0, total_timeout=1.5, retries=0) as remote:
        started = time.monotonic()
        with pytest.raises(tk.ServerUnavailableError, match=r"took longer than 1\.5 s \(total_timeout\)"):
            remote.get_role("test/trickle-headers", "timestamp", max_size=1 << 20)
        assert time.monotonic() - started < 3


def test_retries_and_their_delays_end_at_the_total_timeout(server_url: str) -> None:
    with _remote(server_url, timeout=1.0, total_timeout=1.5, retries=5, backoff=0.2) as remote:
        started = time.monotonic()
        with pytest.raises(tk.ServerUnavailableError, match="total_timeout"):
            remote.get_role("test/slow", "timestamp", max_size=1 << 20)
        assert time.monotonic() - started < 3


def test_plain_http_to_a_tls_port_says_it_speaks_https(server_url: str) -> None:
    with _remote(server_url, retries=0) as remote, pytest.raises(tk.RemoteError, match="speaks HTTPS") as caught:
        remote.get_role("test/plain-to-tls", "timestamp", max_size=1 << 20)
    assert "use https://127.0.0.1:" in str(caught.value)


def test_requests_statuses_and_retries_are_debug_records(server_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="trustkit")
    with _remote(server_url, backoff=0.01) as remote:
        remote.get_role("test/flaky", "root", max_size=1000)
    records = [r for r in caplog.records if r.name == "trustkit.remote._http"]
    messages = [r.getMessage() for r in records]
    assert all(r.levelno == logging.DEBUG for r in records)
    assert (
        sum("GET http://127.0.0.1:" in m and "/test/flaky/_trust/tuf/root.json (root.json)" in m for m in messages) == 3
    )
    assert sum(m.endswith("answered HTTP 503") for m in messages) == 2
    assert any(m.endswith("answered HTTP 200") for m in messages)
    retries = [m for m in messages if m.startswith("retrying GET")]
    assert len(retries) == 2
    assert re.search(r"in \d+\.\d\d s after HTTP 503 \(attempt 2 of 3\)", retries[0])


def test_trustkit_warnings_stay_silent_without_logging_configured() -> None:
    script = (
        "import logging, trustkit\n"
        "logging.getLogger('trustkit.client.reader').warning('not for stderr')\n"
        "logging.getLogger('other').warning('for stderr')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "not for stderr" not in result.stderr
    assert "for stderr" in result.stderr  # logging's last resort still prints what others log
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("trustkit").handlers)


def test_endless_headers_stop_at_httpcores_limit(server_url: str) -> None:
    """Reported as what it is, a response head too large, and not retried (it is no network failure)."""
    tracemalloc.start()
    try:
        with _remote(server_url, retries=2) as remote, pytest.raises(tk.RemoteError, match="response head") as error:
            remote.get_role("test/endless-headers", "timestamp", max_size=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not isinstance(error.value, tk.ServerUnavailableError)
    assert Misbehaving.hits["endless-headers"] == 1
    assert peak < 8 << 20, f"{peak} bytes allocated for endless headers"


def test_an_overall_deadline_spans_several_operations(server_url: str) -> None:
    """Each request alone fits its total_timeout (1.5 s answers, 0.5 s waits... retried); four in a row do not fit
    an overall deadline of 2.5 s: the block ends by then, naming the deadline."""
    with _remote(server_url, timeout=5.0, total_timeout=60.0, retries=0) as remote:
        started = time.monotonic()
        with overall_deadline(2.5), pytest.raises(tk.ServerUnavailableError, match=r"2\.5 s \(overall deadline\)"):
            for _ in range(4):
                remote.get_role("test/slow", "timestamp", max_size=1 << 20)
        assert time.monotonic() - started < 3.5
        assert Misbehaving.hits["slow"] == 2
        assert remote.get_role("test/slow", "timestamp", max_size=1 << 20) == BODY  # outside the block: no limit


@pytest.mark.parametrize(
    ("total_timeout", "overall", "named"),
    [(0.5, 30.0, r"0\.5 s \(total_timeout\)"), (30.0, 0.5, r"0\.5 s \(overall deadline\)")],
)
def test_the_sooner_deadline_holds(server_url: str, total_timeout: float, overall: float, named: str) -> None:
    with pytest.raises(ValueError, match="positive"), overall_deadline(0):
        pass
    with _remote(server_url, timeout=5.0, total_timeout=total_timeout, retries=0) as remote:
        started = time.monotonic()
        with overall_deadline(overall), pytest.raises(tk.ServerUnavailableError, match=named):
            remote.get_role("test/trickle-headers", "timestamp", max_size=1 << 20)
        assert time.monotonic() - started < 1.5
