"""The ``video`` command. Tests using ``run`` start the console script as a user does (a real
subprocess: rendering, the quickstart, a damaged file); the rest call ``video.cli.main`` in
this process through the ``cli`` fixture (tests/conftest.py), which skips a Python start-up
per call."""

import json
import subprocess
import sys

import numpy as np
import pytest

from video.media import probe_video


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "video.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_img2vid_writes_a_playable_mp4(tmp_path):
    out = tmp_path / "clip.mp4"
    p = run("img2vid", "--model", "tiny", "--output", str(out), "--frames", "5", "--steps", "2", "seed=3")
    assert p.returncode == 0, p.stderr
    info = probe_video(out)
    assert (info["num_frames"], info["width"], info["height"], info["codec"]) == (5, 192, 128, "h264")
    last = p.stdout.strip().splitlines()[-1]
    assert last.startswith(f"wrote {out}") and "denoise" in last and "decode" in last
    assert "random weights" in p.stderr


def test_config_file_and_override(tmp_path, cli):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"model: tiny\nframes: 3\nsteps: 1\noutput: {tmp_path / 'a.gif'}\n")
    p = cli("img2vid", "--config", str(cfg), "frames=2")
    assert p.returncode == 0, p.stderr
    assert probe_video(tmp_path / "a.gif")["num_frames"] == 2


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--model", "no/such/model"], "not found"),
        (["--image", "{bad}"], "not an image"),
        (["colour=red"], "colour"),
        (["--frames", "many"], "frames"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needle, cli):
    bad = tmp_path / "photo.jpg"
    bad.write_text("this is text, not a JPEG")
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "x.mp4"
    p = cli("img2vid", "--output", str(out), *[a.format(bad=bad) for a in args])
    assert p.returncode == 2
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and needle in lines[0], p.stderr
    assert not list(out.parent.iterdir())  # nothing half-written


def test_info(tiny_diffusers_dir, cli):
    p = cli("info", str(tiny_diffusers_dir), "--json")
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    assert info["layout"] == "diffusers folder" and info["frames"] == 8
    assert info["parameters"]["unet"] == 1299216


def test_help_names_every_option(cli):
    p = cli("img2vid", "--help")
    assert p.returncode == 0
    for flag in ("--model", "--image", "--frames", "--steps", "--fps", "--motion-bucket", "--noise-aug", "--seed",
                 "--height", "--width", "--decode-chunk", "--sampler", "--min-cfg", "--max-cfg"):
        assert flag in p.stdout


def test_txt2vid_writes_a_playable_mp4(tmp_path):
    out = tmp_path / "t.mp4"
    p = run("txt2vid", "--model", "tiny", "--prompt", "a (red:1.2) kite [over:under:0.5] a hill", "--frames", "5",
            "--height", "64", "--width", "96", "--steps", "3", "--output", str(out))
    assert p.returncode == 0, p.stderr
    info = probe_video(out)
    assert (info["num_frames"], info["width"], info["height"], info["codec"]) == (5, 96, 64, "h264")
    assert p.stdout.strip().splitlines()[-1].startswith(f"wrote {out}")


def test_txt2vid_bad_size_is_one_line(tmp_path, cli):
    p = cli("txt2vid", "--height", "70", "--output", str(tmp_path / "x.mp4"))
    assert p.returncode == 2 and p.stderr.strip().splitlines()[-1].startswith("error: height and width")


def test_train_dry_run_and_bad_key(tmp_path, cli):
    p = cli("train", "stage2_video", f"out={tmp_path / 'r'}", "steps=7", "init_from=", "--dry-run")
    assert p.returncode == 0 and "steps: 7" in p.stdout and "task: svd_i2v" in p.stdout
    assert not (tmp_path / "r").exists()
    p = cli("train", "stage2_video", "optim.learning_rate=1")
    assert p.returncode == 2 and "learning_rate" in p.stderr.strip().splitlines()[-1]


