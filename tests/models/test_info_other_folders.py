"""`video info` on every kind of folder and file `video models` names: the same kind and detail
(detect_kind, the one place that knows), the command that runs a folder where one does, and
HunyuanVideo's diffusers layouts named as a known model no command here runs, alike in `video
models`, `video info` and the ComfyUI loader's refusal. Folders are written as diffusers and our
trainer write them, configs only where the weights are not read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from video.models.detect import detect_kind, is_hunyuan_video, list_models


def _folder(root: Path, files: dict) -> Path:
    """``root`` with each ``{relative path: JSON object or text}`` written into it."""
    for rel, body in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(body if isinstance(body, str) else json.dumps(body))
    return root


def _info(cli, path) -> dict:
    p = cli("info", path, "--json")
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    return json.loads(p.stdout)


def _row(models: Path, path: Path) -> dict:
    (row,) = [r for r in list_models(models) if r["path"] == str(path)]
    return row


def _diffusers_video_names() -> tuple[list[str], list[str]]:
    """The HunyuanVideo pipelines and transformers the installed diffusers exports, and its other
    Hunyuan ones (HunyuanDiT, HunyuanImage: image models)."""
    import diffusers

    names = [n for n in dir(diffusers) if n.startswith("Hunyuan") and n.endswith(("Pipeline", "Transformer3DModel"))]
    image = [n for n in dir(diffusers) if n.startswith(("HunyuanDiT", "HunyuanImage")) and n.endswith("Pipeline")]
    return [n for n in names if n not in image], image


OTHER_FOLDERS = {  # name: (files, kind)
    "sd15": ({"model_index.json": {"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]},
              "unet/config.json": {"_class_name": "UNet2DConditionModel"}}, "unknown"),
    "cogvideox": ({"model_index.json": {"_class_name": "CogVideoXPipeline"},
                   "transformer/config.json": {"_class_name": "CogVideoXTransformer3DModel"}}, "unknown"),
    "hunyuan": ({"model_index.json": {"_class_name": "HunyuanVideoPipeline"},
                 "transformer/config.json": {"_class_name": "HunyuanVideoTransformer3DModel"}}, "unknown"),
    "t5": ({"config.json": {"architectures": ["UMT5EncoderModel"]}}, "text_encoder"),
    "wan_transformer": ({"config.json": {"_class_name": "WanTransformer3DModel"}}, "wan_t2v"),
    "no_class": ({"config.json": {"foo": 1}}, "unknown"),
    "yaml_only": ({"video_pipeline.yaml": "backbone: dit\n"}, "unknown"),  # no transformer/: not ours
}


@pytest.mark.parametrize("name", sorted(OTHER_FOLDERS))
def test_info_names_a_folder_as_video_models_does(tmp_path, cli, name):
    """`video info` said "not a diffusers SVD folder" for each of these (and "dit text-to-video"
    for a video_pipeline.yaml without its transformer/) where `video models` named it."""
    files, kind = OTHER_FOLDERS[name]
    path = _folder(tmp_path / "checkpoints" / name, files)
    info, row = _info(cli, path), _row(tmp_path, path)
    assert (info["kind"], info["detail"]) == (row["kind"], row["detail"]) == (kind, detect_kind(path)["detail"])
    assert "run_with" not in info  # no command here runs any of them


def test_info_counts_a_part_folder_and_names_it(tmp_path, cli):
    vae = tmp_path / "vae"
    _folder(vae, {"config.json": {"_class_name": "AutoencoderKL"}})
    save_file({"encoder.conv_in.weight": torch.zeros(4, 3, 3, 3), "decoder.conv_out.bias": torch.zeros(3)},
              str(vae / "diffusion_pytorch_model.safetensors"))
    info = _info(cli, vae)
    assert (info["kind"], info["parameters"], info["dtypes"]) == ("vae", {"total": 111}, "F32"), info


def test_hunyuan_video_family_is_every_hunyuanvideo_class_of_diffusers():
    video, image = _diffusers_video_names()
    assert {"HunyuanVideoPipeline", "HunyuanVideoImageToVideoPipeline", "HunyuanVideoFramepackPipeline",
            "HunyuanVideo15Pipeline", "HunyuanVideoTransformer3DModel"} <= set(video), video
    assert [n for n in video if not is_hunyuan_video(n)] == []
    assert [n for n in image if is_hunyuan_video(n)] == [], image


@pytest.mark.parametrize("pipeline,transformer", [
    ("HunyuanVideoPipeline", "HunyuanVideoTransformer3DModel"),
    ("HunyuanVideoImageToVideoPipeline", "HunyuanVideoTransformer3DModel"),
    ("HunyuanSkyreelsImageToVideoPipeline", "HunyuanVideoTransformer3DModel"),
    ("HunyuanVideoFramepackPipeline", "HunyuanVideoFramepackTransformer3DModel"),
    ("HunyuanVideo15Pipeline", "HunyuanVideo15Transformer3DModel"),
    ("HunyuanVideo15ImageToVideoPipeline", "HunyuanVideo15Transformer3DModel"),
])
def test_a_hunyuan_video_folder_is_named_alike_everywhere(tmp_path, cli, pipeline, transformer):
    """It was "diffusers folder of HunyuanVideoPipeline" (as any unknown pipeline) in `video
    models` and the loader, and "not a diffusers SVD folder" in `video info`; the single file
    already said "a HunyuanVideo transformer (not supported here)"."""
    from video.comfy.models import load_video_model
    from video.models.svd import CheckpointError

    path = _folder(tmp_path / "checkpoints" / "hv", {"model_index.json": {"_class_name": pipeline},
                                                      "transformer/config.json": {"_class_name": transformer}})
    said = f"a HunyuanVideo diffusers folder of {pipeline} (not supported here)"
    assert detect_kind(path) == {"kind": "unknown", "detail": said}
    assert _row(tmp_path, path)["detail"] == said
    assert _info(cli, path)["detail"] == said
    with pytest.raises(CheckpointError) as e:
        load_video_model("hv", tmp_path)
    assert said in str(e.value) and "This node pack runs" in str(e.value) and "\n" not in str(e.value)
    (path / "model_index.json").unlink()  # its transformer alone, saved as diffusers saves a part
    part = path / "transformer"
    assert detect_kind(part)["detail"] == f"a HunyuanVideo transformer folder of {transformer} (not supported here)"


def test_hunyuan_video_vaes_are_vaes(tmp_path):
    for cls in ("AutoencoderKLHunyuanVideo", "AutoencoderKLHunyuanVideo15"):
        found = detect_kind(_folder(tmp_path / cls, {"config.json": {"_class_name": cls}}))
        assert found["kind"] == "vae" and found["detail"].startswith(cls), found


WAN_T = ["diffusers", "WanTransformer3DModel"]


@pytest.mark.parametrize("index,kind,runs", [
    ({"_class_name": "WanPipeline", "transformer": WAN_T}, "wan_t2v", "video txt2vid --model {p}; video edit TASK"),
    ({"_class_name": "WanVACEPipeline", "transformer": ["diffusers", "WanVACETransformer3DModel"]}, "wan_vace",
     "video edit TASK --model {p}"),
    ({"_class_name": "WanAnimatePipeline"}, "wan_animate", "video animate --model {p}"),
    ({"_class_name": "WanImageToVideoPipeline", "transformer": WAN_T}, "wan_i2v",
     "nothing here: a Wan image-to-video model, which this project does not run"),
    ({"_class_name": "WanPipeline", "transformer": WAN_T, "expand_timesteps": True}, "wan_t2v",
     "nothing here: a Wan 2.2 TI2V folder"),
])
def test_info_on_a_wan_folder_says_its_kind_and_what_runs_it(tmp_path, cli, index, kind, runs):
    """`video info` called a Wan folder by its pipeline class ("WanPipeline") where `video
    models` said wan_t2v, and did not say which command runs it."""
    path = _folder(tmp_path / "wan", {"model_index.json": index, "tokenizer/tokenizer_config.json": {}})
    for part in ("transformer", "vae", "text_encoder", "image_encoder"):  # every part a loader reads
        (path / part).mkdir()
        save_file({"w": torch.zeros(1)}, str(path / part / "model.safetensors"))
    info = _info(cli, path)
    assert (info["layout"], info["kind"], info["detail"]) == ("diffusers folder", kind, detect_kind(path)["detail"])
    assert info["run_with"].startswith(runs.format(p=path)), info


def test_info_on_our_folder_and_svd_says_what_runs_them(tmp_path, cli, tiny_diffusers_dir):
    from video.runtime.txt2vid import build_tiny, save_t2v

    ours = save_t2v(build_tiny(), tmp_path / "ours")
    info = _info(cli, ours)
    assert (info["kind"], info["backbone"]) == ("dit_t2v", "dit"), info
    assert info["run_with"] == f"video txt2vid --model {ours}; video edit TASK --model {ours}"
    assert _info(cli, tiny_diffusers_dir)["run_with"].startswith(f"video img2vid --model {tiny_diffusers_dir}")


def test_info_on_files_that_are_not_safetensors(tmp_path, cli):
    """An ncnn upscaler, a GGUF file and a pickle: `video info` said "not a diffusers SVD
    folder nor a .safetensors file" (or refused the pickle) where `video models` named each."""
    (tmp_path / "net.param").write_text("7767517\n4 4\nInput data 0 1 data\n")
    (tmp_path / "net.bin").write_bytes(b"\0" * 16)
    (tmp_path / "model.gguf").write_bytes(b"GGUF" + b"\0" * 16)
    torch.save({"string_to_param": {"*": torch.zeros(2, 8)}}, tmp_path / "emb.pt")
    for name, kind in (("net.param", "upscaler"), ("model.gguf", "unknown"), ("emb.pt", "embedding")):
        info = _info(cli, tmp_path / name)
        assert info["kind"] == kind and info["detail"].startswith(detect_kind(tmp_path / name)["detail"]), info
    assert "not loaded" not in _info(cli, tmp_path / "emb.pt")["detail"]  # --embeddings reads it (weights_only)


