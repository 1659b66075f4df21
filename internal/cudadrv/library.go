package cudadrv

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/invad/invad/internal/dynlib"
)

// library holds the driver functions, resolved from libcuda. The Go types
// follow cuda.h: CUresult is uint32, CUdevice int32, CUdeviceptr uint64 and
// size_t uint64; handles (CUcontext, CUmodule, ...) are uintptr.
type library struct {
	path string

	cuInit               func(flags uint32) uint32
	cuDriverGetVersion   func(v *int32) uint32
	cuDeviceGetCount     func(n *int32) uint32
	cuDeviceGet          func(d *int32, ordinal int32) uint32
	cuDeviceGetName      func(name *byte, n int32, d int32) uint32
	cuDeviceGetAttribute func(v *int32, attr int32, d int32) uint32
	cuDeviceTotalMem     func(bytes *uint64, d int32) uint32
	cuCtxCreate          func(ctx *uintptr, flags uint32, d int32) uint32
	cuCtxDestroy         func(ctx uintptr) uint32
	cuCtxSetCurrent      func(ctx uintptr) uint32
	cuCtxSynchronize     func() uint32
	cuMemAlloc           func(p *uint64, bytes uint64) uint32
	cuMemFree            func(p uint64) uint32
	cuMemcpyHtoD         func(dst uint64, src unsafe.Pointer, bytes uint64) uint32
	cuMemcpyDtoH         func(dst unsafe.Pointer, src uint64, bytes uint64) uint32
	cuMemcpyDtoD         func(dst, src uint64, bytes uint64) uint32
	cuMemsetD32          func(dst uint64, v uint32, n uint64) uint32
	cuMemsetD32Async     func(dst uint64, v uint32, n uint64, s uintptr) uint32
	cuModuleLoadData     func(m *uintptr, image unsafe.Pointer) uint32
	cuModuleLoadDataEx   func(m *uintptr, image unsafe.Pointer, n uint32, opts *int32, vals *uintptr) uint32
	cuModuleUnload       func(m uintptr) uint32
	cuModuleGetFunction  func(f *uintptr, m uintptr, name string) uint32
	cuLaunchKernel       func(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, s uintptr, params unsafe.Pointer, extra unsafe.Pointer) uint32
	cuStreamCreate       func(s *uintptr, flags uint32) uint32
	cuStreamDestroy      func(s uintptr) uint32
	cuStreamSynchronize  func(s uintptr) uint32
	cuGetErrorName       func(r uint32, p **byte) uint32
}

// symbols lists every function of l with the name it has in libcuda.
func (l *library) symbols() []dynlib.Symbol {
	return []dynlib.Symbol{
		{Name: "cuInit", Fptr: &l.cuInit},
		{Name: "cuDriverGetVersion", Fptr: &l.cuDriverGetVersion},
		{Name: "cuDeviceGetCount", Fptr: &l.cuDeviceGetCount},
		{Name: "cuDeviceGet", Fptr: &l.cuDeviceGet},
		{Name: "cuDeviceGetName", Fptr: &l.cuDeviceGetName},
		{Name: "cuDeviceGetAttribute", Fptr: &l.cuDeviceGetAttribute},
		{Name: "cuDeviceTotalMem_v2", Fptr: &l.cuDeviceTotalMem},
		{Name: "cuCtxCreate_v2", Fptr: &l.cuCtxCreate},
		{Name: "cuCtxDestroy_v2", Fptr: &l.cuCtxDestroy},
		{Name: "cuCtxSetCurrent", Fptr: &l.cuCtxSetCurrent},
		{Name: "cuCtxSynchronize", Fptr: &l.cuCtxSynchronize},
		{Name: "cuMemAlloc_v2", Fptr: &l.cuMemAlloc},
		{Name: "cuMemFree_v2", Fptr: &l.cuMemFree},
		{Name: "cuMemcpyHtoD_v2", Fptr: &l.cuMemcpyHtoD},
		{Name: "cuMemcpyDtoH_v2", Fptr: &l.cuMemcpyDtoH},
		{Name: "cuMemcpyDtoD_v2", Fptr: &l.cuMemcpyDtoD},
		{Name: "cuMemsetD32_v2", Fptr: &l.cuMemsetD32},
		{Name: "cuMemsetD32Async", Fptr: &l.cuMemsetD32Async},
		{Name: "cuModuleLoadData", Fptr: &l.cuModuleLoadData},
		{Name: "cuModuleLoadDataEx", Fptr: &l.cuModuleLoadDataEx},
		{Name: "cuModuleUnload", Fptr: &l.cuModuleUnload},
		{Name: "cuModuleGetFunction", Fptr: &l.cuModuleGetFunction},
		{Name: "cuLaunchKernel", Fptr: &l.cuLaunchKernel},
		{Name: "cuStreamCreate", Fptr: &l.cuStreamCreate},
		{Name: "cuStreamDestroy_v2", Fptr: &l.cuStreamDestroy},
		{Name: "cuStreamSynchronize", Fptr: &l.cuStreamSynchronize},
		{Name: "cuGetErrorName", Fptr: &l.cuGetErrorName},
	}
}

// libNames are the names tried, in order, by dlopen. Tests replace them.
var libNames = []string{"libcuda.so.1", "libcuda.so"}

var (
	loadOnce sync.Once
	loadLib  *library
	loadErr  error
	// current is loadLib once it loaded without error; ErrorName reads it
	// without going through loadOnce.
	current atomic.Pointer[library]
)

// load opens the driver once and returns it, or an error matching
// ErrNoDriver.
func load() (*library, error) {
	loadOnce.Do(func() {
		loadLib, loadErr = open(libNames)
		if loadErr == nil {
			current.Store(loadLib)
		}
	})
	return loadLib, loadErr
}

// loaded returns the driver if it has been loaded, else nil.
func loaded() *library { return current.Load() }

// Load opens the driver library if it is not open yet. It returns nil, or an
// error matching ErrNoDriver that says why (dlopen's message, or the missing
// symbol). It does not initialize the driver (see Init).
func Load() error {
	_, err := load()
	return err
}

// LibraryPath returns the name under which the driver library was opened,
// or "" if it is not loaded.
func LibraryPath() string {
	if l := loaded(); l != nil {
		return l.path
	}
	return ""
}

// goString copies the NUL-terminated C string at p.
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
