"""Scores that must not depend on how a clip is stored: frame rate (frozen frames), bit depth,
resolution (sharpness), display rotation (key frames); OCR that counts read text only; and a
local captioner loaded by its model class."""

import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageDraw, ImageFont

from data_curation.clip_frames import read_clip, scale_to_8bit
from data_curation.scorers import black_frozen, brightness, motion, ocr, phash, sharpness
from video.media import ffmpeg_exe, probe_video, write_video


def _read(path, n, fps):
    return read_clip(str(path), 0, n, fps)


def _pan(path, speed, fps, seconds=2.0, hold=1):
    """A smooth sub-pixel pan across a photo at ``speed`` px/s (bicubic warp, no repeated
    frames), or, with ``hold`` > 1, rendered at fps / hold and each picture repeated ``hold``
    times (10 fps footage in a 30 fps file)."""
    img = skimage.data.coffee()
    frames = []
    for i in range(round(seconds * fps)):
        x = 20 + speed * (i // hold * hold) / fps
        m = np.float32([[1, 0, -x], [0, 1, -20]])
        frames.append(cv2.warpAffine(img, m, (320, 240), flags=cv2.INTER_CUBIC))
    return write_video(np.stack(frames), path, fps=fps)


@pytest.mark.parametrize("fps", [24, 30, 60])
def test_slow_smooth_pans_are_not_frozen_at_any_frame_rate(tmp_path, fps):
    # at 60 fps a 5 px/s pan moves 0.08 px a frame: neighbouring frames differ by less than
    # compression noise, which the old neighbour test called frozen
    for speed in (5, 10):
        p = _pan(tmp_path / f"pan{speed}.mp4", speed, fps)
        n = round(2.0 * fps)
        assert black_frozen.Scorer().score(_read(p, n, fps))["frozen_fraction"] < 0.05, (speed, fps)


def test_a_still_is_frozen_and_ten_fps_footage_in_a_30_fps_file_is_not(tmp_path):
    still = write_video(np.stack([skimage.data.coffee()[:240, :320]] * 60), tmp_path / "still.mp4", fps=30)
    assert black_frozen.Scorer().score(_read(still, 60, 30.0))["frozen_fraction"] > 0.95
    # each picture shown three times: two of three neighbours repeat, but over half a second it moves
    p = _pan(tmp_path / "tens.mp4", 40, 30, hold=3)
    assert black_frozen.Scorer().score(_read(p, 60, 30.0))["frozen_fraction"] < 0.05


def test_frozen_fraction_counts_unchanged_frames():
    d = np.array([0.0, 0.0, 0.001, 0.02, 0.5])
    assert black_frozen.frozen_fraction(d) == pytest.approx(3 / 5)
    assert black_frozen.frozen_fraction(np.array([])) is None


def test_ten_bit_source_scores_as_its_eight_bit_twin(tmp_path):
    """The same lavfi clip encoded at 8 and 10 bits: luma read right, the luma scores agree
    (reading a 10-bit plane as bytes gave noise for brightness and motion)."""
    out = {}
    for src in ("testsrc2=s=320x240:r=25:d=2", "color=c=black:s=320x240:r=25:d=2"):
        for fmt in ("yuv420p", "yuv420p10le"):
            p = tmp_path / f"{src[:5]}_{fmt}.mp4"
            subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", src, "-c:v", "libx264",
                            "-crf", "12", "-pix_fmt", fmt, str(p)], check=True)
            assert probe_video(p)["pix_fmt"] == fmt
            c = _read(p, 50, 25.0)
            out[src[:5], fmt] = {**brightness.Scorer().score(c), **black_frozen.Scorer().score(c),
                                 **motion.Scorer().score(c)}
    for src in ("tests", "color"):
        a, b = out[src, "yuv420p"], out[src, "yuv420p10le"]
        assert b["brightness"] == pytest.approx(a["brightness"], abs=0.005)
        assert b["contrast"] == pytest.approx(a["contrast"], abs=0.005)
        assert b["black_fraction"] == a["black_fraction"]
        assert b["frozen_fraction"] == pytest.approx(a["frozen_fraction"], abs=0.05)
        assert b["motion_mean"] == pytest.approx(a["motion_mean"], rel=0.05, abs=0.01)
    assert out["color", "yuv420p10le"]["brightness"] == pytest.approx(0.0, abs=0.002)  # black, on the full scale
    assert out["color", "yuv420p10le"]["black_fraction"] == 1.0


