"""Hugging Face's 32-token vocabulary next to torchaudio's 29 labels, and exercise checkers.

``facebook/wav2vec2-base-960h`` and torchaudio's ``WAV2VEC2_ASR_BASE_960H`` are the same
network with the same output layer, but they name its outputs differently:

* HF's tokenizer has 32 tokens: ``<pad>`` (id 0, the CTC blank), ``<s>``, ``</s>``, ``<unk>``
  (ids 1-3, never trained to fire), then ``|`` and the letters;
* torchaudio has 29 labels: ``-`` (the blank), ``|`` and the letters, in the same order.

The mapping is by *name* (with ``<pad>`` named ``-``), never by position: another checkpoint
may order its vocabulary differently. Plain Python; torch is imported only by the checker
that needs it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import NamedTuple

from .exercises import NOT_ATTEMPTED, attempt

HF_BLANK = "<pad>"  # Wav2Vec2CTCTokenizer's pad token doubles as the CTC blank
TORCHAUDIO_BLANK = "-"


class LabelRow(NamedTuple):
    """One HF token and where it sits in torchaudio's labels (``None`` when it does not)."""

    hf_id: int
    hf_token: str
    ta_index: int | None
    ta_label: str | None


def vocab_tokens(tokenizer) -> list[str]:
    """The tokenizer's tokens in id order: ``tokens[i]`` is the token of output column ``i``."""
    vocab = tokenizer.get_vocab()
    tokens = sorted(vocab, key=vocab.__getitem__)
    if [vocab[t] for t in tokens] != list(range(len(tokens))):
        raise ValueError("the vocabulary's ids are not 0, 1, ..., n-1")
    return tokens


def torchaudio_name(hf_token: str, hf_blank: str = HF_BLANK,
                    ta_blank: str = TORCHAUDIO_BLANK) -> str:
    """What torchaudio calls ``hf_token``: the blank is renamed, every other token kept."""
    return ta_blank if hf_token == hf_blank else hf_token


def label_mapping(hf_tokens: Sequence[str], ta_labels: Sequence[str],
                  hf_blank: str = HF_BLANK, ta_blank: str = TORCHAUDIO_BLANK) -> list[LabelRow]:
    """One :class:`LabelRow` per HF id: its torchaudio index and label, or ``None``s."""
    where = {label: i for i, label in enumerate(ta_labels)}
    rows = []
    for hf_id, token in enumerate(hf_tokens):
        name = torchaudio_name(token, hf_blank, ta_blank)
        index = where.get(name)
        rows.append(LabelRow(hf_id, token, index, None if index is None else name))
    return rows


def columns_to_keep(hf_tokens: Sequence[str], ta_labels: Sequence[str],
                    hf_blank: str = HF_BLANK, ta_blank: str = TORCHAUDIO_BLANK) -> list[int]:
    """HF column for each torchaudio label, in torchaudio's order.

    ``hf_logits[..., columns_to_keep(...)]`` is then laid out exactly like torchaudio's
    emission. For ``facebook/wav2vec2-base-960h`` this is ``[0, 4, 5, ..., 31]``: columns
    1, 2, 3 (``<s>``, ``</s>``, ``<unk>``) are dropped. Raises ``ValueError`` when a
    torchaudio label has no HF token.
    """
    where = {torchaudio_name(t, hf_blank, ta_blank): i for i, t in enumerate(hf_tokens)}
    missing = [label for label in ta_labels if label not in where]
    if missing:
        raise ValueError(f"torchaudio labels without an HF token: {missing}")
    return [where[label] for label in ta_labels]


def dropped_columns(hf_tokens: Sequence[str], ta_labels: Sequence[str], **names) -> list[int]:
    """HF columns that no torchaudio label uses (``[1, 2, 3]`` for the 960h checkpoint)."""
    keep = set(columns_to_keep(hf_tokens, ta_labels, **names))
    return [i for i in range(len(hf_tokens)) if i not in keep]


