"""Flashes are not cuts (review: a 1.3x brightening of two frames in a pan gave the shots
[[0, 70], [70, 72], [72, 150]], where PySceneDetect found no cut, and a 60 fps strobe, two bright
frames every 0.75 s, left 17 shots and no clip). The hard-cut test compares each side with its
neighbour one frame further out, so two or three flash frames looked like a shot of their own;
a flash of up to three frames after which the scene comes back now stays in the shot. Clips are
built with ffmpeg's lavfi, so the truth is known; a cut away to a darker shot for two frames
stays two cuts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from scenedetect import AdaptiveDetector, ContentDetector, detect

from data_curation.cuts import CutParams, detect_shots
from data_curation.split import plan_clips
from video.media import ffmpeg_exe

MODES = ("all", "ref", "auto")
VERYFAST = ["-c:v", "libx264", "-preset", "veryfast"]  # B-frames: the sparse modes skip some
NO_B = [*VERYFAST, "-x264-params", "bframes=0"]  # every frame a reference: every mode decodes all


def _lavfi(source: str, rate: int = 25) -> list[str]:
    return ["-f", "lavfi", "-i", f"{source}=size=160x120:rate={rate}"]


def _encode(path: Path, inputs: list[str], graph: str, frames: int, codec: list[str]) -> str:
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *inputs, "-filter_complex", graph,
                    "-map", "[o]", "-frames:v", str(frames), *codec, "-pix_fmt", "yuv420p", str(path)],
                   check=True, timeout=120)
    return str(path)


def _flash(gain: str, first: int, last: int) -> str:
    """A graph brightening luma to ``gain`` (an expression of ``val``) on frames first..last."""
    return f"[0]lutyuv=y='{gain}':enable='between(n,{first},{last})'[o]"


# name -> (source, luma during the flash, flash frames, encoder options), 150 frames at 25 fps
FLASHES = {
    "2 frames x1.3, mandelbrot zoom": ("mandelbrot", "val*1.3", (70, 71), VERYFAST),
    "2 frames x1.3, no B-frames": ("mandelbrot", "val*1.3", (70, 71), NO_B),
    "2 frames x1.5, testsrc2": ("testsrc2", "val*1.5", (70, 71), VERYFAST),
    "3 frames x1.5, testsrc2": ("testsrc2", "val*1.5", (70, 72), VERYFAST),
    "3 white frames": ("mandelbrot", "235", (70, 72), VERYFAST),
}
PEERS_AGREE = {"2 frames x1.3, mandelbrot zoom", "2 frames x1.3, no B-frames"}  # no cut for either


@pytest.fixture(scope="module")
def flashes(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("flashes")
    return {name: _encode(d / f"flash{i}.mp4", _lavfi(src), _flash(gain, *frames), 150, codec)
            for i, (name, (src, gain, frames, codec)) in enumerate(FLASHES.items())}


@pytest.mark.parametrize("name", list(FLASHES))
def test_short_flash_is_no_cut(flashes, name):
    for mode in MODES:
        shots = detect_shots(flashes[name], CutParams(decode=mode))
        assert shots.shots == [[0, 150]] and shots.transitions == [], (name, mode)


@pytest.mark.parametrize("name", sorted(PEERS_AGREE))
def test_flash_agrees_with_pyscenedetect(flashes, name):
    for detector in (ContentDetector(), AdaptiveDetector()):
        assert len(detect(flashes[name], detector)) <= 1, (name, type(detector).__name__)
    assert detect_shots(flashes[name], CutParams(decode="all")).shots == [[0, 150]]


def test_strobe_keeps_its_clip(tmp_path):
    """60 fps, 6 s, two frames at x1.5 every 0.75 s: one shot, and the whole of it one clip."""
    graph = "[0]lutyuv=y='val*1.5':enable='between(mod(n,45),20,21)'[o]"
    path = _encode(tmp_path / "strobe.mp4", _lavfi("mandelbrot", 60), graph, 360, NO_B)
    for mode in MODES:
        shots = detect_shots(path, CutParams(decode=mode))
        assert shots.shots == [[0, 360]], mode
        assert plan_clips(shots.shots, shots.fps, 2, 10) == [(0, 360)], mode


def test_two_frame_cut_away_to_a_darker_shot_stays_two_cuts(tmp_path):
    """Not a flash: the two frames are another scene, at half the brightness. Both cuts are
    found frame-exact in every mode (the inserted frames are references: no B-frames), as
    PySceneDetect finds the first (its 15-frame minimum shot hides the second)."""
    graph = "[1]lutyuv=y='val*0.5'[b];[0][b]overlay=enable='between(n,70,71)'[o]"
    path = _encode(tmp_path / "cutaway.mp4", _lavfi("mandelbrot") + _lavfi("testsrc2"), graph, 150, NO_B)
    for mode in MODES:
        assert detect_shots(path, CutParams(decode=mode)).shots == [[0, 70], [70, 72], [72, 150]], mode
    assert [s[0].frame_num for s in detect(path, ContentDetector())[1:]] == [70]


def test_flash_next_to_a_cut_leaves_the_cut_exact(tmp_path):
    """A flash two frames before a hard cut: the cut stays on its frame, the flash in no cut."""
    graph = ("[0]trim=end_frame=80,lutyuv=y='val*1.5':enable='between(n,76,77)'[a];"
             "[1]trim=end_frame=70,setpts=PTS-STARTPTS[b];[a][b]concat=n=2:v=1[o]")
    path = _encode(tmp_path / "flashcut.mp4", _lavfi("mandelbrot") + _lavfi("testsrc2"), graph, 150, NO_B)
    for mode in MODES:
        assert detect_shots(path, CutParams(decode=mode)).shots == [[0, 80], [80, 150]], mode


@pytest.mark.parametrize("n_white", [2, 3])
@pytest.mark.parametrize("a, b", [("cellauto", "mandelbrot"), ("mandelbrot", "life")])
def test_white_flash_between_two_shots_stays_a_cut(tmp_path, a, b, n_white):
    """A white flash as a transition (review: cellauto, two white frames, mandelbrot lost the cut
    after the white, as next to white almost any frame passed for the scene coming back): the
    white frames are a transition of their own, frame-exact in every mode (no B-frames). cellauto
    changes fast (0.12 a frame), life's first frames too: the shots differ more than either
    moves, so the frame after the white is another shot, not the scene back."""
    graph = (f"[0]trim=end_frame=70[a];color=white:size=160x120:rate=25,trim=end_frame={n_white}[w];"
             f"[1]trim=end_frame={80 - n_white},setpts=PTS-STARTPTS[b];[a][w][b]concat=n=3:v=1[o]")
    path = _encode(tmp_path / "whiteflash.mp4", _lavfi(a) + _lavfi(b), graph, 150, NO_B)
    for mode in MODES:
        shots = detect_shots(path, CutParams(decode=mode)).shots
        assert shots == [[0, 70], [70, 70 + n_white], [70 + n_white, 150]], (a, b, n_white, mode)


def test_a_new_cut_version_splits_the_sources_again(monkeypatch):
    """Parts split by the detector before flashes were ruled out (version 1), or while a white
    flash between two shots hid their cut (2), or before dim frames' bins were soft (3), carry
    another scoring key, so a resume splits them again; the key of version 1 (which no key held) is what it was."""
    import data_curation.cuts as cuts
    from data_curation.recipe import load_recipe, scoring_key

    recipe = load_recipe("quick")
    now = scoring_key(recipe)
    keys = []
    for version in (1, 2, 3, 4, 5):
        monkeypatch.setattr(cuts, "CUT_VERSION", version)
        keys.append(scoring_key(recipe))
    assert keys[4] == now and len(set(keys)) == 5
