"""Recipe mistakes are one line at load, before any source is read; near-duplicates keep the
better clip; the run's driver says when the clip scorer has no weights."""

import numpy as np
import pandas as pd
import pytest
import skimage.data
from PIL import Image

from data_curation.recipe import load_recipe
from video.config import ConfigError
from video.media import write_video


@pytest.mark.parametrize("overrides, match", [
    (["sample_fps=0"], "'sample_fps'"),
    (["sample_fps=-2"], "'sample_fps'"),
    (["motion_short_side=0"], "'motion_short_side'"),
    (["rules=[{column: motion_maen, min: 0.05}]"], "rule 1 .*'motion_maen'.*did you mean 'motion_mean'"),
    (["rules=[{column: motion_mean, min_quantile: 25}]"], "min_quantile is a fraction"),
    (["rules=[{column: motion_mean, min: 0.5, max: 0.1}]"], "min 0.5 is above max 0.1"),
    (["rules=[{column: motion_mean}]"], "sets no bound"),
    (["rules=[{column: phash, max: 3}]"], "not a number"),
    (["rules=[{column: text_area, max: 0.07}]"], "'ocr' scorer, which recipe 'quick' does not list"),
    (["split.max_s=inf"], "'split.max_s': must be a finite number"),
    (["split.trim_s=nan"], "'split.trim_s': must be a finite number"),
    (["split.trim_s=-1"], "'split.trim_s': must be >= 0"),
    (["split.min_s=0"], "'split.min_s': must be > 0"),
    (["split.min_s=12"], "'split.min_s': 12.0 is above split.max_s"),
    (["cuts.min_across=nan"], "'cuts.min_across': must be a finite number"),
    (["cuts.min_across=2"], "'cuts.min_across': must be >= 0 and <= 1"),
    (["cuts.ratio=-1"], "'cuts.ratio': must be > 0"),
    (["cuts.gradual_ratio=inf"], "'cuts.gradual_ratio'"),
    (["cuts.threads=-1"], "'cuts.threads': must be >= 0"),
    (["scorers=[motion,phash,motion]"], "scorer 'motion' is listed twice"),
    (["rules.0.min=1"], "'rules.0.min': --set cannot change one item of the list 'rules'"),
])
def test_recipe_mistakes_are_one_line_at_load(overrides, match):
    with pytest.raises(ConfigError, match=match) as e:
        load_recipe("quick", overrides)
    assert "\n" not in str(e.value)


