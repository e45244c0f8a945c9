"""What ``curate report`` shows of a run, checked against the manifest it read: each clip's caption
under its frame (shortened, HTML-escaped), each clip error with its clip's span (three errors of
one source read as one line repeated), the sources that gave no clip by name and reason, the
histograms without the error clips (they counted them "dropped" beside "0 + 3 with errors"),
the filter's bounds drawn on the histograms (a quantile rule's as resolved), and the funnel's
counts on its bars.

The plots are SVG with their text as text: the tests read the labels and the lines the page
holds, not pixels."""

from __future__ import annotations

import base64
import html
import re
import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_curate_scoring import tiny_blip

from data_curation.montage import Segment, build_montage

SVG = "{http://www.w3.org/2000/svg}"
# 3 s segments at 8 fps: moving, a still test card (frozen), slow, then two fast ones found as one shot
# (seeded: life and cellauto start from a random grid, and now and then the cut between them was found)
SHOTS = [Segment("lavfi:testsrc2", 24), Segment("lavfi:smptebars", 24), Segment("lavfi:mandelbrot", 24),
         Segment("lavfi:life=s=64x48:mold=10:r=8:seed=1", 24), Segment("lavfi:cellauto=s=64x48:r=8:seed=1", 24)]


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    """(OUT, manifest rows, report page) of a run with captions and of one whose captioner fails
    on every clip, their manifests joined and filtered again by ``curate filter``'s code: one run
    cannot make both kinds of clip rows. ``good/`` holds a montage and a one-frame video (no
    clip); ``bad/`` a montage. Rules: frozen clips go, then the bottom half by motion."""
    import imageio_ffmpeg

    from data_curation.engine import run
    from data_curation.manifest import read_parquet, refilter
    from data_curation.report import write_report

    d = tmp_path_factory.mktemp("report")
    build_montage(SHOTS, d / "good" / "m.mp4", width=64, height=48, fps=8)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=64x48:rate=8", "-frames:v", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(d / "good" / "one.mp4")], check=True)
    build_montage(SHOTS[:3], d / "bad" / "e.mp4", width=64, height=48, fps=8)
    recipe = d / "recipe.yaml"
    recipe.write_text(f"name: details\nscorers: [motion, black_frozen, clip]\nmodels: {{captioner: {tiny_blip(d / 'blip')}}}\n"
                      "rules:\n  - {column: frozen_fraction, max: 0.5}\n  - {column: motion_mean, min_quantile: 0.5}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run([str(d / "good")], d / "out", str(recipe), [], workers=0, progress=False)
        # a processor resizing to 48 px for a 32 px model: every clip of bad/ is an error row
        run([str(d / "bad")], d / "outb", str(recipe), [f"models.captioner={tiny_blip(d / 'blip48', 48)}"],
            workers=0, progress=False)
        good, bad = read_parquet(d / "out" / "manifest.parquet"), read_parquet(d / "outb" / "manifest.parquet")
        joined = pa.concat_tables([good, bad.cast(good.schema)]).replace_schema_metadata(good.schema.metadata)
        pq.write_table(joined, d / "out" / "manifest.parquet")
        refilter(d / "out" / "manifest.parquet", str(recipe))
        page = write_report(d / "out").read_text(encoding="utf-8")
    return d / "out", pq.read_table(d / "out" / "manifest.parquet").to_pylist(), page


def _clips(rows, errors: bool = False) -> list[dict]:
    return [r for r in rows if r["start_frame"] is not None and (r["error"] is not None) == errors]


def _plots(page: str) -> dict[str, ET.Element]:
    """The page's SVG plots by their title (the largest text of each)."""
    out = {}
    for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page):
        root = ET.fromstring(base64.b64decode(data))
        title = max(_texts(root), key=lambda t: (t["size"], t["y"] < 30))["text"]
        out[title] = root
    return out


def _texts(root: ET.Element) -> list[dict]:
    """Each text of an SVG plot with its position, size and anchor."""
    out = []
    for t in root.iter(f"{SVG}text"):
        style = t.get("style", "")
        # a rotated text (a bound's label) is placed by its transform alone
        x, y = (t.get("x"), t.get("y")) if t.get("x") else re.match(r"translate\(([\d.]+) ([\d.]+)\)",
                                                                      t.get("transform")).groups()
        anchor = re.search(r"text-anchor: (\w+)", style)
        out.append({"text": t.text, "x": float(x), "y": float(y), "size": float(re.search(r"font-size: ([\d.]+)px", style)[1]),
                    "anchor": anchor[1] if anchor else "start", "rotated": "rotate(-90)" in t.get("transform", "")})
    return out


