package cudadrv

import (
	"errors"
	"fmt"
)

// Result is a CUresult, the status code of a driver call.
type Result uint32

// The codes this package treats specially; every other code is reported by
// the driver's name for it.
const (
	Success           Result = 0   // CUDA_SUCCESS
	ErrorNotReady     Result = 600 // CUDA_ERROR_NOT_READY
	ErrorNoDevice     Result = 100 // CUDA_ERROR_NO_DEVICE
	ErrorStubLibrary  Result = 34  // CUDA_ERROR_STUB_LIBRARY
	ErrorNotInitiated Result = 3   // CUDA_ERROR_NOT_INITIALIZED
)

// ErrNoDriver reports that libcuda.so.1 could not be opened, or lacks a
// symbol this package needs. The error returned wraps it with dlopen's
// message or the missing symbol.
var ErrNoDriver = errors.New("no CUDA driver")

// ErrNoDevice reports that the driver was found but reports no CUDA device
// (CUDA_ERROR_NO_DEVICE, or a device count of zero).
var ErrNoDevice = errors.New("no CUDA device")

// Error is a driver call that returned a code other than CUDA_SUCCESS.
type Error struct {
	Call string // the driver function, e.g. "cuMemAlloc_v2"
	Code Result
	Name string // the driver's name for Code, e.g. "CUDA_ERROR_OUT_OF_MEMORY"
}

func (e *Error) Error() string {
	return fmt.Sprintf("cudadrv: %s: %s (%d)", e.Call, e.Name, uint32(e.Code))
}

// Is makes errors.Is(err, ErrNoDevice) true for CUDA_ERROR_NO_DEVICE.
func (e *Error) Is(target error) bool {
	return target == ErrNoDevice && e.Code == ErrorNoDevice
}

// knownNames covers the codes that can come back before the driver is able to
// name them itself (cuGetErrorName failing, or not resolved).
var knownNames = map[Result]string{
	0:   "CUDA_SUCCESS",
	1:   "CUDA_ERROR_INVALID_VALUE",
	2:   "CUDA_ERROR_OUT_OF_MEMORY",
	3:   "CUDA_ERROR_NOT_INITIALIZED",
	4:   "CUDA_ERROR_DEINITIALIZED",
	34:  "CUDA_ERROR_STUB_LIBRARY",
	35:  "CUDA_ERROR_INSUFFICIENT_DRIVER",
	100: "CUDA_ERROR_NO_DEVICE",
	101: "CUDA_ERROR_INVALID_DEVICE",
	200: "CUDA_ERROR_INVALID_IMAGE",
	201: "CUDA_ERROR_INVALID_CONTEXT",
	209: "CUDA_ERROR_NO_BINARY_FOR_GPU",
	218: "CUDA_ERROR_INVALID_PTX",
	222: "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
	304: "CUDA_ERROR_OPERATING_SYSTEM",
	500: "CUDA_ERROR_NOT_FOUND",
	600: "CUDA_ERROR_NOT_READY",
	700: "CUDA_ERROR_ILLEGAL_ADDRESS",
	701: "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
	702: "CUDA_ERROR_LAUNCH_TIMEOUT",
	719: "CUDA_ERROR_LAUNCH_FAILED",
	999: "CUDA_ERROR_UNKNOWN",
}

// ErrorName returns the driver's name for r ("CUDA_ERROR_NO_DEVICE"), from
// cuGetErrorName when the driver is loaded, else from a built-in table, else
// "CUresult(N)".
func ErrorName(r Result) string {
	if l := loaded(); l != nil && l.cuGetErrorName != nil {
		var p *byte
		if Result(l.cuGetErrorName(uint32(r), &p)) == Success && p != nil {
			return goString(p)
		}
	}
	if s, ok := knownNames[r]; ok {
		return s
	}
	return fmt.Sprintf("CUresult(%d)", uint32(r))
}

// check turns the result of the driver call named call into an error.
func check(call string, r uint32) error {
	if Result(r) == Success {
		return nil
	}
	return &Error{Call: call, Code: Result(r), Name: ErrorName(Result(r))}
}
