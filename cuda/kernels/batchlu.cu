// Batched LU with partial pivoting of m blocks of order k, and solves with A
// and Aᵀ, in the batch-minor ("interleaved") layout of cpu.FactorBatch:
// entry (i, j) of block b is a[(i*k+j)*m + b], element i of a right-hand side
// v[i*m + b]. Consecutive threads (or the warps of a CTA) take consecutive
// blocks, so every load is coalesced across the warp.
//
// Factorization (LINPACK's dgefa convention): at step p the row ip ≥ p of
// largest |w_ip| (the first such, as LAPACK's idamax) is exchanged with row p
// in the columns p..k-1 only, the multipliers l_ip = w_ip / w_pp are stored in
// place of the eliminated entries, and piv[p*m + b] = ip (one byte). So
//   U = L_{k-2} P_{k-2} ... L_0 P_0 A,  L_p = I - l_p e_pᵀ,
// and the solves apply the exchanges interleaved with the eliminations.
//
// A block is refused, as cpu.FactorBatch refuses it, when it has a NaN or
// infinite entry (status 1), a pivot |u_pp| ≤ RCondMin/k·max|A| (status 2),
// or pivot growth max|U|/max|A| above 2²⁶ (status 3). Then
//   status[b] = code | (row+1) << 8   (row: the entry's row, the step, or -1)
//   info[b]   = the entry, the pivot, or the growth factor
// and first_bad (set to m by the host beforehand) is lowered to b with
// atomicMin, so the host learns the first refused block by copying one int.
// A refused block's factors are not written. For an accepted block,
// status[b] = 0 and logdet[b] = log|det A_b|, computed from the pivots'
// mantissas and exponents (no overflow or underflow).
//
// Kernels:
//   lu_factor_K(m, a, lu, piv, logdet, status, info, first_bad)   K = 1..8: one thread per block,
//                                                                 the block in registers
//   lu_solve_K(m, lu, piv, dst, v), lu_solveT_K(...)              K = 1..8
//   lu_factor_warp(k, m, a, lu, piv, logdet, status, info, first_bad)
//                                                                 one warp per block, k ≤ 64, blockDim.x = 32·W,
//                                                                 W·k·(k+1)·8 bytes of dynamic shared memory
//   lu_solve_gen(k, m, lu, piv, dst, v), lu_solveT_gen(...)       one thread per block, k ≤ 64
// lu may be a, and dst may be v: each thread (or warp) reads all of its
// block before writing it.
#include "common.cuh"

#define LU_RCOND_MIN 1e-15
#define LU_GROWTH_MAX 67108864.0 // 2^26, cpu.BatchGrowthMax
#define LU_NONFINITE 1
#define LU_PIVOT 2
#define LU_GROWTH 3
#define LU_MAXK 64

__device__ __forceinline__ void lu_refuse(i64 b, int code, int row, double val, int* status, double* info,
                                          int* first_bad) {
    status[b] = code | ((row + 1) << 8);
    info[b] = val;
    atomicMin(first_bad, (int)b);
}

// logacc keeps a product of |u| as mant·2^e, mant in [0.5, 1).
struct logacc {
    double mant;
    int e;
    __device__ __forceinline__ void init() { mant = 1.0; e = 0; }
    __device__ __forceinline__ void mul(double u) {
        int eu;
        double fu = frexp(fabs(u), &eu);
        int em;
        mant = frexp(mant * fu, &em);
        e += eu + em;
    }
    __device__ __forceinline__ double log_value() const { return log(mant) + e * 0.69314718055994530942; }
};

