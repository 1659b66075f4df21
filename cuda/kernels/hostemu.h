// A CPU emulation of the CUDA built-ins the invad kernels use, for tests on
// machines without a GPU (cuda/hostemu_test.go). Included before the .cu
// files with INVAD_HOSTEMU defined; never seen by NVRTC.
//
// A launch runs its CTAs one after another. In a CTA, kernels without
// barriers run their threads one after another; kernels with barriers or
// warp shuffles run every thread of the CTA as a fiber, with __syncthreads a
// barrier over the CTA and __syncwarp and __shfl_xor_sync barriers over the
// warp. This checks the kernels' arithmetic, indexing and
// synchronization structure, not the GPU's memory model or timing.
#pragma once
#ifndef INVAD_HOSTEMU
#error "hostemu.h is for host emulation builds only"
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cstdio>
#include <cstdlib>

typedef long long i64;
typedef unsigned long long u64;

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define INVAD_DYN_SHARED(T, name) T* name = reinterpret_cast<T*>(emu::dyn_smem)

struct emu_dim3 {
    unsigned x = 0, y = 0, z = 0;
};

namespace emu {
// Threads of a CTA with barriers run as fibers (ucontext), one at a time:
// a fiber runs until it waits at a barrier, and a barrier opens when all of
// its participants have arrived. Deterministic, and no OS threads.
struct Barrier {
    int n = 0, count = 0;
    long gen = 0;
};
struct Warp {
    Barrier bar;
    u64 slot[32];
};
inline emu_dim3 blockIdx, blockDim, gridDim;
inline emu_dim3 threadIdx;
inline Barrier* cta_bar = nullptr;
inline Warp* warp = nullptr;
inline char* dyn_smem = nullptr;

[[noreturn]] inline void die(const char* what) {
    fprintf(stderr, "hostemu: %s\n", what);
    abort();
}

// wait_at is provided by the emulator's scheduler: it suspends the current
// fiber until barrier b's generation passes gen.
void wait_at(Barrier* b, long gen);

inline void arrive(Barrier* b) {
    long g = b->gen;
    if (++b->count == b->n) {
        b->count = 0;
        b->gen++;
        return;
    }
    wait_at(b, g);
}
}  // namespace emu

#define threadIdx emu::threadIdx
#define blockIdx emu::blockIdx
#define blockDim emu::blockDim
#define gridDim emu::gridDim

inline void __syncthreads() {
    if (!emu::cta_bar) emu::die("__syncthreads in a kernel registered without barriers");
    emu::arrive(emu::cta_bar);
}
inline void __syncwarp(unsigned = 0xffffffffu) {
    if (!emu::warp) emu::die("__syncwarp in a kernel registered without barriers");
    emu::arrive(&emu::warp->bar);
}
template <class T>
inline T __shfl_xor_sync(unsigned, T v, int o) {
    static_assert(sizeof(T) <= 8, "shuffle of a wide type");
    if (!emu::warp) emu::die("__shfl_xor_sync in a kernel registered without barriers");
    int lane = threadIdx.x % 32;
    u64 u = 0;
    memcpy(&u, &v, sizeof(T));
    emu::Warp* w = emu::warp;
    w->slot[lane] = u;
    emu::arrive(&w->bar);
    u64 r = w->slot[lane ^ o];
    emu::arrive(&w->bar);
    T out;
    memcpy(&out, &r, sizeof(T));
    return out;
}
inline int atomicMin(int* p, int v) {
    int old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (v < old && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}
inline long long __double_as_longlong(double x) {
    long long r;
    memcpy(&r, &x, 8);
    return r;
}
inline double __longlong_as_double(long long x) {
    double r;
    memcpy(&r, &x, 8);
    return r;
}
inline u64 abs_bits(double x) { return (u64)__double_as_longlong(x) & 0x7fffffffffffffffULL; }
inline double from_bits(u64 b) { return __longlong_as_double((long long)b); }
