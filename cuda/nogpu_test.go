package cuda

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/invad/invad/internal/cudadrv"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/ops/opstest"
	"github.com/invad/invad/tape"
)

// TestNoGPUPaths checks, on a machine without a GPU, that Available and New
// say which of the two reasons it is.
func TestNoGPUPaths(t *testing.T) {
	err := Available()
	if err == nil {
		t.Skip("a CUDA GPU is present: the no-GPU paths are not exercised here")
	}
	if !errors.Is(err, ErrNoDriver) && !errors.Is(err, ErrNoDevice) {
		t.Logf("the driver loads but fails otherwise than 'no device': %v", err)
	}
	b, err2 := New(0)
	if b != nil || err2 == nil {
		t.Fatalf("New(0) = %v, %v without a GPU; want nil and an error", b, err2)
	}
	if errors.Is(err, ErrNoDriver) != errors.Is(err2, ErrNoDriver) || errors.Is(err, ErrNoDevice) != errors.Is(err2, ErrNoDevice) {
		t.Errorf("Available says %v but New says %v", err, err2)
	}
	desc, err3 := Probe()
	if err3 == nil || desc == "" {
		t.Errorf("Probe() = %q, %v; want a description and an error", desc, err3)
	}
	t.Logf("no GPU here: %v (%s)", err, desc)
}

var (
	entryRE = regexp.MustCompile(`(?m)^\.visible \.entry (\w+)\(([^)]*)\)`)
	paramRE = regexp.MustCompile(`\.param (\.\w+) \w+`)
)

// ptxEntries returns the kernels of a PTX file with their parameter types.
func ptxEntries(ptx string) map[string][]string {
	out := map[string][]string{}
	for _, m := range entryRE.FindAllStringSubmatch(ptx, -1) {
		var types []string
		for _, p := range paramRE.FindAllStringSubmatch(m[2], -1) {
			types = append(types, p[1])
		}
		out[m[1]] = types
	}
	return out
}

// TestEmbeddedPTX checks that every embedded PTX file is PTX for its
// architecture and declares exactly the kernels of the table, with the
// parameter types the launches pass.
func TestEmbeddedPTX(t *testing.T) {
	for _, src := range Sources {
		for _, arch := range Archs {
			t.Run(src+"/"+arch, func(t *testing.T) {
				ptx := string(PTX(src, arch))
				// NVRTC 11.8 writes PTX ISA 7.8; the driver needs to know it.
				if m := regexp.MustCompile(`(?m)^\.version (\d+)\.(\d+)$`).FindStringSubmatch(ptx); m == nil || m[1] < "7" {
					t.Errorf("no .version 7.x or later line")
				}
				wantTarget := ".target sm_" + strings.TrimPrefix(arch, "compute_")
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(wantTarget) + `$`).MatchString(ptx) {
					t.Errorf("no %q line", wantTarget)
				}
				if !strings.Contains(ptx, "\n.address_size 64\n") {
					t.Errorf("no .address_size 64 line")
				}
				got := ptxEntries(ptx)
				for name, spec := range kernels {
					if spec.source != src {
						continue
					}
					types, ok := got[name]
					if !ok {
						t.Errorf("kernel %s missing from the PTX", name)
						continue
					}
					var want []string
					for _, k := range spec.params {
						want = append(want, k.ptxType())
					}
					if !slices.Equal(types, want) {
						t.Errorf("kernel %s: PTX parameters %v, the launch passes %v", name, types, want)
					}
				}
				for name := range got {
					if spec, ok := kernels[name]; !ok || spec.source != src {
						t.Errorf("PTX kernel %s is not in the launch table", name)
					}
				}
			})
		}
	}
}