template <int K>
__device__ __forceinline__ void lu_factor_small(i64 m, const double* a, double* lu, unsigned char* piv,
                                                double* logdet, int* status, double* info, int* first_bad) {
    const i64 b = global_index();
    if (b >= m) return;
    double w[K][K];
#pragma unroll
    for (int i = 0; i < K; i++)
#pragma unroll
        for (int j = 0; j < K; j++) w[i][j] = a[(i * K + j) * m + b];
    // max|A|, and the first non-finite entry in row-major order.
    u64 amaxb = 0;
    int bad = -1;
    double badv = 0.0;
#pragma unroll
    for (int e = K * K - 1; e >= 0; e--) {
        double x = w[e / K][e % K];
        u64 xb = abs_bits(x);
        if (xb >= 0x7ff0000000000000ULL) {
            bad = e;
            badv = x;
        }
        amaxb = xb > amaxb ? xb : amaxb;
    }
    if (bad >= 0) {
        lu_refuse(b, LU_NONFINITE, bad / K, badv, status, info, first_bad);
        return;
    }
    const double amax = from_bits(amaxb);
    const u64 tinyb = abs_bits(LU_RCOND_MIN / K * amax);
    unsigned char ipv[K];
#pragma unroll
    for (int p = 0; p < K; p++) {
        // Pivot: the first row of largest |w_ip|, comparing the bits of |x|
        // as cpu.pivotSearch does (a NaN ranks above +Inf).
        int ip = p;
        u64 best = abs_bits(w[p][p]);
#pragma unroll
        for (int i = p + 1; i < K; i++) {
            u64 xb = abs_bits(w[i][p]);
            if (xb > best) {
                best = xb;
                ip = i;
            }
        }
        ipv[p] = (unsigned char)ip;
        // Exchange rows p and ip in the columns p..K-1; the indices stay
        // compile-time constants so that w stays in registers.
#pragma unroll
        for (int r = p + 1; r < K; r++) {
            if (ip == r) {
#pragma unroll
                for (int j = p; j < K; j++) {
                    double t = w[p][j];
                    w[p][j] = w[r][j];
                    w[r][j] = t;
                }
            }
        }
        if (best <= tinyb) {
            lu_refuse(b, LU_PIVOT, p, w[p][p], status, info, first_bad);
            return;
        }
        const double u = w[p][p];
        const bool normal = abs_bits(u) >= 0x0010000000000000ULL;
        const double rcp = 1.0 / u;
#pragma unroll
        for (int i = p + 1; i < K; i++) {
            double l = normal ? w[i][p] * rcp : w[i][p] / u;
            w[i][p] = l;
#pragma unroll
            for (int j = p + 1; j < K; j++) w[i][j] -= l * w[p][j];
        }
    }
    u64 umaxb = 0;
#pragma unroll
    for (int i = 0; i < K; i++)
#pragma unroll
        for (int j = i; j < K; j++) {
            u64 xb = abs_bits(w[i][j]);
            umaxb = xb > umaxb ? xb : umaxb;
        }
    const double g = from_bits(umaxb) / amax;
    if (!(g <= LU_GROWTH_MAX)) {
        lu_refuse(b, LU_GROWTH, -1, g, status, info, first_bad);
        return;
    }
    logacc acc;
    acc.init();
#pragma unroll
    for (int p = 0; p < K; p++) acc.mul(w[p][p]);
#pragma unroll
    for (int i = 0; i < K; i++)
#pragma unroll
        for (int j = 0; j < K; j++) lu[(i * K + j) * m + b] = w[i][j];
#pragma unroll
    for (int p = 0; p < K; p++) piv[p * m + b] = ipv[p];
    logdet[b] = acc.log_value();
    status[b] = 0;
}

// apply_swap exchanges x[p] and x[ip] for a run-time ip, with compile-time
// indices only.
template <int K>
__device__ __forceinline__ void apply_swap(double (&x)[K], int p, int ip) {
#pragma unroll
    for (int r = 0; r < K; r++) {
        if (r > p && ip == r) {
            double t = x[p];
            x[p] = x[r];
            x[r] = t;
        }
    }
}

template <int K>
__device__ __forceinline__ void lu_solve_small(i64 m, const double* lu, const unsigned char* piv, double* dst,
                                               const double* v) {
    const i64 b = global_index();
    if (b >= m) return;
    double x[K];
#pragma unroll
    for (int i = 0; i < K; i++) x[i] = v[i * m + b];
    // x = L_{K-2} P_{K-2} ... L_0 P_0 v
#pragma unroll
    for (int p = 0; p < K - 1; p++) {
        apply_swap<K>(x, p, piv[p * m + b]);
#pragma unroll
        for (int i = p + 1; i < K; i++) x[i] -= lu[(i * K + p) * m + b] * x[p];
    }
    // U x = that
#pragma unroll
    for (int i = K - 1; i >= 0; i--) {
        double s = x[i];
#pragma unroll
        for (int j = i + 1; j < K; j++) s -= lu[(i * K + j) * m + b] * x[j];
        x[i] = s / lu[(i * K + i) * m + b];
    }
#pragma unroll
    for (int i = 0; i < K; i++) dst[i * m + b] = x[i];
}

template <int K>
__device__ __forceinline__ void lu_solveT_small(i64 m, const double* lu, const unsigned char* piv, double* dst,
                                                const double* v) {
    const i64 b = global_index();
    if (b >= m) return;
    double x[K];
#pragma unroll
    for (int i = 0; i < K; i++) x[i] = v[i * m + b];
    // Uᵀ z = v
#pragma unroll
    for (int i = 0; i < K; i++) {
        double s = x[i];
#pragma unroll
        for (int j = 0; j < i; j++) s -= lu[(j * K + i) * m + b] * x[j];
        x[i] = s / lu[(i * K + i) * m + b];
    }
    // x = P_0 L_0ᵀ ... P_{K-2} L_{K-2}ᵀ z
#pragma unroll
    for (int p = K - 2; p >= 0; p--) {
        double s = x[p];
#pragma unroll
        for (int i = p + 1; i < K; i++) s -= lu[(i * K + p) * m + b] * x[i];
        x[p] = s;
        apply_swap<K>(x, p, piv[p * m + b]);
    }
#pragma unroll
    for (int i = 0; i < K; i++) dst[i * m + b] = x[i];
}

