"""What an image input that is not an image says: a folder says it is a folder (it was "not
found"), a video says it is a video (it was "not an image we can read
(UnidentifiedImageError)"); and ``txt2vid --embeddings`` given one file says it is a file and
names the folder to give (it was "no such folder"). Each before any weights load."""

from __future__ import annotations

import numpy as np
import pytest

from video.media import MediaError, load_image, open_image, write_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    frames = np.zeros((3, 64, 64, 3), np.uint8)
    return {kind: write_video(frames, folder / f"clip.{kind}", fps=5) for kind in ("mp4", "webm")}


def test_a_folder_says_it_is_a_folder(tmp_path):
    for read in (open_image, load_image):  # the mask reader's, and every image input's
        with pytest.raises(MediaError, match=r"^image .+ is a folder; give one image file$"):
            read(tmp_path)


def test_a_missing_file_is_still_not_found(tmp_path):
    with pytest.raises(MediaError, match=r"^image .+nope\.png not found$"):
        load_image(tmp_path / "nope.png")


@pytest.mark.parametrize("kind,name", [("mp4", "MP4"), ("webm", "Matroska/WebM")])
def test_a_video_says_it_is_a_video(videos, kind, name):
    with pytest.raises(MediaError) as e:
        load_image(videos[kind])
    assert str(e.value) == (f"{videos[kind]} is a video ({name}), not an image; give one image file "
                            "(e.g. a frame saved as .png)")


def test_other_unreadable_files_keep_their_message(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    with pytest.raises(MediaError, match=r"notes\.png is not an image we can read \(UnidentifiedImageError\)$"):
        load_image(bad)


def test_img2vid_says_so_before_the_load(tmp_path, cli, videos):
    for image, needle in ((tmp_path, "is a folder; give one image file"), (videos["mp4"], "is a video (MP4)")):
        p = cli("img2vid", "--model", "tiny", "--frames", "1", "--image", image, "--output", tmp_path / "o.png")
        assert p.returncode == 2 and len(p.errors) == 1 and needle in p.errors[0], p.stderr
        assert "random weights" not in p.stderr


def test_txt2vid_embeddings_given_a_file_names_its_folder(tmp_path, cli):
    emb = tmp_path / "emb"
    emb.mkdir()
    (emb / "mystyle.safetensors").write_bytes(b"")
    p = cli("txt2vid", "--model", "tiny", "--embeddings", emb / "mystyle.safetensors", "--output", tmp_path / "o.png")
    assert p.returncode == 2 and p.errors == [
        f"error: --embeddings {emb / 'mystyle.safetensors'} is a file; give the folder of embeddings it is in "
        f"(--embeddings {emb}), each named in prompts by its file name"], p.stderr
    p = cli("txt2vid", "--model", "tiny", "--embeddings", tmp_path / "none", "--output", tmp_path / "o.png")
    assert p.returncode == 2 and p.errors == [f"error: --embeddings {tmp_path / 'none'}: no such folder"]
