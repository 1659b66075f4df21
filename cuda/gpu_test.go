package cuda

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/ops/opstest"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// The checks below run on a Backend: TestGPU runs them on the GPU, and
// skips without one (none of them has run on a GPU yet: see README.md);
// TestHostEmulation runs them on the CPU emulation of the kernels.
var deviceChecks = []struct {
	name string
	f    func(*testing.T, *Backend)
}{
	{"BatchLU", checkBatchLU},
	{"BatchLURefuses", checkBatchLURefuses},
	{"Unary", checkUnary},
	{"Binary", checkBinary},
	{"AllocatorReuse", checkAllocatorReuse},
	{"Gemm", checkGemm},
	{"GemmBatched", checkGemmBatched},
	{"Strided", checkStrided},
	{"SumAndAddScalar", checkSum},
	{"Cumsum", checkCumsum},
	{"DiagCheck", checkDiagCheck},
	{"Conformance", checkConformance},
	{"Linearize", checkLinearize},
	{"InversePrograms", checkInversePrograms},
	{"LinearizeErrors", checkLinearizeErrors},
	{"Cond", checkCond},
	{"Prepare", checkPrepare},
	{"Stencils", checkStencils},
	{"Newton", checkNewton},
	{"ConcurrentProducts", checkConcurrentProducts},
	{"SweepMemory", checkSweepMemory},
	{"Families", checkFamilies},
}

func TestGPU(t *testing.T) {
	for _, c := range deviceChecks {
		t.Run(c.name, func(t *testing.T) { c.f(t, gpuBackend(t)) })
	}
}

// quickChecks are the device checks TestHostEmulation runs by default: the
// kernels of every family and the inverse products on every lump kind (the
// programs of this package's tests). INVAD_HOSTEMU=full runs them all
// (.ci/run does, as a step of its own): the 26 programs of package
// inverse's tests, Newton, concurrency and the benchmark families on top.
var quickChecks = []string{"BatchLU", "BatchLURefuses", "Unary", "Binary", "Gemm", "GemmBatched", "Strided", "SumAndAddScalar", "Cumsum", "DiagCheck", "Linearize", "LinearizeErrors", "SweepMemory", "Cond", "Prepare", "Stencils"}

// TestHostEmulation runs the device checks on the CPU emulation of the
// kernels: by default the quick ones, all of them with INVAD_HOSTEMU=full.
func TestHostEmulation(t *testing.T) {
	full := os.Getenv("INVAD_HOSTEMU") == "full"
	for _, c := range deviceChecks {
		if !full && !slices.Contains(quickChecks, c.name) {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each check has its own emulator process
			c.f(t, emuBackend(t))
		})
	}
}

