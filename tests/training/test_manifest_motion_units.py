"""motion_mean's unit is the recipe's: Farneback px of a frame scaled to ``motion_short_side``
per sample step (1/``sample_fps`` s), so quick (64 px) and svd_lvd (16 px) score one clip
differently (a reviewer's bikes clip: 4.09 and 1.46). ``curate run`` records the settings in the manifest, and an SVD run that maps
motion_mean with ``objective.motion_scale`` warns when they are not the quick recipe's its scale
assumes (or are not recorded)."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pandas as pd
import pytest

from data_curation.manifest import motion_settings
from video.config import load_config
from video.training.config import TrainConfig
from video.training.tasks import make_dataset


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    """(quick manifest, 16-px manifest): one clip panning 0.5 px a frame, curated by both."""
    from data_curation.engine import run

    root = tmp_path_factory.mktemp("motion")
    x = np.arange(64)
    f = np.stack([np.broadcast_to((127 + 100 * np.sin((x + 0.5 * t) / 5))[None, :, None], (48, 64, 3))
                  for t in range(24)]).astype(np.uint8)
    (root / "raw").mkdir()
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", "64x48", "-r", "8", "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(root / "raw" / "pan.mp4")], input=f.tobytes(), check=True)
    quick = run([str(root / "raw")], root / "quick", "quick", workers=0, progress=False)["manifest"]
    small = run([str(root / "raw")], root / "small", "quick", ["motion_short_side=16", "rules=[]"], workers=0,
                progress=False)["manifest"]
    return quick, small


def test_curate_records_the_motion_settings(curated):
    quick, small = curated
    assert motion_settings(quick) == {"short_side": 64, "sample_fps": 2.0}
    assert motion_settings(small) == {"short_side": 16, "sample_fps": 2.0}


def dataset(manifest, *more):
    return make_dataset(load_config(TrainConfig, "configs/train/stage2_video.yaml", [
        "data.kind=manifest", f"data.path={manifest}", "data.frames=4", "data.height=16", "data.width=16", *more]))


def test_motion_scale_on_other_units_warns(curated, capsys, tmp_path):
    quick, small = curated
    dataset(quick, "objective.motion_scale=25")
    dataset(small)  # no motion_scale: motion_mean is not used
    assert capsys.readouterr().out == ""
    dataset(small, "objective.motion_scale=25")
    assert capsys.readouterr().out.splitlines() == [
        f"warning: objective.motion_scale=25 maps motion_mean of {small}, scored on a 16 px short side at 2 fps "
        "(px of that frame per sample step); the scale assumes the quick recipe's 64 px short side at 2 fps, where "
        "the same motion measures up to 4x as many px (less in practice: optical flow on small frames is coarse): "
        "set objective.motion_scale from this manifest's own motion_mean values"]
    resaved = tmp_path / "resaved.parquet"
    pd.read_parquet(quick).to_parquet(resaved)  # pandas drops the record
    dataset(resaved, "objective.motion_scale=25")
    assert "which does not record the motion settings it was scored with" in capsys.readouterr().out
