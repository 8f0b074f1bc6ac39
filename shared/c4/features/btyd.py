"""Customer-base models: Pareto/NBD and BG/NBD, fitted by maximum likelihood with scipy.

A small, documented, vectorised implementation (``lifetimes`` is unmaintained and does not
support numpy 2 / pandas 3).  Notation follows Fader & Hardie:

* ``x``   repeat transactions (here: visit *days* after the first one),
* ``t_x`` time of the last transaction since the first one (recency),
* ``T``   time from the first transaction to the end of observation (age),

all in weeks.  References: Schmittlein, Morrison & Colombo (1987), "Counting your customers";
Fader, Hardie & Lee (2005), "Counting your customers the easy way" (BG/NBD, eq. 3 and 10);
Fader & Hardie (2005), "A note on deriving the Pareto/NBD model and related expressions"
(likelihood, P(alive), conditional expectation).

The Gaussian hypergeometric function of the Pareto/NBD likelihood, ``2F1(a, b; a+1; z)`` with
``0 <= z < 1``, diverges near ``z = 1`` when ``b > 1``; it is evaluated in log space through
Euler's transformation ``2F1(a, b; a+1; z) = (1-z)^(1-b) 2F1(1, a+1-b; a+1; z)`` whose second
factor stays bounded.  The BG/NBD conditional expectation uses Pfaff's transformation for the
same reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betainc, betaln, gammaln, hyp2f1
from threadpoolctl import threadpool_limits

logger = logging.getLogger(__name__)

_BOUNDS = [(-8.0, 8.0)] * 4  # on log-parameters


@dataclass(frozen=True)
class BtydData:
    """Summaries of a set of customers in the (x, t_x, T) form, in weeks."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray

    @classmethod
    def from_days(
        cls, n_days: np.ndarray, first: np.ndarray, last: np.ndarray, as_of: np.ndarray
    ) -> BtydData:
        """Build from visit-day counts and first / last visit / as-of day numbers.

        Parameters
        ----------
        n_days : array of int
            Number of distinct visit days up to the as-of date (>= 1).
        first, last, as_of : array of int
            Day numbers (e.g. days since 1970-01-01) of the first visit, last visit and as-of.
        """
        x = np.asarray(n_days, dtype=float) - 1.0
        t_x = (np.asarray(last, dtype=float) - np.asarray(first, dtype=float)) / 7.0
        T = (np.asarray(as_of, dtype=float) - np.asarray(first, dtype=float)) / 7.0
        return cls(x=x, t_x=t_x, T=T)


