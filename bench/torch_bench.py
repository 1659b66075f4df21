"""PyTorch side of `invad bench`.

The harness (bench/torch.go) starts this script once and talks to it in JSON
lines. The script first prints what it runs on:

    {"torch": "1.13.0", "threads": 2, "jacfwd": "functorch", "blas": "openblas"}

then answers one request per line of standard input:

    {"kind": "coupling", "n": 1008, "dir": "/tmp/...", "method": "jacobian",
     "params": {"rows": 63}, "arrays": ["W1", ...], "reps": 3, "budget": 2.0}

The directory holds x.f64, dy.f64 and each named array as little-endian
float64. The script rebuilds the family's f in torch (float64, CPU), times
J = jacobian(f)(x) followed by dx = torch.linalg.solve(J, dy) up to `reps`
times (stopping once `budget` seconds are used), writes dx to
dx-<method>.f64 and answers

    {"method": "jacobian", "times": [0.12, 0.11], "dx": "/tmp/.../dx-jacobian.f64", "note": ""}

or {"error": "..."}. The harness checks dx with invad's JVP. The functions
must stay the same as the Go families in bench/families.go.
"""

import json
import os
import sys
import time


def build(torch, kind, n, params, arrays):
    """Returns the family's f: R^n -> R^n."""
    if kind == "elementwise":
        def f(x):
            a = 0.5 * torch.sin(x)
            d = torch.exp(a) * x
            g = torch.sigmoid(torch.tanh(d) + x)
            return torch.log(g * g + 1)
        return f
    if kind == "coupling":
        rows, half, hidden = int(params["rows"]), 8, 16
        W = {k: arrays[k].reshape((half, hidden) if k in ("W1", "W2") else (hidden, half))
             for k in arrays}

        def layer(u, v, i):
            h = torch.tanh(u @ W["W%d" % i])
            return v * torch.exp(h @ W["Ws%d" % i]) + h @ W["Wt%d" % i]

        def f(x):
            x2 = x.reshape(2 * rows, half)
            a, b = x2[:rows], x2[rows:]
            b2 = layer(a, b, 1)
            a2 = layer(b2, a, 2)
            return torch.cat([a2, b2]).reshape(n)
        return f
    if kind == "kinetics":
        m, h = int(params["m"]), params["h"]
        k1, k2, k3, yn = arrays["k1"], arrays["k2"], arrays["k3"], arrays["yn"]

        def f(x):
            y1, y2, y3 = x[:m], x[m:2 * m], x[2 * m:]
            a = k1 * y1
            b = k2 * (y2 * y3)
            c = k3 * (y2 * y2)
            fs = [b - a, (a - b) - c, c]
            ys = [y1, y2, y3]
            return torch.cat([(ys[i] - yn[i * m:(i + 1) * m]) - h * fs[i] for i in range(3)])
        return f
    if kind == "bratu":
        lam, h2 = params["lambda"], float((n + 1) ** 2)
        z = torch.zeros(1, dtype=torch.float64)

        def f(u):
            left, right = torch.cat([z, u[:-1]]), torch.cat([u[1:], z])
            return ((left + right) - 2 * u) * h2 + lam * torch.exp(u)
        return f
    if kind == "wx":
        Wm = arrays["W"].reshape(n, n)
        return lambda x: Wm @ x
    raise ValueError("unknown kind %r" % kind)


def blas_name():
    try:
        with open("/proc/self/maps") as fh:
            maps = fh.read()
    except OSError:
        return "unknown"
    for name in ("openblas", "mkl", "blis", "atlas"):
        if name in maps:
            return name
    if "libblas" in maps:
        return "reference BLAS"
    return "unknown"


def main():
    import numpy
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    jacfwd, src = None, ""
    try:
        from torch.func import jacfwd
        src = "torch.func"
    except ImportError:
        try:
            from functorch import jacfwd
            src = "functorch"
        except ImportError:
            pass
    a = torch.ones(64, 64, dtype=torch.float64)
    torch.linalg.solve(a + 64 * torch.eye(64, dtype=torch.float64), a)  # loads the BLAS
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "jacfwd": src, "blas": blas_name()}), flush=True)

    def load(d, name):
        return torch.from_numpy(numpy.fromfile(os.path.join(d, name + ".f64"), dtype="<f8"))

    for line in sys.stdin:
        try:
            req = json.loads(line)
            d, n, method = req["dir"], req["n"], req["method"]
            x, dy = load(d, "x"), load(d, "dy")
            arrays = {k: load(d, k) for k in req.get("arrays") or []}
            f = build(torch, req["kind"], n, req.get("params") or {}, arrays)
            note = ""
            if method == "jacobian":
                def jac():
                    return torch.autograd.functional.jacobian(f, x, vectorize=True)
                try:
                    jac()
                except RuntimeError as e:  # vmap cannot batch an op: one VJP per row
                    note = "vectorize=False (%s)" % str(e).splitlines()[0][:80]

                    def jac():
                        return torch.autograd.functional.jacobian(f, x)
            elif method == "jacfwd":
                if jacfwd is None:
                    raise RuntimeError("no torch.func or functorch jacfwd")

                def jac():
                    return jacfwd(f)(x)
            else:
                raise ValueError("unknown method %r" % method)
            times, total, dx = [], 0.0, None
            for _ in range(max(1, int(req.get("reps", 1)))):
                t0 = time.perf_counter()
                J = jac()
                dx = torch.linalg.solve(J, dy)
                t = time.perf_counter() - t0
                del J
                times.append(t)
                total += t
                if total >= req.get("budget", 0):
                    break
            out = os.path.join(d, "dx-%s.f64" % method)
            dx.numpy().astype("<f8").tofile(out)
            resp = {"method": method, "times": times, "dx": out, "note": note}
        except Exception as e:  # reported to the harness, which records it
            resp = {"error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")}
        print(json.dumps(resp), flush=True)


if __name__ == "__main__":
    main()
