"""The models folder: names resolve with or without extension, through aliases and ComfyUI's
extra_model_paths.yaml (including an AUTOMATIC1111 tree); errors list what is there."""

from __future__ import annotations

import pytest
from model_test_files import touch

from video.models.folder import ModelsFolder, read_extra_paths, resolve
from video.models.svd import CheckpointError


@pytest.fixture
def models(tmp_path):
    root = tmp_path / "models"
    touch(root / "checkpoints" / "svd_xt.safetensors")
    touch(root / "checkpoints" / "wan" / "model_index.json", b"{}")  # a folder model
    touch(root / "checkpoints" / "wan" / "transformer" / "model.safetensors")  # not listed alone
    touch(root / "loras" / "style.safetensors")
    touch(root / "loras" / "style.ckpt")
    touch(root / "loras" / "sub" / "motion.safetensors")
    touch(root / "unet" / "wan_t2v_1.3b.safetensors")  # ComfyUI's legacy name of diffusion_models
    touch(root / "clip" / "umt5.safetensors")  # and of text_encoders
    touch(root / "upscale_models" / "x4.param")
    touch(root / "upscale_models" / "x4.bin")
    touch(root / "checkpoints" / "notes.txt")  # not a weight file
    return root


def test_resolve_with_and_without_extension(models):
    f = ModelsFolder(models)
    assert f.resolve("svd_xt", "checkpoints") == models / "checkpoints" / "svd_xt.safetensors"
    assert f.resolve("svd_xt.safetensors", "checkpoints") == models / "checkpoints" / "svd_xt.safetensors"
    assert f.resolve("wan", "checkpoints") == models / "checkpoints" / "wan"
    assert f.resolve("sub/motion", "loras") == models / "loras" / "sub" / "motion.safetensors"
    assert f.resolve("motion", "loras") == models / "loras" / "sub" / "motion.safetensors"
    # an ncnn pair is one model, named by its .param
    assert f.resolve("x4", "upscale_models") == models / "upscale_models" / "x4.param"
    # an existing path is taken as is
    assert f.resolve(models / "loras" / "style.ckpt", "loras") == models / "loras" / "style.ckpt"


def test_aliases_and_env_default(models, monkeypatch):
    f = ModelsFolder(models)
    assert f.resolve("wan_t2v_1.3b", "diffusion_models") == models / "unet" / "wan_t2v_1.3b.safetensors"
    assert f.resolve("wan_t2v_1.3b", "unet") == models / "unet" / "wan_t2v_1.3b.safetensors"
    assert f.resolve("umt5", "text_encoders") == models / "clip" / "umt5.safetensors"
    monkeypatch.setenv("VIDEO_MODELS", str(models))
    assert resolve("svd_xt", "checkpoints") == models / "checkpoints" / "svd_xt.safetensors"


def test_listing_skips_non_weights_and_folder_insides(models):
    names = [e.name for e in ModelsFolder(models).entries("checkpoints")]
    assert names == ["svd_xt.safetensors", "wan"]
    assert [e.name for e in ModelsFolder(models).entries("upscale_models")] == ["x4.param"]


def test_ambiguous_name_lists_the_candidates(models):
    with pytest.raises(CheckpointError) as e:
        ModelsFolder(models).resolve("style", "loras")
    msg = str(e.value)
    assert "ambiguous" in msg and "style.safetensors" in msg and "style.ckpt" in msg
    # the full name picks one
    assert ModelsFolder(models).resolve("style.ckpt", "loras").name == "style.ckpt"


def test_missing_name_lists_what_is_there(models):
    with pytest.raises(CheckpointError) as e:
        ModelsFolder(models).resolve("svd", "checkpoints")
    msg = str(e.value)
    assert "no checkpoints named 'svd'" in msg
    assert "svd_xt.safetensors" in msg and "wan" in msg and str(models / "checkpoints") in msg