#define INVAD_LU_SMALL(K)                                                                                    \
    extern "C" __global__ void lu_factor_##K(i64 m, const double* a, double* lu, unsigned char* piv,           \
                                             double* logdet, int* status, double* info, int* first_bad) {      \
        lu_factor_small<K>(m, a, lu, piv, logdet, status, info, first_bad);                                    \
    }                                                                                                          \
    extern "C" __global__ void lu_solve_##K(i64 m, const double* lu, const unsigned char* piv, double* dst,    \
                                            const double* v) {                                                 \
        lu_solve_small<K>(m, lu, piv, dst, v);                                                                 \
    }                                                                                                          \
    extern "C" __global__ void lu_solveT_##K(i64 m, const double* lu, const unsigned char* piv, double* dst,   \
                                             const double* v) {                                                \
        lu_solveT_small<K>(m, lu, piv, dst, v);                                                                \
    }

INVAD_LU_SMALL(1)
INVAD_LU_SMALL(2)
INVAD_LU_SMALL(3)
INVAD_LU_SMALL(4)
INVAD_LU_SMALL(5)
INVAD_LU_SMALL(6)
INVAD_LU_SMALL(7)
INVAD_LU_SMALL(8)

// warp_max_bits returns the largest of v over the warp, in every lane.
__device__ __forceinline__ u64 warp_max_bits(u64 v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        u64 w = (u64)__shfl_xor_sync(0xffffffffu, (long long)v, o);
        v = w > v ? w : v;
    }
    return v;
}

// warp_min_int returns the smallest of v over the warp, in every lane.
__device__ __forceinline__ int warp_min_int(int v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        int w = __shfl_xor_sync(0xffffffffu, v, o);
        v = w < v ? w : v;
    }
    return v;
}

