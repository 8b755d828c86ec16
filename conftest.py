"""Test session set-up shared by unit tests and nbval notebooks.

For the whole run a stand-in mirror (see helpers/standin.py) is served on 127.0.0.1 at an
ephemeral port and ``WAV2VEC2_MIRROR`` points at it, so every download in every test and
notebook goes through the real HTTP path: requests, progress, hash check, atomic rename.
Caches (ours and torch hub's) live in a fresh temporary folder; notebook kernels inherit
this environment (nbval's --nbval-current-env).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
STANDIN_DIR = ROOT / ".cache" / "standin-mirror"
_STATE: dict = {}
NO_SAMPLE_REASON = ("the VOiCES sample is unavailable: ../shared/assets is absent and the "
                    "internet is unreachable")


def internet_reachable(host: str = "download.pytorch.org") -> bool:
    """True when a TCP connection to ``host`` succeeds within 3 s."""
    try:
        socket.create_connection((host, 443), timeout=3).close()
        return True
    except OSError:
        return False


def pytest_configure(config):
    config.addinivalue_line("markers", "online: needs the real weights (skipped offline)")
    if hasattr(config, "workerinput") or _STATE:
        return
    from helpers import assets
    from helpers.server import serve_in_thread
    from helpers.standin import build_mirror

    build_mirror(STANDIN_DIR)
    server, url = serve_in_thread(STANDIN_DIR)
    tmp = Path(tempfile.mkdtemp(prefix="w2v-test-"))
    _STATE.update(server=server, url=url, tmp=tmp,
                  env={k: os.environ.get(k) for k in (assets.MIRROR_ENV, assets.CACHE_ENV,
                                                      "TORCH_HOME", "HF_HUB_OFFLINE")})
    os.environ[assets.MIRROR_ENV] = url
    os.environ[assets.CACHE_ENV] = str(tmp / "cache")
    os.environ["TORCH_HOME"] = str(tmp / "torch")
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may reach the hub behind our back
    manifest = assets.read_manifest(url, refresh=True)
    _STATE["has_sample"] = assets.REGISTRY["voices_sample"].path in manifest.get("files", {})
    print(f"\nstand-in mirror {STANDIN_DIR} served at {url}; caches in {tmp}")


def pytest_unconfigure(config):
    if "server" in _STATE:
        _STATE["server"].shutdown()
        shutil.rmtree(_STATE["tmp"], ignore_errors=True)
        for key, value in _STATE["env"].items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _STATE.clear()


def pytest_collection_modifyitems(config, items):
    no_sample = pytest.mark.skip(reason=NO_SAMPLE_REASON)
    offline = pytest.mark.skip(
        reason="offline: the real wav2vec2 weights cannot be downloaded here (needs internet "
               "to download.pytorch.org and huggingface.co)")
    online = None
    for item in items:
        is_notebook = item.path.suffix == ".ipynb"
        if not _STATE.get("has_sample", True) and (is_notebook or "needs_sample" in item.keywords):
            item.add_marker(no_sample)
        if "online" in item.keywords:
            online = internet_reachable() if online is None else online
            if not online:
                item.add_marker(offline)


@pytest.fixture(scope="session")
def voices_sample_path():
    """Path of the VOiCES sample fetched through the session's mirror; skips when there is none."""
    if not _STATE.get("has_sample", True):
        pytest.skip(NO_SAMPLE_REASON)
    from helpers import assets

    return assets.fetch("voices_sample", progress=False)


@pytest.fixture(scope="session")
def mirror_url() -> str:
    """URL of the stand-in mirror served for this test session."""
    return _STATE["url"]


@pytest.fixture(scope="session")
def standin_dir() -> Path:
    """The stand-in mirror folder."""
    return STANDIN_DIR


@pytest.fixture
def real_weights_env(monkeypatch) -> Path:
    """Downloads go to the real sources for this test: no mirror, the hub allowed.

    Caches (ours and torch hub's) live in ``<repo>/.cache/online``, kept between runs so the
    real weights are downloaded once; returns that folder. Use with ``@pytest.mark.online``.
    """
    from helpers import assets

    monkeypatch.delenv(assets.MIRROR_ENV)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    root = assets.repo_root() / ".cache" / "online"
    monkeypatch.setenv(assets.CACHE_ENV, str(root / "assets"))
    monkeypatch.setenv("TORCH_HOME", str(root / "torch"))
    return root


@pytest.fixture
def real_sample_emission(real_weights_env):
    """``(waveform, emission)`` of the VOiCES sample through the real torchaudio weights."""
    import torch

    from helpers import assets, audio, models

    model = models.load_torchaudio_model()
    assert not models.weights_are_standin(), "the real weights were expected here"
    waveform, _ = audio.load_audio(assets.fetch("voices_sample"), verbose=False)
    with torch.inference_mode():
        emission, _ = model(waveform)
    return waveform, emission


_NOTEBOOK_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Add up each notebook's time (kernel start, every cell, shutdown)."""
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _NOTEBOOK_SECONDS[path] = _NOTEBOOK_SECONDS.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if _NOTEBOOK_SECONDS:
        terminalreporter.section("nbval time per notebook")
        for path, seconds in sorted(_NOTEBOOK_SECONDS.items()):
            flag = "  (over the 30 s budget)" if seconds > 30 else ""
            terminalreporter.write_line(f"{seconds:6.1f} s  {path}{flag}")
