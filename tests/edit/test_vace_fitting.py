"""What the editors read from a video *file* when called from Python, as ``video edit`` reads it:
a mask of the shape an anamorphic video shows on screen is squeezed onto its stored pixels (the
VACE editor cover-cropped it, with a warning), a mask video under a variable-rate video is
matched at the video's real frame times (both editors took i / fps), and a VACE control video
is matched by time and fitted like a mask (it was taken frame by frame and cropped silently:
a 24 fps control under an 8 fps clip played 3x fast). Plus ``video edit``'s ``-o`` and what its
--output help says about the input's audio, checked against what the command does."""

from __future__ import annotations

import subprocess
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from vace_fixtures import moving_clip

from video.cli import main
from video.edit.mask import load_frames
from video.edit.recipes import inpaint
from video.media import MediaError, ffmpeg_exe, read_video_timed, resize_center_crop, write_video

H, W, SCREEN_W, EDGE, SAR = 48, 64, 76, 60, "32:27"  # 64x48 of 32:27 pixels shows as 76x48


@pytest.fixture(scope="module")
def vace(vace_dir):
    from video.edit import Editor
    from video.edit.vace import VaceRecipeEditor

    return VaceRecipeEditor(Editor.from_pretrained(vace_dir))


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """ana.mp4: 5 frames of a real photograph, 64x48 of 32:27 pixels at 8 fps; ctrl.mp4: 16
    frames of another, 96x48 at 24 fps (a control of another aspect ratio and rate)."""
    d = tmp_path_factory.mktemp("fit")
    ana = write_video(moving_clip(5, H, W), d / "ana.mp4", fps=8, sar=SAR)
    ctrl = write_video(255 - moving_clip(16, H, 96, seed=2), d / "ctrl.mp4", fps=24)
    return str(ana), str(ctrl)


def _first_white_column() -> int:
    """The closed form: the first stored column whose centre lies on the white side of EDGE."""
    return next(j for j in range(W) if (j + 0.5) * SCREEN_W / W >= EDGE)


def _edge_png(path, width: int, edge: int) -> str:
    a = np.zeros((H, width), np.uint8)
    a[:, edge:] = 255
    Image.fromarray(a).save(path)
    return str(path)


def _seed() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def test_vace_recipe_reads_the_files_pixel_shape(vace, media, tmp_path):
    """The VACE twin of test_recolour_recipe_reads_the_files_pixel_shape: an on-screen mask gives
    exactly the edit of the stored-grid mask of the closed form (column 51; cover-cropped: 54),
    without a warning."""
    ana = media[0]
    assert _first_white_column() == 51
    screen = _edge_png(tmp_path / "screen.png", SCREEN_W, EDGE)
    stored = _edge_png(tmp_path / "stored.png", W, _first_white_column())
    kw = dict(prompt="x", num_inference_steps=1, feather_px=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "another aspect ratio"
        got = inpaint(vace, ana, screen, generator=_seed(), **kw)
    want = inpaint(vace, ana, stored, generator=_seed(), **kw)
    assert np.array_equal(got, want)
    changed = np.flatnonzero((got != load_frames(ana)).any(-1).any(1).any(0))
    assert changed[0] == _first_white_column() and changed[-1] == W - 1


def _lavfi(path, graph: str, *extra: str) -> str:
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", graph, *extra, "-pix_fmt",
                    "yuv420p", str(path)], check=True)
    return str(path)


@pytest.fixture(scope="module")
def vfr(tmp_path_factory):
    """A red 128x32 video with frames at 0, 0.1 .. 0.4 s, then 1.0 .. 1.4 s, and a 20 fps mask
    whose frame j is a white band 4 pixels wide at x = 4j (lossless)."""
    d = tmp_path_factory.mktemp("vfr")
    video = _lavfi(d / "vfr.mp4", "color=red:size=128x32:rate=10,setpts='if(lt(N,5),N,N+5)/(10*TB)'",
                   "-frames:v", "10", "-fps_mode", "passthrough")
    assert np.allclose(read_video_timed(video)[1], [0, .1, .2, .3, .4, 1.0, 1.1, 1.2, 1.3, 1.4], atol=1e-3)
    mask = _lavfi(d / "m20.mp4", "color=black:size=128x32:rate=20[b];color=white:size=4x32:rate=20[w];"
                                 "[b][w]overlay=x=80*t:y=0", "-frames:v", "32", "-crf", "0")
    return video, mask