def _log_hyp2f1_c1(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``log 2F1(a, b; a + 1; z)`` for ``a > 0``, ``0 < b < a + 1`` and ``0 <= z < 1``.

    ``b < 1`` and ``z >= 0.5``: through the incomplete beta function,
    ``2F1(a, b; a+1; z) = a z^-a B(a, 1-b) I_z(a, 1-b)`` (fast and accurate near ``z = 1``);
    otherwise scipy's ``hyp2f1``, after Euler's transformation when ``b > 1``.
    """
    a, b, z = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float), np.asarray(z, float))
    out = np.empty(a.shape)
    inc = (b < 1.0) & (z >= 0.5)
    out[inc] = (
        np.log(a[inc])
        - a[inc] * np.log(z[inc])
        + betaln(a[inc], 1.0 - b[inc])
        + np.log(betainc(a[inc], 1.0 - b[inc], z[inc]))
    )
    small = (b <= 1.0) & ~inc
    out[small] = np.log(hyp2f1(a[small], b[small], a[small] + 1.0, z[small]))
    big = b > 1.0
    out[big] = (1.0 - b[big]) * np.log1p(-z[big]) + np.log(
        hyp2f1(1.0, a[big] + 1.0 - b[big], a[big] + 1.0, z[big])
    )
    return out


_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)


def _logsumexp0(a: np.ndarray) -> np.ndarray:
    """``log(sum(exp(a), axis=0))`` without scipy's overhead (hot path of the fits)."""
    top = np.max(a, axis=0)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.log(np.sum(np.exp(a - top), axis=0)) + top


def log_power_integral(
    m: float,
    big_m: float,
    pm: np.ndarray | float,
    p_big: np.ndarray | float,
    t0: np.ndarray,
    t1: np.ndarray,
    panels: int = 4,
) -> np.ndarray:
    """``log`` of the integral over ``(t0, t1)`` of ``(m + t)^-pm (M + t)^-pM dt``, ``M >= m > 0``.

    Gauss-Legendre on ``panels`` geometric panels of ``m + t``; in each panel the variable is
    ``w = (m + t)^(1 - pm)``, which integrates the steep factor exactly and leaves the smooth
    ``(M + t)^-pM`` to the quadrature.  Used for the Pareto/NBD rows where the hypergeometric
    series converges slowly (``z`` close to 1); relative error below 1e-4 (checked against
    high-precision ``mpmath`` in the tests).
    """
    m_, big_, pm_, pb_, t0_, t1_ = np.broadcast_arrays(
        *(np.asarray(v, float) for v in (m, big_m, pm, p_big, t0, t1))
    )
    e = 1.0 - pm_
    log_step = np.log((m_ + t1_) / (m_ + t0_)) / panels
    # nodes of every panel at once: panel j covers log(m+t) in [log(m+t0) + j*step, ... + step]
    xk = np.tile((_GL_X + 1.0) / 2.0, panels)[:, None]
    jk = np.repeat(np.arange(panels, dtype=float), _GL_X.size)[:, None]
    log_wk = np.log(np.tile(_GL_W, panels) / 2.0)[:, None]
    flat = np.abs(e * log_step) < 1e-8
    e_safe = np.where(flat, 1.0, e)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_lo = np.log(m_ + t0_) + log_step * jk  # log(m + t) at each panel's start
        span = np.where(flat, log_step, np.expm1(e * log_step) / e_safe)
        w = 1.0 + np.expm1(e * log_step) * xk
        log_mt = log_lo + np.where(flat, log_step * xk, np.log(w) / e_safe)
        log_g = -pb_ * np.log(big_ - m_ + np.exp(log_mt)) + np.where(flat, e * (log_mt - log_lo), 0.0)
        return _logsumexp0(e * log_lo + np.log(span) + log_wk + log_g)


# -- Pareto/NBD -----------------------------------------------------------------------------


def _pnbd_log_a0(params: np.ndarray, d: BtydData) -> np.ndarray:
    """``log A0`` of Fader & Hardie (2005); ``-inf`` when ``t_x == T``.

    ``A0 = (r+s+x)`` times the integral over ``(t_x, T)`` of ``(alpha+t)^-(r+x) (beta+t)^-(s+1)``:
    closed form with ``2F1`` where its series converges fast, :func:`log_power_integral`
    elsewhere.
    """
    r, alpha, s, beta = params
    x, t_x, T = d.x, d.t_x, d.T
    rsx = r + s + x
    if alpha >= beta:
        mx, b = alpha, np.full_like(x, s + 1.0)
    else:
        mx, b = beta, r + x
    diff = abs(alpha - beta)
    q1, q2 = mx + t_x, mx + T
    quad = (b > 1.0) & (diff / q1 >= 0.9)
    out = np.empty(x.shape)
    c = ~quad
    term1 = _log_hyp2f1_c1(rsx[c], b[c], diff / q1[c]) - rsx[c] * np.log(q1[c])
    term2 = _log_hyp2f1_c1(rsx[c], b[c], diff / q2[c]) - rsx[c] * np.log(q2[c])
    with np.errstate(divide="ignore", invalid="ignore"):
        out[c] = term1 + np.log(-np.expm1(np.minimum(term2 - term1, 0.0)))
    if quad.any():
        if alpha < beta:
            out[quad] = np.log(rsx[quad]) + log_power_integral(
                alpha, beta, r + x[quad], s + 1.0, t_x[quad], T[quad]
            )
        else:
            out[quad] = np.log(rsx[quad]) + log_power_integral(
                beta, alpha, s + 1.0, r + x[quad], t_x[quad], T[quad]
            )
    return out


def pnbd_loglik(params: np.ndarray, d: BtydData) -> np.ndarray:
    """Per-customer log-likelihood of the Pareto/NBD model."""
    r, alpha, s, beta = params
    x, T = d.x, d.T
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_a0 = _pnbd_log_a0(params, d)
    a2 = np.logaddexp(
        -(r + x) * np.log(alpha + T) - s * np.log(beta + T), np.log(s) + log_a0 - np.log(r + s + x)
    )
    return a1 + a2


def pnbd_p_alive(params: np.ndarray, d: BtydData) -> np.ndarray:
    """P(alive at T | x, t_x, T) under Pareto/NBD."""
    r, alpha, s, beta = params
    log_a0 = _pnbd_log_a0(params, d)
    z = np.log(s) - np.log(r + s + d.x) + (r + d.x) * np.log(alpha + d.T) + s * np.log(beta + d.T) + log_a0
    return 1.0 / (1.0 + np.exp(np.minimum(z, 700.0)))


def pnbd_expected(
    params: np.ndarray, d: BtydData, t: float, *, p_alive: np.ndarray | None = None
) -> np.ndarray:
    """E[transactions in (T, T + t] | x, t_x, T] under Pareto/NBD (``t`` in weeks).

    ``p_alive``: :func:`pnbd_p_alive` of the same customers, when already computed.
    """
    r, alpha, s, beta = params
    s_ = s if abs(s - 1.0) > 1e-6 else 1.0 + 1e-6
    base = (r + d.x) * (beta + d.T) / ((alpha + d.T) * (s_ - 1.0))
    tail = 1.0 - ((beta + d.T) / (beta + d.T + t)) ** (s_ - 1.0)
    return base * tail * (pnbd_p_alive(params, d) if p_alive is None else p_alive)


# -- BG/NBD ---------------------------------------------------------------------------------


def bgnbd_loglik(params: np.ndarray, d: BtydData) -> np.ndarray:
    """Per-customer log-likelihood of the BG/NBD model (Fader, Hardie & Lee 2005, eq. 3)."""
    r, alpha, a, b = params
    x, t_x, T = d.x, d.t_x, d.T
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a3 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            betaln(a + 1.0, np.maximum(b + x - 1.0, 1e-12)) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return a1 + np.logaddexp(a3, a4)


def bgnbd_expected(params: np.ndarray, d: BtydData, t: float) -> np.ndarray:
    """E[transactions in (T, T + t] | x, t_x, T] under BG/NBD (FHL 2005, eq. 10).

    The term ``((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))`` is computed
    with Pfaff's transformation as ``2F1(r+x, a-1; a+b+x-1; -t/(alpha+T))``.
    """
    r, alpha, a, b = params
    a_ = a if abs(a - 1.0) > 1e-6 else 1.0 + 1e-6
    x, t_x, T = d.x, d.t_x, d.T
    c = a_ + b + x - 1.0
    prod = hyp2f1(r + x, a_ - 1.0, c, -t / (alpha + T))
    num = c / (a_ - 1.0) * (1.0 - prod)
    with np.errstate(over="ignore"):
        ratio = np.where(
            x > 0,
            a_ / np.maximum(b + x - 1.0, 1e-12) * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x))),
            0.0,
        )
    return num / (1.0 + ratio)


