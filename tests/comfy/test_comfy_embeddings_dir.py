"""The nodes' prompts read the models folder's textual-inversion embeddings (``models/embeddings/``),
as ``--embeddings`` does on the command line: Text to Video built its pipeline without them, so
``mystyle`` in a prompt was plain words, and so did Animate (and VACE's editor). Embeddings made
for another text encoder (SD 1.x / SDXL ones, the usual content of ComfyUI's folder) are named in
one console line, not one warning per file. Tiny real models, built here."""

from __future__ import annotations

import logging

import pytest
import torch
from safetensors.torch import save_file

from video.comfy import models as F
from video.runtime.txt2vid import TextToVideo, build_tiny, save_t2v

PROMPT = "a kite, mystyle"


def _render(pipe) -> torch.Tensor:
    out = pipe(PROMPT, num_frames=3, height=16, width=16, num_inference_steps=1, guidance_scale=1.0,
               generator=torch.Generator().manual_seed(0))
    return torch.as_tensor(out)


def test_text_to_video_uses_the_embeddings_folder(tmp_path, caplog, capsys):
    models = tmp_path / "models"
    dit = models / "checkpoints" / "dit"
    save_t2v(build_tiny(0), dit)
    plain = TextToVideo.from_pretrained(dit)
    dim = plain.prompts._embedding_module().embedding_dim
    emb = models / "embeddings"
    emb.mkdir()
    g = torch.Generator().manual_seed(0)
    save_file({"emb_params": 5 * torch.randn(2, dim, generator=g)}, str(emb / "mystyle.safetensors"))
    for name in ("sd15_style", "sd15_other"):  # SD 1.x's width: for another text encoder
        save_file({"emb_params": torch.randn(1, dim + 8, generator=g)}, str(emb / f"{name}.safetensors"))

    model = F.load_video_model("dit", models)
    with caplog.at_level(logging.WARNING, logger="video.comfy.host"):
        node = _render(model.txt2vid())
    with pytest.warns(UserWarning, match="embedding skipped"):  # the CLI's --embeddings: a warning per file
        reference = _render(TextToVideo.from_pretrained(dit, embeddings_dir=str(emb)))
    assert torch.equal(node, reference)
    assert not torch.equal(node, _render(plain))  # the embedding changes the output
    said = [r.getMessage() for r in caplog.records]
    assert said == [f"Text to Video: 2 embedding file(s) in {emb} are for another text encoder (this model's "
                    f"vectors are {dim} wide) and are not used"], said
    assert "embedding skipped" not in capsys.readouterr().err
    assert model.embeddings_dir == str(emb)


def test_animate_uses_the_embeddings_folder(tmp_path):
    from video.edit.animate import build_tiny_animate

    models = tmp_path / "models"
    build_tiny_animate(models / "checkpoints" / "animate")
    emb = models / "embeddings"
    emb.mkdir()
    save_file({"emb_params": torch.ones(2, 32)}, str(emb / "mystyle.safetensors"))  # the tiny UMT5's width
    animator = F.load_video_model("animate", models).animator()
    assert list(animator.prompts.embeddings) == ["mystyle"]
    assert torch.equal(animator.prompts.embeddings["mystyle"], torch.ones(2, 32))


def test_a_failed_pipeline_build_still_shows_its_warnings():
    """The warnings recorded while a pipeline builds were shown only when it succeeded; a build
    that fails may be explained by them."""
    import warnings

    from video.comfy.models import VideoModel

    m = VideoModel("x", "dit_t2v", "random weights")
    with pytest.warns(UserWarning, match="the reason it fails"), pytest.raises(RuntimeError):
        with m._embeddings_note("Text to Video"):
            warnings.warn("the reason it fails", UserWarning, stacklevel=1)
            raise RuntimeError("build failed")
