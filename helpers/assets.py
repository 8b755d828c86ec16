"""Download once, verify, cache, mirror.

Every file the notebooks need is listed in :data:`REGISTRY` with the URL it comes from and,
where it is pinned, its sha256 and size. :func:`fetch` returns a local path to a verified
copy, downloading it at most once.

Two sources, one code path:

* by default files come from their real hosts (``download.pytorch.org``, ``huggingface.co``);
* with ``WAV2VEC2_MIRROR`` set to an ``http(s)://`` URL or a local folder, they come from a
  mirror that holds the same relative paths (``python -m helpers prefetch`` writes one,
  ``python -m helpers serve`` shares it with a room).

A mirror may carry a ``manifest.json`` (prefetch and the stand-in builder write one) listing
each file's sha256 and size, and whether it is a *stand-in* (random weights for offline
tests). Files are cached under ``WAV2VEC2_CACHE`` (default: the repository's ``assets/``
folder); the torchaudio checkpoint goes to torch hub's ``checkpoints`` folder, where
torchaudio's own loader looks for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

MIRROR_ENV = "WAV2VEC2_MIRROR"
CACHE_ENV = "WAV2VEC2_CACHE"
MANIFEST_NAME = "manifest.json"
META_SUFFIX = ".meta.json"
CHUNK = 1 << 20

HF_REPO = "facebook/wav2vec2-base-960h"
HF_FILES = (
    "config.json",
    "preprocessor_config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "model.safetensors",
)


class AssetError(RuntimeError):
    """A file could not be fetched or verified; the message says what to do."""


class OfflineError(AssetError):
    """The source could not be reached at all."""


class NotFoundError(AssetError):
    """The source answered, but does not have the file (HTTP 404 or missing in a folder)."""


class IntegrityError(AssetError):
    """The bytes arrived but are not the pinned ones (hash or size mismatch)."""


class TruncatedError(AssetError):
    """The transfer ended before all bytes arrived."""


class CacheNotWritableError(AssetError):
    """The cache folder cannot be written to."""


@dataclass(frozen=True)
class Asset:
    """One downloadable file.

    ``path`` is the path on its host; a mirror holds the file at the same relative path.
    ``sha256``/``size`` are ``None`` when they are not pinned (then the mirror's manifest,
    if any, supplies them).
    """

    name: str
    host: str
    path: str
    sha256: str | None = None
    size: int | None = None
    location: str = "cache"  # "cache" or "torch_hub"
    description: str = ""

    @property
    def url(self) -> str:
        return f"{self.host.rstrip('/')}/{self.path}"


SAMPLE_TRANSCRIPT = "I HAD THAT CURIOSITY BESIDE ME AT THIS MOMENT"

REGISTRY: dict[str, Asset] = {}


def _register(asset: Asset) -> None:
    REGISTRY[asset.name] = asset


_register(
    Asset(
        name="voices_sample",
        host="https://download.pytorch.org",
        path="torchaudio/tutorial-assets/Lab41-SRI-VOiCES-src-sp0307-ch127535-sg0042.wav",
        sha256="c65fcd726d6b08c82c1e5dc7558f863cd8d483e3ed2f4a7bcf271dc1865ada14",
        size=108_844,
        description="VOiCES speech sample, 16 kHz mono, 3.4 s (CC BY 4.0)",
    )
)
_register(
    Asset(
        name="torchaudio_wav2vec2_base_960h",
        host="https://download.pytorch.org",
        path="torchaudio/models/wav2vec2_fairseq_base_ls960_asr_ls960.pth",
        location="torch_hub",
        description="torchaudio WAV2VEC2_ASR_BASE_960H checkpoint",
    )
)
for _f in HF_FILES:
    _register(
        Asset(
            name=f"hf_wav2vec2_base_960h/{_f}",
            host="https://huggingface.co",
            path=f"{HF_REPO}/resolve/main/{_f}",
            description=f"Hugging Face {HF_REPO}: {_f}",
        )
    )

HF_MODEL_ASSETS = tuple(f"hf_wav2vec2_base_960h/{f}" for f in HF_FILES)
NOTEBOOK_ASSETS = ("voices_sample", "torchaudio_wav2vec2_base_960h", *HF_MODEL_ASSETS)


# --------------------------------------------------------------------------- locations


def repo_root() -> Path:
    """The folder holding this checkout (the parent of ``helpers/``)."""
    return Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Where downloaded assets are kept: ``$WAV2VEC2_CACHE`` or ``<repo>/assets``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else repo_root() / "assets"


def torch_hub_checkpoints() -> Path:
    """torch hub's checkpoint folder (``$TORCH_HOME/hub/checkpoints``), as torch computes it."""
    import torch.hub  # local import: keeps ``python -m helpers serve`` light

    return Path(torch.hub.get_dir()) / "checkpoints"


