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
    # 2.44 s: samples at 0, 0.5, ..., 2.0 s (slots 12.5 frames apart; the 2.5 s slot is past the clip)
    assert len(c.sampled) == 5 and c.luma_mean.shape == (61,)


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


def test_ocr_finds_a_subtitle_a_thirtieth_of_the_frame_high(tmp_path, bikes):
    """A 24 px subtitle on 1280x720 footage (9.6 px on the 512 px key frames the scorer reads,
    which its detector takes as they are: ocr.DET_LIMIT_TYPE): found, its area at least half the
    text's own box; the footage alone stays under 1%."""
    from video.media import read_video

    frame = np.asarray(Image.fromarray(read_video(bikes)[100]).resize((1280, 720), Image.BICUBIC))
    im = Image.fromarray(frame.copy())
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=24)
    x0, y0, x1, y1 = d.textbbox((0, 0), "we ride at dawn, said the captain", font=font)
    x, y = (1280 - (x1 - x0)) // 2, 672
    d.rectangle([(x - 8, y - 6), (x + x1 - x0 + 8, y + y1 + 6)], fill=0)
    d.text((x, y), "we ride at dawn, said the captain", fill=(255, 255, 255), font=font)
    own = (x1 - x0) * (y1 - y0) / (1280 * 720)
    s = ocr.Scorer()
    with_text = s.score(_clip(write_video(np.stack([np.asarray(im)] * 3), tmp_path / "t.mp4", fps=25), 3))
    footage = s.score(_clip(write_video(np.stack([frame] * 3), tmp_path / "f.mp4", fps=25), 3))
    assert with_text["text_area"] >= 0.5 * own and footage["text_area"] < 0.01


def test_clip_scorer_without_weights_warns_once_and_returns_nulls(bikes):
    import data_curation.scorers.clip as clip_mod

    clip_mod._WARNED = False
    with pytest.warns(UserWarning, match="no local weights"):
        s = clip_mod.Scorer(load_recipe("svd_lvd"))
    assert s.score(read_clip(bikes, 0, 10, 25.0)) == {"aesthetic": None, "clip_score": None, "caption": None}


def _tiny_clip(folder):
    """A random CLIP with 8-d embeddings and 32-px images, saved to ``folder`` with its tokenizer
    (byte-level: one without is refused) as a local model."""
    import torch
    from transformers import CLIPConfig, CLIPModel

    from video.models.text import build_tiny_tokenizer

    tok = build_tiny_tokenizer("clip")
    cfg = CLIPConfig(text_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                      vocab_size=len(tok)), vision_config=dict(hidden_size=16, intermediate_size=32,
                                      num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8),
                     projection_dim=8)
    torch.manual_seed(0)
    model = CLIPModel(cfg).eval()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return model


def test_clip_aesthetic_from_a_tiny_local_clip(tmp_path, bikes):
    import torch
    from safetensors.torch import save_file

    import data_curation.scorers.clip as clip_mod

    _tiny_clip(tmp_path / "clip")
    w = torch.zeros(1, 8)
    w[0, 0] = 1.0
    save_file({"weight": w, "bias": torch.tensor([5.0])}, str(tmp_path / "head.safetensors"))
    r = load_recipe("svd_lvd", [f"models.clip={tmp_path / 'clip'}", f"models.aesthetic_head={tmp_path / 'head.safetensors'}"])
    out = clip_mod.Scorer(r).score(read_clip(bikes, 0, 10, 25.0))
    # bias + first component of a unit vector: within [4, 6], and not the bias alone
    assert 4.0 <= out["aesthetic"] <= 6.0 and out["aesthetic"] != 5.0
    assert out["caption"] is None and out["clip_score"] is None


def _laion_mlp(dims=(768, 1024, 128, 64, 16, 1)):
    """The improved-aesthetic-predictor module, layer for layer (its ``MLP.layers``)."""
    import torch

    d = dims
    return torch.nn.Sequential(torch.nn.Linear(d[0], d[1]), torch.nn.Dropout(0.2), torch.nn.Linear(d[1], d[2]),
                               torch.nn.Dropout(0.2), torch.nn.Linear(d[2], d[3]), torch.nn.Dropout(0.1),
                               torch.nn.Linear(d[3], d[4]), torch.nn.Linear(d[4], d[5])).eval()


