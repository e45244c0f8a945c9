"""The ``video edit``, ``video upscale`` and ``video animate`` commands end to end through
``video.cli.main``: every flag reaches the output (feather, soft, invert, VACE reference and
control), and a bad flag or input is one ``error:`` line and exit code 2 before any weights
load (the model given is a path that does not exist, so a check after loading would fail
with another message)."""

import numpy as np
import pytest
from PIL import Image

from video.cli import main
from video.edit.mask import load_frames, load_mask
from video.media import write_video

BOX = "24,16,72,48"
NO_MODEL = "/nonexistent/model"


def _png_dir(frames, path):
    return write_video(frames, path)  # a path without suffix: a PNG folder


def _run(argv, capsys):
    """(exit code, stderr's error line) of the ``video`` command."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    return code, errors[0] if errors else ""


@pytest.fixture(scope="module")
def src(clip, tmp_path_factory):
    return _png_dir(clip, tmp_path_factory.mktemp("src") / "clip")


@pytest.fixture(scope="module")
def grey_mask(clip, tmp_path_factory):
    """A mask folder: 128 (just over half) inside BOX, 0 outside."""
    m = np.zeros(clip.shape, np.uint8)
    m[:, 16:48, 24:72] = 128
    return _png_dir(m, tmp_path_factory.mktemp("mask") / "grey")


def test_recolour_honours_feather_and_soft(clip, src, grey_mask, tmp_path, capsys):
    outs = {}
    for name, extra in (("f0", ["--box", BOX, "--feather", "0"]), ("f20", ["--box", BOX, "--feather", "20"]),
                        ("hard", ["--mask", grey_mask, "--feather", "0"]),
                        ("soft", ["--mask", grey_mask, "--feather", "0", "--soft"])):
        code, err = _run(["edit", "recolour", "--video", src, "--hue", "120", "--output", tmp_path / name, *extra],
                         capsys)
        assert code == 0, err
        outs[name] = load_frames(tmp_path / name).astype(int)
    m = load_mask(BOX, *clip.shape[:3]).numpy() > 0
    for o in outs.values():
        assert np.array_equal(o[~m], clip[~m])  # outside the mask: exact
    d0, d20 = (np.abs(outs[k] - clip).sum(-1) for k in ("f0", "f20"))
    # the wide feather ramps the shift in from the edge, over at most a quarter of the box's
    # depth (16 px: 4), so 4 px in and deeper the whole shift
    deep = np.zeros_like(m)
    deep[:, 16 + 3:48 - 3, 24 + 3:72 - 3] = True
    assert np.array_equal(outs["f20"][deep], outs["f0"][deep])
    assert d20[m & ~deep].sum() < 0.8 * d0[m & ~deep].sum()
    assert np.array_equal(outs["hard"], outs["f0"])  # 128 thresholds to 1 without --soft
    ds = np.abs(outs["soft"] - clip).sum(-1)
    assert 0 < ds[m].sum() < 0.8 * d0[m].sum()  # about half the shift with --soft


def test_restyle_rejects_a_box(src, tmp_path, capsys):
    code, err = _run(["edit", "restyle", "--model", NO_MODEL, "--video", src, "--box", "0,0,16,16",
                      "--output", tmp_path / "o"], capsys)
    assert code == 2 and "restyle changes the whole frame" in err and "inpaint" in err


def test_background_honours_invert_and_soft(clip, src, grey_mask, tmp_path, capsys):
    bg = np.zeros_like(clip)
    bg[..., 2] = 220
    bg_dir = _png_dir(bg, tmp_path / "bg")
    m = load_mask(BOX, *clip.shape[:3]).numpy() > 0
    inner = np.zeros_like(m)
    inner[:, 20:44, 28:68] = True  # beyond a 2-pixel feather
    outs = {}
    for name, extra in (("plain", ["--box", BOX]), ("inv", ["--box", BOX, "--invert"]),
                        ("soft", ["--mask", grey_mask, "--soft"])):
        code, err = _run(["edit", "background", "--video", src, "--background", bg_dir, "--output", tmp_path / name,
                          *extra], capsys)
        assert code == 0, err
        outs[name] = load_frames(tmp_path / name)
    assert np.array_equal(outs["plain"][inner], clip[inner]) and np.array_equal(outs["plain"][~m], bg[~m])
    # --invert: the mask marks the background, so the box is replaced and the rest kept
    assert np.array_equal(outs["inv"][m], bg[m])
    assert np.array_equal(outs["inv"][:, 52:, :], clip[:, 52:, :])  # far from the box: the input
    # --soft: a 128 grey subject is about half subject, half background
    mix = outs["soft"][inner].astype(int)
    half = (clip[inner].astype(int) + bg[inner]) / 2
    assert np.abs(mix - half).mean() < 3

    # regenerating (no --background) with --invert: only the box is regenerated
    code, err = _run(["edit", "background", "--model", "tiny", "--video", src, "--box", BOX, "--invert", "--steps",
                      "1", "--frames", "5", "--output", tmp_path / "regen"], capsys)
    assert code == 0, err
    out = load_frames(tmp_path / "regen")
    assert np.array_equal(out[~m[:5]], clip[:5][~m[:5]])
    assert np.abs(out[m[:5]].astype(int) - clip[:5][m[:5]]).mean() > 10


def test_vace_reference_and_control_flags(vace_dir, tmp_path, capsys):
    import skimage.data
    from vace_fixtures import moving_clip

    video = _png_dir(moving_clip(5, 32, 32), tmp_path / "video")
    control = _png_dir(255 - moving_clip(5, 32, 32, seed=1), tmp_path / "control")
    ref, ref2 = tmp_path / "ref.png", tmp_path / "ref2.png"
    Image.fromarray(skimage.data.coffee()).resize((24, 40)).save(ref)
    Image.fromarray(skimage.data.astronaut()).resize((40, 40)).save(ref2)
    box = "8,8,24,24"
    outs = {}
    for name, extra in (("both", ["--reference", ref, "--control", control]), ("control", ["--control", control]),
                        ("reference", ["--reference", ref]), ("two", ["--reference", f"{ref},{ref2}"])):
        code, err = _run(["edit", "inpaint", "--model", vace_dir, "--video", video, "--box", box, "--prompt", "a kite",
                          "--steps", "1", "--output", tmp_path / f"out_{name}", *extra], capsys)  # not the input
        assert code == 0, err
        outs[name] = load_frames(tmp_path / f"out_{name}").astype(int)
    src = load_frames(video).astype(int)
    m = load_mask(box, 5, 32, 32).numpy() > 0
    for o in outs.values():
        assert o.shape == (5, 32, 32, 3) and np.array_equal(o[~m], src[~m])  # outside the box: the input
    assert np.abs(outs["both"][m] - src[m]).mean() > 5
    assert np.abs(outs["both"][m] - outs["reference"][m]).mean() > 0.2  # the control video reaches the model
    assert not np.array_equal(outs["both"], outs["control"])  # and so does the reference image
    assert not np.array_equal(outs["two"], outs["reference"])  # and a second one, from a comma list


def test_reference_flag_forms():
    import argparse

    from video.edit.cli import _references, _resolve, add_edit_command

    parser = argparse.ArgumentParser()
    add_edit_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["edit", "inpaint", "--reference", "a.png", "--reference", "b.png,c.png"])
    assert _references(_resolve(args).reference) == ["a.png", "b.png", "c.png"]
    args = parser.parse_args(["edit", "inpaint", "reference=[a.png,b.png]", "control=pose.mp4"])
    cfg = _resolve(args)
    assert _references(cfg.reference) == ["a.png", "b.png"] and cfg.control == "pose.mp4"


@pytest.mark.parametrize("argv, message", [
    (["inpaint", "--box", "10,10,10,20"], "is empty"),
    (["inpaint", "--box", "200,0,210,10"], "x0=200 is outside the 96x64 frame"),
    (["inpaint", "--box", "0,0,8,8@20:30"], "its first frame 20 is outside the video's 9 frames"),
    (["inpaint", "--box", BOX, "--strength", "1.5"], "--strength must be in [0, 1]"),
    (["outpaint"], "outpaint needs the border to add: give --pad"),
    (["outpaint", "--pad", "8", "--aspect", "16:9"], "give --pad or --aspect, not both"),
    (["outpaint", "--pad", "a,b"], "pad"),
    (["inpaint", "--box", BOX, "--frames", "50"], "the video has 9 frames"),
    (["inpaint", "--box", BOX, "--height", "-16"], "--height must be >= 1"),
    (["inpaint", "--mask", "/nonexistent/mask.mp4"], "mask /nonexistent/mask.mp4 not found"),
    (["inpaint", "--box", BOX, "--reference", "/nonexistent/ref.png"], "image /nonexistent/ref.png not found"),
    (["inpaint"], "needs a mask"),
    (["outpaint", "--pad", "8", "--height", "32"], "outpaint does not use --height; it is for inpaint, background"),
    (["outpaint", "--pad", "8", "--invert"], "outpaint does not use --invert; it is for inpaint, background, recolour"),
    (["outpaint", "--pad", "8", "--soft"], "outpaint does not use --soft"),
    (["inpaint", "--box", BOX, "--hue", "90"], "inpaint does not use --hue; it is for recolour"),
    (["inpaint", "--box", BOX, "--background", "bg.mp4"], "inpaint does not use --background; it is for background"),
    (["inpaint", "--box", BOX, "--pad", "8"], "inpaint does not use --pad; it is for outpaint"),
    # given at their defaults, still another task's: refused (they were taken silently)
    (["inpaint", "--box", BOX, "--hue", "0"], "inpaint does not use --hue; it is for recolour"),
    (["inpaint", "--box", BOX, "saturation=1"], "inpaint does not use saturation=1; it is for recolour"),
    (["background", "--box", BOX, "--harmonise", "0.3"], "--harmonise settles a --background composite"),
])
def test_edit_checks_come_before_the_weights(src, tmp_path, capsys, argv, message):
    code, err = _run(["edit", argv[0], "--model", NO_MODEL, "--video", src, *argv[1:], "--output", tmp_path / "o"],
                     capsys)
    assert code == 2 and message in err, err
    assert not (tmp_path / "o").exists()


def test_reference_and_control_need_a_model_that_takes_them(src, tmp_path, capsys, clip):
    Image.fromarray(clip[0]).save(tmp_path / "ref.png")
    code, err = _run(["edit", "inpaint", "--model", "tiny", "--video", src, "--box", BOX, "--control", src,
                      "--output", tmp_path / "o"], capsys)
    assert code == 2 and "--control needs a Wan VACE model" in err
    code, err = _run(["edit", "inpaint", "--model", "tiny", "--video", src, "--box", BOX, "--reference",
                      tmp_path / "ref.png", "--output", tmp_path / "o"], capsys)
    assert code == 2 and "--reference needs a Wan VACE model" in err


def test_animate_checks_inputs_before_the_weights(tmp_path, capsys, clip):
    pose = _png_dir(clip, tmp_path / "pose")
    Image.fromarray(clip[0]).save(tmp_path / "char.png")
    base = ["animate", "--model", NO_MODEL, "--output", tmp_path / "o"]
    code, err = _run([*base, "--image", tmp_path / "missing.png", "--pose", pose, "--face", pose], capsys)
    assert code == 2 and "missing.png not found" in err
    code, err = _run([*base, "--image", tmp_path / "char.png", "--pose", pose, "--face", tmp_path / "no_face"],
                     capsys)
    assert code == 2 and "face video" in err and "not found" in err
    code, err = _run([*base, "--image", tmp_path / "char.png", "--pose", pose, "--face", pose, "--height", "-8"],
                     capsys)
    assert code == 2 and "--height" in err
    # inputs fine: now the model is looked at
    code, err = _run([*base, "--image", tmp_path / "char.png", "--pose", pose, "--face", pose], capsys)
    assert code == 2 and NO_MODEL in err


@pytest.mark.parametrize("tile", ["0", "-5"])
def test_upscale_rejects_a_bad_tile(src, tmp_path, capsys, tile):
    code, err = _run(["upscale", src, "--model", "bicubic", "--tile", tile, "--output", tmp_path / "o"], capsys)
    assert code == 2 and "tile must be a positive" in err
    assert not (tmp_path / "o").exists()


def test_tiled_vae_rejects_overlap_not_below_tile():
    from video.edit.refine import TiledLatents
    from video.runtime.img2vid import InputError

    class _Inner:
        vae = channels = spatial_factor = temporal_factor = latent_frames = check_frames = None

    with pytest.raises(InputError, match="overlap"):
        TiledLatents(_Inner(), tile=(2, 8, 8), overlap=(2, 2, 2))
    with pytest.raises(InputError, match="overlap"):
        TiledLatents(_Inner(), tile=(2, 0, 8), overlap=(1, 0, 2))


def test_upscale_reads_a_png_folder(clip, src, tmp_path, capsys):
    code, err = _run(["upscale", src, "--model", "bicubic", "--frames", "3", "--output", tmp_path / "up"], capsys)
    assert code == 0, err
    out = load_frames(tmp_path / "up")
    assert out.shape == (3, 128, 192, 3)
    code, err = _run(["upscale", tmp_path / "nothing_here", "--model", "bicubic", "--output", tmp_path / "o"], capsys)
    assert code == 2 and "not found" in err


def test_masks_are_read_and_checked_before_the_weights(src, clip, tmp_path, capsys):
    """A mask that cannot be read, or that thresholds to nothing (pure red strokes: the mean of
    R, G, B is 1/3), is one error line before any model loads (the model path does not exist);
    an empty mask reported success, returning the input."""
    red = np.zeros(clip.shape[1:], np.uint8)
    red[16:48, 24:72] = (255, 0, 0)
    Image.fromarray(red).save(tmp_path / "red.png")
    (tmp_path / "notimg.png").write_text("not an image")
    code, err = _run(["edit", "inpaint", "--model", NO_MODEL, "--video", src, "--mask", tmp_path / "red.png",
                      "--output", tmp_path / "o.mp4"], capsys)
    assert code == 2 and "the mask is empty after thresholding at 0.5; its highest level is 0.33" in err, err
    # inverted (inpaint --invert; background regenerates the inverse of its subject mask), the
    # same mask selects every pixel: it passes, and the missing model is the error
    for task, extra in (("inpaint", ["--invert"]), ("background", [])):
        code, err = _run(["edit", task, "--model", NO_MODEL, "--video", src, "--mask", tmp_path / "red.png",
                          *extra, "--output", tmp_path / "o.mp4"], capsys)
        assert code == 2 and "empty" not in err and "not found" in err, err
    code, err = _run(["edit", "inpaint", "--model", NO_MODEL, "--video", src, "--mask", tmp_path / "notimg.png",
                      "--output", tmp_path / "o.mp4"], capsys)
    assert code == 2 and "notimg.png is not an image we can read" in err
    code, err = _run(["edit", "recolour", "--video", src, "--mask", tmp_path / "red.png", "--hue", "90",
                      "--output", tmp_path / "o.mp4"], capsys)
    assert code == 2 and "empty after thresholding" in err
    assert not (tmp_path / "o.mp4").exists()


def test_a_malformed_model_index_is_one_line(src, tmp_path, capsys, clip):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model_index.json").write_text("{bad json")
    code, err = _run(["edit", "inpaint", "--model", bad, "--video", src, "--box", BOX, "--output", tmp_path / "o"],
                     capsys)
    assert code == 2 and "model_index.json: not a readable JSON file" in err
    Image.fromarray(clip[0]).save(tmp_path / "char.png")
    code, err = _run(["animate", "--model", bad, "--image", tmp_path / "char.png", "--pose", src, "--face", src,
                      "--output", tmp_path / "o.mp4"], capsys)
    assert code == 2 and "model_index.json: not a readable JSON file" in err
    from video.edit.vace import VaceEditor
    from video.models.svd import CheckpointError

    with pytest.raises(CheckpointError, match="not a readable JSON file"):
        VaceEditor.from_pretrained(bad)


def test_model_sized_flags_say_what_is_wrong(src, tmp_path, capsys):
    code, err = _run(["edit", "inpaint", "--model", "tiny", "--video", src, "--box", BOX, "--overlap", "30",
                      "--steps", "1", "--output", tmp_path / "o"], capsys)
    assert code == 2 and "overlap must be between 0 and the window - 1 (8 frames; the window is 9 frames); got 30" in err
    code, err = _run(["edit", "inpaint", "--model", "tiny", "--video", src, "--box", BOX, "--height", "40",
                      "--steps", "1", "--output", tmp_path / "o"], capsys)
    assert code == 2 and "multiples of 16 for this model; got height 40" in err and "None" not in err
    code, err = _run(["edit", "recolour", "--video", src, "--box", BOX, "--hue", "9", "--height", "32",
                      "--output", tmp_path / "o"], capsys)
    assert code == 2 and "runs no model" in err


@pytest.fixture(scope="module")
def sound_clip(tmp_path_factory):
    """1.5 s of a test card at 12 fps with a 440 Hz tone (AAC)."""
    import subprocess

    from video.media import ffmpeg_exe

    path = tmp_path_factory.mktemp("sound") / "clip.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=12",
                    "-f", "lavfi", "-i", "sine=frequency=440", "-t", "1.5", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-shortest", str(path)], check=True)
    return path


def _audio_seconds(path):
    import av

    with av.open(str(path)) as c:
        return [float(s.duration * s.time_base) for s in c.streams.audio]


def test_edit_and_upscale_keep_the_audio(sound_clip, tmp_path, capsys):
    for argv in (["edit", "recolour", "--video", sound_clip, "--box", "0,0,32,32", "--hue", "90"],
                 ["edit", "inpaint", "--model", "tiny", "--video", sound_clip, "--box", "0,0,32,32", "--steps", "1"],
                 ["upscale", sound_clip, "--model", "bicubic"]):
        out = tmp_path / f"{argv[1]}.mp4"
        code, err = _run([*argv, "--output", out], capsys)
        assert code == 0, err
        (seconds,) = _audio_seconds(out)
        assert seconds == pytest.approx(1.5, abs=0.05)
        assert len(load_frames(out)) == 18
    # the first 6 of 18 frames (--frames): the sound of those frames, cut where the video ends
    code = main([str(a) for a in ["upscale", sound_clip, "--model", "bicubic", "--frames", "6", "--output",
                                  tmp_path / "short.mp4"]])
    err = capsys.readouterr().err
    assert code == 0 and "audio was not kept" not in err, err
    (seconds,) = _audio_seconds(tmp_path / "short.mp4")
    assert seconds == pytest.approx(0.5, abs=0.03) and len(load_frames(tmp_path / "short.mp4")) == 6


def test_a_phone_rotated_video_is_edited_upright(clip, tmp_path, capsys):
    """A video stored landscape with a 90 degree display rotation (how phones store portrait):
    --box is in display coordinates and the output displays as the input did (it was edited
    and written sideways)."""
    import subprocess

    from video.media import ffmpeg_exe, probe_video, read_video

    plain = write_video(clip, tmp_path / "plain.mp4", fps=8)
    rotated = tmp_path / "rotated.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-display_rotation", "90", "-i", str(plain), "-c", "copy",
                    str(rotated)], check=True)
    shown = read_video(rotated)
    assert shown.shape == (9, 96, 64, 3)  # upright: 64 wide, 96 high
    code, err = _run(["edit", "recolour", "--video", rotated, "--box", "0,60,64,96", "--hue", "120", "--output",
                      tmp_path / "out.mp4"], capsys)
    assert code == 0, err
    info, out = probe_video(tmp_path / "out.mp4"), read_video(tmp_path / "out.mp4").astype(int)
    assert (info["width"], info["height"], info["rotation"]) == (64, 96, 0)
    assert np.abs(out[:, :56] - shown[:, :56]).mean() < 4  # above the box: the input, within two encodes
    assert np.abs(out[:, 64:] - shown[:, 64:]).mean() > 10  # the box, the bottom of the upright frame: recoloured
