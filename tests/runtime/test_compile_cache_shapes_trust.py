"""The compile cache's files: one per dtype and latent shape, all of them loaded; a save that
cannot write is a warning and the video still comes; a warm start that compiled nothing new
writes nothing; compiled code others could have written is not loaded.

``torch.compiler.save_cache_artifacts`` / ``load_cache_artifacts`` are replaced by fakes that
hand out and record small byte strings (``FakeTorchCache``): a real compile of the tiny models
takes minutes on a CPU, and what is tested here is which files the cache writes and reads, not
torch's (de)serialisation, which ``test_compile_cache.py`` round-trips for real. Everything
else (files, modes, the pipelines' calls) is real."""

import os
import warnings

import pytest
import torch
from torch.compiler._cache import CacheInfo

from video.runtime.speed import CompileCache, prepare_compile, shape_variant

KEY = "TextToVideo-default-torchX-cpu"


class FakeTorchCache:
    """What ``save_cache_artifacts`` returns next (``compiled``: artifact key -> bytes) and every
    byte string ``load_cache_artifacts`` was given."""

    def __init__(self, monkeypatch):
        self.compiled: dict[str, bytes] = {}
        self.loaded: list[bytes] = []
        monkeypatch.setattr(torch.compiler, "save_cache_artifacts", self.save)
        monkeypatch.setattr(torch.compiler, "load_cache_artifacts", self.load)

    @staticmethod
    def info(keys) -> CacheInfo:
        info = CacheInfo()
        info.artifacts["inductor"].extend(keys)
        return info

    def save(self):
        if not self.compiled:
            return None
        keys = sorted(self.compiled)
        return b"|".join(self.compiled[k] for k in keys), self.info(keys)

    def load(self, data: bytes):
        self.loaded.append(data)
        return self.info(part.decode() for part in data.split(b"|"))


@pytest.fixture
def fake(monkeypatch):
    return FakeTorchCache(monkeypatch)


def caught(call):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in seen]


def test_every_shape_and_dtype_keeps_its_own_file_and_all_are_loaded(tmp_path, fake):
    """9 frames, then 5, then 9 again: the 5-frame save used to overwrite the 9-frame file (one
    file per pipeline and mode), so each alternation compiled cold; float32 vs bfloat16 the same."""
    shapes = [(torch.float32, (1, 16, 3, 8, 8)), (torch.float32, (1, 16, 2, 8, 8)),
              (torch.bfloat16, (1, 16, 3, 8, 8))]
    for i, (dtype, shape) in enumerate(shapes):
        fake.compiled = {f"k{i}": f"k{i}".encode()}  # a fresh process compiles this shape only
        assert CompileCache(tmp_path, key=KEY).save_once(dtype, shape) is not None
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"mega_cache-{KEY}@{shape_variant(d, s)}.bin" for d, s in shapes)
    assert "float32-1x16x3x8x8" in names[1] + names[2] and any("bfloat16" in n for n in names)
    fake.loaded.clear()
    later = CompileCache(tmp_path, key=KEY)
    assert later.load() is True
    assert sorted(fake.loaded) == [b"k0", b"k1", b"k2"]


def test_the_file_of_before_variants_is_still_read(tmp_path, fake):
    """``mega_cache-KEY.bin`` (one file per key, before shapes) holds valid artifacts for its key."""
    (tmp_path / f"mega_cache-{KEY}.bin").write_bytes(b"old")
    (tmp_path / f"mega_cache-{KEY}-other@float32-1.bin").write_bytes(b"another key's")
    assert CompileCache(tmp_path, key=KEY).load() is True
    assert fake.loaded == [b"old"]


def test_a_warm_start_that_compiled_nothing_new_writes_nothing(tmp_path, fake):
    fake.compiled = {"a": b"a"}
    first = CompileCache(tmp_path, key=KEY).save_once(torch.float32, (1, 2))
    before = first.stat().st_mtime_ns
    warm = CompileCache(tmp_path, key=KEY)
    assert warm.load()
    assert warm.save_once(torch.float32, (1, 2)) is None  # it used only what it loaded
    assert first.stat().st_mtime_ns == before
    fake.compiled = {"a": b"a", "b": b"b"}  # a new shape compiled something new: that is saved
    assert warm.save_once(torch.float32, (1, 3)).name.endswith("@float32-1x3.bin")


