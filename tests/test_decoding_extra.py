"""Additions to helpers.decoding: the per-frame token string and torchaudio -> HF token ids."""

from __future__ import annotations

import json

import pytest
import torch

from helpers import assets, decoding, models
from helpers.decoding import frame_tokens, greedy_decode, to_hf_ids

LABELS = tuple("-|ETAONIHSRDLUMWCFGYPBVK'XJQZ")  # torchaudio's WAV2VEC2_ASR_BASE_960H labels
REAL_FRAME_TOKENS_COLLAPSED = "I|HAD|THAT|CURIOSITY|BESIDE|ME|AT|THIS|MOMENT|"


def one_hot(tokens: str) -> torch.Tensor:
    e = torch.zeros(len(tokens), len(LABELS))
    for t, ch in enumerate(tokens):
        e[t, LABELS.index(ch)] = 1.0
    return e


def test_labels_are_the_bundles():
    assert LABELS == models.bundle().get_labels()


@pytest.mark.parametrize("tokens", ["II--HH-A|", "-", "", "Z'"])
def test_frame_tokens_spell_every_frame(tokens):
    assert frame_tokens(one_hot(tokens), LABELS) == tokens
    assert frame_tokens(one_hot(tokens)[None], LABELS) == tokens


def test_frame_tokens_refuses_a_batch():
    with pytest.raises(ValueError, match="one emission"):
        frame_tokens(torch.zeros(2, 3, 29), LABELS)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import Wav2Vec2CTCTokenizer

    names = [n for n in assets.HF_MODEL_ASSETS if not n.endswith("model.safetensors")]
    folder = [assets.fetch(n, progress=False) for n in names][0].parent
    return Wav2Vec2CTCTokenizer.from_pretrained(folder)


def test_to_hf_ids_matches_the_vocabulary():
    vocab = json.loads(assets.fetch("hf_wav2vec2_base_960h/vocab.json", progress=False).read_text())
    by_id = {i: token for token, i in vocab.items()}
    ids = to_hf_ids(torch.arange(29))
    assert [by_id[i] for i in ids] == ["<pad>"] + list(LABELS[1:])
    assert to_hf_ids([0, 1, 2, 0]) == [0, 4, 5, 0]


def test_hf_tokenizer_decodes_like_greedy_decode(tokenizer):
    g = torch.Generator().manual_seed(1)
    for _ in range(100):
        e = torch.randn(int(torch.randint(0, 120, (1,), generator=g)), 29, generator=g)
        e[:, 0] += 1.0  # blanks often win, as in a trained model
        text = tokenizer.decode(to_hf_ids(e.argmax(-1)))
        # the tokenizer keeps two spaces for '|-|'; greedy_decode squeezes them to one
        assert text.split() == greedy_decode(e, LABELS).split()
        assert text == text.strip()


@pytest.mark.online
def test_real_weights_give_the_sample_frame_tokens(real_sample_emission):
    _, emission = real_sample_emission
    per_frame = frame_tokens(emission, LABELS)
    collapsed = "".join(decoding.collapse(per_frame, blank="-"))
    assert collapsed == REAL_FRAME_TOKENS_COLLAPSED
    assert greedy_decode(emission, LABELS) == assets.SAMPLE_TRANSCRIPT
