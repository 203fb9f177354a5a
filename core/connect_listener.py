"""The loopback redirect listener of ``syncledger connect``: an HTTP server on 127.0.0.1
that waits for the one request the authorization server's redirect sends the browser to
(RFC 8252 §7.3, loopback interface redirection) and hands its full URL over. It answers
the browser with a short page; nothing it receives is logged."""

from __future__ import annotations

import contextlib
import queue
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from syncledger.core.errors import ConfigurationError

_DONE = b"<html><body><p>syncledger: connected. You can close this window.</p></body></html>"


class RedirectListener:
    """``with RedirectListener(host, port, path) as listener:`` ``listener.redirect_uri``
    is the address to register / send; ``listener.wait(timeout)`` the URL that came."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, path: str = "/callback") -> None:
        self._host, self._port, self._path = host, port, path
        self._received: queue.Queue[str] = queue.Queue(maxsize=1)
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose for port 0)."""
        return int(self._server.server_port) if self._server else self._port

    @property
    def redirect_uri(self) -> str:
        return f"http://{self._host}:{self.port}{self._path}"

    def __enter__(self) -> RedirectListener:
        try:
            self._server = HTTPServer(("127.0.0.1", self._port), self._handler())
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on 127.0.0.1:{self._port} for the redirect "
                f"({exc.strerror or type(exc).__name__}): free the port or choose another "
                "with --redirect-uri"
            ) from exc
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wait(self, timeout: float) -> str:
        """The redirect's full URL; a ``ConfigurationError`` when none came in time."""
        try:
            return self._received.get(timeout=timeout)
        except queue.Empty:
            raise ConfigurationError(
                f"no redirect came back within {timeout:g} s: run `syncledger connect` "
                "again (or with --no-browser and paste the address)"
            ) from None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if urlsplit(self.path).path != listener._path:
                    self.send_error(404)
                    return
                url = f"http://{listener._host}:{listener.port}{self.path}"
                with contextlib.suppress(queue.Full):  # a second request: the first counts
                    listener._received.put_nowait(url)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(_DONE)

            def log_message(self, format: str, *args: Any) -> None:
                return  # the query holds the authorization code: never logged

        return Handler
