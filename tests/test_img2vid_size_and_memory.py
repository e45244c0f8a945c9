"""``video img2vid`` at sizes and lengths a machine cannot render: a size the output format
cannot hold is refused before the weights load (or, where only the model's rounding decides,
before the render), and running out of memory mid-render is one ``error:`` line naming the
size and the settings that lower memory, exit 2, as any other error. It used to run for minutes
and end in a 30-line traceback (MemoryError from PIL's resize, torch's "DefaultCPUAllocator:
can't allocate memory") or an out-of-memory kill."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from video.runtime.render_cli import SIZE_STEP_BOUND, least_side, memory_line, out_of_memory

NOTE = "random weights"  # printed right after the weights load


@pytest.fixture
def no_load(monkeypatch):
    """Loading the weights fails the test: a check that came too late must not go on to render
    100000 x 100000 (30 GB for the resized image alone)."""
    from video.runtime.img2vid import ImageToVideo

    monkeypatch.setattr(ImageToVideo, "from_pretrained", classmethod(lambda *a, **k: pytest.fail("weights loaded")))


@pytest.fixture
def no_render(monkeypatch):
    """Rendering fails the test (a 16400-pixel-high clip is seconds of work and memory)."""
    from video.runtime.img2vid import ImageToVideo

    monkeypatch.setattr(ImageToVideo, "__call__", lambda *a, **k: pytest.fail("rendered"))


def test_a_size_no_rounding_brings_under_h264s_limit_is_refused_before_the_weights_load(cli, tmp_path, no_load):
    r = cli("img2vid", "--model", "tiny", "--frames", "2", "--steps", "1", "--height", "100000", "--width",
            "100000", "--output", tmp_path / "o.mp4")
    assert r.returncode == 2 and NOTE not in r.stderr, r.stderr
    assert r.errors == ["error: cannot write o.mp4: H.264 (mp4) frames are at most 16384 pixels on a side, got "
                        "100000x100000 (.webm takes up to 65536, a folder of PNGs any size)"]
    r = cli("img2vid", "--model", "tiny", "--height", "40000", "--output", tmp_path / "o.mp4")  # width: the model's
    assert r.returncode == 2 and NOTE not in r.stderr and "got --height 40000 (" in r.errors[0], r.stderr


def test_a_size_the_model_rounds_is_checked_exactly_before_the_render(cli, tmp_path, no_render):
    """tiny's step is 16: 16400 stays 16400 (refused once the step is known, before any frame is
    rendered); 16390 would round to 16384, so nothing before the load may refuse it."""
    r = cli("img2vid", "--model", "tiny", "--frames", "2", "--steps", "1", "--height", "16400", "--width", "64",
            "--output", tmp_path / "o.mp4")
    assert r.returncode == 2 and NOTE in r.stderr, r.stderr
    assert r.errors[0].endswith("frames are at most 16384 pixels on a side, got 64x16400 (.webm takes up to 65536, "
                                "a folder of PNGs any size)")
    from video.runtime.render_cli import check_size_before_load

    check_size_before_load(str(tmp_path / "o.mp4"), 16390, 64)  # no refusal


def test_least_side_is_at_most_what_any_size_step_renders():
    """The pipeline renders max(m, side // m * m) for the model's step m, a power of two."""
    for side in (1, 15, 16383, 16384, 16390, 32767, 32768, 40000, 100000):
        for m in (2**k for k in range(1, 15)):
            assert least_side(side) <= max(m, side // m * m), (side, m)
    assert least_side(100000) > 16384 and least_side(32767) <= 16384 == SIZE_STEP_BOUND


def test_what_counts_as_out_of_memory():
    import torch

    assert out_of_memory(MemoryError())
    assert out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert out_of_memory(RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't "
                                      "allocate memory: you tried to allocate 402653184 bytes."))
    assert not out_of_memory(RuntimeError("shape mismatch")) and not out_of_memory(ValueError("out of memory"))
    assert "--offload model" in memory_line(2, 64, 64, "cuda:0")
    assert "--offload" not in memory_line(2, 64, 64, "cpu")  # it does nothing on a CPU


# A real allocation failure, cheaply: the child caps its address space (RLIMIT_AS) 1.5 GiB above
# what the imports left mapped, then runs the command in-process; it names on stderr each error
# the real out_of_memory is asked about, to show which failure the run met.
CHILD = textwrap.dedent("""
    import resource, sys
    import torch  # noqa: F401 (mapped before the cap)
    import video.runtime.render_cli as rc
    from video.cli import main
    asked = rc.out_of_memory
    def naming(e):
        print(f"asked: {type(e).__name__}: {e}", file=sys.stderr)
        return asked(e)
    rc.out_of_memory = naming
    vm = next(int(ln.split()[1]) * 1024 for ln in open("/proc/self/status") if ln.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + 3 * 2**29, vm + 3 * 2**29))
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="caps the address space through /proc")
@pytest.mark.parametrize("flags, what, failure", [
    (["--height", "100000", "--width", "100000", "--output", "pngs"], "2 frames at 100000x100000",
     "NotEnoughMemory"),  # the CPU estimate (img2vid check_room), before PIL's resize of the image
    (["--height", "2048", "--width", "4096", "--output", "o.mp4"], "2 frames at 4096x2048",
     "DefaultCPUAllocator: can't allocate memory"),  # torch's CPU allocator, a RuntimeError
])
def test_out_of_memory_is_one_line(tmp_path, flags, what, failure):
    argv = ["img2vid", "--model", "tiny", "--frames", "2", "--steps", "1", *flags]
    p = subprocess.run([sys.executable, "-c", CHILD, *argv], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300)
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    said = r" \(about [\d.]+ GiB needed, [\d.]+ GiB available\)" if failure == "NotEnoughMemory" else ""
    assert len(errors) == 1 and re.fullmatch(
        re.escape(f"error: out of memory rendering {what} (width x height) on cpu") + said + re.escape(
            "; to use less: fewer --frames, a smaller --width / --height, a smaller --decode-chunk (1: the least "
            "in the VAE decode)"), errors[0]), errors
    assert failure in p.stderr.split("asked: ")[-1]  # the failure this test means to cause



def test_txt2vid_out_of_memory_is_one_line_naming_its_own_knobs(tmp_path, monkeypatch, capsys):
    """txt2vid ended in the allocator's traceback too; its line names its own settings (no
    --decode-chunk: it has none; not --vae-tiling for tiny, whose image VAE has no tiles: a
    video VAE's model names it, tests/runtime/test_txt2vid_cli_before_render.py). The machine
    running out is given here (a real failure at a size the tiny DiT cannot fit takes minutes
    of denoising first)."""
    from video.cli import main
    from video.runtime.txt2vid import TextToVideo

    def no_room(self, *a, **k):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 6497501184 bytes.")

    monkeypatch.setattr(TextToVideo, "__call__", no_room)
    code = main(["txt2vid", "--model", "tiny", "--prompt", "a kite", "--frames", "5", "--height", "2048", "--width",
                 "4096", "--output", str(tmp_path / "o.mp4")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert [ln for ln in err.splitlines() if ln.startswith("error:")] == [
        "error: out of memory rendering 5 frames at 4096x2048 (width x height) on cpu; to use less: fewer --frames, "
        "a smaller --width / --height"]