def test_scale_to_8bit_rounds():
    assert scale_to_8bit(np.array([0, 1, 2, 64, 940, 1023]), 10).tolist() == [0, 0, 1, 16, 235, 255]
    assert scale_to_8bit(np.array([65535]), 16).tolist() == [255]


def _ffmpeg(*args):
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *map(str, args)], check=True)


def test_sharpness_does_not_rank_by_resolution(tmp_path):
    """The same scene at 1920x1080 and, area-downscaled as a smaller camera would record it,
    at 320x180 scores alike; a blurred copy scores lower at either size."""
    src = "testsrc2=s=1920x1080:r=25:d=0.4"
    hi, lo, blur, blur_lo = (tmp_path / f"{n}.mp4" for n in ("hi", "lo", "blur", "blur_lo"))
    enc = ["-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p"]
    _ffmpeg("-f", "lavfi", "-i", src, *enc, hi)
    _ffmpeg("-f", "lavfi", "-i", src, "-vf", "scale=320:180:flags=area", *enc, lo)
    _ffmpeg("-f", "lavfi", "-i", src, "-vf", "gblur=sigma=12", *enc, blur)  # 2 px at 320x180
    _ffmpeg("-f", "lavfi", "-i", src, "-vf", "scale=320:180:flags=area,gblur=sigma=2", *enc, blur_lo)
    s = {p.stem: sharpness.Scorer().score(_read(p, 10, 25.0))["sharpness"] for p in (hi, lo, blur, blur_lo)}
    assert s["lo"] == pytest.approx(s["hi"], rel=0.15)  # at native size: 4x apart
    assert s["blur"] < 0.5 * s["hi"] and s["blur_lo"] < 0.5 * s["lo"]
    assert s["blur"] == pytest.approx(s["blur_lo"], rel=0.25)


def test_ocr_counts_read_text_not_textures(tmp_path):
    """A cat's face has no text (detection alone covered ~10% of it); a caption on a photo
    covers about the box it is drawn in."""
    cat = skimage.data.chelsea()[:288, :448]
    c = _read(write_video(np.stack([cat] * 3), tmp_path / "cat.mp4", fps=25), 3, 25.0)
    s = ocr.Scorer()
    assert s.score(c)["text_area"] < 0.005
    photo = Image.fromarray(np.ascontiguousarray(skimage.data.coffee()[:240, :320]))
    draw = ImageDraw.Draw(photo)
    font = ImageFont.load_default(size=36)
    x0, y0, x1, y1 = draw.textbbox((20, 180), "HELLO WORLD", font=font)
    draw.rectangle((x0 - 4, y0 - 4, x1 + 4, y1 + 4), fill=(0, 0, 0))
    draw.text((20, 180), "HELLO WORLD", fill=(255, 255, 255), font=font)
    drawn = (x1 - x0) * (y1 - y0) / (320 * 240)  # the text's own box
    c = _read(write_video(np.stack([np.asarray(photo)] * 3), tmp_path / "caption.mp4", fps=25), 3, 25.0)
    assert 0.6 * drawn < s.score(c)["text_area"] < 1.8 * drawn


def test_ocr_keeps_confident_alphanumeric_reads():
    box = [[0, 0], [10, 0], [10, 5], [0, 5]]
    res = [[box, "HELLO", 0.9], [box, "HELLO", 0.3], [box, "..", 0.99], [box, "", 0.0]]
    assert ocr.text_area(res, 10, 10) == pytest.approx(0.5)
    assert ocr.text_area(None, 10, 10) == 0.0


