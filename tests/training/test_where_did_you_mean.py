"""``data.where`` naming a column the manifest lacks says the close one, as ``curate filter``
does for its rules (it listed every column and left the reader to spot the typo)."""

from pathlib import Path

import pandas as pd
import pytest

from video.training.manifest_rows import query


def test_a_misspelt_column_gets_a_did_you_mean():
    table = pd.DataFrame({"clip_score": [0.1, 0.3], "motion_mean": [1.0, 2.0]})
    with pytest.raises(ValueError) as e:
        query(table, "clip_scor > 0.2", Path("m.parquet"))
    said = str(e.value)
    assert "did you mean 'clip_score'? its columns: clip_score, motion_mean" in said and "\n" not in said
    assert len(query(table, "clip_score > 0.2", Path("m.parquet"))) == 1


def test_no_guess_for_a_name_nothing_is_close_to_or_another_error():
    table = pd.DataFrame({"clip_score": [0.1, 0.3]})
    for where in ("zzzz > 1", "clip_score >"):
        with pytest.raises(ValueError) as e:
            query(table, where, Path("m.parquet"))
        assert "did you mean" not in str(e.value) and "its columns: clip_score" in str(e.value)
