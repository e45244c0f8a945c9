"""A clip without a motion score (a null motion_mean, a kohya clip) is trained with the fixed
motion id when ``objective.motion_scale`` maps scores (the model's default, 127 for SVD, or
``objective.motion_bucket_id``): it read 0, the id of a still clip, so unscored clips taught
SVD that their motion was none."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from video.config import load_config
from video.media import write_video
from video.training.config import TrainConfig
from video.training.data import ManifestClips
from video.training.kohya import KohyaFolder
from video.training.loading import collate
from video.training.tasks import TASKS


def task(*overrides):
    c = load_config(TrainConfig, "configs/train/stage2_video.yaml", [
        "init_from=", "data.size=2", "data.frames=2", "data.height=32", "data.width=32", *overrides])
    return TASKS[c.task](c)


@pytest.mark.parametrize("fixed, want", [([], 127.0), (["objective.motion_bucket_id=40"], 40.0)])
def test_a_null_motion_mean_takes_the_fixed_id(tmp_path, fixed, want):
    src = write_video(np.zeros((8, 32, 32, 3), np.uint8), tmp_path / "src.mp4", fps=8)
    pd.DataFrame({"source": [str(src)] * 2, "start_frame": [0, 0], "end_frame": [8, 8], "fps": [8.0] * 2,
                  "width": [32] * 2, "height": [32] * 2, "keep": [True] * 2,
                  "motion_mean": [2.0, None]}).to_parquet(tmp_path / "manifest.parquet")
    clips = ManifestClips(tmp_path / "manifest.parquet", frames=2, height=32, width=32)
    batch = collate([clips[0], clips[1]])
    ids = task("objective.motion_scale=10", *fixed).motion_ids(batch["motion"])
    assert ids.tolist() == [20.0, want]


def test_a_kohya_clip_takes_the_fixed_id_and_an_image_is_still(tmp_path):
    write_video(np.zeros((8, 32, 32, 3), np.uint8), tmp_path / "1_x" / "clip.mp4", fps=8)
    Image.new("RGB", (32, 32)).save(tmp_path / "1_x" / "still.png")
    ds = KohyaFolder(tmp_path, frames=2, height=32, width=32)
    motion = collate([ds[0], ds[1]])["motion"]
    assert task("objective.motion_scale=10").motion_ids(motion).tolist() == [127.0, 0.0]
    assert task().motion_ids(torch.tensor([float("nan"), 3.0])).tolist() == [127.0, 127.0]  # no scale: fixed