def test_laion_aesthetic_head_matches_a_hand_computed_forward(tmp_path):
    import torch
    from safetensors.torch import save_file

    from data_curation.scorers.aesthetic import aesthetic_score, load_head

    torch.manual_seed(0)
    mlp = _laion_mlp()
    save_file({f"layers.{k}": v.contiguous() for k, v in mlp.state_dict().items()}, str(tmp_path / "head.safetensors"))
    emb = torch.randn(3, 768) * 5
    got = aesthetic_score(load_head(tmp_path / "head.safetensors"), emb)
    # by hand, in float64 numpy: unit vectors through the five affine maps (dropout is off)
    x = emb.double().numpy()
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    for i in (0, 2, 4, 6, 7):
        x = x @ mlp[i].weight.double().detach().numpy().T + mlp[i].bias.double().detach().numpy()
    np.testing.assert_allclose(got.numpy(), x[:, 0], rtol=1e-4, atol=1e-5)
    with torch.no_grad():  # and the published module itself
        np.testing.assert_allclose(got.numpy(), mlp(torch.nn.functional.normalize(emb, dim=-1))[:, 0].numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_aesthetic_head_rejects_what_does_not_chain(tmp_path):
    import torch
    from safetensors.torch import save_file

    from data_curation.scorers.aesthetic import load_head

    save_file({"layers.0.weight": torch.zeros(4, 8), "layers.0.bias": torch.zeros(4),
               "layers.2.weight": torch.zeros(1, 5), "layers.2.bias": torch.zeros(1)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(ValueError, match="do not chain"):
        load_head(tmp_path / "bad.safetensors")
    save_file({"fc.weight": torch.zeros(1, 8)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="not an aesthetic head"):
        load_head(tmp_path / "other.safetensors")


def test_clip_scorer_runs_the_mlp_head_on_clip_embeddings(tmp_path, bikes):
    import torch
    from safetensors.torch import save_file

    import data_curation.scorers.clip as clip_mod
    from video.models.image_encoder import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

    model = _tiny_clip(tmp_path / "clip")
    mlp = _laion_mlp((8, 16, 8, 8, 4, 1))
    save_file({f"layers.{k}": v.contiguous() for k, v in mlp.state_dict().items()}, str(tmp_path / "head.safetensors"))
    r = load_recipe("svd_lvd", [f"models.clip={tmp_path / 'clip'}", f"models.aesthetic_head={tmp_path / 'head.safetensors'}"])
    clip = read_clip(bikes, 0, 10, 25.0)
    got = clip_mod.Scorer(r).score(clip)["aesthetic"]
    with torch.no_grad():
        emb = model.get_image_features(pixel_values=clip_mod._preprocess(clip.keys, 32, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD))
        emb = getattr(emb, "pooler_output", emb)
        want = mlp(torch.nn.functional.normalize(emb, dim=-1))[:, 0].mean()
    assert got == pytest.approx(float(want), rel=1e-5, abs=1e-6)
    save_file({"weight": torch.zeros(1, 16), "bias": torch.zeros(1)}, str(tmp_path / "wide.safetensors"))
    r = load_recipe("svd_lvd", [f"models.clip={tmp_path / 'clip'}", f"models.aesthetic_head={tmp_path / 'wide.safetensors'}"])
    with pytest.raises(ValueError, match="takes 16-d embeddings"):
        clip_mod.Scorer(r)


def test_hash_index_finds_the_brute_force_pairs():
    from data_curation.scorers.phash import HashIndex, hamming

    rng = np.random.default_rng(0)
    base = [int(x) for x in rng.integers(0, 2**63, 400, dtype=np.int64)]
    hashes = list(base)
    for h in base[:200]:  # planted neighbours at 0..6 bits: inside and just outside the radius
        bits = rng.choice(64, int(rng.integers(0, 7)), replace=False)
        hashes.append(h ^ sum(1 << int(b) for b in bits))
    hashes = [f"{h:016x}" for h in hashes]
    for d in (0, 2, 4, 7):
        idx = HashIndex(d)
        for h in hashes:
            idx.add(h)
        for i, h in enumerate(hashes):
            brute = {int(k, 16) for k in hashes if hamming(h, k) <= d}
            assert set(idx.near(h)) == brute, (d, i)
    # the planted pairs were really there to find
    assert sum(hamming(a, b) <= 4 for a, b in zip(hashes[:200], hashes[400:], strict=True)) > 100


def test_near_duplicate_filter_keeps_what_a_scan_keeps():
    from data_curation.filtering import apply_filters
    from data_curation.scorers.phash import hamming

    rng = np.random.default_rng(1)
    base = [int(x) for x in rng.integers(0, 2**63, 300, dtype=np.int64)]
    hs = base + [h ^ (1 << int(rng.integers(0, 64))) ^ (1 << int(rng.integers(0, 64))) for h in base[:150]]
    rows = [{"source": f"s{i:04d}", "start_frame": 0, "error": None, "phash": f"{h:016x}"} for i, h in enumerate(hs)]
    recipe = load_recipe("quick", ["rules=[]", "max_phash_distance=4"])
    got = [r["keep"] for r in apply_filters(rows, recipe)]
    kept, want = [], []
    for r in sorted(rows, key=lambda r: r["source"]):  # the O(n^2) scan, in the filter's order
        dup = any(hamming(r["phash"], k) <= 4 for k in kept)
        want.append(not dup)
        if not dup:
            kept.append(r["phash"])
    assert got == want and 0 < sum(got) < len(rows)


def test_ocr_engine_in_a_ray_task_uses_the_task_cpus_not_every_core():
    """onnxruntime ignores the OMP_NUM_THREADS Ray sets per task; the engine a one-CPU task builds
    runs one thread, where the driver (no Ray task) keeps onnxruntime's default of every core."""
    ray = pytest.importorskip("ray")

    def threads() -> tuple:
        from data_curation.scorers import ocr as o

        o._ENGINE = None
        e = o._engine()
        det = e.text_det.infer.session.get_session_options()
        rec = e.text_rec.session.session.get_session_options()
        return o.task_cpus(), det.intra_op_num_threads, rec.intra_op_num_threads

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert ray.get(ray.remote(num_cpus=1)(threads).remote()) == (1, 1, 1)
        assert ray.get(ray.remote(num_cpus=2)(threads).remote()) == (2, 2, 2)
        assert threads() == (None, 0, 0)  # 0: onnxruntime's own choice
    finally:
        ray.shutdown()
        ocr._ENGINE = None
