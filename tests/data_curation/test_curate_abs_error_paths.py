"""Error rows name a source as given, also where the reader opened it by its absolute path,
and a clip temporary is cleaned only once its writer has stopped."""
import os
import subprocess
import sys

from data_curation.engine import stale_clips
from data_curation.manifest import rename_source, source_key


def test_rename_source_takes_the_absolute_form_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    absolute = str(tmp_path / "src" / "x.mp4")
    text = f"PermissionError: [Errno 13] Permission denied: '{absolute}'"
    # the summary's form: the path taken out, so 1,000 such files count as one kind of error
    assert rename_source(text, "src/x.mp4", None) == "PermissionError: [Errno 13] Permission denied: '<source>'"
    assert rename_source(f"MediaError: {absolute}: zero frames", "src/x.mp4", "in/x.mp4") == (
        "MediaError: in/x.mp4: zero frames")
    # another file's absolute path is left as it is
    other = str(tmp_path / "src" / "y.mp4")
    assert rename_source(f"'{other}'", "src/x.mp4", None) == f"'{other}'"


def test_stale_clips_keeps_a_running_writers_temporary(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    key = source_key("a.mp4")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    running = clips / f".{key}_000000_000010.{os.getpid()}.partial.mp4"
    stopped = clips / f".{key}_000000_000010.{dead}.partial.mp4"
    old_form = clips / f".{key}_000010_000020.partial.mp4"
    for f in (running, stopped, old_form):
        f.write_bytes(b"x")
    assert stale_clips(clips, ["a.mp4"], set()) == sorted([stopped, old_form])
