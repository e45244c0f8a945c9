"""`video info` names a command that runs a model only when the model has every part that
command's loader reads; otherwise it says which part is missing, and `video models` says it on
the folder's line. It printed `run_with: video img2vid --model ...` for an SVD folder whose VAE
weights were deleted and `video txt2vid` for a Wan folder without text_encoder/, both refused by
those commands, and plain `svd` with no note for an SVD folder without vae/. Single-file SVD
checkpoints get the same machine kind as `video models` gives them (the prose, "svd or svd_xt
(same keys; the file does not say)", went to the detail) and the commands that load them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from test_info_other_folders import _info, _row  # tests/models is on sys.path under pytest

from video.models.detect import detect_kind
from video.models.svd import CheckpointError


@pytest.fixture
def svd_copy(tmp_path, tiny_diffusers_dir) -> Path:
    return Path(shutil.copytree(tiny_diffusers_dir, tmp_path / "checkpoints" / "svd"))


def test_svd_folder_without_vae_weights_names_them_instead_of_a_command(tmp_path, cli, svd_copy):
    for f in (svd_copy / "vae").glob("*.safetensors"):
        f.unlink()
    info = _info(cli, svd_copy)
    assert info["kind"] == "svd" and "run_with" not in info, info
    assert info["missing"] == "vae/ (no .safetensors weights)", info
    assert _row(tmp_path, svd_copy)["detail"].endswith("; missing: vae/ (no .safetensors weights)")
    with pytest.raises(CheckpointError, match=r"vae: no \.safetensors weights"):  # what img2vid says
        from video.models.svd import load_svd

        load_svd(svd_copy)


def test_svd_folder_without_vae_folder_is_not_plain_svd(tmp_path, cli, svd_copy):
    shutil.rmtree(svd_copy / "vae")
    info, row = _info(cli, svd_copy), _row(tmp_path, svd_copy)
    assert (info["kind"], info["missing"], row["kind"]) == ("svd", "vae/", "svd"), info
    assert "run_with" not in info and "missing" not in info["detail"], info  # said once, on its own line
    assert row["detail"] == f"{info['detail']}; missing: vae/", row


def test_complete_svd_folder_still_says_what_runs_it(cli, tiny_diffusers_dir):
    info = _info(cli, tiny_diffusers_dir)
    assert "missing" not in info and info["run_with"].startswith(f"video img2vid --model {tiny_diffusers_dir}")
    assert "missing" not in detect_kind(tiny_diffusers_dir)


def _weights(part: Path, name: str = "diffusion_pytorch_model.safetensors") -> None:
    part.mkdir(parents=True, exist_ok=True)
    save_file({"w": torch.zeros(2)}, str(part / name))


def _wan_folder(root: Path) -> Path:
    """A Wan text-to-video folder's files (weights are placeholders: only their presence is read)."""
    root.mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps({
        "_class_name": "WanPipeline", "transformer": ["diffusers", "WanTransformer3DModel"],
        "transformer_2": [None, None], "vae": ["diffusers", "AutoencoderKLWan"],
        "text_encoder": ["transformers", "UMT5EncoderModel"], "tokenizer": ["transformers", "T5TokenizerFast"]}))
    _weights(root / "transformer")
    _weights(root / "vae")
    (root / "tokenizer").mkdir()
    return root


def test_wan_folder_without_text_encoder_names_it_and_txt2vid_refuses_it(tmp_path, cli):
    wan = _wan_folder(tmp_path / "checkpoints" / "wan")
    info = _info(cli, wan)
    assert (info["kind"], info["missing"]) == ("wan_t2v", "text_encoder/") and "run_with" not in info, info
    assert _row(tmp_path, wan)["detail"] == "diffusers folder (WanPipeline); missing: text_encoder/"
    from video.runtime.txt2vid import load_t2v

    with pytest.raises(CheckpointError, match="needs text_encoder/"):
        load_t2v(wan)
    _weights(wan / "text_encoder", "model.safetensors")  # now whole: the command is named again
    info = _info(cli, wan)
    assert "missing" not in info and info["run_with"] == f"video txt2vid --model {wan}; video edit TASK --model {wan}"


def test_wan_animate_folder_needs_its_image_encoder(tmp_path):
    wan = _wan_folder(tmp_path / "animate")
    _weights(wan / "text_encoder", "model.safetensors")
    index = json.loads((wan / "model_index.json").read_text())
    (wan / "model_index.json").write_text(json.dumps({**index, "_class_name": "WanAnimatePipeline"}))
    assert detect_kind(wan) == {"kind": "wan_animate", "missing": "image_encoder/",
                                "detail": "diffusers folder (WanAnimatePipeline); missing: image_encoder/"}


def test_our_folder_names_each_missing_part(tmp_path, cli):
    ours = tmp_path / "ours"
    (ours / "transformer").mkdir(parents=True)
    (ours / "video_pipeline.yaml").write_text("backbone: dit\n")
    _weights(ours / "vae")
    info = _info(cli, ours)
    assert info["kind"] == "dit_t2v" and "run_with" not in info, info
    assert info["missing"] == "transformer/model.safetensors, text_encoder/, tokenizer/", info


@pytest.fixture(scope="module")
def sgm_files(tmp_path_factory, tiny_models) -> dict[str, Path]:
    from video.models.sgm import save_sgm_checkpoint

    root = tmp_path_factory.mktemp("sgm") / "checkpoints"
    root.mkdir()
    files = {"ours": save_sgm_checkpoint(tiny_models, root / "svd_ours.safetensors"),
             "published": save_sgm_checkpoint(tiny_models, root / "svd_nometa.safetensors", write_config=False)}
    sd = load_file(str(files["published"]))  # svd_image_decoder.safetensors: no temporal decoder layers
    save_file({k: v for k, v in sd.items() if not (k.startswith("first_stage_model.decoder.")
                                                   and ("time_stack" in k or "time_mix" in k))},
              str(root / "svd_image_decoder.safetensors"))
    return {**files, "image_decoder": root / "svd_image_decoder.safetensors"}


@pytest.mark.parametrize("name", ["ours", "published"])
def test_single_file_svd_has_the_machine_kind_and_the_commands_that_load_it(cli, sgm_files, name):
    path = sgm_files[name]
    info, row = _info(cli, path), _row(path.parent.parent, path)
    assert (info["kind"], info["detail"]) == (row["kind"], row["detail"]) == ("svd", detect_kind(path)["detail"])
    assert info["run_with"] == f"video img2vid --model {path}; video edit TASK --model {path}", info
    if name == "published":
        assert "14 or 25 frames: the file does not say; read as SVD unless --model-config svd_xt" in info["detail"] and info["frames"] == "14 or 25"


def test_single_file_image_decoder_variant_is_svd_with_its_note_and_no_command(cli, sgm_files):
    info = _info(cli, sgm_files["image_decoder"])
    assert info["kind"] == "svd" and "image-decoder variant" in info["detail"] and "run_with" not in info, info
