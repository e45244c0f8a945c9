"""One rule for a built-in model name, in every command
(:func:`video.models.builtin_names.resolve_model_name_or_builtin`): the smoke-test names (``tiny``,
``tiny-svd``, ``t2v_tiny``) are always the built-in and never read a models folder, so the
default ``--model tiny`` runs whatever ./extra_model_paths.yaml or models/ holds (a broken YAML,
two ``tiny.safetensors``, a ``wan/tiny/`` folder each failed it); ``svd`` / ``svd_xt``
(Stability's own file names) are the user's model of exactly that name at the top of a search
folder, else the built-in, and a lookup that fails other than "not found" is the built-in with
one warning line naming ``builtin:NAME``. The full-size networks are never built here."""

from __future__ import annotations

import warnings

import pytest

from video.models.builtin_names import resolve_model_name_or_builtin

BUILTINS = ("tiny", "tiny-svd", "svd", "svd_xt")
BROKEN_YAML = "foo: [1,2\n"


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")  # resolution looks at names (and that a file is not empty: an empty one is refused)
    return path


@pytest.fixture
def crowded(tmp_path):
    """A models folder where every old trap for ``tiny`` is set: a top-level tiny.safetensors,
    two more in subfolders (ambiguous among themselves), a diffusers-looking wan/tiny/ folder,
    and a broken extra_model_paths.yaml beside it."""
    root = tmp_path / "models"
    _touch(root / "checkpoints" / "tiny.safetensors")
    _touch(root / "checkpoints" / "a" / "tiny-svd.safetensors")
    _touch(root / "checkpoints" / "b" / "tiny-svd.safetensors")
    _touch(root / "diffusion_models" / "wan" / "t2v_tiny" / "config.json")
    (tmp_path / "extra_model_paths.yaml").write_text(BROKEN_YAML)
    return root


def _resolve(value, root, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = resolve_model_name_or_builtin(value, BUILTINS, models_dir=root, **kw)
    return got, [str(w.message) for w in caught]


def test_smoke_test_names_are_never_looked_up(crowded, capsys):
    for name in ("tiny", "tiny-svd"):
        assert _resolve(name, crowded) == (name, [])
    assert resolve_model_name_or_builtin("t2v_tiny", ("t2v_tiny", "svd"), models_dir=crowded) == "t2v_tiny"
    assert capsys.readouterr().err == ""  # no note: nothing was looked up


def test_svd_xt_is_the_users_only_at_the_top_of_a_search_folder(tmp_path, capsys):
    root = tmp_path / "models"
    _touch(root / "checkpoints" / "backup" / "svd_xt.safetensors")
    _touch(root / "diffusion_models" / "wan" / "svd" / "config.json")
    assert _resolve("svd_xt", root) == ("svd_xt", [])  # a copy deep in the tree is not what svd_xt means
    assert _resolve("svd", root) == ("svd", [])
    assert capsys.readouterr().err == ""
    top = _touch(root / "checkpoints" / "svd_xt.safetensors")
    assert _resolve("svd_xt", root) == (str(top), [])
    err = capsys.readouterr().err
    assert err == (f"note: 'svd_xt' is {top} from the models folder, not the built-in random-weight 'svd_xt' "
                   f"(--model builtin:svd_xt for that)\n")
    assert _resolve("builtin:svd_xt", root) == ("svd_xt", [])
    assert _resolve("svd_xt.safetensors", root) == (str(top), [])  # the file's own name, as any other name


def test_a_failed_lookup_of_svd_xt_is_the_builtin_with_one_warning(tmp_path, capsys):
    root = tmp_path / "models"
    one = _touch(root / "checkpoints" / "svd_xt.safetensors")
    two = _touch(root / "diffusion_models" / "svd_xt.safetensors")
    got, said = _resolve("svd_xt", root, use="--refine")
    assert got == "svd_xt" and len(said) == 1 and "\n" not in said[0], said
    assert "'svd_xt' is ambiguous" in said[0] and str(one) in said[0] and str(two) in said[0], said
    assert "--refine builtin:svd_xt" in said[0], said
    two.unlink()
    (tmp_path / "extra_model_paths.yaml").write_text(BROKEN_YAML)
    got, said = _resolve("svd_xt", root)
    assert got == "svd_xt" and len(said) == 1 and "\n" not in said[0], said
    assert "extra_model_paths.yaml: cannot read it" in said[0] and "--model builtin:svd_xt" in said[0], said
    assert capsys.readouterr().err == ""


def test_an_unknown_builtin_is_refused_and_other_names_are_looked_up(crowded):
    from video.models.svd import CheckpointError

    with pytest.raises(CheckpointError, match=r"^builtin:svd_xxl: no built-in model 'svd_xxl'; the built-in names "
                                              r"are tiny, tiny-svd, svd, svd_xt$"):
        resolve_model_name_or_builtin("builtin:svd_xxl", BUILTINS, models_dir=crowded)
    (crowded.parent / "extra_model_paths.yaml").unlink()
    with pytest.raises(CheckpointError, match=r"model 'nope' not found: not a path, a built-in name \(tiny\)"):
        resolve_model_name_or_builtin("nope", BUILTINS, models_dir=crowded, offered=("tiny",))


def test_default_img2vid_renders_beside_a_broken_extra_model_paths_yaml(tmp_path, cli):
    """The default run in a folder holding a broken ./extra_model_paths.yaml and a crowded
    ./models (read by default): before, rc 2 and a five-line YAML error."""
    (tmp_path / "extra_model_paths.yaml").write_text(BROKEN_YAML)
    _touch(tmp_path / "models" / "checkpoints" / "a" / "tiny.safetensors")
    _touch(tmp_path / "models" / "checkpoints" / "b" / "tiny.safetensors")
    p = cli("img2vid", "--frames", "1", "--steps", "1", "--output", "o.png", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "note: 'tiny' has random weights" in p.stderr and (tmp_path / "o.png").is_file(), p.stderr
    assert "warning" not in p.stderr, p.stderr


def test_txt2vid_and_info_read_tiny_as_the_builtin_whatever_models_holds(tmp_path, cli):
    from video.cli import Txt2VidConfig, _resolve_names

    (tmp_path / "extra_model_paths.yaml").write_text(BROKEN_YAML)
    _touch(tmp_path / "models" / "diffusion_models" / "wan" / "tiny" / "config.json")
    cfg = Txt2VidConfig(models_dir=str(tmp_path / "models"))
    _resolve_names(cfg, keep=("tiny",))
    assert cfg.model == "tiny"
    p = cli("info", "t2v_tiny", "--json", cwd=tmp_path)
    assert p.returncode == 0 and '"random weights (config)"' in p.stdout and p.stderr == "", p.stderr


def test_a_broken_yaml_is_one_line_for_a_name_that_is_no_builtin(tmp_path, cli):
    (tmp_path / "extra_model_paths.yaml").write_text(BROKEN_YAML)
    p = cli("img2vid", "--model", "mine", "--output", "o.png", cwd=tmp_path)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert p.errors[0].endswith("extra_model_paths.yaml: cannot read it as ComfyUI's extra_model_paths.yaml "
                                "(expected ',' or ']', but got '<stream end>' at line 2, column 1)"), p.errors

