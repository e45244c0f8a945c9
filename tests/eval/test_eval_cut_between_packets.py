"""A video cut exactly between two packets decodes without an error, only shorter: ``video
eval`` says so in a note (one cut inside a packet keeps the frames before the damage:
test_eval_partly_decoded_and_notes.py; one where no frame decodes is skipped as unreadable:
test_eval_unreadable_progress_summary.py)."""

import subprocess
import warnings

import av

from eval.runner import evaluate
from video.media import ffmpeg_exe


def test_a_file_cut_between_packets_is_scored_with_a_note(tmp_path):
    whole = tmp_path / "whole.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=2",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(whole)],
                   check=True, timeout=120)
    with av.open(str(whole)) as c:
        packets = sorted(p.pos for p in c.demux(c.streams.video[0]) if p.size)
    folder = tmp_path / "gen"
    folder.mkdir()
    (folder / "cut.mp4").write_bytes(whole.read_bytes()[: packets[10]])  # 10 of 20 packets
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        res = evaluate(folder, out=tmp_path / "out")
    assert not [w for w in said if "truncated" in str(w.message)]  # the note below says it, once
    v = res["videos"]["cut"]
    assert 0 < v["frames"] <= 10
    assert f"cut: decoded {v['frames']} of the 20 frames its container lists (cut short or damaged?): " \
           "scored on those" in res["notes"]
    full = tmp_path / "full"
    full.mkdir()
    (full / "whole.mp4").write_bytes(whole.read_bytes())
    assert not any("container lists" in n for n in evaluate(full, out=tmp_path / "out2")["notes"])
