// Linear-algebra kernels in float64: the matrix product of ops.MatMul (with
// either operand transposed, for its JVP and VJP) and its batched form for
// ops.BatchMatMul, the sum of ops.Sum and the scans along axis 0 of
// ops.Cumsum, with the differences that invert them.
// All matrices are row-major; a tensor scanned along axis 0 is seen as r rows
// of c columns. Launch geometry is one-dimensional: gemm takes blocks of 256
// threads laid out as 16×16, the others use grid-stride loops.
#include "common.cuh"

// gemm: C = alpha·op(A)·op(B) + beta·C with op(A) m×k and op(B) k×n. op(A)
// is A (A[i*lda+p]) or, when ta != 0, Aᵀ (A[p*lda+i]); likewise B with tb.
// Block b covers the 16×16 tile (b / nbx, b % nbx) of C, nbx = ⌈n/16⌉, in
// 16-wide steps along k staged in shared memory. beta == 0 ignores C's
// contents (NaN included). C must not overlap A or B.
//
// gemm_batched: the same for `batch` products at once, product s on the
// matrices at A + s·sa, B + s·sb and C + s·sc (a stride of 0 reads one
// matrix for every product: BatchMatMul's shared right operand, a per-sample
// W⁻¹). Block b covers tile b % tiles of product b / tiles, with
// tiles = ⌈m/16⌉·⌈n/16⌉. The C matrices must not overlap each other.
#define LA_TILE 16
__device__ __forceinline__ void gemm_tile(i64 tile, int ta, int tb, i64 m, i64 n, i64 k, double alpha, const double* A,
                                          i64 lda, const double* B, i64 ldb, double beta, double* C, i64 ldc) {
    __shared__ double as[LA_TILE][LA_TILE + 1];
    __shared__ double bs[LA_TILE][LA_TILE + 1];
    const int tx = threadIdx.x % LA_TILE, ty = threadIdx.x / LA_TILE;
    const i64 nbx = (n + LA_TILE - 1) / LA_TILE;
    const i64 row = (tile / nbx) * LA_TILE + ty;
    const i64 col = (tile % nbx) * LA_TILE + tx;
    double acc = 0.0;
    for (i64 p0 = 0; p0 < k; p0 += LA_TILE) {
        const i64 pa = p0 + tx, pb = p0 + ty;
        as[ty][tx] = (row < m && pa < k) ? (ta ? A[pa * lda + row] : A[row * lda + pa]) : 0.0;
        bs[ty][tx] = (pb < k && col < n) ? (tb ? B[col * ldb + pb] : B[pb * ldb + col]) : 0.0;
        __syncthreads();
        for (int p = 0; p < LA_TILE; p++) acc += as[ty][p] * bs[p][tx];
        __syncthreads();
    }
    if (row < m && col < n) {
        double* c = &C[row * ldc + col];
        *c = beta == 0.0 ? alpha * acc : alpha * acc + beta * *c;
    }
}
extern "C" __global__ void gemm(int ta, int tb, i64 m, i64 n, i64 k, double alpha, const double* A, i64 lda,
                                const double* B, i64 ldb, double beta, double* C, i64 ldc) {
    gemm_tile(blockIdx.x, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
extern "C" __global__ void gemm_batched(int ta, int tb, i64 m, i64 n, i64 k, double alpha, const double* A, i64 lda,
                                        i64 sa, const double* B, i64 ldb, i64 sb, double beta, double* C, i64 ldc,
                                        i64 sc) {
    const i64 tiles = ((m + LA_TILE - 1) / LA_TILE) * ((n + LA_TILE - 1) / LA_TILE);
    const i64 s = blockIdx.x / tiles;
    gemm_tile(blockIdx.x % tiles, ta, tb, m, n, k, alpha, A + s * sa, lda, B + s * sb, ldb, beta, C + s * sc, ldc);
}

// sum_part writes block b's share of Σx into part[b]; sum_finish sets
// y[0] = Σ part[0..np) with one block. Both need 256 threads a block. The
// order of the additions depends only on n and the grid, so a sum is the same
// on every run.
extern "C" __global__ void sum_part(i64 n, double* part, const double* x) {
    double s = 0.0;
    for (i64 i = global_index(); i < n; i += global_stride()) s += x[i];
    s = block_sum(s);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}
extern "C" __global__ void sum_finish(int np, double* y, const double* part) {
    double s = partials_sum(np, part);
    if (threadIdx.x == 0) y[0] = s;
}

// diag_check: the checks of a diagonal factor diag(d) (an elementwise op's
// derivative), so that only two scalars go back to the host: block b's share
// of Σ log|d_i| in part[b] (sum_finish adds the shares up), and the first
// index i whose d_i cannot be inverted (zero, non-finite, or so small that
// 1/d_i overflows) lowered into first_bad with atomicMin (the host sets it to
// n beforehand). Needs 256 threads a block; n < 2³¹.
extern "C" __global__ void diag_check(i64 n, double* part, int* first_bad, const double* d) {
    double s = 0.0;
    for (i64 i = global_index(); i < n; i += global_stride()) {
        const double v = d[i];
        if (!isfinite(v) || !isfinite(1.0 / v)) atomicMin(first_bad, (int)i);
        s += log(fabs(v));
    }
    s = block_sum(s);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}

// bcast_add: g[i] += c[0], Sum's VJP.
extern "C" __global__ void bcast_add(i64 n, double* g, const double* c) {
    const double v = c[0];
    for (i64 i = global_index(); i < n; i += global_stride()) g[i] += v;
}

// The scan of r×c values along the rows, in chunks of L rows: y[i, j] =
// Σ_{i' ≤ i} x[i', j], or with rev Σ_{i' ≥ i} x[i', j] (Cumsum's VJP).
//   scan_chunks: one thread per (chunk q, column j) scans its chunk into y
//     and writes the chunk's total to part[q*c + j];
//   scan_carry: one thread per column turns the totals into each chunk's
//     carry, the sum of the chunks before it (after it with rev);
//   scan_add: y[i, j] += part[(i/L)*c + j].
// y may be x.
extern "C" __global__ void scan_chunks(i64 r, i64 c, i64 L, int rev, double* y, const double* x, double* part) {
    const i64 nq = (r + L - 1) / L;
    for (i64 t = global_index(); t < nq * c; t += global_stride()) {
        const i64 q = t / c, j = t % c;
        const i64 lo = q * L, hi = lo + L < r ? lo + L : r;
        double s = 0.0;
        if (!rev) {
            for (i64 i = lo; i < hi; i++) {
                s += x[i * c + j];
                y[i * c + j] = s;
            }
        } else {
            for (i64 i = hi - 1; i >= lo; i--) {
                s += x[i * c + j];
                y[i * c + j] = s;
            }
        }
        part[t] = s;
    }
}
extern "C" __global__ void scan_carry(i64 nq, i64 c, int rev, double* part) {
    for (i64 j = global_index(); j < c; j += global_stride()) {
        double s = 0.0;
        for (i64 u = 0; u < nq; u++) {
            const i64 q = rev ? nq - 1 - u : u;
            const double v = part[q * c + j];
            part[q * c + j] = s;
            s += v;
        }
    }
}
extern "C" __global__ void scan_add(i64 r, i64 c, i64 L, double* y, const double* part) {
    for (i64 t = global_index(); t < r * c; t += global_stride()) {
        const i64 i = t / c, j = t % c;
        y[t] += part[(i / L) * c + j];
    }
}

// scan_diff inverts the scan: y[i, j] = x[i, j] − x[i−1, j] (zero above the
// first row), or with rev x[i, j] − x[i+1, j] (zero below the last): J⁻¹ and
// J⁻ᵀ of Cumsum. y must not overlap x.
extern "C" __global__ void scan_diff(i64 r, i64 c, int rev, double* y, const double* x) {
    for (i64 t = global_index(); t < r * c; t += global_stride()) {
        const i64 i = t / c;
        double prev = 0.0;
        if (!rev && i > 0) prev = x[t - c];
        if (rev && i + 1 < r) prev = x[t + c];
        y[t] = x[t] - prev;
    }
}