// The one-warp-per-block factorization for k ≤ 64. The W warps of a CTA take
// W consecutive blocks; they load and store them together (W consecutive
// doubles per entry), and each warp factorizes its block in shared memory,
// rows padded to k+1 doubles against bank conflicts. Lanes own columns
// (lane, lane+32) in the exchanges and updates, rows in the pivot search.
extern "C" __global__ void lu_factor_warp(int k, i64 m, const double* a, double* lu, unsigned char* piv,
                                          double* logdet, int* status, double* info, int* first_bad) {
    INVAD_DYN_SHARED(double, smem);
    const int W = blockDim.x / 32, wid = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int ld = k + 1, kk = k * k;
    const i64 b0 = (i64)blockIdx.x * W;
    const int nb = (int)(m - b0 < W ? m - b0 : W);
    for (int idx = threadIdx.x; idx < kk * W; idx += blockDim.x) {
        int e = idx / W, t = idx % W;
        if (t < nb) smem[t * k * ld + (e / k) * ld + e % k] = a[(i64)e * m + b0 + t];
    }
    __syncthreads();
    double* w = smem + wid * k * ld;
    const i64 b = b0 + wid;
    bool ok = wid < nb;
    if (ok) {
        // max|A| and the first non-finite entry.
        u64 amaxb = 0;
        int bad = kk;
        for (int e = lane; e < kk; e += 32) {
            u64 xb = abs_bits(w[(e / k) * ld + e % k]);
            if (xb >= 0x7ff0000000000000ULL && e < bad) bad = e;
            amaxb = xb > amaxb ? xb : amaxb;
        }
        amaxb = warp_max_bits(amaxb);
        bad = warp_min_int(bad);
        if (bad < kk) {
            if (lane == 0) lu_refuse(b, LU_NONFINITE, bad / k, w[(bad / k) * ld + bad % k], status, info, first_bad);
            ok = false;
        }
        const double amax = from_bits(amaxb);
        const u64 tinyb = abs_bits(LU_RCOND_MIN / k * amax);
        logacc acc;
        acc.init();
        for (int p = 0; ok && p < k; p++) {
            // Pivot search: (bits of |x|, row) largest first, lowest row on ties.
            u64 best = 0;
            int ip = k;
            for (int i = p + lane; i < k; i += 32) {
                u64 xb = abs_bits(w[i * ld + p]);
                if (ip == k || xb > best) {
                    best = xb;
                    ip = i;
                }
            }
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) {
                u64 ob = (u64)__shfl_xor_sync(0xffffffffu, (long long)best, o);
                int oi = __shfl_xor_sync(0xffffffffu, ip, o);
                if (oi < k && (ip == k || ob > best || (ob == best && oi < ip))) {
                    best = ob;
                    ip = oi;
                }
            }
            if (ip != p)
                for (int j = p + lane; j < k; j += 32) {
                    double t = w[p * ld + j];
                    w[p * ld + j] = w[ip * ld + j];
                    w[ip * ld + j] = t;
                }
            __syncwarp();
            if (lane == 0) piv[(i64)p * m + b] = (unsigned char)ip;
            const double u = w[p * ld + p];
            if (best <= tinyb) {
                if (lane == 0) lu_refuse(b, LU_PIVOT, p, u, status, info, first_bad);
                ok = false;
                break;
            }
            acc.mul(u);
            const bool normal = abs_bits(u) >= 0x0010000000000000ULL;
            const double rcp = 1.0 / u;
            for (int i = p + 1 + lane; i < k; i += 32) w[i * ld + p] = normal ? w[i * ld + p] * rcp : w[i * ld + p] / u;
            __syncwarp();
            for (int j = p + 1 + lane; j < k; j += 32) {
                const double upj = w[p * ld + j];
                for (int i = p + 1; i < k; i++) w[i * ld + j] -= w[i * ld + p] * upj;
            }
            __syncwarp();
        }
        if (ok) {
            u64 umaxb = 0;
            for (int e = lane; e < kk; e += 32) {
                int i = e / k, j = e % k;
                if (j >= i) {
                    u64 xb = abs_bits(w[i * ld + j]);
                    umaxb = xb > umaxb ? xb : umaxb;
                }
            }
            umaxb = warp_max_bits(umaxb);
            const double g = from_bits(umaxb) / amax;
            if (!(g <= LU_GROWTH_MAX)) {
                if (lane == 0) lu_refuse(b, LU_GROWTH, -1, g, status, info, first_bad);
                ok = false;
            } else if (lane == 0) {
                logdet[b] = acc.log_value();
                status[b] = 0;
            }
        }
    }
    // Refused blocks are not stored; every lane of a warp agrees on ok.
    __syncthreads();
    smem[W * k * ld + wid] = ok ? 1.0 : 0.0;
    __syncthreads();
    for (int idx = threadIdx.x; idx < kk * W; idx += blockDim.x) {
        int e = idx / W, t = idx % W;
        if (t < nb && smem[W * k * ld + t] != 0.0) lu[(i64)e * m + b0 + t] = smem[t * k * ld + (e / k) * ld + e % k];
    }
}

// The generic solves, one thread per block, for k ≤ 64. x lives in local
// memory, which is interleaved across threads and stays in L1.
extern "C" __global__ void lu_solve_gen(int k, i64 m, const double* lu, const unsigned char* piv, double* dst,
                                        const double* v) {
    const i64 b = global_index();
    if (b >= m) return;
    double x[LU_MAXK];
    for (int i = 0; i < k; i++) x[i] = v[i * m + b];
    for (int p = 0; p < k - 1; p++) {
        int ip = piv[p * m + b];
        double t = x[p];
        x[p] = x[ip];
        x[ip] = t;
        const double xp = x[p];
        for (int i = p + 1; i < k; i++) x[i] -= lu[((i64)i * k + p) * m + b] * xp;
    }
    for (int i = k - 1; i >= 0; i--) {
        double s = x[i];
        for (int j = i + 1; j < k; j++) s -= lu[((i64)i * k + j) * m + b] * x[j];
        x[i] = s / lu[((i64)i * k + i) * m + b];
    }
    for (int i = 0; i < k; i++) dst[i * m + b] = x[i];
}

extern "C" __global__ void lu_solveT_gen(int k, i64 m, const double* lu, const unsigned char* piv, double* dst,
                                         const double* v) {
    const i64 b = global_index();
    if (b >= m) return;
    double x[LU_MAXK];
    for (int i = 0; i < k; i++) x[i] = v[i * m + b];
    for (int i = 0; i < k; i++) {
        double s = x[i];
        for (int j = 0; j < i; j++) s -= lu[((i64)j * k + i) * m + b] * x[j];
        x[i] = s / lu[((i64)i * k + i) * m + b];
    }
    for (int p = k - 2; p >= 0; p--) {
        double s = x[p];
        for (int i = p + 1; i < k; i++) s -= lu[((i64)i * k + p) * m + b] * x[i];
        x[p] = s;
        int ip = piv[p * m + b];
        double t = x[p];
        x[p] = x[ip];
        x[ip] = t;
    }
    for (int i = 0; i < k; i++) dst[i * m + b] = x[i];
}
