"""`video models` on a mixed folder: a render saved as ``.safetensors`` / ``.sft`` is ``media``, as
its ``.ckpt`` / ``.bin`` / ``.gguf`` copies were (it was "truncated or damaged safetensors file
(header too large)": the safetensors branch ran before the media bytes were looked at). And the
keys of an extra_model_paths.yaml section that name no model folder (``custom_nodes`` and
``download_model_base``, which ComfyUI Desktop writes; ``configs``, SD's .yaml configs) are not
model kinds: `video models` listed node packs' files as ``custom_nodes/...``. Real files."""

from __future__ import annotations

import json

import numpy as np
import torch
from safetensors.torch import save_file

from video.media import write_video
from video.models.detect import MEDIA, detect_kind, list_models
from video.models.folder import ModelsFolder


def test_a_render_under_any_weights_name_is_media(tmp_path):
    render = write_video(np.zeros((3, 16, 16, 3), np.uint8), tmp_path / "render.mp4")
    ck = tmp_path / "models" / "checkpoints"
    ck.mkdir(parents=True)
    for suffix in (".safetensors", ".sft", ".ckpt", ".bin", ".gguf"):
        (ck / f"render{suffix}").write_bytes(render.read_bytes())
    rows = list_models(tmp_path / "models")
    assert len(rows) == 5
    for r in rows:
        assert (r["kind"], r["detail"].split(", not")[0]) == (MEDIA, "a video file (MP4)"), r
    save_file({"x": torch.zeros(2)}, str(ck / "real.safetensors"))  # safetensors bytes are never media
    torch.save({"x": torch.zeros(2)}, ck / "real.pt")  # nor a pickle's
    assert detect_kind(ck / "real.safetensors")["kind"] != MEDIA and detect_kind(ck / "real.pt")["kind"] != MEDIA


def test_extra_paths_keys_that_are_not_model_folders_are_skipped(tmp_path, cli):
    comfy = tmp_path / "ComfyUI"
    (comfy / "custom_nodes" / "OtherNode").mkdir(parents=True)
    (comfy / "custom_nodes" / "OtherNode" / "config.json").write_text("{}")
    (comfy / "custom_nodes" / "SomeNode" / "models").mkdir(parents=True)
    (comfy / "custom_nodes" / "SomeNode" / "models" / "net.pth").write_bytes(b"x")
    (comfy / "models" / "configs").mkdir(parents=True)
    (comfy / "models" / "configs" / "v1-inference.yaml").write_text("model: {}\n")
    (comfy / "models" / "checkpoints").mkdir()
    save_file({"x": torch.zeros(2)}, str(comfy / "models" / "checkpoints" / "mine.safetensors"))
    yaml_file = tmp_path / "extra.yaml"  # ComfyUI Desktop's extra_models_config.yaml, in short
    yaml_file.write_text(f"comfyui:\n    base_path: {comfy}\n    is_default: true\n"
                         "    custom_nodes: custom_nodes\n    download_model_base: models\n"
                         "    configs: models/checkpoints\n    checkpoints: models/checkpoints\n")
    (tmp_path / "empty").mkdir()
    folder = ModelsFolder(tmp_path / "empty", extra_paths=[yaml_file])
    assert not {"custom_nodes", "download_model_base", "configs"} & set(folder.kinds())
    assert folder.search_paths("checkpoints")[0] == comfy / "models" / "checkpoints"  # the model keys still count

    p = cli("models", "--models-dir", str(tmp_path / "empty"), "--extra-paths", str(yaml_file), "--json")
    assert p.returncode == 0, p.stderr
    rows = [(r["folder"], r["name"]) for r in json.loads(p.stdout)]
    assert rows == [("checkpoints", "mine.safetensors")], rows


def test_an_unreadable_yaml_is_skipped_only_when_asked(tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(f"x:\n    checkpoints: {tmp_path / 'ck'}\n")
    bad.write_text("x: [unclosed\n")
    folder = ModelsFolder(tmp_path / "models", extra_paths=[bad, good], skip_unreadable=True)
    assert tmp_path / "ck" in folder.search_paths("checkpoints")  # the readable file still counts
    assert len(folder.unreadable) == 1 and folder.unreadable[0].startswith(f"{bad}: cannot read it")
    try:
        ModelsFolder(tmp_path / "models", extra_paths=[bad, good])
    except Exception as e:  # the CLI's folder: still an error, naming the file
        assert str(e).startswith(f"{bad}: cannot read it")
    else:
        raise AssertionError("an unreadable extra_model_paths.yaml must raise by default")
