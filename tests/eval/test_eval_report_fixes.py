"""``video eval``'s report after review: a file name that is not UTF-8 is scored and written
``\\xNN`` everywhere (it crashed the plots, then the page's encode, after all the scoring); the
frame strips are kept as scored (the reference's pixel aspect applied); eval/report.py is the one
home of units and plot rules (units on every axis, infinite PSNR said, step scores between
frames, one legend naming every video); no missing-glyph warnings for CJK names; metrics.json
says which weights and device made the learned scores; counts read "1 frame"; a clip too short
for motion says so. Real media throughout (ffmpeg, a real ``curate run``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from eval.report import (
    METRIC_NOTES,
    METRIC_UNITS,
    STEP_AXIS,
    STEP_METRICS,
    fig_png_base64,
    metric_notes,
    plot_curves,
    plot_metrics,
    render_html,
)
from eval.runner import evaluate
from video.media import write_video

EVAL_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "evaluate_model.ipynb"
STRIPS_CELL = 9


def ramp(n: int, offset: int = 0, h: int = 48, w: int = 64) -> np.ndarray:
    frames = np.stack([np.full((h, w, 3), offset + 8 * i, np.uint8) for i in range(n)])
    for i in range(n):
        frames[i, :, 2 * i : 2 * i + 4] = 255
    return frames


def test_a_name_that_is_not_utf8_is_scored_and_shown_with_escapes(tmp_path):
    """``bad\\xff.mp4`` (bytes no UTF-8 decoder reads) is scored beside ``good.mp4`` and named
    ``bad\\xff`` in metrics.json, the notes (as logged), the page and the plot labels: curate's
    :func:`data_curation.probe.readable_path` convention."""
    gen, ref, out = tmp_path / "gen", tmp_path / "ref", tmp_path / "out"
    write_video(ramp(8), gen / "tmp.mp4", fps=7)
    os.rename(os.fsencode(gen / "tmp.mp4"), os.fsencode(gen) + b"/bad\xff.mp4")
    write_video(ramp(8, 20), gen / "good.mp4", fps=7)
    write_video(ramp(8, 30), ref / "good.mp4", fps=7)
    logged: list[str] = []
    r = evaluate(gen, reference=ref, out=out, log=logged.append)

    shown = "bad\\xff"  # the byte 0xff written as four ASCII characters
    m = json.loads((out / "metrics.json").read_bytes().decode("utf-8"))
    assert list(m["videos"]) == list(m["curves"]) == list(r["videos"]) == [shown, "good"]
    assert m["videos"][shown]["frames"] == 8 and m["videos"]["good"]["psnr"] > 10
    line = f"{shown}: no reference video of that name; reconstruction scores skipped"
    assert line in m["notes"] and f"note: {line}" in logged
    page = (out / "report.html").read_bytes().decode("utf-8")
    assert f"<h3>{shown}</h3>" in page and f"<td>{shown}</td>" in page
    labels = [t.get_text() for t in plot_metrics(r["videos"]).axes[0].get_yticklabels()]
    assert labels == [shown, "good"]


def test_the_report_renders_names_that_are_not_utf8_from_any_caller():
    """``render_html`` and the plots given the raw (surrogate-escaped) name, as ``os.listdir``
    returns it: written ``\\xNN``, no crash in matplotlib or in the UTF-8 encode."""
    raw = os.fsdecode(b"bad\xff")
    result = {"videos": {raw: {"psnr": 20.0}}, "curves": {raw: {"psnr": [20.0, 21.0]}}, "notes": [f"{raw}: x"]}
    page = render_html(result, {raw: np.zeros((4, 8, 3), np.uint8)})
    assert page.encode("utf-8").count(b"bad\\xff") == 4  # note, table row, strip heading and its alt
    legend = plot_curves(result["curves"]).legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["bad\\xff"]
    assert fig_png_base64(plot_metrics(result["videos"]))


@pytest.fixture(scope="module")
def anamorphic(tmp_path_factory) -> tuple[Path, str]:
    """(a ``curate run`` manifest of one 96x48 source with 2:1 pixels (shown 192x48), its clip id)."""
    import imageio_ffmpeg

    from data_curation.cli import main
    from eval.inputs import index_videos

    d = tmp_path_factory.mktemp("anamorphic")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=96x48:rate=12:duration=3", "-vf", "setsar=2", "-c:v", "libx264", "-qp", "0",
                    "-pix_fmt", "yuv444p", str(d / "wide.mp4")], check=True)
    assert main(["run", str(d / "wide.mp4"), "--out", str(d / "out"), "--recipe", "quick", "--workers", "0",
                 "--quiet"]) == 0
    manifest = d / "out" / "manifest.parquet"
    (clip_id,) = index_videos(manifest)
    return manifest, clip_id


def test_the_strips_are_the_pairs_as_scored(anamorphic, tmp_path):
    """``evaluate`` keeps the report's strips (``.strips``): the generated frames over the
    reference's exactly as ``align`` compared them, the clip's pixel aspect applied (the notebook
    aligned again without it: another reference than the one scored)."""
    from eval.inputs import align, index_videos, load_video
    from eval.report import side_by_side

    manifest, clip_id = anamorphic
    write_video(ramp(10, h=48, w=48), tmp_path / "gen" / f"{clip_id}.mp4", fps=12)
    r = evaluate(tmp_path / "gen", reference=manifest, out=tmp_path / "o", log=lambda _: None)
    v, ref = load_video(tmp_path / "gen" / f"{clip_id}.mp4"), load_video(index_videos(manifest)[clip_id])
    assert ref.pixel_aspect == 2.0
    want = side_by_side(*align(v.frames, ref.frames, v.fps, ref.fps, ref.pixel_aspect)[:2])
    unshown = side_by_side(*align(v.frames, ref.frames, v.fps, ref.fps)[:2])
    assert list(r.strips) == [clip_id] and np.array_equal(r.strips[clip_id], want)
    assert not np.array_equal(want, unshown)  # the aspect changes what the strip shows


def ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *args], check=True)


def test_the_notebook_shows_the_scored_strips_of_the_scored_videos(anamorphic, tmp_path, monkeypatch):
    """The notebook's frames are ``evaluate``'s strips, pixel aspect applied, and only of the
    videos it scored: it decoded every indexed file again (a traceback on the one ``evaluate``
    skipped with a note) and aligned without the pixel aspect. No missing-glyph warnings."""
    import nbformat
    from nbclient import NotebookClient

    from eval.inputs import align, index_videos, load_video
    from eval.report import side_by_side

    manifest, clip_id = anamorphic
    gen = tmp_path / "gen"
    write_video(ramp(10, h=48, w=48), gen / f"{clip_id}.mp4", fps=12)
    write_video(ramp(10), gen / "猫の動画.mp4", fps=12)  # no reference; a name DejaVu Sans cannot draw
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "2", "-pix_fmt", "yuv420p", "-movflags",
           "+faststart", str(tmp_path / "full.mp4"))
    data = (tmp_path / "full.mp4").read_bytes()
    (gen / "z_cut.mp4").write_bytes(data[: len(data) // 2])  # its header reads, its frames do not
    v, ref = load_video(gen / f"{clip_id}.mp4"), load_video(index_videos(manifest)[clip_id])
    np.save(tmp_path / "want.npy", side_by_side(*align(v.frames, ref.frames, v.fps, ref.fps, ref.pixel_aspect)[:2]))
    for k, x in (("GENERATED", gen), ("REFERENCE", manifest), ("OUT", tmp_path / "out")):
        monkeypatch.setenv(f"EVAL_{k}", str(x))
    monkeypatch.delenv("EVAL_PROMPTS", raising=False)

    nb = nbformat.read(EVAL_NOTEBOOK, as_version=4)
    nb.cells.insert(STRIPS_CELL + 1, nbformat.v4.new_code_cell(
        f"import numpy as np\nfrom eval.report import strip_figure\n"
        f"display(strip_figure({clip_id!r}, np.load({str(tmp_path / 'want.npy')!r})))"))
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    def pngs(cell) -> list[str]:
        return [o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]

    shown, want = pngs(nb.cells[STRIPS_CELL]), pngs(nb.cells[STRIPS_CELL + 1])
    assert len(want) == 1 and len(shown) == 2 and shown[0] == want[0]  # then 猫の動画's; none of z_cut
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "note: z_cut skipped" in text and "Glyph" not in text


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_bars_say_units_and_infinite_psnr_and_leave_out_counts():
    """Each score's unit on its axis; an infinite PSNR written where its bar would be (an empty
    bar read as 0); ``psnr_inf_frames`` (a count of frames) and the sizes get no panel."""
    videos = {"same": {"psnr": float("inf"), "psnr_inf_frames": 8, "ssim": 1.0, "flicker": 0.01, "frames": 8,
                       "fps": 7.0, "motion": None},
              "darker": {"psnr": 21.5, "ssim": 0.8, "flicker": 0.02, "frames": 8, "fps": 7.0, "motion": 0.3}}
    fig = plot_metrics(videos)
    axes = {ax.get_title(): ax for ax in fig.axes}
    assert sorted(axes) == ["flicker", "motion", "psnr", "ssim"]
    assert {k: ax.get_xlabel() for k, ax in axes.items()} == {k: METRIC_UNITS[k] for k in axes}
    assert _texts(axes["psnr"]) == ["inf (identical)"] and _texts(axes["ssim"]) == []
    assert [p.get_width() for p in axes["psnr"].patches] == [21.5]  # no bar for inf
    assert fig.axes[0].get_ylabel() == "video"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["same", "darker"]


def test_curves_put_steps_between_frames_and_name_every_video():
    """Step scores (frame i to i + 1) at i + 0.5, per-frame ones on their frame; units on the y
    axis; one legend naming every video, also one missing from the first panel and past 8
    videos (the report had a legend on the first panel only, and none past 8)."""
    curves = {f"v{i:02d}": {"frame_diff": [0.1, 0.2, 0.3], "warp_error": [0.1, 0.1, 0.2]} for i in range(12)}
    curves["v00"]["psnr"] = [30.0, None, 31.0, 32.0]  # only v00 has a reference
    fig = plot_curves(curves)
    axes = {ax.get_title(): ax for ax in fig.axes}
    assert sorted(axes) == ["frame_diff", "psnr", "warp_error"]
    for k, ax in axes.items():
        step = k in STEP_METRICS
        assert ax.get_xlabel() == (STEP_AXIS if step else "frame") and ax.get_ylabel() == METRIC_UNITS[k]
        assert all(line.get_xdata()[0] == (0.5 if step else 0.0) for line in ax.lines)
    assert len(axes["psnr"].lines) == 1 and len(axes["frame_diff"].lines) == 12
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == list(curves)
    assert len({tuple(line.get_color()) for line in axes["frame_diff"].lines}) == 12  # told apart


def test_one_home_for_units_and_an_honest_flicker_unit():
    """Every metric the notes describe has a unit; flicker's says it spans two frame steps, as
    its note and ``eval.temporal.flicker`` (|F_t+1 - 2 F_t + F_t-1|) do; the notebook plots
    through these functions instead of a copy of the tables."""
    import nbformat

    assert set(METRIC_NOTES) <= set(METRIC_UNITS)
    assert "2 frame steps" in METRIC_UNITS["flicker"] and "two frame steps" in METRIC_NOTES["flicker"]
    nb = nbformat.read(EVAL_NOTEBOOK, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "plot_metrics(" in code and "plot_curves(" in code
    assert not re.search(r"^\s*(UNITS|STEPS)\s*=", code, re.M) and '"fps")' not in code  # no copies


def test_cjk_names_draw_without_glyph_warnings(tmp_path):
    """A video named in a script DejaVu Sans lacks: scored and drawn with no missing-glyph
    warning (about six a run)."""
    write_video(ramp(6), tmp_path / "gen" / "猫の動画.mp4", fps=7)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = evaluate(tmp_path / "gen", out=tmp_path / "o", log=lambda _: None)  # its report draws both plots
    assert "猫の動画" in r["videos"]
    assert [str(w.message) for w in caught if "Glyph" in str(w.message)] == []


def test_metrics_json_says_which_weights_and_device(tmp_path, tiny_weights):
    gen, ref, out = tmp_path / "gen", tmp_path / "ref", tmp_path / "o"
    write_video(ramp(8), gen / "a.mp4", fps=7)
    write_video(ramp(8, 30), ref / "a.mp4", fps=7)
    evaluate(gen, reference=ref, out=out, log=lambda _: None, lpips=str(tiny_weights["lpips"]),
             clip=str(tiny_weights["clip"]), device="cpu")
    m = json.loads((out / "metrics.json").read_text())
    assert m["weights"] == {"clip": str(Path(tiny_weights["clip"]).resolve()),
                            "lpips": str(Path(tiny_weights["lpips"]).resolve())}
    assert m["device"] == "cpu" and "lpips" in m["videos"]["a"] and "clip_frame" in m["videos"]["a"]
    evaluate(gen, out=out, log=lambda _: None)
    m = json.loads((out / "metrics.json").read_text())
    assert m["weights"] == {} and m["device"] is None  # no learned score: none ran


def test_one_frame_is_singular(tiny_weights):
    from eval.fvd import I3DFeatures
    from eval.runner import Scorers, fvd_features

    s = Scorers(extractors=[I3DFeatures(tiny_weights["i3d"], num_frames=2)], fvd=True)
    assert fvd_features(s, ramp(1), "v") == {}
    assert s.fvd_short["fvd_i3d"].startswith("v has 1 frame; fvd_i3d compares the first 2 frames of every clip")
    one = " ".join(metric_notes({"aggregate": {"fvd_i3d": 1.0}, "fvd_frames": 1}))
    assert "I3D features of the first 1 frame of each clip" in one


def test_a_clip_too_short_for_motion_says_why(tmp_path):
    """Motion compares frames 0.5 s apart: a 3-frame clip at 10 fps has none, and gets a note
    (its null had none); a 1 s clip has its motion and is not named."""
    from eval.temporal import motion_magnitude

    write_video(ramp(3), tmp_path / "gen" / "short.mp4", fps=10)
    write_video(ramp(10), tmp_path / "gen" / "long.mp4", fps=10)
    assert motion_magnitude(ramp(3), 10.0) is None  # the scorer's own answer for it
    r = evaluate(tmp_path / "gen", out=tmp_path / "o", log=lambda _: None)
    assert r["videos"]["short"]["motion"] is None and r["videos"]["long"]["motion"] is not None
    (line,) = [n for n in r["notes"] if n.startswith("motion skipped")]
    assert line.startswith("motion skipped for short (1 of 2): under 0.5 s of video")
