"""The ``video`` command's option handling, run in-process through ``video.cli.main`` (the real
parser, configs and checks; tiny models where something renders): key=value anywhere, a key
given twice, null, one-line errors, checks that come before any weights load, --help
defaults, and --config / key=value for upscale, animate and eval."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from video.cli import Img2VidConfig, build_parser, main
from video.config import ConfigError, load_config
from video.media import probe_video, write_video


def run(capsys, *argv) -> tuple[int, str, str]:
    """``video ARGV`` in this process: (exit code, stdout, stderr); argparse's exit is a code too."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def one_error(code: int, err: str, needle: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if "error:" in ln]
    assert code == 2 and len(lines) == 1 and needle in lines[0] and "Traceback" not in err, err


# --- 1. key=value anywhere ------------------------------------------------------------------

def test_key_value_after_flags_is_taken(tmp_path, capsys):
    out = tmp_path / "t"
    code, _, err = run(capsys, "txt2vid", "--model", "tiny", "steps=1", "--frames", "1", f"output={out}",
                       "height=32", "--width", "32")
    assert code == 0, err
    assert len(list(out.glob("*.png"))) == 1  # output= after --frames reached the config
    code, stdout, err = run(capsys, "train", "dit_stage1_image", "--dry-run", "steps=3", "optim.lr=0.5")
    assert code == 0, err
    assert "\nsteps: 3\n" in stdout and "lr: 0.5" in stdout


def test_unknown_words_are_still_refused(capsys):
    code, _, err = run(capsys, "txt2vid", "steps=1", "--frames", "1", "stray")
    assert code == 2 and "stray" in err


# --- 6. a key given twice ---------------------------------------------------------------------

def test_flag_and_key_value_for_one_key_is_an_error(tmp_path, capsys):
    code, _, err = run(capsys, "txt2vid", "--steps", "1", "steps=3", "--output", tmp_path / "o.mp4")
    one_error(code, err, "steps given twice: --steps 1 and steps=3")
    assert not (tmp_path / "o.mp4").exists()


# --- 2, 3, 8. configs: null, containers, errors naming the key ----------------------------------

def test_null_unsets_text_and_optional_keys(tmp_path):
    from video.training.config import TrainConfig

    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text("image: null\nfps: null\nlora: x.safetensors\nsteps: 4\n")
    cfg = load_config(Img2VidConfig, yaml_file, ["model_config=null", "max_cfg=null"])
    assert (cfg.image, cfg.fps, cfg.model_config, cfg.max_cfg, cfg.steps) == ("", None, "", None, 4)
    assert cfg.lora == ["x.safetensors"]  # one text where a list goes: a one-item list, as on the CLI
    assert load_config(Img2VidConfig, None, ["lora=a.safetensors:0.5"]).lora == ["a.safetensors:0.5"]
    assert load_config(TrainConfig, None, ["init_from=null"]).init_from == ""
    assert load_config(Img2VidConfig, None, ["frames=null", "steps=null"]).frames is None  # unset: the model's
    with pytest.raises(ConfigError, match="'seed' cannot be null"):
        load_config(Img2VidConfig, None, ["seed=null"])


def test_null_output_is_refused():
    """A text key with a non-empty default has an unset value only if optional: ``output`` is not."""
    with pytest.raises(ConfigError, match="'output' cannot be null"):
        load_config(Img2VidConfig, None, ["output=null"])


@pytest.mark.parametrize("text,needle", [
    ("- a\n- b\n", "holds a list"),
    ("frames: [1, 2]\n", "'frames'"),
])
def test_yaml_that_does_not_fit_names_the_problem(tmp_path, text, needle):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_config(Img2VidConfig, f)


def test_config_errors_name_the_key(tmp_path, capsys):
    code, _, err = run(capsys, "train", "dit_stage1_image", "--dry-run", "optim=3")
    one_error(code, err, "'optim'")
    code, _, err = run(capsys, "train", "dit_stage1_image", "--dry-run", "steps=null")
    one_error(code, err, "'steps' cannot be null")
    code, _, err = run(capsys, "img2vid", "--config", tmp_path, "--output", tmp_path / "o.mp4")
    one_error(code, err, "is a folder")
    bad = tmp_path / "list.yaml"
    bad.write_text("- model\n")
    code, _, err = run(capsys, "img2vid", "--config", bad, "--output", tmp_path / "o.mp4")
    one_error(code, err, "holds a list")