func gpuBackend(t testing.TB) *Backend {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("no CUDA GPU here, GPU test skipped: %v", err)
	}
	b, err := New(0)
	if err != nil {
		t.Fatalf("a GPU is reported but New(0) fails: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	t.Logf("GPU: %v", b)
	return b
}

// emulated reports whether b runs on the host emulation, where the tests
// take smaller sizes.
func emulated(b *Backend) bool { return b.arch == "hostemu" }

// quick reports whether b runs the everyday emulated checks (go test
// ./...), which take a subset of the cases; INVAD_HOSTEMU=full runs all.
func quick(b *Backend) bool { return emulated(b) && os.Getenv("INVAD_HOSTEMU") != "full" }

func upload(t testing.TB, b *Backend, data []float64) *Tensor {
	t.Helper()
	d, err := b.UploadData([]int{len(data)}, data)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	t.Cleanup(d.Free)
	return d
}

func download(t *testing.T, d *Tensor) []float64 {
	t.Helper()
	out := make([]float64, d.Len())
	if err := d.Download(out); err != nil {
		t.Fatalf("download: %v", err)
	}
	return out
}

func nans(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// closeTo reports whether got is within rel·|want| + abs of want.
func closeTo(got, want, rel, abs float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)+abs
}

func checkBatchLU(t *testing.T, b *Backend) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, k := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 31, 32, 33, 64} {
		for _, m := range []int{1, 37, 1000} {
			switch {
			case emulated(b) && k > maxSmallK && m == 1000:
				continue // the emulated warp kernel takes ~10 ms a block
			case quick(b) && m == 1000 && k != 2 && k != maxSmallK:
				continue // the quick emulated run: one grid-sized case per kernel kind
			case k >= 32 && m == 1000:
				m = 300 // the CPU reference is a dense LU per block
			}
			// Uniform entries in [-1, 1): blocks that need row exchanges.
			a := make([]float64, k*k*m)
			for i := range a {
				a[i] = 2*rng.Float64() - 1
			}
			v := make([]float64, k*m)
			for i := range v {
				v[i] = 2*rng.Float64() - 1
			}
			da, dv := upload(t, b, a), upload(t, b, v)
			f, err := b.FactorBatch(da, k, m)
			if err != nil {
				t.Fatalf("k=%d m=%d: FactorBatch: %v", k, m, err)
			}
			x, xt := upload(t, b, nans(k*m)), upload(t, b, nans(k*m))
			if err := f.Solve(x, dv); err != nil {
				t.Fatal(err)
			}
			if err := f.SolveT(xt, dv); err != nil {
				t.Fatal(err)
			}
			got, gotT := download(t, x), download(t, xt)
			ld := make([]float64, m)
			if err := f.LogAbsDets(ld); err != nil {
				t.Fatal(err)
			}
			// In place: dst = v.
			inplace := upload(t, b, v)
			if err := f.Solve(inplace, inplace); err != nil {
				t.Fatal(err)
			}
			gotIn := download(t, inplace)
			// The reference: a dense LU of each block on the CPU.
			blk, vb, want, wantT := make([]float64, k*k), make([]float64, k), make([]float64, k), make([]float64, k)
			for bi := 0; bi < m; bi++ {
				for e := range blk {
					blk[e] = a[e*m+bi]
				}
				for i := range vb {
					vb[i] = v[i*m+bi]
				}
				lu, sing := cpu.FactorLU(blk, k)
				if sing != nil {
					t.Fatalf("k=%d block %d: the CPU refuses it: %v", k, bi, sing)
				}
				lu.Solve(want, vb)
				lu.SolveT(wantT, vb)
				// 1e-12 relative for blocks of reciprocal condition above
				// 1e-4 (most random blocks); ε/rcond for worse ones, the
				// accuracy either solve can promise.
				tol := max(1e-12, 1e-16/lu.RCond())
				for i := 0; i < k; i++ {
					if !closeTo(got[i*m+bi], want[i], tol, tol) || !closeTo(gotIn[i*m+bi], want[i], tol, tol) {
						t.Fatalf("k=%d m=%d block %d: Solve x[%d] = %v (in place %v), CPU %v", k, m, bi, i, got[i*m+bi], gotIn[i*m+bi], want[i])
					}
					if !closeTo(gotT[i*m+bi], wantT[i], tol, tol) {
						t.Fatalf("k=%d m=%d block %d: SolveT x[%d] = %v, CPU %v", k, m, bi, i, gotT[i*m+bi], wantT[i])
					}
				}
				if !closeTo(ld[bi], lu.LogAbsDet(), 1e-12, 1e-12) {
					t.Fatalf("k=%d block %d: log|det| %v, CPU %v", k, bi, ld[bi], lu.LogAbsDet())
				}
			}
			// The total, summed on the device, against the blocks' sum.
			total, sum := 0.0, 0.0
			for _, v := range ld {
				sum += v
			}
			if total, err = f.LogAbsDet(); err != nil || !closeTo(total, sum, 1e-12, 1e-12) {
				t.Fatalf("k=%d m=%d: LogAbsDet %v (%v), Σ LogAbsDets %v", k, m, total, err, sum)
			}
			f.Free()
		}
	}
}

func checkBatchLURefuses(t *testing.T, b *Backend) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, k := range []int{1, 3, 8, 20} {
		m := 200
		if emulated(b) {
			m = 60
		}
		tests := []struct {
			name, reason string
			block        int
			set          func(a []float64, b int) // spoils block b
			row          int
		}{
			{"zero", "an all-zero block has a zero first pivot", 3 * m / 4, func(a []float64, b int) {
				for e := 0; e < k*k; e++ {
					a[e*m+b] = 0
				}
			}, 0},
			{"nan", "a NaN entry in row k-1", m / 5, func(a []float64, b int) { a[(k*k-1)*m+b] = math.NaN() }, k - 1},
		}
		if k > 1 {
			tests = append(tests, struct {
				name, reason string
				block        int
				set          func(a []float64, b int)
				row          int
			}{"equal-rows", "rows 0 and 1 equal: exact cancellation at the last step", m / 3, func(a []float64, b int) {
				for j := 0; j < k; j++ {
					a[(1*k+j)*m+b] = a[(0*k+j)*m+b]
				}
			}, -2})
		}
		for _, tc := range tests {
			a := make([]float64, k*k*m)
			for i := range a {
				a[i] = 2*rng.Float64() - 1
			}
			tc.set(a, tc.block)
			tc.set(a, tc.block+10) // a later refused block must not be the one reported
			f, err := b.FactorBatch(upload(t, b, a), k, m)
			var s *BatchSingular
			if f != nil || !errors.As(err, &s) || !errors.Is(err, tape.ErrSingular) {
				t.Fatalf("k=%d %s: FactorBatch = %v, %v; want a *BatchSingular (%s)", k, tc.name, f, err, tc.reason)
			}
			if s.Block != tc.block || (tc.row >= 0 && s.Row != tc.row) {
				t.Errorf("k=%d %s: refused block %d row %d, want block %d row %d (%s)", k, tc.name, s.Block, s.Row, tc.block, tc.row, tc.reason)
			}
		}
	}
}

