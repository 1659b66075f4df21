// Shared definitions of the invad kernels. Compiled by NVRTC (tools/ptxgen),
// or by a host C++ compiler with INVAD_HOSTEMU defined, where hostemu.h
// provides the CUDA built-ins for a CPU emulation used in tests.
#pragma once

#ifndef INVAD_HOSTEMU
#define INVAD_DYN_SHARED(T, name) extern __shared__ T name[]
typedef long long i64;
typedef unsigned long long u64;
__device__ __forceinline__ u64 abs_bits(double x) { return (u64)__double_as_longlong(x) & 0x7fffffffffffffffULL; }
__device__ __forceinline__ double from_bits(u64 b) { return __longlong_as_double((long long)b); }
#endif

// The index of this thread in a one-dimensional grid, and the grid's size.
__device__ __forceinline__ i64 global_index() { return (i64)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ i64 global_stride() { return (i64)blockDim.x * gridDim.x; }

// block_sum returns, in thread 0, the sum of v over the block of 256
// threads, in a fixed order.
__device__ __forceinline__ double block_sum(double v) {
    __shared__ double s[256];
    s[threadIdx.x] = v;
    __syncthreads();
    for (int h = 128; h > 0; h >>= 1) {
        if ((int)threadIdx.x < h) s[threadIdx.x] += s[threadIdx.x + h];
        __syncthreads();
    }
    return s[0];
}

// partials_sum returns, in thread 0 of a single block of 256 threads, the
// sum of part[0..np) in a fixed order.
__device__ __forceinline__ double partials_sum(int np, const double* part) {
    double s = 0.0;
    for (int i = threadIdx.x; i < np; i += blockDim.x) s += part[i];
    return block_sum(s);
}