def to_torchaudio_order(logits, hf_tokens: Sequence[str], ta_labels: Sequence[str]):
    """HF logits ``(..., len(hf_tokens))`` as a torchaudio emission ``(..., len(ta_labels))``."""
    return logits[..., columns_to_keep(hf_tokens, ta_labels)]


def format_mapping(rows: Sequence[LabelRow]) -> str:
    """The mapping as a fixed-width text table (``—`` where torchaudio has no column)."""
    lines = [f"{'HF id':>5}  {'HF token':<8}  {'torchaudio index':>16}  torchaudio label",
             "-" * 50]
    for r in rows:
        index = "—" if r.ta_index is None else str(r.ta_index)
        label = "— (no column)" if r.ta_label is None else repr(r.ta_label)
        lines.append(f"{r.hf_id:>5}  {r.hf_token!r:<8}  {index:>16}  {label}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- exercises

_SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")


def _exercise_cases(ta_labels: Sequence[str]) -> list[tuple[str, list[str], tuple[str, ...]]]:
    """(description, hf_tokens, ta_labels): the 960h layout, then vocabularies in other orders."""
    ta_labels = tuple(ta_labels)
    letters = list(ta_labels[1:])
    shuffled = list(_SPECIALS) + letters
    random.Random(2021).shuffle(shuffled)
    return [
        ("facebook/wav2vec2-base-960h's vocabulary", list(_SPECIALS) + letters, ta_labels),
        ("a vocabulary with the special tokens at the end",
         letters + ["<unk>", "<pad>", "<s>", "</s>"], ta_labels),
        ("a vocabulary in shuffled order", shuffled, ta_labels),
        ("a tiny 7-token vocabulary", ["<unk>", "C", "<pad>", "|", "B", "<s>", "A"],
         ("-", "|", "A", "B", "C")),
    ]


def _default_labels() -> tuple[str, ...]:
    from . import models

    return tuple(models.bundle().get_labels())


def _short(seq: Sequence, limit: int = 8) -> str:
    seq = list(seq)
    return repr(seq) if len(seq) <= limit else repr(seq[:limit])[:-1] + f", ... ({len(seq)} in all)]"


def _describe_columns(got, logits, hf_tokens, labels) -> str:
    """Which HF token each wrong output column came from, e.g. ``'-' <- HF 'E'``."""
    import torch

    parts = []
    for j, label in enumerate(labels):
        want = hf_tokens.index(HF_BLANK if label == TORCHAUDIO_BLANK else label)
        if torch.equal(got[..., j], logits[..., want]):
            continue
        source = [k for k in range(logits.shape[-1]) if torch.equal(got[..., j], logits[..., k])]
        parts.append(f"{label!r} <- " + (f"HF {hf_tokens[source[0]]!r}" if source else "changed values"))
    more = f" ... ({len(parts)} wrong)" if len(parts) > 4 else ""
    return ("wrong columns (torchaudio label <- what your answer put there): "
            + ", ".join(parts[:4]) + more)


def check_hf_id_to_label(fn: Callable, ta_labels: Sequence[str] | None = None,
                         verbose: bool = True) -> bool:
    """Check ``fn(hf_id, hf_tokens, ta_labels) -> str | None``.

    Correct answer: the torchaudio label of HF output ``hf_id`` (``'-'`` for the blank
    ``'<pad>'``), or ``None`` for a token torchaudio has no label for. Tested on every id of
    the 960h vocabulary and of vocabularies in other orders. Prints what failed and a hint;
    returns True/False, never raises because of the answer.
    """
    ta_labels = _default_labels() if ta_labels is None else tuple(ta_labels)
    n = 0
    for what, hf_tokens, labels in _exercise_cases(ta_labels):
        for hf_id, token in enumerate(hf_tokens):
            name = torchaudio_name(token)
            expected = name if name in labels else None
            call = f"hf_id_to_label({hf_id}, hf_tokens={_short(hf_tokens)}, ta_labels={_short(labels)})"
            ok, got = attempt(fn, hf_id, list(hf_tokens), tuple(labels))
            if not ok:
                print(f"Exercise 1: {got}" if got == NOT_ATTEMPTED
                      else f"✗ In {what}:\n  {call}\n  {got}; expected {expected!r}")
                return False
            n += 1
            if got != expected:
                if token == HF_BLANK:
                    hint = ("'<pad>' is the CTC blank; torchaudio calls the blank '-'.")
                elif expected is None:
                    hint = (f"{token!r} is not one of torchaudio's labels, so it has no torchaudio "
                            "column: return None.")
                else:
                    hint = ("look the token up by its id (hf_tokens[hf_id]) instead of computing a "
                            "position from the id: vocabularies order their tokens differently.")
                print(f"✗ In {what}:\n  {call}\n  returned {got!r}, expected {expected!r} "
                      f"(token {token!r}).\n  Hint: {hint}")
                return False
    if verbose:
        print(f"✓ Correct on all {n} ids, in 4 vocabularies (3 of them in another order).")
    return True


def check_to_torchaudio_order(fn: Callable, ta_labels: Sequence[str] | None = None,
                              verbose: bool = True) -> bool:
    """Check ``fn(logits, hf_tokens, ta_labels) -> tensor``.

    Correct answer: ``logits`` ``(batch, frames, len(hf_tokens))`` with its columns picked and
    ordered like ``ta_labels`` (so ``(batch, frames, len(ta_labels))``), values unchanged.
    Tested on random logits with the 960h vocabulary and vocabularies in other orders.
    Prints what failed and a hint; returns True/False, never raises because of the answer.
    """
    import torch

    ta_labels = _default_labels() if ta_labels is None else tuple(ta_labels)
    g = torch.Generator().manual_seed(0)
    for case, (what, hf_tokens, labels) in enumerate(_exercise_cases(ta_labels), start=1):
        logits = torch.randn(1, 7, len(hf_tokens), generator=g)
        expected = logits[..., columns_to_keep(hf_tokens, labels)]
        call = (f"to_torchaudio_order(logits of shape {tuple(logits.shape)}, "
                f"hf_tokens={_short(hf_tokens)}, ta_labels={_short(labels)})")
        ok, got = attempt(fn, logits.clone(), list(hf_tokens), tuple(labels))
        if not ok:
            print(f"Exercise 2: {got}" if got == NOT_ATTEMPTED
                  else f"✗ In {what}:\n  {call}\n  {got}")
            return False
        if not torch.is_tensor(got):
            print(f"✗ In {what}:\n  {call}\n  returned a {type(got).__name__}, expected a tensor.")
            return False
        if tuple(got.shape) != tuple(expected.shape):
            print(f"✗ In {what}:\n  {call}\n  returned shape {tuple(got.shape)}, expected "
                  f"{tuple(expected.shape)}: one column per torchaudio label.\n  Hint: keep "
                  "the blank ('<pad>') and drop only the tokens torchaudio has no label for.")
            return False
        if not torch.equal(got, expected):
            found = _describe_columns(got, logits, hf_tokens, labels)
            if "changed values" in found:
                hint = "return the chosen columns as they are (no softmax, no scaling)."
            elif case == 1:
                hint = ("column j must be the HF column whose token is ta_labels[j]: '<pad>' for "
                        "'-', and <s>, </s>, <unk> dropped.")
            else:
                hint = ("column j must be the HF column whose token is ta_labels[j] ('<pad>' "
                        "for '-'). Look it up by name: positions that work for 960h's "
                        "vocabulary do not work here.")
            print(f"✗ In {what}:\n  {call}\n  {found}\n  Hint: {hint}")
            return False
    if verbose:
        print("✓ Correct in 4 vocabularies (3 of them in another order).")
    return True
