"""CTC alignment: brute-force path sums against ctc_loss, forced alignment on hand-made
emissions with a known answer, and the exercise checkers."""

from __future__ import annotations

import math

import pytest
import torch

from helpers import alignment
from helpers.alignment import (WordSpan, align_words, enumerate_alignments, forced_token_spans,
                               min_frames, total_probability, transcript_tokens)
from helpers.decoding import collapse

LABELS = ("-", "|", "A", "B", "C")


def ctc_loss_probability(probs: torch.Tensor, target: list[int]) -> float:
    """exp(-ctc_loss): torch's p(target) for one ``(frames, labels)`` probability table."""
    loss = torch.nn.functional.ctc_loss(
        probs.log()[:, None, :], torch.tensor([target]), torch.tensor([probs.shape[0]]),
        torch.tensor([len(target)]), blank=0, reduction="sum")
    return math.exp(-float(loss))


def test_brute_force_matches_ctc_loss_on_random_problems():
    g = torch.Generator().manual_seed(0)
    for _ in range(40):
        n_labels = int(torch.randint(2, 5, (1,), generator=g))
        frames = int(torch.randint(1, 6, (1,), generator=g))
        length = int(torch.randint(1, 4, (1,), generator=g))
        target = torch.randint(1, n_labels, (length,), generator=g).tolist()
        probs = torch.randn(frames, n_labels, generator=g).softmax(-1).double()
        if min_frames(target) > frames:
            assert enumerate_alignments(probs, target) == []
            continue
        assert math.isclose(total_probability(probs, target), ctc_loss_probability(probs, target),
                            rel_tol=1e-9)


def test_each_listed_path_collapses_to_the_target_and_none_is_missing():
    probs = torch.full((4, 3), 1 / 3, dtype=torch.float64)
    found = enumerate_alignments(probs, [1, 1])
    paths = {p for p, _ in found}
    assert paths == {(1, 0, 1, 0), (0, 1, 0, 1), (1, 1, 0, 1), (1, 0, 0, 1), (1, 0, 1, 1)}
    assert all(collapse(p, blank=0) == [1, 1] for p in paths)
    assert all(math.isclose(p, 3 ** -4) for _, p in found)


def test_paths_are_sorted_most_probable_first():
    g = torch.Generator().manual_seed(3)
    found = enumerate_alignments(torch.rand(5, 3, generator=g).softmax(-1), [1, 2])
    probs = [p for _, p in found]
    assert probs == sorted(probs, reverse=True) and len(found) > 1


def test_too_many_paths_is_refused():
    with pytest.raises(ValueError, match="too many"):
        enumerate_alignments(torch.ones(20, 29) / 29, [1])


def test_min_frames_counts_repeats():
    assert min_frames([1, 2, 3]) == 3
    assert min_frames([1, 1, 2, 2]) == 6


def test_transcript_tokens():
    assert transcript_tokens("ab  c", LABELS) == [2, 3, 1, 4]
    with pytest.raises(ValueError, match=r"\['D'\]"):
        transcript_tokens("A D", LABELS)


def emission_spelling(frames: str, peak: float = 5.0) -> torch.Tensor:
    """Logits whose most likely label at frame t is ``frames[t]`` (logit ``peak``, others 0)."""
    e = torch.zeros(len(frames), len(LABELS))
    for t, ch in enumerate(frames):
        e[t, LABELS.index(ch)] = peak
    return e


def test_align_words_on_a_hand_made_emission():
    # frames:  0 1 2 3 4 5 6 7 8 9
    emission = emission_spelling("-AA-B||CC-")
    words = align_words(emission[None], "ab c", LABELS)
    p = math.exp(5) / (math.exp(5) + len(LABELS) - 1)  # each frame's softmax at the peak
    assert [w.word for w in words] == ["AB", "C"]
    assert [(round(w.start_s, 6), round(w.end_s, 6)) for w in words] == [(0.02, 0.10),
                                                                         (0.14, 0.18)]
    assert all(isinstance(w, WordSpan) and math.isclose(w.score, p, rel_tol=1e-5) for w in words)


def test_a_doubled_letter_gets_two_spans_and_a_weak_frame_lowers_the_score():
    emission = emission_spelling("-A-A|B")
    emission[5] = torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0])  # B only slightly ahead here
    path, spans = forced_token_spans(emission, transcript_tokens("AA B", LABELS))
    assert path.tolist() == [0, 2, 0, 2, 1, 3]
    assert [(s.token, s.start, s.end) for s in spans] == [(2, 1, 2), (2, 3, 4), (1, 4, 5),
                                                          (3, 5, 6)]
    words = align_words(emission, "AA B", LABELS)
    assert words[0].score > 0.9 > words[1].score
    assert math.isclose(words[1].score, math.e / (math.e + 4), rel_tol=1e-5)


def test_alignment_is_forced_even_against_the_emission():
    words = align_words(emission_spelling("CCCCCC"), "A B", LABELS)
    assert [w.word for w in words] == ["A", "B"]
    assert words[0].end_s <= words[1].start_s and all(w.score < 0.01 for w in words)


def test_too_few_frames_is_explained():
    with pytest.raises(ValueError, match="at least 3 frames"):
        align_words(emission_spelling("AA"), "AA", LABELS)


def test_plot_word_spans_draws_one_span_and_label_per_word():
    import matplotlib

    matplotlib.use("Agg")
    words = [WordSpan("AB", 0.1, 0.3, 0.9), WordSpan("C", 0.4, 0.5, 0.5)]
    ax = alignment.plot_word_spans(words, torch.zeros(1, 16000), 16000)
    assert len(ax.patches) == 2
    assert {t.get_text() for t in ax.texts} == {"AB", "C", "0.90", "0.50"}
    assert ax.get_xlabel() == "time (s)"


def test_check_transcript_tokens(capsys):
    full = LABELS + ("'",) + tuple("DEFGHIJKLMNOPQRSTUVWXYZ")
    assert alignment.check_transcript_tokens(transcript_tokens, full) is True
    no_delimiter = lambda text, labels: [labels.index(c) for c in text.upper() if c != " "]  # noqa: E731
    assert alignment.check_transcript_tokens(no_delimiter, full) is False
    assert "expected" in capsys.readouterr().out


def test_check_ctc_forward(capsys):
    assert alignment.check_ctc_forward(lambda p, t, blank: total_probability(p, t, blank))

    def blanks_first(probs, target, blank):  # a typical mistake: drop blanks, then merge
        import itertools
        total = 0.0
        for path in itertools.product(range(len(probs[0])), repeat=len(probs)):
            merged = [k for k, _ in itertools.groupby(x for x in path if x != blank)]
            if merged == list(target):
                total += alignment.path_probability(probs, path)
        return total

    assert alignment.check_ctc_forward(blanks_first) is False
    assert "Hint: put a blank" in capsys.readouterr().out


def test_checkers_do_not_raise_on_stubs_or_crashes(capsys):
    def stub(*args):
        raise NotImplementedError

    assert alignment.check_ctc_forward(stub) is False
    assert "Not attempted yet" in capsys.readouterr().out
    assert alignment.check_transcript_tokens(lambda t, labels: 1 / 0, LABELS) is False
    assert "ZeroDivisionError" in capsys.readouterr().out
