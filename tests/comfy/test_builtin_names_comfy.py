"""The ComfyUI loader reads a built-in name as the CLI does
(:func:`video.models.builtin_names.resolve_model_name_or_builtin`): ``tiny`` / ``tiny-svd``, their
drop-down labels and ``builtin:NAME`` are the random-weight models whatever the models tree
holds (before, a user's ``checkpoints/old/tiny.safetensors`` anywhere in the tree answered to
``tiny``, and ``builtin:tiny`` was looked up as a file name). A model of the user's named so is
still in the drop-down, under a name that loads it, and no two entries load the same thing.
The LoRA drop-down leaves out pickled files, which the loader refuses."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest
import torch

import video.comfy
from video.comfy import functions as F
from video.models.lora import LoraError

LABELS = {"tiny (random weights, for tests)": "dit_t2v", "tiny-svd (random weights, for tests)": "svd"}
WAN_KEYS = ["patch_embedding.weight", "blocks.0.self_attn.q.weight", "head.head.weight"]


def _touch(path: Path) -> Path:
    """A Wan transformer saved alone: listed (a part: the loader says which whole model to get) and
    looked up, never loaded here. Bytes of no format are not listed: no run loads them."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: torch.zeros(2, 2) for k in WAN_KEYS}, str(path))
    return path


def test_builtin_names_are_the_builtin_whatever_the_tree_holds(tmp_path, tiny_diffusers_dir):
    ck = tmp_path / "checkpoints"
    ck.mkdir()
    (ck / "tiny").symlink_to(tiny_diffusers_dir, target_is_directory=True)  # a real SVD named tiny
    _touch(ck / "old" / "tiny-svd.safetensors")
    _touch(ck / "a" / "tiny.safetensors")  # two more tiny files: an ambiguous name, had it been looked up
    for name, kind, source in (("tiny", "dit_t2v", "tiny"), ("builtin:tiny", "dit_t2v", "tiny"),
                               ("tiny (random weights, for tests)", "dit_t2v", "tiny"), ("tiny-svd", "svd", "tiny-svd"),
                               ("builtin:tiny-svd", "svd", "tiny-svd"),
                               ("tiny-svd (random weights, for tests)", "svd", "tiny-svd")):
        model = F.load_video_model(name, tmp_path)
        assert (model.kind, model.detail, model.source) == (kind, "random weights", source), name
    with pytest.raises(F.CheckpointError, match=r"^builtin:svd_xt: no built-in model 'svd_xt'; the built-in names "
                                                r"are tiny, tiny-svd$"):
        F.load_video_model("builtin:svd_xt", tmp_path)


def test_a_users_model_named_tiny_is_listed_by_a_name_that_loads_it(tmp_path, tiny_diffusers_dir, monkeypatch):
    ck = tmp_path / "checkpoints"
    ck.mkdir()
    (ck / "tiny").symlink_to(tiny_diffusers_dir, target_is_directory=True)
    mine = _touch(ck / "tiny.safetensors")
    theirs = tmp_path / "diffusion_models" / "tiny-svd"
    theirs.parent.mkdir()
    theirs.symlink_to(tiny_diffusers_dir, target_is_directory=True)
    names = F.video_model_names(tmp_path)
    assert names == [str(ck / "tiny"), "tiny.safetensors", str(theirs), *LABELS], names
    monkeypatch.setenv("VIDEO_MODELS", str(tmp_path))  # the node's own drop-down is the same list
    combo = video.comfy.nodes.NODE_CLASS_MAPPINGS["VideoPipelineModelLoader"].INPUT_TYPES()["required"]["ckpt_name"]
    assert combo[0] == names
    folder = F.models_folder(tmp_path)
    assert F.resolve_model(folder, "tiny.safetensors") == mine  # the file, by the name it is listed under
    loaded = {}
    for name in [names[0], *names[2:]]:  # each entry loads what it says, and no two load the same thing
        model = F.load_video_model(name, tmp_path)
        loaded[name] = (model.kind, model.detail, model.source)
    for path in (ck / "tiny", theirs):  # the user's SVD folders, not the random models
        kind, detail, source = loaded[str(path)]
        assert (kind, source) == ("svd", str(path)) and detail != "random weights", (path, detail)
    assert [loaded[label][:2] for label in LABELS] == [(kind, "random weights") for kind in LABELS.values()]
    assert len(set(loaded.values())) == len(loaded)


def _pickle(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=4))  # written here, never loaded
    return path


def test_the_lora_drop_down_leaves_out_pickles_and_says_why_once(tmp_path, monkeypatch, caplog):
    from safetensors.torch import save_file

    loras = tmp_path / "loras"
    _pickle(loras / "style.ckpt")
    _pickle(loras / "old" / "grain.pt")
    loras.mkdir(exist_ok=True)
    save_file({"a.lora_down.weight": torch.zeros(2, 2)}, str(loras / "renamed.bin"))  # safetensors by its bytes
    save_file({"a.lora_down.weight": torch.zeros(2, 2)}, str(loras / "ok.safetensors"))
    with caplog.at_level(logging.WARNING, logger="video.comfy.host"):
        assert F.model_names("loras", tmp_path) == ["ok.safetensors", "renamed.bin"]
        monkeypatch.setenv("VIDEO_MODELS", str(tmp_path))
        lora = video.comfy.nodes.NODE_CLASS_MAPPINGS["VideoPipelineModelLoader"].INPUT_TYPES()["required"]["lora_name"]
        assert lora[0] == ["none", "ok.safetensors", "renamed.bin"]
    said = [r.getMessage() for r in caplog.records]
    assert said == [f"not in the LoRA list: {loras / 'old' / 'grain.pt'}: pickled LoRA files are not loaded; "
                    f"convert it to .safetensors",
                    f"not in the LoRA list: {loras / 'style.ckpt'}: pickled LoRA files are not loaded; "
                    f"convert it to .safetensors"], said


def test_a_pickled_lora_named_anyway_is_refused_by_the_loader_node(tmp_path):
    """An API prompt naming it: one line at Load Video Model, not at the first sampling node."""
    _pickle(tmp_path / "loras" / "style.ckpt")
    with pytest.raises(LoraError, match=r"style.ckpt: pickled LoRA files are not loaded; convert it to "
                                        r"\.safetensors$"):
        F.load_video_model("tiny", tmp_path, lora="style.ckpt")


def test_the_random_models_build_beside_folders_of_their_names(tmp_path, monkeypatch):
    """ComfyUI's working folder holding ./tiny and ./tiny-svd: the pipelines still build the
    random models (the loaders read those folders as the model before)."""
    for name in ("tiny", "tiny-svd"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path)
    assert F.load_video_model("tiny", tmp_path / "models").txt2vid().models.transformer is not None
    assert F.load_video_model("tiny-svd", tmp_path / "models").img2vid().models.layout == "random"
