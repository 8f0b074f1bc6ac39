"""Pareto/NBD and BG/NBD: numerics against high precision, parameter recovery, calibration."""

from __future__ import annotations

import numpy as np
import pytest
from c4.features.btyd import (
    BtydData,
    _pnbd_log_a0,
    bgnbd_expected,
    fit_btyd,
    pnbd_expected,
    pnbd_p_alive,
)

mpmath = pytest.importorskip("mpmath")


def _exact_log_a0(r, alpha, s, beta, x, t_x, T) -> float:
    mpmath.mp.dps = 50
    r, alpha, s, beta, x, t_x, T = (mpmath.mpf(float(v)) for v in (r, alpha, s, beta, x, t_x, T))
    rsx = r + s + x
    mx, b = (alpha, s + 1) if alpha >= beta else (beta, r + x)
    d = abs(alpha - beta)

    def g(t):
        return mpmath.hyp2f1(rsx, b, rsx + 1, d / (mx + t)) / (mx + t) ** rsx

    return float(mpmath.log(g(t_x) - g(T)))


def test_log_a0_matches_high_precision_everywhere() -> None:
    rng = np.random.default_rng(3)
    worst = 0.0
    for _ in range(150):
        p = np.exp(rng.uniform([-3, -2, -3, -2], [1, 3, 5, 8]))  # includes the z -> 1 regime
        T = rng.uniform(0.5, 80)
        t_x = T * rng.uniform(0, 0.95) if rng.random() < 0.7 else 0.0
        x = float(rng.poisson(3) + 1) if t_x > 0 else 0.0
        got = _pnbd_log_a0(p, BtydData(np.array([x]), np.array([t_x]), np.array([T])))[0]
        worst = max(worst, abs(got - _exact_log_a0(*p, x, t_x, T)))
    assert worst < 1e-4


def _simulate(n: int, r: float, alpha: float, s: float, beta: float, rng: np.random.Generator):
    """Pareto/NBD customers observed for T weeks, plus their purchases in the next 8 weeks."""
    T = rng.uniform(10, 70, n)
    lam, mu = rng.gamma(r, 1 / alpha, n), rng.gamma(s, 1 / beta, n)
    death = rng.exponential(1 / mu)
    t, x, t_x, future = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        i = np.flatnonzero(alive)
        t[i] += rng.exponential(1 / lam[i])
        seen = t[i] < np.minimum(death[i], T[i])
        later = (t[i] >= T[i]) & (t[i] < np.minimum(death[i], T[i] + 8))
        x[i[seen]] += 1
        t_x[i[seen]] = t[i[seen]]
        future[i[later]] += 1
        alive[i[t[i] >= np.minimum(death[i], T[i] + 8)]] = False
    return BtydData(x, t_x, T), death > T, future


def test_fit_recovers_parameters_and_is_calibrated() -> None:
    rng = np.random.default_rng(1)
    d, alive, future = _simulate(4000, 0.55, 10.6, 0.61, 11.7, rng)
    fit = fit_btyd(d)
    assert fit.pnbd_ok and fit.bgnbd_ok
    r, alpha, _, _ = fit.pnbd
    assert 0.45 < r < 0.7 and 7 < alpha < 15 and r / alpha == pytest.approx(0.55 / 10.6, rel=0.15)
    p = pnbd_p_alive(fit.pnbd, d)
    assert p.mean() == pytest.approx(alive.mean(), abs=0.03)
    for lo, hi in ((0, 0.3), (0.3, 0.7), (0.7, 1.01)):
        band = (p >= lo) & (p < hi)
        assert abs(p[band].mean() - alive[band].mean()) < 0.06
    for expected in (pnbd_expected(fit.pnbd, d, 8.0), bgnbd_expected(fit.bgnbd, d, 8.0)):
        assert np.isfinite(expected).all() and (expected >= 0).all()
        assert expected.sum() == pytest.approx(future.sum(), rel=0.15)
        assert np.corrcoef(expected, future)[0, 1] > 0.5


def test_fit_is_deterministic_and_p_alive_is_one_at_a_fresh_visit() -> None:
    d, _, _ = _simulate(600, 0.5, 5.0, 0.8, 10.0, np.random.default_rng(2))
    a, b = fit_btyd(d), fit_btyd(d)
    assert np.array_equal(a.pnbd, b.pnbd) and np.array_equal(a.bgnbd, b.bgnbd)
    fresh = BtydData(np.array([3.0]), np.array([20.0]), np.array([20.0]))
    assert pnbd_p_alive(a.pnbd, fresh)[0] == pytest.approx(1.0)
