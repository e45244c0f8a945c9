"""Near-duplicate key: the 64-bit perceptual hash (DCT pHash, ``imagehash``) of the middle
frame (upright, as a player shows it: a phone's portrait clip and its landscape-coded twin
hash alike), as 16 hex digits. Duplicates are found across clips at filter time (Hamming distance)
through :class:`HashIndex`, which compares a clip only with the few kept clips that share one
band of its hash, not with all of them."""

from __future__ import annotations

HASH_BITS = 64


class Scorer:
    name, version, inputs = "phash", 2, ("keys",)
    columns = {"phash": "string"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        import imagehash
        from PIL import Image

        return {"phash": str(imagehash.phash(Image.fromarray(clip.keys[1])))}


def hamming(a: str | int, b: str | int) -> int:
    a = int(a, 16) if isinstance(a, str) else a
    b = int(b, 16) if isinstance(b, str) else b
    return (a ^ b).bit_count()


class HashIndex:
    """Hashes within ``max_distance`` bits of a query, without a scan (multi-index hashing).

    The 64 bits are cut into ``max_distance + 1`` bands. Two hashes that differ in at most
    ``max_distance`` bits cannot differ in every band (pigeonhole), so one exact band lookup
    finds every true neighbour; candidates are then checked bit for bit. The answer is the
    brute-force answer; the work is the bucket sizes, not the number of hashes stored."""

    def __init__(self, max_distance: int) -> None:
        if not 0 <= max_distance < HASH_BITS:
            raise ValueError(f"max_distance must be in [0, {HASH_BITS}), got {max_distance}")
        self.max_distance = max_distance
        n = max_distance + 1
        edges = [round(i * HASH_BITS / n) for i in range(n + 1)]
        self._bands = [(lo, (1 << (hi - lo)) - 1) for lo, hi in zip(edges, edges[1:], strict=False)]
        self._buckets: list[dict[int, list[int]]] = [{} for _ in self._bands]

    def add(self, h: str | int) -> None:
        v = int(h, 16) if isinstance(h, str) else h
        for (shift, mask), buckets in zip(self._bands, self._buckets, strict=True):
            buckets.setdefault((v >> shift) & mask, []).append(v)

    def near(self, h: str | int) -> list[int]:
        """Stored hashes within ``max_distance`` of ``h`` (each once)."""
        v = int(h, 16) if isinstance(h, str) else h
        seen: set[int] = set()
        for (shift, mask), buckets in zip(self._bands, self._buckets, strict=True):
            for c in buckets.get((v >> shift) & mask, ()):
                if c not in seen:
                    seen.add(c)
        return [c for c in seen if (c ^ v).bit_count() <= self.max_distance]
