"""Times SciPy's sparse direct solvers on the exactly assembled Jacobian of
the 2-D Bratu residual at u = 0 on an m×m grid (the first Newton step):
J = (5-point Laplacian)/h² + λ·I, row by row as examples/bratu orders it.

    /usr/bin/python3 examples/bratu/testdata/scipy_bratu2d.py M LAMBDA

prints one JSON line: the assembly, spsolve (SuperLU, COLAMD) and
splu + solve times in seconds (the best of a few runs), and the relative
residual of each solution. BenchmarkBratu2D runs it when SciPy is there.
"""
import json
import sys
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla


def best(f, reps):
    t, out = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = f()
        t = min(t, time.perf_counter() - t0)
    return t, out


def main():
    m, lam = int(sys.argv[1]), float(sys.argv[2])
    n, h2 = m * m, float((m + 1) ** 2)

    def assemble():
        main_ = np.full(n, -4.0 * h2 + lam)
        side = np.full(n - 1, h2)
        side[np.arange(1, n) % m == 0] = 0.0  # no neighbour across a row end
        vert = np.full(n - m, h2)
        return sp.diags([main_, side, side, vert, vert], [0, -1, 1, -m, m], format="csc")

    reps = 3 if n <= 100_000 else 1
    t_asm, J = best(assemble, reps)
    b = np.cos(3.0 * np.arange(n) + 1.0)
    t_spsolve, x1 = best(lambda: spla.spsolve(J, b), reps)
    t_splu, lu = best(lambda: spla.splu(J), reps)
    t_solve, x2 = best(lambda: lu.solve(b), reps)
    res = lambda x: float(np.linalg.norm(J @ x - b) / np.linalg.norm(b))
    print(json.dumps({"n": n, "assemble": t_asm, "spsolve": t_spsolve, "splu": t_splu, "solve": t_solve,
                      "res_spsolve": res(x1), "res_splu": res(x2)}))


main()
