// Package cublas reaches NVIDIA's cuBLAS at run time through purego, as
// internal/cudadrv reaches the driver: no cgo, no CUDA SDK to build. It
// binds the few functions invad uses: a handle bound to a stream, the
// matrix product (cublasDgemm_v2) and the batched LU (cublasDgetrfBatched)
// that the benchmarks compare the CUDA backend's own with.
//
// cuBLAS is column-major; callers map row-major data themselves. Every
// call must run where the handle's CUDA context is current.
package cublas

import (
	"errors"
	"fmt"
	"os"

	"github.com/invad/invad/internal/dynlib"
)

// ErrNotFound is matched by Open's error when no libcublas loads.
var ErrNotFound = errors.New("cublas: no libcublas found")

// DefaultNames are the libraries Open tries after $INVAD_CUBLAS (a path),
// in order.
var DefaultNames = []string{"libcublas.so.12", "libcublas.so.11", "libcublas.so.13", "libcublas.so"}

// Lib is an opened libcublas.
type Lib struct {
	// Path is the name it was opened under.
	Path string

	create    func(h *uintptr) uint32
	destroy   func(h uintptr) uint32
	setStream func(h uintptr, s uintptr) uint32
	version   func(h uintptr, v *int32) uint32
	dgemm     func(h uintptr, ta, tb int32, m, n, k int32, alpha *float64, a uint64, lda int32, b uint64, ldb int32, beta *float64, c uint64, ldc int32) uint32
	getrf     func(h uintptr, n int32, aarray uint64, lda int32, piv uint64, info uint64, batch int32) uint32
}

func (l *Lib) symbols() []dynlib.Symbol {
	return []dynlib.Symbol{
		{Name: "cublasCreate_v2", Fptr: &l.create},
		{Name: "cublasDestroy_v2", Fptr: &l.destroy},
		{Name: "cublasSetStream_v2", Fptr: &l.setStream},
		{Name: "cublasGetVersion_v2", Fptr: &l.version},
		{Name: "cublasDgemm_v2", Fptr: &l.dgemm},
		{Name: "cublasDgetrfBatched", Fptr: &l.getrf},
	}
}

// Open loads the first library of names that loads and has every symbol;
// with no names, $INVAD_CUBLAS (if set) and then DefaultNames. The error
// matches ErrNotFound and carries dlopen's messages.
func Open(names ...string) (*Lib, error) {
	if len(names) == 0 {
		if p := os.Getenv("INVAD_CUBLAS"); p != "" {
			names = append(names, p)
		}
		names = append(names, DefaultNames...)
	}
	var l *Lib
	if _, err := dynlib.Open(names, func(name string) []dynlib.Symbol {
		l = &Lib{Path: name}
		return l.symbols()
	}); err != nil {
		return nil, fmt.Errorf("%w (set INVAD_CUBLAS to its path): %v", ErrNotFound, err)
	}
	return l, nil
}

// Error is a cuBLAS status other than CUBLAS_STATUS_SUCCESS.
type Error struct {
	Call   string
	Status uint32
}

var statusNames = map[uint32]string{
	1: "CUBLAS_STATUS_NOT_INITIALIZED", 3: "CUBLAS_STATUS_ALLOC_FAILED", 7: "CUBLAS_STATUS_INVALID_VALUE",
	8: "CUBLAS_STATUS_ARCH_MISMATCH", 11: "CUBLAS_STATUS_MAPPING_ERROR", 13: "CUBLAS_STATUS_EXECUTION_FAILED",
	14: "CUBLAS_STATUS_INTERNAL_ERROR", 15: "CUBLAS_STATUS_NOT_SUPPORTED", 16: "CUBLAS_STATUS_LICENSE_ERROR",
}

func (e *Error) Error() string {
	name := statusNames[e.Status]
	if name == "" {
		name = fmt.Sprintf("status %d", e.Status)
	}
	return fmt.Sprintf("cublas: %s: %s", e.Call, name)
}

func check(call string, st uint32) error {
	if st == 0 {
		return nil
	}
	return &Error{Call: call, Status: st}
}

// Handle is a cuBLAS handle, made in the context current at Create.
type Handle struct {
	lib *Lib
	h   uintptr
}

// Create makes a handle in the current context.
func (l *Lib) Create() (*Handle, error) {
	var h uintptr
	if err := check("cublasCreate_v2", l.create(&h)); err != nil {
		return nil, err
	}
	return &Handle{lib: l, h: h}, nil
}

// Destroy releases the handle.
func (h *Handle) Destroy() error { return check("cublasDestroy_v2", h.lib.destroy(h.h)) }

// SetStream makes the handle's calls run in stream s (a CUstream).
func (h *Handle) SetStream(s uintptr) error {
	return check("cublasSetStream_v2", h.lib.setStream(h.h, s))
}

// Version returns cuBLAS's version number (e.g. 120304 for 12.3.4).
func (h *Handle) Version() (int, error) {
	var v int32
	err := check("cublasGetVersion_v2", h.lib.version(h.h, &v))
	return int(v), err
}

// Op is a cuBLAS operation on a matrix operand.
type Op int32

// The operations: the matrix itself or its transpose.
const (
	N Op = 0
	T Op = 1
)

// Dgemm computes C = alpha·op(A)·op(B) + beta·C in column-major storage,
// op(A) m×k, op(B) k×n; a, b and c are device addresses.
func (h *Handle) Dgemm(ta, tb Op, m, n, k int, alpha float64, a uint64, lda int, b uint64, ldb int, beta float64, c uint64, ldc int) error {
	return check("cublasDgemm_v2", h.lib.dgemm(h.h, int32(ta), int32(tb), int32(m), int32(n), int32(k), &alpha, a, int32(lda), b, int32(ldb), &beta, c, int32(ldc)))
}

// DgetrfBatched LU-factorizes batch column-major n×n matrices in place:
// aarray is the device address of batch device pointers, piv of n·batch
// int32 pivots, info of batch int32 statuses.
func (h *Handle) DgetrfBatched(n int, aarray uint64, lda int, piv, info uint64, batch int) error {
	return check("cublasDgetrfBatched", h.lib.getrf(h.h, int32(n), aarray, int32(lda), piv, info, int32(batch)))
}
