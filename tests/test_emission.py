"""Peakiness statistics, top-k and the exercise checkers of 03_emission."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import emission as em

LABELS = tuple("-|ETAONIHSRDLUMWCFGYPBVK'XJQZ")


def random_log_probs(frames=50, labels=29, seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(frames, labels, generator=g)).log_softmax(-1)


def test_uniform_and_certain_frames():
    uniform = torch.full((3, 29), -math.log(29))
    stats = em.peakiness(uniform)
    assert torch.allclose(stats["blank"], torch.full((3,), 1 / 29))
    assert torch.allclose(stats["entropy_bits"], torch.full((3,), math.log2(29)))
    assert torch.allclose(stats["margin"], torch.zeros(3), atol=1e-6)
    certain = torch.full((2, 29), -math.inf)
    certain[0, 0] = certain[1, 7] = 0.0
    stats = em.peakiness(certain)
    assert stats["blank"].tolist() == [1.0, 0.0]
    assert stats["entropy_bits"].tolist() == [0.0, 0.0]  # 0·log 0 counts as 0, not nan
    assert stats["margin"].tolist() == [1.0, 1.0]


def test_statistics_match_numpy_on_random_frames():
    lp = random_log_probs()
    p = lp.exp().double().numpy()
    stats = em.peakiness(lp, blank=0)
    assert np.allclose(stats["blank"].numpy(), p[:, 0], atol=1e-6)
    assert np.allclose(stats["entropy_bits"].numpy(), -(p * np.log2(p)).sum(1), atol=1e-4)
    top2 = np.sort(p, axis=1)[:, -2:]
    assert np.allclose(stats["margin"].numpy(), top2[:, 1] - top2[:, 0], atol=1e-6)
    assert all(v.shape == (50,) for v in stats.values())


def test_batch_of_one_is_accepted_larger_batch_refused():
    lp = random_log_probs(frames=7)
    assert torch.equal(em.entropy_bits(lp[None]), em.entropy_bits(lp))
    with pytest.raises(ValueError, match="one emission"):
        em.blank_share(torch.zeros(2, 7, 29))


def test_top_k_is_sorted_and_names_the_labels():
    lp = random_log_probs(frames=1, seed=1)[0]
    top = em.top_k(lp, LABELS, k=5)
    probs = lp.exp()
    order = probs.argsort(descending=True)[:5].tolist()
    assert [label for label, _ in top] == [LABELS[i] for i in order]
    assert [p for _, p in top] == pytest.approx(probs[order].tolist())
    assert len(em.top_k(lp, LABELS, k=100)) == 29
    with pytest.raises(ValueError):
        em.top_k(lp[None], LABELS)


def test_frame_times_are_receptive_field_centres():
    t = em.frame_times(169)
    assert t[0] == pytest.approx(200 / 16000) and np.diff(t) == pytest.approx(0.02)
    assert len(em.frame_times(0)) == 0


def test_display_names():
    assert em.display_name("-") == "- (blank)" and em.display_name("E") == "E"


@pytest.fixture(scope="module")
def feature_encoder():
    import torchaudio

    return torchaudio.models.wav2vec2_base(aux_num_out=29).eval().feature_extractor


@pytest.mark.parametrize("n", [400, 719, 720, 1039, 1040, 4321, 16000, 54400])
def test_reference_frame_count_matches_the_real_encoder(feature_encoder, n):
    with torch.inference_mode():
        features, _ = feature_encoder(torch.zeros(1, n), None)
    assert em.reference_frame_count(n) == features.shape[1]


def test_reference_frame_count_below_one_field():
    assert em.reference_frame_count(399) == 0 and em.reference_frame_count(0) == 0
    assert em.reference_frame_count(54400) == 169  # the VOiCES sample's 169 frames


def test_check_frame_count_accepts_a_correct_answer(capsys):
    assert em.check_frame_count(lambda n: max(0, (n - 400) // 320 + 1)) is True
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda n: n // 320, "first frame needs 400"),
    (lambda n: (n - 400) // 320 + 1, "0, never negative"),
    (lambda n: (n - 400) / 320 + 1, "whole number"),
    (lambda n: (n - 400) // 320, "400-sample windows"),
])
def test_check_frame_count_rejects_with_a_hint(wrong, hint, capsys):
    assert em.check_frame_count(wrong) is False
    assert hint in capsys.readouterr().out


def test_checkers_report_unfinished_and_crashing_answers(capsys):
    def stub(_):
        raise NotImplementedError

    assert em.check_frame_count(stub) is False and em.check_entropy(stub) is False
    assert capsys.readouterr().out.count("Not attempted yet") == 2
    assert em.check_entropy(lambda lp: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert em.check_frame_count(stub, verbose=False) is False
    assert capsys.readouterr().out == ""


def test_check_entropy_accepts_correct_answers(capsys):
    assert em.check_entropy(em.entropy_bits) is True

    def with_numpy(lp):
        p = lp.exp().numpy()
        return -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1)), 0).sum(axis=1)

    assert em.check_entropy(with_numpy) is True
    assert capsys.readouterr().out.count("✓") == 2


@pytest.mark.parametrize("wrong, hint", [
    (lambda lp: -(lp.exp() * lp).sum(-1) / math.log(2), "xlogy"),
    (lambda lp: -torch.special.xlogy(lp.exp(), lp.exp()).sum(-1), "nats"),
    (lambda lp: torch.special.xlogy(lp.exp(), lp.exp()).sum(-1) / math.log(2), "sign"),
    (lambda lp: -torch.special.xlogy(lp.exp(), lp.exp()).sum() / math.log(2), "dim=-1"),
    (lambda lp: -(lp * lp.exp().log()).sum(-1), "log probabilities"),
    (lambda lp: "entropy", "tensor"),
])
def test_check_entropy_rejects_with_a_hint(wrong, hint, capsys):
    assert em.check_entropy(wrong) is False
    assert hint in capsys.readouterr().out
