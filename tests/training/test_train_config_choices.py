"""Choices a run is refused for before any model is built (``--dry-run`` included): an unknown
``task`` or ``parallel``, and data kinds that would read one ``data.path`` as two things
(curated clips beside captioned images take the images' folder from ``data.image_path``)."""

import numpy as np
import pytest
from PIL import Image

from data_curation.manifest import RUN_DIR_KEY, to_table, write_atomic
from video.config import ConfigError, load_config
from video.media import write_video
from video.training import distributed
from video.training.config import PARALLEL_MODES, TASK_NAMES, TrainConfig
from video.training.tasks import TASKS, make_dataset


@pytest.mark.parametrize("override, key, choices", [
    ("task=foo", "task", "dit_t2v, svd_image, svd_i2v"), ("parallel=zero", "parallel", "ddp, fsdp")])
def test_an_unknown_choice_names_the_valid_ones(override, key, choices):
    with pytest.raises(ConfigError, match=f"^config key '{key}': must be one of {choices}; got "):
        load_config(TrainConfig, "configs/train/dit_stage2_video.yaml", [override])


def test_the_choices_are_the_trainers():
    assert TASK_NAMES == tuple(TASKS) and PARALLEL_MODES == tuple(distributed.PARALLEL)


def test_dry_run_refuses_an_unknown_task(tmp_path, cli):
    p = cli("train", "dit_stage2_video", "task=foo", f"out={tmp_path}", "--dry-run")
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "error: config key 'task': must be one of dit_t2v, svd_image, svd_i2v; got 'foo'"]


@pytest.fixture
def clips_and_images(tmp_path):
    """A one-clip curate manifest (as `curate run` writes it) and a folder of two images."""
    rng = np.random.default_rng(0)
    write_video(rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8), tmp_path / "out" / "clips" / "c0.mp4", fps=8)
    row = {"source": "src.mp4", "clip_id": "c0", "start_frame": 0, "end_frame": 8, "start_s": 0.0, "end_s": 1.0,
           "fps": 8.0, "width": 32, "height": 32, "rotation": 0, "num_frames": 8, "source_frames": 8, "keep": True,
           "error": None, "clip_path": "out/clips/c0.mp4", "caption": "a clip"}
    manifest = tmp_path / "out" / "manifest.parquet"
    write_atomic(to_table([row], {}), manifest, {RUN_DIR_KEY: str(tmp_path)})
    (tmp_path / "imgs").mkdir()
    for j in range(2):
        Image.new("RGB", (40, 40), (j * 90, 0, 0)).save(tmp_path / "imgs" / f"{j}.png")
    return manifest, tmp_path / "imgs"


def test_clips_and_images_each_read_their_own_path(clips_and_images):
    manifest, imgs = clips_and_images
    base = ["data.kind=manifest+images", f"data.path={manifest}", "data.frames=4", "data.height=16",
            "data.width=16", "data.frame_buckets=[1,4]"]
    with pytest.raises(ConfigError, match=r"^data.kind=manifest\+images: manifest and images would both read "
                                          r"data.path=.*; give the images' folder as data.image_path$"):
        load_config(TrainConfig, None, base)
    data = make_dataset(load_config(TrainConfig, None, [*base, f"data.image_path={imgs}"]))
    assert sorted(data[i]["video"].shape[0] for i in range(len(data))) == [1, 1, 4]  # two images, one clip


def test_kinds_without_a_key_of_their_own_are_refused():
    with pytest.raises(ConfigError, match=r"manifest and kohya would both read data.path='x'"):
        load_config(TrainConfig, None, ["data.kind=manifest+kohya", "data.path=x"])
    with pytest.raises(ConfigError, match=r"^config key 'data.image_path': is read only when data.kind includes"):
        load_config(TrainConfig, None, ["data.kind=manifest", "data.path=x", "data.image_path=y"])
    with pytest.raises(ConfigError, match=r"^data.path is required for data.kind=manifest$"):
        load_config(TrainConfig, None, ["data.kind=manifest+images", "data.image_path=y"])
