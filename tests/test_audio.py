"""Audio reading and conversion: what is fixed (with a message) and what is refused."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from helpers import audio
from helpers.audio import AudioError, to_model_input


def test_float_mono_16k_passes_through_unchanged(capsys):
    x = np.random.default_rng(0).uniform(-1, 1, 16000).astype(np.float32)
    y = to_model_input(x, 16000)
    assert y.shape == (1, 16000) and y.dtype == torch.float32
    assert torch.equal(y[0], torch.from_numpy(x))
    assert capsys.readouterr().out == ""


def test_int16_is_scaled_and_said(capsys):
    y = to_model_input(np.array([0, 16384, -32768] * 200, dtype=np.int16), 16000)
    assert y[0, :3].tolist() == [0.0, 0.5, -1.0]
    assert "16-bit integer" in capsys.readouterr().out


def test_stereo_is_mixed_down(capsys):
    left = np.ones(800, dtype=np.float32)
    y = to_model_input(np.stack([left, -left]), 16000)
    assert y.shape == (1, 800) and float(y.abs().max()) == 0.0
    assert "2 channels" in capsys.readouterr().out


def test_samples_by_channels_layout_is_transposed():
    y = to_model_input(np.zeros((1000, 2), dtype=np.float32), 16000, verbose=False)
    assert y.shape == (1, 1000)


@pytest.mark.parametrize("rate", [8000, 44100])
def test_resampled_to_16k_keeps_duration(rate, capsys):
    y = to_model_input(np.zeros(rate * 2, dtype=np.float32), rate)
    assert y.shape == (1, 32000)
    assert f"{rate} Hz to 16000 Hz" in capsys.readouterr().out


def test_resampling_keeps_a_tone_at_its_frequency():
    t = np.arange(44100) / 44100
    y = to_model_input(np.sin(2 * np.pi * 440 * t).astype(np.float32), 44100, verbose=False)
    spectrum = np.abs(np.fft.rfft(y[0].numpy()))
    assert abs(np.argmax(spectrum) * 16000 / y.shape[1] - 440) < 2


@pytest.mark.parametrize("bad, message", [
    (np.zeros(0, dtype=np.float32), "empty"),
    (np.zeros(399, dtype=np.float32), "at least 400 samples"),
    (np.array([0.0, np.nan] * 400, dtype=np.float32), "NaN"),
    (np.zeros((2, 2, 400), dtype=np.float32), "shape"),
])
def test_unusable_audio_is_refused(bad, message):
    with pytest.raises(AudioError, match=message):
        to_model_input(bad, 16000, verbose=False)


def test_sample_rate_is_required():
    with pytest.raises(AudioError, match="sample_rate is required"):
        to_model_input(np.zeros(1000, dtype=np.float32), None)


def test_read_audio_roundtrip_and_non_audio_file(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, np.zeros((8000, 2), dtype=np.float32), 8000)
    data, sr = audio.read_audio(path)
    assert data.shape == (2, 8000) and sr == 8000
    wav, rate = audio.load_audio(path, verbose=False)
    assert wav.shape == (1, 16000) and rate == 16000
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    with pytest.raises(AudioError, match="not an audio file"):
        audio.read_audio(text)
    with pytest.raises(FileNotFoundError):
        audio.read_audio(tmp_path / "missing.wav")
