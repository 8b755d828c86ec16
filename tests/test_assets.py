"""Downloads: verified, atomic, cached, mirrored; every bad input gives a clear error."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from helpers import assets
from tests.badserver import BadServer

PAYLOAD = os.urandom(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def bad():
    server = BadServer({"f.bin": PAYLOAD})
    yield server
    server.close()


def leftovers(folder: Path) -> list[str]:
    """Files in ``folder`` other than lock files: partial downloads would show up here."""
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".lock"))


def test_download_ok_writes_file_and_record(bad, tmp_path):
    dest = assets.download(f"{bad.url}/f.bin", tmp_path / "f.bin", SHA, len(PAYLOAD), progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert assets.read_meta(dest) == {"sha256": SHA, "size": len(PAYLOAD), "standin": False,
                                      "source": f"{bad.url}/f.bin"}
    assert leftovers(tmp_path) == ["f.bin", "f.bin.meta.json"]


def test_second_call_does_not_touch_the_network(bad, tmp_path):
    dest = tmp_path / "f.bin"
    assets.download(f"{bad.url}/f.bin", dest, SHA, len(PAYLOAD), progress=False)
    assets.download(f"{bad.url}/f.bin", dest, SHA, len(PAYLOAD), progress=False)
    assert bad.hits["f.bin"] == 1


def test_altered_bytes_are_rejected_and_nothing_is_kept(bad, tmp_path):
    bad.modes["f.bin"] = "altered"
    with pytest.raises(assets.IntegrityError, match="sha256 mismatch"):
        assets.download(f"{bad.url}/f.bin", tmp_path / "f.bin", SHA, len(PAYLOAD), progress=False,
                        backoff=0)
    assert leftovers(tmp_path) == []
    assert bad.hits["f.bin"] == 1  # a wrong hash is final: no retry


def test_truncated_body_is_retried_then_reported(bad, tmp_path):
    bad.modes["f.bin"] = "truncate"
    with pytest.raises(assets.TruncatedError, match="nothing was kept"):
        assets.download(f"{bad.url}/f.bin", tmp_path / "f.bin", SHA, len(PAYLOAD), progress=False,
                        retries=2, backoff=0)
    assert bad.hits["f.bin"] == 3
    assert leftovers(tmp_path) == []


def test_truncated_without_pinned_size_is_caught_by_content_length(bad, tmp_path):
    bad.modes["f.bin"] = "truncate"
    with pytest.raises(assets.TruncatedError):
        assets.download(f"{bad.url}/f.bin", tmp_path / "f.bin", None, None, progress=False,
                        retries=0)
    assert leftovers(tmp_path) == []


def test_server_errors_are_retried_with_backoff(bad, tmp_path):
    bad.modes["f.bin"] = "flaky:2"
    dest = assets.download(f"{bad.url}/f.bin", tmp_path / "f.bin", SHA, progress=False,
                           retries=3, backoff=0.01)
    assert dest.read_bytes() == PAYLOAD and bad.hits["f.bin"] == 3


def test_404_says_what_to_do(bad, tmp_path, monkeypatch):
    monkeypatch.setenv(assets.MIRROR_ENV, bad.url)
    with pytest.raises(assets.NotFoundError, match="404.*prefetch"):
        assets.download(f"{bad.url}/missing.bin", tmp_path / "m.bin", progress=False, backoff=0)
    assert bad.hits["missing.bin"] == 1
    assert leftovers(tmp_path) == []


def test_refused_connection_explains_mirror_and_prefetch(tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv(assets.MIRROR_ENV, raising=False)
    with pytest.raises(assets.OfflineError) as err:
        assets.download(f"http://127.0.0.1:{port}/f.bin", tmp_path / "f.bin", progress=False,
                        retries=1, backoff=0)
    message = str(err.value)
    assert "WAV2VEC2_MIRROR" in message and "prefetch" in message and "2 attempts" in message
    assert leftovers(tmp_path) == []


def test_unreachable_mirror_server_is_named(monkeypatch):
    monkeypatch.setenv(assets.MIRROR_ENV, "http://127.0.0.1:9")
    with pytest.raises(assets.OfflineError, match="helpers serve"):
        assets.read_manifest("http://127.0.0.1:9", refresh=True)


def _unprivileged(cmd: list[str]) -> list[str]:
    """Run ``cmd`` without the power to ignore file permissions (root has it by default)."""
    if os.geteuid() != 0:
        return cmd
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", *cmd]


def test_read_only_cache_gives_actionable_error(bad, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    code = textwrap.dedent(f"""
        from helpers import assets
        try:
            assets.download({bad.url + '/f.bin'!r}, assets.Path({str(ro / 'sub' / 'f.bin')!r}),
                            progress=False)
        except assets.CacheNotWritableError as exc:
            print("ERR", exc)
    """)
    out = subprocess.run(_unprivileged([sys.executable, "-c", code]), capture_output=True,
                         text=True, cwd=Path(__file__).parent.parent, timeout=60)
    ro.chmod(0o755)
    assert out.stdout.startswith("ERR"), out.stderr
    assert "WAV2VEC2_CACHE" in out.stdout
    assert list(ro.iterdir()) == []
    assert bad.hits.get("f.bin") is None  # refused before any byte was fetched


def test_concurrent_downloads_end_with_one_good_file(tmp_path):
    server = BadServer({"f.bin": PAYLOAD}, {"f.bin": "slow"})
    try:
        code = textwrap.dedent(f"""
            from helpers import assets
            p = assets.download({server.url + '/f.bin'!r}, assets.Path({str(tmp_path / 'f.bin')!r}),
                                {SHA!r}, {len(PAYLOAD)}, progress=False)
            print(p)
        """)
        procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                                  cwd=Path(__file__).parent.parent) for _ in range(3)]
        outs = [p.communicate(timeout=60)[0].strip() for p in procs]
        assert all(p.returncode == 0 for p in procs)
        assert outs == [str(tmp_path / "f.bin")] * 3
        assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
        assert server.hits["f.bin"] == 1  # the others waited for the lock and found it cached
        assert leftovers(tmp_path) == ["f.bin", "f.bin.meta.json"]
    finally:
        server.close()


def test_file_of_unknown_origin_is_kept_aside_not_clobbered(bad, tmp_path):
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"something else")
    assets.download(f"{bad.url}/f.bin", dest, SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert (tmp_path / "f.bin.bak").read_bytes() == b"something else"


def test_existing_file_with_right_hash_is_adopted_without_download(bad, tmp_path):
    dest = tmp_path / "f.bin"
    dest.write_bytes(PAYLOAD)
    assets.download(f"{bad.url}/f.bin", dest, SHA, progress=False)
    assert "f.bin" not in bad.hits and assets.read_meta(dest)["sha256"] == SHA


def test_local_folder_mirror(tmp_path, monkeypatch, standin_dir):
    monkeypatch.setenv(assets.MIRROR_ENV, str(standin_dir))
    monkeypatch.setenv(assets.CACHE_ENV, str(tmp_path))
    path = assets.fetch("hf_wav2vec2_base_960h/vocab.json", progress=False)
    assert json.loads(path.read_text())["<pad>"] == 0
    assert assets.status("hf_wav2vec2_base_960h/vocab.json")["standin"] is True


def test_missing_mirror_folder_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv(assets.MIRROR_ENV, str(tmp_path / "nope"))
    with pytest.raises(assets.NotFoundError, match="prefetch"):
        assets.fetch("voices_sample", progress=False)


@pytest.mark.needs_sample
def test_fetch_through_session_mirror_is_cached(mirror_url, tmp_path, monkeypatch):
    assert os.environ[assets.MIRROR_ENV] == mirror_url
    monkeypatch.setenv(assets.CACHE_ENV, str(tmp_path))
    first = assets.fetch("voices_sample", progress=False)
    assert assets.sha256_of(first) == assets.REGISTRY["voices_sample"].sha256
    monkeypatch.setattr(requests, "get", lambda *a, **k: pytest.fail("network used"))
    start = time.perf_counter()
    assert assets.fetch("voices_sample", progress=False) == first
    assert time.perf_counter() - start < 0.05
    assert assets.status("voices_sample")["standin"] is False


def test_manifest_disagreeing_with_registry_pin_is_refused(tmp_path, monkeypatch):
    sample = assets.REGISTRY["voices_sample"]
    (tmp_path / assets.MANIFEST_NAME).write_text(json.dumps(
        {"files": {sample.path: {"sha256": "0" * 64, "size": 1, "standin": False}}}))
    monkeypatch.setenv(assets.MIRROR_ENV, str(tmp_path))
    with pytest.raises(assets.IntegrityError, match="registry pins"):
        assets.expected("voices_sample")


def test_real_copy_is_kept_when_source_offers_a_standin(bad, tmp_path):
    dest = tmp_path / "f.bin"
    assets.download(f"{bad.url}/f.bin", dest, SHA, progress=False)
    other = hashlib.sha256(b"standin").hexdigest()
    assets.download(f"{bad.url}/f.bin", dest, other, standin=True, progress=False)
    assert bad.hits["f.bin"] == 1 and assets.read_meta(dest)["standin"] is False


def test_standin_copy_is_not_taken_for_the_real_file(bad, tmp_path):
    dest = tmp_path / "f.bin"
    dest.write_bytes(PAYLOAD)
    (tmp_path / "f.bin.meta.json").write_text(json.dumps(
        {"sha256": SHA, "size": len(PAYLOAD), "standin": True}))
    assets.download(f"{bad.url}/f.bin", dest, None, progress=False)  # real, hash not pinned
    assert bad.hits["f.bin"] == 1 and assets.read_meta(dest)["standin"] is False


@pytest.mark.needs_sample
def test_prefetch_writes_a_mirror_that_serves_as_source(tmp_path, monkeypatch, mirror_url):
    rows = assets.prefetch(tmp_path / "mirror", names=("voices_sample",
                                                       "hf_wav2vec2_base_960h/vocab.json"),
                           progress=False)
    assert [r["name"] for r in rows] == ["voices_sample", "hf_wav2vec2_base_960h/vocab.json"]
    manifest = json.loads((tmp_path / "mirror" / assets.MANIFEST_NAME).read_text())
    assert manifest["files"][rows[1]["path"]]["standin"] is True
    monkeypatch.setenv(assets.MIRROR_ENV, str(tmp_path / "mirror"))
    monkeypatch.setenv(assets.CACHE_ENV, str(tmp_path / "cache"))
    assets.read_manifest(str(tmp_path / "mirror"), refresh=True)
    assert assets.fetch("voices_sample", progress=False).stat().st_size == 108_844


def test_unknown_asset_lists_known_ones():
    with pytest.raises(KeyError, match="voices_sample"):
        assets.fetch("nope")
