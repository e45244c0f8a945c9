import numpy as np
import pytest
import scipy.linalg

from eval.frechet import frechet_distance, frechet_distance_of_features, gaussian_stats


def test_one_dimensional_closed_form():
    # d^2 = (mu1 - mu2)^2 + (s1 - s2)^2 for N(mu1, s1^2), N(mu2, s2^2)
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx((1 - 3) ** 2 + (2 - 3) ** 2)


def test_diagonal_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, 2.0])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    want = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(want)


def test_full_covariances_match_scipy_sqrtm():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    want = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(want, rel=1e-9)


def test_identical_feature_sets_are_at_zero_distance():
    # fewer samples than dimensions: rank-deficient covariances, where a general sqrtm is noisy
    x = np.random.default_rng(1).normal(size=(6, 64))
    assert frechet_distance_of_features(x, x) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance_of_features(x, x + 1.0) == pytest.approx(64.0, rel=1e-6)  # shift only


def test_sample_estimate_approaches_the_closed_form():
    rng = np.random.default_rng(2)
    x = rng.normal([0.0, 0.0], [1.0, 2.0], size=(20000, 2))
    y = rng.normal([1.0, 0.0], [1.0, 1.0], size=(20000, 2))
    assert frechet_distance_of_features(x, y) == pytest.approx(1.0 + 1.0, abs=0.1)


def test_one_sample_is_an_error():
    with pytest.raises(ValueError, match="at least 2"):
        gaussian_stats(np.zeros((1, 3)))
