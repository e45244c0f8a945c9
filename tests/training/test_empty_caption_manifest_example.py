"""The empty-caption warning's example for a manifest clip says the caption is empty in the
manifest (its ``caption`` column): it read "e.g. .../a.mp4 (no caption file)", pointing at a
caption file a manifest never reads. Also when the manifest is one part of a concatenation."""

import numpy as np

from data_curation.manifest import RUN_DIR_KEY, to_table, write_atomic
from video.media import write_video
from video.training.data import Concat, ManifestClips, MovingShapes
from video.training.notes import empty_caption_note
from video.training.tasks import empty_caption_example, empty_captions


def manifest(tmp_path):
    clips = []
    for j in range(2):
        frames = np.random.default_rng(j).integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
        clips.append(write_video(frames, tmp_path / "clips" / f"c{j}.mp4", fps=8))
    rows = [{"source": str(c), "clip_id": f"c{j}", "start_frame": 0, "end_frame": 8, "start_s": 0.0, "end_s": 1.0,
             "fps": 8.0, "width": 32, "height": 32, "rotation": 0, "num_frames": 8, "source_frames": 8,
             "keep": True, "error": None, "clip_path": str(c), "caption": caption}
            for j, (c, caption) in enumerate(zip(clips, ["a red ball", ""], strict=True))]
    path = tmp_path / "manifest.parquet"
    write_atomic(to_table(rows, {}), path, {RUN_DIR_KEY: str(tmp_path)})
    return ManifestClips(path, frames=4, height=16, width=16, fps=8.0), clips[1]


def test_a_manifest_clips_empty_caption_is_the_manifests(tmp_path):
    clips, empty = manifest(tmp_path)
    assert empty_captions(clips) == 1
    example = empty_caption_example(clips)
    assert example == f"{empty} (empty caption in the manifest)"
    assert "no caption file" not in empty_caption_note(1, 2, "dit_t2v", example)
    mixed = Concat([MovingShapes(size=3, frames=4, height=16, width=16), clips])  # manifest+... : its 2nd part
    assert empty_captions(mixed) == 1 and empty_caption_example(mixed) == example
