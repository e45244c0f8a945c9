"""``curate run`` says which recipe rules it did not apply (a rule on a column null in every
clip: a model scorer given some models but not the one the column needs) as ``curate filter``
says it, once, after the filters, with Ray as without; with no model at all the clip scorer's
one warning names those rules instead. And a run saves its resolved recipe, ``--set``
overrides applied, as ``OUT/run_recipe.yaml``, which ``--recipe`` takes back to the same scoring
key: the rerun resumes. Real runs on a real clip."""

from __future__ import annotations

import socket
import warnings

import pytest

from data_curation.cli import main
from data_curation.engine import run
from data_curation.recipe import RECIPE_FILE, load_recipe, save_recipe, scoring_key

NOTE = ("recipe rule on column {!r} not applied: every value is null (its scorer did not run, or had no model "
        "weights)")
NO_WEIGHTS = ("clip scorer: no local weights configured (models.clip / models.captioner); aesthetic, clip_score "
              "and caption stay null; recipe rules on aesthetic, clip_score are not applied")


def _said(record) -> list[str]:
    return [str(w.message) for w in record]


def test_a_run_with_clip_but_no_head_nor_captioner_says_its_rules_are_not_applied(src, tmp_path):
    """models.clip alone: aesthetic (needs the head) and clip_score (needs a caption) are null
    in every clip, and their quantile rules were skipped without a word."""
    from test_scorers import _tiny_clip

    _tiny_clip(tmp_path / "clip")
    over = [f"models.clip={tmp_path / 'clip'}", "scorers=[motion,clip]",
            "rules=[{column: motion_mean, min_quantile: 0.25}, {column: aesthetic, min_quantile: 0.25}, "
            "{column: clip_score, min_quantile: 0.5}]"]
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        s = run([str(src)], tmp_path / "out", "quick", over, workers=0, progress=False)
    assert s["clips"] == 1 and s["clips_failed"] == 0
    assert _said(said) == [NOTE.format("aesthetic"), NOTE.format("clip_score")]


def test_without_any_model_one_warning_names_the_rules_on_every_run(src, tmp_path):
    """The clip scorer's warning (said once a process before: a second run in a notebook said
    nothing) names the rules it leaves unapplied; the filter notes do not say it again."""
    import data_curation.scorers.clip as clip_mod

    for n in (1, 2):
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            run([str(src)], tmp_path / f"out{n}", "svd_lvd", workers=0, progress=False)
        assert _said(said) == [NO_WEIGHTS], n
        assert clip_mod._WARNED


def test_the_notes_are_said_once_by_a_ray_run(src, tmp_path):
    """The filters run in the driver: with Ray the notes come once, for the whole manifest.
    sample_fps 0.3 takes one motion sample of the 3 s clip: motion_mean null, its rule moot."""
    pytest.importorskip("ray")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        s = run([str(src)], tmp_path / "out", "svd_lvd", ["sample_fps=0.3"], workers=1, progress=False)
    assert s["processed"] == 1 and s["clips"] == 1
    ray_temp = [m for m in _said(said) if m.startswith("OUT's path is too long for Ray's sockets")]  # tmp_path's
    assert [m for m in _said(said) if m not in ray_temp] == [NO_WEIGHTS, NOTE.format("motion_mean")]


def test_the_recipe_file_reproduces_the_run(src, tmp_path, capsys):
    over = ["split.min_s=1", "split.max_s=1.5", "sample_fps=3", "scorers=[motion,sharpness]",
            "rules=[{column: sharpness, min: 0.5}]", "max_phash_distance=null"]
    out = tmp_path / "out"
    assert main(["run", str(src), "--out", str(out), "--workers", "0", "--quiet",
                 *[w for o in over for w in ("--set", o)]]) == 0
    first = capsys.readouterr().out
    assert '"processed": 1' in first and '"clips": 2' in first  # 3 s cut at 1.5 s: the overrides held
    given = load_recipe("quick", over)
    saved = load_recipe(out / RECIPE_FILE)
    assert saved == given and scoring_key(saved) == scoring_key(given)
    assert main(["run", str(src), "--out", str(out), "--workers", "0", "--quiet", "--recipe",
                 str(out / RECIPE_FILE)]) == 0
    again = capsys.readouterr().out
    assert '"processed": 0, "skipped": 1' in again and '"clips": 2' in again


