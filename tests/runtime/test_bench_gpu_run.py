"""bench/gpu_run.sh: a capped target that ignores the TERM at its cap is killed BENCH_KILL_AFTER
seconds later (``timeout -k``), so a process stuck in teardown cannot hold the device call past
its limit. Run on a copy of the script with stand-ins for ``python3`` and ``nvidia-smi`` (there
is no GPU here): the stand-in benchmark ignores SIGTERM and sleeps a minute."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


GPU_SMI = "#!/bin/sh\necho name\necho stand-in\n"
TARGETS = ("img2vid", "img2vid_speed", "img2vid_compile", "train", "txt2vid", "txt2vid_speed", "dit_levers",
           "compile_units")


def _stand_in_repo(tmp_path, python3: str, nvidia_smi: str = GPU_SMI) -> tuple:
    """A copy of gpu_run.sh with its wheels as empty files, and stand-ins for ``python3`` (the
    shell script ``python3``) and ``nvidia-smi`` first on PATH: (the copy's root, the PATH)."""
    work = tmp_path / "repo"
    (work / "bench").mkdir(parents=True)
    shutil.copy(BENCH / "gpu_run.sh", work / "bench" / "gpu_run.sh")
    (work / ".whl").mkdir()
    for name in ("diffusers-0-py3-none-any.whl", "omegaconf-0-py3-none-any.whl"):
        (work / ".whl" / name).write_bytes(b"")
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "python3").write_text(python3)
    (shims / "nvidia-smi").write_text(nvidia_smi)
    for f in shims.iterdir():
        f.chmod(0o755)
    return work, f"{shims}:{os.environ['PATH']}"


def test_capped_target_ignoring_term_is_killed(tmp_path):
    stuck = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('started', flush=True); " \
            "time.sleep(60)"
    work, path = _stand_in_repo(  # pip install: nothing to do; a benchmark: stuck after the TERM
        tmp_path, f'#!/bin/sh\n[ "$1" = -m ] && exit 0\nexec {sys.executable} -c "{stuck}"\n')
    env = {**os.environ, "PATH": path, "OUT": str(tmp_path / "out"),
           "TMPDIR": str(tmp_path), "BENCH_TIMEOUT": "1", "BENCH_KILL_AFTER": "1",
           "BENCH_COMPILE_CACHE": str(tmp_path / "cache")}
    t0 = time.monotonic()
    p = subprocess.run(["bash", "bench/gpu_run.sh", "dit_levers"], cwd=work, env=env, capture_output=True,
                       text=True, timeout=40)
    took = time.monotonic() - t0
    assert "started" in p.stdout  # the stand-in ran under the cap
    assert took < 15, f"the stuck benchmark held gpu_run.sh {took:.0f} s"
    assert p.returncode == 137  # pipefail: timeout's SIGKILL (128 + 9) is the target's status
    assert "gpu_run.sh: failed: dit_levers (exit 137)" in p.stderr


def test_a_failed_target_is_not_hidden_by_a_later_one(tmp_path):
    """``gpu_run.sh img2vid txt2vid`` exited with the last target's status: a failed img2vid
    under a good txt2vid was exit 0."""
    work, path = _stand_in_repo(  # pip install: nothing to do; img2vid fails, txt2vid succeeds
        tmp_path, '#!/bin/sh\n[ "$1" = -m ] && exit 0\ncase "$1" in *img2vid*) echo broke; exit 3;; esac\necho fine\n')
    env = {**os.environ, "PATH": path, "OUT": str(tmp_path / "out"),
           "TMPDIR": str(tmp_path), "BENCH_COMPILE_CACHE": str(tmp_path / "cache"), "failed": "stale"}
    p = subprocess.run(["bash", "bench/gpu_run.sh", "img2vid", "txt2vid"], cwd=work, env=env, capture_output=True,
                       text=True, timeout=40)
    assert "broke" in p.stdout and "fine" in p.stdout  # both ran
    assert p.returncode == 3 and "gpu_run.sh: failed: img2vid (exit 3)" in p.stderr, (p.returncode, p.stderr)
    p = subprocess.run(["bash", "bench/gpu_run.sh", "txt2vid"], cwd=work, env=env, capture_output=True, text=True,
                       timeout=40)
    assert p.returncode == 0 and "failed" not in p.stderr, p.stderr  # a stale $failed in the environment is not read


def _logging_python3(log) -> str:
    """A ``python3`` stand-in that appends its arguments (one call a line) to ``log``: which
    benchmark each target would start, at which size, writing which JSON."""
    return f'#!/bin/sh\necho "$*" >> {log}\n'


def _env(tmp_path, path, **extra) -> dict:
    """The stand-in's environment; ``GPU_RUN_ALLOW_CPU`` only where ``extra`` sets it."""
    env = {k: v for k, v in os.environ.items() if k != "GPU_RUN_ALLOW_CPU"}
    return {**env, "PATH": path, "OUT": str(tmp_path / "out"), "TMPDIR": str(tmp_path),
            "BENCH_COMPILE_CACHE": str(tmp_path / "cache"), **extra}


