"""``video eval`` after a second review: FVD clips span the same seconds on both sides when one
frame rate is a whole multiple of the other (16 frames are 0.67 s at 24 fps, 2 s at 8 fps); an
FVD over fewer videos than its feature dimensions is said, and N is shown beside it; clips of
unknown frame rate (PNG frames) get no motion, with a note (their every frame read as a 0.5 s
step); what clip_text, clip_frame, lpips and motion are is in the report, and prompts are scored
without their weight syntax; SSIM reads a 3-D stack as grey frames, as PSNR does; a bad weights
file's error is cut at a sentence, not mid-word."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from video.media import write_video


def moving(n: int, speed: int, h: int = 48, w: int = 64, bar: int = 12) -> np.ndarray:
    """A ``bar`` px wide bar moving ``speed`` px per frame over a slowly brightening background
    (wide, so that steps of 6 and 9 px change different amounts of the frame)."""
    frames = np.stack([np.full((h, w, 3), 40 + 2 * i, np.uint8) for i in range(n)])
    for i in range(n):
        x = (speed * i) % (w - bar)
        frames[i, :, x : x + bar] = 255
    return frames


def lossless(frames: np.ndarray, path: Path, fps: float) -> Path:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*--crf 0 is lossless", category=UserWarning)
        write_video(frames, path, fps=fps, crf=0)
    return path


FRAMES = 4  # --fvd-frames: 4 frames at 8 fps, 12 at 24 fps, the same 0.5 s


@pytest.fixture(scope="module")
def rate_sets(tmp_path_factory) -> dict[str, Path]:
    """The same 0.5 s clips at 24 fps (12 frames) and 8 fps (every third frame): three generated
    (bar speeds 1, 2, 3 px per 24 fps frame) and three references (2, 3, 5), named v0..v2 on
    both sides, and as r0..r2 on the reference side too (no pairs: a set-against-set FVD)."""
    d = tmp_path_factory.mktemp("rates")
    out = {}
    for side, speeds in (("gen", (1, 2, 3)), ("ref", (2, 3, 5))):
        for fps, step in ((24, 1), (8, 3)):
            for i, speed in enumerate(speeds):
                frames = moving(3 * FRAMES, speed, h=24, w=32)[::step]
                lossless(frames, d / f"{side}{fps}" / f"v{i}.mp4", fps)
                lossless(frames, d / f"{side}{fps}_other_names" / f"r{i}.mp4", fps)
            out[f"{side}{fps}"] = d / f"{side}{fps}"
            out[f"{side}{fps}_other_names"] = d / f"{side}{fps}_other_names"
    return out


def fvd_of(gen: Path, ref: Path, i3d: Path, out: Path, **kw) -> dict:
    from eval.runner import evaluate

    kw.setdefault("fvd_frames", FRAMES)
    return evaluate(gen, reference=ref, out=out / f"{gen.name}-{ref.name}", i3d=str(i3d), log=lambda m: None, **kw)


@pytest.fixture(scope="module")
def at_8_fps(rate_sets, motion_i3d, tmp_path_factory) -> dict:
    """The evaluation of the 8 fps generations against the 8 fps references, and its report."""
    out = tmp_path_factory.mktemp("out")
    return {**fvd_of(rate_sets["gen8"], rate_sets["ref8"], motion_i3d, out), "report": out / "gen8-ref8" / "report.html"}


def test_the_8_fps_clips_are_every_third_frame_of_the_24_fps_ones(rate_sets):
    """The fixture's premise: lossless files, so the frames are exactly equal."""
    from eval.inputs import load_video

    fast, slow = load_video(rate_sets["ref24"] / "v1.mp4"), load_video(rate_sets["ref8"] / "v1.mp4")
    assert (fast.fps, slow.fps) == (24, 8)
    np.testing.assert_array_equal(fast.frames[::3], slow.frames)


@pytest.mark.parametrize("slow_side", ["generated", "reference"])
def test_a_pair_at_two_rates_has_the_fvd_features_of_the_same_moments(rate_sets, motion_i3d, slow_side):
    """A 24 fps reference of an 8 fps generation (or the other way round) gives the FVD features
    of its 8 fps copy: read one frame in 3, its first 4 frames are the same 0.5 s. Read whole,
    they were its first 0.17 s, a third of the motion per step."""
    from eval.fvd import I3DFeatures
    from eval.runner import Scorers, score_video

    i3d = I3DFeatures(motion_i3d, num_frames=FRAMES)
    s = Scorers(extractors=[i3d], fvd=True)
    gen, ref = ("gen8", "ref24") if slow_side == "generated" else ("gen24", "ref8")
    mixed = score_video(rate_sets[gen] / "v1.mp4", rate_sets[ref] / "v1.mp4", None, s, strip=False)
    same = score_video(rate_sets["gen8"] / "v1.mp4", rate_sets["ref8"] / "v1.mp4", None, s, strip=False)
    np.testing.assert_array_equal(mixed.features["fvd_i3d"], same.features["fvd_i3d"])
    np.testing.assert_array_equal(mixed.ref_features["fvd_i3d"], same.ref_features["fvd_i3d"])
    assert not np.array_equal(same.features["fvd_i3d"], same.ref_features["fvd_i3d"])  # not trivially equal
    assert not s.fvd_short and not s.fvd_other_rate


