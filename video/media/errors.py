"""The one error every media reader and writer raises."""


class MediaError(ValueError):
    """An input that is not a readable image/video, or an output we cannot write."""