# --- 3, 4, 5, 7, 9, 12: one line, before any weights load ---------------------------------------

MISSING = "/nonexistent/model"  # a model that cannot load: these errors must come before it is looked for


@pytest.mark.parametrize("command,args,needle", [
    ("txt2vid", ["--steps", "-1"], "--steps"),
    ("txt2vid", ["--shift", "-1"], "shift must be a finite number > 0"),
    ("txt2vid", ["--sampler", "foo"], "unknown sampler 'foo'"),
    ("txt2vid", ["--frames", "-2"], "--frames"),
    ("img2vid", ["--sampler", "foo"], "unknown sampler 'foo'"),
    ("img2vid", ["--steps", "-1"], "--steps"),
    ("img2vid", ["--memory-budget", "-1"], "--memory-budget must be >= 0"),
    ("img2vid", ["--model-config", "t2v_tiny"], "t2v_tiny is a text-to-video config"),
    ("img2vid", ["--model-config", "nope"], "available: svd, svd_xt, tiny"),
])
def test_checks_before_the_weights_load(tmp_path, capsys, command, args, needle):
    code, _, err = run(capsys, command, "--model", MISSING, "--output", tmp_path / "o.mp4", *args)
    one_error(code, err, needle)


@pytest.mark.parametrize("args", [["--crf", "-5"], ["--crf", "99"], ["--crf", "80", "--output", "{tmp}/o.webm"],
                                  ["--crf", "-5", "--output", "{tmp}/o.webm"], ["crf=52"]])
def test_crf_out_of_range_fails_before_the_render(tmp_path, capsys, args):
    args = [a.format(tmp=tmp_path) for a in args]
    if "--output" not in args:
        args += ["--output", str(tmp_path / "o.mp4")]
    code, _, err = run(capsys, "txt2vid", "--model", "tiny", "--frames", "1", "--steps", "1", *args)
    one_error(code, err, "--crf must be a whole number from 0 (best) to 51")
    assert "denoise" not in err and not list(tmp_path.iterdir())


def test_crf_in_range_writes(tmp_path, capsys):
    out = tmp_path / "o.webm"
    code, _, err = run(capsys, "txt2vid", "--model", "tiny", "--frames", "1", "--steps", "1", "--height", "32",
                       "--width", "32", "--crf", "51", "--output", out)
    assert code == 0, err
    assert probe_video(out)["codec"] == "vp9"


def test_edit_checks_crf(tmp_path, capsys):
    code, _, err = run(capsys, "edit", "restyle", "--video", tmp_path / "v.mp4", "--crf", "70",
                       "--output", tmp_path / "o.mp4")
    one_error(code, err, "--crf")


def test_unwritable_output_fails_before_the_render(tmp_path, capsys):
    """/proc takes no new files, also for root (whom os.access lets through)."""
    code, _, err = run(capsys, "txt2vid", "--model", "tiny", "--frames", "1", "--steps", "1",
                       "--output", "/proc/out.mp4")
    one_error(code, err, "cannot write /proc/out.mp4")
    assert "denoise" not in err


@pytest.mark.parametrize("size", ["0", "-1"])
def test_shard_size_must_be_positive(tmp_path, capsys, size):
    code, _, err = run(capsys, "cache-latents", "dit_stage2_video", "--out", tmp_path / "c", "--shard-size", size)
    assert code == 2 and "--shard-size" in err and "Traceback" not in err
    assert not (tmp_path / "c").exists()


def test_bad_device_and_models_dir_are_errors(tmp_path, capsys):
    write_video(np.zeros((2, 16, 16, 3), np.uint8), tmp_path / "gen" / "a.mp4", fps=4)
    code, _, err = run(capsys, "eval", tmp_path / "gen", "--device", "foo", "--out", tmp_path / "ev")
    one_error(code, err, "--device foo: not a device name")
    code, _, err = run(capsys, "models", "--models-dir", tmp_path / "nonexistent")
    one_error(code, err, "--models-dir")


def test_info_counts_every_part_of_t2v_tiny(capsys):
    from video.runtime.txt2vid import build_tiny

    m = build_tiny()
    code, out, err = run(capsys, "info", "t2v_tiny", "--json")
    assert code == 0, err
    params = json.loads(out)["parameters"]
    expect = {part: sum(p.numel() for p in mod.parameters())
              for part, mod in (("transformer", m.transformer), ("text_encoder", m.text_encoder), ("vae", m.vae))}
    assert params == expect and all(v > 0 for v in expect.values())


