"""Frame geometry against real convolutions and the real model, the layer similarity
matrix, and the exercise checkers (accept right answers, explain wrong ones, never raise)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import features
from helpers.features import (WAV2VEC2_KERNELS, WAV2VEC2_STRIDES, conv_geometry, frame_cosine,
                              frame_span, layer_similarity, num_frames)

RANDOM_STACKS = [((3,), (1,)), ((2, 2), (2, 2)), ((5, 3), (2, 3)), ((7, 4, 3), (3, 1, 2)),
                 ((4, 4, 2, 3), (2, 3, 1, 2))]


def conv_stack(kernels, strides) -> torch.nn.Sequential:
    """Unpadded 1-channel convolutions with all-one weights (no cancellation)."""
    layers = [torch.nn.Conv1d(1, 1, k, s, bias=False) for k, s in zip(kernels, strides)]
    for layer in layers:
        torch.nn.init.ones_(layer.weight)
    return torch.nn.Sequential(*layers)


def measured_span(stack, length: int, frame: int) -> tuple[int, int]:
    """First and last input sample that output ``frame`` depends on (via the gradient)."""
    x = torch.zeros(1, 1, length, requires_grad=True)
    stack(x)[0, 0, frame].backward()
    touched = torch.nonzero(x.grad[0, 0]).flatten()
    return int(touched[0]), int(touched[-1])


@pytest.fixture(scope="module")
def model():
    from helpers import models

    return models.load_torchaudio_model(progress=False)


# --------------------------------------------------------------------------- geometry


def test_wav2vec2_geometry_is_400_and_320():
    assert conv_geometry(WAV2VEC2_KERNELS, WAV2VEC2_STRIDES) == (400, 320)


@pytest.mark.parametrize("kernels, strides", RANDOM_STACKS + [(WAV2VEC2_KERNELS,
                                                                WAV2VEC2_STRIDES)])
def test_geometry_matches_measured_dependence(kernels, strides):
    field, hop = conv_geometry(kernels, strides)
    stack = conv_stack(kernels, strides)
    length = field + 3 * hop
    first0, last0 = measured_span(stack, length, 0)
    first1, _ = measured_span(stack, length, 1)
    assert (first0, last0 - first0 + 1) == (0, field)
    assert first1 - first0 == hop


@pytest.mark.parametrize("kernels, strides", RANDOM_STACKS)
def test_num_frames_matches_real_convolutions(kernels, strides):
    stack = conv_stack(kernels, strides)
    field, _ = conv_geometry(kernels, strides)
    for length in range(field, field + 40):
        with torch.no_grad():
            out = stack(torch.zeros(1, 1, length)).shape[-1]
        assert num_frames(length, kernels, strides) == out, length


@pytest.mark.parametrize("length", [400, 401, 719, 720, 1_000, 16_000, 54_400, 54_719, 54_720])
def test_num_frames_matches_the_model(model, length):
    with torch.inference_mode():
        x, _ = model.feature_extractor(torch.zeros(1, length), None)
    assert num_frames(length) == x.shape[1]


def test_model_layers_are_the_ones_the_helper_assumes(model):
    convs = [block.conv for block in model.feature_extractor.conv_layers]
    assert tuple(c.kernel_size[0] for c in convs) == WAV2VEC2_KERNELS
    assert tuple(c.stride[0] for c in convs) == WAV2VEC2_STRIDES


def test_num_frames_closed_form_and_short_input():
    field, hop = conv_geometry(WAV2VEC2_KERNELS, WAV2VEC2_STRIDES)
    for n in range(field, 20 * hop, 37):
        assert num_frames(n) == (n - field) // hop + 1
    assert [num_frames(n) for n in (0, 1, field - 1)] == [0, 0, 0]


def test_bad_geometry_is_refused():
    with pytest.raises(ValueError, match="one stride per kernel"):
        conv_geometry((3, 3), (2,))
    with pytest.raises(ValueError, match="positive"):
        num_frames(100, (3, 0), (1, 1))
    with pytest.raises(ValueError, match="≥ 0"):
        num_frames(-1)


def test_frame_span_in_seconds():
    assert frame_span(0) == (0.0, 0.025)
    start, end = frame_span(168)
    assert math.isclose(start, 3.36) and math.isclose(end, 3.385)
    assert end <= 54_400 / 16_000  # the last frame of the sample fits in the clip


# --------------------------------------------------------------------------- similarity


def test_frame_cosine_known_values():
    x = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    y = np.array([[2.0, 0.0], [-1.0, -1.0], [3.0, 0.0]])
    assert np.allclose(frame_cosine(x, y), [1.0, -1.0, 0.0])


def test_layer_similarity_is_symmetric_with_unit_diagonal():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(1, 50, 16, generator=g)
    layers = [base + 0.5 * i * torch.randn(1, 50, 16, generator=g) for i in range(5)]
    sim = layer_similarity(layers)
    assert sim.shape == (5, 5)
    assert np.array_equal(sim, sim.T)
    assert np.allclose(np.diag(sim), 1.0)
    assert np.all(sim <= 1 + 1e-12) and np.all(sim >= -1 - 1e-12)
    assert sim[0, 1] > sim[0, 4]  # more added noise, less similar


def test_layer_similarity_entries_are_mean_frame_cosines():
    g = torch.Generator().manual_seed(1)
    layers = [torch.randn(1, 30, 8, generator=g) for _ in range(3)]
    sim = layer_similarity(layers)
    a, b = layers[0][0].double(), layers[2][0].double()
    expected = torch.nn.functional.cosine_similarity(a, b, dim=1).mean().item()
    assert math.isclose(sim[0, 2], expected, rel_tol=1e-12)


def test_layer_similarity_scale_invariant_and_sign_sensitive():
    x = np.random.default_rng(2).standard_normal((20, 6))
    sim = layer_similarity([x, 3.0 * x, -x])
    assert np.allclose(sim, [[1, 1, -1], [1, 1, -1], [-1, -1, 1]])


def test_similarity_refuses_mismatched_or_zero_frames():
    with pytest.raises(ValueError, match="differ in shape"):
        frame_cosine(np.ones((3, 4)), np.ones((4, 4)))
    with pytest.raises(ValueError, match="all zeros"):
        frame_cosine(np.zeros((3, 4)), np.ones((3, 4)))


def test_similarity_of_real_model_layers(model):
    with torch.inference_mode():
        feats, _ = model.extract_features(torch.randn(1, 8_000, generator=torch.Generator()
                                                      .manual_seed(3)))
    sim = layer_similarity(feats)
    assert sim.shape == (12, 12) and np.array_equal(sim, sim.T)
    assert np.allclose(np.diag(sim), 1.0)


# --------------------------------------------------------------------------- exercise checks


def not_attempted(*args):
    raise NotImplementedError


CHECKERS = {
    "check_sample_index": (lambda t, sr: round(t * sr), lambda t, sr: int(t * sr)),
    "check_resampled_length": (lambda n, o, w: math.ceil(n * w / o),
                               lambda n, o, w: n * w // o),
    "check_num_frames": (lambda n: max(0, (n - 400) // 320 + 1), lambda n: n // 320),
    "check_frame_span": (lambda k: (k * 0.02, k * 0.02 + 0.025),
                         lambda k: (k * 0.02, (k + 1) * 0.02)),
}


@pytest.mark.parametrize("name", CHECKERS)
def test_checker_accepts_a_right_answer(name, capsys):
    right, _ = CHECKERS[name]
    assert getattr(features, name)(right) is True
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("name", CHECKERS)
def test_checker_explains_a_typical_wrong_answer(name, capsys):
    _, wrong = CHECKERS[name]
    assert getattr(features, name)(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and "expected" in out and "Hint:" in out


@pytest.mark.parametrize("name", CHECKERS)
def test_checker_stub_is_not_attempted_yet(name, capsys):
    assert getattr(features, name)(not_attempted) is False
    assert "Not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize("name", CHECKERS)
def test_checker_reports_a_crash_without_raising(name, capsys):
    assert getattr(features, name)(lambda *a: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert getattr(features, name)("not a function") is False


def test_specific_hints(capsys):
    features.check_sample_index(lambda t, sr: int(t * sr))
    assert "round()" in capsys.readouterr().out
    features.check_resampled_length(lambda n, o, w: round(n * w / o))
    assert "rounds up" in capsys.readouterr().out
    features.check_num_frames(lambda n: n // 320)
    assert "receptive field" in capsys.readouterr().out
    features.check_frame_span(lambda k: (k * 0.02, (k + 1) * 0.02))
    assert "overlap by 5 ms" in capsys.readouterr().out
    features.check_sample_index(lambda t, sr: t * sr)
    assert "return an int" in capsys.readouterr().out
