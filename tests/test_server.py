"""The read-only mirror server: serves files, refuses traversal, writes and listings."""

from __future__ import annotations

import http.client

import pytest
import requests

from helpers.server import serve_in_thread


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "mirror"
    (root / "a").mkdir(parents=True)
    (root / "a" / "file.txt").write_text("hello")
    (tmp_path / "secret.txt").write_text("outside")
    (root / "link").symlink_to(tmp_path / "secret.txt")
    server, url = serve_in_thread(root)
    yield url
    server.shutdown()


def raw_get(url: str, path: str) -> int:
    """GET with the path sent exactly as written (no client-side normalisation)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", path)
    status = conn.getresponse().status
    conn.close()
    return status


def test_serves_files(served):
    assert requests.get(f"{served}/a/file.txt", timeout=5).text == "hello"


@pytest.mark.parametrize("path", ["/../secret.txt", "/a/../../secret.txt", "/%2e%2e/secret.txt",
                                  "/a/%2e%2e/%2e%2e/secret.txt", "/link"])
def test_no_path_traversal(served, path):
    assert raw_get(served, path) == 404


def test_no_writes_and_no_listing(served):
    assert requests.put(f"{served}/a/new.txt", data=b"x", timeout=5).status_code == 501
    assert requests.post(f"{served}/a/file.txt", data=b"x", timeout=5).status_code == 501
    assert requests.get(f"{served}/a/", timeout=5).status_code == 404


def test_missing_folder_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="prefetch"):
        serve_in_thread(tmp_path / "nope")