def test_train_runs_a_few_steps(tmp_path, cli):
    p = cli("train", "dit_stage1_image", f"out={tmp_path / 'r'}", "steps=1", "batch_size=2", "data.height=32",
            "data.width=32")
    assert p.returncode == 0, p.stderr
    assert "trained 1 step (0 skipped)" in p.stdout.strip().splitlines()[-1]  # not "1 steps"
    assert probe_video(next((tmp_path / "r" / "samples").glob("*.mp4")))["num_frames"] == 1


def test_quickstart_runs_every_stage(tmp_path):
    # the smallest scale that still takes two steps where there are two to plot (the VAE: 2 of
    # 1000, image pretraining: 4 of 2000) and one in every other stage
    p = run("quickstart", "--out", str(tmp_path / "qs"), "--scale", "0.002")
    assert p.returncode == 0, p.stderr
    for stage in ("dit_stage1_image", "dit_stage2_video", "dit_stage3_hq"):
        assert probe_video(next((tmp_path / "qs" / stage / "samples").glob("*.mp4")))["num_frames"] >= 1
    assert (tmp_path / "qs" / "loss.png").stat().st_size > 0
    import yaml

    exported = yaml.safe_load((tmp_path / "qs" / "dit_stage3_hq" / "final" / "model" / "video_pipeline.yaml").read_text())
    trained = yaml.safe_load((tmp_path / "qs" / "dit_stage3_hq" / "config.yaml").read_text())["data"]
    s = exported["sampling"]  # txt2vid on the exported model renders what it was trained on, without flags
    assert (s["height"], s["width"], s["num_frames"]) == (trained["height"], trained["width"], trained["frames"])


def test_output_never_replaces_a_folder_we_did_not_write(tmp_path, cli):
    """--output naming a folder of the user's (or the current one) fails before any work and
    deletes nothing; a frame folder we wrote ourselves is replaced on a rerun."""
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "important.txt").write_text("keep")
    for out, cwd in ((str(mine), None), (".", mine)):
        p = cli("txt2vid", "--model", "tiny", "--output", out, cwd=cwd)
        assert p.returncode == 2 and "did not write" in p.stderr.splitlines()[-1], p.stderr
        assert (mine / "important.txt").read_text() == "keep"
    p = cli("txt2vid", "--model", "tiny", "--output", str(tmp_path / "x.avi"))
    assert p.returncode == 2 and "x.avi" in p.stderr and "wrote" not in p.stdout  # before the render
    frames = tmp_path / "frames"
    for _ in range(2):  # ours: replaced
        p = cli("txt2vid", "--model", "tiny", "--output", str(frames), "--frames", "5", "--steps", "1")
        assert p.returncode == 0, p.stderr
    assert len(list(frames.glob("*.png"))) == 5