@pytest.mark.parametrize("gen,ref", [("gen8", "ref24_other_names"), ("gen24", "ref8_other_names")])
def test_sets_without_pairs_meet_at_the_slower_rate(rate_sets, motion_i3d, at_8_fps, tmp_path, gen, ref):
    """Without pairs (FVD of one set against another), each clip is taken at the other set's
    one rate: the FVD is that of the two 8 fps sets."""
    want = at_8_fps["aggregate"]["fvd_i3d"]
    assert want > 1e-3  # the sets differ: the equality below is not of two zeros
    got = fvd_of(rate_sets[gen], rate_sets[ref], motion_i3d, tmp_path)["aggregate"]["fvd_i3d"]
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_a_clip_short_after_the_step_and_rates_no_step_matches_are_said(rate_sets, motion_i3d, tmp_path):
    """A 24 fps generation read one frame in 3 has a third of its frames: the skip note says so;
    at rates that are not whole multiples (10 and 25 fps) the faster side's frames nearest the
    slower side's times are taken, and a note says so."""
    from eval.fvd import I3DFeatures
    from eval.runner import Scorers, score_video

    s = Scorers(extractors=[I3DFeatures(motion_i3d, num_frames=FRAMES + 1)], fvd=True)
    score_video(rate_sets["gen24"] / "v0.mp4", rate_sets["ref8"] / "v0.mp4", None, s, strip=False)
    assert s.fvd_short == {"fvd_i3d": "v0.mp4 (one frame in 3, at the reference rate) has 4 frames; "
                                      "fvd_i3d compares the first 5 frames of every clip (--fvd-frames N to change)"}

    gen, ref = tmp_path / "g10", tmp_path / "r25"
    for i, speed in enumerate((1, 2)):
        lossless(moving(FRAMES, speed, h=24, w=32), gen / f"v{i}.mp4", 10)
        lossless(moving(10, speed + 1, h=24, w=32), ref / f"v{i}.mp4", 25)
    r = fvd_of(gen, ref, motion_i3d, tmp_path)
    assert "fvd_i3d" in r["aggregate"]
    assert ("fvd: reference v0.mp4, reference v1.mp4: frame rate not a whole multiple of the other side's: the "
            "frames nearest the other side's frame times were taken (within half a frame)") in r["notes"]


def test_small_fvd_sets_are_said_and_their_sizes_shown(at_8_fps):
    """3 videos a side against 6 feature dimensions: a note (N per side, the dimension, the
    2048 videos of published FVDs), N in the aggregate, in the report's metric notes and on the
    printed summary line."""
    from eval.cli import summary

    r = at_8_fps
    agg = r["aggregate"]
    assert agg["fvd_i3d_n_generated"] == 3 and agg["fvd_i3d_n_reference"] == 3
    assert ("fvd_i3d over 3 generated and 3 reference videos, fewer than its 6 feature dimensions: the covariances "
            "are rank-deficient and the number depends on N; published FVD uses 2048 videos per side: not "
            "comparable with it") in r["notes"]
    html = at_8_fps["report"].read_text()
    assert "over 3 generated and 3 reference videos (published FVD: 2048 per side" in html
    assert f"fvd_i3d {agg['fvd_i3d']:.4g} (3 generated, 3 reference videos)" in summary(agg)
    from eval.runner import small_set_note

    assert small_set_note("fvd_i3d", 6, 9, 6) is None  # as many videos as dimensions: no note


def test_png_frames_get_no_motion_and_a_note(tmp_path):
    """A PNG folder has no frame rate: its motion was the flow between consecutive frames where a
    video's is between frames 0.5 s apart (12 at 24 fps), so the two mixed in one mean unsaid."""
    from eval.runner import evaluate

    d = tmp_path / "gen"
    frames = moving(48, 2)
    lossless(frames, d / "clip.mp4", 24)
    write_video(frames, d / "frames")  # the same frames as PNGs
    r = evaluate(d, out=tmp_path / "out", log=lambda m: None)
    assert r["videos"]["frames"]["motion"] is None and r["videos"]["clip"]["motion"] > 0
    assert r["aggregate"]["motion"] == r["videos"]["clip"]["motion"] and r["aggregate"]["motion_videos"] == 1
    assert ("motion skipped for frames (1 of 2): no frame rate (PNG frames); motion is per 0.5 s of video, "
            "its frames sampled by time, which needs the rate") in r["notes"]
    assert r["videos"]["frames"]["frame_diff"] > 0  # the per-step scores are still given


