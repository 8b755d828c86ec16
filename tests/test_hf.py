"""helpers.hf: HF's 32 tokens mapped onto torchaudio's 29 labels, and the exercise checkers."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from helpers import assets, audio, hf, models

REAL_TRANSCRIPT = assets.SAMPLE_TRANSCRIPT
TINY_TA = ("-", "|", "A", "B")


@pytest.fixture(scope="module")
def ta_labels():
    return tuple(models.bundle().get_labels())


@pytest.fixture(scope="module")
def hf_pair():
    return models.load_hf_model(progress=False)


@pytest.fixture(scope="module")
def hf_tokens(hf_pair):
    return hf.vocab_tokens(hf_pair[1].tokenizer)


# ------------------------------------------------------------------ mapping on the real vocab


def test_vocab_tokens_follow_ids(hf_pair, hf_tokens):
    tokenizer = hf_pair[1].tokenizer
    assert len(hf_tokens) == 32
    assert [tokenizer.convert_tokens_to_ids(t) for t in hf_tokens] == list(range(32))
    assert hf_tokens[tokenizer.pad_token_id] == hf.HF_BLANK


def test_vocab_tokens_rejects_gaps():
    class Gappy:
        def get_vocab(self):
            return {"<pad>": 0, "A": 2}

    with pytest.raises(ValueError, match="ids"):
        hf.vocab_tokens(Gappy())


def test_mapping_of_the_960h_vocabulary(hf_tokens, ta_labels):
    rows = hf.label_mapping(hf_tokens, ta_labels)
    assert [r.hf_id for r in rows] == list(range(32))
    unmapped = [r.hf_token for r in rows if r.ta_index is None]
    assert unmapped == ["<s>", "</s>", "<unk>"]
    assert rows[0].ta_label == "-" and rows[0].ta_index == 0
    mapped = [r for r in rows if r.ta_index is not None]
    assert sorted(r.ta_index for r in mapped) == list(range(len(ta_labels)))
    for r in mapped:
        assert ta_labels[r.ta_index] == r.ta_label
        assert r.ta_label == (r.hf_token if r.hf_token != "<pad>" else "-")


def test_columns_to_keep_for_960h(hf_tokens, ta_labels):
    keep = hf.columns_to_keep(hf_tokens, ta_labels)
    assert keep == [0] + list(range(4, 32))
    assert hf.dropped_columns(hf_tokens, ta_labels) == [1, 2, 3]


def test_hf_logits_in_torchaudio_order_equal_torchaudio_emission(hf_pair, hf_tokens, ta_labels):
    model, _ = hf_pair
    ta_model = models.load_torchaudio_model(progress=False)
    waveform = torch.randn(1, 16_000, generator=torch.Generator().manual_seed(1)) * 0.1
    with torch.inference_mode():
        emission, _ = ta_model(waveform)
        logits = model(waveform).logits
    ours = hf.to_torchaudio_order(logits, hf_tokens, ta_labels)
    assert ours.shape == emission.shape == (1, 49, 29)
    assert (ours - emission).abs().max().item() <= 1e-4


# ------------------------------------------------------------------ mapping on other vocabularies


def test_columns_follow_names_not_positions():
    tokens = ["B", "<unk>", "|", "<pad>", "A", "<s>"]
    assert hf.columns_to_keep(tokens, TINY_TA) == [3, 2, 4, 0]
    assert hf.dropped_columns(tokens, TINY_TA) == [1, 5]
    logits = torch.arange(12.0).reshape(2, 6)
    out = hf.to_torchaudio_order(logits, tokens, TINY_TA)
    assert out[:, 0].tolist() == logits[:, 3].tolist()  # the blank column
    assert out[:, 3].tolist() == logits[:, 0].tolist()  # 'B'


def test_columns_on_a_random_permutation_select_by_name():
    rng = random.Random(7)
    ta = tuple("-|ABCDEFG")
    tokens = ["<pad>", "<s>", "</s>", "<unk>"] + list(ta[1:])
    rng.shuffle(tokens)
    keep = hf.columns_to_keep(tokens, ta)
    assert [hf.torchaudio_name(tokens[i]) for i in keep] == list(ta)


def test_missing_label_is_an_error():
    with pytest.raises(ValueError, match="'C'"):
        hf.columns_to_keep(["<pad>", "|", "A", "B"], ("-", "|", "A", "B", "C"))


def test_custom_blank_names():
    assert hf.columns_to_keep(["[PAD]", "x"], ("<b>", "x"), hf_blank="[PAD]", ta_blank="<b>") == [0, 1]


def test_format_mapping_has_one_line_per_token(hf_tokens, ta_labels):
    text = hf.format_mapping(hf.label_mapping(hf_tokens, ta_labels))
    lines = text.splitlines()
    assert len(lines) == 2 + 32
    assert "'<pad>'" in lines[2] and "'-'" in lines[2]
    assert "no column" in lines[3] and "'<s>'" in lines[3]


# ------------------------------------------------------------------ normalisation facts


def test_processor_normalises_and_bundle_does_not(hf_pair):
    _, processor = hf_pair
    assert processor.feature_extractor.do_normalize is True
    assert models.bundle()._normalize_waveform is False
    x = np.random.default_rng(0).normal(0.3, 0.05, 16_000).astype(np.float32)
    values = processor(x, sampling_rate=16_000, return_tensors="pt").input_values
    assert abs(values.mean().item()) < 1e-4 and abs(values.std().item() - 1) < 1e-3
    manual = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    np.testing.assert_allclose(values[0].numpy(), manual, atol=1e-5)


# ------------------------------------------------------------------ exercise checkers


def ref_id_to_label(hf_id, hf_tokens, ta_labels):
    name = "-" if hf_tokens[hf_id] == "<pad>" else hf_tokens[hf_id]
    return name if name in ta_labels else None


def ref_order(logits, hf_tokens, ta_labels):
    ids = {("-" if t == "<pad>" else t): i for i, t in enumerate(hf_tokens)}
    return logits[..., [ids[label] for label in ta_labels]]


def not_attempted(*args):
    raise NotImplementedError


@pytest.mark.parametrize("wrong, hint", [
    (lambda i, toks, ta: None if i in (1, 2, 3) else ta[0 if i == 0 else i - 3], "by its id"),
    (lambda i, toks, ta: toks[i] if toks[i] in ta else None, "blank"),
    (lambda i, toks, ta: "-" if toks[i] == "<pad>" else toks[i], "return None"),
    (lambda i, toks, ta: toks.index(i), "raised ValueError"),
])
def test_id_checker_accepts_reference_rejects_wrong(wrong, hint, ta_labels, capsys):
    assert hf.check_hf_id_to_label(ref_id_to_label, ta_labels) is True
    assert "✓" in capsys.readouterr().out
    assert hf.check_hf_id_to_label(wrong, ta_labels) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out and "expected" in out


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, toks, ta: x[..., [0] + list(range(4, 32))], "by name"),  # hard-coded 960h
    (lambda x, toks, ta: x[..., 3:], "'-' <- HF '<unk>'"),                 # off by one
    (lambda x, toks, ta: x[..., 4:], "keep the blank"),                   # drops the blank
    (lambda x, toks, ta: x.numpy(), "expected a tensor"),
    (lambda x, toks, ta: x[..., [toks.index(label) for label in ta]], "raised ValueError"),
])
def test_order_checker_accepts_reference_rejects_wrong(wrong, hint, ta_labels, capsys):
    assert hf.check_to_torchaudio_order(ref_order, ta_labels) is True
    assert "✓" in capsys.readouterr().out
    assert hf.check_to_torchaudio_order(wrong, ta_labels) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def test_checkers_are_quiet_on_success_when_asked(ta_labels, capsys):
    assert hf.check_hf_id_to_label(ref_id_to_label, ta_labels, verbose=False)
    assert hf.check_to_torchaudio_order(ref_order, ta_labels, verbose=False)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("checker, number", [(hf.check_hf_id_to_label, 1),
                                             (hf.check_to_torchaudio_order, 2)])
def test_not_attempted_is_a_message_not_a_crash(checker, number, ta_labels, capsys):
    assert checker(not_attempted, ta_labels) is False
    out = capsys.readouterr().out
    assert f"Exercise {number}: Not attempted yet" in out and "Traceback" not in out


def test_checkers_default_to_the_bundle_labels(capsys):
    assert hf.check_hf_id_to_label(ref_id_to_label) is True
    assert hf.check_to_torchaudio_order(ref_order) is True


# ------------------------------------------------------------------ real weights


@pytest.mark.online
def test_real_weights_hf_route_with_normalisation_transcribes_the_sample(real_weights_env):
    model, processor = models.load_hf_model()
    assert not models.weights_are_standin(assets.HF_MODEL_ASSETS)
    assert processor.feature_extractor.do_normalize is True
    waveform, _ = audio.load_audio(assets.fetch("voices_sample"), verbose=False)
    inputs = processor(waveform[0].numpy(), sampling_rate=16_000, return_tensors="pt")
    assert abs(inputs.input_values.std().item() - 1) < 1e-3  # normalised
    with torch.inference_mode():
        ids = model(inputs.input_values).logits.argmax(-1)
    assert processor.batch_decode(ids)[0] == REAL_TRANSCRIPT