@pytest.mark.parametrize("args,needle", [
    (["--dtype", "int8"], "--dtype"),
    (["--device", "cuda:7"], "--device cuda:7"),
    (["--config", "{missing}"], "not found"),
    (["--config", "{broken}"], "not valid YAML"),
    (["--embeddings", "{missing}"], "--embeddings"),
])
def test_more_bad_input_is_one_line(tmp_path, args, needle, cli):
    import torch

    if "cuda:7" in args and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [tiny\n")
    subs = {"missing": tmp_path / "nope.yaml", "broken": broken}
    p = cli("txt2vid", "--model", "tiny", "--output", str(tmp_path / "o.mp4"), *[a.format(**subs) for a in args])
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in p.stderr, p.stderr


def test_damaged_safetensors_is_one_line(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\xff" * 64)
    p = run("info", str(bad))
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stderr.startswith("error:"), p.stderr


def test_info_describes_text_to_video_models(tmp_path, cli):
    """`video info` on what `video train` exports for the DiT (our folder) and on DiT configs."""
    from video.runtime.txt2vid import build_tiny, save_t2v

    models = build_tiny()
    save_t2v(models, tmp_path / "t2v")
    p = cli("info", str(tmp_path / "t2v"))
    assert p.returncode == 0, p.stderr
    n = sum(q.numel() for q in models.transformer.parameters())
    assert "text-to-video" in p.stdout and f"transformer={n:,}" in p.stdout, p.stdout
    p = cli("info", "dit_tiny")
    assert p.returncode == 0 and f"transformer={n:,}" in p.stdout, p.stderr + p.stdout


@pytest.mark.parametrize("command,args,needle", [
    ("img2vid", ["--decode-chunk", "-1"], "--decode-chunk must be >= 1, or 0 for auto"),
    ("img2vid", ["--fps", "-5"], "--fps must be >= 1"),
    ("img2vid", ["--fps", "0"], "--fps must be >= 1"),
    ("img2vid", ["--height", "-64"], "--height must be >= 1"),
    ("img2vid", ["--width", "0"], "--width must be >= 1"),
    ("img2vid", ["--motion-bucket", "-40"], "--motion-bucket must be >= 0"),
    ("img2vid", ["--noise-aug", "-0.3"], "--noise-aug must be >= 0"),
    ("img2vid", ["--min-cfg", "-2"], "--min-cfg must be >= 0"),
    ("img2vid", ["max_cfg=-1"], "--max-cfg must be >= 0"),
    ("img2vid", ["--decode-overlap", "-1"], "--decode-overlap must be >= 0"),
    ("txt2vid", ["--fps", "-3"], "--fps must be >= 1"),
    ("txt2vid", ["fps=0"], "--fps must be >= 1"),
    ("img2vid", ["--split-guidance", "maybe"], "--split-guidance takes auto, on or off"),
    ("txt2vid", ["vae_tiling=maybe"], "--vae-tiling takes auto, on or off"),
    ("txt2vid", ["--guidance", "nan"], "--guidance must be a finite number"),
])
def test_values_out_of_range_fail_before_the_render(tmp_path, command, args, needle, cli):
    """A negative --motion-bucket / --noise-aug / --min-cfg used to become the model's default
    without a word, a negative --fps failed in ffmpeg after the render, --height -64 rendered a
    16-pixel clip, and --decode-chunk -1 never returned."""
    out = tmp_path / "o.mp4"
    p = cli(command, "--model", "tiny", "--output", str(out), *args)
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in p.stderr, p.stderr
    assert "denoise" not in p.stderr and not out.exists()


def test_unset_values_are_the_models_defaults(tmp_path, cli):
    """Unset keys (None, no sentinel) take the model's defaults: the same frames as giving the tiny
    model's defaults (fps 7, motion bucket 127, noise 0.02, guidance 1 to 2.5) by hand."""
    from PIL import Image

    base = ["--model", "tiny", "--frames", "2", "--steps", "1"]
    given = ["--fps", "7", "--motion-bucket", "127", "--noise-aug", "0.02", "--min-cfg", "1", "--max-cfg", "2.5"]
    frames = []
    for name, extra in (("unset", []), ("given", given)):
        p = cli("img2vid", *base, "--output", str(tmp_path / name), *extra)
        assert p.returncode == 0, p.stderr
        frames.append([np.asarray(Image.open(f)) for f in sorted((tmp_path / name).glob("*.png"))])
    assert len(frames[0]) == 2 and all(np.array_equal(a, b) for a, b in zip(*frames, strict=True))


def test_negative_guidance_reaches_text_to_video(tmp_path, cli):
    """--guidance -1 steers away from the prompt: it is a value, not the old 'model default'
    sentinel, so it renders other frames than the default guidance."""
    from PIL import Image

    frames = []
    for name, extra in (("default", []), ("negative", ["--guidance", "-1"])):
        p = cli("txt2vid", "--model", "tiny", "--frames", "1", "--steps", "2", "--output", str(tmp_path / name), *extra)
        assert p.returncode == 0, p.stderr
        frames.append([np.asarray(Image.open(f)) for f in sorted((tmp_path / name).glob("*.png"))])
    assert len(frames[0]) == 1 and not np.array_equal(frames[0][0], frames[1][0])
