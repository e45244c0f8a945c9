"""curate's model scorers refuse, in one line, a model folder that loads but cannot do the job
(no tokenizer, a CLIP folder as the captioner, LFS pointers for weights); load quietly; score
pixels as eval's CLIP-SIM does; and a model replaced at the same path rescores. The manifest
write keeps a symlink a symlink and flushes before the rename."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import skimage.data

from data_curation.scorers.clip import Captioner, Scorer

LFS = b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 605247\n"


def _models(folder: Path) -> dict[str, Path]:
    """A random BLIP captioner (100-word vocabulary) and a random CLIP (byte-level tokenizer, an
    image processor whose mean and std are not OpenAI's), each saved with its processor."""
    import torch
    from tokenizers import processors
    from transformers import (
        BertTokenizer,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
    )

    from video.models.text import BOS, EOS, build_tiny_tokenizer

    blip = folder / "blip"
    blip.mkdir(parents=True)
    (blip / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] +
                                              [f"w{i}" for i in range(95)]))
    tok = BertTokenizer(str(blip / "vocab.txt"))
    tok.add_special_tokens({"bos_token": "[DEC]"})
    layers = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)
    cfg = BlipConfig(text_config=dict(vocab_size=len(tok), encoder_hidden_size=16, max_length=8, pad_token_id=0,
                                      bos_token_id=tok.convert_tokens_to_ids("[DEC]"), sep_token_id=3, **layers),
                     vision_config=dict(image_size=32, patch_size=8, **layers), projection_dim=8)
    torch.manual_seed(0)
    BlipForConditionalGeneration(cfg).eval().save_pretrained(blip)
    BlipProcessor(BlipImageProcessor(size={"height": 32, "width": 32}), tok).save_pretrained(blip)

    clip = folder / "clip"
    tok = build_tiny_tokenizer("clip")
    bos, eos = tok.convert_tokens_to_ids(BOS), tok.convert_tokens_to_ids(EOS)
    tok.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}", special_tokens=[(BOS, bos), (EOS, eos)])  # CLIP pools at EOS
    cfg = CLIPConfig(text_config=dict(vocab_size=len(tok), max_position_embeddings=77, bos_token_id=bos,
                                      eos_token_id=eos, pad_token_id=eos, **layers),
                     vision_config=dict(image_size=32, patch_size=8, **layers), projection_dim=8)
    CLIPModel(cfg).eval().save_pretrained(clip)
    tok.save_pretrained(clip)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
                       image_mean=[0.2, 0.5, 0.8], image_std=[0.1, 0.3, 0.2]).save_pretrained(clip)
    return {"blip": blip, "clip": clip}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    return _models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    """A folder with one 3 s clip of a slowly panning photo (one shot, one clip)."""
    from video.media import write_video

    d = tmp_path_factory.mktemp("src")
    img = skimage.data.coffee()
    write_video(np.stack([img[20:164, 2 * t:2 * t + 192] for t in range(30)]), d / "pan.mp4", fps=10)
    return d


def _copy(folder: Path, tmp_path: Path, drop: tuple[str, ...] = ()) -> Path:
    dest = tmp_path / f"{folder.name}_copy"
    shutil.copytree(folder, dest)
    for name in drop:
        (dest / name).unlink()
    return dest


def _recipe(**models) -> SimpleNamespace:
    return SimpleNamespace(models=SimpleNamespace(**{"clip": None, "captioner": None, "aesthetic_head": None,
                                                     **{k: str(v) for k, v in models.items()}}))


def _keys() -> SimpleNamespace:
    """A clip's three key frames (first, middle, last), 128x171 photos."""
    return SimpleNamespace(keys=[np.ascontiguousarray(skimage.data.astronaut()[::4, ::3]),
                                 np.ascontiguousarray(skimage.data.chelsea()[:128, :171]),
                                 np.ascontiguousarray(skimage.data.coffee()[::3, ::3][:128, :171])])


# --- 1. a captioner without its tokenizer ------------------------------------------------------

def test_a_captioner_without_its_tokenizer_is_refused(models, tmp_path, src, curate):
    """transformers 5 stands in a 5-token BertTokenizer: every caption was '' and the run exit 0."""
    bad = _copy(models["blip"], tmp_path, ("tokenizer.json", "tokenizer_config.json", "vocab.txt"))
    with pytest.raises(ValueError, match=r"cannot load a captioning model \(its tokenizer has \d+ tokens for a 101"):
        Captioner(str(bad))
    assert Captioner(str(models["blip"]))(_keys().keys[1]).startswith("w")  # the folder with it captions
    out = tmp_path / "out"
    p = curate("run", src, "--out", out, "--workers", "0", "--quiet", "--set", "scorers=[motion,clip]", "rules=[]",
               f"models.captioner={bad}")
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert p.stderr.startswith(f"curate run: models.captioner {bad}: cannot load a captioning model")
    assert not out.exists()