def test_rules_as_a_mapping_is_one_line(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text("rules: {column: motion_mean, min: 0.1}\n")
    with pytest.raises(ConfigError, match="'rules': must be a list"):
        load_recipe(str(f))


def test_manifest_columns_are_valid_rule_columns():
    r = load_recipe("quick", ["rules=[{column: fps, min: 20}, {column: width, min: 640}, {column: num_frames, "
                              "min: 48}, {column: motion_mean, min_quantile: 0.25}]"])
    assert [x.column for x in r.rules] == ["fps", "width", "num_frames", "motion_mean"]
    assert load_recipe("svd_lvd").rules[-1].column == "text_area"  # ocr is listed there


def test_bad_model_paths_stop_the_run_at_load_local_and_ray(tmp_path, curate):
    """A missing CLIP or captioner folder, a folder of another model, a missing or pickled
    aesthetic head: one line, exit 2, before any source is read (and before Ray starts)."""
    (tmp_path / "blip").mkdir()
    (tmp_path / "blip" / "config.json").write_text('{"model_type": "blip"}')
    (tmp_path / "blip" / "model.safetensors").write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text('{"model_type": "clip"}')
    (tmp_path / "head.pth").write_bytes(b"x")
    (tmp_path / "pickled").mkdir()  # a transformers folder of the old pickled kind only
    (tmp_path / "pickled" / "config.json").write_text('{"model_type": "clip"}')
    (tmp_path / "pickled" / "pytorch_model.bin").write_bytes(b"x")
    cases = [("models.clip=/nonexistent/clip", "'models.clip': /nonexistent/clip is not a folder"),
             ("models.captioner=/nonexistent/blip", "'models.captioner'"),
             (f"models.clip={tmp_path / 'blip'}", "holds a 'blip' model, not CLIP"),
             (f"models.clip={tmp_path / 'empty'}", "has no .safetensors weights"),
             (f"models.captioner={tmp_path / 'empty'}", "has no .safetensors weights"),
             (f"models.clip={tmp_path / 'pickled'}", "a .bin is pickled and refused"),
             (f"models.aesthetic_head={tmp_path / 'head.pth'}", "pickled; convert it to safetensors"),
             (f"models.aesthetic_head={tmp_path / 'none.safetensors'}", "not found")]
    for override, match in cases:
        with pytest.raises(ConfigError, match=match):
            load_recipe("svd_lvd", [override])
    src = tmp_path / "src"
    src.mkdir()
    write_video(np.zeros((5, 32, 32, 3), np.uint8), src / "a.mp4", fps=5)
    for workers in ("0", "2"):
        p = curate("run", src, "--out", tmp_path / "o", "--recipe", "svd_lvd", "--workers", workers, "--set",
                   "models.captioner=/nonexistent/blip")
        assert p.returncode == 2 and p.stderr.count("\n") == 1 and "models.captioner" in p.stderr, p.stderr
        assert not (tmp_path / "o" / "parts").exists()


def test_driver_warns_that_the_clip_scorer_has_no_weights(tmp_path):
    """The warning comes from run() itself, before any worker starts: Ray workers' warnings
    never reach the terminal (log_to_driver=False)."""
    import data_curation.scorers.clip as clip_mod
    from data_curation.engine import run

    (tmp_path / "src").mkdir()
    clip_mod._WARNED = False
    with pytest.warns(UserWarning, match="no local weights configured"):
        run([str(tmp_path / "src")], tmp_path / "out", "svd_lvd", workers=2, progress=False)
    clip_mod._WARNED = False


def _photo_clip(img: np.ndarray, path, seconds=2.2, fps=10):
    return write_video(np.stack([img] * round(seconds * fps)), path, fps=fps)


def test_near_duplicates_keep_the_larger_then_the_sharper_copy(tmp_path):
    """Copies named so that the worse one sorts first: the blurred copy and the small copy
    are dropped, whichever name comes first."""
    from data_curation.engine import run

    src = tmp_path / "src"
    src.mkdir()
    coffee = skimage.data.coffee()[:240, :320]
    blurred = np.asarray(Image.fromarray(coffee).resize((80, 60), Image.BILINEAR).resize((320, 240), Image.BILINEAR))
    _photo_clip(coffee, src / "b_sharp.mp4")
    _photo_clip(blurred, src / "a_blurred.mp4")
    astro = skimage.data.astronaut()[64:448]  # 384x512
    _photo_clip(astro, src / "b_large.mp4")
    _photo_clip(np.asarray(Image.fromarray(astro).resize((128, 96), Image.LANCZOS)), src / "a_small.mp4")
    run([str(src)], tmp_path / "out", "quick", ["rules=[]"], workers=0, progress=False)
    df = pd.read_parquet(tmp_path / "out" / "manifest.parquet")
    df["file"] = df.source.str.rsplit("/", n=1).str[1]
    got = dict(zip(df.file, df.drop_reason.fillna("kept"), strict=True))
    assert got == {"b_sharp.mp4": "kept", "a_blurred.mp4": "near_duplicate", "b_large.mp4": "kept",
                   "a_small.mp4": "near_duplicate"}


def test_quality_key_orders_pixels_then_sharpness_then_aesthetic():
    from data_curation.filtering import quality_key

    rows = [{"source": "e", "width": 320, "height": 240, "sharpness": None, "aesthetic": None},
            {"source": "d", "width": 320, "height": 240, "sharpness": 10.0, "aesthetic": 4.0},
            {"source": "c", "width": 320, "height": 240, "sharpness": 10.0, "aesthetic": 6.0},
            {"source": "b", "width": 320, "height": 240, "sharpness": 50.0, "aesthetic": 1.0},
            {"source": "a", "width": 1920, "height": 1080, "sharpness": 1.0, "aesthetic": None},
            {"source": "f", "width": 320, "height": 240, "sharpness": 10.0, "aesthetic": 6.0}]
    assert [r["source"] for r in sorted(rows, key=quality_key)] == ["a", "b", "c", "f", "d", "e"]
