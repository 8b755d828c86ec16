"""CTC alignment: every path through the lattice (by brute force) and forced alignment of a
known transcript to an emission, down to words with start and end times in seconds.

* :func:`enumerate_alignments` lists every frame-by-frame label path that collapses to a
  target, with its probability; their sum is what ``torch.nn.functional.ctc_loss`` computes
  (as ``-log``) without listing them.
* :func:`align_words` runs ``torchaudio.functional.forced_align`` and
  ``torchaudio.functional.merge_tokens`` and groups the token spans into words.
* ``check_*`` functions test the exercises of ``06_alignment``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .decoding import WORD_DELIMITER, collapse, one_emission
from .exercises import NOT_ATTEMPTED, attempt
from .plotting import FRAME_SECONDS


class WordSpan(NamedTuple):
    """One aligned word: its text, start and end in seconds, and a confidence in [0, 1]."""

    word: str
    start_s: float
    end_s: float
    score: float


# --------------------------------------------------------------------------- brute force


def path_probability(probs, path: Sequence[int]) -> float:
    """Probability of one path: the product over frames of ``probs[t, path[t]]``."""
    return math.prod(float(probs[t][label]) for t, label in enumerate(path))


def enumerate_alignments(probs, target: Sequence[int], blank: int = 0) -> list:
    """Every path that collapses to ``target``, as ``(path, probability)``, most probable first.

    ``probs`` is a ``(frames, labels)`` table of per-frame probabilities (tensor, array or
    nested lists). All ``labels ** frames`` paths are tried, so keep it tiny (≤ ~10^6 paths).
    """
    frames, n_labels = len(probs), len(probs[0])
    if n_labels ** frames > 2_000_000:
        raise ValueError(f"{n_labels}^{frames} paths is too many to enumerate; use fewer frames")
    target = list(target)
    found = [(path, path_probability(probs, path))
             for path in itertools.product(range(n_labels), repeat=frames)
             if collapse(path, blank=blank) == target]
    return sorted(found, key=lambda item: -item[1])


def total_probability(probs, target: Sequence[int], blank: int = 0) -> float:
    """p(target | probs): the sum of :func:`enumerate_alignments`' probabilities."""
    return sum(p for _, p in enumerate_alignments(probs, target, blank=blank))


def min_frames(target: Sequence[int]) -> int:
    """Fewest frames a CTC path for ``target`` needs: one per token plus a blank per repeat."""
    target = list(target)
    return len(target) + sum(a == b for a, b in zip(target, target[1:]))


# --------------------------------------------------------------------------- forced alignment


def transcript_tokens(transcript: str, labels: Sequence[str],
                      delimiter: str = WORD_DELIMITER) -> list[int]:
    """Label indices of ``transcript``: words in upper case joined by ``delimiter``.

    Raises ``ValueError`` naming any character the labels do not have.
    """
    text = delimiter.join(transcript.upper().split())
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({ch for ch in text if ch not in index})
    if unknown:
        raise ValueError(f"characters not in the labels: {unknown}; remove or spell them out")
    return [index[ch] for ch in text]


def _log_probs(emission):
    import torch

    return one_emission(torch.as_tensor(emission, dtype=torch.float32)).log_softmax(dim=-1)


def forced_token_spans(emission, tokens: Sequence[int], blank: int = 0):
    """Force-align ``tokens`` to ``emission`` (logits or log-probabilities).

    Returns ``(path, spans)``: the frame-level label path (one index per frame) and one
    ``torchaudio.functional.TokenSpan`` per token (``start``/``end`` in frames, end
    exclusive; ``score`` is the token's mean probability over its frames).
    """
    import torch
    import torchaudio.functional as F

    log_probs = _log_probs(emission)
    tokens = list(tokens)
    if not tokens:
        raise ValueError("nothing to align: the transcript has no tokens")
    need = min_frames(tokens)
    if log_probs.shape[0] < need:
        raise ValueError(f"the transcript needs at least {need} frames (one per token, plus a "
                         f"blank between repeated letters); the emission has {log_probs.shape[0]}")
    path, scores = F.forced_align(log_probs[None], torch.tensor([tokens], dtype=torch.int32),
                                  blank=blank)
    spans = F.merge_tokens(path[0], scores[0].exp(), blank=blank)
    return path[0], spans


