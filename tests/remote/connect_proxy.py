"""A tiny HTTP CONNECT proxy on 127.0.0.1 for tests: it records each request line and tunnels every CONNECT to
127.0.0.1 on the port asked for (whatever the host name), so that a client's proxy settings can be observed."""

from __future__ import annotations

import selectors
import socket
import socketserver
import threading
from types import TracebackType


class _Tunnel(socketserver.BaseRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        client: socket.socket = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        line, _, _ = head.partition(b"\r\n")
        method, target, _ = line.decode("latin-1").split(" ", 2)
        with self.server.lock:
            self.server.requests.append(f"{method} {target}")
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        port = int(target.rpartition(":")[2])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            rest = head.partition(b"\r\n\r\n")[2]
            if rest:
                upstream.sendall(rest)
            self._relay(client, upstream)

    @staticmethod
    def _relay(client: socket.socket, upstream: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while True:
                for key, _ in selector.select(timeout=30):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)


class ConnectProxy(socketserver.ThreadingTCPServer):
    """Use as a context manager; :attr:`url` is the proxy's URL, :attr:`requests` the request lines seen."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()
        self.server_close()
