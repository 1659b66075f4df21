// Elementwise kernels: forward, JVP, VJP and derivative of the unary ops of
// ops/elementwise.go and the binary ops of ops/binary.go, in float64.
//
// Every unary op is a struct with f(x, p) and df(x, y, p), where y = f(x) and
// p the op's parameter (leaky_relu's alpha, scale's c, add_scalar's c; unused
// by the others), written by go generate into unary_ops.cuh from the op's
// declaration (ops.UnaryDecls), beside its Go formulas: both backends agree
// to rounding. For each op NAME the kernels are
//   ew_NAME_fwd(n, p, y, x)        y[i] = f(x[i])
//   ew_NAME_jvp(n, p, d, x, y, t)  d[i] = f'(x[i]) t[i]
//   ew_NAME_vjp(n, p, d, x, y, c)  d[i] += f'(x[i]) c[i]
//   ew_NAME_df(n, p, d, x, y)      d[i] = f'(x[i])   (the diagonal block)
// with n a long long and all arrays double*. d may be t or c (element i is
// read before it is written); no other operands overlap. Kernels use a
// grid-stride loop: any one-dimensional grid covers n.
#include "common.cuh"

__device__ __forceinline__ double sigmoid(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

// The ops' f and df, generated from their declarations in ops/elementwise.go.
#include "unary_ops.cuh"

template <class Op>
__device__ __forceinline__ void ew_fwd(i64 n, double p, double* y, const double* x) {
    for (i64 i = global_index(); i < n; i += global_stride()) y[i] = Op::f(x[i], p);
}
template <class Op>
__device__ __forceinline__ void ew_jvp(i64 n, double p, double* d, const double* x, const double* y, const double* t) {
    for (i64 i = global_index(); i < n; i += global_stride()) d[i] = Op::df(x[i], y[i], p) * t[i];
}
template <class Op>
__device__ __forceinline__ void ew_vjp(i64 n, double p, double* d, const double* x, const double* y, const double* c) {
    for (i64 i = global_index(); i < n; i += global_stride()) d[i] += Op::df(x[i], y[i], p) * c[i];
}
template <class Op>
__device__ __forceinline__ void ew_df(i64 n, double p, double* d, const double* x, const double* y) {
    for (i64 i = global_index(); i < n; i += global_stride()) d[i] = Op::df(x[i], y[i], p);
}

#define INVAD_UNARY(name, Op)                                                                              \
    extern "C" __global__ void ew_##name##_fwd(i64 n, double p, double* y, const double* x) {              \
        ew_fwd<Op>(n, p, y, x);                                                                            \
    }                                                                                                      \
    extern "C" __global__ void ew_##name##_jvp(i64 n, double p, double* d, const double* x, const double* y, \
                                               const double* t) {                                          \
        ew_jvp<Op>(n, p, d, x, y, t);                                                                      \
    }                                                                                                      \
    extern "C" __global__ void ew_##name##_vjp(i64 n, double p, double* d, const double* x, const double* y, \
                                               const double* c) {                                          \
        ew_vjp<Op>(n, p, d, x, y, c);                                                                      \
    }                                                                                                      \
    extern "C" __global__ void ew_##name##_df(i64 n, double p, double* d, const double* x, const double* y) { \
        ew_df<Op>(n, p, d, x, y);                                                                          \
    }

INVAD_UNARY_OPS(INVAD_UNARY)

// Binary ops: f(a, b) and the partials da = ∂f/∂a, db = ∂f/∂b given a, b and
// y = f(a, b), as ops.AddOp and the others. An operand is full (stride 1) or a
// broadcast scalar (stride 0); a tangent has its operand's stride. For each op
// NAME the kernels are
//   bin_NAME_fwd(n, y, a, sa, b, sb)                 y[i] = f(a, b)
//   bin_NAME_jvp(n, d, a, sa, b, sb, y, ta, tb)      d[i] = da ta + db tb, ta or tb null for a zero tangent
//   bin_NAME_vjp0(n, g, a, sa, b, sb, y, c)          g[i] += da c[i]   (a full)
//   bin_NAME_vjp1(n, g, a, sa, b, sb, y, c)          g[i] += db c[i]   (b full)
//   bin_NAME_vjpsum0(n, part, a, sa, b, sb, y, c)    part[block] = Σ da c over the block's elements (a broadcast)
//   bin_NAME_vjpsum1(n, part, a, sa, b, sb, y, c)    the same with db
//   bin_NAME_df0(n, d, a, sa, b, sb, y)              d[i] = da   (the diagonal block)
//   bin_NAME_df1(n, d, a, sa, b, sb, y)              d[i] = db
// The vjpsum kernels need 256 threads a block; sum_add_partials(np, g, part),
// launched as one block of 256 threads, then adds Σ part to g[0] in a fixed
// order, so the result does not depend on scheduling.
struct Add {
    static __device__ __forceinline__ double f(double a, double b) { return a + b; }
    static __device__ __forceinline__ double d0(double, double, double) { return 1.0; }
    static __device__ __forceinline__ double d1(double, double, double) { return 1.0; }
};
struct Sub {
    static __device__ __forceinline__ double f(double a, double b) { return a - b; }
    static __device__ __forceinline__ double d0(double, double, double) { return 1.0; }
    static __device__ __forceinline__ double d1(double, double, double) { return -1.0; }
};
struct Mul {
    static __device__ __forceinline__ double f(double a, double b) { return a * b; }
    static __device__ __forceinline__ double d0(double, double b, double) { return b; }
    static __device__ __forceinline__ double d1(double a, double, double) { return a; }
};
struct Div {
    static __device__ __forceinline__ double f(double a, double b) { return a / b; }
    static __device__ __forceinline__ double d0(double, double b, double) { return 1.0 / b; }
    static __device__ __forceinline__ double d1(double, double b, double y) { return -y / b; }
};

