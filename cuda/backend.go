package cuda

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/invad/invad/internal/cublas"
	"github.com/invad/invad/internal/cudadrv"
)

// ErrNoDriver and ErrNoDevice are internal/cudadrv's sentinels: errors.Is
// matches either package's errors against them.
var (
	ErrNoDriver = cudadrv.ErrNoDriver
	ErrNoDevice = cudadrv.ErrNoDevice
)

// Available returns nil when a CUDA driver and at least one device exist,
// else an error matching ErrNoDriver (no libcuda.so.1) or ErrNoDevice (a
// driver without a device), or another driver error.
func Available() error {
	_, err := cudadrv.Probe()
	return err
}

// Probe describes what was found on a few lines ("CUDA driver: not found",
// or the library, its CUDA version and each device), with Available's
// error.
func Probe() (string, error) {
	r, err := cudadrv.Probe()
	return r.String(), err
}

// Backend runs kernels on one GPU: it holds a context, a stream, the loaded
// PTX modules and a caching allocator. Its methods are safe for concurrent
// use; they serialize.
type Backend struct {
	mu     sync.Mutex
	dev    device
	arch   string
	name   string
	cc     [2]int
	alloc  *allocator
	scrat  *Tensor // ewMaxGrid doubles for partial sums
	closed bool
	// blas, when set by EnableCuBLAS, serves Gemm.
	blas     *cublas.Handle
	blasPath string
}

// device is what a Backend needs of a GPU; its methods are called with the
// Backend's lock held, between enter and the function enter returns. The
// driver's implementation is gpuDevice; the tests also run the Backend on a
// CPU emulation of the kernels.
type device interface {
	enter() (leave func(), err error)
	memAlloc(bytes int) (cudadrv.DevicePtr, error)
	memFree(p cudadrv.DevicePtr) error
	htod(dst cudadrv.DevicePtr, src unsafe.Pointer, bytes int) error
	dtoh(dst unsafe.Pointer, src cudadrv.DevicePtr, bytes int) error
	memsetD32(dst cudadrv.DevicePtr, v uint32, n int) error
	launch(l launch) error
	sync() error
	close() error
}

// New opens device ordinal (0 for the first GPU): a context, a stream and
// the allocator. The PTX modules are loaded (JIT-compiled) on first use. It
// returns an error matching ErrNoDriver or ErrNoDevice where there is no GPU,
// and an error for a GPU older than compute capability 7.0.
func New(ordinal int) (*Backend, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d, err := cudadrv.DeviceGet(ordinal)
	if err != nil {
		return nil, err
	}
	g := &gpuDevice{dev: d, mods: map[string]cudadrv.Module{}, funcs: map[string]cudadrv.Function{}}
	b := &Backend{}
	if b.name, err = d.Name(); err != nil {
		return nil, err
	}
	if b.cc[0], b.cc[1], err = d.ComputeCapability(); err != nil {
		return nil, err
	}
	if b.arch = archFor(b.cc[0], b.cc[1]); b.arch == "" {
		return nil, fmt.Errorf("cuda: %s has compute capability %d.%d; the kernels need 7.0 or more", b.name, b.cc[0], b.cc[1])
	}
	g.arch = b.arch
	if g.ctx, err = cudadrv.CtxCreate(0, d); err != nil {
		return nil, err
	}
	if g.stream, err = cudadrv.StreamCreate(0); err != nil {
		g.ctx.Destroy()
		return nil, err
	}
	return newBackend(b, g), nil
}

// newBackend completes b with its device and allocator.
func newBackend(b *Backend, d device) *Backend {
	b.dev = d
	b.alloc = newAllocator(d.memAlloc, d.memFree)
	return b
}

// Name returns the GPU's name.
func (b *Backend) Name() string { return b.name }

// ComputeCapability returns the GPU's compute capability, e.g. 9, 0.
func (b *Backend) ComputeCapability() (major, minor int) { return b.cc[0], b.cc[1] }

// Arch returns the PTX architecture loaded, "compute_70" or "compute_90".
func (b *Backend) Arch() string { return b.arch }

// String names the GPU and the PTX it runs.
func (b *Backend) String() string {
	return fmt.Sprintf("%s (sm_%d%d, %s PTX)", b.name, b.cc[0], b.cc[1], b.arch)
}

// MemStats returns the bytes of device memory held by live tensors and by
// the allocator's cache.
func (b *Backend) MemStats() (inUse, cached int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.alloc.inUse, b.alloc.cached
}

// do runs f with the Backend locked and its device entered. It panics on a
// closed Backend.
func (b *Backend) do(f func() error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		panic("cuda: use of a closed Backend")
	}
	leave, err := b.dev.enter()
	if err != nil {
		return err
	}
	defer leave()
	return f()
}

