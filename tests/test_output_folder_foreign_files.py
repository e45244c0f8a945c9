"""A re-render into a PNG-frames folder this tool wrote replaces only what it wrote there: a
``clip.mp4`` or a note the user put in the folder since is never deleted; the render is refused
in one line, before any work, naming the first such entry. The marker lists the names written;
an old marker (an empty file, from earlier versions) vouches for the frame names only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from video import atomic
from video.media import MediaError, check_output, write_video


def clip(n: int = 2) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)


def names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_video_written_into_our_frames_folder_is_kept(tmp_path):
    """The reviewer's repro: frames to renders, renders/clip.mp4, frames to renders again."""
    out = tmp_path / "renders"
    write_video(clip(), out)
    write_video(clip(), out / "clip.mp4")
    before = (out / "clip.mp4").read_bytes()
    for attempt in (lambda: check_output(out, num_frames=2), lambda: write_video(clip(3), out)):
        with pytest.raises(MediaError) as e:
            attempt()
        msg = str(e.value)
        assert "\n" not in msg and "refusing to replace" in msg and "clip.mp4" in msg and "did not write" in msg
    assert (out / "clip.mp4").read_bytes() == before
    assert names(out) == [".written-by-video", "00000.png", "00001.png", "clip.mp4"]
    assert names(tmp_path) == ["renders"]  # no temporary left beside it


def test_a_note_in_our_frames_folder_is_kept_and_counted(tmp_path):
    out = tmp_path / "frames"
    with atomic.atomic_folder(out) as tmp:
        (tmp / "00000.png").write_bytes(b"frame")
    (out / "user_note.txt").write_text("mine")
    (out / "extra").mkdir()
    (out / "extra" / "a.txt").write_text("a")
    with pytest.raises(FileExistsError, match=r"holds extra/ and 1 more entry this tool did not write"):
        with atomic.atomic_folder(out) as tmp:
            (tmp / "00000.png").write_bytes(b"new")
    assert (out / "user_note.txt").read_text() == "mine" and (out / "extra" / "a.txt").read_text() == "a"
    assert (out / "00000.png").read_bytes() == b"frame"


def test_a_file_put_inside_a_subfolder_we_wrote_is_foreign(tmp_path):
    """A saved model folder has subfolders (unet/, vae/): what the user adds in them is kept too."""
    out = tmp_path / "model"
    with atomic.atomic_folder(out) as tmp:
        (tmp / "unet").mkdir()
        (tmp / "unet" / "config.json").write_text("{}")
    (out / "unet" / "notes.md").write_text("mine")
    with pytest.raises(FileExistsError, match=r"holds unet/notes\.md, which this tool did not write"):
        atomic.check_replaceable(out)


def test_a_clean_rerender_into_our_own_folder_replaces_it(tmp_path):
    out = tmp_path / "frames"
    write_video(clip(3), out)
    assert json.loads((out / ".written-by-video").read_text())["written"] == ["00000.png", "00001.png", "00002.png"]
    (out / ".DS_Store").write_bytes(b"finder's view cache")  # not the user's: does not block a rerun
    write_video(clip(2), out)
    assert names(out) == [".written-by-video", "00000.png", "00001.png"]
    assert names(tmp_path) == ["frames"]


def test_an_old_marker_vouches_for_frame_names_only(tmp_path):
    """Folders written before markers listed names: the frames are ours, anything else is not."""
    out = tmp_path / "frames"
    out.mkdir()
    (out / ".written-by-video").touch()
    for i in range(3):
        (out / f"{i:05d}.png").write_bytes(b"old")
    write_video(clip(2), out)
    assert names(out) == [".written-by-video", "00000.png", "00001.png"]

    old = tmp_path / "old"
    old.mkdir()
    (old / ".written-by-video").touch()
    (old / "00000.png").write_bytes(b"old")
    (old / "clip.mp4").write_bytes(b"user's")
    with pytest.raises(MediaError, match=r"holds clip\.mp4, which this tool did not write"):
        write_video(clip(2), old)
    assert names(old) == [".written-by-video", "00000.png", "clip.mp4"]


@pytest.mark.parametrize("index", ["model_index.json", "video_pipeline.yaml"])
def test_an_old_marker_on_a_model_folder_vouches_for_all_of_it(tmp_path, index):
    """A model folder an earlier version exported (its marker empty) is replaced whole, as it
    always was: a rerun of the export into it (quickstart's VAE, a training export) was refused,
    every time, naming files the tool had written."""
    model = tmp_path / "model"
    (model / "unet").mkdir(parents=True)
    (model / ".written-by-video").touch()
    (model / index).write_text("{}")
    (model / "unet" / "config.json").write_text("{}")
    atomic.check_replaceable(model)
    with atomic.atomic_folder(model) as tmp:
        (tmp / index).write_text("{}")
    assert names(model) == [".written-by-video", index]


def test_cli_refuses_before_the_render(tmp_path, cli):
    """The CLI checks --output before loading the model: one error line, exit 2, nothing written."""
    out = tmp_path / "frames"
    write_video(clip(), out)
    (out / "user_note.txt").write_text("keep")
    p = cli("img2vid", "--model", "tiny", "--frames", "2", "--steps", "1", "--output", str(out))
    assert p.returncode == 2 and "wrote" not in p.stdout, p.stderr
    assert "user_note.txt" in p.stderr.splitlines()[-1] and "did not write" in p.stderr.splitlines()[-1]
    assert (out / "user_note.txt").read_text() == "keep" and names(tmp_path) == ["frames"]


def test_macos_appledouble_files_of_our_frames_do_not_block(tmp_path):
    """On an exFAT or network drive macOS writes ``._NAME`` beside each file it touches: those of
    our frames are their metadata; one beside a user's file is as foreign as the file."""
    out = tmp_path / "frames"
    write_video(clip(2), out)
    (out / "._00000.png").write_bytes(b"\x00\x05\x16\x07")
    write_video(clip(2), out)
    (out / "notes.txt").write_text("keep")
    (out / "._notes.txt").write_bytes(b"\x00\x05\x16\x07")
    with pytest.raises(MediaError, match=r"holds \._notes\.txt and 1 more entry"):
        write_video(clip(2), out)
