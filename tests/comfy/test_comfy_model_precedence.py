"""The loader's lookup and drop-downs when a name is in several places: an ambiguity among the
checkpoints is an error, not a reason to load a diffusion model of that name; the same name in
ComfyUI's models folder and an extra_model_paths.yaml tree is the first tree's (ComfyUI's
order) with a warning; the drop-downs list each model once, a shadowed copy by its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from video.comfy import functions as F
from video.models.folder import AmbiguousName


def touch(path: Path) -> Path:
    """A Wan transformer saved alone: listed (a part: the loader says which whole model to get).
    Bytes of no format are not listed (no run loads them), nor is an empty file."""
    import torch
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    keys = ["patch_embedding.weight", "blocks.0.self_attn.q.weight", "head.head.weight"]
    save_file({k: torch.zeros(2, 2) for k in keys}, str(path))
    return path


def test_an_ambiguous_checkpoint_name_does_not_fall_through_to_diffusion_models(tmp_path):
    touch(tmp_path / "checkpoints" / "a" / "x.safetensors")
    touch(tmp_path / "checkpoints" / "b" / "x.safetensors")
    touch(tmp_path / "diffusion_models" / "x.safetensors")
    folder = F.models_folder(tmp_path)
    with pytest.raises(AmbiguousName, match="a/x.safetensors .* b/x.safetensors"):
        F.resolve_model(folder, "x.safetensors")
    with pytest.raises(AmbiguousName):
        F.load_video_model("x", tmp_path)
    assert F.resolve_model(folder, "a/x") == tmp_path / "checkpoints" / "a" / "x.safetensors"


def test_a_builtin_name_the_user_has_twice_is_the_builtin(tmp_path):
    """``tiny`` is never looked up (as on the command line): two files of that name are no error."""
    touch(tmp_path / "checkpoints" / "a" / "tiny.safetensors")
    touch(tmp_path / "checkpoints" / "b" / "tiny.safetensors")
    assert F.load_video_model("tiny", tmp_path).detail == "random weights"
    with pytest.raises(AmbiguousName):  # the user's files, by a name that reaches them, are still theirs to pick
        F.load_video_model("tiny.safetensors", tmp_path)


def trees(tmp_path: Path) -> tuple[Path, Path, Path]:
    """ComfyUI/models and an A1111 tree named in the extra_model_paths.yaml beside it."""
    models = tmp_path / "ComfyUI" / "models"
    webui = tmp_path / "webui"
    for p in (models / "checkpoints" / "svd small.safetensors", models / "diffusion_models" / "svd small.safetensors",
              webui / "models" / "Stable-diffusion" / "svd small.safetensors",
              models / "loras" / "dup.safetensors", webui / "models" / "Lora" / "dup.safetensors"):
        touch(p)
    (tmp_path / "ComfyUI" / "extra_model_paths.yaml").write_text(f"a111:\n    base_path: {webui}\n")
    return models, webui, models / "checkpoints" / "svd small.safetensors"


def test_the_first_tree_wins_with_a_warning(tmp_path):
    models, webui, mine = trees(tmp_path)
    folder = F.models_folder(models)
    with pytest.warns(UserWarning, match="svd small.safetensors' is in 2 folders") as caught:
        assert F.resolve_model(folder, "svd small.safetensors") == mine  # not diffusion_models' copy
    assert str(webui / "models" / "Stable-diffusion" / "svd small.safetensors") in str(caught[0].message)


def test_the_drop_downs_list_each_model_once_by_the_name_that_loads_it(tmp_path):
    models, webui, mine = trees(tmp_path)
    theirs = webui / "models" / "Stable-diffusion" / "svd small.safetensors"
    diffusion = models / "diffusion_models" / "svd small.safetensors"
    assert F.model_names("loras", models) == ["dup.safetensors", str(webui / "models" / "Lora" / "dup.safetensors")]
    names = F.video_model_names(models)
    assert names[:3] == ["svd small.safetensors", str(theirs), str(diffusion)], names
    folder = F.models_folder(models)
    for n, want in zip(names[1:3], (theirs, diffusion), strict=True):
        assert F.resolve_model(folder, n) == want
