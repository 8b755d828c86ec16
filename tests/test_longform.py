"""Long audio: chunk plans, exact stitching, word times, the real model end to end, bad input."""

from __future__ import annotations

import random

import numpy as np
import pytest
import soundfile as sf
import torch

from helpers import assets, audio, longform, models
from helpers.audio import AudioError
from helpers.features import num_frames
from helpers.longform import (FRAME_SECONDS, Chunk, check_seams, check_stitch, plan_chunks,
                              transcribe)

LOUD_LABELS = ("-", "|", "S")  # blank, word gap, "speech"


def loudness_model(batch: torch.Tensor) -> torch.Tensor:
    """A model with no context at all: each 20 ms frame sees only its own 400 samples.

    Loud frames (above -30 dB) say "S", quiet ones "|": words are the loud stretches.
    """
    frames = batch.unfold(-1, 400, 320)
    level = 10 * torch.log10(frames.pow(2).mean(-1) + 1e-10)
    loud = (level > -30).float()
    return torch.stack([torch.zeros_like(loud), 1 - loud, loud], dim=-1)


@pytest.fixture(scope="module")
def sample(voices_sample_path):
    waveform, _ = audio.load_audio(voices_sample_path, verbose=False)
    return waveform


@pytest.fixture(scope="module")
def model():
    return models.load_torchaudio_model(progress=False)


# --------------------------------------------------------------------------- frames and plans


def test_a_window_reads_exactly_its_frames(model):
    x = torch.randn(1, 16_000) * 0.1
    for c in plan_chunks(num_frames(x.shape[1]), 7, 2)[:3]:
        with torch.inference_mode():
            emission, _ = model(x[:, c.sample_start:c.sample_stop])
        assert emission.shape[1] == c.stop - c.start == 7
        assert c.sample_stop - c.sample_start == 6 * 320 + 400


def assert_valid_plan(chunks: list[Chunk], total: int, window: int, overlap: int) -> None:
    assert chunks[0].keep_start == 0 and chunks[-1].keep_stop == total
    for a, b in zip(chunks, chunks[1:]):
        assert a.keep_stop == b.keep_start, "kept ranges must touch: no gap, no frame twice"
        assert a.stop - b.start >= overlap, "neighbours overlap by at least the overlap"
        assert abs(b.keep_start - (a.stop + b.start) / 2) <= 0.5, "cut in the overlap's middle"
    for c in chunks:
        assert c.start <= c.keep_start < c.keep_stop <= c.stop
        assert c.stop - c.start == chunks[0].stop - chunks[0].start <= window, "equal windows"
        assert c.sample_start == 320 * c.start
        assert num_frames(c.sample_stop - c.sample_start) == c.stop - c.start
    assert chunks[0].start == 0 and chunks[-1].stop == total


def test_plans_tile_the_frame_axis():
    rng = random.Random(0)
    for _ in range(500):
        window = rng.randint(1, 400)
        overlap = rng.randint(0, window - 1)
        total = rng.randint(1, 5000)
        assert_valid_plan(plan_chunks(total, window, overlap), total, window, overlap)


def test_plan_of_ten_minutes_with_20_s_windows_and_3_s_overlap():
    chunks = plan_chunks(num_frames(600 * 16_000), 1000, 150)
    assert len(chunks) == 36  # ceil((29999 - 150) / 850)
    assert chunks[0].stop == 980  # 36 windows of 19.6 s cover the 10 minutes
    assert_valid_plan(chunks, 29_999, 1000, 150)
    # 60 s: four windows of 17.26 s rather than four of 20 s
    assert [c.stop - c.start for c in plan_chunks(2999, 1000, 150)] == [863] * 4


@pytest.mark.parametrize("total, window, overlap", [(0, 10, 2), (10, 10, 10), (10, 0, 0),
                                                     (10, 5, -1)])
def test_impossible_plans_are_refused(total, window, overlap):
    with pytest.raises(ValueError):
        plan_chunks(total, window, overlap)


# --------------------------------------------------------------------------- exact stitching


def test_stitching_is_exact_for_a_model_without_context(sample):
    long = longform.repeat_with_pauses(sample, 4, pause_seconds=0.7)
    with torch.inference_mode():
        whole = loudness_model(long)[0]
    for chunk_s, overlap_s, batch in [(1.0, 0.2, 1), (2.5, 0.5, 3), (4.0, 0.02, 2), (7.3, 3.1, 8)]:
        result = transcribe(long, 16_000, model=loudness_model, labels=LOUD_LABELS,
                            chunk_seconds=chunk_s, overlap_seconds=overlap_s, batch_size=batch)
        assert len(result.chunks) > 1
        assert torch.equal(result.emission, whole), (chunk_s, overlap_s, batch)


