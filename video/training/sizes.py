"""The sizes and frame counts a training run trains at, checked against the rules the runtime
renders by (one home for those: ``TextToVideo.check_size``, img2vid's ``size_multiple``), so
that a run never trains and exports a size ``video txt2vid`` / ``video img2vid`` refuse or round,
and a refusal names the config key."""

from __future__ import annotations

from video.training.config import TrainConfig


def trained_sizes(cfg: TrainConfig) -> tuple[list[tuple[str, str, int, int]], list[tuple[str, int]]]:
    """Every (height, width) and frame count ``cfg`` trains at, each with the words that name
    its config key, to go before "must be ...": ``data.height=40:`` / ``data.buckets entry [40, 32]:
    height 40``; ``data.frames=6`` / ``data.frame_buckets entry 6``. As :func:`make_dataset` builds them
    (:func:`video.training.buckets.bucket_lists`): buckets replace the fixed size or count, and
    an image folder alone is one frame."""
    from video.training.buckets import bucket_lists

    d = cfg.data
    one_frame = set(d.kind.split("+")) == {"images"}
    hw, counts = bucket_lists(d.buckets, d.frame_buckets, d.frames, d.height, d.width, one_frame=one_frame)
    if d.buckets:
        sizes = [(f"data.buckets entry [{h}, {w}]: height {h}", f"data.buckets entry [{h}, {w}]: width {w}", h, w)
                 for h, w in hw]
    else:
        sizes = [(f"data.height={d.height}:", f"data.width={d.width}:", d.height, d.width)]
    if d.frame_buckets:
        frames = [(f"data.frame_buckets entry {f}", f) for f in counts]
    else:
        frames = [("data.kind=images (one frame)" if one_frame else f"data.frames={d.frames}", counts[0])]
    return sizes, frames


def _refusal(check, *args) -> str | None:
    """The runtime's refusal of ``check(*args)`` (an InputError's line), or None when it passes."""
    from video.runtime.errors import InputError

    try:
        check(*args)
    except InputError as e:
        return str(e)
    return None


def check_dit_sizes(runtime, cfg: TrainConfig) -> None:
    """Refuse, in one line naming the config key, a trained size or frame count ``video
    txt2vid`` would refuse for this model (its :meth:`~video.runtime.txt2vid.TextToVideo.check_size`,
    the one home of the rule: height and width multiples of the VAE factor times the patch,
    the video VAE's 4k+1 frames, whole temporal patches). Without it such a run trained (the
    VAE rounds a size down), exported a size the runtime refuses, or failed at the first step
    with the patch grid's error, naming no key. ``runtime``: a ``TextToVideo`` of the model."""
    from video.config import ConfigError

    sizes, frames = trained_sizes(cfg)
    good = runtime.spatial_multiple()  # a size both axes take: each key is tried alone beside it
    for key, count in frames:
        why = _refusal(runtime.check_size, count, good, good)
        if why:
            raise ConfigError(f"{key}: {why}")
    count = frames[0][1]
    vae, (_, ph, pw) = runtime.models.latents.spatial_factor, runtime.patch()
    for hkey, wkey, h, w in sizes:
        for key, args, patch in ((hkey, (count, h, good), ph), (wkey, (count, good, w), pw)):
            if _refusal(runtime.check_size, *args):
                raise ConfigError(f"{key} must be a multiple of {vae * patch} for this model "
                                  f"(VAE x{vae} times patch {patch})")


def check_svd_sizes(svd, cfg: TrainConfig) -> None:
    """Refuse, in one line naming the config key, a trained size that is not a multiple of the
    model's (:func:`video.runtime.img2vid.size_multiple`, 64 for SVD): ``video img2vid`` would
    round the exported size down with a warning, rendering at a size never trained."""
    from video.config import ConfigError
    from video.runtime.img2vid import size_multiple

    m = size_multiple(svd)
    for hkey, wkey, h, w in trained_sizes(cfg)[0]:
        for key, value in ((hkey, h), (wkey, w)):
            if value % m:
                raise ConfigError(f"{key} must be a multiple of {m} for this model (the VAE's and the UNet's "
                                  "downsampling)")
