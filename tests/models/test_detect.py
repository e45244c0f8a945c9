"""Model kinds detected from keys, configs and metadata, on tiny real files written by our own
savers (and diffusers'); file names are chosen to mislead, to prove they are not read."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from video.models.detect import detect_kind, list_models

FIXTURES = Path(__file__).parents[1] / "edit" / "vace_fixtures.py"


def _vace_fixtures():
    spec = importlib.util.spec_from_file_location("vace_fixtures_for_detect", FIXTURES)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def wan_dirs(tmp_path_factory):
    """A tiny Wan T2V and a tiny VACE folder, saved by diffusers' own pipelines."""
    from diffusers import WanPipeline, WanTransformer3DModel, WanVACEPipeline

    fx = _vace_fixtures()
    root = tmp_path_factory.mktemp("wan")
    tok, text = fx.tiny_text()
    transformer = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16,
                                        in_channels=4, out_channels=4, text_dim=32, freq_dim=32, ffn_dim=64,
                                        num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                        eps=1e-6, rope_max_seq_len=32)
    WanPipeline(tokenizer=tok, text_encoder=text, transformer=transformer, vae=fx.tiny_vae(),
                scheduler=fx.vace_components()["scheduler"]).save_pretrained(root / "t2v", safe_serialization=True)
    WanVACEPipeline(**fx.vace_components()).save_pretrained(root / "vace", safe_serialization=True)
    return root


@pytest.fixture(scope="module")
def t2v_dir(tmp_path_factory):
    from video.runtime.txt2vid import build_tiny, save_t2v

    return save_t2v(build_tiny(), tmp_path_factory.mktemp("t2v") / "ours")


def test_svd_single_file_ignores_its_name(tmp_path, tiny_models):
    from video.models.sgm import save_sgm_checkpoint, to_sgm_state_dict

    # published files carry no config: 14 or 25 frames cannot be told from the keys
    plain = save_sgm_checkpoint(tiny_models, tmp_path / "wan_vace_lora_embedding.safetensors", write_config=False)
    found = detect_kind(plain)
    assert found["kind"] == "svd" and "14 or 25 frames: the file does not say; read as SVD unless --model-config svd_xt" in found["detail"]
    assert "sgm" in found["detail"]
    ours = save_sgm_checkpoint(tiny_models, tmp_path / "svd_xt.safetensors")  # our config says 8 frames
    assert detect_kind(ours) == {"kind": "svd", "detail": "SVD-shaped, 8 frames, single file (sgm keys)"}
    sd = to_sgm_state_dict(tiny_models)
    save_file(sd, str(tmp_path / "model.safetensors"), metadata={"num_frames": "25"})
    assert detect_kind(tmp_path / "model.safetensors")["kind"] == "svd_xt"
    save_file(sd, str(tmp_path / "svd_xt_really.safetensors"), metadata={"num_frames": "14"})
    assert detect_kind(tmp_path / "svd_xt_really.safetensors")["kind"] == "svd"


def test_svd_diffusers_folder_and_its_parts(tiny_diffusers_dir):
    found = detect_kind(tiny_diffusers_dir)
    assert found["kind"] == "svd" and "8 frames" in found["detail"] and "diffusers" in found["detail"]
    assert detect_kind(tiny_diffusers_dir / "vae")["detail"].startswith("AutoencoderKLTemporalDecoder")
    assert detect_kind(tiny_diffusers_dir / "image_encoder")["kind"] == "clip_vision"
    vae_file = next((tiny_diffusers_dir / "vae").glob("*.safetensors"))
    assert detect_kind(vae_file) == {"kind": "vae", "detail": "AutoencoderKLTemporalDecoder (SVD's temporal "
                                                               "decoder), single file"}
    unet_file = next((tiny_diffusers_dir / "unet").glob("*.safetensors"))
    assert detect_kind(unet_file)["kind"] == "svd"


def test_our_t2v_folder(t2v_dir):
    assert detect_kind(t2v_dir)["kind"] == "dit_t2v"
    assert detect_kind(t2v_dir / "transformer" / "model.safetensors") == {"kind": "dit_t2v",
                                                                          "detail": "our DiT transformer alone"}
    assert detect_kind(t2v_dir / "vae")["detail"].startswith("AutoencoderKL (image VAE)")
    vae_file = next((t2v_dir / "vae").glob("*.safetensors"))
    assert detect_kind(vae_file)["detail"] == "AutoencoderKL (image VAE), single file"


