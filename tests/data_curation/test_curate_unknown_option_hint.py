"""A mistyped `curate` option gets its subcommand's usage and what was meant, as `video`
answers (it was the top level's usage and no hint)."""

import pytest

from data_curation.cli import main


def test_a_mistyped_option_names_the_one_meant(capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["run", str(tmp_path), "--out", str(tmp_path / "o"), "--wrokers", "0"])
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert err.splitlines()[0].startswith("usage: curate run")
    assert err.strip().endswith("curate run: error: unrecognized arguments: --wrokers 0 (did you mean --workers?)")
