"""Serve a mirror folder read-only over HTTP, so one laptop can feed a workshop room."""

from __future__ import annotations

import functools
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class MirrorHandler(SimpleHTTPRequestHandler):
    """GET/HEAD only; any path that resolves outside the mirror folder is refused."""

    quiet = False

    def translate_path(self, path: str) -> str:
        root = Path(self.directory).resolve()
        candidate = Path(super().translate_path(path)).resolve()
        if candidate != root and root not in candidate.parents:
            return str(root / "__outside_the_mirror__")  # never exists: answered with 404
        return str(candidate)

    def list_directory(self, path):
        self.send_error(HTTPStatus.NOT_FOUND, "directory listings are off")
        return None

    def log_message(self, format, *args):  # noqa: A002 (signature from the base class)
        if not self.quiet:
            super().log_message(format, *args)


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 0,
                quiet: bool = False) -> ThreadingHTTPServer:
    """A threaded HTTP server for ``folder`` bound to ``host:port`` (port 0: any free one)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"mirror folder {folder} does not exist; write it with "
                                "'python -m helpers prefetch FOLDER' first")
    handler = functools.partial(type("Handler", (MirrorHandler,), {"quiet": quiet}),
                                directory=str(folder.resolve()))
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_in_thread(folder: Path, host: str = "127.0.0.1", quiet: bool = True):
    """Start a server in a daemon thread; return ``(server, base_url)``. Stop with
    ``server.shutdown()``."""
    server = make_server(folder, host=host, port=0, quiet=quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host_, port = server.server_address[:2]
    return server, f"http://{host_}:{port}"