def test_wan_folders_and_parts(wan_dirs, tmp_path):
    assert detect_kind(wan_dirs / "t2v") == {"kind": "wan_t2v", "detail": "diffusers folder (WanPipeline)"}
    assert detect_kind(wan_dirs / "vace")["kind"] == "wan_vace"
    assert detect_kind(wan_dirs / "t2v" / "transformer")["detail"] == "transformer alone (WanTransformer3DModel)"
    assert detect_kind(wan_dirs / "t2v" / "vae")["detail"].startswith("AutoencoderKLWan")
    assert detect_kind(wan_dirs / "t2v" / "text_encoder")["kind"] == "text_encoder"
    # weights alone, under names that say otherwise
    t = next((wan_dirs / "t2v" / "transformer").glob("*.safetensors"))
    (tmp_path / "svd_xt.safetensors").symlink_to(t)
    found = detect_kind(tmp_path / "svd_xt.safetensors")
    assert found["kind"] == "wan_t2v" and found["detail"].startswith("Wan transformer alone (single file")
    v = next((wan_dirs / "vace" / "transformer").glob("*.safetensors"))
    assert detect_kind(v)["kind"] == "wan_vace"
    wan_vae = next((wan_dirs / "t2v" / "vae").glob("*.safetensors"))
    assert detect_kind(wan_vae)["detail"].startswith("video VAE with 3D convolutions")
    # a transformer config alone decides when model_index.json is missing
    (wan_dirs / "t2v" / "model_index.json").rename(tmp_path / "index.json")
    try:
        assert detect_kind(wan_dirs / "t2v")["kind"] == "wan_t2v"
    finally:
        (tmp_path / "index.json").rename(wan_dirs / "t2v" / "model_index.json")


def test_wan_animate_by_its_pipeline_class(tmp_path):
    """Only model_index.json is read for a pipeline folder; no tiny Animate model is built here."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "model_index.json").write_text('{"_class_name": "WanAnimatePipeline"}')
    assert detect_kind(tmp_path / "a")["kind"] == "wan_animate"


def _lora_parts():
    from video.models.lora import LoraPart

    g = torch.Generator().manual_seed(0)
    return {"blocks.0.attn.qkv": LoraPart(torch.randn(4, 32, generator=g), torch.randn(96, 4, generator=g), 4.0),
            "blocks.0.attn.out": LoraPart(torch.randn(4, 32, generator=g), torch.randn(32, 4, generator=g), 4.0)}


def test_lora_layouts(tmp_path):
    from video.models.lora import save_lora

    peft = save_lora(_lora_parts(), tmp_path / "kohya_style.safetensors", "peft", prefix="transformer")
    kohya = save_lora(_lora_parts(), tmp_path / "peft_style.safetensors", "kohya")
    assert detect_kind(peft) == {"kind": "lora", "detail": "peft layout (lora_A/lora_B), 2 layers"}
    found = detect_kind(kohya)
    assert found["kind"] == "lora" and found["detail"].startswith("kohya layout") and "2 layers" in found["detail"]


def test_textual_inversion_embeddings(tmp_path):
    save_file({"emb_params": torch.randn(3, 32)}, str(tmp_path / "a.safetensors"))
    assert detect_kind(tmp_path / "a.safetensors") == {"kind": "embedding",
                                                       "detail": "textual inversion, 3 vector(s) of 32"}
    torch.save({"string_to_param": {"*": torch.randn(2, 768)}, "name": "bad-hands", "step": 100},
               tmp_path / "b.pt")
    found = detect_kind(tmp_path / "b.pt")
    assert found["kind"] == "embedding" and "2 vector(s) of 768" in found["detail"] and "weights_only" in found["detail"]
    save_file({"whatever": torch.randn(768)}, str(tmp_path / "c.safetensors"))
    assert detect_kind(tmp_path / "c.safetensors")["detail"] == "textual inversion (one tensor), 1 vector of 768"


class SRVGGNetCompact(torch.nn.Module):
    """xinntao/Real-ESRGAN realesrgan/archs/srvgg_arch.py's layout (tiny sizes)."""

    def __init__(self, feat=8, convs=3, scale=2):
        super().__init__()
        body = [torch.nn.Conv2d(3, feat, 3, 1, 1), torch.nn.PReLU(feat)]
        for _ in range(convs):
            body += [torch.nn.Conv2d(feat, feat, 3, 1, 1), torch.nn.PReLU(feat)]
        body.append(torch.nn.Conv2d(feat, 3 * scale * scale, 3, 1, 1))
        self.body = torch.nn.ModuleList(body)
        self.upsampler = torch.nn.PixelShuffle(scale)


def _rrdb_state_dict(feat=8, blocks=2, in_channels=3):
    """basicsr's RRDBNet key layout (conv_first, body.N.rdbK.convM, conv_body, conv_up1/2, ...):
    x4plus is 23 blocks with RGB in; x2plus pixel-unshuffles first, its conv_first takes 12 channels."""
    sd = {"conv_first.weight": torch.zeros(feat, in_channels, 3, 3), "conv_first.bias": torch.zeros(feat)}
    for b in range(blocks):
        for r in (1, 2, 3):
            for c in range(1, 6):
                sd[f"body.{b}.rdb{r}.conv{c}.weight"] = torch.zeros(feat, feat, 3, 3)
    for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        sd[f"{name}.weight"] = torch.zeros(feat, feat, 3, 3)
    sd["conv_last.weight"] = torch.zeros(3, feat, 3, 3)
    return sd


