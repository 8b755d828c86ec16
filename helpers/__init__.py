"""Shared code for the wav2vec2 notebooks.

Import what you need: ``from helpers import fetch, load_audio, greedy_decode``. Names are
resolved lazily, so importing the package costs nothing until a function is used.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "assets": ("fetch", "status", "cache_dir", "mirror", "prefetch", "AssetError",
               "SAMPLE_TRANSCRIPT", "REGISTRY"),
    "audio": ("read_audio", "load_audio", "to_model_input", "AudioError", "MODEL_SAMPLE_RATE"),
    "models": ("bundle", "load_torchaudio_model", "load_hf_model", "weights_are_standin",
               "show_standin_banner"),
    "decoding": ("collapse", "greedy_indices", "greedy_decode"),
    "plotting": ("plot_waveform", "plot_spectrogram", "plot_emission", "FRAME_SECONDS"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")


def __dir__():
    return __all__
