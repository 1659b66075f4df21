#!/usr/bin/env python3
"""Times scipy.sparse.linalg.splu (SuperLU) on the 5-point stencil of a k×k
grid, the matrix of BenchmarkFactorSparse: unknown r·k+c couples to its four
neighbours, diagonal ±(c+1+u) with c its column's nonzeros and u uniform in
[0, 1), off-diagonal entries uniform in [-1, 1) (diagonally dominant, so no
pivot leaves the diagonal). Not run by the tests; compare its times with
the factor-ns and solve-ns metrics of BenchmarkFactorSparse on the same
machine.

Usage: python3 splu_grid.py [k ...] (default 300 1000)
"""
import sys
import time

import numpy as np
import scipy
import scipy.sparse as sp
import scipy.sparse.linalg as sla


def grid(k, rng):
    n = k * k
    idx = np.arange(n).reshape(k, k)
    rows = [idx.ravel()]
    cols = [idx.ravel()]
    for a, b in ((idx[:, 1:], idx[:, :-1]), (idx[:, :-1], idx[:, 1:]),
                 (idx[1:, :], idx[:-1, :]), (idx[:-1, :], idx[1:, :])):
        rows.append(a.ravel())
        cols.append(b.ravel())
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    v = rng.uniform(-1, 1, r.size)
    count = np.bincount(c, minlength=n)
    d = r == c
    v[d] = np.copysign(count[c[d]] + 1 + rng.uniform(0, 1, d.sum()), v[d])
    return sp.csc_matrix((v, (r, c)), shape=(n, n))


def main():
    ks = [int(a) for a in sys.argv[1:]] or [300, 1000]
    rng = np.random.default_rng(1)
    print(f"scipy {scipy.__version__}, numpy {np.__version__}")
    for k in ks:
        a = grid(k, rng)
        b = rng.uniform(-1, 1, a.shape[0])
        for spec in ("COLAMD", "MMD_AT_PLUS_A"):
            t0 = time.perf_counter()
            lu = sla.splu(a, permc_spec=spec)
            t1 = time.perf_counter()
            x = lu.solve(b)
            t2 = time.perf_counter()
            res = np.abs(a @ x - b).max()
            print(f"k={k} n={k*k} {spec}: factor {t1-t0:.3f} s, solve {t2-t1:.3f} s, "
                  f"nnz(L+U)={lu.L.nnz + lu.U.nnz - k*k}, fill {(lu.L.nnz + lu.U.nnz - k*k)/a.nnz:.1f}x, "
                  f"residual {res:.2g}", flush=True)


if __name__ == "__main__":
    main()