def test_real_esrgan_weights(tmp_path):
    save_file(SRVGGNetCompact().state_dict(), str(tmp_path / "lora.safetensors"))
    assert detect_kind(tmp_path / "lora.safetensors") == {
        "kind": "upscaler", "detail": "Real-ESRGAN SRVGGNetCompact (5 convs, 8 features), pytorch weights (not "
                                      "supported here); not run here: `video upscale` takes ncnn .param + .bin: "
                                      "convert it to ncnn (pnnx) and give the .param"}
    save_file(_rrdb_state_dict(), str(tmp_path / "x4.safetensors"))
    assert detect_kind(tmp_path / "x4.safetensors")["detail"].startswith("Real-ESRGAN RRDBNet (2 RRDB blocks)")
    torch.save({"params_ema": _rrdb_state_dict()}, tmp_path / "RealESRGAN_x4plus.pth")  # Real-ESRGAN's release format
    found = detect_kind(tmp_path / "RealESRGAN_x4plus.pth")
    assert found["kind"] == "upscaler" and "RRDBNet" in found["detail"]


def test_ncnn_pair(tmp_path):
    (tmp_path / "net.param").write_text("7767517\n4 4\nInput data 0 1 data\n")
    assert detect_kind(tmp_path / "net.param")["detail"].startswith("ncnn network (.param) whose .bin")
    (tmp_path / "net.bin").write_bytes(b"\0" * 16)
    for p in ("net.param", "net.bin"):
        found = detect_kind(tmp_path / p)
        assert found["kind"] == "upscaler" and "4 layers" in found["detail"]
    (tmp_path / "other.param").write_text("not ncnn\n")
    assert detect_kind(tmp_path / "other.param")["kind"] == "unknown"


class Payload:
    """Unpickling this would create a file: the detector must refuse before running it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickles_are_never_unpickled(tmp_path):
    marker = tmp_path / "ran"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "evil": Payload(marker)}, tmp_path / "model.ckpt")
    assert detect_kind(tmp_path / "model.ckpt") == {"kind": "pytorch", "detail": "pytorch weights (not opened)"}
    assert not marker.exists()
    (tmp_path / "junk.pth").write_bytes(b"\x80\x02not a pickle torch reads")  # a pickle's first bytes, then junk
    assert detect_kind(tmp_path / "junk.pth")["detail"] == "pytorch weights (not opened)"
    (tmp_path / "text.pth").write_bytes(b"not a pickle at all")  # a pickle's name only: not called one
    assert detect_kind(tmp_path / "text.pth")["detail"] == "unrecognised file (.pth)"


def test_list_models_walks_the_folder_and_extra_paths(tmp_path, tiny_models):
    from video.models.lora import save_lora
    from video.models.sgm import save_sgm_checkpoint

    models = tmp_path / "models"
    (models / "checkpoints").mkdir(parents=True)
    save_sgm_checkpoint(tiny_models, models / "checkpoints" / "anything.safetensors", write_config=False)
    a1111 = tmp_path / "webui"
    save_lora(_lora_parts(), a1111 / "models" / "Lora" / "style.safetensors", "kohya")
    (a1111 / "embeddings").mkdir()
    save_file({"emb_params": torch.randn(1, 32)}, str(a1111 / "embeddings" / "tok.safetensors"))
    (tmp_path / "extra_model_paths.yaml").write_text(f"a111:\n    base_path: {a1111}\n")
    (models / "vae").mkdir()
    (models / "vae" / "broken.safetensors").write_bytes(b"\x10\0\0\0\0\0\0\0{broken")
    got = {(m["folder"], m["name"]): m["kind"] for m in list_models(models)}
    assert got == {("checkpoints", "anything.safetensors"): "svd", ("loras", "style.safetensors"): "lora",
                   ("embeddings", "tok.safetensors"): "embedding", ("vae", "broken.safetensors"): "unknown"}


def test_models_command_prints_kinds(tmp_path, capsys):
    import argparse

    from video.models.detect import add_models_command

    (tmp_path / "embeddings").mkdir()
    save_file({"emb_params": torch.randn(2, 32)}, str(tmp_path / "embeddings" / "tok.safetensors"))
    parser = argparse.ArgumentParser()
    add_models_command(parser.add_subparsers())
    args = parser.parse_args(["models", "--models-dir", str(tmp_path)])
    assert args.func(args) == 0
    assert capsys.readouterr().out.split() == ["embeddings/tok.safetensors", "embedding", "textual", "inversion,",
                                               "2", "vector(s)", "of", "32"]
    args = parser.parse_args(["models", "--models-dir", str(tmp_path / "none"), "--json"])
    assert args.func(args) == 0 and capsys.readouterr().out.strip() == "[]"
