"""Long audio: run wav2vec2 on overlapping chunks, stitch the emissions, decode once.

The model's cost grows with the length of what it sees at once (its self-attention compares
every frame with every other frame; its convolutional encoder keeps 512 channels at 3,200
steps per second), so a lecture cannot go through it in one call. :func:`transcribe` cuts the
audio into equal *windows* that overlap, runs them (stacked in batches if asked), keeps from
each window only the frames in the middle of its overlaps (half the overlap is dropped on
each side) and writes them into one emission for the whole file. The kept parts tile the
frame axis exactly — every 20 ms frame comes from exactly one window, none is missing — so
one greedy decode over the stitched emission can neither drop nor double a word at a seam.

Windows start and end on wav2vec2's frame grid (320 samples = 20 ms, receptive field 400
samples), so frame ``j`` of a window is frame ``window.start + j`` of the whole file. The last
window is aligned with the end of the audio instead of being padded with zeros: all windows
have the same length (they stack into batches) and none contains silence the file does not
have.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .audio import (FIELD_SAMPLES, FRAME_SAMPLES, FRAME_SECONDS, MODEL_SAMPLE_RATE,
                    AudioError, read_audio, to_model_input)
from .decoding import BLANK, WORD_DELIMITER, greedy_decode, greedy_indices
from .exercises import NOT_ATTEMPTED, attempt
from .features import num_frames



@dataclass(frozen=True)
class Chunk:
    """One window of the plan, in frames of the whole file (``stop`` and ``keep_stop`` excluded).

    The model sees frames ``[start, stop)``; the stitched emission takes ``[keep_start,
    keep_stop)`` from it.
    """

    index: int
    start: int
    stop: int
    keep_start: int
    keep_stop: int

    @property
    def sample_start(self) -> int:
        """First sample the window reads."""
        return self.start * FRAME_SAMPLES

    @property
    def sample_stop(self) -> int:
        """One past the last sample the window reads: exactly ``stop - start`` frames' worth."""
        return (self.stop - 1) * FRAME_SAMPLES + FIELD_SAMPLES

    @property
    def kept(self) -> slice:
        """The kept frames as a slice of this window's own emission."""
        return slice(self.keep_start - self.start, self.keep_stop - self.start)


