"""A PNG-folder output named with a dot (``frames_v1.5/``) is a folder by its trailing slash:
``Path`` drops the slash, and the name was refused as a ``.5`` video."""

import numpy as np
import pytest

from video.media import MediaError, check_output, write_video


def test_trailing_slash_names_a_png_folder(tmp_path):
    frames = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    out = str(tmp_path / "frames_v1.5") + "/"
    check_output(out, num_frames=3)
    written = write_video(frames, out, fps=8)
    assert (tmp_path / "frames_v1.5").is_dir()
    assert sorted(p.name for p in (tmp_path / "frames_v1.5").glob("*.png")) == ["00000.png", "00001.png", "00002.png"]
    assert written.name == "frames_v1.5"


def test_without_the_slash_the_error_says_to_add_it(tmp_path):
    with pytest.raises(MediaError, match=r"frames_v1\.5/ with the slash"):
        check_output(str(tmp_path / "frames_v1.5"), num_frames=3)
