"""The README's main command installs only the ``train`` extra: the quickstart's imports must
not need what only the ``curate``/``eval`` extras bring (pyarrow, pandas, duckdb, ray)."""

import subprocess
import sys
import textwrap


def test_the_trainer_imports_without_the_curate_and_eval_extras():
    code = textwrap.dedent("""
        import sys
        for name in ("pyarrow", "pandas", "duckdb", "ray"):
            sys.modules[name] = None  # importing it now raises ImportError, as if not installed
        import video.training.quickstart, video.training.trainer, video.training.data, video.cli  # noqa: E401
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-1500:]