@pytest.mark.parametrize("which", ["editor", "vace"])
def test_python_editors_match_a_mask_video_at_the_videos_frame_times(which, vfr, tiny_editor, vace):
    """Both editors, given the files: each frame changes in the band of the mask frame at its
    real time x 20 (0, 2 .. 8, 20 .. 28); at i / fps of the average rate it was 0, 3 .. 27."""
    video, mask = vfr
    editor = tiny_editor if which == "editor" else vace
    out = editor(video, mask=mask, prompt="x", num_inference_steps=1, feather_px=0, generator=_seed())
    changed = (out != load_frames(video)).any(-1).any(1)  # (F, W)
    bands = [sorted(set(np.flatnonzero(c) // 4)) for c in changed]
    assert bands == [[b] for b in (0, 2, 4, 6, 8, 20, 22, 24, 26, 28)]


def _expected_control(ctrl: str) -> np.ndarray:
    """Video frame i (at i / 8 s) takes control frame 3i (i / 8 s at 24 fps), cover-cropped."""
    frames = load_frames(ctrl)
    return np.stack([np.asarray(resize_center_crop(Image.fromarray(frames[3 * i]), H, W)) for i in range(5)])


def test_fit_control_by_time_and_shape(media):
    from video.edit.vace import fit_control

    ana, ctrl = media
    times = read_video_timed(ana)[1]
    with pytest.warns(UserWarning, match="the control video is 96x48 and the video 64x48, another aspect ratio"):
        got = fit_control(ctrl, 5, H, W, fps=8, times=times)
    assert np.array_equal(got, _expected_control(ctrl))
    screen = 255 - moving_clip(5, H, SCREEN_W, seed=3)  # the on-screen shape: squeezed, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = fit_control(screen, 5, H, W, sar=SAR)
    want = np.stack([np.asarray(Image.fromarray(x).resize((W, H), Image.LANCZOS)) for x in screen])
    assert np.array_equal(got, want)
    assert np.array_equal(fit_control(screen[:1], 3, H, SCREEN_W), np.repeat(screen[:1], 3, 0))  # one image: every frame
    with pytest.raises(MediaError, match="the control video has 2 frames, the video 5"):
        fit_control(screen[:2], 5, H, SCREEN_W)
    with pytest.raises(MediaError, match=r"the control video ctrl.mp4 lasts 0.67 s \(16 frames at 24 fps\); the video "
                                         r"2.00 s \(16 frames at 8 fps\)"):
        fit_control(ctrl, 16, H, W, fps=8)


def test_vace_editor_fits_a_control_file(vace, media):
    """From Python: the control file gives the edit of its time-matched, cover-cropped frames,
    with the warning; its first frames, as it was read, give another."""
    ana, ctrl = media
    kw = dict(mask="0,0,32,48", prompt="x", num_inference_steps=1)
    with pytest.warns(UserWarning, match="the control video is 96x48"):
        got = vace(ana, control_video=ctrl, generator=_seed(), **kw)
    assert np.array_equal(got, vace(ana, control_video=_expected_control(ctrl), generator=_seed(), **kw))
    first = np.stack([np.asarray(resize_center_crop(Image.fromarray(x), H, W)) for x in load_frames(ctrl)[:5]])
    assert not np.array_equal(got, vace(ana, control_video=first, generator=_seed(), **kw))


def _run(argv, capsys) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def test_edit_command_fits_the_control_and_takes_o(vace_dir, media, tmp_path, capsys):
    """`video edit inpaint --control` under an 8 fps clip: the 24 fps, 96x48 control is matched by
    time and cover-cropped with one warning (it was its first 5 frames, silently), the same
    output as its fitted frames given as a folder; ``-o`` is --output's short form."""
    ana, ctrl = media
    fitted = write_video(_expected_control(ctrl), tmp_path / "fitted")  # a PNG folder: frame by frame
    base = ["edit", "inpaint", "--model", vace_dir, "--video", ana, "--box", "0,0,32,48", "--steps", "1"]
    code, err = _run(base + ["--control", ctrl, "-o", tmp_path / "a.mp4"], capsys)
    assert code == 0, err
    assert [line for line in err.splitlines() if "aspect ratio" in line] == [
        "warning: the control video is 96x48 and the video 64x48, another aspect ratio: the control video is scaled "
        "to cover the video and its middle cropped"], err
    code, err = _run(base + ["--control", fitted, "--output", tmp_path / "b.mp4"], capsys)
    assert code == 0 and "aspect ratio" not in err, err
    assert np.array_equal(load_frames(tmp_path / "a.mp4"), load_frames(tmp_path / "b.mp4"))
    code, err = _run(base + ["-o", tmp_path / "c.mp4", "--output", tmp_path / "d.mp4"], capsys)
    assert code == 2 and "are the same option" in err, err


def _audio_seconds(path) -> list[float]:
    import av

    with av.open(str(path)) as c:
        return [float(s.duration * s.time_base) for s in c.streams.audio]


def test_output_help_says_what_becomes_of_the_audio_and_the_command_does_it(tmp_path, capsys):
    """--help: kept in an mp4 / webm at the input's rate, the sound of --frames N; dropped with a
    warning at another --fps. 1.5 s at 12 fps with a tone."""
    snd = tmp_path / "snd.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=12",
                    "-f", "lavfi", "-i", "sine=frequency=440", "-t", "1.5", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-shortest", str(snd)], check=True)
    with pytest.raises(SystemExit):
        main(["edit", "recolour", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert ("The input's audio is kept in an .mp4 or .webm written at its frame rate (with --frames N, the sound of "
            "those frames); another --fps, a GIF, PNG folder or image drops it, with a warning") in shown
    base = ["edit", "recolour", "--video", snd, "--box", "0,0,16,16", "--hue", "90"]
    code, err = _run(base + ["--frames", "6", "-o", tmp_path / "short.mp4"], capsys)
    assert code == 0 and "audio" not in err, err
    assert _audio_seconds(tmp_path / "short.mp4") == [pytest.approx(0.5, abs=0.03)]
    code, err = _run(base + ["--fps", "6", "-o", tmp_path / "slow.mp4"], capsys)
    assert code == 0 and "the input's audio was not kept: the output is at 6 fps, the input at 12" in err, err
    assert _audio_seconds(tmp_path / "slow.mp4") == []
