"""Scoring and stress helpers: jiwer against torchaudio's edit distance, the aligned rows,
noise at a given SNR, the exercise checkers, and WER 0 with the real weights (online)."""

from __future__ import annotations

import math
import random

import pytest
import torch
import torchaudio.functional as F

from helpers import assets, decoding, evaluate, models

VOCAB = ["A", "B", "C", "D", "E"]


def random_pairs(n: int, seed: int):
    rng = random.Random(seed)
    for _ in range(n):
        ref = [rng.choice(VOCAB) for _ in range(rng.randint(1, 8))]
        hyp = [rng.choice(VOCAB) for _ in range(rng.randint(0, 8))]
        yield ref, hyp


def test_jiwer_word_distances_match_torchaudio_edit_distance():
    for ref, hyp in random_pairs(300, seed=0):
        c = evaluate.error_counts(" ".join(ref), " ".join(hyp), "word")
        assert c["substitutions"] + c["deletions"] + c["insertions"] == F.edit_distance(ref, hyp)
        assert c["n"] == len(ref)
        assert math.isclose(c["rate"], F.edit_distance(ref, hyp) / len(ref))


def test_jiwer_character_distances_match_torchaudio_edit_distance():
    for ref, hyp in random_pairs(300, seed=1):
        r, h = " ".join(ref).lower(), "".join(hyp).lower()  # no spaces in hyp: more edits
        c = evaluate.error_counts(r, h, "char")
        assert c["substitutions"] + c["deletions"] + c["insertions"] == F.edit_distance(r, h)
        assert math.isclose(evaluate.cer(r, h), F.edit_distance(r, h) / len(r))


def test_wer_known_case_and_it_can_exceed_one():
    ref = "I HAD THAT CURIOSITY BESIDE ME AT THIS MOMENT"
    hyp = "I HAD THE CURIOSITY BESIDE ME THIS MOMENT TOO"
    c = evaluate.error_counts(ref, hyp)
    assert (c["substitutions"], c["deletions"], c["insertions"], c["n"]) == (1, 1, 1, 9)
    assert math.isclose(evaluate.wer(ref, hyp), 3 / 9)
    assert evaluate.wer("A B", "X Y Z W") == 2.0
    assert evaluate.wer(ref, ref) == 0 and evaluate.cer(ref, ref) == 0


def test_unknown_unit_is_refused():
    with pytest.raises(ValueError, match="unit"):
        evaluate.error_counts("a", "b", "phone")


def test_aligned_rows_show_each_error_under_its_words():
    ref = "I HAD THAT CURIOSITY BESIDE ME AT THIS MOMENT"
    hyp = "I HAD THE CURIOSITY BESIDE ME THIS MOMENT TOO"
    ref_row, hyp_row, marks = evaluate.aligned_errors(ref, hyp)
    assert ref_row.startswith("REF: ") and hyp_row.startswith("HYP: ")
    assert " ".join(ref_row[5:].replace("*", " ").split()) == ref
    assert " ".join(hyp_row[5:].replace("*", " ").split()) == hyp
    assert sorted(marks.split()) == ["D", "I", "S"]
    for mark, word in (("S", "THE"), ("D", "**"), ("I", "TOO")):
        col = marks.index(mark)  # the marker sits under the last letter of its column
        assert hyp_row[col - len(word) + 1:col + 1] == word


@pytest.mark.parametrize("seed", range(5))
def test_aligned_rows_count_the_errors(seed):
    for ref, hyp in random_pairs(20, seed=100 + seed):
        r, h = " ".join(ref), " ".join(hyp)
        rows = evaluate.aligned_errors(r, h, width=30)
        marks = "".join(rows[i] for i in range(2, len(rows), 4))
        c = evaluate.error_counts(r, h)
        assert (marks.count("S"), marks.count("D"), marks.count("I")) == (
            c["substitutions"], c["deletions"], c["insertions"])
        assert all(len(row) <= 30 + 5 for row in rows if row)


def test_a_word_longer_than_the_width_leaves_no_empty_block():
    rows = evaluate.aligned_errors("I HAD THAT", "X" * 120, width=100)
    assert len(rows) == 7 and rows[3] == ""
    assert [rows[i][:4] for i in (0, 1, 4, 5)] == ["REF:", "HYP:", "REF:", "HYP:"]
    assert rows[1] == "HYP: " + "X" * 120 and rows[2].strip() == "S"


def test_no_errors_gives_an_empty_marker_row():
    assert evaluate.aligned_errors("A B", "A B") == ["REF: A B", "HYP: A B", ""]


def test_character_rows():
    rows = evaluate.aligned_errors("CAT", "CUT", unit="char")
    assert rows == ["REF: CAT", "HYP: CUT", "      S"]


def test_normalise():
    assert evaluate.normalise("  Don't stop, e-mail me! 42 ") == "DON'T STOP E MAIL ME"
    assert evaluate.normalise("") == ""


@pytest.mark.parametrize("snr", [30, 10, 0, -5])
def test_noise_is_added_at_the_requested_snr(snr):
    clean = torch.sin(torch.linspace(0, 2000, 16000))[None] * 0.3
    noisy = evaluate.add_noise_at_snr(clean, snr, seed=7)
    assert noisy.shape == clean.shape
    assert math.isclose(evaluate.snr_db(clean, noisy), snr, abs_tol=1e-3)


def test_noise_is_seeded_and_white():
    clean = torch.zeros(1, 32000) + 0.1
    a = evaluate.add_noise_at_snr(clean, 10, seed=1)
    assert torch.equal(a, evaluate.add_noise_at_snr(clean, 10, seed=1))
    assert not torch.equal(a, evaluate.add_noise_at_snr(clean, 10, seed=2))
    spectrum = torch.fft.rfft(a[0] - clean[0]).abs().pow(2)
    low, high = spectrum[1:8000].mean(), spectrum[8000:16000].mean()
    assert 0.9 < float(low / high) < 1.1  # flat: as much power at low as at high frequencies


def test_check_normalise(capsys):
    assert evaluate.check_normalise(evaluate.normalise) is True
    assert evaluate.check_normalise(lambda t: t.upper().strip()) is False
    assert "expected" in capsys.readouterr().out


def test_check_edit_distance(capsys):
    assert evaluate.check_edit_distance(F.edit_distance) is True
    assert evaluate.check_edit_distance(lambda r, h: abs(len(r) - len(h))) is False
    assert "Hint" in capsys.readouterr().out


def test_checkers_do_not_raise_on_stubs_or_crashes(capsys):
    def stub(*args):
        raise NotImplementedError

    assert evaluate.check_edit_distance(stub) is False
    assert "Not attempted yet" in capsys.readouterr().out
    assert evaluate.check_normalise(lambda t: t.nope()) is False
    assert "AttributeError" in capsys.readouterr().out


@pytest.mark.online
def test_real_weights_give_zero_wer_on_the_clean_sample(real_sample_emission):
    _, emission = real_sample_emission
    hypothesis = decoding.greedy_decode(emission, models.bundle().get_labels())
    assert evaluate.wer(assets.SAMPLE_TRANSCRIPT, hypothesis) == 0
    assert evaluate.cer(assets.SAMPLE_TRANSCRIPT, hypothesis) == 0
