"""A bare word where only ``key=value`` is taken (a flag's value typed without its flag) says
what to do: the flag it most likely belongs to, among the command's own, else ``--help``. It
said ``override 'a cat on a surfboard' is not key=value``. And an unknown key close to
``memory_budget_gib`` names its flag, ``--memory-budget``: the usual hint, "a key is a flag's
name with _ for -", sent ``memory_budget=5`` to a key ``--help`` never shows."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from video.config_words import FLAG_NOT_KEY, bare_word_keys

TAIL = "(--help lists the flags)"
HEAD = "is not key=value: words without '=' are not taken here"


@pytest.fixture
def inputs(tmp_path):
    from video.media import write_video

    Image.new("RGB", (32, 32)).save(tmp_path / "photo.png")
    write_video(np.zeros((2, 32, 32, 3), np.uint8), tmp_path / "clip.mp4", fps=4)
    (tmp_path / "ref").mkdir()
    return tmp_path


@pytest.mark.parametrize(("argv", "line"), [
    (["txt2vid", "a cat on a surfboard"],
     f"error: 'a cat on a surfboard' {HEAD}; did you mean --prompt \"a cat on a surfboard\"? {TAIL}"),
    (["img2vid", "photo.png"], f"error: 'photo.png' {HEAD}; did you mean --image photo.png? {TAIL}"),
    (["upscale", "clip.mp4", "out.mp4"], f"error: 'out.mp4' {HEAD}; did you mean --output out.mp4? {TAIL}"),
    (["eval", "clip.mp4", "ref/"], f"error: 'ref/' {HEAD}; did you mean --reference ref/? {TAIL}"),
    (["edit", "restyle", "clip.mp4", "--prompt", "x"],
     f"error: 'clip.mp4' {HEAD}; did you mean --video clip.mp4? {TAIL}"),
    (["animate", "photo.png"], f"error: 'photo.png' {HEAD}; did you mean --image photo.png? {TAIL}"),
    (["txt2vid", "run.yaml"], f"error: 'run.yaml' {HEAD}; did you mean --config run.yaml? {TAIL}"),
    (["img2vid", "30"], f"error: '30' {HEAD} {TAIL}"),  # nothing it looks like: --help
    (["img2vid", "a cat"], f"error: 'a cat' {HEAD} {TAIL}"),  # img2vid has no --prompt: not named
])
def test_a_bare_word_names_the_flag_it_likely_belongs_to(argv, line, inputs, cli):
    r = cli(*argv, cwd=inputs)
    assert r.returncode == 2 and r.errors == [line], r.stderr


def test_train_keys_are_no_flags():
    """``video train``'s keys have no flags (its ``model`` key is a group): the way to list them."""
    from video.config import ConfigError, load_config
    from video.training.config import TrainConfig

    with pytest.raises(ConfigError) as e:
        load_config(TrainConfig, None, ["model.safetensors"], keys_hint="video train X --dry-run prints them all")
    assert str(e.value) == f"'model.safetensors' {HEAD}; give key=value (video train X --dry-run prints them all)"


def _commands():
    from eval.cli import EVAL_FLAGS, EvalConfig
    from video.edit.animate_cli import ANIMATE_FLAGS, AnimateConfig
    from video.edit.cli import EDIT_FLAGS, EDIT_SWITCHES, EditConfig
    from video.edit.upscale_cli import UPSCALE_FLAGS, UpscaleConfig
    from video.runtime.config import IMG2VID_FLAGS, TXT2VID_FLAGS, Img2VidConfig, Txt2VidConfig

    return [(Img2VidConfig, IMG2VID_FLAGS), (Txt2VidConfig, TXT2VID_FLAGS), (EditConfig, {**EDIT_FLAGS, **EDIT_SWITCHES}),
            (AnimateConfig, ANIMATE_FLAGS), (UpscaleConfig, UPSCALE_FLAGS), (EvalConfig, EVAL_FLAGS)]


def test_every_key_a_hint_names_is_its_commands_flag():
    """The hint says --KEY for a key the schema has: each such key's flag is --KEY, in every
    command that resolves flags (``--config`` every one has)."""
    import dataclasses

    hinted = {k for w in ("d/", "a.yaml", "a.safetensors", "a.png", "a.mp4", "a.txt", "a cat") for k in bare_word_keys(w)}
    assert {"prompt", "image", "video", "reference", "output", "model", "config"} <= hinted
    for schema, flags in _commands():
        for f in dataclasses.fields(schema):
            if f.name in hinted:
                assert flags.get(f"--{f.name.replace('_', '-')}", (None,))[0] == f.name, (schema, f.name)


def test_the_keys_whose_flag_is_not_their_name_are_listed():
    """:data:`FLAG_NOT_KEY` is every such flag of every command: its hint stays true."""
    differ = {key: flag for _, flags in _commands() for flag, (key, _h) in flags.items()
              if flag != f"--{key.replace('_', '-')}"}
    assert differ == FLAG_NOT_KEY


@pytest.mark.parametrize("word", ["memory_budget=5", "memory_budgt_gib=5"])
def test_memory_budget_hint_names_its_flag(word, cli):
    r = cli("img2vid", word)
    assert r.returncode == 2 and r.errors == [
        f"error: unknown config key '{word.partition('=')[0]}'; did you mean 'memory_budget_gib'? (its flag is "
        "--memory-budget; as key=value and in YAML it is memory_budget_gib)"], r.stderr


def test_a_typo_keeps_the_flags_hint(cli):
    r = cli("img2vid", "stpes=2")
    assert r.errors == ["error: unknown config key 'stpes'; did you mean 'steps'? (--help lists them: a key is a "
                        "flag's name with _ for -)"], r.stderr