def test_the_recipe_file_holds_model_paths_from_any_folder(tmp_path, monkeypatch):
    """A model path typed relative is written absolute: the file read from elsewhere names the
    same model, and gives the same key (which counts the models' files)."""
    clip = tmp_path / "models" / "clip"
    clip.mkdir(parents=True)
    (clip / "config.json").write_text('{"model_type": "clip"}')
    (clip / "model.safetensors").write_bytes(b"w")
    monkeypatch.chdir(tmp_path / "models")
    r = load_recipe("svd_lvd", ["models.clip=clip"])
    key = scoring_key(r)  # here, where the run computes it
    save_recipe(r, tmp_path / "out")
    monkeypatch.chdir(tmp_path)
    back = load_recipe(tmp_path / "out" / RECIPE_FILE)
    assert back.models.clip == str(clip)
    assert scoring_key(back) == key


def test_a_model_path_holding_dollar_brace_is_saved_as_typed(tmp_path):
    """A text is taken as typed (``${`` is no interpolation): the saved recipe was written
    through an OmegaConf tree whose grammar refused ``c${x`` in a traceback (review)."""
    clip = tmp_path / "c${x"
    clip.mkdir()
    (clip / "config.json").write_text('{"model_type": "clip"}')
    (clip / "model.safetensors").write_bytes(b"w")
    r = load_recipe("svd_lvd", [f"models.clip={clip}"])
    back = load_recipe(save_recipe(r, tmp_path / "out"))
    assert back.models.clip == str(clip) and scoring_key(back) == scoring_key(r)


def test_a_users_recipe_yaml_in_out_is_left_as_it_is(src, tmp_path):
    """A project folder given as OUT that holds the user's own ``recipe.yaml``: the run's copy was
    written over it, its comments gone and the --set values in it (review)."""
    out = tmp_path / "proj"
    out.mkdir()
    mine = out / "recipe.yaml"
    mine.write_text("# my recipe\nsplit: {min_s: 2.0}\n")
    assert main(["run", str(src), "--out", str(out), "--workers", "0", "--quiet", "--recipe", str(mine),
                 "--set", "split.min_s=1"]) == 0
    assert mine.read_text() == "# my recipe\nsplit: {min_s: 2.0}\n"
    assert load_recipe(out / RECIPE_FILE).split.min_s == 1


def test_a_recipe_path_with_a_tilde_is_found(tmp_path, monkeypatch):
    """``--recipe '~/g.yaml'``, quoted, reaches curate unexpanded: it was 'not found'."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "g.yaml").write_text("name: g\nsplit: {min_s: 1.5}\nrules: []\n")
    assert load_recipe("~/g.yaml").split.min_s == 1.5


def test_an_out_the_run_made_is_removed_with_its_recipe_when_ray_cannot_start(src, tmp_path):
    """The recipe is saved as OUT is made, before Ray is joined: an address where nothing
    answers must still leave no OUT behind (it held only that file)."""
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "o"
    with pytest.raises(ConnectionError):
        run([str(src)], out, "quick", workers=1, ray_address=f"127.0.0.1:{port}", progress=False)
    assert not out.exists()
    (out / "parts").mkdir(parents=True)  # an OUT with work in it keeps the recipe of its runs
    with pytest.raises(ConnectionError):
        run([str(src)], out, "quick", workers=1, ray_address=f"127.0.0.1:{port}", progress=False)
    assert {p.name for p in out.iterdir()} == {"parts", RECIPE_FILE}
