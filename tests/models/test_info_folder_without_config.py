"""`video info` on a folder with none of a model folder's marker files: our DiT's transformer/
(model.safetensors alone, no config.json) is described as `video models` lists the file in it,
one part of a model with the folder above it to run; a folder nothing recognises (a tokenizer/,
a latent cache, a kohya image folder) is one line saying so and what it holds. Both were
img2vid's loader line ("not a diffusers SVD folder ... nor a .safetensors file")."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

SVD_LINE = "not a diffusers SVD folder"


@pytest.fixture(scope="module")
def ours(tmp_path_factory) -> Path:
    from video.runtime.txt2vid import build_tiny, save_t2v

    out = tmp_path_factory.mktemp("m") / "ours"
    save_t2v(build_tiny(), out)
    return out


def test_our_transformer_folder_is_one_part_with_the_folder_above_to_run(ours, cli):
    import json

    p = cli("info", ours / "transformer", "--json")
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    assert info["kind"] == "dit_t2v"
    assert info["detail"].startswith("our DiT transformer alone (model.safetensors): one part of a model")
    assert f"`video txt2vid --model {ours}`" in info["detail"]
    assert info["parameters"]["total"] > 0


ASTRONAUT = Path(__file__).resolve().parents[2] / "video" / "assets" / "astronaut.jpg"


def test_txt2vid_img2vid_and_edit_on_our_transformer_folder_say_it_is_a_part(ours, cli, tmp_path):
    for command in (["txt2vid"], ["img2vid"], ["edit", "recolour", "--video", ASTRONAUT, "--box", "0,0,8,8", "--strength", "0.5"]):
        p = cli(*command, "--model", ours / "transformer", "--output", tmp_path / "o.mp4")
        assert p.returncode == 2, p.stderr
        (line,) = p.errors
        assert "our DiT transformer alone" in line and "one part of a model" in line, line
        assert f"`video txt2vid --model {ours}`" in line, line


def _cache(root: Path) -> Path:
    root.mkdir()
    (root / "index.json").write_text("{}")
    save_file({"latents": torch.zeros(2, 4)}, str(root / "shard_00000.safetensors"))
    return root


def _kohya(root: Path) -> Path:
    (root / "10_cat").mkdir(parents=True)
    (root / "10_cat" / "a.txt").write_text("a cat")
    return root


@pytest.mark.parametrize("make, holds", [
    (lambda t: t / "ours" / "tokenizer", "tokenizer.json, tokenizer_config.json"),
    (_cache, "index.json, shard_00000.safetensors"),
    (_kohya, "10_cat/"),
], ids=["tokenizer", "latent_cache", "kohya_images"])
def test_a_folder_nothing_recognises_says_so_and_what_it_holds(ours, cli, tmp_path, make, holds):
    path = make(ours.parent) if make.__name__ == "<lambda>" else make(tmp_path / "f")
    p = cli("info", path)
    assert p.returncode == 2 and SVD_LINE not in p.stderr, p.stderr
    assert p.errors == [f"error: {path}: not a model this tool recognises (a folder holding {holds})"]


def test_a_runs_final_folder_still_names_the_model_in_it(ours, cli, tmp_path):
    """A run's final/ (no marker files either) keeps detect_layout's line naming its export."""
    from video.runtime.txt2vid import build_tiny, save_t2v

    final = tmp_path / "run" / "final"
    save_t2v(build_tiny(), final / "model")
    p = cli("info", final)
    assert p.returncode == 2 and "a training run's export" in p.stderr, p.stderr
