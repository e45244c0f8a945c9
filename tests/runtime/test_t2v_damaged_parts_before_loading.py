"""An empty or truncated weight file in any part of a text-to-video folder (a Wan diffusers
folder, experts and shards included, or our own layout) is refused in ``video info``'s words,
naming the file, before any part loads. It was "cannot load transformer/ (Unable to load
weights ...)", and a damaged ``text_encoder/`` was found only after the transformers and the
VAE had loaded (tens of GB for Wan 14B)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_wan_folders import _transformer, fx  # the tiny Wan parts those tests build


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """wan: Wan 2.2 (two experts) whose text encoder is in two shards with an index; ours:
    ``save_t2v`` of the tiny model."""
    from diffusers import UniPCMultistepScheduler, WanPipeline

    from video.runtime.txt2vid import build_tiny, save_t2v

    root = tmp_path_factory.mktemp("t2vparts")
    tok, text = fx.tiny_text()
    WanPipeline(tokenizer=tok, text_encoder=text, transformer=_transformer(3), transformer_2=_transformer(7),
                vae=fx.tiny_vae(), boundary_ratio=0.875,
                scheduler=UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                                  flow_shift=3.0)).save_pretrained(root / "wan", safe_serialization=True)
    shutil.rmtree(root / "wan" / "text_encoder")
    text.save_pretrained(root / "wan" / "text_encoder", safe_serialization=True, max_shard_size="80KB")
    save_t2v(build_tiny(), root / "ours")
    return root


WAN = ["transformer/diffusion_pytorch_model.safetensors", "transformer_2/diffusion_pytorch_model.safetensors",
       "vae/diffusion_pytorch_model.safetensors", "text_encoder/model-00002-of-00002.safetensors"]
OURS = ["transformer/model.safetensors", "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors"]
CASES = [("wan", f) for f in WAN] + [("ours", f) for f in OURS]


@pytest.fixture()
def loads(monkeypatch):
    """Records every weight load (diffusers' and transformers' ``from_pretrained``, and the
    ``load_file`` our layout reads its transformer with), each still loading."""
    import safetensors.torch
    from diffusers import ModelMixin
    from transformers import PreTrainedModel

    seen = []
    for base in (ModelMixin, PreTrainedModel):
        real = base.from_pretrained.__func__

        def spy(cls, *a, real=real, **k):
            seen.append(cls.__name__)
            return real(cls, *a, **k)

        monkeypatch.setattr(base, "from_pretrained", classmethod(spy))
    real_load = safetensors.torch.load_file
    monkeypatch.setattr(safetensors.torch, "load_file", lambda *a, **k: seen.append("load_file") or real_load(*a, **k))
    return seen


def test_the_folders_load_whole(folders, loads):
    """The spy sees the loads a whole folder makes (so an empty record below means none began)."""
    from video.runtime.txt2vid import load_t2v

    assert load_t2v(folders / "wan").transformer_2 is not None
    assert {"WanTransformer3DModel", "AutoencoderKLWan", "UMT5EncoderModel"} <= set(loads)
    loads.clear()
    assert load_t2v(folders / "ours").layout == "ours"
    assert "load_file" in loads and "AutoencoderKL" in loads and "CLIPTextModel" in loads


@pytest.mark.parametrize("damage", ["empty", "half"])
@pytest.mark.parametrize("layout, part", CASES, ids=[f"{a}-{b.split('/')[0]}" for a, b in CASES])
def test_a_damaged_weight_file_is_named_as_video_info_names_it_before_any_part_loads(
        folders, tmp_path, cli, loads, layout, part, damage):
    bad = Path(shutil.copytree(folders / layout, tmp_path / layout))
    f = bad / part
    whole = f.read_bytes()
    f.write_bytes(b"" if damage == "empty" else whole[:len(whole) // 2])
    info = cli("info", bad)
    loads.clear()
    run = cli("txt2vid", "--model", bad, "--frames", "1", "--height", "32", "--width", "48", "--steps", "1",
              "--output", tmp_path / "e.png")
    assert run.returncode == 2 and len(run.errors) == 1, run.stderr
    said = "empty file (0 bytes)" if damage == "empty" else "truncated or damaged safetensors file ("
    assert run.errors[0].startswith(f"error: {f}: {said}"), run.errors
    assert run.errors == info.errors, (run.errors, info.errors)  # video info's words for the same file
    assert loads == []  # refused before any part began to load
    assert not (tmp_path / "e.png").exists()


def test_a_shard_the_index_lists_and_the_folder_lacks_is_named_before_loading(folders, tmp_path, loads):
    from video.models.svd import CheckpointError
    from video.runtime.txt2vid import load_t2v

    bad = Path(shutil.copytree(folders / "wan", tmp_path / "wan"))
    (bad / "text_encoder" / "model-00001-of-00002.safetensors").unlink()
    with pytest.raises(CheckpointError) as e:
        load_t2v(bad)
    assert str(e.value) == (f"{bad}: text_encoder/model-00001-of-00002.safetensors is listed in text_encoder/'s "
                            "shard index but not there: the download is incomplete")
    assert loads == []
