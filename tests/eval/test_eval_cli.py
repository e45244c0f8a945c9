"""``video eval`` end to end through its argparse registration: real mp4/gif/PNG inputs, tiny
weights of every learned metric, both output files checked."""

import argparse
import json
import shutil

import numpy as np
import pytest

from eval.cli import add_eval_command
from eval.inputs import discover, load_videos
from video.media import write_video


def run_eval(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="video")
    parser.add_argument("--debug", action="store_true")
    add_eval_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["eval", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def generated(tmp_path_factory, bikes_frames):
    """Three short real clips: two mp4s and a PNG folder."""
    d = tmp_path_factory.mktemp("gen")
    write_video(bikes_frames[:8], d / "a.mp4", fps=7)
    write_video(bikes_frames[8:16], d / "b.mp4", fps=7)
    write_video(bikes_frames[16:24], d / "c")  # PNG folder
    (d / "notes.txt").write_text("not a video")
    return d


def test_eval_writes_metrics_and_report(tmp_path, generated, tiny_weights, capsys):
    ref = tmp_path / "ref"
    shutil.copytree(generated, ref)  # identical videos: zero distances
    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps({"a.mp4": "bikes in a park", "b": "a cyclist", "c": "trees"}))
    out = tmp_path / "out"
    rc = run_eval([str(generated), "--reference", str(ref), "--prompts", str(prompts), "--out", str(out),
                   "--device", "cpu", "--fvd-frames", "8", *[f"--{k}={v}" for k, v in tiny_weights.items()]])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert list(m["videos"]) == ["a", "b", "c"] and len(m["notes"]) == 3
    assert m["notes"][0].startswith("motion skipped for c (1 of 3): no frame rate (PNG frames)")
    assert m["notes"][1].startswith("fvd_i3d over 3 generated and 3 reference videos, fewer than its 8 feature dimensions")
    assert m["notes"][2].startswith("fvd_videomae over 3 generated and 3 reference videos, fewer than its 32 feature")
    agg = m["aggregate"]
    assert agg["num_videos"] == 3 and agg["psnr_inf"] == 3 and "psnr" not in agg
    assert agg["fvd_i3d"] == pytest.approx(0, abs=1e-9) and agg["fvd_videomae"] == pytest.approx(0, abs=1e-9)
    assert agg["ssim"] == pytest.approx(1.0) and agg["lpips"] == pytest.approx(0, abs=1e-6)
    a = m["videos"]["a"]
    assert a["psnr"] is None and a["frames"] == 8 and a["fps"] == pytest.approx(7)
    assert {"clip_text", "clip_frame", "warp_error", "flicker", "frame_diff", "motion"} <= set(a)
    assert m["prompts"]["a"] == "bikes in a park" and len(m["curves"]["c"]["ssim"]) == 8
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 + 3  # two plots, three strips
    assert "src='http" not in html and "fvd_i3d" in html
    assert "psnr: mean of per-frame PSNR" in html and "I3D features of the first 8 frames" in html
    assert m["fvd_frames"] == 8
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "report.html"]  # no partial files
    assert "evaluated 3 videos" in capsys.readouterr().out


