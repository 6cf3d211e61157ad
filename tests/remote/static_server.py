"""Test-only: a static web server (Python's ``http.server``) that serves a LocalRemote folder at ``/v2/``.

This is the deployment the docs describe: any static server whose ``/v2/`` maps to the folder serves every read
route notary clients use (``<role>.json``, ``<role>.<sha256>.json``, ``<version>.<role>.json``). ``/v2/`` itself
answers 200 (clients ping it) and the private ``.trustkit`` folder is refused, as a real deployment must.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["serve_folder"]


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if self.path in ("/v2", "/v2/"):
            body = b"{}"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if not self.path.startswith("/v2/") or "/." in self.path:
            self.send_error(404)
            return
        self.path = self.path[len("/v2") :]
        super().do_GET()


@contextmanager
def serve_folder(folder: Path, *, certfile: Path | None = None, keyfile: Path | None = None) -> Iterator[str]:
    """Serve ``folder`` at ``http(s)://127.0.0.1:<port>/v2/``; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(folder)))
    server.daemon_threads = True
    scheme = "http"
    if certfile is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(certfile), None if keyfile is None else str(keyfile))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
