"""Both loaders, through the libraries' own code, from the stand-in mirror (and the real
weights when online)."""

from __future__ import annotations

import pytest
import torch

from helpers import assets, audio, decoding, models

REAL_TRANSCRIPT = assets.SAMPLE_TRANSCRIPT


@pytest.fixture(scope="module")
def torchaudio_model():
    return models.load_torchaudio_model(progress=False)


@pytest.fixture(scope="module")
def hf():
    return models.load_hf_model(progress=False)


@pytest.fixture(scope="module")
def sample(voices_sample_path):
    waveform, _ = audio.load_audio(voices_sample_path, verbose=False)
    return waveform


def test_torchaudio_checkpoint_lands_in_torch_hub(torchaudio_model):
    path = assets.local_path("torchaudio_wav2vec2_base_960h")
    assert path.parent == assets.torch_hub_checkpoints() and path.exists()
    assert path.name == models.bundle()._path


def test_standin_is_reported(torchaudio_model, hf):
    assert models.weights_are_standin() is True
    assert models.standin_banner() is not None
    assert models.standin_banner(force=False) is None


@pytest.mark.needs_sample
def test_torchaudio_emission_shape(torchaudio_model, sample):
    with torch.inference_mode():
        emission, _ = torchaudio_model(sample)
    assert emission.shape == (1, 169, 29)  # 54,400 samples -> 169 frames of 20 ms
    assert len(models.bundle().get_labels()) == 29


@pytest.mark.needs_sample
def test_hf_and_torchaudio_agree_on_same_weights(torchaudio_model, hf, sample):
    model, _ = hf
    with torch.inference_mode():
        emission, _ = torchaudio_model(sample)
        logits = model(sample).logits
    assert logits.shape[-1] == 32
    keep = [0] + list(range(4, 32))  # drop <s>, </s>, <unk>: HF's <pad> is the blank "-"
    assert torch.equal(emission, logits[..., keep])


def test_hf_processor_labels_map_to_torchaudio(hf):
    _, processor = hf
    vocab = processor.tokenizer.get_vocab()
    ta_labels = models.bundle().get_labels()
    hf_by_id = {i: t for t, i in vocab.items()}
    mapped = ["-" if hf_by_id[i] == "<pad>" else hf_by_id[i] for i in [0] + list(range(4, 32))]
    assert tuple(mapped) == ta_labels


@pytest.mark.online
def test_real_weights_transcribe_the_sample(real_sample_emission):
    waveform, emission = real_sample_emission
    assert decoding.greedy_decode(emission, models.bundle().get_labels()) == REAL_TRANSCRIPT
    hf_model, processor = models.load_hf_model()
    inputs = processor(waveform[0].numpy(), sampling_rate=16000, return_tensors="pt")
    with torch.inference_mode():
        ids = hf_model(inputs.input_values).logits.argmax(-1)
    assert processor.batch_decode(ids)[0] == REAL_TRANSCRIPT
