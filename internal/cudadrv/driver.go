package cudadrv

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// Device is a CUdevice, an ordinal's handle.
type Device int32

// Context is a CUcontext.
type Context uintptr

// Module is a CUmodule, a loaded PTX or cubin image.
type Module uintptr

// Function is a CUfunction, a kernel of a Module.
type Function uintptr

// Stream is a CUstream; 0 is the legacy default stream.
type Stream uintptr

// DevicePtr is a CUdeviceptr, an address in device memory.
type DevicePtr uint64

// Device attributes (CUdevice_attribute) read by Probe.
const (
	AttrComputeCapabilityMajor = 75
	AttrComputeCapabilityMinor = 76
	AttrMultiprocessorCount    = 16
)

var (
	initOnce sync.Once
	initErr  error
)

// Init loads the driver and calls cuInit(0), once; later calls return the
// first call's result. The error matches ErrNoDriver when the library is
// missing and ErrNoDevice when cuInit reports CUDA_ERROR_NO_DEVICE; any other
// failure is an *Error naming cuInit.
func Init() error {
	initOnce.Do(func() {
		l, err := load()
		if err != nil {
			initErr = err
			return
		}
		initErr = check("cuInit", l.cuInit(0))
	})
	return initErr
}

// lib returns the initialized driver.
func lib() (*library, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	return loadLib, nil
}

// DriverVersion returns the CUDA version the driver supports, as 1000·major +
// 10·minor (12040 for 12.4). It needs the library but not Init.
func DriverVersion() (int, error) {
	l, err := load()
	if err != nil {
		return 0, err
	}
	var v int32
	if err := check("cuDriverGetVersion", l.cuDriverGetVersion(&v)); err != nil {
		return 0, err
	}
	return int(v), nil
}

// DeviceCount returns the number of CUDA devices.
func DeviceCount() (int, error) {
	l, err := lib()
	if err != nil {
		return 0, err
	}
	var n int32
	if err := check("cuDeviceGetCount", l.cuDeviceGetCount(&n)); err != nil {
		return 0, err
	}
	return int(n), nil
}

// DeviceGet returns the device of the given ordinal.
func DeviceGet(ordinal int) (Device, error) {
	l, err := lib()
	if err != nil {
		return 0, err
	}
	var d int32
	if err := check("cuDeviceGet", l.cuDeviceGet(&d, int32(ordinal))); err != nil {
		return 0, err
	}
	return Device(d), nil
}

// Name returns the device's name, e.g. "NVIDIA H100 80GB HBM3".
func (d Device) Name() (string, error) {
	l, err := lib()
	if err != nil {
		return "", err
	}
	var buf [256]byte
	if err := check("cuDeviceGetName", l.cuDeviceGetName(&buf[0], int32(len(buf)), int32(d))); err != nil {
		return "", err
	}
	return goString(&buf[0]), nil
}

// Attribute returns the device attribute attr (a CUdevice_attribute).
func (d Device) Attribute(attr int) (int, error) {
	l, err := lib()
	if err != nil {
		return 0, err
	}
	var v int32
	if err := check("cuDeviceGetAttribute", l.cuDeviceGetAttribute(&v, int32(attr), int32(d))); err != nil {
		return 0, err
	}
	return int(v), nil
}

// ComputeCapability returns the device's compute capability (9, 0 for an H100).
func (d Device) ComputeCapability() (major, minor int, err error) {
	if major, err = d.Attribute(AttrComputeCapabilityMajor); err != nil {
		return 0, 0, err
	}
	minor, err = d.Attribute(AttrComputeCapabilityMinor)
	return major, minor, err
}

// TotalMem returns the device's memory in bytes.
func (d Device) TotalMem() (uint64, error) {
	l, err := lib()
	if err != nil {
		return 0, err
	}
	var n uint64
	if err := check("cuDeviceTotalMem_v2", l.cuDeviceTotalMem(&n, int32(d))); err != nil {
		return 0, err
	}
	return n, nil
}

// CtxCreate creates a context on d and makes it current on the calling OS
// thread (cuCtxCreate_v2).
func CtxCreate(flags uint32, d Device) (Context, error) {
	l, err := lib()
	if err != nil {
		return 0, err
	}
	var c uintptr
	if err := check("cuCtxCreate_v2", l.cuCtxCreate(&c, flags, int32(d))); err != nil {
		return 0, err
	}
	return Context(c), nil
}

