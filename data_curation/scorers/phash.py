"""Near-duplicate key: the 64-bit perceptual hash (DCT pHash, ``imagehash``) of the middle
frame, as 16 hex digits. Duplicates are found across clips at filter time (Hamming distance)."""

from __future__ import annotations


class Scorer:
    name, version, inputs = "phash", 1, ("keys",)
    columns = {"phash": "string"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        import imagehash
        from PIL import Image

        return {"phash": str(imagehash.phash(Image.fromarray(clip.keys[1])))}


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")
