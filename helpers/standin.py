"""Stand-in weights: a mirror folder that works with no internet at all.

Model weights cannot be downloaded on offline machines (CI, our test machines). The
stand-in mirror holds the same files as the real hosts, at the same relative paths:

1. the real VOiCES sample, copied from ``../shared/assets/`` when that folder exists (or
   downloaded from its real URL when the network allows);
2. a seeded random ``Wav2Vec2ForCTC`` with ``facebook/wav2vec2-base-960h``'s architecture and
   32-token vocabulary, saved with ``save_pretrained`` (config, safetensors, vocab,
   preprocessor and tokenizer configs);
3. the same weights converted with torchaudio's ``import_huggingface_model`` and saved as the
   ``WAV2VEC2_ASR_BASE_960H`` checkpoint, so ``bundle.get_model()`` loads them.

Its ``manifest.json`` marks the weights as stand-ins, which makes every notebook show a
banner: transcripts made with them are meaningless; the code path is the real one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from . import assets

STANDIN_VERSION = 1
SEED = 0

# facebook/wav2vec2-base-960h's vocabulary (HF order: <pad> is the CTC blank).
HF_VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", "A", "O", "N", "I", "H", "S", "R",
            "D", "L", "U", "M", "W", "C", "F", "G", "Y", "P", "B", "V", "K", "'", "X", "J",
            "Q", "Z"]


def shared_sample() -> Path | None:
    """The VOiCES sample from ``../shared/assets`` beside the checkout, if present."""
    env = os.environ.get("WAV2VEC2_SHARED_ASSETS")
    folder = Path(env) if env else assets.repo_root().parent / "shared" / "assets"
    path = folder / Path(assets.REGISTRY["voices_sample"].path).name
    return path if path.is_file() else None


def _hf_config():
    from transformers import Wav2Vec2Config

    # Values of facebook/wav2vec2-base-960h's config.json (the rest are library defaults).
    return Wav2Vec2Config(
        vocab_size=len(HF_VOCAB), hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, feat_extract_norm="group", conv_bias=False,
        do_stable_layer_norm=False, num_conv_pos_embeddings=128,
        num_conv_pos_embedding_groups=16, ctc_loss_reduction="sum", pad_token_id=0,
        bos_token_id=1, eos_token_id=2, layer_norm_eps=1e-5,
        architectures=["Wav2Vec2ForCTC"],
    )


def build_hf(folder: Path, seed: int = SEED) -> None:
    """Write a seeded random ``Wav2Vec2ForCTC`` and its processor into ``folder``."""
    import torch
    from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = Wav2Vec2ForCTC(_hf_config()).eval()
    model.save_pretrained(folder, safe_serialization=True)
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps({tok: i for i, tok in enumerate(HF_VOCAB)}))
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab_file), unk_token="<unk>", pad_token="<pad>",
                                     bos_token="<s>", eos_token="</s>", word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                         do_normalize=True, return_attention_mask=False)
    # Saved one by one, as the real repository has them (preprocessor_config.json, not the
    # processor_config.json that Wav2Vec2Processor.save_pretrained writes in transformers 5).
    extractor.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    special = folder / "special_tokens_map.json"
    if not special.exists():  # transformers 5 folds it into tokenizer_config.json
        special.write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>",
                                       "unk_token": "<unk>", "pad_token": "<pad>"}))


def build_torchaudio(hf_folder: Path, dest: Path) -> None:
    """Convert the HF stand-in to torchaudio's format and save it as the bundle checkpoint."""
    import torch
    from torchaudio.models.wav2vec2.utils import import_huggingface_model
    from transformers import Wav2Vec2ForCTC

    hf_model = Wav2Vec2ForCTC.from_pretrained(hf_folder).eval()
    ta_model = import_huggingface_model(hf_model).eval()
    dest.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ta_model.state_dict(), dest)


def build_mirror(folder: Path, *, progress: bool = False) -> Path:
    """Write the stand-in mirror into ``folder`` (atomically) and return it.

    Does nothing when ``folder`` already holds a mirror of the current stand-in version.
    """
    folder = Path(folder)
    manifest_path = folder / assets.MANIFEST_NAME
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("standin_version") == STANDIN_VERSION:
            return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        reg = assets.REGISTRY
        hf_dir = work / Path(reg[assets.HF_MODEL_ASSETS[0]].path).parent
        build_hf(hf_dir)
        build_torchaudio(hf_dir, work / reg["torchaudio_wav2vec2_base_960h"].path)
        files = {}
        for name in (assets.HF_MODEL_ASSETS + ("torchaudio_wav2vec2_base_960h",)):
            path = work / reg[name].path
            files[reg[name].path] = {"sha256": assets.sha256_of(path),
                                     "size": path.stat().st_size, "standin": True}
        sample = reg["voices_sample"]
        src = shared_sample()
        dest = work / sample.path
        try:
            if src is not None:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
            else:
                assets.download(sample.url, dest, sample.sha256, sample.size,
                                progress=progress, retries=1)
            if assets.sha256_of(dest) == sample.sha256:
                files[sample.path] = {"sha256": sample.sha256, "size": sample.size,
                                      "standin": False}
        except assets.AssetError as exc:
            print(f"stand-in mirror: no VOiCES sample ({exc}); tests that need it will skip.")
        for extra in work.rglob("*" + assets.META_SUFFIX):
            extra.unlink()
        for lock in work.rglob("*.lock"):
            lock.unlink()
        (work / assets.MANIFEST_NAME).write_text(json.dumps(
            {"standin_version": STANDIN_VERSION, "seed": SEED, "files": files},
            indent=1, sort_keys=True))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder
