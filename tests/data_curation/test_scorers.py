import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageDraw, ImageFont

from data_curation.clip_frames import read_clip
from data_curation.recipe import load_recipe
from data_curation.scorers import black_frozen, borders, brightness, motion, ocr, sharpness
from video.media import write_video


def _clip(path, n):
    return read_clip(str(path), 0, n, 25.0, 2.0, 64)


def test_still_clip_has_no_motion_and_is_frozen(static_and_black):
    still, _ = static_and_black
    c = _clip(still, 50)
    m = motion.Scorer().score(c)
    assert m["motion_mean"] < 0.02
    assert black_frozen.Scorer().score(c) == {"black_fraction": 0.0, "frozen_fraction": 1.0}


def test_black_clip_is_black(static_and_black):
    _, black = static_and_black
    c = _clip(black, 25)
    assert black_frozen.Scorer().score(c)["black_fraction"] == 1.0
    assert brightness.Scorer().score(c)["brightness"] < 0.08  # video black is luma 16/255
    assert borders.Scorer().score(c)["border_fraction"] == 0.0


def test_moving_footage_has_more_motion_than_a_still(bikes, static_and_black):
    c = read_clip(bikes, 76, 137, 25.0, 2.0, 64)
    assert motion.Scorer().score(c)["motion_mean"] > 1.0
    assert len(c.sampled) == 6 and c.luma_mean.shape == (61,)


def test_letterbox_fraction_and_sharpness(tmp_path):
    photo = skimage.data.astronaut()[::2, ::2]  # 256x256
    boxed = np.zeros((256, 256, 3), np.uint8)
    boxed[64:192] = photo[64:192]  # bars over half the height
    blurred = np.asarray(Image.fromarray(photo).resize((32, 32)).resize((256, 256), Image.BILINEAR))
    p1 = write_video(np.stack([boxed] * 10), tmp_path / "boxed.mp4", fps=25)
    p2 = write_video(np.stack([photo] * 10), tmp_path / "sharp.mp4", fps=25)
    p3 = write_video(np.stack([blurred] * 10), tmp_path / "blur.mp4", fps=25)
    assert borders.Scorer().score(_clip(p1, 10))["border_fraction"] == pytest.approx(0.5, abs=0.03)
    assert borders.Scorer().score(_clip(p2, 10))["border_fraction"] < 0.02
    s = sharpness.Scorer()
    assert s.score(_clip(p2, 10))["sharpness"] > 5 * s.score(_clip(p3, 10))["sharpness"]


def test_ocr_text_area(tmp_path):
    plain = np.full((240, 320, 3), 200, np.uint8)
    im = Image.fromarray(plain.copy())
    ImageDraw.Draw(im).text((20, 90), "HELLO WORLD", fill=(0, 0, 0), font=ImageFont.load_default(size=40))
    text = np.asarray(im)
    s = ocr.Scorer()
    a_text = s.score(_clip(write_video(np.stack([text] * 3), tmp_path / "t.mp4", fps=25), 3))["text_area"]
    a_plain = s.score(_clip(write_video(np.stack([plain] * 3), tmp_path / "p.mp4", fps=25), 3))["text_area"]
    assert a_plain == 0.0
    assert 0.03 < a_text < 0.3  # the line of text covers roughly 300x45 of 320x240


def test_clip_scorer_without_weights_warns_once_and_returns_nulls(bikes):
    import data_curation.scorers.clip as clip_mod

    clip_mod._WARNED = False
    with pytest.warns(UserWarning, match="no local weights"):
        s = clip_mod.Scorer(load_recipe("svd_lvd"))
    assert s.score(read_clip(bikes, 0, 10, 25.0)) == {"aesthetic": None, "clip_score": None, "caption": None}


def test_clip_aesthetic_from_a_tiny_local_clip(tmp_path, bikes):
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPConfig, CLIPModel

    import data_curation.scorers.clip as clip_mod

    cfg = CLIPConfig(text_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                      vocab_size=100), vision_config=dict(hidden_size=16, intermediate_size=32,
                                      num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8),
                     projection_dim=8)
    torch.manual_seed(0)
    CLIPModel(cfg).save_pretrained(tmp_path / "clip")
    w = torch.zeros(1, 8)
    w[0, 0] = 1.0
    save_file({"weight": w, "bias": torch.tensor([5.0])}, str(tmp_path / "head.safetensors"))
    r = load_recipe("svd_lvd", [f"models.clip={tmp_path / 'clip'}", f"models.aesthetic_head={tmp_path / 'head.safetensors'}"])
    out = clip_mod.Scorer(r).score(read_clip(bikes, 0, 10, 25.0))
    # bias + first component of a unit vector: within [4, 6], and not the bias alone
    assert 4.0 <= out["aesthetic"] <= 6.0 and out["aesthetic"] != 5.0
    assert out["caption"] is None and out["clip_score"] is None
