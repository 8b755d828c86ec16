"""The environment doctor behind ``00_setup_check``: versions, cache, assets, stand-ins."""

from __future__ import annotations

import importlib
import platform

from . import assets

PACKAGES = ("torch", "torchaudio", "transformers", "soundfile", "matplotlib", "requests",
            "tqdm", "ipywidgets", "flashlight-text", "jiwer")


def versions() -> dict[str, str]:
    """Python and each package's version (``"missing"`` when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def device() -> str:
    """``cuda`` when a GPU is usable, else ``cpu`` (with the thread count)."""
    torch = importlib.import_module("torch")
    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def asset_rows() -> list[dict]:
    """One row per asset the notebooks need: present/missing, size, stand-in or real."""
    return [assets.status(name) for name in assets.NOTEBOOK_ASSETS]


def report() -> str:
    """A plain-text report of everything above, with what to do about missing assets."""
    lines = ["Versions:"]
    lines += [f"  {k:<16}{v}" for k, v in versions().items()]
    lines += ["", f"Device:       {device()}",
              f"Cache folder: {assets.cache_dir()}  (set {assets.CACHE_ENV} to move it)",
              f"torch hub:    {assets.torch_hub_checkpoints()}",
              f"Mirror:       {assets.mirror() or 'none (real hosts)'}  ({assets.MIRROR_ENV})",
              "", "Assets:"]
    rows = asset_rows()
    for r in rows:
        state = "present" if r["present"] else "MISSING"
        size = f"{r['size'] / 1e6:8.2f} MB" if r["size"] is not None else " " * 11
        kind = " (stand-in)" if r["standin"] else ""
        lines.append(f"  {state:<8}{size}  {r['name']}{kind}")
    if any(not r["present"] for r in rows):
        lines += ["", "Missing assets download on first use. To fetch everything now (e.g. "
                  "before a workshop): python -m helpers prefetch FOLDER, then set "
                  f"{assets.MIRROR_ENV}=FOLDER."]
    if any(r["standin"] for r in rows):
        lines += ["", "Stand-in weights are in use: transcripts will be meaningless."]
    return "\n".join(lines)