def test_missing_weights_are_skipped_with_one_line_notes(tmp_path, generated, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("one\ntwo\nthree\n")
    out = tmp_path / "out"
    assert run_eval([str(generated), "--prompts", str(prompts), "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["notes"]) == 3 and all("skipped" in n for n in m["notes"])
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"note: {n}" for n in m["notes"]]
    assert m["prompts"] == {"a": "one", "b": "two", "c": "three"}
    assert set(m["aggregate"]) == {"num_videos", "frame_diff", "flicker", "warp_error", "motion", "motion_videos"}
    assert "no weights" in (out / "report.html").read_text()


def test_partial_reference_and_short_sets(tmp_path, generated, tiny_weights):
    ref = tmp_path / "ref"
    ref.mkdir()
    shutil.copy(generated / "a.mp4", ref / "a.mp4")
    out = tmp_path / "out"
    assert run_eval([str(generated / "a.mp4"), "--reference", str(ref), "--out", str(out), "--device", "cpu",
                     "--i3d", str(tiny_weights["i3d"])]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert "fvd_i3d" not in m["aggregate"] and any("fvd_i3d skipped: needs at least 2" in n for n in m["notes"])
    assert m["videos"]["a"]["ssim"] == pytest.approx(1.0)


@pytest.mark.parametrize("bad,message", [
    (["--prompts", "PROMPTS"], "2 prompts for 3 videos"),
    (["--i3d", "/nonexistent/i3d.pt"], "not found"),
    (["--reference", "/nonexistent/ref"], "does not exist"),
    (["--reference", "BROKEN"], "broken.mp4: not a readable video"),
])
def test_user_errors_are_one_line(tmp_path, generated, capsys, bad, message):
    (tmp_path / "p.txt").write_text("one\ntwo\n")
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "broken.mp4").write_bytes(b"\x00" * 100)
    bad = [{"PROMPTS": str(tmp_path / "p.txt"), "BROKEN": str(tmp_path / "ref")}.get(b, b) for b in bad]
    assert run_eval([str(generated), "--out", str(tmp_path / "out"), *bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not (tmp_path / "out").exists()


def test_discover_formats(tmp_path, bikes_frames):
    write_video(bikes_frames[:4], tmp_path / "x.gif")
    write_video(bikes_frames[:4], tmp_path / "y.webm")
    write_video(bikes_frames[:4], tmp_path / "z")
    assert [p.name for p in discover(tmp_path)] == ["x.gif", "y.webm", "z"]
    vids = load_videos(tmp_path)
    assert [v.frames.shape[0] for v in vids] == [4, 4, 4] and vids[2].fps is None
    np.testing.assert_array_equal(vids[2].frames, bikes_frames[:4])  # PNG is lossless
    assert [p.name for p in discover(tmp_path / "z")] == ["z"]


def test_gif_motion_uses_its_frame_rate(tmp_path, bikes_frames):
    """A gif's frame delays give its fps: motion is sampled at 2 fps as for the same clip as mp4."""
    write_video(bikes_frames, tmp_path / "clip.gif", fps=10)
    write_video(bikes_frames, tmp_path / "clip.mp4", fps=10)
    gif, mp4 = load_videos(tmp_path / "clip.gif")[0], load_videos(tmp_path / "clip.mp4")[0]
    assert gif.fps == pytest.approx(10) and mp4.fps == pytest.approx(10)
    from eval.temporal import motion_magnitude

    assert motion_magnitude(gif.frames, gif.fps) == pytest.approx(motion_magnitude(mp4.frames, mp4.fps), rel=0.2)


def test_strips_show_the_same_frames_of_generated_and_reference():
    """A reference shorter than the generated video: both strips sample the frames both have."""
    from eval.report import STRIP_HEIGHT, side_by_side

    frames = np.stack([np.full((8, 8, 3), 20 * i, np.uint8) for i in range(12)])
    s = side_by_side(frames, frames[:6])  # the reference is the generated video's first half
    top, bottom = s[:STRIP_HEIGHT], s[STRIP_HEIGHT + 4:]
    assert top.shape == bottom.shape
    np.testing.assert_array_equal(top, bottom)


def test_evaluation_holds_one_video_at_a_time(tmp_path, bikes_frames, tiny_weights, monkeypatch):
    """Decoded videos are dropped once scored (hundreds fit in memory); the FVD is that of the
    whole sets, as before."""
    import weakref

    import eval.runner
    from eval.frechet import frechet_distance_of_features
    from eval.fvd import I3DFeatures, features

    gen, ref = tmp_path / "gen", tmp_path / "ref"
    for i in range(3):
        write_video(bikes_frames[4 * i: 4 * i + 4], gen / f"v{i}.mp4", fps=7)
        write_video(bikes_frames[4 * i + 1: 4 * i + 5], ref / f"v{i}.mp4", fps=7)
    write_video(bikes_frames[:4] // 2, ref / "extra.mp4", fps=7)  # a reference no generated video matches
    alive: list = []
    most = []
    load = eval.runner.load_video

    def counting_load(path):
        most.append(sum(r() is not None for r in alive))
        v = load(path)
        alive.append(weakref.ref(v.frames))
        return v

    monkeypatch.setattr(eval.runner, "load_video", counting_load)
    r = eval.runner.evaluate(gen, reference=ref, out=tmp_path / "out", i3d=str(tiny_weights["i3d"]), log=lambda m: None,
                             fvd_frames=4)
    assert len(most) == 3 + 3 + 1 and max(most) <= 2  # at most the last pair when the next is read
    i3d = I3DFeatures(tiny_weights["i3d"], num_frames=4)
    want = frechet_distance_of_features(features(i3d, [v.frames for v in load_videos(gen)]),
                                        features(i3d, [v.frames for v in load_videos(ref)]))
    assert r["aggregate"]["fvd_i3d"] == want


def test_frames_below_the_ssim_window_fail_before_scoring(tmp_path, monkeypatch, capsys):
    import eval.runner

    frames = np.random.default_rng(0).integers(0, 255, (4, 8, 10, 3), dtype=np.uint8)
    write_video(frames, tmp_path / "gen" / "a")  # PNG folders: 10x8 px
    write_video(frames, tmp_path / "ref" / "a")

    def never(*a, **k):
        raise AssertionError("scored before the size check")

    monkeypatch.setattr(eval.runner, "temporal_metrics", never)
    assert run_eval([str(tmp_path / "gen"), "--reference", str(tmp_path / "ref"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: a: 10x8 frames are smaller than SSIM's 11x11 window; compare larger frames, or leave "
                   "out --reference"]


def test_one_video_on_each_side_is_a_pair_whatever_the_names(tmp_path, generated):
    out = tmp_path / "out"
    shutil.copy(generated / "b.mp4", tmp_path / "ground_truth.mp4")
    assert run_eval([str(generated / "a.mp4"), "--reference", str(tmp_path / "ground_truth.mp4"), "--out",
                     str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert 0 < m["videos"]["a"]["ssim"] < 1 and m["videos"]["a"]["psnr"] > 0
    assert "a: compared with the reference ground_truth.mp4 (one video on each side)" in m["notes"]


@pytest.mark.parametrize("device,message", [
    ("cdua", "--device cdua: not a device name"),
    pytest.param("cuda", "--device cuda: not available here", marks=pytest.mark.skipif(
        __import__("torch").cuda.is_available(), reason="CUDA is available")),
])
def test_device_problems_are_named_as_such(tmp_path, generated, tiny_weights, capsys, device, message):
    assert run_eval([str(generated / "a.mp4"), "--reference", str(generated / "a.mp4"), "--out",
                     str(tmp_path / "out"), "--lpips", str(tiny_weights["lpips"]), "--device", device]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {message}") and "TorchScript" not in err[0]


def test_fvd_compares_the_first_frames_of_generated_and_reference(tmp_path, bikes_frames, tiny_weights):
    """Short generations against long references that start the same way: FVD 0, as both sides
    are cut to their first 16 frames (fed whole, the references' other frames would count). A
    clip shorter than 16 frames skips FVD with a note naming it."""
    import eval.runner

    gen, ref = tmp_path / "gen", tmp_path / "ref"
    for i, start in enumerate((0, 4)):
        clip = bikes_frames[start:start + 16]
        write_video(clip, gen / f"v{i}")  # PNG folders: lossless, so the frames are equal
        write_video(np.concatenate([clip, bikes_frames[::-1]]), ref / f"v{i}")  # 40 frames
    r = eval.runner.evaluate(gen, reference=ref, out=tmp_path / "out", i3d=str(tiny_weights["i3d"]),
                             videomae=str(tiny_weights["videomae"]), log=lambda m: None)
    assert r["aggregate"]["fvd_i3d"] == pytest.approx(0, abs=1e-9)
    assert r["aggregate"]["fvd_videomae"] == pytest.approx(0, abs=1e-9)
    assert r["videos"]["v0"]["frames"] == 16

    write_video(bikes_frames[:10], gen / "v2")
    write_video(bikes_frames[:20], ref / "v2")
    out = tmp_path / "out2"
    assert run_eval([str(gen), "--reference", str(ref), "--out", str(out), "--device", "cpu",
                     "--i3d", str(tiny_weights["i3d"])]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert "fvd_i3d" not in m["aggregate"]
    assert ("fvd_i3d skipped: v2 has 10 frames; fvd_i3d compares the first 16 frames of every clip "
            "(--fvd-frames N to change)") in m["notes"]
    assert run_eval([str(gen), "--reference", str(ref), "--out", str(out), "--device", "cpu",
                     "--i3d", str(tiny_weights["i3d"]), "--fvd-frames", "10"]) == 0
    assert "fvd_i3d" in json.loads((out / "metrics.json").read_text())["aggregate"]


def test_16_bit_grey_png_frames_are_scaled_not_white(tmp_path):
    """PIL's convert("RGB") clips 16-bit grey at 255 (white); the project's reader scales it."""
    import skimage.data
    from PIL import Image

    grey = skimage.data.camera()[::4, ::4]  # 8-bit, 128x128
    for i in range(2):
        Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / f"{i}.png")  # I;16
    assert Image.open(tmp_path / "0.png").mode == "I;16"
    (v,) = load_videos(tmp_path)
    np.testing.assert_array_equal(v.frames, np.repeat(grey[None, ..., None], 3, axis=-1).repeat(2, axis=0))
