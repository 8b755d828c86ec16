"""Scoring transcripts and stressing the model: WER, CER, aligned errors, noise at a given SNR.

Edit distances and alignments come from jiwer (``process_words``/``process_characters``); the
unit tests check them against ``torchaudio.functional.edit_distance``. ``check_*`` functions
test the exercises of ``08_evaluate``.
"""

from __future__ import annotations

import math
import re

from .exercises import NOT_ATTEMPTED, attempt

_NOT_IN_LABELS = re.compile(r"[^A-Z']+")


def normalise(text: str) -> str:
    """Upper-case, anything but letters and apostrophes becomes a space, single spaces.

    This is the model's alphabet (its 29 labels), so "Don't stop, e-mail me!" becomes
    "DON'T STOP E MAIL ME". Digits are dropped too: spell numbers out before scoring.
    """
    return " ".join(_NOT_IN_LABELS.sub(" ", text.upper()).split())


def _process(reference: str, hypothesis: str, unit: str):
    import jiwer

    if unit == "word":
        return jiwer.process_words(reference, hypothesis)
    if unit == "char":
        return jiwer.process_characters(reference, hypothesis)
    raise ValueError(f"unit must be 'word' or 'char', not {unit!r}")


def error_counts(reference: str, hypothesis: str, unit: str = "word") -> dict:
    """Hits, substitutions, deletions, insertions, reference length and error rate.

    ``unit`` is ``"word"`` (rate = WER) or ``"char"`` (rate = CER; spaces count as characters).
    The rate is ``(S + D + I) / N`` with ``N`` the reference length; it can exceed 1.
    """
    out = _process(reference, hypothesis, unit)
    counts = {"hits": out.hits, "substitutions": out.substitutions,
              "deletions": out.deletions, "insertions": out.insertions}
    counts["n"] = out.hits + out.substitutions + out.deletions
    counts["rate"] = float(out.wer if unit == "word" else out.cer)
    return counts


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate (S + D + I) / N as a fraction (0.25 = 25 %); no normalisation."""
    return error_counts(reference, hypothesis, "word")["rate"]


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate as a fraction; spaces count as characters; no normalisation."""
    return error_counts(reference, hypothesis, "char")["rate"]


def aligned_errors(reference: str, hypothesis: str, unit: str = "word",
                   width: int | None = 100) -> list[str]:
    """Printable rows: ``REF:``, ``HYP:`` and a marker row (S, D, I) under each column.

    ``*`` fills the gap an insertion or a deletion leaves. Blocks wrap at ``width``
    characters, separated by an empty row.
    """
    import jiwer

    text = jiwer.visualize_alignment(_process(reference, hypothesis, unit), show_measures=False,
                                     skip_correct=False, line_width=width)
    lines = text.splitlines()
    rows = []
    for i, line in enumerate(lines):
        if line.startswith("REF:") and (line[4:].strip() or lines[i + 1][4:].strip()):
            rows += [""] if rows else []  # an empty row between wrapped blocks
            rows += [row.rstrip() for row in lines[i:i + 3]]
    return rows


def add_noise_at_snr(waveform, snr_db: float, seed: int = 0):
    """``waveform`` plus seeded white Gaussian noise scaled to ``snr_db`` decibels SNR.

    Uses ``torchaudio.functional.add_noise``; the same seed gives the same noise.
    ``waveform`` is ``(channels, samples)`` or ``(samples,)``.
    """
    import torch
    import torchaudio.functional as F

    waveform = torch.as_tensor(waveform, dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(waveform.shape, generator=g, dtype=waveform.dtype)
    snr = torch.full(waveform.shape[:-1], float(snr_db))
    return F.add_noise(waveform, noise, snr)


def snr_db(clean, noisy) -> float:
    """Measured signal-to-noise ratio in dB: 10·log10(power of clean / power of the difference)."""
    import torch

    clean = torch.as_tensor(clean, dtype=torch.float64)
    noise = torch.as_tensor(noisy, dtype=torch.float64) - clean
    return 10 * math.log10(float(clean.pow(2).sum()) / float(noise.pow(2).sum()))


# --------------------------------------------------------------------------- exercise checkers


def check_normalise(fn) -> bool:
    """Exercise: ``fn(text)`` -> the text in the model's alphabet (see :func:`normalise`)."""
    cases = ["Well, I never!", "  it's   DONE. ", "rock-and-roll", "", "ÇA VA? oui.",
             "Mr. O'Brien's dog\tbarked\n"]
    for text in cases:
        ok, got = attempt(fn, text)
        if not ok:
            print(got if got == NOT_ATTEMPTED else f"✗ {got} (input: {text!r})")
            return False
        want = normalise(text)
        if got != want:
            print(f"{text!r}: expected {want!r}, got {got!r}.\nHint: upper-case first; turn "
                  "every character that is not A-Z or an apostrophe into a space; then "
                  "' '.join(text.split()) removes doubled, leading and trailing spaces.")
            return False
    print(f"Correct on {len(cases)} texts you had not seen.")
    return True


def check_edit_distance(fn) -> bool:
    """Exercise: ``fn(ref_words, hyp_words)`` -> word edit distance (S + D + I)."""
    import torchaudio.functional as F

    cases = [("a b c", "a b c"), ("", "x y"), ("x y", ""), ("a b c d", "b c d"),
             ("a b c", "a b c d e"), ("the cat sat", "a cat sat down"), ("a a a", "a")]
    for ref, hyp in cases:
        args = (ref.split(), hyp.split())
        ok, got = attempt(fn, *args)
        if not ok:
            print(got if got == NOT_ATTEMPTED else f"✗ {got} (input: {args!r})")
            return False
        want = F.edit_distance(*args)
        if got != want:
            print(f"ref {args[0]}, hyp {args[1]}: expected {want}, got {got!r}.\nHint: "
                  "d[i][j] = edits turning the first i reference words into the first j "
                  "hypothesis words; d[i][0] = i, d[0][j] = j; d[i][j] = min(d[i-1][j] + 1, "
                  "d[i][j-1] + 1, d[i-1][j-1] + (0 if the words are equal else 1)).")
            return False
    print(f"Correct on {len(cases)} pairs you had not seen, empty ones included.")
    return True
