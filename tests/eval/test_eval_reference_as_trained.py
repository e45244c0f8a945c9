"""``video eval`` against curated clips, as training reads them: a render that is exactly its
training target scores as such whatever its size and frame rate (the reference is scaled to
cover and centre-cropped as training crops, and frames are matched by time as training samples
them at ``data.fps``; squashed and matched by index, it scored 7 dB), and a ``curate run``
manifest whose clips are read by reference (both shipped recipes' default: no clip files) is a
``--reference``, its clips named by clip_id. Real media: ffmpeg's test sources, a real
``curate run``, renders written losslessly (RGB H.264, so a file holds its frames exactly)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from eval.inputs import align

FPS = 12  # the sources' rate; 3 s each
SOURCES = {"a": "testsrc2=size=160x96:rate=12:duration=3", "b": "mandelbrot=size=160x96:rate=12",
           "c": "cellauto=size=160x96:rate=12:rule=110"}


def ffmpeg(*args: str, data: bytes | None = None) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *args], input=data, check=True)


def lossless(frames: np.ndarray, path: Path, fps: float) -> Path:
    """``frames`` as an mp4 that decodes to exactly them (libx264rgb, qp 0)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames.shape[1:3]
    ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-",
           "-c:v", "libx264rgb", "-qp", "0", "-pix_fmt", "rgb24", str(path), data=np.ascontiguousarray(frames).tobytes())
    return path


@pytest.fixture(scope="module")
def curated(tmp_path_factory) -> Path:
    """``curate run`` (the quick recipe: ``split.extract: false``, clips by reference) over three
    3 s sources at 12 fps, 160x96: three kept clips, no clip files."""
    import pyarrow.parquet as pq

    from data_curation.cli import main

    d = tmp_path_factory.mktemp("curate")
    for name, src in SOURCES.items():
        ffmpeg("-f", "lavfi", "-i", src, "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(d / f"{name}.mp4"))
    out = d / "out"
    assert main(["run", *(str(d / f"{n}.mp4") for n in SOURCES), "--out", str(out), "--recipe", "quick",
                 "--workers", "0", "--quiet"]) == 0
    rows = pq.read_table(out / "manifest.parquet").to_pylist()
    assert [r["keep"] for r in rows] == [True] * 3 and all(r["clip_path"] is None for r in rows)
    assert all(Path(r["source"]).is_absolute() for r in rows)
    assert not (out / "clips").exists()
    return out


def trained(manifest: Path, i: int, frames: int, height: int, width: int, fps: float) -> tuple[str, np.ndarray]:
    """(clip_id, uint8 frames) of row ``i``'s first ``frames`` frames as training samples them at
    ``fps`` (``ManifestClips.frame_indices``), reads them (``read_frames``, on the source's grid)
    and brings them to its size (``resize_cover``): what a render that reproduced its training
    target holds."""
    import pyarrow.parquet as pq

    from video.training.data import ManifestClips, read_frames, resize_cover

    row = pq.read_table(manifest).to_pylist()[i]
    src = Path(row["source"])  # absolute: the fixture names its sources so
    ds = ManifestClips(manifest, frames=frames, height=height, width=width, fps=fps)
    idx = ds.frame_indices(row["start_frame"], row["end_frame"], row["fps"], frames)
    x = torch.from_numpy(read_frames(src, idx, row["fps"])).permute(0, 3, 1, 2).float() / 255.0
    x = resize_cover(x, height, width) * 2 - 1  # the training target, in [-1, 1]
    x = ((x + 1) / 2 * 255).round().clamp(0, 255).to(torch.uint8)  # ... as a render's 8-bit frames
    return row["clip_id"], x.permute(0, 2, 3, 1).numpy()


# size and rate of the render; the reviewer's numbers before: 7.04, 7.28, 17.25 dB
@pytest.mark.parametrize("height,width,fps", [(64, 64, 8), (64, 64, 12), (96, 160, 8)])
def test_a_render_of_its_training_target_scores_as_the_target(curated, tmp_path, height, width, fps):
    """The reference is the curated clip at its own size and rate (160x96, 12 fps), a file."""
    from eval.runner import evaluate
    from video.media import read_grid_frames

    clip_id, frames = trained(curated / "manifest.parquet", 0, 16, height, width, fps)
    src = curated.parent / f"{clip_id.split('-')[0]}.mp4"  # clip ids are <source stem>-<hash>_<start>_<end>
    ref = lossless(read_grid_frames(src, list(range(36)), FPS), tmp_path / "ref" / f"{clip_id}.mp4", FPS)
    gen = lossless(frames, tmp_path / "gen" / f"{clip_id}.mp4", fps)
    r = evaluate(gen, reference=ref, out=tmp_path / "o", log=lambda m: None)
    v = r["videos"][clip_id]
    assert v["psnr"] > 40 or v.get("psnr_inf_frames") == 16, v
    assert v["ssim"] > 0.99
    cropped = [n for n in r["notes"] if "centre-cropped" in n]
    assert bool(cropped) == (width == 64)  # 160x96 to 64x64: a crop; to 160x96: the same aspect
    if cropped:
        assert cropped[0] == (f"{clip_id}: reference centre-cropped: the aspect ratios differ, so it was scaled "
                              "to 107x64 to cover 64x64 and its centre kept, as training crops its clips")


def test_the_crop_and_the_times_against_a_closed_form():
    """A 64x128 reference at 12 fps against its own centre 64x64 (the cover scale is 1: the crop
    is exact) at every frame nearest 8 fps times, round(1.5 k) as training samples: identical."""
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (30, 64, 128, 3), dtype=np.uint8)
    idx = [int(round(k * 1.5)) for k in range(20)]
    assert idx[:6] == [0, 2, 3, 4, 6, 8]  # Python's rounding, as ManifestClips.frame_indices
    gen = ref[idx, :, 32:96]
    g, r, notes = align(gen, ref, 8.0, 12.0)
    assert len(g) == len(r) == 20 and np.array_equal(g, r)
    assert notes[0] == ("generated 8 fps, reference 12 fps: the reference frame nearest each generated frame's "
                        "time compared (the rates are not whole multiples: within half a frame)")
    assert notes[1] == ("reference centre-cropped from 128x64 to 64x64 (the aspect ratios differ: its centre kept, "
                        "as training crops its clips)") and len(notes) == 2  # cropped only: nothing was scaled
    square = ref[:, :, 32:96]  # the generated clip the faster one: its frames nearest the 8 fps times
    g, r, notes = align(square, square[idx], 12.0, 8.0)
    assert len(g) == len(r) == 20 and np.array_equal(g, r) and notes[0].startswith("generated 12 fps, reference "
                                                                                   "8 fps: the generated frame nearest")