// TestOpsHaveKernels checks that every op of the conformance suite has a
// device rule (so that checkConformance runs every row on the device: no
// row is left to the CPU) and every elementwise one kernels under its name,
// and that every declared unary op has a conformance row (so it is checked
// on the device too).
func TestOpsHaveKernels(t *testing.T) {
	rows := map[string]bool{}
	for _, r := range opstest.Rows() {
		if _, err := deviceOp(&tape.Node{Op: r.Case.Op, Pos: 0}); err != nil {
			t.Errorf("row %s: %v", r.Case.Name, err)
		}
		switch op := r.Case.Op.(type) {
		case *ops.Elementwise:
			rows[op.Name()] = true
			if !slices.Contains(UnaryOps(), op.Name()) {
				t.Errorf("unary op %s has no kernels", op.Name())
			}
		case *ops.Binary:
			if !slices.Contains(BinaryOps(), op.Name()) {
				t.Errorf("binary op %s has no kernels", op.Name())
			}
		}
	}
	for _, d := range ops.UnaryDecls() {
		if !rows[d.Name] {
			t.Errorf("declared unary op %s has no conformance row in ops/opstest", d.Name)
		}
	}
}

// TestLaunches checks that every launch the Backend builds passes its
// kernel's parameter types and covers its elements.
func TestLaunches(t *testing.T) {
	p := cudadrv.DevicePtr(0x1000)
	for _, op := range unaryOps {
		for _, r := range []Rule{Forward, JVP, VJP, Deriv} {
			l := unaryLaunch(op, r, 0.5, 1000, p, p, p, p)
			l.checkArgs()
			if int(l.grid*l.block) < 1000 && l.grid < ewMaxGrid {
				t.Errorf("%s: %d×%d threads for 1000 elements", l.name, l.grid, l.block)
			}
		}
	}
	for _, op := range binaryOps {
		o := binaryOperands{n: 1 << 20, a: p, b: p, sa: 1, sb: 0, y: p}
		binaryForwardLaunch(op, o, p).checkArgs()
		binaryJVPLaunch(op, o, p, p, 0).checkArgs()
		for k := 0; k < 2; k++ {
			binaryDerivLaunch(op, k, o, p).checkArgs()
			for _, bc := range []bool{false, true} {
				ls := binaryVJPLaunches(op, k, o, p, p, p, bc)
				for _, l := range ls {
					l.checkArgs()
				}
				if bc && (len(ls) != 2 || ls[1].args[0].(int32) != int32(ls[0].grid) || ls[0].block != 256) {
					t.Errorf("%s vjp%d broadcast: the sum launch does not add the partials of every block", op, k)
				}
			}
		}
	}
	// gemm: one 256-thread block per 16×16 tile of C, covering it.
	for _, sh := range [][3]int{{1, 1, 1}, {16, 16, 3}, {17, 33, 5}, {1000, 3, 7}} {
		m, n, k := sh[0], sh[1], sh[2]
		ta := &Tensor{ptr: p}
		l := gemmLaunch(m, n, k, 1, GemmOperand{ta, k, false}, GemmOperand{ta, n, true}, 0, p, n)
		l.checkArgs()
		if l.block != gemmTile*gemmTile || int(l.grid) != ((m+15)/16)*((n+15)/16) {
			t.Errorf("gemm %d×%d: %d blocks of %d threads", m, n, l.grid, l.block)
		}
	}
	// gemm_batched: the tiles of every product.
	for _, sh := range [][4]int{{1, 1, 1, 1}, {3, 17, 33, 5}, {1000, 2, 2, 2}} {
		batch, m, n, k := sh[0], sh[1], sh[2], sh[3]
		ta := &Tensor{ptr: p}
		l := gemmBatchedLaunch(batch, m, n, k, 1, GemmOperand{ta, k, false}, m*k, GemmOperand{ta, n, true}, 0, 0, p, n, m*n)
		l.checkArgs()
		if l.block != gemmTile*gemmTile || int(l.grid) != batch*((m+15)/16)*((n+15)/16) {
			t.Errorf("gemm_batched %d×(%d×%d): %d blocks of %d threads", batch, m, n, l.grid, l.block)
		}
	}
	// The strided kernels: one thread per element of the index space.
	for _, name := range []string{"strided_copy", "strided_sum"} {
		for _, n := range []int{1, 1000, 1 << 24} {
			l := stridedLaunch(name, n, true, 0.5, p, p, p)
			l.checkArgs()
			if int(l.grid*l.block) < n && l.grid < ewMaxGrid {
				t.Errorf("%s: %d×%d threads for %d elements", name, l.grid, l.block, n)
			}
		}
	}
	// The scan: its chunks cover the rows, and a column's carries stay
	// under 2¹⁶ chunks.
	for _, rc := range [][2]int{{1, 1}, {64, 1}, {65, 7}, {10_000_000, 1}, {1 << 30, 2}} {
		r, c := rc[0], rc[1]
		ls := scanLaunches(r, c, true, p, p, p)
		for _, l := range ls {
			l.checkArgs()
		}
		L := int(ls[0].args[2].(int64))
		nq := int(ls[1].args[0].(int64))
		if nq*L < r || (nq-1)*L >= r || nq > 1<<16 || ls[2].args[2].(int64) != int64(L) {
			t.Errorf("scan of %d rows: %d chunks of %d", r, nq, L)
		}
	}
	for k := 1; k <= MaxK; k++ {
		for _, m := range []int{1, 127, 1000} {
			l := factorLaunch(k, m, p, p, p, p, p, p, p)
			l.checkArgs()
			if k <= maxSmallK {
				if int(l.grid*l.block) < m {
					t.Errorf("%s: %d threads for %d blocks", l.name, l.grid*l.block, m)
				}
			} else {
				w := int(l.block / 32)
				if int(l.grid)*w < m || l.block%32 != 0 {
					t.Errorf("k=%d: %d CTAs of %d threads for %d blocks", k, l.grid, l.block, m)
				}
				if need := 8 * (w*k*(k+1) + w); int(l.shared) != need || l.shared > 48<<10 {
					t.Errorf("k=%d: %d bytes of shared memory, need %d within 48 KiB", k, l.shared, need)
				}
			}
			for _, tr := range []bool{false, true} {
				s := solveLaunch(k, m, tr, p, p, p, p)
				s.checkArgs()
				if int(s.grid*s.block) < m {
					t.Errorf("%s: %d threads for %d blocks", s.name, s.grid*s.block, m)
				}
			}
		}
	}
}

