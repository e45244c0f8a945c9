"""Media in and out: still images (:mod:`.images`), videos read with PyAV (:mod:`.read`), how a
frame is meant to be shown (:mod:`.display`: rotation, mirrors, pixel shape, HDR tags), and
videos and images written with ffmpeg (:mod:`.write`, through :mod:`.ffmpeg_io`). One error
type, :class:`MediaError`. Any path handed to PyAV's ``av.open`` or to the ffmpeg command goes
through :func:`media_path` (``take:1.mp4`` is otherwise a protocol).

The names below are the package's public face: callers import from ``video.media``, and the
modules behind it can move without touching them.
"""

from video.media.display import (
    apply_ops,
    display_matrix,
    display_ops,
    hdr_transfer,
    rotation_of,
    sar_of,
    upright,
)
from video.media.errors import MediaError
from video.media.ffmpeg_io import media_path
from video.media.images import (
    ASSETS,
    DEFAULT_IMAGE,
    file_rgb,
    image_to_tensor,
    load_image,
    natural_key,
    open_image,
    resize_center_crop,
    to_srgb,
)
from video.media.read import (
    ATTACHED_PIC,
    grid_frames,
    header_frames,
    probe_video,
    read_grid_frames,
    read_video,
    read_video_timed,
    unreadable,
    video_stream,
)
from video.media.write import (
    GIF_MAX_FPS,
    IMAGE_OUTPUTS,
    VIDEO_FORMATS,
    audio_shift,
    audio_stream_info,
    audio_to_keep,
    check_crf,
    check_output,
    ffmpeg_exe,
    gif_stamps,
    itsoffset,
    plural,
    source_times,
    uneven_times,
    vp9_crf,
    write_video,
)

__all__ = [
    "ASSETS", "ATTACHED_PIC", "DEFAULT_IMAGE", "GIF_MAX_FPS", "IMAGE_OUTPUTS", "VIDEO_FORMATS", "MediaError",
    "apply_ops", "audio_shift", "audio_stream_info", "audio_to_keep", "check_crf", "check_output",
    "display_matrix", "display_ops", "ffmpeg_exe", "file_rgb", "gif_stamps", "grid_frames", "hdr_transfer",
    "header_frames", "image_to_tensor", "itsoffset", "load_image", "media_path", "natural_key", "open_image",
    "plural", "probe_video", "read_grid_frames", "read_video", "read_video_timed", "resize_center_crop",
    "rotation_of", "sar_of", "source_times", "to_srgb", "unreadable", "upright", "uneven_times", "video_stream",
    "vp9_crf",
    "write_video",
]
