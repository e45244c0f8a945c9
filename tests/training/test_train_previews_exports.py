"""What a finished run leaves: the SVD preview survives a corrupt first item (replaced as in
training) and a preview that fails is a warning, not a failed run; the exports' sampling
defaults are the trained frames and size (buckets: a size that was trained); an interrupted
export is named as one; empty captions of a text-to-video run are counted."""

import shutil

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from video.config import load_config, to_dict
from video.training.config import TrainConfig
from video.training.tasks import empty_caption_example, empty_captions, make_dataset, trained_shape
from video.training.trainer import removed_note, train


def cfg(name, out, *overrides) -> TrainConfig:
    return load_config(TrainConfig, f"configs/train/{name}.yaml", [
        f"out={out}", "init_from=", "steps=1", "batch_size=1", "ckpt_every=1000", "log_every=1",
        "optim.warmup_steps=0", *overrides])


def kohya(root, broken=(0,), captions=True):
    """``root/1_cat/{0,1,2}.png`` (each once per epoch); ``broken`` cut off after their header."""
    sub = root / "1_cat"
    sub.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for j in range(3):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(sub / f"{j}.png")
        if captions:
            (sub / f"{j}.txt").write_text(f"cat {j}")
    for j in broken:
        data = (sub / f"{j}.png").read_bytes()
        (sub / f"{j}.png").write_bytes(data[: len(data) // 3])
    return root


SVD_SMALL = ["data.frames=4", "data.height=48", "data.width=64", "data.size=2"]


def test_the_svd_preview_replaces_a_corrupt_first_item(tmp_path, capsys):
    data = kohya(tmp_path / "k")
    out = train(cfg("stage2_video", tmp_path / "run", *SVD_SMALL, "data.kind=kohya", f"data.path={data}"),
                progress=False)
    assert out["preview"].endswith("step_0000001.mp4") and (tmp_path / "run" / "samples" / "step_0000001.mp4").is_file()
    assert "warning: item 0 is unreadable" in capsys.readouterr().out


def test_a_failed_preview_does_not_fail_a_finished_run(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    c = cfg("stage2_video", run, *SVD_SMALL)
    OmegaConf.save(OmegaConf.create(to_dict(c)), run / "config.yaml")  # a run folder (only a user's folder is refused)
    (run / "samples").write_text("a file where the samples folder goes")
    out = train(c, progress=False)
    assert "preview" not in out and (run / "final" / "model").is_dir()
    assert f"warning: no preview {run / 'samples' / 'step_0000001.mp4'} at step 1: " in capsys.readouterr().out


def test_the_svd_export_renders_at_the_trained_size(tmp_path):
    from video.runtime.img2vid import ImageToVideo

    train(cfg("stage2_video", tmp_path / "run", *SVD_SMALL, "data.fps=6"), progress=False)
    s = OmegaConf.load(tmp_path / "run" / "final" / "model" / "video_pipeline.yaml").sampling
    assert (s.num_frames, s.height, s.width, s.fps) == (4, 48, 64, 6)
    frames = ImageToVideo.from_pretrained(tmp_path / "run" / "final" / "model")(
        np.zeros((48, 64, 3), np.uint8), num_inference_steps=1)
    assert frames.shape[:3] == (4, 48, 64)


def test_the_svd_image_stage_writes_its_unet_and_no_preview(tmp_path):
    """README: stage1_image's final/ is ``trainable.safetensors`` and ``unet_image/`` (stage 2
    starts from it), with no runtime folder and no preview."""
    out = train(cfg("stage1_image", tmp_path / "run", "data.size=2", "data.height=32", "data.width=32"),
                progress=False)
    final = tmp_path / "run" / "final"
    assert sorted(p.name for p in final.iterdir()) == [".written-by-video", "trainable.safetensors", "trained.json",
                                                       "unet_image"]  # the marker: what a rerun may replace
    assert "preview" not in out and not (tmp_path / "run" / "samples").exists()


@pytest.mark.parametrize("keys, data, expected", [
    ([], (9, 64, 64), (9, 64, 64)),  # no buckets: the config's
    ([(5, 32, 32), (5, 32, 48), (5, 32, 48)], (5, 64, 64), (5, 32, 48)),  # 64x64 was no bucket: the most common
    ([(5, 32, 32), (5, 32, 48), (5, 32, 48)], (5, 32, 32), (5, 32, 32)),  # a bucket's: kept
    ([(1, 32, 32), (1, 32, 32), (1, 32, 32), (14, 32, 32), (25, 32, 32)], (9, 32, 32), (14, 32, 32)),  # video
    ([(1, 32, 32)], (9, 32, 32), (1, 32, 32)),  # only images
])
def test_trained_shape(keys, data, expected):
    assert trained_shape(keys, *data) == expected


def test_the_dit_export_records_a_bucket_it_trained(tmp_path):
    train(cfg("dit_stage1_image", tmp_path / "run", "data.size=2", "data.buckets=[[16,16],[16,32]]",
              "data.height=40", "data.width=40"), progress=False)  # square shapes: all in the 16x16 bucket
    s = OmegaConf.load(tmp_path / "run" / "final" / "model" / "video_pipeline.yaml").sampling
    assert (s.num_frames, s.height, s.width) == (1, 16, 16)


def test_an_interrupted_export_is_named_as_one(tmp_path, capsys):
    run = tmp_path / "run"
    c = cfg("dit_stage1_image", run, "steps=2", "ckpt_every=1", "data.size=2", "data.height=16", "data.width=16")
    train(c, progress=False)
    shutil.rmtree(run / "final")  # a kill during the final/ export: the checkpoint whole, final/ not there,
    (run / ".final.k1ll3d.partial").mkdir()  # and what atomic_folder was writing it into
    capsys.readouterr()
    again = train(c, progress=False)
    said = capsys.readouterr().out
    assert (run / "final" / "trained.json").is_file() and again["final"] == str(run / "final")
    assert f"removed the unfinished final/ export folder an interrupted export left in {run}" in said
    assert "checkpoint" not in said.split("removed", 1)[1].splitlines()[0]


def test_removed_note_counts_each_kind(tmp_path):
    stale = [tmp_path / "checkpoints" / ".step_0000003.a.partial", tmp_path / "checkpoints" / ".step_0000004.b.partial",
             tmp_path / ".final.c.partial"]
    assert removed_note(stale, tmp_path) == (
        f"removed 2 unfinished checkpoint folder(s) an interrupted save and the unfinished final/ export folder "
        f"an interrupted export left in {tmp_path}")
    assert removed_note(stale[:1], tmp_path) == f"removed 1 unfinished checkpoint folder(s) an interrupted save left in {tmp_path}"


def test_empty_captions_are_counted_once_for_text_to_video(tmp_path, capsys):
    data = kohya(tmp_path / "k", broken=(), captions=False)
    (data / "1_cat" / "0.txt").write_text("a cat")
    (data / "1_cat" / "1.txt").write_text("  \n")  # blank: the folder's words are not used when a .txt exists
    images = tmp_path / "imgs"
    images.mkdir()
    for j in range(3):
        Image.new("RGB", (20, 20)).save(images / f"{j}.png")
    (images / "2.txt").write_text("a black square")
    base = ["data.height=16", "data.width=16"]
    assert empty_captions(make_dataset(cfg("dit_stage1_image", tmp_path / "x", *base, "data.kind=images",
                                           f"data.path={images}"))) == 2
    assert empty_captions(make_dataset(cfg("dit_stage1_image", tmp_path / "x", *base, "data.kind=kohya",
                                           f"data.path={data}"))) == 1  # 2.png: no .txt, the words "cat"
    assert empty_captions(make_dataset(cfg("dit_stage1_image", tmp_path / "x", *base, "data.size=3"))) == 0
    train(cfg("dit_stage1_image", tmp_path / "t2v", *base, "data.kind=images", f"data.path={images}"), progress=False)
    said = capsys.readouterr().out
    assert said.count(f"warning: 2 of 3 items have an empty caption (e.g. {images / '0.png'} (no caption file)); "
                      "dit_t2v trains them on the empty prompt") == 1
    train(cfg("stage1_image", tmp_path / "svd", "data.height=32", "data.width=32", "data.kind=images",
              f"data.path={images}"), progress=False)
    assert "empty caption" not in capsys.readouterr().out  # SVD is conditioned on the image, not on captions


def test_empty_captions_of_a_manifest(tmp_path):
    from data_curation.manifest import RUN_DIR_KEY, to_table, write_atomic
    from video.media import write_video
    from video.training.data import ManifestClips

    rng = np.random.default_rng(0)
    write_video(rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8), tmp_path / "clips" / "c.mp4", fps=8)
    rows = [{"source": "s.mp4", "clip_id": f"c{j}", "start_frame": 0, "end_frame": 8, "fps": 8.0, "width": 32,
             "height": 32, "num_frames": 8, "keep": True, "error": None, "clip_path": "clips/c.mp4", "caption": cap}
            for j, cap in enumerate(["a clip", None, " ", "another"])]
    write_atomic(to_table(rows, {}), tmp_path / "manifest.parquet", {RUN_DIR_KEY: str(tmp_path)})
    assert empty_captions(ManifestClips(tmp_path / "manifest.parquet", 4, 16, 16)) == 2


def test_the_empty_caption_example_of_bucketed_data_is_a_file_of_its_base(tmp_path):
    """Buckets reorder their base's items and have no files of their own: the example is looked
    up in the base (a bucketed run stopped on ``'Bucketed' object has no attribute 'sources'``)."""
    images = tmp_path / "imgs"
    images.mkdir()
    for j, size in enumerate([(32, 16), (16, 32), (32, 16)]):
        Image.new("RGB", size).save(images / f"{j}.png")
        (images / f"{j}.txt").write_text("" if j == 1 else "a black box")
    data = make_dataset(cfg("dit_stage1_image", tmp_path / "x", "data.kind=images", f"data.path={images}",
                            "data.height=16", "data.width=16", "data.buckets=[[16,32],[32,16]]"))
    assert type(data).__name__ == "Bucketed" and empty_captions(data) == 1
    assert empty_caption_example(data) == str(images / "1.txt")
