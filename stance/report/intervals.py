"""Bootstrap intervals of a ratio per key, resampling the key's rows (a report's articles).

A Poisson bootstrap (each row's weight drawn from Poisson(1), as in Hanley &
MacGibbon 2006 and Chamandy et al. 2012), which is the ordinary bootstrap over
rows for all but the smallest keys, and runs in one vectorised pass over
millions of keys.
"""

from __future__ import annotations

import math

import numpy as np

# Poisson(1) by inverse CDF over 16 random bits: one table lookup per weight.
_U16 = 1 << 16


def _poisson_table() -> np.ndarray:
    pmf = [math.exp(-1) / math.factorial(k) for k in range(20)]
    cdf = np.cumsum(pmf)
    return np.searchsorted(cdf, (np.arange(_U16) + 0.5) / _U16).astype(np.float32)


def bootstrap_intervals(
    keys: np.ndarray,
    value: np.ndarray,
    weight: np.ndarray,
    replicates: int = 200,
    seed: int = 0,
    level: float = 0.95,
    chunk_rows: int = 1 << 16,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per key: Σvalue/Σweight and its interval, resampling the rows (articles) of each key.

    `keys` must be sorted (rows of a key together). Returns, per distinct key in
    order, the estimate and the lower and upper percentile bounds of a Poisson
    bootstrap with `replicates` resamples. A key with one row gets its estimate
    as both bounds. Memory is bounded by `chunk_rows` × `replicates`, not by the
    number of rows: the rows of keys with two or more are taken in chunks, and
    each chunk's weighted sums per key are one sparse × dense product.
    """
    n_rows = len(keys)
    if n_rows == 0:
        empty = np.zeros(0)
        return empty, empty, empty
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], n_rows]
    estimate = np.add.reduceat(value, starts) / np.add.reduceat(weight, starts)
    low, high = estimate.copy(), estimate.copy()
    multi = np.flatnonzero(ends - starts >= 2)
    if len(multi) == 0 or replicates < 2:
        return estimate, low, high
    # The rows of the keys to resample, side by side, and which of them each row belongs to.
    seg, rows = _side_by_side(starts[multi], ends[multi] - starts[multi])
    v, w = value[rows].astype(np.float32), weight[rows].astype(np.float32)
    table = _poisson_table()
    rng = np.random.default_rng(seed)
    quantiles = ((1 - level) / 2, 1 - (1 - level) / 2)
    carry: tuple[int, np.ndarray, np.ndarray] | None = None  # a key whose rows go on into the next chunk
    total = len(seg)
    for a in range(0, total, chunk_rows):
        b = min(total, a + chunk_rows)
        draws = table[rng.integers(0, _U16, size=(b - a, replicates), dtype=np.uint16)]
        sums, totals = _weighted_sums(v[a:b], w[a:b], seg[a:b] - seg[a], draws)
        m = sums.shape[0]
        if carry is not None and carry[0] == seg[a]:
            sums[0] += carry[1]
            totals[0] += carry[2]
        complete = m if b == total or seg[b] != seg[b - 1] else m - 1
        carry = None if complete == m else (int(seg[b - 1]), sums[m - 1].copy(), totals[m - 1].copy())
        if complete:
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(totals[:complete] > 0, sums[:complete] / totals[:complete], np.nan)
            lo, hi = _row_quantiles(ratio, quantiles)
            done = multi[seg[a] + np.arange(complete)]
            low[done], high[done] = lo, hi
    return estimate, low, high


def _side_by_side(starts: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The segments of `sizes` rows from `starts`, concatenated: the segment of each row, and the row's index."""
    seg = np.repeat(np.arange(len(starts)), sizes)
    rows = starts[seg] + np.arange(len(seg)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return seg, rows


def _weighted_sums(v: np.ndarray, w: np.ndarray, local: np.ndarray, draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per key of one chunk (`local`: each row's key, from 0) and replicate: Σ v × draw and Σ w × draw."""
    from scipy.sparse import csr_matrix

    rows = len(local)
    m = int(local[-1]) + 1
    indptr = np.searchsorted(local, np.arange(m + 1))
    columns = np.arange(rows)
    sums = csr_matrix((v, columns, indptr), shape=(m, rows)) @ draws
    totals = csr_matrix((w, columns, indptr), shape=(m, rows)) @ draws
    return sums, totals


def _row_quantiles(values: np.ndarray, q: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Linear-interpolated quantiles of each row, ignoring NaN (a resample that drew none of the key's rows)."""
    ordered = np.sort(values, axis=1)  # NaN sorts last
    valid = np.maximum((~np.isnan(ordered)).sum(axis=1), 1)
    out = []
    for quantile in q:
        pos = quantile * (valid - 1)
        below = np.floor(pos).astype(int)
        above = np.minimum(below + 1, valid - 1)
        frac = pos - below
        a = np.take_along_axis(ordered, below[:, None], axis=1)[:, 0]
        b = np.take_along_axis(ordered, above[:, None], axis=1)[:, 0]
        out.append(a + (b - a) * frac)
    return out[0], out[1]