// Destroy destroys the context (cuCtxDestroy_v2).
func (c Context) Destroy() error {
	l, err := lib()
	if err != nil {
		return err
	}
	return check("cuCtxDestroy_v2", l.cuCtxDestroy(uintptr(c)))
}

// SetCurrent makes c the current context of the calling OS thread.
func (c Context) SetCurrent() error {
	l, err := lib()
	if err != nil {
		return err
	}
	return check("cuCtxSetCurrent", l.cuCtxSetCurrent(uintptr(c)))
}

// CtxSynchronize waits for all work of the current context.
func CtxSynchronize() error {
	l, err := lib()
	if err != nil {
		return err
	}
	return check("cuCtxSynchronize", l.cuCtxSynchronize())
}

// MemAlloc allocates bytes of device memory in the current context. It
// panics if bytes is negative.
func MemAlloc(bytes int) (DevicePtr, error) {
	if bytes < 0 {
		panic("cudadrv: MemAlloc of a negative size")
	}
	l, err := lib()
	if err != nil {
		return 0, err
	}
	var p uint64
	if err := check("cuMemAlloc_v2", l.cuMemAlloc(&p, uint64(bytes))); err != nil {
		return 0, err
	}
	return DevicePtr(p), nil
}

// MemFree frees device memory from MemAlloc.
func MemFree(p DevicePtr) error {
	l, err := lib()
	if err != nil {
		return err
	}
	return check("cuMemFree_v2", l.cuMemFree(uint64(p)))
}

func checkHost(src unsafe.Pointer, bytes int) {
	if bytes < 0 {
		panic("cudadrv: copy of a negative size")
	}
	if bytes > 0 && src == nil {
		panic("cudadrv: copy from or to a nil host pointer")
	}
}

// MemcpyHtoD copies bytes from host memory at src to dst, synchronously
// (cuMemcpyHtoD_v2). src must stay valid for the call.
func MemcpyHtoD(dst DevicePtr, src unsafe.Pointer, bytes int) error {
	checkHost(src, bytes)
	l, err := lib()
	if err != nil {
		return err
	}
	if bytes == 0 {
		return nil
	}
	return check("cuMemcpyHtoD_v2", l.cuMemcpyHtoD(uint64(dst), src, uint64(bytes)))
}

// MemcpyDtoH copies bytes from src to host memory at dst, synchronously
// (cuMemcpyDtoH_v2).
func MemcpyDtoH(dst unsafe.Pointer, src DevicePtr, bytes int) error {
	checkHost(dst, bytes)
	l, err := lib()
	if err != nil {
		return err
	}
	if bytes == 0 {
		return nil
	}
	return check("cuMemcpyDtoH_v2", l.cuMemcpyDtoH(dst, uint64(src), uint64(bytes)))
}

// MemcpyDtoD copies bytes between device buffers (cuMemcpyDtoD_v2).
func MemcpyDtoD(dst, src DevicePtr, bytes int) error {
	if bytes < 0 {
		panic("cudadrv: copy of a negative size")
	}
	l, err := lib()
	if err != nil {
		return err
	}
	if bytes == 0 {
		return nil
	}
	return check("cuMemcpyDtoD_v2", l.cuMemcpyDtoD(uint64(dst), uint64(src), uint64(bytes)))
}

// MemsetD32Async sets n 32-bit words at dst to v, in stream order.
func MemsetD32Async(dst DevicePtr, v uint32, n int, s Stream) error {
	if n < 0 {
		panic("cudadrv: MemsetD32Async of a negative count")
	}
	l, err := lib()
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	return check("cuMemsetD32Async", l.cuMemsetD32Async(uint64(dst), v, uint64(n), uintptr(s)))
}

// JIT options of cuModuleLoadDataEx (CUjit_option).
const (
	jitErrorLogBuffer          = 5
	jitErrorLogBufferSizeBytes = 6
)