def test_repeated_clip_gives_the_repeated_transcript_without_context(sample):
    single = transcribe(sample, 16_000, model=loudness_model, labels=LOUD_LABELS)
    assert len(single.words) >= 3
    repeats, pause = 5, 1.0
    result = transcribe(longform.repeat_with_pauses(sample, repeats, pause), 16_000,
                        model=loudness_model, labels=LOUD_LABELS, chunk_seconds=2.0,
                        overlap_seconds=0.4)
    assert result.text == " ".join([single.text] * repeats)
    period = sample.shape[1] / 16_000 + pause
    for k in range(repeats):  # each word once per repetition, shifted by one period
        words = result.words[k * len(single.words):(k + 1) * len(single.words)]
        for w, s in zip(words, single.words):
            assert w.start == pytest.approx(s.start + k * period, abs=1e-9)
            assert w.end == pytest.approx(s.end + k * period, abs=1e-9)


def test_word_timings_of_a_known_path():
    labels = ("-", "|", "A", "B")
    path = "--AA-B||-BB--||A"
    emission = torch.zeros(len(path), 4)
    for t, ch in enumerate(path):
        emission[t, labels.index(ch)] = 1
    words = longform.word_timings(emission, labels)
    assert [w.text for w in words] == ["AB", "B", "A"]
    assert [(round(w.start / FRAME_SECONDS), round(w.end / FRAME_SECONDS)) for w in words] == [
        (2, 6), (9, 11), (15, 16)]


# --------------------------------------------------------------------------- the real model


def test_one_window_is_the_whole_file_call(model, sample):
    with torch.inference_mode():
        whole, _ = model(sample)
    result = transcribe(sample, 16_000, model=model)
    assert len(result.chunks) == 1 and torch.equal(result.emission, whole[0])


def test_stitched_emission_of_the_real_model(model, sample):
    long = longform.repeat_with_pauses(sample, 3, pause_seconds=1.0)
    with torch.inference_mode():
        whole = model(long)[0][0]
    result = transcribe(long, 16_000, model=model, chunk_seconds=5.0, overlap_seconds=1.0)
    assert len(result.chunks) == 4
    assert result.emission.shape == whole.shape  # every frame once: the frame axes agree
    # The model sees less context inside a window, so logits move a little: on the stand-in
    # weights 90-96 % of frames keep their argmax (a window shifted by one frame keeps far
    # fewer, as the last line checks), and the real weights are steadier still.
    agree = (result.emission.argmax(-1) == whole.argmax(-1)).float().mean().item()
    shifted = (result.emission[1:].argmax(-1) == whole[:-1].argmax(-1)).float().mean().item()
    assert agree >= 0.85 and shifted < agree - 0.2, (agree, shifted)
    assert result.text == " ".join(result.text.split())
    again = transcribe(long, 16_000, model=model, chunk_seconds=5.0, overlap_seconds=1.0,
                       batch_size=3)  # windows stacked: the same numbers up to rounding
    torch.testing.assert_close(again.emission, result.emission, atol=1e-3, rtol=1e-3)


@pytest.mark.online
def test_repeated_sample_gives_the_repeated_transcript(real_weights_env):
    model = models.load_torchaudio_model()
    assert not models.weights_are_standin()
    sample, _ = audio.load_audio(assets.fetch("voices_sample"), verbose=False)
    long = longform.repeat_with_pauses(sample, 3, pause_seconds=1.0)
    result = transcribe(long, 16_000, model=model, chunk_seconds=5.0, overlap_seconds=1.0)
    assert result.text == " ".join([assets.SAMPLE_TRANSCRIPT] * 3)
    assert [w.text for w in result.words] == assets.SAMPLE_TRANSCRIPT.split() * 3


def test_threads_are_restored(sample):
    before = torch.get_num_threads()
    transcribe(sample, 16_000, model=loudness_model, labels=LOUD_LABELS, threads=1)
    assert torch.get_num_threads() == before


# --------------------------------------------------------------------------- inputs


def test_a_stereo_44k_integer_file_is_converted_with_messages(tmp_path, sample, capsys):
    import torchaudio.functional as F

    stereo = F.resample(sample, 16_000, 44_100).repeat(2, 1).T.numpy()
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, 44_100, subtype="PCM_16")
    result = transcribe(path, model=loudness_model, labels=LOUD_LABELS)
    out = capsys.readouterr().out
    assert "2 channels" in out and "44100 Hz to 16000 Hz" in out
    assert result.num_samples == sample.shape[1] and result.duration == pytest.approx(3.4)