func TestCheckArgsPanics(t *testing.T) {
	tests := []struct {
		name, reason string
		l            launch
		want         string
	}{
		{"count", "one argument short", launch{name: "ew_exp_fwd", args: []any{int64(3), 1.0, cudadrv.DevicePtr(1)}},
			"cuda: kernel ew_exp_fwd takes 4 arguments, given 3"},
		{"type", "an int where the kernel takes long long", launch{name: "ew_exp_fwd", args: []any{3, 1.0, cudadrv.DevicePtr(1), cudadrv.DevicePtr(2)}},
			"cuda: kernel ew_exp_fwd argument 0 is int, want int64"},
		{"unknown", "no such kernel", launch{name: "ew_nope_fwd"}, `cuda: no kernel "ew_nope_fwd"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); fmt.Sprint(r) != tc.want {
					t.Errorf("panic %v, want %q (%s)", r, tc.want, tc.reason)
				}
			}()
			tc.l.checkArgs()
		})
	}
}

func TestArchFor(t *testing.T) {
	tests := []struct {
		major, minor int
		want         string
	}{
		{9, 0, "compute_90"}, {10, 0, "compute_90"}, {8, 9, "compute_70"}, {7, 0, "compute_70"}, {6, 1, ""},
	}
	for _, tc := range tests {
		if got := archFor(tc.major, tc.minor); got != tc.want {
			t.Errorf("archFor(%d, %d) = %q, want %q", tc.major, tc.minor, got, tc.want)
		}
	}
}

func TestSizeClass(t *testing.T) {
	prev := 0
	for n := 1; n < 1<<22; n += 1 + n/7 {
		c := sizeClass(n)
		// At least n, at most a quarter more (above the 512-byte minimum),
		// and never smaller for a larger request.
		if c < n || (n > 512 && 4*c > 5*n) || c < prev {
			t.Fatalf("sizeClass(%d) = %d after %d", n, c, prev)
		}
		prev = c
	}
	if sizeClass(1) != 512 || sizeClass(513) != 640 || sizeClass(1024) != 1024 || sizeClass(1025) != 1280 {
		t.Errorf("classes 1→%d 513→%d 1024→%d 1025→%d, want 512 640 1024 1280", sizeClass(1), sizeClass(513), sizeClass(1024), sizeClass(1025))
	}
}

// TestAllocator checks the cache on a fake device: reuse by class, and one
// retry after freeing the cache when the device is out of memory.
func TestAllocator(t *testing.T) {
	var next cudadrv.DevicePtr = 0x10000
	live := map[cudadrv.DevicePtr]int{}
	limit := 4096 // bytes the fake device holds
	used := 0
	a := newAllocator(func(n int) (cudadrv.DevicePtr, error) {
		if used+n > limit {
			return 0, &cudadrv.Error{Call: "cuMemAlloc_v2", Code: 2, Name: "CUDA_ERROR_OUT_OF_MEMORY"}
		}
		next += 0x10000
		live[next] = n
		used += n
		return next, nil
	}, func(p cudadrv.DevicePtr) error {
		used -= live[p]
		delete(live, p)
		return nil
	})
	p1, c1, err := a.get(1000)
	if err != nil || c1 != 1024 {
		t.Fatalf("get(1000) = %v, %d, %v", p1, c1, err)
	}
	a.put(p1, c1)
	p2, _, err := a.get(900) // same class: the cached buffer
	if err != nil || p2 != p1 {
		t.Errorf("get(900) after put = %#x, %v; want the cached %#x", p2, err, p1)
	}
	a.put(p2, c1)
	// 1024 cached; 3072 more fit, 4096 do not until the cache is freed.
	p3, c3, err := a.get(4096)
	if err != nil || c3 != 4096 || len(live) != 1 || a.cached != 0 {
		t.Fatalf("get(4096) with 1024 cached of 4096: %v, %d, %v; live %v, cached %d", p3, c3, err, live, a.cached)
	}
	if _, _, err := a.get(512); err == nil {
		t.Errorf("get(512) on a full device succeeded")
	}
	if a.inUse != 4096 {
		t.Errorf("inUse = %d, want 4096", a.inUse)
	}
}

func TestSingularDecode(t *testing.T) {
	tests := []struct {
		name   string
		status int32
		val    float64
		row    int
		why    string
	}{
		{"non-finite", 1 | 3<<8, 1 / zero(), 2, "non-finite entry +Inf in row 2"},
		{"zero pivot", 2 | 1<<8, 0, 0, "zero pivot"},
		{"small pivot", 2 | 2<<8, 1e-300, 1, "pivot 1e-300 within RCondMin/k·max|A|: condition number above 1/RCondMin"},
		{"growth", 3 | 0<<8, 1e9, -1, "pivot growth 1e+09 above GrowthMax = 6.71e+07"},
	}
	for _, tc := range tests {
		s := singular(7, tc.status, tc.val)
		if s.Block != 7 || s.Row != tc.row || s.Why != tc.why {
			t.Errorf("%s: got %+v, want row %d, why %q", tc.name, s, tc.row, tc.why)
		}
		if !errors.Is(s, tape.ErrSingular) {
			t.Errorf("%s: does not match tape.ErrSingular", tc.name)
		}
	}
}

func zero() float64 { return 0 }