# -- fitting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BtydFit:
    """Fitted parameters of both models (weeks as the time unit)."""

    pnbd: np.ndarray  # r, alpha, s, beta
    bgnbd: np.ndarray  # r, alpha, a, b
    n: int
    pnbd_ok: bool
    bgnbd_ok: bool


def _compress(d: BtydData) -> tuple[BtydData, np.ndarray]:
    """Identical (x, t_x, T) rows collapsed into one row with a weight (same likelihood)."""
    keys = np.stack([d.x, d.t_x, d.T], axis=1)
    uniq, counts = np.unique(keys, axis=0, return_counts=True)
    return BtydData(x=uniq[:, 0], t_x=uniq[:, 1], T=uniq[:, 2]), counts.astype(float)


def _fit(loglik, d: BtydData, start: np.ndarray, maxiter: int) -> tuple[np.ndarray, bool]:
    data, weights = _compress(d)
    total = float(weights.sum())

    def nll(logp: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            ll = loglik(np.exp(logp), data)
        val = -float(np.dot(weights, ll)) / total
        return val if np.isfinite(val) else 1e10

    res = minimize(
        nll, np.log(start), method="L-BFGS-B", bounds=_BOUNDS, options={"maxiter": maxiter, "ftol": 1e-9}
    )
    return np.exp(res.x), bool(res.success) and np.isfinite(res.fun) and res.fun < 1e9


def fit_btyd(d: BtydData, *, maxiter: int = 200) -> BtydFit:
    """Fit Pareto/NBD and BG/NBD to the customers in ``d`` (deterministic, fixed start).

    Parameters
    ----------
    d : BtydData
        Customer summaries (at least a few dozen customers for a meaningful fit).
    maxiter : int
        Maximum L-BFGS-B iterations per model.

    Returns
    -------
    BtydFit
    """
    rate = max(float(np.sum(d.x)) / max(float(np.sum(d.T)), 1e-9), 1e-3)  # repeat visits per week
    r0 = 0.5
    start_p = np.array([r0, r0 / rate, 0.5, 10.0])
    start_b = np.array([r0, r0 / rate, 0.8, 2.5])
    # L-BFGS-B calls BLAS on 4x4 problems: threads only add contention (10x slower on a busy box).
    with threadpool_limits(1, user_api="blas"):
        pnbd, ok_p = _fit(pnbd_loglik, d, start_p, maxiter)
        bgnbd, ok_b = _fit(bgnbd_loglik, d, start_b, maxiter)
    logger.debug("BTYD fit on %d customers: pnbd=%s bgnbd=%s", d.x.size, pnbd, bgnbd)
    return BtydFit(pnbd=pnbd, bgnbd=bgnbd, n=int(d.x.size), pnbd_ok=ok_p, bgnbd_ok=ok_b)