# --- 10. --help says every default --------------------------------------------------------------

def _subparser(parser: argparse.ArgumentParser, *names: str) -> argparse.ArgumentParser:
    for name in names:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


@pytest.mark.parametrize("path", [("txt2vid",), ("img2vid",), ("edit", "inpaint"), ("upscale",), ("animate",),
                                  ("eval",)])
def test_help_gives_every_default(path):
    parser = _subparser(build_parser(), *path)
    skip = {"help", "config", "overrides", "generated", "input"}
    missing = [a.option_strings[0] if a.option_strings else a.dest for a in parser._actions
               if a.dest not in skip and not any(w in (a.help or "").lower() for w in ("default", "required"))]
    assert not missing, f"{' '.join(path)}: no default in the help of {missing}"


# --- 11. upscale, animate and eval take --config and key=value ------------------------------------

def test_upscale_from_a_config_and_key_value(tmp_path, capsys):
    src = write_video(np.random.default_rng(0).integers(0, 255, (3, 16, 24, 3), dtype=np.uint8),
                      tmp_path / "in.mp4", fps=8)
    out = tmp_path / "up.mp4"
    cfg = tmp_path / "up.yaml"
    cfg.write_text(f"scale: 3\nmodel: bicubic\noutput: {out}\nframes: 3\n")
    code, _, err = run(capsys, "upscale", src, "--config", cfg, "frames=2")
    assert code == 0, err
    info = probe_video(out)
    assert (info["num_frames"], info["width"], info["height"]) == (2, 72, 48)
    code, _, err = run(capsys, "upscale", src, "--model", "bicubic", "scale=5", "-o", tmp_path / "x.mp4")
    one_error(code, err, "--scale must be 2, 3 or 4")


def test_animate_reads_its_config(tmp_path, capsys):
    cfg = tmp_path / "a.yaml"
    cfg.write_text(f"model: {tmp_path}\nimage: i.png\npose: p\nface: f\nmode: replace\noutput: {tmp_path / 'o.mp4'}\n")
    code, _, err = run(capsys, "animate", "--config", cfg)
    one_error(code, err, "--mode replace needs --background and --mask")  # mode came from the YAML
    code, _, err = run(capsys, "animate", "--config", cfg, "mode=dance")
    one_error(code, err, "--mode must be animate or replace")
    code, _, err = run(capsys, "animate", "output=o.mp4")
    one_error(code, err, "give --model, --image, --pose, --face")


def test_eval_reads_its_config(tmp_path, capsys):
    gen = tmp_path / "gen"
    rng = np.random.default_rng(0)
    write_video(rng.integers(0, 255, (4, 32, 32, 3), dtype=np.uint8), gen / "a.mp4", fps=4)
    cfg = tmp_path / "e.yaml"
    cfg.write_text(f"out: {tmp_path / 'from_yaml'}\ndevice: cpu\n")
    code, _, err = run(capsys, "eval", gen, "--config", cfg, f"out={tmp_path / 'from_kv'}")
    assert code == 0, err
    assert (tmp_path / "from_kv" / "metrics.json").is_file() and not (tmp_path / "from_yaml").exists()


def test_key_value_before_the_input_is_an_override():
    """``upscale steps=4 clip.mp4``: the input stays the input (argparse took ``steps=4`` for it);
    a key=value word right after an option is that option's value."""
    from video.cli import build_parser, parse_args

    a = parse_args(build_parser(), ["upscale", "steps=4", "clip.mp4", "-o", "o.mp4"])
    assert a.input == "clip.mp4" and a.overrides == ["steps=4"]
    a = parse_args(build_parser(), ["eval", "out=x", "gen/", "fvd_frames=8"])
    assert a.generated == "gen/" and a.overrides == ["out=x", "fvd_frames=8"]
    a = parse_args(build_parser(), ["txt2vid", "--prompt", "style=anime", "steps=2"])
    assert a.prompt == "style=anime" and a.overrides == ["steps=2"]
    a = parse_args(build_parser(), ["train", "--dry-run", "steps=3", "dit_stage1_image"])
    assert a.config == "dit_stage1_image" and a.overrides == ["steps=3"]  # --dry-run takes no value
