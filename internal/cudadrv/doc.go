// Package cudadrv is a small binding of the CUDA driver API (libcuda.so.1),
// reached at run time through purego: no cgo, no CUDA SDK at build time.
//
// # Finding the driver
//
// The first call that needs the driver opens libcuda.so.1 (then libcuda.so)
// with dlopen and resolves the symbols it uses, the versioned ones (_v2) by
// their versioned names. A missing library, or one that lacks a symbol, is
// ErrNoDriver; cuInit or cuDeviceGetCount reporting CUDA_ERROR_NO_DEVICE
// (100), or zero devices, is ErrNoDevice. Probe reports what was found.
//
// # Errors
//
// Every driver call's CUresult other than CUDA_SUCCESS becomes an *Error that
// names the call and the driver's name for the code (cuGetErrorName), e.g.
// "cudadrv: cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY (2)". errors.Is matches an
// *Error with code 100 against ErrNoDevice. Passing a negative size or a nil
// host pointer with a non-zero size is a caller mistake and panics with a
// "cudadrv: " message.
//
// # Contexts and threads
//
// A CUDA context is current per OS thread, and goroutines move between
// threads. Callers that make driver calls from goroutines must lock the
// goroutine to its thread (runtime.LockOSThread) and make their context
// current (CtxSetCurrent) before each sequence of calls; package cuda does so.
//
// # Memory handed to the driver
//
// Host pointers given to the copy functions must stay valid for the call;
// the synchronous copies return only when the driver is done with them.
// LaunchKernel keeps the kernel's argument values pinned (runtime.Pinner)
// for the duration of the call, after which the driver holds its own copy.
package cudadrv