def plan_chunks(total_frames: int, window_frames: int, overlap_frames: int) -> list[Chunk]:
    """Equal windows of at most ``window_frames`` that overlap by at least ``overlap_frames``.

    One window if the file fits. Otherwise the fewest windows that can cover the file, each
    shortened to the same length so that together they just cover it (60 s with 20 s windows
    and 3 s overlap: four windows of 17.3 s, not four of 20 s); the first starts at frame 0,
    the last ends at ``total_frames``, the others are spread evenly between them. Each seam
    lies in the middle of an overlap; the kept ranges tile ``[0, total_frames)`` with no gap
    and no frame twice.
    """
    if total_frames < 1:
        raise ValueError(f"nothing to plan: {total_frames} frames")
    if window_frames < 1 or not 0 <= overlap_frames < window_frames:
        raise ValueError(
            f"need 0 <= overlap ({overlap_frames} frames) < window ({window_frames} frames)")
    if total_frames <= window_frames:
        return [Chunk(0, 0, total_frames, 0, total_frames)]
    n = math.ceil((total_frames - overlap_frames) / (window_frames - overlap_frames))
    window = math.ceil((total_frames - overlap_frames) / n) + overlap_frames  # <= window_frames
    span = total_frames - window  # how far the last window's start is from the first's
    return chunks_from_starts([i * span // (n - 1) for i in range(n)], window)


def chunks_from_starts(starts: Sequence[int], window_frames: int) -> list[Chunk]:
    """Windows of ``window_frames`` at the sorted frames ``starts``, cut in their overlaps' middles.

    The cut between two neighbours is ``(end of the left + start of the right) // 2``; the
    first window keeps from frame 0, the last to its end.
    """
    cuts = [(starts[i + 1] + starts[i] + window_frames) // 2 for i in range(len(starts) - 1)]
    edges = [0, *cuts, starts[-1] + window_frames]
    return [Chunk(i, s, s + window_frames, edges[i], edges[i + 1]) for i, s in enumerate(starts)]


def _model_output(out):
    """The emission tensor from a torchaudio ``(emission, lengths)`` or an HF output."""
    if isinstance(out, tuple):
        out = out[0]
    return getattr(out, "logits", out)


def window_ranges(chunks: Sequence[Chunk], num_samples: int) -> list[tuple[int, int]]:
    """The ``(first, stop)`` samples each window reads.

    Every window reads exactly its frames' samples, except the last, which reads to the end
    of the audio as a whole-file call would (the < 320 trailing samples give no frame of their
    own but take part in the first layer's normalisation).
    """
    ranges = [(c.sample_start, c.sample_stop) for c in chunks]
    ranges[-1] = (ranges[-1][0], num_samples)
    return ranges


def model_device(model):
    """The device of ``model``'s parameters (the CPU for a plain function)."""
    import torch

    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def chunked_emission(model, waveform, chunks: Sequence[Chunk], batch_size: int = 1,
                     progress: bool = False):
    """Run ``model`` on every window of ``chunks`` and stitch the kept frames.

    ``waveform`` is ``(1, samples)`` at 16 kHz. Windows of equal length go through the model
    ``batch_size`` at a time, on the model's device. Returns the ``(frames, labels)`` emission
    of the whole file, on the CPU; call it under ``torch.inference_mode()``.
    """
    import torch

    device = model_device(model)
    total = chunks[-1].keep_stop
    ranges = window_ranges(chunks, waveform.shape[1])
    batches, current = [], []
    for c, (a, b) in zip(chunks, ranges):
        if current and (len(current) == batch_size or b - a != current[0][2] - current[0][1]):
            batches.append(current)
            current = []
        current.append((c, a, b))
    batches.append(current)
    stitched, done = None, 0
    for batch in batches:
        x = torch.stack([waveform[0, a:b] for _, a, b in batch]).to(device)
        emissions = _model_output(model(x))
        width = batch[0][0].stop - batch[0][0].start
        if emissions.shape[1] != width:
            raise RuntimeError(
                f"the model gave {emissions.shape[1]} frames for a window of {width}: "
                "transcribe expects wav2vec2's 20 ms frames")
        if stitched is None:
            stitched = torch.empty((total, emissions.shape[-1]), dtype=emissions.dtype)
        for (c, _, _), e in zip(batch, emissions):
            stitched[c.keep_start:c.keep_stop] = e[c.kept].cpu()
        done += len(batch)
        if progress:
            print(f"[transcribe] window {done}/{len(chunks)}: "
                  f"{batch[-1][0].keep_stop * FRAME_SECONDS:.0f} s of {total * FRAME_SECONDS:.0f} s")
    return stitched


@dataclass(frozen=True)
class Word:
    """A word and when it is said: ``start`` is its first letter's first frame, ``end`` the end
    of its last letter's run of frames (seconds from the start of the audio)."""

    text: str
    start: float
    end: float


def word_timings(emission, labels: Sequence[str], blank: int = 0,
                 delimiter: str = WORD_DELIMITER) -> list[Word]:
    """Words of the greedy path through ``emission`` ``(frames, labels)``, with their times."""
    import torch

    indices, starts = greedy_indices(emission, blank=blank)
    best = emission.argmax(dim=-1)
    changes = torch.nonzero(best[1:] != best[:-1]).flatten() + 1
    changes = torch.cat([changes, torch.tensor([best.numel()])])
    ends = changes[torch.searchsorted(changes, starts, right=True)] if starts.numel() else starts
    words, letters, first, last = [], [], 0, 0
    for index, start, end in zip(indices.tolist(), starts.tolist(), ends.tolist()):
        if labels[index] == delimiter:
            if letters:
                words.append(Word("".join(letters), first * FRAME_SECONDS, last * FRAME_SECONDS))
            letters = []
            continue
        if not letters:
            first = start
        letters.append(labels[index])
        last = end
    if letters:
        words.append(Word("".join(letters), first * FRAME_SECONDS, last * FRAME_SECONDS))
    return words


@dataclass(frozen=True)
class Transcript:
    """What :func:`transcribe` returns: the text, its words with times, and how it got there."""

    text: str
    words: list[Word]
    emission: object = field(repr=False)  # (frames, labels) tensor, stitched
    chunks: list[Chunk] = field(repr=False)
    num_samples: int = 0
    sample_rate: int = MODEL_SAMPLE_RATE

    @property
    def duration(self) -> float:
        """Length of the (16 kHz) audio in seconds."""
        return self.num_samples / self.sample_rate


@lru_cache(maxsize=1)
def _default_model():
    from .models import load_torchaudio_model

    return load_torchaudio_model(progress=False)


def default_threads() -> int:
    """The CPU cores this process may use (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


@contextmanager
def torch_threads(n: int):
    """Use ``n`` intra-op threads inside the block, then restore the previous setting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _as_waveform(audio, sample_rate, verbose: bool):
    """A ``(1, samples)`` 16 kHz float32 tensor from a file path or an array and its rate."""
    if isinstance(audio, (str, Path)):
        if sample_rate is not None:
            raise TypeError("sample_rate is read from the file; pass it only with a waveform")
        audio, sample_rate = read_audio(audio)
    elif sample_rate is None:
        raise AudioError("sample_rate is required with a waveform (e.g. transcribe(x, 16000))")
    return to_model_input(audio, sample_rate, verbose=verbose)


def transcribe(audio, sample_rate: int | None = None, *, model=None,
               labels: Sequence[str] | None = None, chunk_seconds: float = 20.0,
               overlap_seconds: float = 3.0, batch_size: int | None = None,
               threads: int | None = None,
               verbose: bool = True, progress: bool = False) -> Transcript:
    """Transcribe audio of any length with greedy CTC, in overlapping chunks.

    ``audio`` is a file path, or a waveform (numpy array or tensor, ``(samples,)`` or
    ``(channels, samples)``) with its ``sample_rate``; any rate and channel count is converted
    to 16 kHz mono (with a message unless ``verbose=False``). Bad input raises
    :class:`helpers.audio.AudioError` (empty, shorter than one 25 ms frame, NaN, not audio)
    or ``FileNotFoundError``.

    The model (default: torchaudio's ``WAV2VEC2_ASR_BASE_960H``, loaded once; any model
    returning ``(batch, frames, labels)`` logits on 20 ms frames works, with its ``labels`` —
    a Hugging Face ``Wav2Vec2ForCTC`` too, though its checkpoints expect input normalised to
    zero mean and unit variance, which is left to the caller) sees equal windows
    of at most ``chunk_seconds`` that overlap by at least ``overlap_seconds`` (see
    :func:`plan_chunks`; the default 3 s overlap leaves every kept frame 1.5 s of context on
    each side, more than the 1.28 s the positional convolution reaches), ``batch_size``
    windows per call (default: 1 on a CPU, where stacking
    windows measured no faster and costs memory; 8 on a GPU), under ``torch.inference_mode``
    with ``threads`` intra-op threads (default: all cores this process may use). Audio no
    longer than one window is run whole, exactly as ``model(waveform)`` would. Peak memory
    depends on ``chunk_seconds × batch_size``, not on the length of the audio.
    """
    import torch

    if not overlap_seconds >= 0 or not chunk_seconds > overlap_seconds:
        raise ValueError(f"need 0 <= overlap_seconds ({overlap_seconds}) < chunk_seconds "
                         f"({chunk_seconds})")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    waveform = _as_waveform(audio, sample_rate, verbose)
    if model is None:
        model = _default_model()
    if batch_size is None:
        batch_size = 1 if model_device(model).type == "cpu" else 8
    if labels is None:
        from .models import bundle

        labels = bundle().get_labels()
    chunks = plan_chunks(num_frames(waveform.shape[1]), round(chunk_seconds / FRAME_SECONDS),
                         round(overlap_seconds / FRAME_SECONDS))
    with torch_threads(threads or default_threads()), torch.inference_mode():
        emission = chunked_emission(model, waveform, chunks, batch_size, progress)
    if emission.shape[-1] != len(labels):
        raise ValueError(f"the model has {emission.shape[-1]} outputs but {len(labels)} labels "
                         "were given; pass the labels that match the model")
    blank = list(labels).index(BLANK) if BLANK in labels else 0
    return Transcript(text=greedy_decode(emission, labels, blank=blank),
                      words=word_timings(emission, labels, blank=blank), emission=emission,
                      chunks=chunks, num_samples=waveform.shape[1])


def repeat_with_pauses(waveform, repeats: int, pause_seconds: float = 1.0,
                       sample_rate: int = MODEL_SAMPLE_RATE):
    """``(1, samples)``: the clip, then ``pause_seconds`` of silence, ``repeats`` times over.

    A long test recording whose right transcript is known: the clip's, ``repeats`` times.
    """
    import torch

    clip = torch.as_tensor(waveform, dtype=torch.float32).reshape(1, -1)
    pause = clip.new_zeros((1, round(pause_seconds * sample_rate)))
    return torch.cat([clip, pause] * repeats, dim=1)


def long_test_signal(waveform, seconds: float, pause_seconds: float = 1.0,
                     sample_rate: int = MODEL_SAMPLE_RATE):
    """Exactly ``seconds`` of the clip repeated with pauses (cut at the end).

    ``seconds`` equal to the clip's own length gives the clip unchanged.
    """
    clip_samples = int(waveform.numel() if hasattr(waveform, "numel") else waveform.size)
    pause = round(pause_seconds * sample_rate)
    total = round(seconds * sample_rate)
    repeats = max(1, math.ceil(total / (clip_samples + pause)) + 1)
    return repeat_with_pauses(waveform, repeats, pause_seconds, sample_rate)[:, :total]


# --------------------------------------------------------------------------- exercises


def _seam_cases():
    import random

    rng = random.Random(9)
    cases = [([0], 50), ([0, 40], 50), ([0, 30, 60], 50), ([0, 25, 50, 51], 50)]
    for _ in range(20):
        window = rng.randint(20, 1000)
        starts = [0]
        for _ in range(rng.randint(1, 8)):
            starts.append(starts[-1] + rng.randint(1, window))
        cases.append((starts, window))
    return cases


def _seam_problem(starts, window, ranges) -> str | None:
    """Why ``ranges`` are not a valid tiling for windows at ``starts`` (None when valid)."""
    try:
        ranges = [(int(a), int(b)) for a, b in ranges]
    except (TypeError, ValueError):
        return f"expected a list of (keep_start, keep_stop) pairs, got {ranges!r}"
    if len(ranges) != len(starts):
        return f"expected one range per window ({len(starts)}), got {len(ranges)}"
    if ranges[0][0] != 0 or ranges[-1][1] != starts[-1] + window:
        return (f"the kept ranges must run from frame 0 to frame {starts[-1] + window}, "
                f"yours run from {ranges[0][0]} to {ranges[-1][1]}")
    for i, ((a, b), s) in enumerate(zip(ranges, starts)):
        if i and a != ranges[i - 1][1]:
            return (f"range {i} starts at {a} but range {i - 1} stops at {ranges[i - 1][1]}: "
                    "frames would be " + ("lost" if a > ranges[i - 1][1] else "kept twice"))
        if not s <= a <= b <= s + window:
            return f"range {i} ({a}, {b}) is not inside its window ({s}, {s + window})"
        if i:
            middle = (s + starts[i - 1] + window) / 2
            if abs(a - middle) > 1:
                return (f"the cut between windows {i - 1} and {i} is at {a}, but the middle of "
                        f"their overlap ({s}, {starts[i - 1] + window}) is {middle}")
    return None


def check_seams(fn) -> bool:
    """Exercise: ``fn(starts, window)`` must return the kept ``(keep_start, keep_stop)`` ranges
    of windows of ``window`` frames starting at ``starts`` (cut in the overlaps' middles)."""
    cases = _seam_cases()
    for starts, window in cases:
        ok, got = attempt(fn, list(starts), window)
        if not ok:
            print(got if got is NOT_ATTEMPTED else f"✗ {got} (input: {starts}, {window})")
            return False
        problem = _seam_problem(starts, window, got if got is not None else [])
        if problem:
            want = [(c.keep_start, c.keep_stop) for c in chunks_from_starts(starts, window)]
            print(f"✗ starts={starts}, window={window}: {problem}.\n  expected {want}\n"
                  f"  got      {got!r}\n  Hint: cut at (end of the left window + start of the "
                  "right window) // 2; the first range starts at 0, the last ends at the end.")
            return False
    print(f"✓ correct on all {len(cases)} plans: no frame lost, none kept twice, cuts centred")
    return True


def check_stitch(fn) -> bool:
    """Exercise: ``fn(pieces, chunks)`` must stitch per-window emissions into one.

    Each piece is a window's ``(window frames, labels)`` emission whose frames outside the
    kept range are spoiled on purpose, so only the right cuts give back the whole emission.
    """
    import torch

    g = torch.Generator().manual_seed(3)
    plans = [(10, 10, 0), (57, 20, 6), (300, 64, 16), (1001, 100, 10), (2999, 1000, 100)]
    for total, window, overlap in plans:
        whole = torch.randn(total, 5, generator=g)
        chunks = plan_chunks(total, window, overlap)
        pieces = []
        for c in chunks:
            piece = whole[c.start:c.stop].clone()
            kept = torch.zeros(len(piece), dtype=torch.bool)
            kept[c.kept] = True
            piece[~kept] += 100.0  # what the window saw with too little context
            pieces.append(piece)
        ok, got = attempt(fn, pieces, chunks)
        where = f"{total} frames in {len(chunks)} windows of {chunks[0].stop} frames"
        if not ok:
            print(got if got is NOT_ATTEMPTED else f"✗ {got} ({where})")
            return False
        try:
            got = torch.as_tensor(got)
        except (TypeError, ValueError, RuntimeError):
            print(f"✗ {where}: expected a tensor, got {type(got).__name__}")
            return False
        if tuple(got.shape) != tuple(whole.shape):
            print(f"✗ {where}: expected shape {tuple(whole.shape)}, got {tuple(got.shape)}. "
                  "Hint: each piece gives only its kept frames, and a piece counts frames from "
                  "its own start: piece[c.keep_start - c.start : c.keep_stop - c.start].")
            return False
        wrong = (got != whole).any(dim=-1).nonzero().flatten()
        if len(wrong):
            frame = int(wrong[0])
            c = next(c for c in chunks if c.keep_start <= frame < c.keep_stop)
            print(f"✗ {where}: frame {frame} (window {c.index}, which keeps {c.keep_start}–"
                  f"{c.keep_stop - 1}) is wrong. Hint: a piece's own frame 0 is frame "
                  f"{c.start} of the file; its kept part is piece[c.keep_start - c.start : "
                  "c.keep_stop - c.start] (that is, piece[c.kept]).")
            return False
    print(f"✓ correct on all {len(plans)} plans: the stitched emission is the whole one")
    return True
