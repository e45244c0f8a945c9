"""A flag and ``key=value`` for the same thing are refused, not combined: ``video quickstart
--out A out=B`` ran into A without a word; ``video cache-latents CFG --out DIR out=X`` set the
training run's folder, which a cache build never reads. ``video train --config my.yaml`` says
to give the YAML as the first word (it named the commands that take --config). ``video img2vid
--help`` gives the model's defaults for --fps, --motion-bucket and --noise-aug (it said 7,
127 and 0.02, where unset is the model's own). ``curate run SRC split.max_s=5`` says to put a
recipe key after --set."""

from __future__ import annotations

import pytest


def test_quickstart_refuses_out_as_flag_and_key(cli, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    r = cli("quickstart", "--out", a, f"out={b}", "--scale", "0.01")
    assert r.returncode == 2 and r.errors == [f"error: out given twice: --out {a} and out={b}; give it once"], r.stderr
    assert not a.exists() and not b.exists()


def test_cache_latents_refuses_the_run_folder_key(cli, tmp_path):
    cache = tmp_path / "cache"
    r = cli("cache-latents", "dit_stage1_image", "--out", cache, "out=x")
    assert r.returncode == 2 and r.errors == [
        f"error: out=x: the config key out is the training run's folder, which cache-latents does not use; the "
        f"cache goes to --out {cache} (give out= to video train)"], r.stderr
    assert not cache.exists()


@pytest.mark.parametrize("command", ["train", "cache-latents"])
@pytest.mark.parametrize("words", [["--config", "mine.yaml"], ["--config=mine.yaml"]])
def test_config_flag_on_train_says_to_give_the_path_first(cli, command, words):
    extra = ["--out", "c"] if command == "cache-latents" else []
    r = cli(command, *words, *extra)
    assert r.returncode == 2
    assert (f"unrecognized arguments: --config (video {command} takes the YAML path as its first word, without "
            f"--config: video {command} mine.yaml)") in r.stderr, r.stderr
    assert "is an option of" not in r.stderr


def test_train_unknown_key_says_how_to_list_the_keys(cli):
    r = cli("train", "dit_stage1_image", "stpes=3", "--dry-run")
    assert r.returncode == 2 and r.errors == [
        "error: unknown config key 'stpes'; did you mean 'steps'? (video train dit_stage1_image --dry-run prints "
        "them all)"], r.stderr


@pytest.mark.parametrize("flag, words", [("--fps", "7 for SVD"), ("--motion-bucket", "127 for SVD"),
                                         ("--noise-aug", "0.02 for SVD")])
def test_img2vid_help_gives_the_models_defaults(flag, words):
    from video.runtime.config import IMG2VID_FLAGS, Img2VidConfig

    key, help_ = IMG2VID_FLAGS[flag]
    assert getattr(Img2VidConfig(), key) is None  # unset: the model's own
    assert "default: the model's" in help_ and words in help_


def test_curate_run_points_a_recipe_key_to_set(capsys, tmp_path):
    from data_curation.cli import main

    src = tmp_path / "src"
    src.mkdir()
    assert main(["run", str(src), "split.max_s=5", "--out", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        "curate run: SRC split.max_s=5 not found; use --set split.max_s=5 for recipe keys")
    assert main(["run", str(src), "nokey=5", "--out", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert capsys.readouterr().err.strip() == "curate run: SRC nokey=5 not found"
    assert not (tmp_path / "o").exists()
