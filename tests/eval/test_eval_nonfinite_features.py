"""A feature extractor that gives NaN or inf features (a broken or overflowing model) skips that
one Fréchet distance with a note naming it and how many videos it failed on; the rest of the run
is written. It ended in ``LinAlgError: Eigenvalues did not converge`` after all scoring, with
nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from video.media import write_video


class NaNI3D(torch.nn.Module):
    """StyleGAN-V's I3D signature; every feature NaN."""

    def forward(self, x, rescale: bool = False, resize: bool = False, return_features: bool = False):
        return torch.full((x.shape[0], 8), float("nan"))


class BlackIsInf(torch.nn.Module):
    """A plain ``forward(x)``: per-channel means over the clip's brightest value plus one, which is
    a division by zero for an all-black clip (-1 in the I3D input): inf or NaN for that clip only."""

    def forward(self, x):
        return x.mean(dim=(2, 3, 4)) / (x.amax(dim=(1, 2, 3, 4)) + 1)[:, None]


@pytest.fixture(scope="module")
def sets(tmp_path_factory, bikes_frames):
    """Two generated clips (one all black) and two references, 6 frames each, 5 fps."""
    d = tmp_path_factory.mktemp("nonfinite")
    write_video(bikes_frames[:6], d / "gen" / "a.mp4", fps=5)
    write_video(np.zeros_like(bikes_frames[:6]), d / "gen" / "b.mp4", fps=5)
    write_video(bikes_frames[6:12], d / "ref" / "a.mp4", fps=5)
    write_video(bikes_frames[12:18], d / "ref" / "b.mp4", fps=5)
    for cls in (NaNI3D, BlackIsInf):
        torch.jit.script(cls().eval()).save(str(d / f"{cls.__name__}.pt"))
    return d


@pytest.fixture(scope="module")
def nan_videomae(tmp_path_factory, tiny_weights):
    """The tiny VideoMAE with one weight NaN: every feature NaN."""
    from transformers import VideoMAEModel

    model = VideoMAEModel.from_pretrained(tiny_weights["videomae"])
    with torch.no_grad():
        model.embeddings.patch_embeddings.projection.bias[0] = float("nan")
    out = tmp_path_factory.mktemp("nan_videomae") / "videomae"
    model.save_pretrained(out)
    return out


def test_nan_i3d_and_videomae_skip_their_fvd_and_the_run_is_written(sets, nan_videomae, tmp_path, cli):
    out = tmp_path / "onan"
    p = cli("eval", sets / "gen", "--reference", sets / "ref", "--i3d", sets / "NaNI3D.pt", "--videomae",
            nan_videomae, "--fvd-frames", "4", "--out", out, "--device", "cpu")
    assert p.returncode == 0 and not p.errors, p.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert f"fvd_i3d skipped: I3D {sets / 'NaNI3D.pt'} gave features that are not finite (NaN or inf) for 2 of 2 " \
           "generated and 2 of 2 reference videos" in m["notes"]
    assert f"fvd_videomae skipped: VideoMAE {nan_videomae} gave features that are not finite (NaN or inf) for " \
           "2 of 2 generated and 2 of 2 reference videos" in m["notes"]
    assert not any(k.startswith("fvd") for k in m["aggregate"])
    assert m["videos"]["a"]["psnr"] > 0 and m["aggregate"]["ssim"] < 1  # the rest was scored and written
    assert "fvd_i3d skipped: I3D" in (out / "report.html").read_text()
    assert "fvd_i3d" not in p.stdout  # the last line gives no FVD


def test_one_nonfinite_video_is_counted(sets, tmp_path, cli):
    out = tmp_path / "o"
    p = cli("eval", sets / "gen", "--reference", sets / "ref", "--i3d", sets / "BlackIsInf.pt", "--fvd-frames", "4",
            "--out", out, "--device", "cpu")
    assert p.returncode == 0, p.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert any(n.startswith("fvd_i3d skipped: I3D ") and n.endswith("for 1 of 2 generated and 0 of 2 reference "
                                                                     "videos") for n in m["notes"]), m["notes"]


def test_the_library_calls_say_it_in_one_line(sets):
    from eval.frechet import frechet_distance_of_features, nonfinite_rows
    from eval.fvd import I3DFeatures, fvd
    from eval.inputs import EvalError, load_videos

    x = np.ones((3, 4))
    x[1, 2] = np.inf
    assert nonfinite_rows(x) == 1 and nonfinite_rows(np.full((2, 4), np.nan)) == 2
    with pytest.raises(ValueError, match="1 of 3 feature vectors are not finite"):
        frechet_distance_of_features(x, np.ones((3, 4)))
    i3d = I3DFeatures(sets / "NaNI3D.pt", num_frames=4)
    frames = [v.frames for v in load_videos(sets / "gen")]
    with pytest.raises(EvalError, match=r"NaNI3D.pt gave features that are not finite .* 2 of 2 generated"):
        fvd(i3d, frames, frames)
