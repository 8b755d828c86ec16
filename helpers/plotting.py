"""Figures with real units: seconds on time axes, Hz on frequency axes, label names."""

from __future__ import annotations

import numpy as np

from .audio import FRAME_SECONDS  # wav2vec2's hop: one emission frame every 20 ms


def _np(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _axes(ax, figsize=(10, 3)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_waveform(waveform, sample_rate: int, ax=None, title: str = "Waveform"):
    """Amplitude against time in seconds (first channel of ``(channels, samples)``)."""
    ax = _axes(ax)
    w = _np(waveform)
    w = w[0] if w.ndim == 2 else w
    t = np.arange(len(w)) / sample_rate
    ax.plot(t, w, linewidth=0.6)
    ax.set(xlabel="time (s)", ylabel="amplitude", title=title, xlim=(0, len(w) / sample_rate))
    return ax


def plot_spectrogram(waveform, sample_rate: int, ax=None, title: str = "Spectrogram",
                     n_fft: int = 400, hop: int = 160):
    """Power spectrogram in dB, time in seconds × frequency in Hz, with a colour bar."""
    import torch

    ax = _axes(ax)
    w = torch.as_tensor(_np(waveform), dtype=torch.float32)
    w = w[0] if w.ndim == 2 else w
    spec = torch.stft(w, n_fft=n_fft, hop_length=hop, window=torch.hann_window(n_fft),
                      return_complex=True).abs().pow(2)
    db = 10 * torch.log10(spec.clamp_min(1e-10))
    extent = (0, w.numel() / sample_rate, 0, sample_rate / 2)
    im = ax.imshow(db.numpy(), origin="lower", aspect="auto", extent=extent, cmap="magma",
                   vmin=float(db.max()) - 80)
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)", title=title)
    ax.figure.colorbar(im, ax=ax, label="power (dB)")
    return ax


def plot_emission(emission, labels, ax=None, title: str = "Emission (logits)",
                  frame_seconds: float = FRAME_SECONDS, colorbar_label: str = "logit"):
    """An emission ``(frames, labels)`` as an image: time in seconds × label names."""
    ax = _axes(ax, figsize=(10, 4))
    e = _np(emission)
    e = e[0] if e.ndim == 3 else e
    extent = (0, e.shape[0] * frame_seconds, -0.5, e.shape[1] - 0.5)
    im = ax.imshow(e.T, origin="lower", aspect="auto", extent=extent, interpolation="nearest")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set(xlabel="time (s)", ylabel="label", title=title)
    ax.figure.colorbar(im, ax=ax, label=colorbar_label)
    return ax
