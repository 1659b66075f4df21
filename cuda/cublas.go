package cuda

import (
	"fmt"

	"github.com/invad/invad/internal/cublas"
	"github.com/invad/invad/internal/cudadrv"
)

// ErrNoCuBLAS is matched by EnableCuBLAS's error when no libcublas loads.
var ErrNoCuBLAS = cublas.ErrNotFound

// EnableCuBLAS routes the Backend's matrix products (Gemm, and so MatMul's
// rules and the W⁻¹ products of a device Linearization) to cuBLAS's
// cublasDgemm_v2, in the Backend's stream, instead of the embedded tiled
// kernel. The library is loaded at run time through purego: the names
// given, else $INVAD_CUBLAS (a path; the Python packages of a GPU machine
// carry one, e.g. site-packages/nvidia/cublas/lib/libcublas.so.12), else
// libcublas.so.12, .11, .13 and libcublas.so on the loader's path. The
// error matches ErrNoCuBLAS when none loads, and the Backend keeps its own
// kernel. A Backend not on the CUDA driver (the tests' emulation) cannot
// use cuBLAS.
func (b *Backend) EnableCuBLAS(names ...string) error {
	g, ok := b.dev.(*gpuDevice)
	if !ok {
		return fmt.Errorf("cuda: cuBLAS needs a Backend on the CUDA driver, not %s", b.name)
	}
	lib, err := cublas.Open(names...)
	if err != nil {
		return err
	}
	return b.do(func() error {
		if b.blas != nil {
			return nil
		}
		h, err := lib.Create()
		if err != nil {
			return err
		}
		if err := h.SetStream(uintptr(g.stream)); err != nil {
			h.Destroy()
			return err
		}
		b.blas, b.blasPath = h, lib.Path
		return nil
	})
}

// CuBLAS returns the path of the libcublas the matrix products use, or ""
// when they use the embedded kernel.
func (b *Backend) CuBLAS() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.blasPath
}

// gemmCuBLAS is Gemm through cuBLAS. cuBLAS is column-major, and a
// row-major r×c matrix with leading dimension ld is, in the same memory,
// the column-major c×r matrix of its transpose: so the row-major
// C = α·op(A)·op(B) + β·C is the column-major Cᵀ = α·op(B)ᵀ·op(A)ᵀ + β·Cᵀ,
// which is dgemm on (B, A) with their own transposes, m and n swapped. The
// caller holds the lock.
func (b *Backend) gemmCuBLAS(m, n, k int, alpha float64, a, bm GemmOperand, beta float64, c cudadrv.DevicePtr, ldc int) error {
	op := func(t bool) cublas.Op {
		if t {
			return cublas.T
		}
		return cublas.N
	}
	return b.blas.Dgemm(op(bm.Trans), op(a.Trans), n, m, k, alpha, uint64(bm.T.ptr), bm.LD, uint64(a.T.ptr), a.LD, beta, uint64(c), ldc)
}