// ModuleLoadData loads a PTX (or cubin) image into the current context; the
// driver JIT-compiles PTX for the device. A PTX image must end in a NUL byte;
// one is appended to a copy if it does not. A JIT failure's error carries
// the driver's log.
func ModuleLoadData(image []byte) (Module, error) {
	l, err := lib()
	if err != nil {
		return 0, err
	}
	if len(image) == 0 || image[len(image)-1] != 0 {
		image = append(append(make([]byte, 0, len(image)+1), image...), 0)
	}
	log := make([]byte, 8192)
	opts := []int32{jitErrorLogBuffer, jitErrorLogBufferSizeBytes}
	vals := []uintptr{uintptr(unsafe.Pointer(&log[0])), uintptr(len(log))}
	var pin runtime.Pinner
	pin.Pin(&log[0])
	pin.Pin(&image[0])
	defer pin.Unpin()
	var m uintptr
	r := l.cuModuleLoadDataEx(&m, unsafe.Pointer(&image[0]), uint32(len(opts)), &opts[0], &vals[0])
	runtime.KeepAlive(log)
	if err := check("cuModuleLoadDataEx", r); err != nil {
		if s := goString(&log[0]); s != "" {
			return 0, fmt.Errorf("%w: JIT log: %s", err, s)
		}
		return 0, err
	}
	return Module(m), nil
}

// Unload unloads the module.
func (m Module) Unload() error {
	l, err := lib()
	if err != nil {
		return err
	}
	return check("cuModuleUnload", l.cuModuleUnload(uintptr(m)))
}

// Function returns the kernel named name (its .entry name in the PTX).
func (m Module) Function(name string) (Function, error) {
	l, err := lib()
	if err != nil {
		return 0, err
	}
	var f uintptr
	if err := check("cuModuleGetFunction", l.cuModuleGetFunction(&f, uintptr(m), name)); err != nil {
		return 0, fmt.Errorf("%w (kernel %q)", err, name)
	}
	return Function(f), nil
}

// StreamCreate creates a stream (cuStreamCreate). Flags 0 make a blocking
// stream, ordered with the legacy default stream.
func StreamCreate(flags uint32) (Stream, error) {
	l, err := lib()
	if err != nil {
		return 0, err
	}
	var s uintptr
	if err := check("cuStreamCreate", l.cuStreamCreate(&s, flags)); err != nil {
		return 0, err
	}
	return Stream(s), nil
}

// Synchronize waits for the stream's work.
func (s Stream) Synchronize() error {
	l, err := lib()
	if err != nil {
		return err
	}
	return check("cuStreamSynchronize", l.cuStreamSynchronize(uintptr(s)))
}

// Destroy destroys the stream (cuStreamDestroy_v2).
func (s Stream) Destroy() error {
	l, err := lib()
	if err != nil {
		return err
	}
	return check("cuStreamDestroy_v2", l.cuStreamDestroy(uintptr(s)))
}

// Dim3 is a grid or block size.
type Dim3 struct{ X, Y, Z uint32 }

// LaunchKernel launches f on grid×block threads with shared bytes of dynamic
// shared memory in stream s. args are the kernel's arguments in order, each
// one of DevicePtr, int32, uint32, int64, uint64, float32 or float64, of the
// type the kernel declares (a DevicePtr for a pointer, int64 for long long).
// LaunchKernel panics on an argument of another type.
func LaunchKernel(f Function, grid, block Dim3, shared uint32, s Stream, args ...any) error {
	// One 8-byte slot per argument, and the array of pointers to the slots
	// that cuLaunchKernel reads; both pinned for the call.
	vals := make([]uint64, len(args)+1)
	ptrs := make([]unsafe.Pointer, len(args)+1)
	for i, a := range args {
		switch v := a.(type) {
		case DevicePtr:
			vals[i] = uint64(v)
		case int32:
			vals[i] = uint64(uint32(v))
		case uint32:
			vals[i] = uint64(v)
		case int64:
			vals[i] = uint64(v)
		case uint64:
			vals[i] = v
		case float32:
			vals[i] = uint64(math.Float32bits(v))
		case float64:
			vals[i] = math.Float64bits(v)
		default:
			panic(fmt.Sprintf("cudadrv: LaunchKernel argument %d has unsupported type %T", i, a))
		}
	}
	l, err := lib()
	if err != nil {
		return err
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&vals[0])
	pin.Pin(&ptrs[0])
	for i := range args {
		ptrs[i] = unsafe.Pointer(&vals[i])
	}
	var params unsafe.Pointer
	if len(args) > 0 {
		params = unsafe.Pointer(&ptrs[0])
	}
	r := l.cuLaunchKernel(uintptr(f), grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, shared, uintptr(s), params, nil)
	runtime.KeepAlive(vals)
	runtime.KeepAlive(ptrs)
	return check("cuLaunchKernel", r)
}
