"""Time, samples and frames: the geometry of wav2vec2's convolutional feature encoder, a
layer-to-layer similarity measure, and the self-checks of notebooks 01 and 02.

The feature encoder is a stack of 1-D convolutions without padding. From its kernel sizes
and strides follow how many input samples one output frame sees (the *receptive field*) and
how far apart two neighbouring frames start (the *hop*): 400 and 320 samples for wav2vec2,
25 ms and 20 ms at 16 kHz.

The ``check_*`` functions test a learner's function on cases the notebook does not show.
They print what failed, what was expected and a hint, return ``True`` or ``False``, and
never raise: a function that still raises ``NotImplementedError`` counts as "not
attempted yet" (see :mod:`helpers.exercises`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

from .exercises import NOT_ATTEMPTED, attempt

# kernel sizes and strides of wav2vec2's seven convolution layers (base and large alike)
WAV2VEC2_KERNELS = (10, 3, 3, 3, 3, 2, 2)
WAV2VEC2_STRIDES = (5, 2, 2, 2, 2, 2, 2)


# --------------------------------------------------------------------------- geometry


def _layers(kernels: Sequence[int], strides: Sequence[int]) -> list[tuple[int, int]]:
    kernels, strides = [int(k) for k in kernels], [int(s) for s in strides]
    if len(kernels) != len(strides) or not kernels:
        raise ValueError(f"need one stride per kernel, got {len(kernels)} kernels and "
                         f"{len(strides)} strides")
    if min(kernels) < 1 or min(strides) < 1:
        raise ValueError("kernel sizes and strides must be positive integers")
    return list(zip(kernels, strides))


def conv_geometry(kernels: Sequence[int], strides: Sequence[int]) -> tuple[int, int]:
    """``(receptive_field, hop)`` in input samples of a stack of unpadded 1-D convolutions.

    Layer by layer, starting from one sample (field 1, hop 1): a kernel of size ``k`` adds
    ``(k - 1)`` times the current hop to the field, and a stride ``s`` multiplies the hop.
    For wav2vec2's encoder this gives ``(400, 320)``.
    """
    field, hop = 1, 1
    for k, s in _layers(kernels, strides):
        field += (k - 1) * hop
        hop *= s
    return field, hop


def num_frames(num_samples: int, kernels: Sequence[int] = WAV2VEC2_KERNELS,
               strides: Sequence[int] = WAV2VEC2_STRIDES) -> int:
    """Number of output frames the convolution stack makes from ``num_samples`` samples.

    Applies each layer's length rule ``(n - k) // s + 1`` in turn (0 when the input is
    shorter than the kernel). Equals ``(num_samples - field) // hop + 1`` for inputs at
    least one receptive field long.
    """
    n = int(num_samples)
    if n < 0:
        raise ValueError(f"num_samples must be ≥ 0, got {n}")
    for k, s in _layers(kernels, strides):
        n = (n - k) // s + 1 if n >= k else 0
    return n


def frame_span(frame: int, sample_rate: int = 16_000, kernels: Sequence[int] = WAV2VEC2_KERNELS,
               strides: Sequence[int] = WAV2VEC2_STRIDES) -> tuple[float, float]:
    """``(start, end)`` in seconds of the audio that output frame ``frame`` sees."""
    field, hop = conv_geometry(kernels, strides)
    start = int(frame) * hop
    return start / sample_rate, (start + field) / sample_rate


# --------------------------------------------------------------------------- similarity


def _frames_by_dims(x) -> np.ndarray:
    a = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"expected (frames, dims) or (1, frames, dims), got shape {a.shape}")
    return a.astype(np.float64)


def frame_cosine(x, y) -> np.ndarray:
    """Cosine similarity of each frame's vector in ``x`` with the same frame's in ``y``.

    ``x`` and ``y`` are ``(frames, dims)`` (or ``(1, frames, dims)``), tensors or arrays;
    returns one value per frame, in [-1, 1].
    """
    a, b = _frames_by_dims(x), _frames_by_dims(y)
    if a.shape != b.shape:
        raise ValueError(f"the two layers differ in shape: {a.shape} and {b.shape}")
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    if np.any(norms == 0):
        raise ValueError("a frame vector is all zeros: its direction (and cosine) is undefined")
    return np.einsum("td,td->t", a, b) / norms


def layer_similarity(features: Sequence) -> np.ndarray:
    """``(L, L)`` matrix: mean over frames of the cosine similarity between layer i and j.

    ``features`` is what ``model.extract_features`` returns: one ``(1, frames, dims)``
    tensor per layer. Entry ``[i, j]`` is the average, over the frames, of the cosine
    between frame t's vector in layer i and frame t's vector in layer j. The matrix is
    symmetric with ones on the diagonal.
    """
    layers = [_frames_by_dims(f) for f in features]
    if not layers:
        raise ValueError("no layers given")
    sim = np.eye(len(layers))
    for i in range(len(layers)):
        for j in range(i + 1, len(layers)):
            sim[i, j] = sim[j, i] = frame_cosine(layers[i], layers[j]).mean()
    return sim


# --------------------------------------------------------------------------- exercise checks


def _same(got, want) -> bool:
    if isinstance(want, tuple):
        return (isinstance(got, (tuple, list)) and len(got) == len(want)
                and all(_same(g, w) for g, w in zip(got, want)))
    if isinstance(want, numbers.Integral):
        return (isinstance(got, numbers.Integral) and not isinstance(got, bool)
                and int(got) == want)
    if isinstance(want, float):
        return isinstance(got, numbers.Real) and math.isclose(got, want, abs_tol=1e-9)
    return got == want


def _check(name: str, fn: Callable, cases: Sequence[tuple], expected: Callable,
           hint: Callable[[tuple, object], str]) -> bool:
    """Run ``fn(*args)`` for each case; print the first failure with a hint. Never raises."""
    if not callable(fn):
        print(f"✗ {name}: expected a function, got {type(fn).__name__}")
        return False
    for args in cases:
        call = f"{name}({', '.join(map(repr, args))})"
        ok, got = attempt(fn, *args)
        if not ok:
            print(f"… {name}: {got}" if got == NOT_ATTEMPTED else f"✗ {call}: {got}")
            return False
        want = expected(*args)
        if not _same(got, want):
            print(f"✗ {call} returned {got!r} ({type(got).__name__}); expected {want!r}.\n"
                  f"  Hint: {hint(args, got)}")
            return False
    print(f"✓ {name}: correct on all {len(cases)} test cases.")
    return True


def _sample_index_hint(args, got) -> str:
    t, sr = args
    if isinstance(got, float):
        return "return an int: an index into the array, not a float"
    if got == int(t * sr):
        return (f"{t} * {sr} is {t * sr!r} in floating point, and int() cuts it down to "
                f"{int(t * sr)}; round() gives the nearest sample")
    return "sample n is at time n / sample_rate, so the sample at time t is t × sample_rate"


def check_sample_index(fn: Callable) -> bool:
    """Check ``fn(t_seconds, sample_rate) -> int``: the index of the sample nearest ``t``."""
    cases = [(1.25, 16_000), (0.0, 8_000), (2.0, 44_100), (2.01, 16_000), (0.7, 44_100),
             (1.001, 22_050), (3.4, 16_000)]
    return _check("sample_index", fn, cases, lambda t, sr: round(t * sr), _sample_index_hint)


def _resampled_length_expected(num_samples: int, orig_rate: int, new_rate: int) -> int:
    import torch
    import torchaudio.functional as F

    return F.resample(torch.zeros(num_samples), orig_rate, new_rate).shape[-1]


def _resampled_length_hint(args, got) -> str:
    n, orig, new = args
    exact = n * new / orig
    if isinstance(got, float):
        return "return an int: a number of samples"
    if exact != int(exact) and got in (math.floor(exact), round(exact)):
        return (f"{n} × {new} / {orig} = {exact:g} is not a whole number; torchaudio keeps "
                "the partial sample at the end (it rounds up)")
    return "the duration stays the same: samples / old rate = new samples / new rate"


def check_resampled_length(fn: Callable) -> bool:
    """Check ``fn(num_samples, orig_rate, new_rate) -> int`` against torchaudio's resample."""
    cases = [(54_400, 16_000, 8_000), (54_401, 16_000, 8_000), (1_000, 16_000, 44_100),
             (100, 44_100, 16_000), (48_000, 48_000, 16_000), (7, 8_000, 16_000)]
    return _check("resampled_length", fn, cases, _resampled_length_expected,
                  _resampled_length_hint)


