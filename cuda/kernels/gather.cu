// Strided copies and sums in float64: the index maps of the ops along an
// axis (Permute, SliceAxis, ConcatAxis, SumAxis, MeanAxis) and of NumPy
// broadcasting in the binary ops. An index space of r axes, row-major, is
// described in device memory by meta (long longs), so that one kernel serves
// every rank:
//
//   strided_copy(n, add, alpha, meta, dst, src)
//     meta = [r, dims[r], dst strides[r], src strides[r]], n = Π dims:
//     for every index i of the space, dst[i·ds] = alpha·src[i·ss], or with
//     add != 0 dst[i·ds] += alpha·src[i·ss]. The destination indices must be
//     distinct (the threads write them independently).
//   strided_sum(n, add, alpha, meta, dst, src)
//     meta = [r, dims[r], src strides[r], q, rdims[q], rsrc strides[q]],
//     n = Π dims: dst[j] = alpha·Σ_k src[j·ss + k·rs] over the q-axis space
//     k, summed in row-major order of k (so the result does not depend on
//     scheduling); with add != 0 dst[j] += that. dst is contiguous.
//
// Offsets into dst and src are taken by the caller (pointers into a
// buffer). One thread per element of the index space, in a grid-stride
// loop. n and the spans must stay below 2⁶³.
#include "common.cuh"

// offsets returns, in *a and *b, the offsets of index i of the space of r
// axes dims with strides sa and sb.
__device__ __forceinline__ void offsets(i64 i, int r, const i64* dims, const i64* sa, const i64* sb, i64* a, i64* b) {
    i64 oa = 0, ob = 0;
    for (int d = r - 1; d >= 0; d--) {
        const i64 q = i / dims[d], k = i - q * dims[d];
        oa += k * sa[d];
        ob += k * sb[d];
        i = q;
    }
    *a = oa;
    *b = ob;
}

extern "C" __global__ void strided_copy(i64 n, int add, double alpha, const i64* meta, double* dst, const double* src) {
    const int r = (int)meta[0];
    const i64 *dims = meta + 1, *ds = dims + r, *ss = ds + r;
    for (i64 i = global_index(); i < n; i += global_stride()) {
        i64 od, os;
        offsets(i, r, dims, ds, ss, &od, &os);
        const double v = alpha * src[os];
        if (add)
            dst[od] += v;
        else
            dst[od] = v;
    }
}

extern "C" __global__ void strided_sum(i64 n, int add, double alpha, const i64* meta, double* dst, const double* src) {
    const int r = (int)meta[0];
    const i64 *dims = meta + 1, *ss = dims + r;
    const int q = (int)ss[r];
    const i64 *rdims = ss + r + 1, *rs = rdims + q;
    i64 m = 1;
    for (int d = 0; d < q; d++) m *= rdims[d];
    for (i64 j = global_index(); j < n; j += global_stride()) {
        i64 base, unused;
        offsets(j, r, dims, ss, ss, &base, &unused);
        double s = 0.0;
        for (i64 k = 0; k < m; k++) {
            i64 off, unused2;
            offsets(k, q, rdims, rs, rs, &off, &unused2);
            s += src[base + off];
        }
        if (add)
            dst[j] += alpha * s;
        else
            dst[j] = alpha * s;
    }
}
