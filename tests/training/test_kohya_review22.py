"""Kohya-style folders read as sd-scripts reads them: hidden files skipped, the caption file
named by data.caption_extension and only its first line, captions encoded as written unless
data.weighted_captions, 0_x/ folders warned of, an unreadable file decoded and warned of once,
and the dry run refusing what the run refuses at its start."""

from __future__ import annotations

import random
import warnings

import pytest
from PIL import Image

from video.config import ConfigError, load_config
from video.media import MediaError
from video.training.config import TrainConfig


def image(path, colour=(90, 0, 0), size=(16, 16)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def cfg(path, *overrides, config="dit_lora"):
    return load_config(TrainConfig, f"configs/train/{config}.yaml", [
        "data.kind=kohya", f"data.path={path}", "data.frames=1", "data.height=16", "data.width=16", "device=cpu",
        *overrides])


def kohya(root, *args, **kw):
    from video.training.kohya import KohyaFolder

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        data = KohyaFolder(root, 1, 16, 16, *args, **kw)
    return data, [str(w.message) for w in said]


# 1. hidden files and folders


def test_hidden_files_are_not_items(tmp_path):
    for name in ("coffee.jpg", "tea.png", ".hidden.png"):
        image(tmp_path / "5_a" / name)
    (tmp_path / "5_a" / "._coffee.jpg").write_bytes(b"\x00\x05\x16\x07AppleDouble")  # a macOS resource fork
    image(tmp_path / ".5_trash" / "x.png")
    data, said = kohya(tmp_path)
    assert sorted({p.name for p, _ in data.files}) == ["coffee.jpg", "tea.png"]
    assert len(data) == 2 * 5  # sd-scripts: the two visible files, 5 repeats each
    assert not any(".5_trash" in s for s in said)  # a hidden folder is skipped silently


def test_an_image_folder_skips_hidden_files_and_folders(tmp_path):
    from video.training.data import ImageFolder

    image(tmp_path / "imgs" / "a.png")
    image(tmp_path / "imgs" / "sub" / "b.png")
    image(tmp_path / "imgs" / ".cache" / "thumb.png")
    image(tmp_path / "imgs" / "._a.png")
    data = ImageFolder(tmp_path / "imgs", 16, 16)
    assert [p.relative_to(tmp_path / "imgs").as_posix() for p in data.paths] == ["a.png", "sub/b.png"]


# 2. data.caption_extension


def test_caption_extension_names_the_caption_file_and_a_stray_one_is_warned_of(tmp_path):
    from video.training.tasks import make_part

    image(tmp_path / "2_sks" / "a.png")
    (tmp_path / "2_sks" / "a.caption").write_text("a photo of sks, smiling\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"1 images or clips have no \.txt caption but a \.caption file beside "
                                          r"them \(e\.g\. .*a\.caption\).*data\.caption_extension=\.caption"):
        default = make_part(cfg(tmp_path), "kohya")
    assert default.caption(0) == "sks"  # the folder's words, as sd-scripts without --caption_extension
    data = make_part(cfg(tmp_path, "data.caption_extension=.caption"), "kohya")
    assert data.caption(0) == "a photo of sks, smiling"
    assert data.sources(0)[1] == tmp_path / "2_sks" / "a.caption"  # what the latent cache fingerprints


@pytest.mark.parametrize("bad", ["txt", ".", ".tar.gz", "./x"])
def test_a_caption_extension_that_is_no_extension_is_one_line(bad):
    with pytest.raises(ConfigError, match="data.caption_extension"):
        load_config(TrainConfig, "configs/train/dit_lora.yaml", [f"data.caption_extension={bad}"])


# 3. the dry run builds the folder as the run does


@pytest.mark.parametrize("case", ["empty", "only zero repeats"])
def test_the_dry_run_refuses_what_the_run_refuses(tmp_path, case):
    from video.training.data_checks import check_data
    from video.training.tasks import make_dataset

    if case == "empty":
        (tmp_path / "ds" / "1_a").mkdir(parents=True)
    else:
        image(tmp_path / "ds" / "0_a" / "a.png")
    c = cfg(tmp_path / "ds")
    with pytest.raises(ValueError) as run:  # the reference: what the run builds at its start
        make_dataset(c)
    with pytest.raises(ValueError) as dry:
        check_data(c)
    assert str(dry.value) == str(run.value)


def test_the_dry_run_and_the_run_take_buckets(tmp_path):
    """A kohya folder's items have sizes (tests/training/test_kohya_buckets_windows.py): data.buckets
    was refused by both, now taken by both."""
    from video.training.buckets import Bucketed
    from video.training.data_checks import check_data
    from video.training.tasks import make_dataset

    image(tmp_path / "ds" / "1_a" / "a.png", size=(32, 16))
    c = cfg(tmp_path / "ds", "data.buckets=[[16,32],[32,16]]")
    check_data(c)
    data = make_dataset(c)
    assert isinstance(data, Bucketed) and data.keys == [(1, 16, 32)]


# 4. captions encoded as written unless data.weighted_captions


def test_escaped_text_parses_as_itself():
    from video.prompts.emphasis import Segment, parse_segments
    from video.training.captions import escape_prompt

    pieces = list("ab ()[]\\:.1_,\n") + ["BREAK", " BREAK ", "(x:1.2)", "[a:b:0.5]", "\\(", "BREAKFAST"]
    rng = random.Random(0)
    texts = ["yor_(spy_x_family), hat [red]", "", "BREAK", "(x:1.3) BREAK [y]"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    for text in texts:
        assert parse_segments(escape_prompt(text)) == [Segment(text, 1.0)], text


@pytest.fixture(scope="module")
def dit():
    from video.training.tasks import DiTTextToVideo

    return lambda *o: DiTTextToVideo(load_config(TrainConfig, "configs/train/dit_lora.yaml", ["device=cpu", *o]))


def encoded_ids(task, text: str) -> list[int]:
    """The token ids the text encoder saw for ``text`` (BOS, EOS and padding dropped)."""
    seen = []
    hook = task.prompts.model.register_forward_pre_hook(lambda m, a, k: seen.append(k["input_ids"]), with_kwargs=True)
    try:
        task.prompts.encode_text(text)
    finally:
        hook.remove()
    tok = task.models.tokenizer
    return [i for i in seen[-1][0].tolist() if i not in (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id)]


def test_a_caption_is_encoded_as_written_unless_weighted(dit):
    caption = "yor_(spy_x_family), hat [red]"
    literal, weighted = dit(), dit("data.weighted_captions=true")
    tok = literal.models.tokenizer
    assert encoded_ids(literal, caption) == tok(caption, add_special_tokens=False).input_ids  # brackets kept
    plain = "yor_spy_x_family, hat red"  # what the prompt language leaves of it
    assert encoded_ids(weighted, caption) == tok(plain, add_special_tokens=False).input_ids
    assert not literal.prompts.encode_text(caption).equal(weighted.prompts.encode_text(caption))


# 5. multi-line caption files


def test_only_the_first_non_empty_line_is_the_caption_and_it_is_said_once(tmp_path):
    for j in range(3):
        image(tmp_path / "1_a" / f"{j}.png")
    (tmp_path / "1_a" / "0.txt").write_text("\n  tag a, tag b  \nsecond line, c\n", encoding="utf-8")
    (tmp_path / "1_a" / "1.txt").write_text("one, line\r\nmore\r\n", encoding="utf-8")
    (tmp_path / "1_a" / "2.txt").write_text("just one\n", encoding="utf-8")
    data, said = kohya(tmp_path, shuffle=True, keep_tokens=0)
    assert [data.file_caption(f) for f in range(3)] == ["tag a, tag b", "one, line", "just one"]
    assert all("\n" not in data.caption(i) for i in range(3))
    lines = [s for s in said if "more than one line" in s]
    assert len(lines) == 1 and lines[0].startswith("2 caption files") and "0.txt" in lines[0]


# 6. an unreadable file: decoded and warned of once, and a folder of only such files


def test_an_unreadable_file_is_warned_of_once_whatever_its_repeats(tmp_path, capsys, monkeypatch):
    import video.media
    from video.training.loading import ItemLoader

    image(tmp_path / "4_a" / "a.png")
    (tmp_path / "4_a" / "b.png").write_bytes(b"not a png")
    data, _ = kohya(tmp_path)
    reads = []
    real = video.media.image_to_tensor
    monkeypatch.setattr(video.media, "image_to_tensor", lambda p, *a, **k: (reads.append(p.name), real(p, *a, **k))[1])
    load = ItemLoader(data)
    got = [load(i) for i in range(len(data))]
    assert len(got) == 8 and capsys.readouterr().out.count("is unreadable") == 1
    assert reads.count("b.png") == 1  # decoded once, not once a repeat


def test_a_folder_of_only_unreadable_files_says_so(tmp_path, capsys):
    from video.training.loading import ItemLoader

    (tmp_path / "9_a").mkdir()
    (tmp_path / "9_a" / "b.png").write_bytes(b"not a png")
    data, _ = kohya(tmp_path)
    with pytest.raises(ValueError, match=r"\(1 unreadable, item 8: .*b\.png.*\): every file of the data is "
                                         r"unreadable$"):
        ItemLoader(data)(8)
    assert capsys.readouterr().out.count("is unreadable") == 1


# 7. zero repeats, and data.path at a repeats folder


def test_zero_repeats_warn_and_alone_are_said(tmp_path):
    image(tmp_path / "ds" / "0_reg" / "r.png")
    image(tmp_path / "ds" / "2_a" / "a.png")
    data, said = kohya(tmp_path / "ds")
    assert len(data) == 2 and any("0_reg/ has 0 repeats" in s and "not trained" in s for s in said)
    (tmp_path / "ds" / "2_a" / "a.png").unlink()
    with pytest.raises(MediaError, match=r"the only folders with images or clips have 0 repeats \(0_reg/\)"):
        kohya(tmp_path / "ds")


def test_a_repeats_folder_given_as_data_path_names_its_parent(tmp_path):
    image(tmp_path / "dss" / "2_a" / "a.png")
    with pytest.raises(MediaError, match=f"is itself an N_name/ folder: give its parent folder as data.path "
                                         f"\\(data.path={tmp_path / 'dss'}\\)"):
        kohya(tmp_path / "dss" / "2_a")


# 8. the empty caption warning's example


def test_an_empty_caption_has_an_example_file(tmp_path):
    from video.training.tasks import empty_caption_example, empty_captions

    image(tmp_path / "5_a" / "a.png")
    image(tmp_path / "5_a" / "b.png")
    (tmp_path / "5_a" / "a.txt").write_text("a cat", encoding="utf-8")
    (tmp_path / "5_a" / "b.txt").write_text("\n\n", encoding="utf-8")
    data, _ = kohya(tmp_path)
    assert empty_captions(data) == 5
    assert empty_caption_example(data) == str(tmp_path / "5_a" / "b.txt")


# 9. caption settings on SVD, which trains on none


def test_caption_settings_on_svd_are_said_to_change_nothing(tmp_path):
    from video.training.tasks import note_unused_captions

    with pytest.warns(UserWarning, match=r"task=svd_i2v trains on no caption .*data\.shuffle_tags, "
                                         r"data\.keep_tokens change nothing"):
        note_unused_captions(cfg(tmp_path, "data.shuffle_tags=true", "data.keep_tokens=1", config="lora"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        note_unused_captions(cfg(tmp_path, config="lora"))  # the shipped config sets none
        note_unused_captions(cfg(tmp_path, "data.shuffle_tags=true"))  # the DiT trains on them
