"""``data.kind=images`` captions are read as kohya's are: a ``.txt`` that is not UTF-8 (a
latin-1 ``café``) warns once, naming the file, and trains with U+FFFD for the bad bytes (it
stopped the run, and every resume, with a UnicodeDecodeError that named no file); a UTF-8 BOM
is not part of the caption; the C locale reads UTF-8 all the same."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

from PIL import Image

from video.training.data import ImageFolder
from video.training.loading import ItemLoader

REPO = Path(__file__).resolve().parents[2]


def images(root: Path, captions: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, raw in captions.items():
        Image.new("RGB", (8, 8), (40, 80, 120)).save(root / f"{name}.png")
        (root / f"{name}.txt").write_bytes(raw)
    return root


def test_a_caption_not_in_utf8_warns_once_naming_it_and_trains(tmp_path):
    root = images(tmp_path / "imgs", {"a": b"plain", "c": "caf\xe9\n".encode("latin-1")})
    load = ItemLoader(ImageFolder(root, 8, 8))  # what the trainer reads items through
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        caps = [load(i)["caption"] for i in (0, 1, 1, 0, 1)]  # every epoch reads it again
    assert caps == ["plain", "caf\ufffd", "caf\ufffd", "plain", "caf\ufffd"]
    said = [str(x.message) for x in w]
    assert said == [f"caption {root / 'c.txt'} is not valid UTF-8: its bad bytes read as U+FFFD (save it as UTF-8)"]


def test_a_byte_order_mark_is_not_in_the_caption(tmp_path):
    root = images(tmp_path / "imgs", {"a": "\ufeffa red café\r\n".encode()})
    assert ImageFolder(root, 8, 8)[0]["caption"] == "a red café"


def test_the_c_locale_reads_utf8_captions(tmp_path):
    root = images(tmp_path / "imgs", {"a": "naïve, café".encode()})
    code = (f"from video.training.data import ImageFolder; import sys; "
            f"sys.stdout.buffer.write(ImageFolder({str(root)!r}, 8, 8)[0]['caption'].encode('utf-8'))")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=120, cwd=REPO)
    assert p.returncode == 0, p.stderr.decode()[-800:]
    assert p.stdout.decode("utf-8") == "naïve, café"
