package cudadrv

import (
	"errors"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"
)

// useLibrary makes the binding load the libraries names, from scratch, for
// the rest of the test; the real search is restored afterwards.
func useLibrary(t *testing.T, names []string) {
	t.Cleanup(UseLibraries(names))
}

// fakeDriver builds testdata/fakecuda.c into a shared library.
func fakeDriver(t *testing.T) string {
	t.Helper()
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("no gcc to build the fake driver: %v", err)
	}
	so := filepath.Join(t.TempDir(), "libfakecuda.so")
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-O1", "-o", so, "testdata/fakecuda.c").CombinedOutput(); err != nil {
		t.Fatalf("building the fake driver: %v\n%s", err, out)
	}
	return so
}

// TestFakeDriver runs every wrapper against a fake libcuda that records its
// arguments: purego's calls must match the C signatures of cuda.h.
func TestFakeDriver(t *testing.T) {
	so := fakeDriver(t)
	useLibrary(t, []string{so})
	r, err := Probe()
	if err != nil {
		t.Fatalf("Probe on the fake driver: %v", err)
	}
	if r.Library != so || r.DriverVersion != 12040 || len(r.Devices) != 2 {
		t.Fatalf("report %+v", r)
	}
	d1 := r.Devices[1]
	if d1.Name != "Fake GPU 11" || d1.Major != 9 || d1.Minor != 1 || d1.SMs != 132 || d1.TotalMem != 80<<30 {
		t.Errorf("device 1: %+v", d1)
	}
	if !strings.Contains(r.String(), "device 1: Fake GPU 11, sm_91, 132 SMs, 80.0 GiB") || !strings.Contains(r.String(), "CUDA 12.4") {
		t.Errorf("report text %q", r)
	}
	if _, err := DeviceGet(5); err == nil || !strings.Contains(err.Error(), "cuDeviceGet: CUDA_ERROR_INVALID_DEVICE (101)") {
		t.Errorf("DeviceGet(5): %v (the name from the table: the fake driver does not name 101)", err)
	}

	dev, _ := DeviceGet(0)
	ctx, err := CtxCreate(3, dev)
	if err != nil || ctx != Context(0x1000+10+3) {
		t.Fatalf("CtxCreate(3, 10) = %#x, %v", ctx, err)
	}
	if err := ctx.SetCurrent(); err != nil {
		t.Fatal(err)
	}

	// Memory round trip through the fake device (host memory).
	src := []float64{1.5, -2, math.Pi, 0}
	p, err := MemAlloc(8 * len(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := MemcpyHtoD(p, unsafe.Pointer(&src[0]), 8*len(src)); err != nil {
		t.Fatal(err)
	}
	q, _ := MemAlloc(8 * len(src))
	if err := MemcpyDtoD(q, p, 8*len(src)); err != nil {
		t.Fatal(err)
	}
	s, _ := StreamCreate(0)
	if err := MemsetD32Async(q+24, 0x3ff00000, 1, s); err != nil { // the high word of 1.0 in place of 0's low word
		t.Fatal(err)
	}
	dst := make([]float64, len(src))
	if err := MemcpyDtoH(unsafe.Pointer(&dst[0]), q, 8*len(dst)); err != nil {
		t.Fatal(err)
	}
	if dst[0] != 1.5 || dst[1] != -2 || dst[2] != math.Pi || math.Float64bits(dst[3]) != 0x3ff00000 {
		t.Errorf("round trip gave %v", dst)
	}
	if _, err := MemAlloc(1 << 41); !strings.Contains(err.Error(), "cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY (2)") {
		t.Errorf("MemAlloc(2 TiB): %v", err)
	}
	MemFree(p)
	MemFree(q)

	// Modules: a JIT failure carries the driver's log.
	if _, err := ModuleLoadData([]byte("bad ptx")); err == nil || !strings.Contains(err.Error(), "CUDA_ERROR_INVALID_PTX (218): JIT log: ptxas fatal: fake error in bad ptx") {
		t.Errorf("ModuleLoadData(bad): %v", err)
	}
	m, err := ModuleLoadData([]byte(".version 7.8"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Function("missing"); err == nil || !strings.Contains(err.Error(), `CUDA_ERROR_NOT_FOUND (500) (kernel "missing")`) {
		t.Errorf("Function(missing): %v", err)
	}
	f, err := m.Function("k")
	if err != nil || f != Function(0x3000+1) {
		t.Fatalf("Function(k) = %#x, %v", f, err)
	}

	// A launch: 11 arguments, five of them on the stack in the SysV ABI.
	if err := LaunchKernel(f, Dim3{7, 8, 9}, Dim3{128, 2, 1}, 4096, s, DevicePtr(0xdeadbeef00), int64(-5), 2.25, int32(-7)); err != nil {
		t.Fatal(err)
	}
	var last struct {
		f, gx, gy, gz, bx, by, bz, shared, stream uint64
		p, n                                      uint64
		x                                         float64
		i                                         int64
	}
	h, err := purego.Dlopen(so, purego.RTLD_NOW)
	if err != nil {
		t.Fatal(err)
	}
	var lastLaunch func(unsafe.Pointer)
	purego.RegisterLibFunc(&lastLaunch, h, "fake_last_launch")
	lastLaunch(unsafe.Pointer(&last))
	if last.f != uint64(f) || last.gx != 7 || last.gy != 8 || last.gz != 9 || last.bx != 128 || last.by != 2 || last.bz != 1 ||
		last.shared != 4096 || last.stream != uint64(s) {
		t.Errorf("launch geometry as the driver saw it: %+v", last)
	}
	if last.p != 0xdeadbeef00 || int64(last.n) != -5 || last.x != 2.25 || int32(last.i) != -7 {
		t.Errorf("kernel arguments as the driver saw them: p %#x n %d x %v i %d", last.p, int64(last.n), last.x, int32(last.i))
	}
	if err := s.Synchronize(); err != nil {
		t.Errorf("Synchronize: %v", err)
	}
	if err := Stream(0x4001).Synchronize(); err == nil || !strings.Contains(err.Error(), "CUDA_ERROR_INVALID_HANDLE") {
		t.Errorf("Synchronize of a bad stream: %v", err)
	}
	for _, e := range []error{m.Unload(), s.Destroy(), ctx.Destroy()} {
		if e != nil {
			t.Error(e)
		}
	}
}

// TestFakeDriverNoDevice makes the fake cuInit fail as a driver without a
// GPU does (CUDA_ERROR_NO_DEVICE), and with another code.
func TestFakeDriverNoDevice(t *testing.T) {
	so := fakeDriver(t)
	for _, tc := range []struct {
		code     string
		noDevice bool
	}{{"100", true}, {"999", false}} {
		useLibrary(t, []string{so})
		t.Setenv("FAKECUDA_INIT", tc.code)
		r, err := Probe()
		if err == nil || errors.Is(err, ErrNoDevice) != tc.noDevice || errors.Is(err, ErrNoDriver) || r.Library != so {
			t.Errorf("cuInit → %s: Probe = %+v, %v", tc.code, r, err)
		}
		if _, err2 := MemAlloc(8); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("cuInit → %s: MemAlloc says %v, want Init's error", tc.code, err2)
		}
	}
}

// TestMissingSymbol loads a library that is not a CUDA driver.
func TestMissingSymbol(t *testing.T) {
	useLibrary(t, []string{"libc.so.6"})
	err := Load()
	if !errors.Is(err, ErrNoDriver) || !strings.Contains(err.Error(), "libc.so.6 has no symbol cuInit") {
		t.Errorf("Load of libc: %v", err)
	}
}
