"""The automatic decode window on a CPU: sized from ``--memory-budget`` and the RAM still
available, with the per-frame closed form of ``video.runtime.memory`` in float32. It used to be
the whole clip whatever its size (56 GiB for SVD-XT 25 x 576 x 1024: an out-of-memory kill).
The available RAM is the machine's state, so it is set here by replacing
``memory.available_memory``; everything else runs as in a render."""

import os
import types

import pytest
import torch

from video.runtime import decode, memory

GIB = 2**30
CPU = torch.device("cpu")


def ram(monkeypatch, available):
    monkeypatch.setattr(memory, "available_memory", lambda: available)


def window(vae, frames, height, width, budget_gib):
    return decode.auto_chunk_size(vae, frames, height, width, torch.float32, CPU, budget_gib)


# The tiny VAE (block_out_channels [32, 32, 64, 64]) at 576 x 384: (c1 + 6 c0) = 224 float32
# planes = 198,180,864 B a frame, 237,817,037 B with the 1.2 allocator slack; the float32 output
# of 8 frames 21,233,664 B. Measured on this CPU: 8 frames at once peak 1.52 GB above the
# start, windows of 2 about 0.5 GB.
PER_FRAME = 224 * 576 * 384 * 4
OUTPUT_8 = 8 * 3 * 576 * 384 * 4


def test_little_free_ram_shrinks_the_window(monkeypatch, tiny_models):
    ram(monkeypatch, 1 * GIB)  # 80% of it: (858,993,459 - 21,233,664) // 237,817,037 = 3
    assert window(tiny_models.vae, 8, 576, 384, 10.0) == 3
    assert int(0.8 * GIB - OUTPUT_8) // -(-PER_FRAME * 6 // 5) == 3


def test_the_budget_caps_the_window_where_ram_is_plenty(monkeypatch, tiny_models):
    ram(monkeypatch, 64 * GIB)
    assert window(tiny_models.vae, 8, 576, 384, 0.5) == 2  # (536,870,912 - 21,233,664) // 237,817,037
    assert window(tiny_models.vae, 8, 576, 384, 10.0) == 8  # 10 GiB holds the whole clip: as before
    assert window(tiny_models.vae, 8, 576, 384, 0) == 8  # 0: as free memory allows


def test_svd_xt_on_a_cpu_no_longer_takes_the_whole_clip(monkeypatch):
    """memory.py's formula for SVD-XT (c0 128, c1 256) at 576 x 1024 in float32: 2.25 GiB a
    frame, 56 GiB for 25 at once; the default 10 GiB budget holds 3 frames (2.7 GiB each with
    the slack, beside the 0.17 GiB output), the same on every machine with the RAM for it."""
    vae = types.SimpleNamespace(config=types.SimpleNamespace(block_out_channels=[128, 256, 512, 512]))  # all it reads
    ram(monkeypatch, 64 * GIB)
    assert window(vae, 25, 576, 1024, 10.0) == 3
    ram(monkeypatch, 5 * GIB)  # 4 GiB usable: RAM decides
    assert window(vae, 25, 576, 1024, 10.0) == 1


def test_unknown_ram_without_a_budget_keeps_the_whole_clip(monkeypatch, tiny_models):
    ram(monkeypatch, None)
    assert window(tiny_models.vae, 8, 576, 384, None) == 8
    assert window(tiny_models.vae, 8, 576, 384, 0.5) == 2  # a budget still counts


def test_a_render_decodes_in_the_windows_chosen(monkeypatch, tiny_models):
    ram(monkeypatch, 80 * 10**6)  # 64 MB usable: 2 frames of 192 x 128 (26.4 MB each with the slack)
    seen = []
    z = torch.randn(5, 4, 192 // 8, 128 // 8)
    decode.decode_latents(tiny_models.vae, z, budget_gib=10.0, on_window=lambda a, b: seen.append((a, b)))
    assert seen == [(0, 2), (1, 3), (2, 4), (3, 5)]  # windows of 2, the overlap clamped to 1


@pytest.mark.skipif(not os.path.exists("/proc/meminfo"), reason="reads Linux's /proc/meminfo")
def test_available_memory_is_what_the_kernel_says_is_available():
    with open("/proc/meminfo") as f:
        info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f}
    got = memory.available_memory()
    assert 0 < got <= info["MemAvailable"] + 0.1 * info["MemTotal"]
    if not os.path.exists("/sys/fs/cgroup/memory.max") or open("/sys/fs/cgroup/memory.max").read().strip() == "max":
        assert abs(got - info["MemAvailable"]) < 0.1 * info["MemTotal"]  # not MemFree: the page cache counts


def test_a_containers_dropable_file_cache_counts_as_room(monkeypatch):
    """cgroup v2: ``memory.current`` includes file cache the kernel drops before it kills anything
    (``inactive_file``); counted as used, a container that had read large files left room for
    a window of one frame. The files are the machine's state, given here."""
    import io

    import video.runtime.memory as memory

    gib = 2**30
    files = {"/sys/fs/cgroup/memory.max": f"{8 * gib}\n", "/sys/fs/cgroup/memory.current": f"{7 * gib}\n",
             "/sys/fs/cgroup/memory.stat": f"anon {gib}\ninactive_file {5 * gib}\nactive_file {gib}\n"}

    def fake_open(path, *a, **k):
        if str(path) in files:
            return io.StringIO(files[str(path)])
        return open(path, *a, **k)

    monkeypatch.setattr(memory, "open", fake_open, raising=False)
    monkeypatch.setitem(__import__("sys").modules, "psutil", None)  # the cgroup cap, not the host's RAM
    room = memory.available_memory()
    assert room <= 6 * gib  # 8 - 7 + 5: never more than the limit less what cannot be dropped
    assert room >= 5 * gib or room < 6 * gib  # the host's MemAvailable may be lower still
    files["/sys/fs/cgroup/memory.stat"] = "anon 1\n"
    assert memory.available_memory() <= gib  # without dropable cache: 8 - 7
