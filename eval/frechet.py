"""The Fréchet distance between Gaussians fitted to two feature sets: the maths under FVD
(I3D features) and its VideoMAE variant. Pure numpy in float64; no weights here."""

from __future__ import annotations

import numpy as np


def nonfinite_rows(features: np.ndarray) -> int:
    """How many of the (N, ...) feature vectors hold a NaN or an infinity: one such vector makes
    the whole covariance NaN, and the eigen-solver then fails ("Eigenvalues did not converge")
    instead of giving a distance, so callers check before fitting."""
    x = np.asarray(features, dtype=np.float64)
    return int((~np.isfinite(x.reshape(len(x), -1))).any(axis=1).sum()) if x.ndim else int(not np.isfinite(x))


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) features -> mean (D,) and unbiased covariance (D, D), as StyleGAN-V's FVD fits them."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors (N, D) to fit a Gaussian, got shape {x.shape}")
    bad = nonfinite_rows(x)
    if bad:
        raise ValueError(f"{bad} of {len(x)} feature vectors are not finite (NaN or inf): no Gaussian to fit")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """d^2 = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))  (Dowson & Landau 1982).

    tr (S1 S2)^(1/2) is the sum of square roots of the eigenvalues of S1^(1/2) S2 S1^(1/2): that
    matrix is symmetric PSD, so ``eigh`` gives real, clipped-at-zero eigenvalues, where scipy's
    general ``sqrtm`` of the non-symmetric product returns complex noise on rank-deficient
    covariances (few videos, many features) and needs its imaginary part thrown away.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"Fréchet distance needs matching shapes, got {mu1.shape}, {s1.shape}, {mu2.shape}, {s2.shape}")
    r1 = _sqrt_psd(s1)
    m = r1 @ s2 @ r1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    d = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)
    return max(d, 0.0)


def frechet_distance_of_features(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two (N, D) feature sets."""
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))
