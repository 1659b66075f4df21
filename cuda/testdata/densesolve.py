"""The dense way to take J⁻¹v, timed on the GPU for the comparison of issue 5.

For the coupling family of package bench (an affine coupling layer over a
batch of rows of 2·8 features, 8×16 and 16×8 MLP weights; random weights of
the same shapes: the cost does not depend on them) it times, in float64:

  primal: f(x), jitted (JAX) or plain (PyTorch)
  dense:  solve(jacfwd(f)(x), v): the n×n Jacobian by forward mode, then LU

for n = 1024·2^k until the Jacobian does not fit (out of memory) or one
dense solve takes longer than --budget seconds. invad's side is
BenchmarkGPUProducts/coupling in package cuda (the device IJVP over the
device primal). Run: python3 densesolve.py [--framework jax|torch|both].
The JAX path has not run anywhere yet (no JAX where it was written); the
PyTorch path ran on a CPU (PyTorch 1.13).
"""
import argparse
import math
import time

HALF, HIDDEN = 8, 16


def timed(fn, sync, reps=3):
    fn()
    sync()  # warm-up (compilation)
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def run_jax(sizes, budget):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    dev = jax.devices()[0]
    print(f"JAX {jax.__version__} on {dev.device_kind} ({dev.platform})")
    key = jax.random.PRNGKey(0)
    k1, k2, k3, k4, k5 = jax.random.split(key, 5)
    w1 = jax.random.normal(k1, (HALF, HIDDEN)) / math.sqrt(HALF)
    ws = 0.3 * jax.random.normal(k2, (HIDDEN, HALF)) / math.sqrt(HIDDEN)
    wt = jax.random.normal(k3, (HIDDEN, HALF)) / math.sqrt(HIDDEN)
    for n in sizes:
        rows = n // (2 * HALF)

        def f(x):
            x2 = x.reshape(2 * rows, HALF)
            a, b = x2[:rows], x2[rows:]
            h = jnp.tanh(a @ w1)
            return jnp.concatenate([a, b * jnp.exp(h @ ws) + h @ wt]).reshape(n)

        x = jax.random.normal(k4, (n,))
        v = jax.random.normal(k5, (n,))
        fj = jax.jit(f)
        dense = jax.jit(lambda x, v: jnp.linalg.solve(jax.jacfwd(f)(x), v))
        tp = timed(lambda: fj(x).block_until_ready(), lambda: None)
        try:
            td = timed(lambda: dense(x, v).block_until_ready(), lambda: None, reps=1)
        except Exception as e:  # XlaRuntimeError RESOURCE_EXHAUSTED, ...
            print(f"jax  n={n:>9}  primal {tp*1e3:10.3f} ms  dense: failed ({type(e).__name__}: {str(e).splitlines()[0][:100]})")
            break
        print(f"jax  n={n:>9}  primal {tp*1e3:10.3f} ms  dense {td*1e3:12.1f} ms  dense/primal {td/tp:12.0f}")
        if td > budget:
            break


def run_torch(sizes, budget):
    import torch

    cuda = torch.cuda.is_available()
    dev = torch.device("cuda" if cuda else "cpu")
    name = torch.cuda.get_device_name(0) if cuda else "CPU"
    print(f"PyTorch {torch.__version__} on {name}")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    g = torch.Generator(device="cpu").manual_seed(0)
    w1 = (torch.randn(HALF, HIDDEN, generator=g, dtype=torch.float64) / math.sqrt(HALF)).to(dev)
    ws = (0.3 * torch.randn(HIDDEN, HALF, generator=g, dtype=torch.float64) / math.sqrt(HIDDEN)).to(dev)
    wt = (torch.randn(HIDDEN, HALF, generator=g, dtype=torch.float64) / math.sqrt(HIDDEN)).to(dev)
    for n in sizes:
        rows = n // (2 * HALF)

        def f(x):
            x2 = x.reshape(2 * rows, HALF)
            a, b = x2[:rows], x2[rows:]
            h = torch.tanh(a @ w1)
            return torch.cat([a, b * torch.exp(h @ ws) + h @ wt]).reshape(n)

        x = torch.randn(n, generator=g, dtype=torch.float64).to(dev)
        v = torch.randn(n, generator=g, dtype=torch.float64).to(dev)

        def dense():
            try:
                from torch.func import jacfwd  # PyTorch ≥ 2.0
                J = jacfwd(f)(x)
            except ImportError:
                J = torch.autograd.functional.jacobian(f, x, vectorize=True, strategy="forward-mode")
            return torch.linalg.solve(J, v)

        with torch.no_grad():
            tp = timed(lambda: f(x), sync)
        try:
            td = timed(dense, sync, reps=1)
        except RuntimeError as e:  # CUDA out of memory, ...
            print(f"torch n={n:>9}  primal {tp*1e3:10.3f} ms  dense: failed ({str(e).splitlines()[0][:100]})")
            break
        print(f"torch n={n:>9}  primal {tp*1e3:10.3f} ms  dense {td*1e3:12.1f} ms  dense/primal {td/tp:12.0f}")
        if td > budget:
            break


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--framework", default="both", choices=["jax", "torch", "both"])
    ap.add_argument("--max-n", type=int, default=1 << 20)
    ap.add_argument("--budget", type=float, default=20.0, help="stop after a dense solve slower than this (s)")
    a = ap.parse_args()
    sizes = []
    n = 1024
    while n <= a.max_n:
        sizes.append(n)
        n *= 2
    for fw, run in (("jax", run_jax), ("torch", run_torch)):
        if a.framework in (fw, "both"):
            try:
                run(sizes, a.budget)
            except ImportError as e:
                print(f"{fw}: not installed ({e})")


if __name__ == "__main__":
    main()