def words_from_spans(spans, words: Sequence[str],
                     frame_seconds: float = FRAME_SECONDS) -> list[WordSpan]:
    """Group token spans (words' letters with one delimiter span between words) into words.

    ``spans`` must follow the token order of ``delimiter.join(words)``. A word's score is
    the mean probability of its letters over all the frames they occupy.
    """
    out, i = [], 0
    for n, word in enumerate(words):
        letters = spans[i:i + len(word)]
        if len(letters) != len(word):
            raise ValueError(f"{len(spans)} spans are too few for the words {list(words)}")
        frames = sum(s.end - s.start for s in letters)
        score = sum(s.score * (s.end - s.start) for s in letters) / frames
        out.append(WordSpan(word, letters[0].start * frame_seconds,
                            letters[-1].end * frame_seconds, float(score)))
        i += len(word) + (1 if n < len(words) - 1 else 0)  # skip the delimiter's span
    return out


def align_words(emission, transcript: str, labels: Sequence[str], blank: int = 0,
                frame_seconds: float = FRAME_SECONDS) -> list[WordSpan]:
    """Words of ``transcript`` with ``(word, start_s, end_s, score)`` from a forced alignment.

    ``emission`` is one utterance's ``(frames, labels)`` or ``(1, frames, labels)`` logits.
    Forced alignment always returns a path, so times are only as good as the emission.
    """
    words = transcript.upper().split()
    tokens = transcript_tokens(transcript, labels)
    _, spans = forced_token_spans(emission, tokens, blank=blank)
    return words_from_spans(spans, words, frame_seconds=frame_seconds)


def plot_word_spans(words: Sequence[WordSpan], waveform, sample_rate: int, ax=None,
                    title: str = "Forced alignment: words on the waveform"):
    """The waveform against time (s), each word's span shaded and labelled with its score."""
    from .plotting import plot_waveform

    ax = plot_waveform(waveform, sample_rate, ax=ax, title=title)
    top = float(np.abs(np.asarray(waveform)).max()) or 1.0
    for k, w in enumerate(words):
        middle, lift = (w.start_s + w.end_s) / 2, 1.05 + 0.15 * (k % 2)  # stagger neighbours
        ax.axvspan(w.start_s, w.end_s, color=f"C{1 + k % 2}", alpha=0.25, linewidth=0)
        ax.text(middle, top * lift, w.word, ha="center", va="bottom", fontsize=9)
        ax.text(middle, -top * lift, f"{w.score:.2f}", ha="center", va="top", fontsize=7,
                color="0.3")
    ax.set_ylim(-top * 1.5, top * 1.5)
    return ax


# --------------------------------------------------------------------------- exercise checkers


def check_transcript_tokens(fn, labels: Sequence[str]) -> bool:
    """Exercise: ``fn(transcript, labels)`` -> list of label indices, words joined by ``|``."""
    cases = ["HELLO WORLD", "it's  a  test", "ZOO", "Q U I Z", " BOOKKEEPER  AT  NOON "]
    for text in cases:
        ok, got = attempt(fn, text, labels)
        if not ok:
            print(got if got == NOT_ATTEMPTED else f"✗ {got} (input: {text!r})")
            return False
        want = transcript_tokens(text, labels)
        try:
            got = [int(g) for g in got]
        except (TypeError, ValueError):
            print(f"{text!r}: expected a list of integers, got {got!r}")
            return False
        if got != want:
            print(f"{text!r}: expected {want}, got {got}.\nHint: upper-case, split on "
                  "whitespace, join the words with '|', then look each character up in labels.")
            return False
    print(f"Correct on {len(cases)} transcripts you had not seen.")
    return True


def check_ctc_forward(fn) -> bool:
    """Exercise: ``fn(probs, target, blank)`` -> p(target), checked against brute force."""
    import torch

    g = torch.Generator().manual_seed(1234)
    cases = [([1, 2], 4), ([1, 1], 4), ([2], 3), ([1, 2, 1], 5), ([2, 2, 1], 6), ([1, 1], 3)]
    for target, frames in cases:
        probs = torch.rand(frames, 3, generator=g).softmax(-1).double()
        args = (probs, target, 0)
        ok, got = attempt(fn, *args)
        if not ok:
            print(got if got == NOT_ATTEMPTED else f"✗ {got} (input: {args!r})")
            return False
        want = total_probability(probs, target)
        try:
            got = float(got)
        except (TypeError, ValueError):
            print(f"target {target}, {frames} frames: expected a number, got {got!r}")
            return False
        if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12):
            print(f"target {target} over {frames} frames of\n{probs.numpy().round(3)}\n"
                  f"expected {want:.6g}, got {got:.6g}.\nHint: put a blank before, between "
                  "and after the letters (2L+1 states). At each frame a state stays, moves "
                  "one state on, or skips the blank between two letters, the skip only when "
                  "those letters differ. Start in the first two states, end in the last two.")
            return False
    print(f"Correct on {len(cases)} random lattices, including repeated letters.")
    return True
