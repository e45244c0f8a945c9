"""A model of the user's named like a published built-in name (``svd``, ``svd_xt``: Stability's
own file names) is the one ``--model NAME`` and ``video info NAME`` use, with a note, as the
ComfyUI loader does; ``builtin:NAME`` is the built-in; ``tiny`` (a smoke-test name nobody
publishes) is always the built-in (tests/test_builtin_model_names_rule.py). ``video info`` takes models-folder
names (and ``--models-dir`` / ``--extra-model-paths-config``) as ``--model`` does; ``.sft``
files (ComfyUI's safetensors suffix) load. The full-size networks are never built here: their
names are checked by resolution and by ``video info`` (counted on the meta device)."""

from __future__ import annotations

import json
import shutil

import pytest

from video.cli import Img2VidConfig, _resolve_names
from video.models.svd import FULL_SIZE_NAMES, TINY_NAMES


@pytest.fixture(scope="module")
def sgm_file(tmp_path_factory, tiny_models):
    from video.models.sgm import save_sgm_checkpoint

    return save_sgm_checkpoint(tiny_models, tmp_path_factory.mktemp("store") / "svd_tiny.safetensors")


@pytest.fixture
def models(tmp_path, sgm_file):
    """checkpoints/ with a user's tiny.safetensors and svd_xt.safetensors (real tiny SVD files)."""
    ck = tmp_path / "models" / "checkpoints"
    ck.mkdir(parents=True)
    for name in ("tiny.safetensors", "svd_xt.safetensors"):
        shutil.copy(sgm_file, ck / name)
    return tmp_path / "models"


def _resolved(value: str, models, capsys) -> tuple[str, str]:
    cfg = Img2VidConfig(model=value, models_dir=str(models))
    _resolve_names(cfg, keep=tuple(TINY_NAMES), unlisted=FULL_SIZE_NAMES)
    return cfg.model, capsys.readouterr().err


def test_svd_xt_in_the_models_folder_is_used_not_the_random_network(models, capsys):
    mine = models / "checkpoints" / "svd_xt.safetensors"
    model, err = _resolved("svd_xt", models, capsys)
    assert model == str(mine)
    assert err.count("\n") == 1 and err.startswith(f"note: 'svd_xt' is {mine} from the models folder")
    assert "built-in random-weight 'svd_xt'" in err and "--model builtin:svd_xt" in err, err
    assert _resolved("builtin:svd_xt", models, capsys) == ("svd_xt", "")
    assert _resolved("svd", models, capsys) == ("svd", "")  # none of the user's: the built-in, as before


def test_a_builtin_prefix_with_an_unknown_name_is_refused(models, cli, tmp_path):
    p = cli("img2vid", "--model", "builtin:svd_xxl", "--models-dir", models, "--output", tmp_path / "o.mp4")
    assert p.returncode == 2 and len(p.errors) == 1, p.stderr
    assert "no built-in model 'svd_xxl'" in p.errors[0] and "svd_xt" in p.errors[0], p.errors


def test_img2vid_renders_the_users_svd_xt_and_never_the_users_tiny(models, cli, tmp_path, capsys):
    """``svd_xt`` is the user's svd_xt.safetensors (a tiny SVD here), rendered; ``tiny`` is the
    built-in even beside the user's tiny.safetensors (resolution only: the render is the same)."""
    p = cli("img2vid", "--model", "svd_xt", "--models-dir", models, "--frames", "1", "--steps", "1",
            "--output", tmp_path / "o.png")
    assert p.returncode == 0, p.stderr
    assert f"note: 'svd_xt' is {models / 'checkpoints' / 'svd_xt.safetensors'} from the models folder" in p.stderr
    assert "random weights" not in p.stderr and (tmp_path / "o.png").is_file(), p.stderr
    assert _resolved("tiny", models, capsys) == ("tiny", "")


def test_info_describes_the_users_svd_xt_and_builtin_the_config(models, cli):
    p = cli("info", "svd_xt", "--models-dir", models, "--json")
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    assert info["model"] == str(models / "checkpoints" / "svd_xt.safetensors") and info["frames"] == 8, info
    assert "video info builtin:svd_xt" in p.stderr, p.stderr
    p = cli("info", "builtin:svd_xt", "--models-dir", models, "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["layout"] == "random weights (config)", p.stderr


def test_info_takes_models_folder_names(tmp_path, sgm_file, cli):
    models = tmp_path / "models"
    (models / "checkpoints" / "vidéo").mkdir(parents=True)
    shutil.copy(sgm_file, models / "checkpoints" / "vidéo" / "ü-svd.safetensors")
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(sgm_file, other / "far.safetensors")
    extra = tmp_path / "extra.yaml"
    extra.write_text(f"mine:\n    checkpoints: {other}\n")
    p = cli("info", "ü-svd", "--models-dir", models, "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["model"].endswith("vidéo/ü-svd.safetensors"), p.stderr
    p = cli("info", "far", "--models-dir", models, "--extra-model-paths-config", extra, "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["model"] == str(other / "far.safetensors"), p.stderr
    p = cli("info", "nope", "--models-dir", models)
    assert p.returncode == 2 and len(p.errors) == 1, p.stderr
    assert "ü-svd" in p.errors[0] and "t2v_tiny" in p.errors[0], p.errors  # the folder's names and the built-ins


def test_an_sft_single_file_loads_and_is_described(tmp_path, sgm_file, cli):
    from video.models.svd import detect_layout, load_svd

    sft = tmp_path / "svd.sft"
    shutil.copy(sgm_file, sft)
    assert detect_layout(sft) == "single_file"
    assert load_svd(sft).layout == "single_file"
    p = cli("info", sft, "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["layout"] == "single file (sgm keys)", p.stderr