def test_an_unknown_target_is_refused_before_any_target_runs(tmp_path):
    """``gpu_run.sh txt2vid bogus`` ran txt2vid (minutes of a device call) and only then said
    bogus was unknown."""
    log = tmp_path / "calls.log"
    work, path = _stand_in_repo(tmp_path, _logging_python3(log))
    p = subprocess.run(["bash", "bench/gpu_run.sh", "txt2vid", "bogus", "train"], cwd=work, env=_env(tmp_path, path),
                       capture_output=True, text=True, timeout=40)
    assert p.returncode == 2
    assert p.stderr.splitlines() == [f"gpu_run.sh: unknown target 'bogus' ({', '.join(TARGETS)}); nothing run"]
    assert not log.exists()  # no wheel install, no benchmark


@pytest.mark.parametrize("smi", [
    "#!/bin/sh\necho 'nvidia-smi: command not found' >&2\nexit 127\n",  # no driver tools
    "#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'\nexit 9\n",
], ids=["no-nvidia-smi", "no-driver"])
def test_no_gpu_is_refused_in_one_line(tmp_path, smi):
    """Without a GPU the script said "nvidia-smi: command not found" and ran on: img2vid's
    targets started full-size SVD-XT runs on the CPU."""
    log = tmp_path / "calls.log"
    work, path = _stand_in_repo(tmp_path, _logging_python3(log), nvidia_smi=smi)
    p = subprocess.run(["bash", "bench/gpu_run.sh", "img2vid", "train"], cwd=work, env=_env(tmp_path, path),
                       capture_output=True, text=True, timeout=40)
    assert p.returncode == 2
    assert p.stderr.splitlines() == ["gpu_run.sh: no GPU here (nvidia-smi failed); set GPU_RUN_ALLOW_CPU=1 to run "
                                     "the tiny sizes on the CPU"]
    assert p.stdout == "" and not log.exists()


def _bench_calls(log) -> dict:
    """{script: its arguments} of the benchmarks started (the wheel install left out)."""
    calls = [ln.split() for ln in log.read_text().splitlines() if not ln.startswith("-m pip")]
    return {c[0]: c[1:] for c in calls}


def test_cpu_override_runs_tiny_sizes_named_by_what_ran(tmp_path):
    """With ``GPU_RUN_ALLOW_CPU=1`` and no GPU every target runs its tiny size on the CPU and
    names its JSON so (txt2vid's tiny CPU run was written as txt2vid_dit_l.json); no target
    starts the full-size SVD-XT."""
    smi = "#!/bin/sh\nexit 127\n"
    outs = {}
    for target in TARGETS:
        log = tmp_path / f"{target}.log"
        work, path = _stand_in_repo(tmp_path / target, _logging_python3(log), nvidia_smi=smi)
        p = subprocess.run(["bash", "bench/gpu_run.sh", target], cwd=work,
                           env=_env(tmp_path / target, path, GPU_RUN_ALLOW_CPU="1"), capture_output=True, text=True,
                           timeout=40)
        assert p.returncode == 0, p.stderr
        [(script, argv)] = _bench_calls(log).items()
        assert not {"svd_xt", "svd", "l"} & set(argv), (target, argv)  # no card-size model named
        if "img2vid" in script or "compile_units" in script:
            assert argv[:4] == ["--model", "tiny", "--device", "cpu"], (target, argv)
        else:
            assert argv[:2] == ["--size", "tiny"], (target, argv)
        outs[target] = Path(argv[argv.index("--json") + 1]).name
        assert (tmp_path / target / "out" / "gpu.txt").read_text().startswith("no GPU (nvidia-smi failed)")
    assert outs == {"img2vid": "img2vid_tiny_cpu.json", "img2vid_speed": "img2vid_speed_tiny_cpu.json",
                    "img2vid_compile": "img2vid_tiny_cpu_compile.json", "train": "train_tiny_cpu.json",
                    "txt2vid": "txt2vid_tiny_cpu.json", "txt2vid_speed": "txt2vid_speed_tiny_cpu.json",
                    "dit_levers": "dit_levers_tiny_cpu.json", "compile_units": "compile_units_tiny_cpu.json"}


def test_gpu_runs_keep_the_card_sizes_and_names(tmp_path):
    """Where nvidia-smi answers, the targets run the card's sizes under the names the published
    results carry."""
    log = tmp_path / "calls.log"
    work, path = _stand_in_repo(tmp_path, _logging_python3(log))
    p = subprocess.run(["bash", "bench/gpu_run.sh", "img2vid", "train", "txt2vid", "compile_units"], cwd=work,
                       env=_env(tmp_path, path, GPU_RUN_ALLOW_CPU="1"), capture_output=True, text=True, timeout=40)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "out" / "gpu.txt").read_text() == "name\nstand-in\n"
    calls = [ln.split() for ln in log.read_text().splitlines() if not ln.startswith("-m pip")]
    assert [c[0] for c in calls] == ["bench/img2vid.py", "bench/train.py", "bench/txt2vid.py", "bench/compile_units.py"]
    assert calls[0][1:3] == ["--model", "svd_xt"] and calls[3][1:3] == ["--model", "svd_xt"]
    assert "--size" not in calls[1] and "--size" not in calls[2]  # their GPU default: the full size
    assert [Path(c[c.index("--json") + 1]).name for c in calls] == [
        "img2vid_svd_xt.json", "train.json", "txt2vid_dit_l.json", "compile_units_svd_xt.json"]