// unaryCase is an elementwise op with its parameter and a domain.
type unaryCase struct {
	op          *ops.Elementwise
	p           float64
	lo, hi, gap float64
}

// unaryCases are the elementwise unary ops of the conformance suite
// (opstest.ElementwiseRows), each on its row's domain: a new op's row
// brings it here.
func unaryCases() []unaryCase {
	var out []unaryCase
	for _, r := range opstest.ElementwiseRows() {
		if op, ok := r.Case.Op.(*ops.Elementwise); ok {
			in := r.Case.Inputs[0]
			out = append(out, unaryCase{op: op, p: op.Param(), lo: in.Lo, hi: in.Hi, gap: in.Gap})
		}
	}
	return out
}

// Elementwise results agree with the CPU to a few ulps: the device's libm
// and Go's math differ in the last bits. 1e-13 relative, 1e-15 absolute
// for values near zero (1 - y² near y = ±1, say).
const ewRel, ewAbs = 1e-13, 1e-15

func checkUnary(t *testing.T, b *Backend) {
	rng := rand.New(rand.NewPCG(3, 3))
	const n = 10007 // more than one block of threads, not a multiple of 256
	for _, c := range unaryCases() {
		x, tv, acc := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range x {
			for x[i] = c.lo + (c.hi-c.lo)*rng.Float64(); math.Abs(x[i]) < c.gap; x[i] = c.lo + (c.hi-c.lo)*rng.Float64() {
			}
			tv[i] = 2*rng.Float64() - 1
			acc[i] = 2*rng.Float64() - 1
		}
		hx, ht := tensor.New([]int{n}, x), tensor.New([]int{n}, tv)
		hy, hj, hv, hd := tensor.Zeros(n), tensor.Zeros(n), tensor.New([]int{n}, append([]float64(nil), acc...)), tensor.Zeros(n)
		ones := tensor.Zeros(n)
		ones.Fill(1)
		ops.ForwardOf(c.op, hy, hx)
		ops.JVPOf(c.op, hj, hx, hy, ht)
		ops.VJPOf(c.op, hv, hx, hy, ht)
		ops.JVPOf(c.op, hd, hx, hy, ones)

		dx, dt := upload(t, b, x), upload(t, b, tv)
		dy, dj, dv, dd := upload(t, b, nans(n)), upload(t, b, nans(n)), upload(t, b, acc), upload(t, b, nans(n))
		name := c.op.Name()
		if err := b.Unary(name, Forward, c.p, dy, dx, nil, nil); err != nil {
			t.Fatal(err)
		}
		dyHost := upload(t, b, hy.Data()) // the CPU's y, so the rules compare alone
		for _, step := range []struct {
			r   Rule
			dst *Tensor
		}{{JVP, dj}, {VJP, dv}, {Deriv, dd}} {
			if err := b.Unary(name, step.r, c.p, step.dst, dx, dyHost, dt); err != nil {
				t.Fatal(err)
			}
		}
		for _, cmp := range []struct {
			rule      string
			got, want []float64
		}{{"forward", download(t, dy), hy.Data()}, {"jvp", download(t, dj), hj.Data()},
			{"vjp", download(t, dv), hv.Data()}, {"deriv", download(t, dd), hd.Data()}} {
			for i := range cmp.want {
				if !closeTo(cmp.got[i], cmp.want[i], ewRel, ewAbs) {
					t.Errorf("%s %s at x = %v: GPU %v, CPU %v", name, cmp.rule, x[i], cmp.got[i], cmp.want[i])
					break
				}
			}
		}
	}
}

