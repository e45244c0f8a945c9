"""``video eval`` after review: a learned network that fails on the user's frames or has another
call signature is one ``error:`` line naming the file (LPIPS gave a traceback; I3D advised a
longer clip for any failure); a prompts text file follows the videos' natural name order
(clip_2 before clip_10, as PNG frames); metrics.json and report.html get the umask's modes (they
were 0600); ``--out`` naming a file fails before any scoring; a video and a reference of other
lengths and sizes are compared on their first common frames, the reference resized."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
import torch

from eval.fvd import I3DFeatures
from eval.inputs import EvalError
from video.media import write_video


class AlexLike(torch.nn.Module):
    """LPIPS-AlexNet's first stage: an 11x11 stride-4 conv and two 3x3 stride-2 max pools, too
    deep for 16x16 frames (1x1 after the first pool, nothing after the second)."""

    def __init__(self):
        super().__init__()
        self.c = torch.nn.Conv2d(3, 8, 11, 4, 2)

    def forward(self, x, y):
        f = torch.nn.functional.max_pool2d
        a, b = f(f(self.c(x), 3, 2), 3, 2), f(f(self.c(y), 3, 2), 3, 2)
        return (a - b).pow(2).mean(dim=(1, 2, 3))


def noise(n: int, h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


@pytest.fixture
def small(tmp_path):
    """Two 16x16 clips: large enough for SSIM's 11x11 window, too small for AlexNet's pooling."""
    d = tmp_path / "small"
    for i, name in enumerate("ab"):
        write_video(noise(3, 16, 16, i), d / f"{name}.mp4", fps=5)
    return d


def one_error_line(p) -> str:
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and len(p.errors) == 1, p.stderr
    return p.errors[0]


def test_lpips_too_deep_for_the_frames_is_one_line(tmp_path, small, cli):
    model = tmp_path / "lpips_alex.pt"
    torch.jit.script(AlexLike().eval()).save(str(model))
    err = one_error_line(cli("eval", small, "--reference", small, "--lpips", model, "--out", tmp_path / "o",
                             "--device", "cpu"))
    assert err.startswith(f"error: {model}: LPIPS failed on 16x16 frames (")
    assert "Output size is too small" in err and "too small for this network" in err  # the traceback's last line


def test_lpips_with_another_call_signature_is_one_line_without_size_advice(tmp_path, small, cli, tiny_weights):
    """The I3D file given as --lpips: forward(x, rescale: bool, ...) called with two images."""
    err = one_error_line(cli("eval", small, "--reference", small, "--lpips", tiny_weights["i3d"], "--out",
                             tmp_path / "o", "--device", "cpu"))
    assert err.startswith(f"error: {tiny_weights['i3d']}: LPIPS failed on 16x16 frames (")
    assert "rescale" in err and "too small" not in err


def test_i3d_advises_a_longer_clip_only_for_size_errors(tiny_weights, bikes_frames):
    """The LPIPS file given as --i3d fails on any clip length: the file is named with torch's line
    (forward's missing argument), and no longer clip is suggested; the tiny I3D's 3-frame kernel
    on 2 frames is a size error, given with the advice and the TorchScript traceback's last line."""
    wrong = I3DFeatures(tiny_weights["lpips"], resolution=32, num_frames=16)
    with pytest.raises(EvalError) as e:
        wrong(bikes_frames[:16])
    msg = str(e.value)
    assert msg.startswith(f"fvd_i3d: {tiny_weights['lpips']} failed on 16-frame 32x32 clips (")
    assert "argument 'y'" in msg and "--fvd-frames" not in msg and "longer" not in msg
    short = I3DFeatures(tiny_weights["i3d"], resolution=32, num_frames=2)
    with pytest.raises(EvalError) as e:
        short(bikes_frames[:4])
    msg = str(e.value)
    assert "Kernel size can't be greater than actual input size" in msg
    assert msg.endswith("use a longer clip length (--fvd-frames, default 16)")


def test_prompt_lines_follow_the_natural_order_of_videos_and_png_folders(tmp_path, cli):
    """clip_1, clip_2 (a PNG folder), clip_10: plain order put clip_10 second and gave it clip_2's
    line."""
    gen = tmp_path / "gen"
    write_video(noise(2, 16, 16, 1), gen / "clip_1.mp4", fps=5)
    write_video(noise(2, 16, 16, 2), gen / "clip_2")
    write_video(noise(2, 16, 16, 10), gen / "clip_10.mp4", fps=5)
    (tmp_path / "p.txt").write_text("prompt one\nprompt two\nprompt ten\n")
    p = cli("eval", gen, "--prompts", tmp_path / "p.txt", "--out", tmp_path / "o", "--device", "cpu")
    assert p.returncode == 0, p.stderr
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["prompts"] == {"clip_1": "prompt one", "clip_2": "prompt two", "clip_10": "prompt ten"}
    assert list(m["videos"]) == ["clip_1", "clip_2", "clip_10"]
    assert any("natural name order" in n for n in m["notes"])  # a file written for plain order is told


def test_outputs_get_the_umask_modes(tmp_path, small, cli):
    """As every other output (video.atomic): readable as any new file, not the temporary 0600."""
    old = os.umask(0o022)  # a fixed umask (077 could not tell the two apart); the cli fixture runs in process
    try:
        assert cli("eval", small, "--out", tmp_path / "o", "--device", "cpu").returncode == 0
    finally:
        os.umask(old)
    for name in ("metrics.json", "report.html"):
        assert stat.S_IMODE((tmp_path / "o" / name).stat().st_mode) == 0o644, name


@pytest.mark.parametrize("out,message", [
    ("FILE", "{t}/FILE is a file; name a folder for metrics.json and report.html"),
    ("FILE/sub", "{t}/FILE/sub cannot be made: {t}/FILE is a file; name a folder for metrics.json and report.html"),
    ("DIR", "{t}/DIR: {t}/DIR/report.html is a folder; remove it or name another --out"),
])
def test_an_out_that_cannot_be_written_fails_before_scoring(tmp_path, small, cli, out, message):
    """One line and nothing before it (no notes: no model loaded, nothing scored); it came after
    every score as a raw ``[Errno 17] File exists``."""
    (tmp_path / "FILE").write_text("mine")
    (tmp_path / "DIR" / "report.html").mkdir(parents=True)
    p = cli("eval", small, "--reference", small, "--out", tmp_path / out, "--device", "cpu")
    assert one_error_line(p) == "error: --out " + message.format(t=tmp_path)
    assert p.stderr.strip().splitlines() == p.errors
    assert (tmp_path / "FILE").read_text() == "mine"


def test_other_lengths_and_sizes_compare_the_first_frames_with_the_reference_resized(tmp_path, cli):
    """Flat frames (lossless PNG) stay exact through any resize: the generated clip's 4 frames
    equal the resized reference's first 4, so PSNR is infinite and SSIM 1 only if those are the
    frames compared; the reference's last 2 differ. Both notes are printed."""
    colours = np.array([10, 60, 120, 200, 30, 250], np.uint8)
    gen = write_video(np.broadcast_to(colours[:4, None, None, None], (4, 32, 32, 3)).copy(), tmp_path / "g")
    ref = write_video(np.broadcast_to(colours[[0, 1, 2, 3, 5, 4], None, None, None], (6, 32, 48, 3)).copy(),
                      tmp_path / "r")
    p = cli("eval", gen, "--reference", ref, "--out", tmp_path / "o", "--device", "cpu")
    assert p.returncode == 0, p.stderr
    assert "note: g: reference centre-cropped from 48x32 to 32x32 (the aspect ratios differ" in p.stderr
    assert "note: g: compared the first 4 frames (generated 4, reference 6)" in p.stderr
    v = json.loads((tmp_path / "o" / "metrics.json").read_text())["videos"]["g"]
    assert v["psnr_inf_frames"] == 4 and v["ssim"] == pytest.approx(1.0)
