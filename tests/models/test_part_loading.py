"""Published folder shapes the loaders meet: a variant per part (fp16-only unet/ beside a
float32 vae/), sharded fp16 files, plain and fp16 copies side by side (counted once by
`video info`), broken parts as one-line errors, SVD's image-decoder files and single-file Wan
transformers named the same way by `video models` and `video info`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from video.models.detect import detect_kind
from video.models.inspect import describe
from video.models.svd import CheckpointError, load_svd


def _published(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    (dst / "video_pipeline.yaml").unlink()  # published folders do not have ours
    return dst


def _to_fp16(part: Path, keep_plain: bool = False) -> None:
    for f in list(part.glob("*.safetensors")):
        save_file({k: v.half() for k, v in load_file(str(f)).items()}, str(f.with_name(f.stem + ".fp16.safetensors")))
        if not keep_plain:
            f.unlink()


def _numel(net) -> int:
    return sum(p.numel() for p in net.state_dict().values() if p.dtype.is_floating_point)


def test_variant_per_part_and_sharded_fp16(tiny_diffusers_dir, tmp_path):
    from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel

    mixed = _published(tiny_diffusers_dir, tmp_path / "mixed")
    _to_fp16(mixed / "unet")  # unet/ in fp16 only, vae/ and image_encoder/ plain only
    m = load_svd(mixed)
    ref_unet = UNetSpatioTemporalConditionModel.from_pretrained(mixed, subfolder="unet", variant="fp16",
                                                                torch_dtype=torch.float16)
    ref_vae = AutoencoderKLTemporalDecoder.from_pretrained(mixed, subfolder="vae")
    assert m.extra["variant"] == "fp16"
    for ours, ref in ((m.unet, ref_unet), (m.vae, ref_vae)):
        sd = ours.state_dict()
        assert all(torch.equal(sd[k].float(), v.float()) for k, v in ref.state_dict().items())
    # sharded fp16: diffusion_pytorch_model.fp16-0000K-of-0000N.safetensors + .safetensors.index.fp16.json
    sharded = tmp_path / "sharded"
    shutil.copytree(mixed, sharded)
    shutil.rmtree(sharded / "unet")
    ref_unet.save_pretrained(sharded / "unet", variant="fp16", max_shard_size="200KB", safe_serialization=True)
    names = sorted(p.name for p in (sharded / "unet").iterdir())
    assert "diffusion_pytorch_model.safetensors.index.fp16.json" in names and len(names) > 3
    s = load_svd(sharded)
    assert all(torch.equal(s.unet.state_dict()[k].float(), v.float()) for k, v in ref_unet.state_dict().items())
    info = describe(sharded)
    assert info["parameters"]["unet"] == _numel(s.unet)
    assert info["dtypes"] == "F16,F32"


def test_info_counts_what_loads_not_both_copies(tiny_diffusers_dir, tmp_path):
    both = _published(tiny_diffusers_dir, tmp_path / "both")
    for part in ("unet", "vae", "image_encoder"):
        _to_fp16(both / part, keep_plain=True)  # as the published SVD repositories ship
    m = load_svd(both)
    info = describe(both)
    assert m.extra["variant"] is None and info["dtypes"] == "F32"
    for part in ("unet", "vae", "image_encoder"):
        assert info["parameters"][part] == _numel(getattr(m, part)), part


def test_broken_svd_parts_are_one_line_errors(tiny_diffusers_dir, tmp_path, capsys):
    from video.cli import main

    p = _published(tiny_diffusers_dir, tmp_path / "broken")
    (p / "vae" / "config.json").unlink()
    with pytest.raises(CheckpointError, match="cannot load vae/"):
        load_svd(p)
    assert main(["img2vid", "--model", str(p), "--output", str(tmp_path / "o.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "cannot load vae/" in err and "\n" not in err
    q = _published(tiny_diffusers_dir, tmp_path / "pickled")
    for f in (q / "unet").glob("*.safetensors"):
        torch.save(load_file(str(f)), f.with_suffix(".bin"))
        f.unlink()
    with pytest.raises(CheckpointError, match="unet: no .safetensors weights, only diffusion_pytorch_model.bin"):
        load_svd(q)


def test_svd_image_decoder_file_is_named_and_refused(tiny_models, tmp_path):
    from video.models.sgm import save_sgm_checkpoint

    full = save_sgm_checkpoint(tiny_models, tmp_path / "svd.safetensors", write_config=False)
    sd = load_file(str(full))
    # svd_image_decoder.safetensors: the same file with a per-frame decoder (no temporal layers)
    img = {k: v for k, v in sd.items()
           if not (k.startswith("first_stage_model.decoder.") and ("time_stack" in k or "time_mix" in k))}
    assert len(img) < len(sd)
    save_file(img, str(tmp_path / "model.safetensors"))
    found, info = detect_kind(tmp_path / "model.safetensors"), describe(tmp_path / "model.safetensors")
    assert "image-decoder variant" in found["detail"] and "image-decoder variant" in info["detail"]
    assert info["kind"] == "svd"
    assert "image-decoder" not in detect_kind(full)["detail"] and "image-decoder" not in describe(full)["detail"]
    with pytest.raises(CheckpointError, match="image-decoder variant .* not supported") as e:
        load_svd(tmp_path / "model.safetensors")
    assert "\n" not in str(e.value)


def test_single_file_wan_transformer_is_named_the_same_everywhere(tmp_path):
    from video.comfy.functions import load_video_model

    g = torch.Generator().manual_seed(0)
    sd = {"patch_embedding.weight": torch.randn(32, 16, 1, 2, 2, generator=g),
          "blocks.0.self_attn.q.weight": torch.randn(32, 32, generator=g),
          "head.head.weight": torch.randn(64, 32, generator=g)}
    folder = tmp_path / "models" / "diffusion_models"
    folder.mkdir(parents=True)
    save_file(sd, str(folder / "wan.safetensors"))
    save_file({f"model.diffusion_model.{k}": v for k, v in sd.items()}, str(folder / "comfy_saved.safetensors"))
    for name in ("wan.safetensors", "comfy_saved.safetensors"):
        found, info = detect_kind(folder / name), describe(folder / name)
        assert found["kind"] == info["kind"] == "wan_t2v", name
        assert found["detail"] == info["detail"] and "diffusers folder" in found["detail"]
        assert info["layout"] == "single file"
        with pytest.raises(CheckpointError, match="single-file Wan transformer .* has no text encoder or VAE"):
            load_video_model(name, tmp_path / "models")


def test_a_variant_the_folder_lacks_names_those_it_has(tiny_diffusers_dir, tmp_path):
    """--variant bf16 on an fp16-only part: one line naming the variants there (diffusers said
    only that no file named ...bf16... was found)."""
    fp16 = _published(tiny_diffusers_dir, tmp_path / "fp16")
    _to_fp16(fp16 / "unet")
    with pytest.raises(CheckpointError) as e:
        load_svd(fp16, variant="bf16")
    assert str(e.value) == (f"{fp16 / 'unet'}: no 'bf16' variant; it holds 'fp16': give --variant fp16, or leave "
                            "--variant out (the part's own files load)")
    assert load_svd(fp16, variant="fp16").extra["variant"] == "fp16"