func checkBinary(t *testing.T, b *Backend) {
	rng := rand.New(rand.NewPCG(4, 4))
	const n = 10007
	for _, op := range []*ops.Binary{ops.AddOp, ops.SubOp, ops.MulOp, ops.DivOp} {
		for _, shape := range []struct {
			name   string
			na, nb int
		}{{"full", n, n}, {"a-scalar", 1, n}, {"b-scalar", n, 1}} {
			gen := func(l int, lo float64) []float64 {
				s := make([]float64, l)
				for i := range s {
					s[i] = lo + (2-lo)*rng.Float64() // in [lo, 2): b kept off zero for div
				}
				return s
			}
			a, bb := gen(shape.na, -2), gen(shape.nb, 0.5)
			ta, tb, cot := gen(shape.na, -1), gen(shape.nb, -1), gen(n, -1)
			ga, gb := gen(shape.na, -1), gen(shape.nb, -1)
			ten := func(s []float64) *tensor.Tensor {
				if len(s) == 1 {
					return tensor.Scalar(s[0])
				}
				return tensor.New([]int{len(s)}, append([]float64(nil), s...))
			}
			in := []*tensor.Tensor{ten(a), ten(bb)}
			hy, hj := tensor.Zeros(n), tensor.Zeros(n)
			op.Forward(hy, in)
			op.JVP(hj, in, hy, []*tensor.Tensor{ten(ta), ten(tb)})
			hga, hgb := ten(ga), ten(gb)
			op.VJP([]*tensor.Tensor{hga, hgb}, in, hy, ten(cot))

			da, db := upload(t, b, a), upload(t, b, bb)
			dy, dj := upload(t, b, nans(n)), upload(t, b, nans(n))
			dga, dgb := upload(t, b, ga), upload(t, b, gb)
			if err := b.BinaryForward(op.Name(), dy, da, db); err != nil {
				t.Fatal(err)
			}
			dyHost := upload(t, b, hy.Data())
			if err := b.BinaryJVP(op.Name(), dj, da, db, dyHost, upload(t, b, ta), upload(t, b, tb)); err != nil {
				t.Fatal(err)
			}
			dcot := upload(t, b, cot)
			if err := b.BinaryVJP(op.Name(), 0, dga, da, db, dyHost, dcot); err != nil {
				t.Fatal(err)
			}
			if err := b.BinaryVJP(op.Name(), 1, dgb, da, db, dyHost, dcot); err != nil {
				t.Fatal(err)
			}
			for _, cmp := range []struct {
				rule      string
				got, want []float64
				rel       float64
			}{
				{"forward", download(t, dy), hy.Data(), ewRel},
				{"jvp", download(t, dj), hj.Data(), ewRel},
				// A broadcast operand's VJP is a sum of n terms in another
				// order than the CPU's: n·ε relative.
				{"vjp a", download(t, dga), hga.Data(), 1e-11},
				{"vjp b", download(t, dgb), hgb.Data(), 1e-11},
			} {
				for i := range cmp.want {
					if !closeTo(cmp.got[i], cmp.want[i], cmp.rel, ewAbs) {
						t.Errorf("%s %s %s [%d]: GPU %v, CPU %v", op.Name(), shape.name, cmp.rule, i, cmp.got[i], cmp.want[i])
						break
					}
				}
			}
			// Deriv of a full input: its JVP with a tangent of ones.
			for k, l := range []int{shape.na, shape.nb} {
				if l != n {
					continue
				}
				onesT := tensor.Zeros(n)
				onesT.Fill(1)
				tv := []*tensor.Tensor{nil, nil}
				tv[k] = onesT
				want := tensor.Zeros(n)
				op.JVP(want, in, hy, tv)
				dd := upload(t, b, nans(n))
				if err := b.BinaryDeriv(op.Name(), k, dd, da, db, dyHost); err != nil {
					t.Fatal(err)
				}
				got := download(t, dd)
				for i := range got {
					if !closeTo(got[i], want.Data()[i], ewRel, ewAbs) {
						t.Errorf("%s %s deriv %d [%d]: GPU %v, CPU %v", op.Name(), shape.name, k, i, got[i], want.Data()[i])
						break
					}
				}
			}
		}
	}
}

func checkAllocatorReuse(t *testing.T, b *Backend) {
	x, err := b.Alloc(1000)
	if err != nil {
		t.Fatal(err)
	}
	p := x.ptr
	x.Free()
	y, err := b.Alloc(999) // the same size class
	if err != nil {
		t.Fatal(err)
	}
	if y.ptr != p {
		t.Errorf("Alloc after Free took new memory (%#x, freed %#x)", y.ptr, p)
	}
	inUse, cached := b.MemStats()
	if inUse != sizeClass(8*999) || cached != 0 {
		t.Errorf("MemStats = %d in use, %d cached; want %d, 0", inUse, cached, sizeClass(8*999))
	}
	y.Free()
	if err := b.Trim(); err != nil {
		t.Fatal(err)
	}
	if inUse, cached := b.MemStats(); inUse != 0 || cached != 0 {
		t.Errorf("after Trim: %d in use, %d cached", inUse, cached)
	}
}
