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
must stay the same as the Go families in bench/families.go and
bench/batched.go.

For the batched families (x of shape [B, d], "sample": d in the request) the
method "vmap" times the per-sample route of ML code: J_i for every row by
vmap(jacrev(f_sample))(X) -> [B, d, d], torch.linalg.slogdet and the batched
torch.linalg.solve of dx, all together; in the same request it times
PyTorch's own primal f(X) under no_grad, and it answers with

    {..., "primal_times": [...], "logdet": "/tmp/.../logdet-vmap.f64"}

holding the B per-sample log|det J_i|.
"""

import json
import os
import sys
import time


def build_sample(torch, kind, params, arrays):
    """Returns a batched family's f on rows: x of shape [..., d] -> [..., d]
    (one sample, or a batch of them)."""
    if kind == "residual":
        d, h, scale = int(params["d"]), int(params["hidden"]), params["scale"]
        W1, b1, W2 = arrays["W1"].reshape(d, h), arrays["b1"], arrays["W2"].reshape(h, d)

        def g(x):
            return x + torch.tanh(x @ W1 + b1) @ W2 * scale
        return g
    if kind == "flow":
        d, h, L = int(params["d"]), int(params["hidden"]), int(params["layers"])
        k = d // 2
        W1 = arrays["W1"].reshape(L, k, h)
        b1 = arrays["b1"].reshape(L, h)
        Ws = arrays["Ws"].reshape(L, h, d - k)
        bs = arrays["bs"].reshape(L, d - k)
        Wt = arrays["Wt"].reshape(L, h, d - k)
        scale = arrays["scale"].reshape(L, d)
        Wm = arrays["Wm"].reshape(L, d, d)

        def g(x):
            for l in range(L):
                a, b = x[..., :k], x[..., k:]
                z = torch.tanh(a @ W1[l] + b1[l])
                s = torch.tanh(z @ Ws[l] + bs[l])
                t = z @ Wt[l]
                x = torch.cat([a, b * torch.exp(s) + t], dim=-1)
                x = x * scale[l]
                x = x @ Wm[l]
            return x
        return g
    return None


def build(torch, kind, n, params, arrays):
    """Returns the family's f: R^n -> R^n."""
    g = build_sample(torch, kind, params, arrays)
    if g is not None:
        rows = int(params["rows"])

        def f(x):
            return g(x.reshape(rows, -1)).reshape(n)
        return f
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
    if kind == "bratu2d":
        lam, m = params["lambda"], int(params["m"])
        h2 = float((m + 1) ** 2)

        def f(u):
            g = torch.nn.functional.pad(u.reshape(m, m), (1, 1, 1, 1))
            lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
            return (lap * h2 + lam * torch.exp(g[1:-1, 1:-1])).reshape(n)
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


def repeat(body, reps, budget):
    """Times body up to reps times, stopping once budget seconds are used."""
    times, total = [], 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        body()
        t = time.perf_counter() - t0
        times.append(t)
        total += t
        if total >= budget:
            break
    return times


def main():
    import numpy
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    jacfwd, jacrev, vmap, src = None, None, None, ""
    try:
        from torch.func import jacfwd, jacrev, vmap
        src = "torch.func"
    except ImportError:
        try:
            from functorch import jacfwd, jacrev, vmap
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
            note, extra = "", {}
            reps, budget = max(1, int(req.get("reps", 1))), req.get("budget", 0)
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
            elif method == "vmap":
                if vmap is None:
                    raise RuntimeError("no torch.func or functorch vmap")
                sample = int(req.get("sample") or 0)
                g = build_sample(torch, req["kind"], req.get("params") or {}, arrays)
                if g is None or sample <= 0:
                    raise ValueError("kind %r is not a batched family" % req["kind"])
                X, dY = x.reshape(-1, sample), dy.reshape(-1, sample)

                def primal():
                    with torch.no_grad():
                        return g(X)
                extra["primal_times"] = repeat(primal, reps, budget)
                per_sample = vmap(jacrev(g))

                def run():
                    J = per_sample(X)  # [B, d, d]
                    _, logdet = torch.linalg.slogdet(J)
                    return torch.linalg.solve(J, dY.unsqueeze(-1)).squeeze(-1).reshape(n), logdet
            else:
                raise ValueError("unknown method %r" % method)
            if method != "vmap":
                def run():
                    J = jac()
                    return torch.linalg.solve(J, dy), None
            res = []

            def once():
                res[:] = run()
            times = repeat(once, reps, budget)
            dx, logdet = res
            out = os.path.join(d, "dx-%s.f64" % method)
            dx.detach().numpy().astype("<f8").tofile(out)
            if logdet is not None:
                extra["logdet"] = os.path.join(d, "logdet-%s.f64" % method)
                logdet.detach().numpy().astype("<f8").tofile(extra["logdet"])
            resp = {"method": method, "times": times, "dx": out, "note": note}
            resp.update(extra)
        except Exception as e:  # reported to the harness, which records it
            resp = {"error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")}
        print(json.dumps(resp), flush=True)


if __name__ == "__main__":
    main()
