"""Load wav2vec2 through the libraries' own loaders, from the real hosts or a mirror.

* torchaudio: :func:`load_torchaudio_model` places the checkpoint in torch hub's checkpoints
  folder (downloading it from the real host or the mirror, verified), then calls
  ``torchaudio.pipelines.WAV2VEC2_ASR_BASE_960H.get_model()``, which finds it there.
* Hugging Face: :func:`load_hf_model` fetches the model folder's files into the cache and
  calls ``Wav2Vec2ForCTC.from_pretrained`` / ``Wav2Vec2Processor.from_pretrained`` on it.

Weights load safely: ``weights_only=True`` for the torch checkpoint, safetensors for HF.
:func:`weights_are_standin` tells whether the cached weights are the offline stand-ins.
"""

from __future__ import annotations

from . import assets

TORCHAUDIO_ASSETS = ("torchaudio_wav2vec2_base_960h",)

STANDIN_MESSAGE = (
    "Stand-in weights in use: this model has the real wav2vec2 architecture but random, "
    "seeded weights (the real ones could not be downloaded here). Every shape, plot and code "
    "path is real; every transcript is meaningless."
)


def bundle():
    """``torchaudio.pipelines.WAV2VEC2_ASR_BASE_960H`` (sample rate, labels, model)."""
    import torchaudio

    return torchaudio.pipelines.WAV2VEC2_ASR_BASE_960H


def load_torchaudio_model(progress: bool = True):
    """The torchaudio wav2vec2 ASR model (29 outputs), in eval mode.

    Fetches the checkpoint into torch hub's folder first, so torchaudio's own loader finds
    it and does not download anything itself.
    """
    for name in TORCHAUDIO_ASSETS:
        assets.fetch(name, progress=progress)
    return bundle().get_model(dl_kwargs={"weights_only": True}).eval()


def hf_model_dir(progress: bool = True):
    """The local folder holding ``facebook/wav2vec2-base-960h``'s files (fetched if needed)."""
    paths = [assets.fetch(name, progress=progress) for name in assets.HF_MODEL_ASSETS]
    return paths[0].parent


def load_hf_model(progress: bool = True):
    """``(Wav2Vec2ForCTC, Wav2Vec2Processor)`` for ``facebook/wav2vec2-base-960h``, eval mode."""
    from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor
    from transformers.utils import logging as hf_logging

    folder = hf_model_dir(progress=progress)
    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # hide the "Loading weights" chatter: the files are local
    hf_logging.disable_progress_bar()
    try:
        model = Wav2Vec2ForCTC.from_pretrained(folder, use_safetensors=True).eval()
        processor = Wav2Vec2Processor.from_pretrained(folder)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    return model, processor


def weights_are_standin(names=TORCHAUDIO_ASSETS + assets.HF_MODEL_ASSETS) -> bool:
    """True when any cached copy of these model files is a stand-in (random weights)."""
    return any(assets.status(name)["standin"] for name in names)


def standin_banner(force: bool | None = None):
    """An HTML banner to display when stand-in weights are in use (``None`` otherwise)."""
    from IPython.display import HTML

    if not (weights_are_standin() if force is None else force):
        return None
    return HTML(
        '<div style="border:3px solid #c00;background:#fee;color:#600;padding:10px;'
        'font-weight:bold;font-size:110%">⚠ ' + STANDIN_MESSAGE + "</div>"
    )


def show_standin_banner() -> bool:
    """Display the stand-in banner in a notebook (and print it) when it applies."""
    from IPython.display import display

    banner = standin_banner()
    if banner is None:
        return False
    display(banner)
    print("WARNING: " + STANDIN_MESSAGE)
    return True
