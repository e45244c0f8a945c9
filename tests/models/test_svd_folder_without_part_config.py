"""An SVD folder whose ``unet/config.json`` is not there (``hf download --include "*.safetensors"``)
was a good ``svd`` folder to ``video models`` and "[Errno 2] No such file or directory:
'.../unet/config.json'" to ``video info``; img2vid said diffusers' "no file named config.json
found in directory FOLDER" (the folder above the part). Each now names ``unet/config.json``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_info_other_folders import _info, _row  # tests/models is on sys.path under pytest

from video.models.svd import CheckpointError, load_svd


@pytest.fixture
def no_config(tmp_path, tiny_diffusers_dir) -> Path:
    p = Path(shutil.copytree(tiny_diffusers_dir, tmp_path / "checkpoints" / "nc"))
    (p / "unet" / "config.json").unlink()
    return p


def test_video_info_names_the_missing_config(cli, no_config):
    info = _info(cli, no_config)
    assert (info["kind"], info["missing"]) == ("svd", "unet/config.json") and "run_with" not in info, info


def test_video_models_names_the_missing_config(tmp_path, no_config):
    row = _row(tmp_path, no_config)
    assert (row["kind"], row["missing"]) == ("svd", "unet/config.json")
    assert row["detail"].endswith("; missing: unet/config.json")


def test_img2vid_names_the_missing_config(no_config):
    with pytest.raises(CheckpointError) as e:
        load_svd(no_config)
    assert str(e.value) == (f"{no_config}: cannot load unet/ (missing: unet/config.json, which its loader reads "
                            "first: download it with the weights)")


def test_a_whole_folder_has_no_gap(cli, tiny_diffusers_dir):
    assert "missing" not in _info(cli, tiny_diffusers_dir)


def test_a_later_part_without_config_is_named_before_any_part_loads(tmp_path, tiny_diffusers_dir, monkeypatch):
    """vae/ is loaded after unet/: its missing config.json is named before the UNet's weights load."""
    from diffusers import ModelMixin

    p = Path(shutil.copytree(tiny_diffusers_dir, tmp_path / "nv"))
    (p / "vae" / "config.json").unlink()
    loaded = []
    real = ModelMixin.from_pretrained.__func__
    monkeypatch.setattr(ModelMixin, "from_pretrained",
                        classmethod(lambda cls, *a, **k: loaded.append(cls.__name__) or real(cls, *a, **k)))
    with pytest.raises(CheckpointError, match=r"cannot load vae/ \(missing: vae/config.json"):
        load_svd(p)
    assert loaded == []
