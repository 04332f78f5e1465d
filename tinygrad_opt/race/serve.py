"""Serve the race page on 127.0.0.1, adding live races: any start point, any learning rate.

Two routes, standard library only:

* `GET /` the page (`tinygrad_opt.race.page.build_page(server=True)`), built once at start;
* `GET /race?landscape=NAME&x=X&y=Y&lr.SGD=LR&lr.Adam=LR...[&steps=N][&clip=V]` one race of
  the racers named (`lr=LR` alone: every page racer at that rate), computed by
  `tinygrad_opt.race.race`, as JSON in the page's encoding.

Every request gets an answer, as JSON `{"error": ...}` when it is not the page or a race:
400 for a bad parameter (the message names it), 403 for a `Host` header that is not this
server's own address, 404 for another path, 500 (and one line on stderr) if computing the
race fails. Three guards keep the server well behaved:

* only pages served from 127.0.0.1 or localhost can drive it: a request whose `Host` is
  another name is refused, so a web page that rebinds its own domain name to 127.0.0.1
  (DNS rebinding) cannot read races or the page;
* a client that sends nothing for `REQUEST_TIMEOUT` seconds is dropped;
* the listen queue holds `LISTEN_BACKLOG` connections, so a burst of clients waits its turn,
  and a client that leaves before its answer is simply forgotten (no traceback).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tinygrad_opt.race.page import build_page, parse_race_query, race_data

__all__ = ["make_server", "serve", "REQUEST_TIMEOUT", "LISTEN_BACKLOG"]

REQUEST_TIMEOUT = 10.0  # seconds a client may stay silent before it is dropped
LISTEN_BACKLOG = 128  # connections waiting to be accepted (Python's default is 5)


class RaceServer(ThreadingHTTPServer):
    """A threading HTTP server with a long listen queue that reports errors in one line."""

    request_queue_size = LISTEN_BACKLOG  # read by socketserver when it starts listening

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return  # the client left or went silent: nobody is waiting for an answer
        print(f"tinygrad-opt race --serve: {type(error).__name__}: {error}", file=sys.stderr)


class RaceHandler(BaseHTTPRequestHandler):
    """Answers `/` with the page and `/race` with a freshly computed race."""

    page: bytes = b""  # set by make_server
    timeout = REQUEST_TIMEOUT  # read by socketserver: the socket's timeout

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        try:
            status, content_type, body = self._answer()
        except Exception as error:  # a bug, not the client's fault: say so, to both sides
            reason = f"{type(error).__name__}: {error}"
            print(f"tinygrad-opt race --serve: GET {self.path} failed: {reason}", file=sys.stderr)
            status, content_type, body = _json(500, {"error": f"internal error: {reason}"})
        self._send(status, content_type, body)

    def _answer(self) -> tuple[int, str, bytes]:
        """(status, content type, body) for this GET request."""
        host = self.headers.get("Host", "").lower()
        allowed = self._allowed_hosts()
        if host not in allowed:
            return _json(403, {"error": f"refused Host {host!r}: this server answers only to "
                                        f"{' or '.join(allowed)}"})
        url = urlsplit(self.path)
        if url.path in ("/", "/index.html"):
            return 200, "text/html; charset=utf-8", self.page
        if url.path != "/race":
            return _json(404, {"error": f"no such page: {url.path}"})
        try:
            request = parse_race_query(dict(parse_qsl(url.query)))
        except ValueError as error:
            return _json(400, {"error": str(error)})
        return _json(200, race_data(**request))

    def _allowed_hosts(self) -> list[str]:
        """The `Host` values of this server: 127.0.0.1:PORT and localhost:PORT."""
        port = self.server.server_address[1]
        return [f"127.0.0.1:{port}", f"localhost:{port}"] + (["127.0.0.1", "localhost"] if port == 80 else [])

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
        except (ConnectionError, TimeoutError):  # the client left before its answer
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        pass  # quiet: the command line prints the address once


def _json(status: int, body: Any) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body).encode("utf-8")


def make_server(
    port: int = 0, first: str | None = None, landscapes: Sequence[str] | None = None, **page_options: Any
) -> RaceServer:
    """A server on 127.0.0.1:`port` (0 picks a free port: see `server.server_address`), not yet running.

    The page carries every landscape, or those named in `landscapes`; `page_options` are
    `build_page`'s (`steps`, `start`, `clip_value`, `rates`). Call `serve_forever()` on it (in
    a thread for tests) and `shutdown()` + `server_close()` after.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be a whole number from 0 to 65535, got {port!r}")
    options: dict[str, Any] = {"server": True, "first": first, "landscapes": landscapes, **page_options}
    handler = type("PageHandler", (RaceHandler,), {"page": build_page(**options).encode("utf-8")})
    return RaceServer(("127.0.0.1", port), handler)


def serve(port: int = 8000, first: str | None = None, **page_options: Any) -> None:
    """Serve until Ctrl-C; `page_options` as `make_server`'s."""
    server = make_server(port, first=first, **page_options)
    host, bound = server.server_address[:2]
    print(f"The optimizer race: http://{host}:{bound}/  (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