# --- 2. a CLIP folder without its tokenizer; long captions --------------------------------------

def test_a_clip_folder_without_its_tokenizer_is_refused(models, tmp_path):
    bad = _copy(models["clip"], tmp_path, ("tokenizer.json", "tokenizer_config.json"))
    with pytest.raises(ValueError, match=rf"^models.clip {bad}: cannot load a CLIP model \(its tokenizer has 2 tokens"):
        Scorer(_recipe(clip=bad))


def test_a_caption_longer_than_clips_context_is_cut_to_it(models, tmp_path):
    """A tokenizer whose config sets no length (model_max_length 10^30) cut nothing: a caption
    past 77 tokens failed every clip. It scores as its first 75 characters do (byte tokens,
    plus start and end)."""
    import json

    folder = _copy(models["clip"], tmp_path)
    cfg = json.loads((folder / "tokenizer_config.json").read_text())
    cfg.pop("model_max_length", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg))
    s = Scorer(_recipe(clip=folder))
    assert s.tokenizer.model_max_length > 10**6
    text = "a long caption of a cat on a mat " * 5  # 165 characters
    s.captioner = lambda rgb: text
    long = s.score(_keys())["clip_score"]
    s.captioner = lambda rgb: text[:75]
    short = s.score(_keys())["clip_score"]
    s.captioner = lambda rgb: text[:74]
    assert long == pytest.approx(short, abs=1e-6) != pytest.approx(s.score(_keys())["clip_score"], abs=1e-6)


def test_eval_clip_sim_cuts_a_long_prompt_to_the_models_context(models, tmp_path):
    """``video eval``'s CLIP-SIM had the same fault: a long prompt on such a tokenizer failed."""
    import json

    from eval.clip_sim import ClipSim

    folder = _copy(models["clip"], tmp_path)
    cfg = json.loads((folder / "tokenizer_config.json").read_text())
    cfg.pop("model_max_length", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg))
    sim = ClipSim(folder)
    text = "a long caption of a cat on a mat " * 5
    assert sim.text_embedding(text).tolist() == pytest.approx(sim.text_embedding(text[:75]).tolist(), abs=1e-6)


# --- 3. a model that does not generate text as the captioner ------------------------------------

def test_a_clip_folder_as_the_captioner_is_one_line_and_exit_2(models, tmp_path, src, curate):
    with pytest.raises(ValueError, match="CLIPModel does not generate text"):
        Captioner(str(models["clip"]))
    out = tmp_path / "out"
    p = curate("run", src, "--out", out, "--workers", "0", "--quiet", "--set", "scorers=[motion,clip]", "rules=[]",
               f"models.captioner={models['clip']}")
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert "cannot load a captioning model (CLIPModel does not generate text" in p.stderr
    assert not out.exists()


# --- 4. weights that are no weights -------------------------------------------------------------

def test_a_broken_aesthetic_head_is_a_value_error_naming_it(tmp_path, models, src, curate):
    from data_curation.scorers.aesthetic import load_head

    lfs, noise = tmp_path / "lfs.safetensors", tmp_path / "noise.safetensors"
    lfs.write_bytes(LFS)
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match=r"lfs.safetensors: a Git LFS pointer, not the weights: fetch them with"):
        load_head(lfs)
    with pytest.raises(ValueError, match=r"noise.safetensors: truncated or damaged safetensors file"):
        load_head(noise)
    out = tmp_path / "out"
    p = curate("run", src, "--out", out, "--workers", "0", "--quiet", "--set", "scorers=[motion,clip]", "rules=[]",
               f"models.clip={models['clip']}", f"models.aesthetic_head={lfs}")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Git LFS pointer" in p.stderr, p.stderr


@pytest.mark.parametrize("key", ["clip", "captioner"])
def test_lfs_pointer_weights_in_a_model_folder_are_named_so(models, tmp_path, key):
    folder = _copy(models["clip" if key == "clip" else "blip"], tmp_path)
    (folder / "model.safetensors").write_bytes(LFS)
    with pytest.raises(ValueError, match=f"^models.{key} {folder}: cannot load .*model.safetensors: a Git LFS pointer"):
        Scorer(_recipe(**{key: folder}))


# --- 5. a model replaced at the same path --------------------------------------------------------