// Synchronize waits for every kernel and copy issued so far, and returns the
// first error of their execution.
func (b *Backend) Synchronize() error {
	return b.do(b.dev.sync)
}

// Trim frees the device memory cached by the allocator.
func (b *Backend) Trim() error {
	return b.do(func() error {
		if err := b.dev.sync(); err != nil {
			return err
		}
		return b.alloc.trim()
	})
}

// Close waits for the stream, frees the cached memory and releases the
// device (modules, stream, context). Tensors still alive become invalid.
// Closing twice is a no-op.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	leave, err := b.dev.enter()
	if err != nil {
		return err
	}
	defer leave()
	if b.scrat != nil {
		b.alloc.put(b.scrat.ptr, b.scrat.class)
		b.scrat = nil
	}
	errs := []error{b.dev.sync(), b.alloc.trim()}
	if b.blas != nil {
		errs = append(errs, b.blas.Destroy())
		b.blas = nil
	}
	errs = append(errs, b.dev.close())
	b.closed = true
	return errors.Join(errs...)
}

// launch runs l in the stream. The caller holds the lock.
func (b *Backend) launch(l launch) error {
	l.checkArgs()
	if err := b.dev.launch(l); err != nil {
		return fmt.Errorf("cuda: %s: %w", l.name, err)
	}
	return nil
}

// gpuDevice is a device through the CUDA driver.
type gpuDevice struct {
	dev    cudadrv.Device
	ctx    cudadrv.Context
	stream cudadrv.Stream
	arch   string
	mods   map[string]cudadrv.Module
	funcs  map[string]cudadrv.Function
}

// enter locks the goroutine to its OS thread and makes the context current
// there: a context is current per thread, and goroutines move.
func (g *gpuDevice) enter() (func(), error) {
	runtime.LockOSThread()
	if err := g.ctx.SetCurrent(); err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	return runtime.UnlockOSThread, nil
}

func (g *gpuDevice) memAlloc(bytes int) (cudadrv.DevicePtr, error) { return cudadrv.MemAlloc(bytes) }
func (g *gpuDevice) memFree(p cudadrv.DevicePtr) error             { return cudadrv.MemFree(p) }

// htod copies synchronously; the legacy default stream that
// cuMemcpyHtoD_v2 uses is ordered with the Backend's blocking stream.
func (g *gpuDevice) htod(dst cudadrv.DevicePtr, src unsafe.Pointer, bytes int) error {
	return cudadrv.MemcpyHtoD(dst, src, bytes)
}

// dtoh waits for the stream, so that kernels' errors surface, and copies.
func (g *gpuDevice) dtoh(dst unsafe.Pointer, src cudadrv.DevicePtr, bytes int) error {
	if err := g.stream.Synchronize(); err != nil {
		return err
	}
	return cudadrv.MemcpyDtoH(dst, src, bytes)
}

func (g *gpuDevice) memsetD32(dst cudadrv.DevicePtr, v uint32, n int) error {
	return cudadrv.MemsetD32Async(dst, v, n, g.stream)
}

func (g *gpuDevice) sync() error { return g.stream.Synchronize() }

func (g *gpuDevice) close() error {
	var errs []error
	for _, m := range g.mods {
		errs = append(errs, m.Unload())
	}
	errs = append(errs, g.stream.Destroy(), g.ctx.Destroy())
	return errors.Join(errs...)
}

// function returns the named kernel, loading its module on first use.
func (g *gpuDevice) function(name string) (cudadrv.Function, error) {
	if f, ok := g.funcs[name]; ok {
		return f, nil
	}
	spec, ok := kernels[name]
	if !ok {
		panic(fmt.Sprintf("cuda: no kernel %q", name))
	}
	mod, ok := g.mods[spec.source]
	if !ok {
		var err error
		if mod, err = cudadrv.ModuleLoadData(PTX(spec.source, g.arch)); err != nil {
			return 0, fmt.Errorf("cuda: loading the %s PTX for %s: %w", spec.source, g.arch, err)
		}
		g.mods[spec.source] = mod
	}
	f, err := mod.Function(name)
	if err != nil {
		return 0, err
	}
	g.funcs[name] = f
	return f, nil
}

func (g *gpuDevice) launch(l launch) error {
	f, err := g.function(l.name)
	if err != nil {
		return err
	}
	return cudadrv.LaunchKernel(f, cudadrv.Dim3{X: l.grid, Y: 1, Z: 1}, cudadrv.Dim3{X: l.block, Y: 1, Z: 1}, l.shared, g.stream, l.args...)
}
