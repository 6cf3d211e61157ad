"""A fault-injecting HTTPS proxy in front of the real notary-server, for transport and publish tests.

It terminates TLS with the test CA's server certificate, forwards each request to the real server, and applies
the first matching fault rule: a delay, a connection reset, a truncated body, a 5xx answer, or a response whose
Content-Length promises more bytes than it sends. Rules fire a given number of times, so "fails twice, then
works" is one rule. Only loopback addresses are used; the proxy stops itself when the test ends.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import httpx

from tests.interop.harness import LOOPBACK, NotaryServer

__all__ = ["Fault", "FaultProxy"]

FaultKind = Literal["delay", "reset", "truncate", "status", "short"]


@dataclass
class Fault:
    """One fault: applied to requests whose method and path match, ``times`` times (then the rule is spent)."""

    kind: FaultKind
    path_contains: str = ""
    method: str | None = None
    times: int = 1
    seconds: float = 0.0
    status: int = 503
    fired: int = field(default=0, init=False)

    def matches(self, method: str, path: str) -> bool:
        return self.fired < self.times and (self.method is None or self.method == method) and self.path_contains in path


class FaultProxy:
    """An HTTPS proxy on 127.0.0.1 forwarding to ``server``, injecting :class:`Fault` rules."""

    def __init__(self, server: NotaryServer) -> None:
        self.server = server
        self.faults: list[Fault] = []
        self.injected: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(
            base_url=server.url, verify=ssl.create_default_context(cafile=str(server.ca_path)), timeout=30.0
        )
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._take(self.command, self.path)
                if fault is not None and fault.kind == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault is not None and fault.kind == "delay":
                    time.sleep(fault.seconds)
                if fault is not None and fault.kind == "status":
                    payload = b'{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}\n'
                    self._send(fault.status, payload, {"Content-Type": "application/json"})
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                try:
                    answer = proxy._client.request(self.command, self.path, content=body, headers=headers)
                except (httpx.HTTPError, RuntimeError):  # the server went away, or the proxy is closing
                    self.close_connection = True
                    return
                data = answer.content
                keep = {
                    k: v
                    for k, v in answer.headers.items()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")
                }
                if fault is not None and fault.kind == "truncate":
                    self._send(answer.status_code, data[: len(data) // 2], keep, length=len(data), close=True)
                    return
                if fault is not None and fault.kind == "short":
                    self._send(answer.status_code, data, keep, length=len(data) + 100, close=True)
                    return
                self._send(answer.status_code, data, keep)

            def _send(
                self,
                status: int,
                data: bytes,
                headers: dict[str, str],
                *,
                length: int | None = None,
                close: bool = False,
            ) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data) if length is None else length))
                if close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

            do_GET = do_POST = do_DELETE = do_HEAD = _handle  # noqa: N815 - the stdlib's names

        self._httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(server.tls.server_cert), str(server.tls.server_key))
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.url = f"https://{LOOPBACK}:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.fired += 1
                    self.injected.append((fault.kind, method, path))
                    return fault
        return None

    def add(self, *faults: Fault) -> None:
        """Add fault rules (checked in order)."""
        with self._lock:
            self.faults.extend(faults)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self.faults.clear()

    def close(self) -> None:
        """Stop the proxy."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._client.close()
