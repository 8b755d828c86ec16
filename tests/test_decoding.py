"""Greedy CTC decoding: the vectorised helper against a plain loop and known cases."""

from __future__ import annotations

import pytest
import torch

from helpers.decoding import collapse, greedy_decode, greedy_indices

LABELS = ("-", "|", "E", "H", "L", "O")


def one_hot(tokens: str) -> torch.Tensor:
    """An emission whose argmax spells ``tokens`` frame by frame."""
    e = torch.zeros(len(tokens), len(LABELS))
    for t, ch in enumerate(tokens):
        e[t, LABELS.index(ch)] = 1.0
    return e


@pytest.mark.parametrize("frames, text", [
    ("HH-EE-LL-LLOO|", "HELLO"),       # the doubled L survives only with a blank between
    ("HELLO", "HELO"),
    ("--H-|-|--E", "H E"),
    ("-----", ""),
    ("", ""),
])
def test_known_cases(frames, text):
    assert greedy_decode(one_hot(frames), LABELS) == text


def test_batch_of_one_and_frame_positions():
    idx, frames = greedy_indices(one_hot("-HH-E")[None])
    assert idx.tolist() == [3, 2] and frames.tolist() == [1, 4]


def test_matches_plain_loop_on_random_emissions():
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        e = torch.randn(int(torch.randint(1, 300, (1,), generator=g)), len(LABELS), generator=g)
        loop = collapse(e.argmax(-1).tolist(), blank=0)
        assert greedy_indices(e)[0].tolist() == loop


def test_batch_larger_than_one_is_refused():
    with pytest.raises(ValueError, match="one emission"):
        greedy_indices(torch.zeros(2, 5, 6))


def test_one_emission_accepts_a_batch_of_one_and_refuses_other_shapes():
    from helpers.decoding import one_emission

    assert one_emission(torch.zeros(1, 5, 6)).shape == (5, 6)
    assert one_emission(torch.zeros(5, 6)).shape == (5, 6)
    with pytest.raises(ValueError, match="batch of 3"):
        one_emission(torch.zeros(3, 5, 6))
    with pytest.raises(ValueError, match=r"got shape \(5,\)"):
        one_emission(torch.zeros(5))
