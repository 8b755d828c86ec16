"""Reading an emission: probabilities per frame, how peaky they are, the top labels of a frame,
and the self-checks for the exercises of ``03_emission``.

An *emission* is what the CTC model outputs: one row of scores (logits) per 20 ms frame, one
column per label. ``log_softmax`` over the labels turns each row into log probabilities.
Functions here take those log probabilities, ``(frames, labels)``, as torch tensors.
"""

from __future__ import annotations

import math

from .audio import FIELD_SAMPLES, FRAME_SAMPLES
from .decoding import one_emission
from .exercises import NOT_ATTEMPTED, attempt
from . import features


DISPLAY_NAMES = {"-": "- (blank)", "|": "| (word gap)"}


def display_name(label: str) -> str:
    """A label as readers should see it: the blank and the word delimiter are spelled out."""
    return DISPLAY_NAMES.get(label, label)


def frame_times(num_frames: int, sample_rate: int = 16_000):
    """Centre of each frame's 400-sample receptive field, in seconds (a 1-D numpy array)."""
    import numpy as np

    return (np.arange(num_frames) * FRAME_SAMPLES + FIELD_SAMPLES / 2) / sample_rate



def blank_share(log_probs, blank: int = 0):
    """Probability of the blank label in each frame, ``(frames,)``."""
    return one_emission(log_probs)[:, blank].exp()


def entropy_bits(log_probs):
    """Entropy of each frame's distribution over the labels, in bits, ``(frames,)``.

    0 bits: the model is certain of one label; ``log2(labels)`` bits (4.86 for 29 labels):
    every label equally likely. Labels with probability 0 (log probability ``-inf``)
    contribute 0, the limit of ``p·log p``.
    """
    import torch

    p = one_emission(log_probs).exp()
    return -torch.special.xlogy(p, p).sum(dim=-1) / math.log(2)


def top1_margin(log_probs):
    """Probability of the best label minus that of the second best, per frame, ``(frames,)``."""
    top2 = one_emission(log_probs).exp().topk(2, dim=-1).values
    return top2[:, 0] - top2[:, 1]


def peakiness(log_probs, blank: int = 0) -> dict:
    """The three per-frame confidence curves: ``{"blank", "entropy_bits", "margin"}``."""
    return {
        "blank": blank_share(log_probs, blank),
        "entropy_bits": entropy_bits(log_probs),
        "margin": top1_margin(log_probs),
    }


