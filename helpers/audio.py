"""Read audio with soundfile and bring it to what wav2vec2 expects: 16 kHz, mono, float32.

``torchaudio.load`` needs TorchCodec and a system FFmpeg since torchaudio 2.9, so the
notebooks read files with soundfile (libsndfile ships inside its wheel).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MODEL_SAMPLE_RATE = 16_000
FRAME_SAMPLES = 320  # the feature encoder's total stride: one frame every 20 ms
FIELD_SAMPLES = 400  # its receptive field: each frame sees 25 ms of audio
FRAME_SECONDS = FRAME_SAMPLES / MODEL_SAMPLE_RATE
MIN_SAMPLES = FIELD_SAMPLES  # shorter input gives no frame at all


class AudioError(ValueError):
    """Audio that cannot be used as it is; the message says why and what to do."""


def read_audio(path) -> tuple[np.ndarray, int]:
    """Read a sound file as float32 ``(channels, samples)`` and its sample rate."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such audio file: {path}")
    try:
        data, sr = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(
            f"{path.name} is not an audio file soundfile can read ({exc}). Use WAV, FLAC, OGG "
            "or MP3; convert other formats first (e.g. ffmpeg -i in.m4a -ar 16000 out.wav)."
        ) from None
    return np.ascontiguousarray(data.T), int(sr)


def to_model_input(waveform, sample_rate: int, *, target_rate: int = MODEL_SAMPLE_RATE,
                   verbose: bool = True):
    """Return a float32 torch tensor ``(1, samples)`` at ``target_rate``, mono.

    Accepts a numpy array or tensor shaped ``(samples,)`` or ``(channels, samples)``
    (``channels`` ≤ 8), float or integer PCM. Converts what is safe to convert and says so:
    integers are scaled to [-1, 1], channels are averaged, the sample rate is resampled.
    Refuses what cannot be fixed: empty or too short input, NaN/inf, an unknown sample rate.
    """
    import torch

    if sample_rate is None or int(sample_rate) <= 0:
        raise AudioError("sample_rate is required: the model needs to know it to be correct")
    sample_rate = int(sample_rate)
    x = torch.as_tensor(np.asarray(waveform) if not torch.is_tensor(waveform) else waveform)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2:
        raise AudioError(f"expected (samples,) or (channels, samples), got shape {tuple(x.shape)}")
    if x.shape[0] > 8 and x.shape[1] <= 8:
        x = x.T  # (samples, channels) as soundfile and many libraries return it
        _say(verbose, f"transposed {tuple(x.T.shape)} to (channels, samples)")
    if not torch.is_floating_point(x):
        info = torch.iinfo(x.dtype)
        x = x.to(torch.float32) / float(-info.min if info.min < 0 else info.max)
        _say(verbose, f"scaled {info.bits}-bit integer samples to [-1, 1]")
    x = x.to(torch.float32)
    if x.shape[1] == 0:
        raise AudioError("the audio is empty (0 samples)")
    if not torch.isfinite(x).all():
        raise AudioError("the audio contains NaN or infinite samples; clean or re-decode it")
    if x.shape[0] > 1:
        _say(verbose, f"mixed {x.shape[0]} channels down to mono (their mean)")
        x = x.mean(dim=0, keepdim=True)
    if sample_rate != target_rate:
        import torchaudio.functional as F

        _say(verbose, f"resampled {sample_rate} Hz to {target_rate} Hz")
        x = F.resample(x, sample_rate, target_rate)
    if x.shape[1] < MIN_SAMPLES:
        raise AudioError(
            f"the audio is {x.shape[1]} samples ({x.shape[1] / target_rate * 1000:.1f} ms) long; "
            f"wav2vec2 needs at least {MIN_SAMPLES} samples ({MIN_SAMPLES / target_rate * 1000:.0f}"
            " ms) to produce one frame"
        )
    return x.contiguous()


def load_audio(path, *, target_rate: int = MODEL_SAMPLE_RATE, verbose: bool = True):
    """Read ``path`` and return ``(waveform, target_rate)`` ready for the model."""
    data, sr = read_audio(path)
    return to_model_input(data, sr, target_rate=target_rate, verbose=verbose), target_rate


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(f"[audio] {message}")