def _section(page: str, heading: str) -> list[str]:
    """The list items of the section ``heading`` starts, as text."""
    body = page.split(f"<h2>{heading}")[1].split("<h2>")[0]
    return [html.unescape(li) for li in re.findall(r"<li>(.*?)</li>", body)]


def test_the_run_has_the_rows_the_tests_need(curated):
    _, rows, _ = curated
    assert len(_clips(rows)) == 4 and len(_clips(rows, errors=True)) == 3
    assert {r["drop_reason"].split("<")[0].split(">")[0] for r in _clips(rows) if not r["keep"]} == \
        {"frozen_fraction", "motion_mean"}
    assert all(r["motion_mean"] is not None for r in _clips(rows, errors=True))  # scored before the captioner failed


def test_captions_show_under_their_clips_shortened_and_escaped(curated, tmp_path):
    from data_curation.report import CAPTION_CHARS, write_report

    out, rows, page = curated
    figures = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert len(figures) == 4
    for r in _clips(rows):
        label = f"good/m.mp4 {r['start_s']:.1f}-{r['end_s']:.1f}s"
        (cap,) = [f for f in figures if html.unescape(f).startswith(label)]
        shown = re.search(r'<i class=caption title="([^"]*)">([^<]*)</i>', cap)
        assert shown, cap
        full, short = html.unescape(shown[1]), html.unescape(shown[2])
        assert full == r["caption"] and r["caption"].startswith("w")  # the tiny BLIP's words
        assert len(short) <= CAPTION_CHARS < len(full) and full.startswith(short.removesuffix("\u2026"))

    # a caption with markup is text on the page, not markup
    shutil.copytree(out, tmp_path / "out")
    t = pq.read_table(tmp_path / "out" / "manifest.parquet")
    caps = t.column("caption").to_pylist()
    first = next(i for i, r in enumerate(t.to_pylist()) if r["keep"])
    caps[first] = '<b>Tom & "Jerry"</b> run'
    t = t.set_column(t.schema.get_field_index("caption"), "caption", pa.array(caps, pa.string()))
    pq.write_table(t, tmp_path / "out" / "manifest.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = write_report(tmp_path / "out").read_text(encoding="utf-8")
    assert "<b>Tom" not in again
    assert '>&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt; run</i>' in again


def test_clip_errors_name_their_clip(curated):
    _, rows, page = curated
    errors = _section(page, "Errors")
    want = [f"bad/e.mp4 {r['start_s']:.1f}-{r['end_s']:.1f}s: {r['error']}" for r in _clips(rows, errors=True)]
    assert errors == want and len(set(errors)) == 3


def test_sources_without_clips_are_named_with_their_reason(curated):
    _, rows, page = curated
    (row,) = [r for r in rows if r["start_frame"] is None]
    assert row["drop_reason"] == "no_clip" and row["source_frames"] == 1  # the one-frame video
    assert _section(page, "Sources without clips (1)") == [
        "good/one.mp4: no_clip (1 frame, 0.12 s at 8 fps): no shot as long as the recipe's split.min_s"]


def test_histograms_leave_clips_with_errors_out(curated):
    _, rows, page = curated
    plots = _plots(page)
    for col in ("motion_mean", "motion_spread", "black_fraction", "frozen_fraction"):
        legend = sorted(t["text"] for t in _texts(plots[col]) if t["text"].startswith(("kept", "dropped")))
        kept = sum(1 for r in _clips(rows) if r["keep"] and r[col] is not None)
        dropped = sum(1 for r in _clips(rows) if not r["keep"] and r[col] is not None)
        assert legend == [f"dropped ({dropped})", f"kept ({kept})"] == ["dropped (2)", "kept (2)"], col
        # the bars hold as many clips as the legend says: the stacked bars' heights, read off the y axis
        assert _bar_total(plots[col]) == pytest.approx(kept + dropped, abs=0.05), col
    assert "of the 4 clips scored without error; the 3 with errors are left out" in page
    assert "Dropped (2 + 3 with errors, listed below)" in page


def _bar_total(root: ET.Element) -> float:
    """The clips a histogram's bars hold: each bar's height in y-axis units (the bars are the
    filled paths of the plot area; the axis is read from its tick labels)."""
    ticks = [t for t in _texts(root) if t["anchor"] == "end" and re.fullmatch(r"[\d.]+", t["text"] or "")]
    (y0, v0), (y1, v1) = [(t["y"], float(t["text"])) for t in sorted(ticks, key=lambda t: t["y"])[:2]]
    per_unit = abs(y1 - y0) / abs(v1 - v0)
    total = 0.0
    for p in root.iter(f"{SVG}path"):
        style = p.get("style", "")
        if p.get("clip-path") and ("fill: #44aa77" in style or "fill: #cc5555" in style):  # not the legend's
            ys = [float(v) for v in re.findall(r"[\d.]+ ([\d.]+)", p.get("d"))]
            total += (max(ys) - min(ys)) / per_unit
    return total


def _line_x(root: ET.Element) -> list[tuple[float, float]]:
    """Each dashed vertical line's x: in the plot's pixels, and as data read off the x axis's tick labels."""
    ticks = [t for t in _texts(root) if t["anchor"] == "middle" and re.fullmatch(r"[\d.]+", t["text"] or "")]
    (x0, v0), (x1, v1) = [(t["x"], float(t["text"])) for t in sorted(ticks, key=lambda t: t["x"])[:2]]
    out = []
    for p in root.iter(f"{SVG}path"):
        if "stroke-dasharray" in p.get("style", ""):
            (x,) = {float(v) for v in re.findall(r"([\d.]+) [\d.]+", p.get("d"))}
            out.append((x, v0 + (x - x0) * (v1 - v0) / (x1 - x0)))
    return out


def test_histograms_draw_the_bounds_the_filter_applied(curated):
    _, rows, page = curated
    plots = _plots(page)
    # the quantile rule's bound as filtering resolved it: the median motion of the scored clips
    q = float(np.quantile([r["motion_mean"] for r in _clips(rows)], 0.5))
    labels = {col: [t["text"].strip() for t in _texts(root) if t["text"].startswith(("min ", "max "))]
              for col, root in plots.items()}
    assert labels == {"funnel (clips = kept + dropped)": [], "motion_mean": [f"min {q:.4g} (min_quantile 0.5)"],
                      "motion_spread": [],
                      "black_fraction": [], "frozen_fraction": ["max 0.5"]}
    for col, value in (("motion_mean", q), ("frozen_fraction", 0.5)):
        ((px, x),) = _line_x(plots[col])
        assert x == pytest.approx(value, abs=0.02), col
        (label,) = [t for t in _texts(plots[col]) if t["text"].startswith(("min ", "max "))]
        assert label["rotated"] and abs(label["x"] - px) < 6, (col, label, px)  # along its line
    assert _line_x(plots["motion_spread"]) == _line_x(plots["black_fraction"]) == []


def test_funnel_bars_carry_their_counts(curated):
    _, rows, page = curated
    texts = _texts(_plots(page)["funnel (clips = kept + dropped)"])
    names = [t["text"] for t in sorted((t for t in texts if t["anchor"] == "end"), key=lambda t: t["y"])]
    counts = [t["text"] for t in sorted((t for t in texts if t["anchor"] == "start" and t["size"] == 8),
                                        key=lambda t: t["y"])]
    clips = [r for r in rows if r["start_frame"] is not None]
    sources = [r for r in rows if r["start_frame"] is None]
    want = {"sources failed": sum(r["error"] is not None for r in sources),
            "sources without clips": sum(r["error"] is None for r in sources),
            "clips": len(clips), "kept": sum(r["keep"] for r in clips),
            "dropped: frozen_fraction": sum((r["drop_reason"] or "").startswith("frozen_fraction>") for r in clips),
            "dropped: motion_mean": sum((r["drop_reason"] or "").startswith("motion_mean<") for r in clips),
            "dropped: error": sum(r["error"] is not None for r in clips)}
    assert dict(zip(names, map(int, counts), strict=True)) == want
    assert want == {"sources failed": 0, "sources without clips": 1, "clips": 7, "kept": 2,
                    "dropped: frozen_fraction": 1, "dropped: motion_mean": 1, "dropped: error": 3}


def test_applied_bounds_reads_the_drop_reasons_filtering_writes(curated):
    """Every bound filtering wrote into a drop reason comes back, and nothing else does."""
    from data_curation.report import applied_bounds

    _, rows, _ = curated
    q = float(np.quantile([r["motion_mean"] for r in _clips(rows)], 0.5))
    got = applied_bounds(rows)
    assert got.keys() == {"frozen_fraction", "motion_mean"}
    assert got["frozen_fraction"] == [("max", 0.5)]
    ((kind, value),) = got["motion_mean"]
    assert kind == "min" and value == pytest.approx(q, rel=1e-3)
    assert applied_bounds([{"drop_reason": r} for r in ("error", "no_clip", "near_duplicate", None)]) == {}

