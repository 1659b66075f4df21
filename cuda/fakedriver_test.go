package cuda

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/invad/invad/internal/cudadrv"
)

// TestFakeDriverBackend runs a Backend's driver path (New, module loading
// from the embedded PTX, copies, launches, Close) on the fake libcuda of
// internal/cudadrv/testdata, which keeps "device" memory in host memory and
// records launches without running them.
func TestFakeDriverBackend(t *testing.T) {
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("no gcc to build the fake driver: %v", err)
	}
	so := filepath.Join(t.TempDir(), "libfakecuda.so")
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-O1", "-o", so, "../internal/cudadrv/testdata/fakecuda.c").CombinedOutput(); err != nil {
		t.Fatalf("building the fake driver: %v\n%s", err, out)
	}
	t.Cleanup(cudadrv.UseLibraries([]string{so}))

	if err := Available(); err != nil {
		t.Fatalf("Available on the fake driver: %v", err)
	}
	b, err := New(1)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != "Fake GPU 11 (sm_91, compute_90 PTX)" {
		t.Errorf("backend %v", b)
	}
	x, err := b.UploadData([]int{2, 2}, []float64{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	y, _ := b.Alloc(2, 2)
	if err := b.Unary("scale", Forward, 2.5, y, x, nil, nil); err != nil {
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
	// ew_scale_fwd(n, p, y, x): the fake reads its first slots as (u64, u64,
	// double, int), so n, p's bits, y, x's low half.
	if last.gx != 1 || last.bx != ewBlock || last.p != 4 || last.n != 0x4004000000000000 || last.f != 0x3000+uint64(len("ew_scale_fwd")) {
		t.Errorf("launch as the driver saw it: %+v", last)
	}
	got, err := x.ToHost()
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Data(); len(d) != 4 || d[0] != 1 || d[3] != 4 || got.Shape()[0] != 2 {
		t.Errorf("round trip %v", got)
	}
	// FactorBatch's protocol: the fake runs no kernel, so first_bad stays m
	// and the batch is accepted.
	a, _ := b.UploadData([]int{4}, []float64{1, 2, 3, 4})
	f, err := b.FactorBatch(a, 2, 1)
	if err != nil || f.K() != 2 || f.M() != 1 {
		t.Fatalf("FactorBatch on the fake: %v, %v", f, err)
	}
	f.Free()

	// cuBLAS on the fake driver: a fake libcublas computes on the fake's
	// host memory, so Gemm's row-major to column-major mapping is checked
	// by its results, with the same checks as the embedded kernel's.
	if err := b.EnableCuBLAS("libnot-a-cublas.so.99"); !errors.Is(err, ErrNoCuBLAS) {
		t.Errorf("EnableCuBLAS without a library: %v", err)
	}
	blasSo := filepath.Join(t.TempDir(), "libfakecublas.so")
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-O1", "-o", blasSo, "../internal/cublas/testdata/fakecublas.c", "-lm").CombinedOutput(); err != nil {
		t.Fatalf("building the fake libcublas: %v\n%s", err, out)
	}
	if err := b.EnableCuBLAS(blasSo); err != nil {
		t.Fatal(err)
	}
	if b.CuBLAS() != blasSo {
		t.Errorf("CuBLAS() = %q", b.CuBLAS())
	}
	bh, err := purego.Dlopen(blasSo, purego.RTLD_NOW)
	if err != nil {
		t.Fatal(err)
	}
	var blasState func(unsafe.Pointer)
	purego.RegisterLibFunc(&blasState, bh, "fake_state")
	var bs struct {
		created, destroyed int32
		stream             uint64
		ta, tb             int32
	}
	blasState(unsafe.Pointer(&bs))
	if bs.created != 1 || bs.stream != uint64(b.dev.(*gpuDevice).stream) {
		t.Errorf("cuBLAS handle: %+v, want one made and bound to the Backend's stream %#x", bs, b.dev.(*gpuDevice).stream)
	}
	t.Run("GemmOnCuBLAS", func(t *testing.T) { checkGemm(t, b) })
	blasState(unsafe.Pointer(&bs))
	if bs.ta != 1 || bs.tb != 1 {
		t.Errorf("the last Gemm (both operands transposed) reached cuBLAS as transa %d, transb %d", bs.ta, bs.tb)
	}
	for _, u := range []*Tensor{x, y, a} {
		u.Free()
	}
	if inUse, _ := b.MemStats(); inUse != 0 {
		t.Errorf("%d bytes in use after freeing everything", inUse)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if blasState(unsafe.Pointer(&bs)); bs.destroyed != 1 {
		t.Errorf("Close destroyed %d cuBLAS handles, want 1", bs.destroyed)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestCuBLASNeedsTheDriver: the emulated device cannot run cuBLAS, and
// says so instead of loading a library.
func TestCuBLASNeedsTheDriver(t *testing.T) {
	b := emuBackend(t)
	if err := b.EnableCuBLAS(); err == nil || !strings.Contains(err.Error(), "needs a Backend on the CUDA driver") {
		t.Errorf("EnableCuBLAS on the emulation: %v", err)
	}
	if b.CuBLAS() != "" {
		t.Errorf("CuBLAS() = %q on the emulation", b.CuBLAS())
	}
}