def unwritable(tmp_path):
    """A cache folder this user cannot write: read-only where modes bind this user; for root,
    which writes anywhere, a folder that cannot be made (a file stands where its parent would)."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    (tmp_path / "file").write_text("x")
    return tmp_path / "file" / "cache"


def test_an_unwritable_cache_is_a_warning_and_the_frames_still_come(tmp_path, fake, tiny_models):
    """The save ran before the frames were returned and raised: a whole render, then exit 2 and
    no output. img2vid's tiny model renders for real; only torch's artifacts are fakes."""
    from video.runtime.img2vid import ImageToVideo

    pipe = ImageToVideo(tiny_models)
    pipe.compile_cache = CompileCache(unwritable(tmp_path), key=KEY)
    fake.compiled = {"a": b"a"}
    frames, said = caught(lambda: pipe(torch.rand(3, 64, 64), num_frames=2, num_inference_steps=1, height=64,
                                       width=64))
    assert frames.shape == (2, 64, 64, 3)
    assert [m for m in said if "not writable" in m] == [
        m for m in said if m.startswith(f"compile cache {pipe.compile_cache.folder} is not writable: artifacts not saved (")]
    assert len([m for m in said if "not writable" in m]) == 1


def test_txt2vid_saves_once_per_shape_and_survives_an_unwritable_folder(tmp_path, fake):
    from video.runtime.txt2vid import TextToVideo

    pipe = TextToVideo.from_pretrained("tiny")
    pipe.compile_cache = CompileCache(unwritable(tmp_path), key=KEY)
    fake.compiled = {"a": b"a"}
    kw = dict(num_frames=1, num_inference_steps=1)
    frames, said = caught(lambda: pipe("a kite", **kw))
    assert frames.shape[0] == 1 and sum("not writable" in m for m in said) == 1
    pipe.compile_cache = CompileCache(tmp_path / "ok", key=KEY)
    pipe("a kite", **kw)
    pipe("a kite", **kw)
    assert len(list((tmp_path / "ok").glob("mega_cache-*@float32-*.bin"))) == 1


def test_saved_files_and_made_folders_are_not_writable_by_others_whatever_the_umask(tmp_path, fake, monkeypatch):
    """Under umask 002 (user-private groups) a saved file was group-writable, which the next
    load must refuse. ``video.atomic`` reads the umask once, at import: it is set there too."""
    import video.atomic

    monkeypatch.setattr(video.atomic, "_UMASK", 0)
    fake.compiled = {"a": b"a"}
    old = os.umask(0)
    try:
        path = CompileCache(tmp_path / "new", key=KEY).save_once(torch.float32, (1,))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o022 == 0 and path.parent.stat().st_mode & 0o022 == 0
    _, said = caught(lambda: CompileCache(tmp_path / "new", key=KEY).load())
    assert said == [] and fake.loaded == [b"a"]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="no owners and modes here")
def test_compiled_code_others_could_write_is_not_loaded(tmp_path, fake):
    """Loading runs the pickled code in the files: a folder or file writable by the group or
    others, or owned by another user, is refused in one line and the run compiles afresh."""
    folder = tmp_path / "cache"
    folder.mkdir()
    file = folder / f"mega_cache-{KEY}@float32-1.bin"
    file.write_bytes(b"a")
    folder.chmod(0o775)
    loaded, said = caught(lambda: CompileCache(folder, key=KEY).load())
    assert loaded is False and fake.loaded == []
    assert said == [f"compile cache {folder} is writable by other users (chmod go-w it to use it): its compiled code "
                    "is not loaded; compiling afresh"]
    cache = CompileCache(folder, key=KEY)
    assert cache.save_once(torch.float32, (1,)) is None  # nor is anything saved there
    folder.chmod(0o755)
    file.chmod(0o646)
    loaded, said = caught(lambda: CompileCache(folder, key=KEY).load())
    assert loaded is False and fake.loaded == [] and len(said) == 1 and "writable by other users" in said[0]
    file.chmod(0o644)
    if os.geteuid() == 0:  # only root can give a file away
        os.chown(file, 4242, 4242)
        loaded, said = caught(lambda: CompileCache(folder, key=KEY).load())
        assert loaded is False and fake.loaded == [] and "owned by another user" in said[0]
        os.chown(file, 0, 0)
    assert CompileCache(folder, key=KEY).load() is True and fake.loaded == [b"a"]


def test_auto_under_the_users_cache_dir_loads(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    fake.compiled = {"a": b"a"}
    assert CompileCache("auto", key=KEY).save_once(torch.float32, (1,)) is not None
    loaded, said = caught(lambda: CompileCache("auto", key=KEY).load())
    assert loaded is True and said == []


def test_a_cache_path_under_a_file_is_refused_by_prepare_compile(tmp_path, tiny_models):
    from video.runtime.img2vid import ImageToVideo

    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"cannot use it as a folder \(.*file is a file\)"):
        prepare_compile(ImageToVideo(tiny_models), "default", tmp_path / "file" / "sub")
