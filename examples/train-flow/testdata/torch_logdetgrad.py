"""Times PyTorch's exact per-sample route to the gradient of a flow's
log-det: vmap(jacrev) of the per-sample map for the Jacobians [B, d, d],
torch.linalg.slogdet, the sum, then .backward() for the gradient with
respect to the weights and to x, in float64 on the CPU.

    /usr/bin/python3 examples/train-flow/testdata/torch_logdetgrad.py DIR

DIR holds spec.json (written by BenchmarkLogDetGrad in bench_test.go):

    {"family": "residual" | "realnvp", "threads": 2, "reps": 3,
     "arrays": [{"name": "x", "shape": [d, B]}, {"name": "p01", ...}, ...]}

and one file NAME.f64 per array: its elements as little-endian float64,
row-major in invad's shape. x is feature-major ([d, B], the samples
innermost, as invad runs it); it is transposed here to PyTorch's row-major
[B, d]. The weights keep invad's shapes (a bias is a column [h, 1]).

Prints one JSON line: the fastest of `reps` runs of the whole route
(Jacobians + slogdet + backward) and of its forward part alone (Jacobians
+ slogdet, under no_grad) in seconds, log|det| summed over the batch, and
the torch version and thread count; writes the gradient of each array as
grad_NAME.f64 in the same layout, for the Go side to compare.
"""
import json
import os
import sys
import time

import numpy as np
import torch

try:
    from torch.func import jacrev, vmap
except ImportError:  # PyTorch < 2.0
    from functorch import jacrev, vmap


def residual(x, w1, b1, w2):
    """One sample x [d] of X + W2·tanh(W1·X + b1)."""
    return x + w2 @ torch.tanh(w1 @ x + b1[:, 0])


def realnvp(x, *p):
    """One sample x [d] of the affine couplings of bench_test.go's
    realNVP32: layer l moves the half b by b·exp(s(a)) + t(a), with
    h = tanh(W1·a + b1), s = tanh(Ws·h + bs), t = Wt·h + bt; the halves
    swap roles on odd layers."""
    d = x.shape[0]
    k = d // 2
    for l in range(len(p) // 6):
        w1, b1, ws, bs, wt, bt = p[6 * l : 6 * l + 6]
        a, b = x[:k], x[k:]
        if l % 2 == 1:
            a, b = b, a
        h = torch.tanh(w1 @ a + b1[:, 0])
        s = torch.tanh(ws @ h + bs[:, 0])
        t = wt @ h + bt[:, 0]
        b = b * torch.exp(s) + t
        if l % 2 == 1:
            a, b = b, a
        x = torch.cat([a, b])
    return x


FAMILIES = {"residual": residual, "realnvp": realnvp}


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "spec.json")) as fh:
        spec = json.load(fh)
    torch.set_num_threads(int(spec.get("threads", 2)))
    f = FAMILIES[spec["family"]]
    arrs = []
    for a in spec["arrays"]:
        v = np.fromfile(os.path.join(d, a["name"] + ".f64"), dtype="<f8").reshape(a["shape"])
        arrs.append(v)
    x = torch.tensor(np.ascontiguousarray(arrs[0].T), dtype=torch.float64, requires_grad=True)  # [B, d]
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in arrs[1:]]
    jac = vmap(jacrev(f, argnums=0), in_dims=(0,) + (None,) * len(params))

    def forward():
        J = jac(x, *params)  # [B, d, d]
        return torch.linalg.slogdet(J)[1].sum()

    def route():
        for t in [x] + params:
            t.grad = None
        ld = forward()
        ld.backward()
        return ld

    reps = int(spec.get("reps", 3))
    best, ld = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        ld = route()
        best = min(best, time.perf_counter() - t0)
    best_fwd = float("inf")
    with torch.no_grad():
        for _ in range(reps):
            t0 = time.perf_counter()
            forward()
            best_fwd = min(best_fwd, time.perf_counter() - t0)
    # The gradients of the last timed run; None for a weight log|det| does
    # not depend on (the last coupling's shift bias).
    for a, t in zip(spec["arrays"], [x] + params):
        if t.grad is None:
            g = np.zeros(a["shape"])
        else:
            g = t.grad.detach().numpy()
            if a["name"] == "x":
                g = g.T
        np.ascontiguousarray(g, dtype="<f8").tofile(os.path.join(d, "grad_" + a["name"] + ".f64"))
    print(json.dumps({"route": best, "forward": best_fwd, "logdet": float(ld), "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


main()
