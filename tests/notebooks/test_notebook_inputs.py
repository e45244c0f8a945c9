"""Where the notebooks' inputs come from: what the user set, else the default the commands
write in the repository root, else a demo (``eval.inputs``, ``eval.dataset``, ``eval.runner``)."""

from pathlib import Path

import numpy as np
import pytest

from eval.dataset import DEFAULT_MANIFEST, find_manifest
from eval.inputs import EvalError, in_repo, repo_root, user_cache_dir
from eval.runner import DEFAULT_GENERATED, DEMO_PAIR, find_eval_inputs


@pytest.fixture
def checkout(tmp_path, monkeypatch) -> Path:
    """An empty repository root, the working folder elsewhere, nothing set."""
    root = tmp_path / "checkout"
    root.mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    monkeypatch.setenv("VIDEO_REPO_ROOT", str(root))
    return root


def test_default_generated_is_what_quickstart_writes():
    """The notebook's default is the last stage's samples of `video quickstart` (its config's
    out folder, the trainer's samples/): renaming either breaks this."""
    from video.config import CONFIG_DIR, load_config
    from video.training.quickstart import QuickstartConfig

    cfg = load_config(QuickstartConfig, CONFIG_DIR / "train" / "quickstart.yaml")
    assert cfg.out == QuickstartConfig().out
    assert Path(DEFAULT_GENERATED) == Path(cfg.out) / cfg.stages[-1].config / "samples"
    assert DEFAULT_MANIFEST == "curated/manifest.parquet"


def test_a_notebook_in_another_checkout_reads_that_checkout(tmp_path, monkeypatch):
    """One environment, two checkouts: the kernel's folder (a checkout's notebooks/ or root) picks
    the checkout, not where the package was imported from; elsewhere, the import's checkout."""
    monkeypatch.delenv("VIDEO_REPO_ROOT", raising=False)
    other = tmp_path / "clone"
    (other / "notebooks").mkdir(parents=True)
    (other / "pyproject.toml").write_text('[project]\nname = "video-pipeline"\n')
    for cwd in (other / "notebooks", other):
        monkeypatch.chdir(cwd)
        assert repo_root() == other and in_repo("eval_out") == other / "eval_out"
    monkeypatch.chdir(tmp_path)
    assert (repo_root() / "eval" / "inputs.py").is_file()


def test_root_and_cache_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("VIDEO_REPO_ROOT", raising=False)
    assert (repo_root() / "eval" / "inputs.py").is_file()
    monkeypatch.setenv("VIDEO_REPO_ROOT", str(tmp_path))
    assert repo_root() == tmp_path
    assert in_repo("eval_out") == tmp_path / "eval_out" and in_repo(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert user_cache_dir() == tmp_path / "c" / "video-pipeline"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert user_cache_dir() == Path.home() / ".cache" / "video-pipeline"


def test_quickstart_samples_are_used_when_there(checkout):
    from video.media import write_video

    write_video(np.zeros((2, 16, 16, 3), np.uint8), checkout / DEFAULT_GENERATED / "s.mp4", fps=8)
    said = []
    assert find_eval_inputs(log=said.append) == (checkout / DEFAULT_GENERATED, None, None) and not said


def test_demo_pair_when_nothing_is_there(checkout):
    from video.training.data import sample_clips_folder

    said = []
    gen, ref, prompts = find_eval_inputs(log=said.append)
    assert (gen, ref, prompts) == (sample_clips_folder() / DEMO_PAIR[0], sample_clips_folder() / DEMO_PAIR[1], None)
    assert len(said) == 1 and said[0].startswith(f"{DEFAULT_GENERATED} not found: using a demo")


def test_what_the_user_set_is_never_replaced_by_the_demo(checkout, tmp_path):
    (tmp_path / "ref.mp4").write_bytes(b"")
    with pytest.raises(EvalError, match=r"^nowhere not found \(in .*\): run `video quickstart`"):
        find_eval_inputs("nowhere")
    with pytest.raises(EvalError, match=rf"^{DEFAULT_GENERATED} not found"):  # a reference alone: no demo
        find_eval_inputs(None, tmp_path / "ref.mp4")
    with pytest.raises(EvalError, match=r"^ref/ not found .*EVAL_REFERENCE"):
        find_eval_inputs(None, "ref/")
    with pytest.raises(EvalError) as e:
        find_manifest("nowhere/manifest.parquet", log=pytest.fail)
    assert "\n" not in str(e.value) and str(e.value).startswith(f"nowhere/manifest.parquet not found (in {Path.cwd()} or {checkout}): ")
