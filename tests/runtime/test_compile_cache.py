"""Warm start: artifacts saved by one process make a later process skip inductor's compile.

Each process gets its own empty inductor cache folder, so a cache hit in the second can only
come from the artifacts file. Compiles a three-op function, not the UNet (minutes on a CPU)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from video.runtime.speed import CompileCache, check_compile_mode

SCRIPT = textwrap.dedent("""
    import json, sys, torch
    from torch._dynamo.utils import counters
    from video.runtime.speed import CompileCache
    # argv: FOLDER KEY pairs; the first pair is loaded, every pair is saved
    caches = [CompileCache(folder, key=key) for folder, key in zip(sys.argv[1::2], sys.argv[2::2])]
    loaded = caches[0].load()
    f = torch.compile(lambda x: torch.nn.functional.gelu(x * 2.0 + 1.0).sum(-1), dynamic=False)
    y = f(torch.arange(12.0).reshape(3, 4))
    saved = [str(cache.save()) for cache in caches]
    print(json.dumps({"loaded": loaded, "saved": saved, "y": y.tolist(),
                      "hit": counters["inductor"]["fxgraph_cache_hit"],
                      "miss": counters["inductor"]["fxgraph_cache_miss"]}))
""")


def run_process(inductor_dir, *caches):
    """One process with its own empty inductor cache: loads ``caches[0]``, compiles, saves every
    ``(folder, key)`` of ``caches``. ``TORCHINDUCTOR_VEC_ISA_OK=1`` takes the CPU's SIMD flags
    as they are instead of compiling and running a probe program per flag in the empty cache
    (about 3.5 s a process on two cores; the same choice wherever the probe passes)."""
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(inductor_dir), "PYTHONPATH": os.getcwd(),
           "TORCHINDUCTOR_VEC_ISA_OK": "1"}
    argv = [str(a) for folder, key in caches for a in (folder, key)]
    out = subprocess.run([sys.executable, "-c", SCRIPT, *argv], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """A fresh process and its compile are most of these tests' time (about 10 s each on two
    cores), so both tests share two processes, where they started three. The first compiles from
    nothing and saves twice: unkeyed into ``plain`` (the round trip's file) and keyed into
    ``keyed``, beside an unkeyed file of before keys. The second loads ``plain`` only."""
    tmp = tmp_path_factory.mktemp("compile_cache")
    legacy = tmp / "keyed" / "mega_cache.bin"
    legacy.parent.mkdir()
    legacy.write_bytes(b"old artifacts")
    first = run_process(tmp / "inductor1", (tmp / "plain", ""), (tmp / "keyed", "ImageToVideo-default"))
    second = run_process(tmp / "inductor2", (tmp / "plain", ""))
    return tmp, first, second


@pytest.mark.skipif(not CompileCache("x").mega, reason="torch without save_cache_artifacts")
def test_artifacts_round_trip_across_processes(two_processes):
    tmp, first, second = two_processes
    assert first["loaded"] is False and first["miss"] >= 1 and first["hit"] == 0
    assert (tmp / "plain" / "mega_cache.bin").stat().st_size > 0
    assert second["loaded"] is True and second["hit"] >= 1 and second["miss"] == 0
    assert second["y"] == first["y"]


@pytest.mark.skipif(not CompileCache("x").mega, reason="torch without save_cache_artifacts")
def test_a_keyed_save_removes_the_unkeyed_file_of_before_keys(two_processes):
    """Before keys every pipeline shared ``mega_cache.bin``; no load reads it any more, so the
    first keyed save in its folder removes it rather than leave a dead file of compiled code."""
    tmp, first, _ = two_processes
    saved = first["saved"][1]
    assert saved.endswith("mega_cache-ImageToVideo-default.bin") and os.path.getsize(saved) > 0
    assert not (tmp / "keyed" / "mega_cache.bin").exists()


def test_cudagraph_modes_need_cuda():
    check_compile_mode("default", torch.device("cpu"))
    check_compile_mode("max-autotune-no-cudagraphs", torch.device("cpu"))
    with pytest.raises(ValueError, match="CUDA"):
        check_compile_mode("reduce-overhead", torch.device("cpu"))
    with pytest.raises(ValueError, match="unknown"):
        check_compile_mode("fast", torch.device("cpu"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")
def test_cudagraph_compiled_tiny_pipeline_matches_eager(tiny_models, photo):
    from video.runtime.img2vid import ImageToVideo

    models = tiny_models.to("cuda")
    try:
        pipe = ImageToVideo(models, device="cuda")
        kw = dict(num_frames=2, num_inference_steps=3, height=64, width=96, decode_chunk_size=2)
        eager = pipe(photo, generator=torch.Generator().manual_seed(0), **kw)
        pipe.compile(mode="reduce-overhead")
        graphed = pipe(photo, generator=torch.Generator().manual_seed(0), **kw)
        assert abs(graphed.astype(int) - eager.astype(int)).max() <= 2
    finally:
        torch._dynamo.reset()
        for b in [*models.unet.modules(), *models.vae.modules()]:
            b._compiled_call_impl = None
        models.to("cpu")
