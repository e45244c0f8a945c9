"""The speed switches' inputs: a fast-mode threshold or memory budget that is NaN, infinite or
negative is one line (NaN compared False both ways and quietly ran the exact path; inf skipped
nearly every UNet call), in the API and before the CLI loads weights; a damaged compile cache is
a warning and a cold start, not a reported warm start; a cache path that cannot be a folder is
the compile call's one-line ValueError."""
import math
import warnings

import pytest
import torch

from video.runtime.img2vid import ImageToVideo, InputError, check_speed
from video.runtime.speed import CompileCache, prepare_compile


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0])
def test_bad_threshold_or_budget_is_one_line(value):
    for kw in ({"cache_threshold": value}, {"memory_budget_gib": value}):
        with pytest.raises(InputError, match="finite number >= 0"):
            check_speed(kw.get("cache_threshold"), kw.get("memory_budget_gib"))
    pipe = ImageToVideo.from_pretrained("tiny")
    with pytest.raises(InputError, match="cache_threshold"):
        pipe(torch.rand(3, 64, 64), num_frames=2, num_inference_steps=1, cache_threshold=value)
    with pytest.raises(InputError, match="memory_budget_gib"):
        ImageToVideo(pipe.models, memory_budget_gib=value)
    check_speed(0.0, 0.0)
    check_speed(None, None)


def test_cli_refuses_a_nan_threshold_before_loading(tmp_path, capsys):
    from video.cli import main

    code = main(["img2vid", "--model", str(tmp_path / "not-there"), "--cache-threshold", "nan",
                 "--output", str(tmp_path / "o.mp4")])
    err = capsys.readouterr().err
    assert code == 2 and "cache_threshold must be a finite number" in err and "not found" not in err


@pytest.mark.skipif(not hasattr(torch.compiler, "load_cache_artifacts"), reason="this torch has no mega-cache")
def test_a_damaged_compile_cache_is_a_cold_start(tmp_path):
    cache = CompileCache(tmp_path)
    cache.artifacts.write_bytes(b"not a cache")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert cache.load() is False
    assert not cache.loaded and any("compiling afresh" in str(w.message) for w in seen)


def test_a_cache_path_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    pipe = ImageToVideo.from_pretrained("tiny")
    with pytest.raises(ValueError, match="cannot use it as a folder"):
        prepare_compile(pipe, "default", tmp_path / "file")


def test_pipelines_and_modes_keep_their_own_compile_cache_file(tmp_path):
    """A save holds only what its process compiled or used: with one file per folder, a txt2vid
    warm start was overwritten by the next img2vid run (and the other way round)."""
    from video.runtime.txt2vid import TextToVideo

    paths = []
    for pipe, mode in ((ImageToVideo.from_pretrained("tiny"), "default"),
                       (TextToVideo.from_pretrained("tiny"), "default"),
                       (ImageToVideo.from_pretrained("tiny"), "max-autotune-no-cudagraphs")):
        prepare_compile(pipe, mode, tmp_path)
        paths.append(pipe.compile_cache.artifacts)
    assert len(set(paths)) == 3 and all(p.parent == tmp_path for p in paths)
    assert all(f"torch{torch.__version__}" in p.name and p.name.endswith("-cpu.bin") for p in paths)
    assert "ImageToVideo" in paths[0].name and "TextToVideo" in paths[1].name