def local_path(name: str) -> Path:
    """Where the cached copy of asset ``name`` lives (whether or not it exists yet)."""
    asset = _asset(name)
    if asset.location == "torch_hub":
        return torch_hub_checkpoints() / Path(asset.path).name
    return cache_dir() / asset.path


def mirror() -> str | None:
    """The mirror in use (``$WAV2VEC2_MIRROR``), or ``None`` for the real hosts."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    return value or None


def _is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https")


def _mirror_folder(source: str) -> Path:
    parsed = urlparse(source)
    return Path(parsed.path if parsed.scheme == "file" else source).expanduser()


def source_url(name: str, source: str | None = None) -> str:
    """The URL or local path asset ``name`` is fetched from, given a mirror (or none)."""
    asset = _asset(name)
    source = mirror() if source is None else source
    if not source:
        return asset.url
    if _is_url(source):
        return f"{source.rstrip('/')}/{asset.path}"
    return str(_mirror_folder(source) / asset.path)


def _asset(name: str) -> Asset:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown asset {name!r}; known assets: {known}") from None


# --------------------------------------------------------------------------- manifests

_MANIFESTS: dict[str, dict] = {}


def read_manifest(source: str, refresh: bool = False) -> dict:
    """The ``manifest.json`` of a mirror (``{}`` if it has none). Cached per process."""
    if source in _MANIFESTS and not refresh:
        return _MANIFESTS[source]
    manifest: dict = {}
    if _is_url(source):
        import requests

        try:
            resp = requests.get(f"{source.rstrip('/')}/{MANIFEST_NAME}", timeout=10)
        except requests.RequestException as exc:
            raise OfflineError(
                f"cannot reach the mirror {source} ({type(exc).__name__}). Is the mirror "
                f"server running (python -m helpers serve FOLDER)? Or unset {MIRROR_ENV} to "
                "use the real hosts."
            ) from exc
        if resp.status_code == 200:
            manifest = resp.json()
        elif resp.status_code != 404:
            raise AssetError(f"mirror {source} answered HTTP {resp.status_code} for {MANIFEST_NAME}")
    else:
        folder = _mirror_folder(source)
        if not folder.is_dir():
            raise NotFoundError(
                f"{MIRROR_ENV}={source!r} is not a folder. Point it at a folder written by "
                "'python -m helpers prefetch FOLDER', or at http://HOST:PORT of a mirror server."
            )
        path = folder / MANIFEST_NAME
        if path.exists():
            manifest = json.loads(path.read_text())
    _MANIFESTS[source] = manifest
    return manifest


def expected(name: str, source: str | None = None) -> tuple[str | None, int | None, bool]:
    """``(sha256, size, standin)`` that a copy of ``name`` from ``source`` must have.

    The registry's pin wins for real files; a mirror's manifest supplies hashes the registry
    does not pin, and marks stand-in files (which by design differ from the real ones).
    """
    asset = _asset(name)
    source = mirror() if source is None else source
    entry = read_manifest(source).get("files", {}).get(asset.path) if source else None
    if entry and entry.get("standin"):
        return entry["sha256"], entry["size"], True
    sha, size = asset.sha256, asset.size
    if entry:
        if sha and entry.get("sha256") != sha:
            raise IntegrityError(
                f"the mirror's manifest lists {asset.path} with sha256 {entry.get('sha256')}, "
                f"but the registry pins {sha}. The mirror holds a different file; re-run "
                "'python -m helpers prefetch' into it."
            )
        sha = sha or entry.get("sha256")
        size = size or entry.get("size")
    return sha, size, False


# --------------------------------------------------------------------------- verification


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + META_SUFFIX)


def read_meta(path: Path) -> dict | None:
    """The verification record written next to a cached file, or ``None``."""
    try:
        return json.loads(_meta_path(Path(path)).read_text())
    except (OSError, ValueError):
        return None


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _verified_copy(path: Path, sha: str | None, size: int | None, standin: bool) -> dict | None:
    """The verification record of ``path`` if it is a good copy, else ``None``.

    Reads only the small record when there is one; hashes the file only when it has no
    record but a pinned hash to compare with. A verified real copy is kept even when the
    source offers a stand-in.
    """
    if not path.exists():
        return None
    actual = path.stat().st_size
    meta = read_meta(path)
    if meta and meta.get("size") == actual:
        if not meta.get("standin") and standin:
            return meta
        same_kind = bool(meta.get("standin")) == standin
        if same_kind and (sha is None or meta.get("sha256") == sha) and size in (None, actual):
            return meta
        return None
    if sha is None or size not in (None, actual) or sha256_of(path) != sha:
        return None
    return {"sha256": sha, "size": actual, "standin": standin}


# --------------------------------------------------------------------------- download


def _progress(total: int | None, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
        disable=not enabled, leave=False,
    )


def _copy_stream(chunks, out, total: int | None, desc: str, progress: bool) -> tuple[str, int]:
    digest, written = hashlib.sha256(), 0
    with _progress(total, desc, progress) as bar:
        for block in chunks:
            if not block:
                continue
            out.write(block)
            digest.update(block)
            written += len(block)
            bar.update(len(block))
    return digest.hexdigest(), written


def _transfer(src: str, out, desc: str, progress: bool, timeout: float) -> tuple[str, int]:
    """Copy ``src`` (URL or local path) into the open file ``out``; return (sha256, bytes)."""
    if not _is_url(src):
        path = Path(src)
        if not path.is_file():
            raise NotFoundError(
                f"{path} is missing from the mirror folder. Run 'python -m helpers prefetch "
                f"{path.parents[0]}' on a machine with internet, or fix {MIRROR_ENV}."
            )
        with open(path, "rb") as fh:
            return _copy_stream(iter(lambda: fh.read(CHUNK), b""), out, path.stat().st_size,
                                desc, progress)
    import requests

    try:
        with requests.get(src, stream=True, timeout=timeout) as resp:
            if resp.status_code == 404:
                hint = (f"The mirror {mirror()} lacks this file; re-run 'python -m helpers "
                        "prefetch' into it." if mirror() else "Check the URL in helpers/assets.py.")
                raise NotFoundError(f"HTTP 404 for {src}. {hint}")
            if 400 <= resp.status_code < 500:
                raise AssetError(f"HTTP {resp.status_code} for {src}; the server refused it.")
            resp.raise_for_status()
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            sha, written = _copy_stream(resp.iter_content(CHUNK), out, total, desc, progress)
            if total is not None and written != total:
                raise TruncatedError(f"{src}: got {written} of {total} bytes")
            return sha, written
    except requests.exceptions.ChunkedEncodingError as exc:
        raise TruncatedError(f"{src}: the transfer broke off ({exc})") from exc
    except requests.exceptions.ConnectionError as exc:
        raise OfflineError(str(exc)) from exc
    except requests.exceptions.Timeout as exc:
        raise OfflineError(f"timed out: {exc}") from exc


def download(
    src: str,
    dest: Path,
    sha256: str | None = None,
    size: int | None = None,
    *,
    standin: bool = False,
    progress: bool = True,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 30.0,
) -> Path:
    """Fetch ``src`` (URL or local path) into ``dest``: streamed, verified, atomic.

    The bytes go to a temporary file beside ``dest`` and are renamed into place only after
    the size and sha256 check, so ``dest`` is either absent or complete. A lock file makes
    concurrent callers wait for each other. Connection failures, 5xx answers and broken
    transfers are retried ``retries`` times with exponential backoff; a hash mismatch or a
    404 is final. Writes ``dest.meta.json`` recording what was verified.
    """
    from filelock import FileLock

    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(dest) + ".lock")
        lock.acquire()
    except OSError as exc:
        raise CacheNotWritableError(
            f"cannot write to {dest.parent} ({exc.strerror}). Set {CACHE_ENV} (or TORCH_HOME "
            "for the torchaudio checkpoint) to a writable folder."
        ) from exc
    try:
        hit = _verified_copy(dest, sha256, size, standin)
        if hit is not None:
            if read_meta(dest) is None:  # verified by hash: record it so the next call is free
                _atomic_write_text(_meta_path(dest), json.dumps({**hit, "source": src}))
            return dest
        attempt = 0
        while True:
            attempt += 1
            try:
                return _download_once(src, dest, sha256, size, standin, progress, timeout)
            except (OfflineError, TruncatedError) as exc:
                if attempt > retries:
                    raise _final_error(exc, src, attempt) from exc
                time.sleep(backoff * 2 ** (attempt - 1))
            except AssetError:
                raise
            except Exception as exc:  # requests' HTTPError for 5xx and the like
                if attempt > retries:
                    raise AssetError(f"{src}: {exc} (after {attempt} attempts)") from exc
                time.sleep(backoff * 2 ** (attempt - 1))
    finally:
        lock.release()


def _final_error(exc: AssetError, src: str, attempts: int) -> AssetError:
    if isinstance(exc, OfflineError):
        where = f"the mirror {mirror()}" if mirror() else "the internet"
        return OfflineError(
            f"could not download {src} after {attempts} attempts: {where} is not reachable.\n"
            f"Offline or behind a firewall? Set {MIRROR_ENV} to a mirror folder or URL "
            "(a workshop teacher can share one with 'python -m helpers serve'), or run "
            "'python -m helpers prefetch FOLDER' on a machine with internet first."
        )
    return type(exc)(f"{exc} (after {attempts} attempts; nothing was kept in the cache)")


def _download_once(src, dest, sha256, size, standin, progress, timeout) -> Path:
    try:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as exc:
        raise CacheNotWritableError(
            f"cannot write to {dest.parent} ({exc.strerror}). Set {CACHE_ENV} to a writable folder."
        ) from exc
    tmp_path = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as out:
            got_sha, got_size = _transfer(src, out, dest.name, progress, timeout)
        if size is not None and got_size != size:
            if got_size < size:
                raise TruncatedError(f"{src}: got {got_size} of {size} bytes")
            raise IntegrityError(f"{src}: expected {size} bytes, got {got_size}")
        if sha256 is not None and got_sha != sha256:
            raise IntegrityError(
                f"{src}: sha256 mismatch (expected {sha256}, got {got_sha}). The file on the "
                "server is not the pinned one; the download was discarded."
            )
        if dest.exists() and read_meta(dest) is None:
            # A file of unknown origin (e.g. left by another tool): keep it, do not clobber.
            shutil.move(str(dest), str(dest) + ".bak")
        os.replace(tmp_path, dest)
        _atomic_write_text(_meta_path(dest), json.dumps(
            {"sha256": got_sha, "size": got_size, "standin": standin, "source": src}))
        return dest
    finally:
        tmp_path.unlink(missing_ok=True)


def fetch(name: str, *, progress: bool = True, quiet: bool = True, **kwargs) -> Path:
    """Return the local path of asset ``name``, downloading and verifying it if needed.

    A second call with the file cached only reads a small record next to it.
    """
    asset = _asset(name)
    dest = local_path(name)
    sha, size, standin = expected(name)
    path = download(source_url(name), dest, sha, size, standin=standin, progress=progress,
                    **kwargs)
    if not quiet:
        print(f"{asset.name}: {path} ({path.stat().st_size:,} bytes)")
    return path


def status(name: str) -> dict:
    """What the cache holds for ``name``: path, present, size, standin (no network)."""
    path = local_path(name)
    meta = read_meta(path) if path.exists() else None
    return {
        "name": name,
        "path": path,
        "present": path.exists(),
        "verified": meta is not None,
        "size": path.stat().st_size if path.exists() else None,
        "standin": bool(meta and meta.get("standin")),
    }


# --------------------------------------------------------------------------- prefetch


def prefetch(folder: Path, names=NOTEBOOK_ASSETS, *, progress: bool = True) -> list[dict]:
    """Download every asset into ``folder`` laid out as a mirror, and write its manifest.

    The source is the current mirror (``$WAV2VEC2_MIRROR``) or the real hosts.
    Returns one row per file: name, path, size, sha256, standin.
    """
    folder = Path(folder)
    rows = []
    for name in names:
        asset = _asset(name)
        sha, size, standin = expected(name)
        dest = folder / asset.path
        download(source_url(name), dest, sha, size, standin=standin, progress=progress)
        meta = read_meta(dest)
        rows.append({"name": name, "path": asset.path, "size": meta["size"],
                     "sha256": meta["sha256"], "standin": standin})
    manifest = {"files": {r["path"]: {"sha256": r["sha256"], "size": r["size"],
                                      "standin": r["standin"]} for r in rows}}
    _atomic_write_text(folder / MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=True))
    return rows
