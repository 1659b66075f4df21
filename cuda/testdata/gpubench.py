#!/usr/bin/env python3
"""Reference batched LU timings for invad's GPU batched LU (BenchmarkGPUBatchLU).

Times, on the same GPU and batch shapes as the Go benchmark, float64:
  - torch.linalg.lu_factor on a (m, k, k) batch;
  - cuBLAS dgetrfBatched through CuPy (an array of pointers to the blocks);
and prints one line per (library, k, m): seconds per factorization and blocks/s.
Without a GPU it says so and runs torch on the CPU with small batches, which
only checks that the script works. Usage: python3 gpubench.py [--quick]
"""
import sys
import time

KS = [2, 3, 4, 8, 16, 32]


def batch_size(k, quick):
    if quick:
        return 1000
    return 1_000_000 if k <= 16 else 200_000


def timeit(fn, sync, reps=5):
    fn()
    sync()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_torch(quick):
    try:
        import torch
    except ImportError:
        print("torch: not installed")
        return
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    if dev == "cpu":
        print("torch: no CUDA device, running on the CPU to check the script only")
        quick = True
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    name = torch.cuda.get_device_name(0) if dev == "cuda" else "cpu"
    for k in KS:
        m = batch_size(k, quick)
        g = torch.Generator(device=dev).manual_seed(k)
        a = torch.rand((m, k, k), dtype=torch.float64, device=dev, generator=g) * 2 - 1
        a += k * torch.eye(k, dtype=torch.float64, device=dev)  # as the Go benchmark: no refused block
        s = timeit(lambda: torch.linalg.lu_factor(a), sync)
        print(f"torch.linalg.lu_factor {name} k={k} m={m}: {s:.6f} s, {m / s:.4g} blocks/s")


def bench_cublas(quick):
    try:
        import cupy
        from cupy_backends.cuda.libs import cublas
    except ImportError:
        print("cupy: not installed, cuBLAS dgetrfBatched skipped")
        return
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # no driver or device
        print(f"cupy: no CUDA device ({e}), cuBLAS skipped")
        return
    handle = cupy.cuda.device.get_cublas_handle()
    for k in KS:
        m = batch_size(k, quick)
        rng = cupy.random.default_rng(k)
        a = rng.random((m, k, k), dtype=cupy.float64) * 2 - 1
        a += k * cupy.eye(k, dtype=cupy.float64)
        work = a.copy()
        # cuBLAS is column-major: each block is factorized transposed, the
        # same work.
        ptrs = cupy.arange(m, dtype=cupy.uint64) * (k * k * 8) + work.data.ptr
        piv = cupy.empty((m, k), dtype=cupy.int32)
        info = cupy.empty(m, dtype=cupy.int32)

        def run():
            work[...] = a
            cublas.dgetrfBatched(handle, k, ptrs.data.ptr, k, piv.data.ptr, info.data.ptr, m)

        def copy_only():
            work[...] = a

        sync = cupy.cuda.Device().synchronize
        s = timeit(run, sync) - timeit(copy_only, sync)
        print(f"cublasDgetrfBatched k={k} m={m}: {s:.6f} s (copy-in subtracted), {m / s:.4g} blocks/s")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    bench_torch(quick)
    bench_cublas(quick)