def top_k(log_probs_frame, labels, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` most likely labels of one frame as ``(label, probability)``, best first."""
    if log_probs_frame.ndim != 1:
        raise ValueError(f"expected one frame (labels,), got shape {tuple(log_probs_frame.shape)}")
    values, indices = log_probs_frame.exp().topk(min(k, log_probs_frame.numel()))
    return [(labels[i], float(v)) for v, i in zip(values.tolist(), indices.tolist())]


# ---------------------------------------------------------------------------------------------
# Exercise checkers. Each calls the learner's function on cases they did not see, prints what
# failed and a hint, and returns True/False; a wrong or unfinished answer never raises.


def reference_frame_count(num_samples: int) -> int:
    """Frames the feature encoder gives for ``num_samples`` samples (see
    :func:`helpers.features.num_frames`, which works through the layers one by one)."""
    return features.num_frames(num_samples)


def check_frame_count(fn, verbose: bool = True) -> bool:
    """Check ``fn(num_samples) -> number of emission frames`` on unseen lengths (16 kHz)."""
    import random

    rng = random.Random(3)
    # ordinary lengths first, so a general mistake gets the general hint; then the edges
    lengths = [16_000, 44_100, 1040] + [rng.randrange(401, 8000) for _ in range(4)]
    lengths += [720, 719, 400, 399, 0]
    say = print if verbose else (lambda *a: None)
    for n in lengths:
        want = reference_frame_count(n)
        ok, got = attempt(fn, n)
        if not ok:
            say(got if got == NOT_ATTEMPTED else f"✗ {got} (for num_samples={n})")
            return False
        try:
            got_int = int(got)
            ok = got_int == got
        except (TypeError, ValueError):
            ok = False
        if not ok:
            say(f"✗ for num_samples={n} your function returned {got!r}; expected a whole "
                f"number of frames ({want}). Hint: use integer division //.")
            return False
        if got_int != want:
            say(f"✗ for num_samples={n} ({n / 16000 * 1000:.1f} ms) you said {got_int} frames; "
                f"the model gives {want}.")
            if n < FIELD_SAMPLES:
                say("  Hint: one frame needs a full receptive field of 400 samples; with fewer "
                    "there is no frame at all (0, never negative).")
            elif got_int == n // FRAME_SAMPLES or got_int == math.ceil(n / FRAME_SAMPLES):
                say("  Hint: dividing by the 320-sample hop is close but not exact: the first "
                    "frame needs 400 samples, each further frame 320 more.")
            else:
                say("  Hint: count how many 400-sample windows fit when each starts 320 samples "
                    "after the previous one.")
            return False
    say(f"✓ all {len(lengths)} lengths give the right number of frames, from {min(lengths)} "
        f"to {max(lengths):,} samples.")
    return True


def _entropy_cases():
    import torch

    g = torch.Generator().manual_seed(7)
    one_hot = torch.full((3, 29), -math.inf)
    one_hot[torch.arange(3), torch.tensor([0, 5, 28])] = 0.0
    two_way = torch.full((2, 4), -math.inf)
    two_way[:, :2] = math.log(0.5)
    return [
        ("uniform over 29 labels (2 frames)", torch.full((2, 29), -math.log(29))),
        ("certain frames: one label with probability 1, the others 0 (log 0 = -inf)", one_hot),
        ("two of 4 labels at 50 % each", two_way),
        ("random emission, 40 frames × 29 labels",
         torch.randn(40, 29, generator=g).mul(3).log_softmax(-1)),
        ("an empty emission (0 frames)", torch.zeros(0, 29)),
    ]


def check_entropy(fn, verbose: bool = True) -> bool:
    """Check ``fn(log_probs) -> entropy per frame in bits`` on unseen emissions."""
    import torch

    say = print if verbose else (lambda *a: None)
    cases = _entropy_cases()
    for name, log_probs in cases:
        want = entropy_bits(log_probs)
        ok, got = attempt(fn, log_probs.clone())
        if not ok:
            say(got if got == NOT_ATTEMPTED else f"✗ {got} (input: {name})")
            return False
        try:
            got = torch.as_tensor(got, dtype=torch.float64).reshape(-1)
        except (TypeError, ValueError, RuntimeError):
            say(f"✗ on {name}: return a tensor with one number per frame, got {type(got).__name__}")
            return False
        if got.numel() != want.numel():
            say(f"✗ on {name}: expected {want.numel()} values (one per frame), got "
                f"{got.numel()}. Hint: sum over the labels only (dim=-1).")
            return False
        want = want.double()
        if torch.allclose(got, want, atol=1e-4, equal_nan=False):
            continue
        say(f"✗ on {name}: expected {_short(want)} bits, got {_short(got)}.")
        if torch.isnan(got).any():
            say("  Hint: p·log p is 0·(-inf) = nan where p = 0; such labels contribute 0. "
                "torch.special.xlogy(p, p) computes p·log p with that rule.")
        elif torch.allclose(got, want * math.log(2), atol=1e-4):
            say("  Hint: that is the entropy in nats (natural log). Divide by ln 2 for bits.")
        elif torch.allclose(got, -want, atol=1e-4):
            say("  Hint: check the sign: entropy is -Σ p·log p, never negative.")
        else:
            say("  Hint: the input is log probabilities; p = log_probs.exp(), and the entropy "
                "of a frame is -Σ p·log2 p over its labels.")
        return False
    say(f"✓ all {len(cases)} emissions give the right entropy (uniform: log2 29 = "
        f"{math.log2(29):.2f} bits; certain: 0 bits).")
    return True


def _short(t) -> str:
    values = [round(v, 3) for v in t.flatten()[:4].tolist()]
    return str(values) + (" ..." if t.numel() > 4 else "")
