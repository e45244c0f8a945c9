"""``eval.dataset``: the manifest helpers the exploration notebook stands on."""

import numpy as np
import pytest

from data_curation.manifest import BASE_COLUMNS
from eval.dataset import (
    CAPTION_LINE,
    NOT_SCORES,
    contact_sheet,
    find_manifest,
    fit_text,
    key_frame,
    load_manifest,
    score_columns,
    select_clips,
)
from eval.inputs import EvalError, find_path


def test_score_columns_and_filters(curated):
    path, rows = curated
    df = load_manifest(path)
    assert len(df) == len(rows)
    assert score_columns(df) == ["motion_mean", "sharpness", "brightness", "text_area", "aesthetic"]
    sel = select_clips(path, {"motion_mean": (0.5, None), "aesthetic": (None, 5.9)}, order_by="-sharpness")
    assert list(sel["clip_id"]) == ["src_a_000000_000010", "src_b_000005_000015"]
    assert len(select_clips(path, keep=False)) == 2 and len(select_clips(path, limit=1)) == 1
    with pytest.raises(EvalError, match="no column 'motoin'"):
        select_clips(path, {"motoin": (0, 1)})


def test_key_frames_are_the_middle_frames(curated):
    path, _ = curated
    df = load_manifest(path)
    a = key_frame(df.iloc[1].to_dict(), path)  # frames [10, 20) of src_a: middle is 14, grey 8 * 14
    b = key_frame(df.iloc[3].to_dict(), path)  # the extracted clip of src_b [5, 15): middle 9 -> source 14
    assert a.shape == (48, 64, 3) and abs(int(np.median(a)) - 112) <= 2
    assert abs(int(np.median(b)) - (40 + 8 * 9)) <= 2
    with pytest.raises(EvalError, match=r"broken_000000_000000: nothing to show \(MediaError: not a video\)"):
        key_frame(df.iloc[4].to_dict(), path)


def test_contact_sheet_grid(curated):
    path, _ = curated
    df = load_manifest(path)
    sheet = contact_sheet(df.iloc[:4], path, columns=3, height=48, label="aesthetic")
    assert sheet.dtype == np.uint8 and sheet.shape == (2 * (48 + 2 * CAPTION_LINE + 4), 3 * (64 + 4), 3)


def test_fit_text_keeps_both_ends():
    assert fit_text("c9a5fdfc08_000076_000137", 24, len) == "c9a5fdfc08_000076_000137"
    assert fit_text("c9a5fdfc08_000076_000137", 9, len) == "c9a5…0137"
    assert fit_text("motion_mean=3.65", 10, len) == "motio…3.65"
    assert fit_text("abc", 0, len) == ""


def test_contact_sheet_captions_stay_on_their_card(curated):
    """A long clip id and label under a narrow key frame: the caption is shortened, so the
    columns at the card's right edge stay white (the text used to run past it, cut off there)."""
    path, _ = curated
    df = load_manifest(path).iloc[:1].copy()
    df["clip_id"] = "a_very_long_source_name_000000_000010"
    df = df.rename(columns={"motion_mean": "a_long_score_name"})
    sheet = contact_sheet(df, path, columns=1, height=48, label="a_long_score_name")
    caption = sheet[48:48 + 2 * CAPTION_LINE, :64]
    assert caption.min() < 128  # there is text
    assert caption[:, 62:].min() > 200  # and none at the edge


def test_manifest_columns_are_not_scores(curated):
    path, _ = curated
    df = load_manifest(path)
    assert "rotation" in df.columns and "rotation" not in score_columns(df)
    assert set(BASE_COLUMNS) <= NOT_SCORES


def test_limit_zero_is_no_rows(curated):
    path, rows = curated
    assert len(select_clips(path, limit=0)) == 0 and len(select_clips(path, limit=None)) == len(rows)


def test_contact_sheet_leaves_out_error_rows(curated):
    path, _ = curated
    df = load_manifest(path)
    with pytest.warns(UserWarning, match="1 error rows left out"):
        sheet = contact_sheet(df, path, columns=4, height=48)
    assert sheet.shape[0] == 48 + 14 + 4  # the four clips on one line
    with pytest.raises(EvalError, match=r"no clips to show \(1 error rows left out\)"):
        contact_sheet(df.iloc[4:], path)


def test_sources_relative_to_the_run_folder(tmp_path, monkeypatch, lossless):
    """``curate run`` stores sources as given, relative to where it ran (the manifest records the
    folder); the notebook's kernel runs elsewhere (notebooks/)."""
    import pyarrow as pa

    from data_curation.manifest import RUN_DIR_KEY, write_atomic

    run = tmp_path / "project"
    greys = np.stack([np.full((48, 64, 3), 8 * i, np.uint8) for i in range(20)])  # frame i: grey 8 i
    lossless(greys, run / "raw" / "a.mp4", fps=10)
    lossless(greys[10:], run / "out" / "clips" / "a_10.mp4", fps=10)
    rows = [{"source": "raw/a.mp4", "clip_id": "a_0", "start_frame": 0, "end_frame": 10, "fps": 10.0,
             "num_frames": 10, "clip_path": None, "error": None},
            {"source": "raw/a.mp4", "clip_id": "a_10", "start_frame": 10, "end_frame": 20, "fps": 10.0,
             "num_frames": 10, "clip_path": "out/clips/a_10.mp4", "error": None}]
    manifest = write_atomic(pa.Table.from_pylist(rows), run / "out" / "manifest.parquet", {RUN_DIR_KEY: str(run)})
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    df = load_manifest(manifest)
    assert abs(int(np.median(key_frame(df.iloc[0].to_dict(), manifest))) - 8 * 4) <= 2  # key frame 4 of [0, 10)
    assert abs(int(np.median(key_frame(df.iloc[1].to_dict(), manifest))) - 8 * 14) <= 2  # of the clip file


def test_default_paths_fall_back_to_the_repository_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "root" / "curated").mkdir(parents=True)
    (tmp_path / "root" / "curated" / "manifest.parquet").write_bytes(b"")
    found = find_path("curated/manifest.parquet", "hint", root=tmp_path / "root")
    assert found == tmp_path / "root" / "curated" / "manifest.parquet"
    with pytest.raises(EvalError) as e:
        find_manifest("nowhere/manifest.parquet")
    assert "\n" not in str(e.value) and "`curate run VIDEOS... --out curated` in the repository root" in str(e.value)
