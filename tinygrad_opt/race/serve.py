"""Serve the race page on 127.0.0.1, adding live races: any start point, any learning rate.

Two routes, standard library only:

* `GET /` the page (`tinygrad_opt.race.page.build_page(server=True)`), built once at start;
* `GET /race?landscape=NAME&lr=LR&x=X&y=Y[&steps=N]` one race of the four racers,
  computed by `tinygrad_opt.race.race`, as JSON in the page's encoding. A bad
  parameter is a 400 answer whose JSON `error` names it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tinygrad_opt.race.page import build_page, parse_race_query, race_data

__all__ = ["make_server", "serve"]


class RaceHandler(BaseHTTPRequestHandler):
    """Answers `/` with the page and `/race` with a freshly computed race."""

    page: bytes = b""  # set by make_server

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        url = urlsplit(self.path)
        if url.path in ("/", "/index.html"):
            self._send(200, "text/html; charset=utf-8", self.page)
        elif url.path == "/race":
            try:
                request = parse_race_query(dict(parse_qsl(url.query)))
            except ValueError as error:
                self._send_json(400, {"error": str(error)})
                return
            self._send_json(200, race_data(**request))
        else:
            self._send_json(404, {"error": f"no such page: {url.path}"})

    def _send_json(self, status: int, body: Any) -> None:
        self._send(status, "application/json", json.dumps(body).encode("utf-8"))

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        pass  # quiet: the command line prints the address once


def make_server(
    port: int = 0, first: str | None = None, landscapes: Sequence[str] | None = None
) -> ThreadingHTTPServer:
    """A server on 127.0.0.1:`port` (0 picks a free port: see `server.server_address`), not yet running.

    The page carries every landscape, or those named in `landscapes`. Call
    `serve_forever()` on it (in a thread for tests) and `shutdown()` + `server_close()` after.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be a whole number from 0 to 65535, got {port!r}")
    options: dict[str, Any] = {"server": True, "first": first, "landscapes": landscapes}
    handler = type("PageHandler", (RaceHandler,), {"page": build_page(**options).encode("utf-8")})
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


def serve(port: int = 8000, first: str | None = None) -> None:
    """Serve until Ctrl-C."""
    server = make_server(port, first=first)
    host, bound = server.server_address[:2]
    print(f"The optimizer race: http://{host}:{bound}/  (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