template <class Op, int K>
__device__ __forceinline__ double partial(double a, double b, double y) {
    return K == 0 ? Op::d0(a, b, y) : Op::d1(a, b, y);
}

template <class Op>
__device__ __forceinline__ void bin_fwd(i64 n, double* y, const double* a, i64 sa, const double* b, i64 sb) {
    for (i64 i = global_index(); i < n; i += global_stride()) y[i] = Op::f(a[i * sa], b[i * sb]);
}
template <class Op>
__device__ __forceinline__ void bin_jvp(i64 n, double* d, const double* a, i64 sa, const double* b, i64 sb,
                                        const double* y, const double* ta, const double* tb) {
    for (i64 i = global_index(); i < n; i += global_stride()) {
        double ai = a[i * sa], bi = b[i * sb], yi = y[i], s = 0.0;
        if (ta) s = Op::d0(ai, bi, yi) * ta[i * sa];
        if (tb) s += Op::d1(ai, bi, yi) * tb[i * sb];
        d[i] = s;
    }
}
template <class Op, int K>
__device__ __forceinline__ void bin_vjp(i64 n, double* g, const double* a, i64 sa, const double* b, i64 sb,
                                        const double* y, const double* c) {
    for (i64 i = global_index(); i < n; i += global_stride())
        g[i] += partial<Op, K>(a[i * sa], b[i * sb], y[i]) * c[i];
}
template <class Op, int K>
__device__ __forceinline__ void bin_df(i64 n, double* d, const double* a, i64 sa, const double* b, i64 sb,
                                       const double* y) {
    for (i64 i = global_index(); i < n; i += global_stride()) d[i] = partial<Op, K>(a[i * sa], b[i * sb], y[i]);
}

template <class Op, int K>
__device__ __forceinline__ void bin_vjpsum(i64 n, double* part, const double* a, i64 sa, const double* b, i64 sb,
                                           const double* y, const double* c) {
    double s = 0.0;
    for (i64 i = global_index(); i < n; i += global_stride()) s += partial<Op, K>(a[i * sa], b[i * sb], y[i]) * c[i];
    s = block_sum(s);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}

extern "C" __global__ void sum_add_partials(int np, double* g, const double* part) {
    double s = partials_sum(np, part);
    if (threadIdx.x == 0) g[0] += s;
}

#define INVAD_BINARY_K(name, Op, K)                                                                           \
    extern "C" __global__ void bin_##name##_vjp##K(i64 n, double* g, const double* a, i64 sa, const double* b,  \
                                                   i64 sb, const double* y, const double* c) {                 \
        bin_vjp<Op, K>(n, g, a, sa, b, sb, y, c);                                                              \
    }                                                                                                          \
    extern "C" __global__ void bin_##name##_vjpsum##K(i64 n, double* part, const double* a, i64 sa,             \
                                                      const double* b, i64 sb, const double* y, const double* c) { \
        bin_vjpsum<Op, K>(n, part, a, sa, b, sb, y, c);                                                        \
    }                                                                                                          \
    extern "C" __global__ void bin_##name##_df##K(i64 n, double* d, const double* a, i64 sa, const double* b,   \
                                                  i64 sb, const double* y) {                                   \
        bin_df<Op, K>(n, d, a, sa, b, sb, y);                                                                  \
    }

#define INVAD_BINARY(name, Op)                                                                                \
    extern "C" __global__ void bin_##name##_fwd(i64 n, double* y, const double* a, i64 sa, const double* b,     \
                                                i64 sb) {                                                      \
        bin_fwd<Op>(n, y, a, sa, b, sb);                                                                       \
    }                                                                                                          \
    extern "C" __global__ void bin_##name##_jvp(i64 n, double* d, const double* a, i64 sa, const double* b,     \
                                                i64 sb, const double* y, const double* ta, const double* tb) { \
        bin_jvp<Op>(n, d, a, sa, b, sb, y, ta, tb);                                                            \
    }                                                                                                          \
    INVAD_BINARY_K(name, Op, 0)                                                                                \
    INVAD_BINARY_K(name, Op, 1)

INVAD_BINARY(add, Add)
INVAD_BINARY(sub, Sub)
INVAD_BINARY(mul, Mul)
INVAD_BINARY(div, Div)
