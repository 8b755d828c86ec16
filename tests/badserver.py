"""A loopback HTTP server that misbehaves on purpose, for the download tests."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class BadServer:
    """Serves ``files`` (path -> bytes). Per path, ``modes`` picks a misbehaviour:

    ``ok``; ``altered`` (one byte flipped); ``truncate`` (announces the full length, sends
    half, closes); ``flaky:N`` (HTTP 503 for the first N requests, then ok); ``slow`` (sends
    in small pieces with pauses, so concurrent clients overlap). Unknown paths get 404.
    ``hits`` counts GET requests per path.
    """

    def __init__(self, files: dict[str, bytes], modes: dict[str, str] | None = None):
        self.files, self.modes, self.hits = files, dict(modes or {}), {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.lstrip("/")
                outer.hits[path] = outer.hits.get(path, 0) + 1
                if path not in outer.files:
                    self.send_error(404)
                    return
                body, mode = outer.files[path], outer.modes.get(path, "ok")
                if mode.startswith("flaky:") and outer.hits[path] <= int(mode.split(":")[1]):
                    self.send_error(503)
                    return
                if mode == "altered":
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "truncate":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if mode == "slow":
                    step = max(1, len(body) // 20)
                    for i in range(0, len(body), step):
                        self.wfile.write(body[i:i + step])
                        self.wfile.flush()
                        time.sleep(0.02)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
