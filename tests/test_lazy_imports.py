"""What loads without torch: the media package, every ``--help`` and the package faces that
name heavy classes (``video``, ``video.edit``, ``video.prompts``), which resolve them on first
use (:mod:`video.lazy`). torch costs seconds to import; a help screen should not wait for it."""

import subprocess
import sys

import pytest


def _loads_torch(code: str) -> bool:
    probe = code + "\nimport sys\nprint('torch' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1] == "True"


def _help(module: str, *argv: str) -> str:
    """Code that prints ``argv``'s help through ``module``'s ``main`` (the parser a command builds)."""
    return (f"import sys, contextlib, io\nsys.argv = ['x', {', '.join(map(repr, argv))}]\nfrom {module} import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main()\n    except SystemExit:\n"
            "        pass")


@pytest.mark.parametrize("code", [
    "import video.media, video.edit, video.prompts, video, video.edit.upscale, video.edit.upscale_cli",
    "import video.edit.animate_cli, video.models.folder, video.models.detect, video.runtime.config",
    _help("video.cli", "--help"), _help("video.cli", "upscale", "--help"), _help("video.cli", "animate", "--help"),
    _help("video.cli", "txt2vid", "--help"), _help("video.cli", "eval", "--help"),
    _help("data_curation.cli", "--help"),
])
def test_no_torch_until_needed(code):
    assert not _loads_torch(code)


def test_lazy_names_resolve_to_their_modules():
    import video
    import video.edit
    import video.prompts
    from video.edit.editor import Editor
    from video.edit.recipes import inpaint
    from video.prompts.encode import PromptEncoder
    from video.runtime.img2vid import ImageToVideo

    assert video.edit.Editor is Editor and video.edit.inpaint is inpaint
    assert video.prompts.PromptEncoder is PromptEncoder and video.ImageToVideo is ImageToVideo
    assert {"Editor", "Box", "restyle"} <= set(dir(video.edit))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        video.edit.Nope  # noqa: B018


def test_image_to_tensor_still_takes_a_tensor():
    import torch

    from video.media import image_to_tensor

    t = torch.rand(3, 8, 8)
    assert torch.equal(image_to_tensor(t, 8, 8), t[None])
    assert image_to_tensor(t, 4, 4).shape == (1, 3, 4, 4)


def test_a_bicubic_upscale_runs_without_torch(tmp_path):
    """``video upscale --model bicubic`` reads, resamples and writes pixels only: it loaded torch
    (about 1.5 s) through the mask module's file readers, now in :mod:`video.edit.frames`. The
    output is a real upscale of a real clip, so the run is the whole command, not its help."""
    import numpy as np

    from video.edit.frames import load_frames, load_frames_timed
    from video.media import read_video, write_video

    write_video(np.random.default_rng(0).integers(0, 256, (3, 16, 24, 3), dtype=np.uint8), tmp_path / "in.mp4", fps=8)
    out = tmp_path / "out.mp4"
    code = (f"import sys\nsys.argv = ['video', 'upscale', {str(tmp_path / 'in.mp4')!r}, '--model', 'bicubic', "
            f"'--output', {str(out)!r}]\nfrom video.cli import main\ntry:\n    main()\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code")
    assert not _loads_torch(code)
    assert read_video(out).shape == (3, 32, 48, 3)
    import torch  # a tensor is still taken as a video once torch is there

    frames = torch.zeros(2, 4, 4, 3, dtype=torch.uint8)
    assert load_frames(frames).shape == (2, 4, 4, 3) and load_frames_timed(frames)[1] is None