def test_rotated_phone_clip_has_upright_key_frames(tmp_path):
    """A portrait clip stored sideways plus a display rotation (as phones record) gives the key
    frames a player shows: its pHash matches the upright-coded copy's."""
    photo = np.ascontiguousarray(skimage.data.astronaut()[::2, ::2][:, 32:224])  # 256x192 portrait
    up = write_video(np.stack([photo] * 10), tmp_path / "upright.mp4", fps=25)
    side = write_video(np.stack([np.rot90(photo, -1)] * 10), tmp_path / "sideways.mp4", fps=25)
    phone = tmp_path / "phone.mp4"
    _ffmpeg("-display_rotation", "90", "-i", side, "-c", "copy", phone)
    assert probe_video(phone)["rotation"] == 90
    a, b = _read(up, 10, 25.0), _read(phone, 10, 25.0)
    assert b.keys[1].shape == a.keys[1].shape == (256, 192, 3)
    assert np.abs(a.keys[1].astype(int) - b.keys[1]).mean() < 4
    assert phash.hamming(phash.Scorer().score(a)["phash"], phash.Scorer().score(b)["phash"]) <= 4


def tiny_blip(folder, image_size: int = 32):
    """A random BLIP captioner (vision 32 px, 100-word vocabulary) saved with its processor;
    ``image_size`` is what the processor resizes to (another size breaks every forward)."""
    import torch
    from transformers import (
        BertTokenizer,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(95)]
    (folder / "vocab.txt").write_text("\n".join(vocab))
    tok = BertTokenizer(str(folder / "vocab.txt"))
    tok.add_special_tokens({"bos_token": "[DEC]"})
    proc = BlipProcessor(BlipImageProcessor(size={"height": image_size, "width": image_size}), tok)
    cfg = BlipConfig(text_config=dict(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, encoder_hidden_size=16, max_length=8,
                                      bos_token_id=tok.convert_tokens_to_ids("[DEC]"), pad_token_id=0, sep_token_id=3),
                     vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                        image_size=32, patch_size=8), projection_dim=8)
    torch.manual_seed(0)
    BlipForConditionalGeneration(cfg).eval().save_pretrained(folder)
    proc.save_pretrained(folder)
    return folder


def test_local_captioner_captions_every_clip(tmp_path, bikes):
    """A local BLIP folder captions each clip (transformers 5's "image-to-text" pipeline
    refused an image without a prompt: every clip was an error row)."""
    import pandas as pd

    from data_curation.engine import run

    model = tiny_blip(tmp_path / "blip")
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(bikes, src / "bikes.mp4")
    s = run([str(src)], tmp_path / "out", "svd_lvd", ["scorers=[motion,clip]", "rules=[]", f"models.captioner={model}"],
            workers=0, progress=False)
    df = pd.read_parquet(tmp_path / "out" / "manifest.parquet")
    assert len(df) == 3 and df.error.isna().all() and (s["clips_failed"], s["failed"]) == (0, 0)
    assert all(isinstance(c, str) and c.split() and all(w.startswith("w") for w in c.split()) for c in df.caption)


def test_a_scorer_failing_on_every_clip_is_counted_and_fails_the_run(tmp_path, bikes):
    """A captioner whose processor does not fit its model raises on every clip: the summary
    counts the error rows and names the error, and ``curate run`` exits 1 (it said failed: 0)."""
    model = tiny_blip(tmp_path / "blip", image_size=48)
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(bikes, src / "bikes.mp4")
    p = subprocess.run([sys.executable, "-m", "data_curation.cli", "run", str(src), "--out", str(tmp_path / "out"),
                        "--recipe", "svd_lvd", "--workers", "0", "--quiet", "--set", "scorers=[motion,clip]", "rules=[]",
                        f"models.captioner={model}"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stderr
    summary = json.loads(p.stdout)
    assert summary["clips"] == summary["clips_failed"] == 3 and list(summary["errors"].values()) == [3]
    assert "3 of 3 clips failed scoring" in p.stderr and "RuntimeError" in p.stderr
