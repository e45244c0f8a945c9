"""What ``video train --dry-run`` checks of the data (:func:`check_data`: the paths are there, a
manifest's columns and ``data.where`` from its schema, some row kept), and the manifest
errors a run and a dry run say alike: an OUT folder whose ``curate run`` was interrupted (parts,
no manifest) and a manifest in which every row failed in curation (it said "no kept clips")."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest

from video.config import load_config
from video.training.config import TrainConfig
from video.training.data import ManifestClips
from video.training.data_checks import check_data


def cfg(*overrides):
    return load_config(TrainConfig, "configs/train/dit_stage2_video.yaml", ["init_from=", *overrides])


def curate(tmp_path, name: str, good: bool):
    """A real ``curate run`` over one source: a 3 s pan (``good``) or a file that is no video."""
    from data_curation.engine import run

    src = tmp_path / f"{name}_src"
    src.mkdir()
    if good:
        x = np.arange(64)
        f = np.stack([np.broadcast_to((127 + 100 * np.sin((x + t) / 5))[None, :, None], (48, 64, 3))
                      for t in range(24)]).astype(np.uint8)
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt",
                        "rgb24", "-s", "64x48", "-r", "8", "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                        str(src / "pan.mp4")], input=f.tobytes(), check=True)
    else:
        for j in range(3):
            (src / f"broken{j}.mp4").write_bytes(b"not a video at all")
    run([str(src)], tmp_path / name, "quick", workers=0, progress=False)
    return tmp_path / name


def test_paths_that_are_not_there(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^manifest not found: nope/manifest.parquet$"):
        check_data(cfg("data.kind=manifest", "data.path=nope/manifest.parquet"))
    with pytest.raises(FileNotFoundError, match=r"^data.path=nope: no such folder \(data.kind=images reads a folder\)$"):
        check_data(cfg("data.kind=images", "data.path=nope"))
    with pytest.raises(FileNotFoundError, match=r"data.image_path=.*stills: no such folder"):
        check_data(cfg("data.kind=shapes+images", f"data.image_path={tmp_path / 'stills'}", "data.frame_buckets=[1,9]"))
    with pytest.raises(FileNotFoundError, match="no index.json"):
        check_data(cfg("data.kind=cache", f"data.path={tmp_path}"))
    check_data(cfg("data.kind=shapes"))  # nothing to read: nothing to check


def test_an_interrupted_curate_run(tmp_path):
    out = curate(tmp_path, "cur", good=True)
    check_data(cfg("data.kind=manifest", f"data.path={out}", "data.where=motion_mean > 0"))  # a good one passes
    with pytest.raises(ValueError, match=r"^data.where='nope > 3' is not a query on .*; its columns: source, "):
        check_data(cfg("data.kind=manifest", f"data.path={out}", "data.where=nope > 3"))
    (out / "manifest.parquet").unlink()  # killed before its last step: parts, no manifest
    said = (f"manifest not found: {out} has parts/ but no manifest.parquet: a `curate run` into it was interrupted "
            f"before it wrote the manifest; rerun it (`curate run SRC --out {out}` resumes from the parts)")
    for path in (out, out / "manifest.parquet"):
        with pytest.raises(FileNotFoundError) as e:
            check_data(cfg("data.kind=manifest", f"data.path={path}"))
        assert str(e.value) == said
    with pytest.raises(FileNotFoundError, match="was interrupted"):
        ManifestClips(out, 4, 16, 16)


def test_every_row_failed_in_curation(tmp_path):
    out = curate(tmp_path, "failed", good=False)
    for check in (lambda: check_data(cfg("data.kind=manifest", f"data.path={out}")),
                  lambda: ManifestClips(out, 4, 16, 16)):
        with pytest.raises(ValueError, match=r"manifest.parquet: all 3 rows failed in curation \(each has an error; "
                                             r"the first: .*broken0.mp4.*\): nothing to train on; fix that and rerun "
                                             r"`curate run`$"):
            check()


def test_the_dry_run_checks_the_data(tmp_path):
    """``video train ... --dry-run`` said nothing of ``data.path=nope/manifest.parquet`` and exited
    0; the run then failed at once. Now the dry run gives that run's one line, exit 2."""
    import sys

    p = subprocess.run([sys.executable, "-m", "video.cli", "train", "dit_stage2_video", "data.kind=manifest",
                        "data.path=nope/manifest.parquet", "--dry-run"], capture_output=True, text=True, cwd=tmp_path,
                       timeout=120)
    assert p.returncode == 2 and p.stderr.strip().splitlines() == ["error: manifest not found: nope/manifest.parquet"]
    assert p.stdout == ""