def test_weights_replaced_at_the_same_path_change_the_scoring_key(models, tmp_path):
    from data_curation.recipe import absolute_models, load_recipe, scoring_key, scoring_keys

    folder = _copy(models["clip"], tmp_path)
    r = load_recipe("svd_lvd", [f"models.clip={folder}", f"models.captioner={models['blip']}"])
    before, keys_before = scoring_key(r), scoring_keys(r)
    to_task = pickle.dumps(absolute_models(r))  # what a Ray task gets, pinned to the driver's view
    weights = folder / "model.safetensors"
    st = weights.stat()
    data = bytearray(weights.read_bytes())
    data[-4:] = b"\0\0\0\0"  # other weights, the same size
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert scoring_key(r) not in keys_before  # every part scored before is scored again
    assert scoring_key(pickle.loads(to_task)) == before
    (folder / "README.md").write_text("notes")  # what no scorer reads changes nothing
    assert scoring_key(r) == scoring_key(load_recipe("svd_lvd", [f"models.clip={folder}",
                                                                  f"models.captioner={models['blip']}"]))


def test_without_models_the_clip_scorer_upgrade_rescores_nothing(monkeypatch, tmp_path, models):
    """The clip scorer's version 3 changed CLIP's pixels: a recipe without models keeps the
    parts of version 2 (null columns either way); one with a model scores them again."""
    from data_curation.recipe import load_recipe, scoring_key, scoring_keys

    bare, with_clip = load_recipe("svd_lvd"), load_recipe("svd_lvd", [f"models.clip={models['clip']}"])
    with monkeypatch.context() as m:
        m.setattr(Scorer, "version", 2)
        old = scoring_key(bare), scoring_key(with_clip)
    assert old[0] != scoring_key(bare) and old[0] in scoring_keys(bare)
    assert old[1] not in scoring_keys(with_clip)


# --- 6. quiet loading -----------------------------------------------------------------------------

def test_loading_the_models_prints_no_progress_bars(models, capfd):
    import transformers.utils.logging as tlog

    tlog.enable_progress_bar()  # as a fresh process has it (eval or a test before may have turned it off)
    tlog.set_verbosity_warning()
    capfd.readouterr()
    Scorer(_recipe(clip=models["clip"], captioner=models["blip"]))
    err = capfd.readouterr().err
    assert "Loading weights" not in err and "it/s" not in err, err


# --- 7. CLIP sees what eval's CLIP-SIM sees -----------------------------------------------------

def test_clip_score_matches_eval_clip_sim_with_the_folders_normalisation(models):
    """The folder's mean and std (not OpenAI's) and eval's resize: caption vs the mean embedding
    of the three key frames, as eval.ClipSim embeds them."""
    import torch

    from eval.clip_sim import ClipSim

    s = Scorer(_recipe(clip=models["clip"]))
    s.captioner = lambda rgb: "a cat on a mat"
    clip = _keys()
    got = s.score(clip)["clip_score"]
    ref = ClipSim(models["clip"])
    img = torch.nn.functional.normalize(ref.image_embeddings(np.stack(clip.keys)).mean(0), dim=-1)
    assert got == pytest.approx(float(img @ ref.text_embedding("a cat on a mat")), abs=1e-5)


def test_half_checkpoints_run_in_float32(models, tmp_path):
    """transformers 5 loads a checkpoint in its saved dtype: CPU float32 is what the scores are."""
    import torch
    from transformers import BlipForConditionalGeneration, CLIPModel

    for name, cls in (("clip", CLIPModel), ("blip", BlipForConditionalGeneration)):
        folder = _copy(models[name], tmp_path)
        cls.from_pretrained(folder).half().save_pretrained(folder)
    s = Scorer(_recipe(clip=tmp_path / "clip_copy", captioner=tmp_path / "blip_copy"))
    assert s.model.dtype == s.captioner.model.dtype == torch.float32


# --- 8. the manifest written through a symlink, flushed first -------------------------------------

def test_filter_writes_a_symlinked_manifest_through_the_link_flushed_first(tmp_path, monkeypatch):
    from data_curation.manifest import read_parquet, refilter, to_table, write_atomic

    real = tmp_path / "store" / "manifest.parquet"
    rows = [{"source": f"{i}.mp4", "clip_id": f"{i}:0", "start_frame": 0, "keep": True, "motion_mean": m}
            for i, m in enumerate((0.01, 1.0))]
    write_atomic(to_table(rows, {"motion_mean": "float64"}), real)
    link = tmp_path / "run" / "manifest.parquet"
    link.parent.mkdir()
    link.symlink_to(real)
    events = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), replace(a, b))[1])
    summary = refilter(link, "quick", ["rules=[{column: motion_mean, min: 0.05}]"])
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert read_parquet(real).column("keep").to_pylist() == [False, True] and summary["kept"] == 1
    assert events[:2] == ["fsync", "replace"] and events[2:] == ["fsync"]  # the file, the rename, its folder