def test_metric_notes_say_what_clip_lpips_and_motion_are():
    from eval.report import metric_notes

    agg = {k: 0.5 for k in ("clip_text", "clip_frame", "lpips", "motion")}
    notes = dict(n.split(": ", 1) for n in metric_notes({"aggregate": agg}))
    assert set(notes) == set(agg)
    assert "cosine similarity of CLIP image and text embeddings, -1..1: not x100" in notes["clip_text"]
    assert "weight syntax removed ((red:1.3) -> red" in notes["clip_text"]
    assert "consecutive frames, -1..1" in notes["clip_frame"]
    assert "per 0.5 s at any frame rate (frames sampled by time" in notes["motion"]
    assert "0.571" not in notes["motion"] and "PNG frames" in notes["motion"]
    assert "LPIPS" in notes["lpips"]


def test_prompt_weights_are_not_tokenized(tiny_weights):
    """``(red:1.3) car`` is scored as "red car": its brackets, colon and weight were tokens of the
    text CLIP compared with the frames."""
    from eval.clip_sim import ClipSim

    clip = ClipSim(tiny_weights["clip"])
    weighted, plain = clip.text_embedding("(red:1.3) car"), clip.text_embedding("red car")
    torch.testing.assert_close(weighted, plain, rtol=0, atol=0)
    tok = clip.tokenizer(["(red:1.3) car"], return_tensors="pt")
    with torch.no_grad():  # what the literal text gives: not the same embedding
        out = clip.model.get_text_features(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"])
    literal = torch.nn.functional.normalize((out if isinstance(out, torch.Tensor) else out.pooler_output)[0], dim=-1)
    assert not torch.allclose(literal, plain, atol=1e-4)

    from eval.clip_sim import plain_prompt

    assert plain_prompt("a (red:1.3) car, [sunny:rainy:0.5] AND a dog:0.5") == "a red car, rainy, a dog"
    assert plain_prompt("((epic)) \\(literal\\) [cheap] BREAK end") == "epic (literal) cheap end"


def test_ssim_reads_a_3d_stack_as_grey_frames_as_psnr_does():
    """A (F, H, W) grey stack was one image of W channels: one number, not F."""
    import skimage.data
    from skimage.metrics import structural_similarity

    from eval.metrics import psnr_frames, ssim, ssim_frames

    grey = skimage.data.camera()[::4, ::4]  # 128x128
    a = np.stack([grey, grey[::-1], grey.T])
    b = np.clip(a.astype(int) + np.random.default_rng(0).normal(0, 20, a.shape), 0, 255).astype(np.uint8)
    per = ssim_frames(a, b)
    want = [structural_similarity(x, y, data_range=255, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False) for x, y in zip(a, b, strict=True)]
    assert per.shape == (3,) == psnr_frames(a, b).shape
    np.testing.assert_allclose(per, want, atol=1e-6)
    np.testing.assert_array_equal(per, ssim_frames(a[..., None], b[..., None]))
    assert ssim(a, b) == pytest.approx(np.mean(want), abs=1e-6)
    assert ssim(grey, b[0]) == pytest.approx(want[0], abs=1e-6)  # one grey image
    with pytest.raises(ValueError, match=r"ssim_frames expects \(F, H, W, C\) or grey \(F, H, W\) frames"):
        ssim_frames(a[0, 0], b[0, 0])


def test_a_bad_weights_file_error_is_cut_at_a_sentence(tmp_path):
    """torch's error for a file that is not TorchScript is a paragraph: the line keeps its first
    sentence (``[:120]`` cut it mid-word: "... If you are seeing th")."""
    from eval.fvd import I3DFeatures
    from eval.inputs import EvalError, model_error_line
    from eval.lpips import LPIPS

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a zip")
    for load in (I3DFeatures, LPIPS):
        with pytest.raises(EvalError) as e:
            load(junk)
        assert str(e.value) == (f"{junk}: not a TorchScript file (PytorchStreamReader failed reading zip archive: "
                                "not a ZIP archive.)")
    line = model_error_line(RuntimeError("abcdefghij " * 30))
    assert len(line) <= 200 and line.endswith("abcdefghij...")


def test_a_prompt_of_syntax_alone_is_scored_as_written():
    """plain_prompt("(((") was "", and clip_text then scored the frames against the empty text."""
    from eval.clip_sim import plain_prompt

    assert plain_prompt("(((") == "((("
    assert plain_prompt("AND") == "AND"
    assert plain_prompt("a (red:1.3) car") == "a red car"
