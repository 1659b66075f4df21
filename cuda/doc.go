// Package cuda is invad's CUDA backend: device tensors, a caching allocator,
// the embedded PTX kernels and their launches, elementwise op kernels, a
// batched LU with partial pivoting for many small blocks, and Linearize: a
// program recorded with its values in device memory, whose JVP, VJP, IJVP,
// VIJP and log|det J| run on the device (the CUDA counterpart of package
// inverse). Nothing here has run on a GPU yet: it is tested on a CPU
// emulation of the kernels (see README.md).
//
// # Use
//
//	be, err := cuda.New(0) // ErrNoDriver or ErrNoDevice: use package inverse
//	defer be.Close()
//	lin, err := cuda.Linearize(be, f, x)
//	defer lin.Close()
//	dx, err := lin.IJVP(dy)
//
// # Finding the GPU
//
// Nothing here needs CUDA to build: the driver (libcuda.so.1) is opened at
// run time through purego by internal/cudadrv. Available reports whether a
// driver and a device exist: nil, or an error matching ErrNoDriver (no
// library) or ErrNoDevice (a driver but no device). New returns the same
// errors, so a caller can fall back to the CPU.
//
// # Kernels
//
// The kernels are CUDA C in kernels/*.cu, compiled ahead of time to PTX for
// compute_70 and compute_90 by internal/ptxgen (NVRTC through purego; run
// go generate in this folder) and embedded with go:embed. A Backend loads
// the compute_90 PTX on GPUs of compute capability 9.0 or more and the
// compute_70 PTX on others; the driver JIT-compiles it for the GPU. PTX ISA
// 7.8 (NVRTC 11.8) needs a driver of release 520 or newer.
//
// # Ownership and order
//
// A Backend owns one context and one stream; every kernel and copy it issues
// runs in that stream's order, and its methods are safe for concurrent use
// (they serialize). Device tensors belong to the Backend that made them and
// go back to its caching allocator with Free; a freed tensor must not be
// used again. Outputs come first in argument lists (dst, then inputs);
// inputs are never modified.
//
// # Errors
//
// Caller mistakes panic with a "cuda: " message: mismatched lengths, an
// unknown op name, a tensor of another Backend, an order k outside 1..64.
// Driver failures are returned as errors naming the driver call
// (internal/cudadrv.Error). A batched factorization that refuses a block
// returns a *BatchSingular, which matches tape.ErrSingular.
package cuda

//go:generate go run ./internal/ewgen -out kernels/unary_ops.cuh
//go:generate go run ./internal/ptxgen -src kernels