@pytest.mark.parametrize("bad, sample_rate, error, message", [
    (np.zeros(0, np.float32), 16_000, AudioError, "empty"),
    (np.zeros(399, np.float32), 16_000, AudioError, "at least 400 samples"),
    (np.zeros(100, np.float32), 8_000, AudioError, "at least 400 samples"),  # 200 after resampling
    (np.array([0.1, np.nan] * 4000, np.float32), 16_000, AudioError, "NaN"),
    (np.full(4000, np.inf, np.float32), 16_000, AudioError, "infinite"),
    (np.zeros(4000, np.float32), None, AudioError, "sample_rate is required"),
])
def test_unusable_waveforms_are_refused_clearly(bad, sample_rate, error, message):
    with pytest.raises(error, match=message):
        transcribe(bad, sample_rate, model=loudness_model, labels=LOUD_LABELS, verbose=False)


def test_unusable_files_are_refused_clearly(tmp_path):
    notes = tmp_path / "lecture.wav"
    notes.write_text("these are my lecture notes, not a recording")
    with pytest.raises(AudioError, match="not an audio file"):
        transcribe(notes, model=loudness_model, labels=LOUD_LABELS)
    with pytest.raises(FileNotFoundError, match="no such audio file"):
        transcribe(tmp_path / "missing.wav", model=loudness_model, labels=LOUD_LABELS)
    sf.write(tmp_path / "ok.wav", np.zeros(8000, np.float32), 16_000)
    with pytest.raises(TypeError, match="read from the file"):
        transcribe(tmp_path / "ok.wav", 16_000, model=loudness_model, labels=LOUD_LABELS)


@pytest.mark.parametrize("kwargs, message", [
    ({"chunk_seconds": 2.0, "overlap_seconds": 2.0}, "overlap_seconds"),
    ({"overlap_seconds": -1.0}, "overlap_seconds"),
    ({"batch_size": 0}, "batch_size"),
    ({"labels": ("-", "|")}, "3 outputs but 2 labels"),
])
def test_bad_settings_are_refused(sample, kwargs, message):
    kwargs = {"model": loudness_model, "labels": LOUD_LABELS, **kwargs}
    with pytest.raises(ValueError, match=message):
        transcribe(sample, 16_000, **kwargs)


def test_long_test_signal_has_the_asked_length(sample):
    assert torch.equal(longform.long_test_signal(sample, 3.4), sample)
    x = longform.long_test_signal(sample, 60.0, pause_seconds=0.5)
    assert x.shape == (1, 960_000)
    period = sample.shape[1] + 8000
    assert torch.equal(x[:, period:period + sample.shape[1]], sample)
    assert float(x[:, sample.shape[1]:period].abs().max()) == 0.0


# --------------------------------------------------------------------------- exercise checkers


def test_stitch_checker(capsys):
    def reference(pieces, chunks):
        return torch.cat([p[c.kept] for p, c in zip(pieces, chunks)])

    def whole_windows(pieces, chunks):  # keeps every overlap twice
        return torch.cat(pieces)

    def forgets_the_offset(pieces, chunks):  # slices with file frames, not window frames
        return torch.cat([p[c.keep_start:c.keep_stop] for p, c in zip(pieces, chunks)])

    assert check_stitch(reference)
    assert not check_stitch(whole_windows)
    assert "expected shape" in capsys.readouterr().out
    assert not check_stitch(forgets_the_offset)
    assert "c.keep_start - c.start" in capsys.readouterr().out

    def off_by_one(pieces, chunks):  # right lengths, cut one frame late
        return torch.cat([p[c.keep_start - c.start + 1:c.keep_stop - c.start + 1]
                          if c.index < len(chunks) - 1 else p[c.kept]
                          for p, c in zip(pieces, chunks)])

    assert not check_stitch(off_by_one)
    assert "is wrong" in capsys.readouterr().out

    def stub(pieces, chunks):
        raise NotImplementedError

    assert not check_stitch(stub)
    assert "Not attempted yet" in capsys.readouterr().out
    assert not check_stitch(lambda pieces, chunks: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_seams_checker(capsys):
    def reference(starts, window):
        cuts = [(b + a + window) // 2 for a, b in zip(starts, starts[1:])]
        edges = [0, *cuts, starts[-1] + window]
        return list(zip(edges, edges[1:]))

    def cut_at_window_ends(starts, window):  # keeps the overlap twice
        return [(0 if i == 0 else s, s + window) for i, s in enumerate(starts)]

    assert check_seams(reference)
    assert not check_seams(cut_at_window_ends)
    assert "kept twice" in capsys.readouterr().out
    assert not check_seams(lambda starts, window: None)


def test_a_hugging_face_model_works_with_its_labels(sample):
    hf_model, processor = models.load_hf_model(progress=False)
    vocab = processor.tokenizer.get_vocab()
    hf_labels = sorted(vocab, key=vocab.get)
    result = transcribe(sample, 16_000, model=hf_model, labels=hf_labels, chunk_seconds=2.0,
                        overlap_seconds=0.5)
    assert len(result.chunks) == 2 and result.emission.shape == (169, 32)
    assert result.text == " ".join(result.text.split())
