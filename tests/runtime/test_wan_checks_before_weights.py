"""What a Wan folder or a request makes impossible is refused in one line before any weight
loads: a damaged ``scheduler/scheduler_config.json`` (a traceback after every weight had
loaded, in ``video txt2vid`` and ``video edit`` alike, while ``video info`` printed run_with),
and frames, sizes, ``--guidance-2`` and ``--lora`` that the folder's JSON files already rule
out (``video txt2vid`` refused them only after the whole model had loaded). Each folder here
has a garbage transformer: a refusal that waited for the weights would be a load error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_wan_folders import _transformer, fx  # the tiny Wan parts those tests build

from video.models.svd import CheckpointError
from video.runtime.img2vid import InputError

SCHEDULER = "scheduler/scheduler_config.json"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """t2v: Wan 2.1 (one expert, UniPC flow_shift 3, as published); wan22: two experts."""
    from diffusers import UniPCMultistepScheduler, WanPipeline

    root = tmp_path_factory.mktemp("wanchecks")
    tok, text = fx.tiny_text()
    vae = fx.tiny_vae()
    unipc = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000,
                                    flow_shift=3.0)
    WanPipeline(tokenizer=tok, text_encoder=text, transformer=_transformer(3), vae=vae,
                scheduler=unipc).save_pretrained(root / "t2v", safe_serialization=True)
    WanPipeline(tokenizer=tok, text_encoder=text, transformer=_transformer(3), transformer_2=_transformer(7),
                vae=vae, scheduler=unipc, boundary_ratio=0.875).save_pretrained(root / "wan22", safe_serialization=True)
    return root


def _garbage_weights(root: Path, tmp_path: Path, name: str = "t2v", **index) -> Path:
    """A copy of ``root/name`` whose transformer weights are not safetensors: loading fails."""
    dst = tmp_path / name
    shutil.copytree(root / name, dst)
    for f in (dst / "transformer").glob("*.safetensors"):
        f.write_bytes(b"not a safetensors file at all")
    if index:
        f = dst / "model_index.json"
        f.write_text(json.dumps({**json.loads(f.read_text()), **index}))
    return dst


BROKEN = [("{not json", "not a readable JSON file"), ('{"flow_shift": "abc"}', "flow_shift must be a number > 0"),
          ('{"flow_shift": -2}', "flow_shift must be a number > 0"), ("[3.0]", "expected a JSON object")]


@pytest.mark.parametrize("text, why", BROKEN)
def test_txt2vid_refuses_a_broken_scheduler_config_before_the_weights(root, tmp_path, cli, text, why):
    bad = _garbage_weights(root, tmp_path)
    (bad / SCHEDULER).write_text(text)
    from video.runtime.txt2vid import load_t2v

    with pytest.raises(CheckpointError, match=why) as e:
        load_t2v(bad)
    assert str(e.value).startswith(f"{bad}: {SCHEDULER}") and "\n" not in str(e.value)
    p = cli("txt2vid", "--model", str(bad), "--output", str(tmp_path / "o.mp4"))
    assert p.returncode == 2 and p.errors == [f"error: {e.value}"], p.stderr


def test_vace_edit_refuses_a_broken_scheduler_config_before_the_weights(root, tmp_path):
    """VACE folders load through the same loader: the same line, not a traceback."""
    from video.edit.vace import VaceEditor

    bad = _garbage_weights(root, tmp_path, _class_name="WanVACEPipeline",
                           transformer=["diffusers", "WanVACETransformer3DModel"])
    (bad / SCHEDULER).write_text("{not json")
    with pytest.raises(CheckpointError, match=f"^{bad}: {SCHEDULER} is not a readable JSON file"):
        VaceEditor.from_pretrained(bad)


def test_info_names_a_broken_scheduler_config_and_no_command(root, tmp_path, cli):
    from video.models.inspect import describe

    good = describe(root / "t2v")
    assert "broken" not in good and good["run_with"].startswith("video txt2vid --model ")
    bad = tmp_path / "t2v"
    shutil.copytree(root / "t2v", bad)
    (bad / SCHEDULER).write_text('{"flow_shift": "abc"}')
    info = describe(bad)
    assert "run_with" not in info, info
    assert info["broken"] == f"{SCHEDULER}: flow_shift must be a number > 0; found 'abc'"
    p = cli("info", str(bad))
    assert p.returncode == 0 and "broken: scheduler/scheduler_config.json" in p.stdout and "run_with" not in p.stdout


@pytest.mark.parametrize("name, flags, message", [
    ("t2v", ["--frames", "8"], "error: this video VAE takes 4k+1 frames (1, 5, 9, ...); got 8; use 5 or 9"),
    ("t2v", ["--frames", "5", "--height", "40", "--width", "48"],
     "error: height and width must be positive multiples of 16 for this model; got 40x48"),
    ("t2v", ["--frames", "5", "--guidance-2", "3"], "error: guidance_scale_2 (--guidance-2) is the low-noise "
     "expert's guidance; this model has one transformer: use guidance_scale (--guidance)"),
    ("wan22", ["--frames", "5", "--lora", "LORA"], "error: this Wan 2.2 folder has two experts, and its LoRAs come "
     "one per expert; LoRAs are not supported on two-expert folders yet"),
])
def test_txt2vid_refusals_come_before_the_weights(root, tmp_path, cli, name, flags, message):
    bad = _garbage_weights(root, tmp_path, name)
    lora = tmp_path / "style.safetensors"
    lora.write_bytes(b"never read")
    flags = [str(lora) if f == "LORA" else f for f in flags]
    p = cli("txt2vid", "--model", str(bad), *flags, "--output", str(tmp_path / "o.mp4"))
    assert p.returncode == 2 and p.errors == [message], p.stderr
    assert not (tmp_path / "o.mp4").exists()


def _with_rope(root: Path, tmp_path: Path, rope: int | None, name: str = "t2v") -> Path:
    """A garbage-weight copy of ``root/name`` whose experts' configs say ``rope_max_seq_len``
    ``rope`` (None: the key left out, diffusers' default 1024)."""
    dst = _garbage_weights(root, tmp_path, name)
    for sub in ("transformer", "transformer_2"):
        f = dst / sub / "config.json"
        if f.is_file():
            cfg = {k: v for k, v in json.loads(f.read_text()).items() if k != "rope_max_seq_len"}
            f.write_text(json.dumps(cfg if rope is None else {**cfg, "rope_max_seq_len": rope}))
    return dst


def test_default_frames_and_size_pass_the_early_checks(root, tmp_path):
    """The checks read the defaults as the pipeline does (Wan: 81 frames of 480x832): nothing
    refused with the published rotary table (1024 positions, the default when unsaid)."""
    from video.runtime.t2v_checks import check_wan_request

    check_wan_request(_with_rope(root, tmp_path / "a", 1024))
    check_wan_request(_with_rope(root, tmp_path / "b", None))
    check_wan_request(root / "wan22", num_frames=5, height=32, width=48, guidance_scale_2=2.0)


def test_a_size_past_the_rotary_table_is_refused_before_the_weights(root, tmp_path, cli):
    """The tiny transformers' table holds 32 positions per axis: 32 patches of 16 px (512) and
    32 latent frames (125 frames). One more was a raw view error inside diffusers, after loading."""
    from video.runtime.t2v_checks import check_wan_request

    limits = "rope_max_seq_len 32 patches per axis: at most 125 frames, height 512 and width 512"
    for name in ("t2v", "wan22"):
        bad = _garbage_weights(root, tmp_path / name, name)
        for frames, h, w in ((5, 528, 32), (5, 32, 528), (129, 32, 32)):
            with pytest.raises(InputError) as e:
                check_wan_request(bad, frames, h, w)
            assert str(e.value) == f"{frames} frames of {h}x{w} is past this model's rotary position table ({limits})"
        check_wan_request(bad, 125, 512, 512)  # the table's last row
        with pytest.raises(InputError, match="rope_max_seq_len 32 "):
            check_wan_request(bad)  # the default 832 width: past this tiny table
    p = cli("txt2vid", "--model", str(bad), "--frames", "5", "--height", "528", "--width", "32",
            "--output", str(tmp_path / "o.mp4"))
    assert p.returncode == 2 and p.errors == [f"error: 5 frames of 528x32 is past this model's rotary position table "
                                              f"({limits})"], p.stderr


def test_the_loaded_pipeline_refuses_it_too(root):
    from video.runtime.txt2vid import TextToVideo

    pipe = TextToVideo.from_pretrained(root / "t2v")
    steps = []
    with pytest.raises(InputError, match="^5 frames of 528x32 is past this model's rotary position table"):
        pipe("a kite", num_frames=5, height=528, width=32, num_inference_steps=1, on_step=lambda d, n: steps.append(d))
    assert steps == []


def test_missing_part_says_to_download_the_whole_repository(root, tmp_path):
    from video.runtime.txt2vid import load_t2v

    bad = tmp_path / "t2v"
    shutil.copytree(root / "t2v", bad)
    shutil.rmtree(bad / "vae")
    with pytest.raises(CheckpointError) as e:
        load_t2v(bad)
    assert str(e.value) == (f"{bad}: a Wan diffusers folder needs vae/: download the whole repository, not only "
                            "model_index.json")


@pytest.mark.parametrize("frames, nearest", [(87, "use 85 or 89"), (82, "use 81 or 85"), (2, "use 1 or 5"),
                                             (0, "use 1")])
def test_frame_count_error_names_the_nearest_counts(frames, nearest):
    """87 frames said "(1, 5, 9, ..., 81); got 87", as if 81 were the most a video VAE takes."""
    from video.models.latents import VideoVAELatents

    lat = VideoVAELatents(fx.tiny_vae())
    with pytest.raises(ValueError) as e:
        lat.check_frames(frames)
    assert str(e.value) == f"this video VAE takes 4k+1 frames (1, 5, 9, ...); got {frames}; {nearest}"
    lat.check_frames(89)


def test_model_help_names_wan_2_2():
    from video.runtime.config import TXT2VID_FLAGS

    assert "Wan 2.2" in TXT2VID_FLAGS["--model"][1] and "Wan 2.1 T2V folder" not in TXT2VID_FLAGS["--model"][1]