def test_extra_model_paths_comfyui_semantics(tmp_path, monkeypatch):
    """base_path (with ~ and $VARS), multi-line values, paths relative to the YAML without a
    base_path, legacy kind names, is_default ordering."""
    elsewhere = tmp_path / "store"
    touch(elsewhere / "sd" / "big.safetensors")
    touch(elsewhere / "more_loras" / "b.safetensors")
    touch(elsewhere / "loras1" / "a.safetensors")
    touch(tmp_path / "cfg" / "local_vae" / "v.safetensors")
    yaml = touch(tmp_path / "cfg" / "extra_model_paths.yaml", f"""
mine:
    base_path: $STORE_DIR
    checkpoints: sd/
    loras: |
        loras1
        more_loras
    unet: sd
nobase:
    vae: local_vae
first:
    base_path: {elsewhere}
    is_default: true
    checkpoints: more_loras
empty:
""".encode())
    monkeypatch.setenv("STORE_DIR", str(elsewhere))
    got = read_extra_paths(yaml)
    assert ("checkpoints", elsewhere / "sd/", False) in got
    assert ("loras", elsewhere / "loras1", False) in got and ("loras", elsewhere / "more_loras", False) in got
    assert ("diffusion_models", elsewhere / "sd", False) in got
    assert ("vae", (tmp_path / "cfg").resolve() / "local_vae", False) in got
    f = ModelsFolder(tmp_path / "models", extra_paths=[yaml])  # the models folder itself need not exist
    assert f.resolve("a", "loras") == elsewhere / "loras1" / "a.safetensors"
    assert f.resolve("b", "loras") == elsewhere / "more_loras" / "b.safetensors"
    assert f.resolve("big", "diffusion_models") == elsewhere / "sd" / "big.safetensors"
    assert f.search_paths("checkpoints")[0] == elsewhere / "more_loras"  # is_default goes first
    assert f.resolve("v", "vae") == tmp_path / "cfg" / "local_vae" / "v.safetensors"


def test_a1111_install_is_found_in_place(tmp_path):
    """ComfyUI's a111 example section, and a bare a111 section that gets the same layout."""
    webui = tmp_path / "stable-diffusion-webui"
    touch(webui / "models" / "Stable-diffusion" / "svd.safetensors")
    touch(webui / "models" / "Lora" / "anime.safetensors")
    touch(webui / "models" / "VAE" / "vae-ft.safetensors")
    touch(webui / "models" / "ControlNet" / "depth.safetensors")
    touch(webui / "models" / "ESRGAN" / "4x.pth")
    touch(webui / "embeddings" / "bad-hands.pt")
    comfy = tmp_path / "ComfyUI"
    touch(comfy / "extra_model_paths.yaml", f"""
a111:
    base_path: {webui}/

    checkpoints: models/Stable-diffusion
    configs: models/Stable-diffusion
    vae: models/VAE
    loras: |
         models/Lora
         models/LyCORIS
    upscale_models: |
                  models/ESRGAN
                  models/RealESRGAN
                  models/SwinIR
    embeddings: embeddings
    hypernetworks: models/hypernetworks
    controlnet: models/ControlNet
""".encode())
    bare = touch(tmp_path / "bare.yaml", f"a111:\n    base_path: {webui}\n".encode())
    # the YAML beside models/ (ComfyUI's place) is read without being named
    for f in (ModelsFolder(comfy / "models"), ModelsFolder(tmp_path / "empty", extra_paths=[bare])):
        assert f.resolve("svd", "checkpoints") == webui / "models" / "Stable-diffusion" / "svd.safetensors"
        assert f.resolve("anime", "loras") == webui / "models" / "Lora" / "anime.safetensors"
        assert f.resolve("vae-ft", "vae") == webui / "models" / "VAE" / "vae-ft.safetensors"
        assert f.resolve("depth", "controlnet") == webui / "models" / "ControlNet" / "depth.safetensors"
        assert f.resolve("4x", "upscale_models") == webui / "models" / "ESRGAN" / "4x.pth"
        assert f.resolve("bad-hands", "embeddings") == webui / "embeddings" / "bad-hands.pt"
    assert "hypernetworks" in ModelsFolder(comfy / "models").kinds()  # other UIs' kinds are kept


def test_bad_yaml_is_a_checkpoint_error(tmp_path):
    y = touch(tmp_path / "extra_model_paths.yaml", b"a111: [unclosed")
    with pytest.raises(CheckpointError, match="extra_model_paths"):
        ModelsFolder(tmp_path / "models", extra_paths=[y])


def test_cli_arguments_resolve_through_the_folder(models):
    from video.models.folder import resolve_lora_arg, resolve_model_arg

    assert resolve_model_arg("tiny", models_dir=models, keep=("tiny",)) == "tiny"
    assert resolve_model_arg("svd_xt", models_dir=models) == str(models / "checkpoints" / "svd_xt.safetensors")
    assert resolve_model_arg("wan_t2v_1.3b", models_dir=models) == str(models / "unet" / "wan_t2v_1.3b.safetensors")
    given = str(models / "loras" / "style.ckpt")
    assert resolve_model_arg(given, models_dir=models) == given
    assert resolve_lora_arg("motion:0.8", models) == f"{models / 'loras' / 'sub' / 'motion.safetensors'}:0.8"
    assert resolve_lora_arg("motion", models) == str(models / "loras" / "sub" / "motion.safetensors")
    assert resolve_lora_arg(f"{given}:0.5", models) == f"{given}:0.5"
    with pytest.raises(CheckpointError, match="no loras named 'nope'"):
        resolve_lora_arg("nope:1", models)