def test_a_by_reference_manifest_is_a_reference(curated, tmp_path, cli):
    """``--reference OUT/manifest.parquet`` and ``--reference OUT``: each kept clip read from its
    source's span, named by clip_id; renders named <clip_id>.mp4 pair with their rows. It was
    "manifest.parquet: not a video" and "OUT: no videos ... inside"."""
    gen = tmp_path / "renders"
    names = []
    for i in range(2):
        clip_id, frames = trained(curated / "manifest.parquet", i, 16, 64, 64, 8)
        lossless(frames, gen / f"{clip_id}.mp4", 8)
        names.append(clip_id)
    for ref in (curated / "manifest.parquet", curated):
        p = cli("eval", gen, "--reference", ref, "--out", tmp_path / "o", "--device", "cpu")
        assert p.returncode == 0, p.stderr
        videos = json.loads((tmp_path / "o" / "metrics.json").read_text())["videos"]
        assert sorted(videos) == sorted(names)
        for n in names:
            assert videos[n]["psnr"] > 40 or videos[n]["psnr_inf_frames"] == 16, (n, videos[n])


def test_fvd_against_a_manifest_uses_every_kept_clip(curated, tmp_path, motion_i3d):
    """Two renders against a manifest of three kept clips: the FVD's reference set is all three
    (the unpaired one read from its source too)."""
    from eval.runner import evaluate

    gen = tmp_path / "renders"
    for i in range(2):
        clip_id, frames = trained(curated / "manifest.parquet", i, 16, 64, 64, 8)
        lossless(frames, gen / f"{clip_id}.mp4", 8)
    r = evaluate(gen, reference=curated, out=tmp_path / "o", i3d=str(motion_i3d), fvd_frames=4, log=lambda m: None)
    assert r["aggregate"]["fvd_i3d_n_generated"] == 2 and r["aggregate"]["fvd_i3d_n_reference"] == 3


def test_renders_not_named_by_clip_id_are_told_how_to_pair(curated, tmp_path, cli):
    gen = tmp_path / "renders"
    for i in range(2):
        lossless(np.zeros((4, 32, 32, 3), np.uint8), gen / f"sample_{i}.mp4", 8)
    p = cli("eval", gen, "--reference", curated, "--out", tmp_path / "o", "--device", "cpu")
    assert p.returncode == 2
    assert p.errors[0].endswith("references pair with generated videos by name (a manifest's clips are named by "
                                "clip_id: name each render <clip_id>.mp4)"), p.errors


def test_fvd_takes_the_same_nearest_times():
    """FVD's clip of the faster side at a rate that is no whole multiple: the frames PSNR's
    alignment takes, round(1.5 k), said in the clip's note (it kept every frame: 16 frames were
    1.3 s at 12 fps and 2 s at 8)."""
    from eval.inputs import at_rate
    from eval.runner import Scorers, fvd_clip

    frames = np.arange(30)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    clip, k = at_rate(frames, 12.0, 8.0)
    assert k is None and clip[:, 0, 0, 0].tolist() == [int(round(1.5 * j)) for j in range(20)]
    assert at_rate(frames, 8.0, 12.0)[0] is frames  # the slower side keeps its frames
    s = Scorers()
    _, who = fvd_clip(s, frames, 12.0, 8.0, "reference r.mp4", "generated")
    assert who == "reference r.mp4 (the frames nearest the generated rate's times)"
    assert s.fvd_other_rate == ["reference r.mp4"]
