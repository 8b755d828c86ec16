"""CTC decoding: from an emission (frames × labels) to text."""

from __future__ import annotations

from collections.abc import Sequence

BLANK = "-"
WORD_DELIMITER = "|"


def collapse(tokens: Sequence, blank=0) -> list:
    """Merge runs of repeated tokens, then drop blanks (the CTC collapse rule)."""
    out, prev = [], None
    for tok in tokens:
        if tok != prev and tok != blank:
            out.append(tok)
        prev = tok
    return out


def one_emission(emission):
    """``emission`` as ``(frames, labels)``: accepts that or a batch of one ``(1, frames, labels)``.

    Raises ``ValueError`` for a larger batch or any other shape.
    """
    if emission.ndim == 3:
        if emission.shape[0] != 1:
            raise ValueError(f"expected one emission, got a batch of {emission.shape[0]}; "
                             "loop over the batch")
        emission = emission[0]
    if emission.ndim != 2:
        raise ValueError(f"expected one emission (frames, labels) or (1, frames, labels), "
                         f"got shape {tuple(emission.shape)}")
    return emission


def greedy_indices(emission, blank: int = 0):
    """Best label per frame, collapsed: ``(indices, first_frames)`` as 1-D tensors.

    ``emission`` is ``(frames, labels)`` or ``(1, frames, labels)``. Vectorised: one argmax,
    one comparison with the previous frame, one mask.
    """
    import torch

    best = one_emission(emission).argmax(dim=-1)
    if best.numel() == 0:
        return best, best
    new_run = torch.ones_like(best, dtype=torch.bool)
    new_run[1:] = best[1:] != best[:-1]
    keep = new_run & (best != blank)
    frames = torch.nonzero(keep).flatten()
    return best[frames], frames


def greedy_decode(emission, labels: Sequence[str], blank: int = 0,
                  delimiter: str = WORD_DELIMITER) -> str:
    """Greedy CTC transcript of one emission: words separated by single spaces."""
    indices, _ = greedy_indices(emission, blank=blank)
    text = "".join(labels[i] for i in indices.tolist())
    return " ".join(text.replace(delimiter, " ").split())


def frame_tokens(emission, labels: Sequence[str]) -> str:
    """The best label of every frame, uncollapsed, as one string (e.g. ``'--II--HH-A...'``)."""
    return "".join(labels[i] for i in one_emission(emission).argmax(dim=-1).tolist())


# facebook/wav2vec2-base-960h's tokenizer: 0 <pad> (the blank), 1 <s>, 2 </s>, 3 <unk>, then the
# 28 labels in torchaudio's order from id 4 ('|'). torchaudio's column k >= 1 is HF id k + 3.
HF_PAD_ID = 0
HF_OFFSET = 3


def to_hf_ids(indices, blank: int = 0) -> list[int]:
    """Map torchaudio label indices (29 labels) to the Hugging Face tokenizer's ids (32)."""
    values = indices.tolist() if hasattr(indices, "tolist") else list(indices)
    return [HF_PAD_ID if i == blank else i + HF_OFFSET for i in values]