def _num_frames_hint(args, got) -> str:
    (n,) = args
    field, hop = conv_geometry(WAV2VEC2_KERNELS, WAV2VEC2_STRIDES)
    if n < field:
        return f"with fewer than {field} samples not even one frame fits: the answer is 0"
    if got == n // hop:
        return (f"{n} // {hop} counts hops, but the first frame needs a whole receptive field "
                f"({field} samples); each further frame needs {hop} more")
    return f"the first frame needs {field} samples; each further frame needs {hop} more"


def check_num_frames(fn: Callable) -> bool:
    """Check ``fn(num_samples) -> int``: wav2vec2 frames for a 16 kHz clip of that length."""
    cases = [(16_000,), (0,), (399,), (400,), (719,), (720,), (54_400,), (160_000,), (12_345,)]
    return _check("frames_for", fn, cases, lambda n: num_frames(n), _num_frames_hint)


def _frame_span_hint(args, got) -> str:
    (k,) = args
    if isinstance(got, (tuple, list)) and len(got) == 2 and all(
            isinstance(v, numbers.Real) for v in got):
        start, end = got
        if math.isclose(start, k * 0.02) and math.isclose(end, (k + 1) * 0.02):
            return ("a frame sees 25 ms of audio, more than the 20 ms hop: neighbouring "
                    "frames overlap by 5 ms")
        if start > 100 or end > 100:
            return "answer in seconds, not samples: divide by the sample rate (16000)"
    return "frame k starts k hops (20 ms each) into the clip and sees one receptive field (25 ms)"


def check_frame_span(fn: Callable) -> bool:
    """Check ``fn(k) -> (start_s, end_s)``: the audio, in seconds, that frame ``k`` sees."""
    cases = [(0,), (1,), (7,), (50,), (168,)]
    return _check("frame_span", fn, cases, lambda k: frame_span(k), _frame_span_hint)
