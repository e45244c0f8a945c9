"""``eval.dataset``: the manifest helpers the exploration notebook stands on."""

import numpy as np
import pytest

from eval.dataset import contact_sheet, key_frame, load_manifest, score_columns, select_clips
from eval.inputs import EvalError


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
    with pytest.raises(EvalError, match="neither clip_path nor source"):
        key_frame(df.iloc[4].to_dict(), path)


def test_contact_sheet_grid(curated):
    path, _ = curated
    df = load_manifest(path)
    sheet = contact_sheet(df.iloc[:4], path, columns=3, height=48, label="aesthetic")
    assert sheet.dtype == np.uint8 and sheet.shape == (2 * (48 + 14 + 4), 3 * (64 + 4), 3)