@pytest.mark.parametrize("body,said", [("[1, 2]", "does not read as a JSON object"),
                                       ("{broken", "does not read as a JSON object")])
def test_a_model_index_that_is_not_an_object_is_one_line(tmp_path, cli, body, said):
    """A list there raised AttributeError in detect_kind (the ComfyUI loader, `video info`), and
    a broken file was a JSONDecodeError traceback from `video info`."""
    path = _folder(tmp_path / "odd", {"model_index.json": body})
    assert said in detect_kind(path)["detail"]
    assert said in _info(cli, path)["detail"]


def test_broken_configs_are_one_error_line(tmp_path, cli, tiny_diffusers_dir):
    ours = _folder(tmp_path / "ours", {"video_pipeline.yaml": "backbone: [dit\n", "transformer/x.txt": ""})
    p = cli("info", ours)
    assert p.returncode == 2 and len(p.errors) == 1 and "Traceback" not in p.stderr, p.stderr
    assert p.errors[0].startswith(f"error: {ours}: video_pipeline.yaml: ")
    import shutil

    svd = shutil.copytree(tiny_diffusers_dir, tmp_path / "svd")
    (svd / "unet" / "config.json").write_text("{broken")
    p = cli("info", svd)
    assert p.returncode == 2 and p.errors == [p.errors[0]] and "Traceback" not in p.stderr, p.stderr
    assert p.errors[0].startswith(f"error: {svd / 'unet' / 'config.json'}: not JSON")


def test_odd_class_entries_do_not_raise(tmp_path):
    """A list where a class name goes was unhashable (TypeError), a dict of architectures a KeyError."""
    assert detect_kind(_folder(tmp_path / "a", {"model_index.json": {"_class_name": ["x"]}}))["kind"] == "unknown"
    assert detect_kind(_folder(tmp_path / "b", {"config.json": {"architectures": {"a": 1}}}))["kind"] == "unknown"
