package cuda

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invad/invad/bench"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/inverse/inversetest"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// devProgram is a program f: Rⁿ → Rⁿ for the device Linearization, checked
// against the CPU one (package inverse) at a point.
type devProgram struct {
	name   string
	shape  []int
	lo, hi float64
	f      func(x *tape.Var) *tape.Var
	// trip bounds |IJVP(JVP(v)) − v| (default 1e-10): looser for an
	// ill-conditioned J.
	trip float64
}

// mat is the shared test programs' seeded matrix (diag added on the
// diagonal).
var mat = inversetest.Matrix

func coupling(x *tape.Var, half, hidden int) *tape.Var {
	ab := ops.Split(x, x.Shape()[0]/2, x.Shape()[0]/2)
	a, b := ab[0], ab[1]
	h := ops.Tanh(ops.MatMul(ops.Const(x, mat(3, hidden, half, 0)), a))
	s := ops.Tanh(ops.MatMul(ops.Const(x, mat(4, half, hidden, 0)), h))
	t := ops.MatMul(ops.Const(x, mat(5, half, hidden, 0)), h)
	return ops.Concat(a, ops.Add(ops.Mul(b, ops.Exp(s)), t))
}

// devPrograms cover every op of package ops with device rules, and every
// lump kind the device runs: steps of each factor (diagonal by division,
// cumsum's differences, W⁻¹ products on both sides), copies, expansions.
var devPrograms = []devProgram{
	{name: "exp(2 tanh x)", shape: []int{7}, lo: -2, hi: 2,
		f: func(x *tape.Var) *tape.Var { return ops.Exp(ops.Scale(ops.Tanh(x), 2)) }},
	{name: "unary chain", shape: []int{3, 5}, lo: 0.2, hi: 1.5,
		f: func(x *tape.Var) *tape.Var {
			v := ops.Sigmoid(ops.Softplus(ops.Sqrt(x)))
			v = ops.Log1p(ops.Expm1(ops.Square(ops.Cube(v))))
			v = ops.LeakyReLU(ops.AddScalar(ops.Log(v), -0.3), 0.1)
			v = ops.Recip(ops.AddScalar(ops.Sin(ops.Cos(v)), 2))
			return ops.Neg(v)
		}},
	{name: "binary with constants", shape: []int{9}, lo: 0.5, hi: 2,
		f: func(x *tape.Var) *tape.Var {
			c := ops.Const(x, mat(6, 1, 9, 1.5).Reshape(9))
			s := ops.Const(x, tensor.New([]int{}, []float64{0.7}))
			v := ops.Sub(ops.Mul(x, c), s)
			v = ops.Div(v, c)
			v = ops.Add(s, ops.Div(c, ops.AddScalar(v, 3)))
			return ops.Mul(v, s)
		}},
	{name: "Wx", shape: []int{6}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var { return ops.MatMul(ops.Const(x, mat(1, 6, 6, 3)), x) }},
	{name: "W X (columns)", shape: []int{4, 3}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var { return ops.Tanh(ops.MatMul(ops.Const(x, mat(7, 4, 4, 3)), x)) }},
	{name: "X W", shape: []int{4, 3}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var { return ops.Tanh(ops.MatMul(x, ops.Const(x, mat(2, 3, 3, 2)))) }},
	{name: "cumsum 2-D", shape: []int{6, 3}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var { return ops.Cumsum(ops.Exp(x)) }},
	{name: "coupling", shape: []int{8}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var { return coupling(x, 4, 5) }},
	{name: "cumsum ∘ coupling layer (the demo's program)", shape: []int{3 * 2 * bench.CouplingHalf}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var { return ops.Cumsum(bench.Coupling(x.Len())(x)) }},
	{name: "rows through reshape", shape: []int{6, 8}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			h := ops.Tanh(ops.MatMul(ops.Reshape(x, 12, 4), ops.Const(x, mat(8, 4, 4, 2))))
			return ops.Cumsum(ops.Reshape(h, 6, 8))
		}},
	{name: "chains on the halves", shape: []int{10}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			ab := ops.Split(x, 5, 5)
			return ops.Concat(ops.Sigmoid(ops.Exp(ab[0])), ops.LeakyReLU(ops.Cumsum(ab[1]), 0.2))
		}},
	{name: "slice and sum", shape: []int{5}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			// y = [a, tanh(b) + c·Σa] for a = x[0:2], b = x[2:5]: a copy,
			// an expansion (the broadcast Sum) and two steps.
			a, b := ops.Slice(x, 0, 2), ops.Slice(x, 2, 5)
			s := ops.Sum(a)
			return ops.Concat(a, ops.Add(ops.Tanh(b), ops.Mul(ops.Const(x, tensor.New([]int{3}, []float64{0.3, -0.1, 0.2})), s)))
		}},
	// Batched networks: broadcasting, the ops along an axis, BatchMatMul.
	{name: "batched layer, transposed", shape: []int{4, 3}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			// tanh(X W + b) with a bias broadcast over the rows, then a
			// permutation step (reshaped back to x's shape).
			b := ops.Const(x, tensor.New([]int{3}, []float64{0.2, -0.1, 0.3}))
			return ops.Reshape(ops.Transpose(ops.Tanh(ops.Add(ops.MatMul(x, ops.Const(x, mat(13, 3, 3, 2))), b))), 4, 3)
		}},
	{name: "per-sample matrices", shape: []int{2, 3, 3}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			// X[s]·W[s], a scale per row ([B,n,1] broadcast), each sample
			// transposed, and a unary chain (Exp2, ReLU, Log2).
			w := ops.Const(x, tensor.New([]int{2, 3, 3}, append(mat(14, 3, 3, 2).Data(), mat(15, 3, 3, 2).Data()...)))
			s := ops.Const(x, tensor.New([]int{2, 3, 1}, []float64{1, 2, 0.5, 1.5, -1, 0.8}))
			v := ops.Permute(ops.Mul(ops.BatchMatMul(x, w), s), 0, 2, 1)
			return ops.Log2(ops.ReLU(ops.Exp2(v))) // ReLU of positive values: regular
		}},
	{name: "halves along axis 1", shape: []int{3, 4}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			// [a, tanh(b) + Σ_j a[i, j]] with a, b the column halves: the
			// row sums broadcast along the last axis (an expansion).
			ab := ops.SplitAxis(x, 1, 2, 2)
			r := ops.Reshape(ops.SumAxis(ab[0], 1), 3, 1)
			return ops.ConcatAxis(1, ab[0], ops.Add(ops.Tanh(ab[1]), r))
		}},
}

// devCoupled are programs whose lumps couple several ops: batches and dense
// lumps, built from JVP columns on the device.
var devCoupled = []devProgram{
	{name: "x + sin x (batch of 1×1)", shape: []int{6}, lo: -3, hi: 3,
		f: func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Sin(x)) }},
	{name: "x·x (one input in two slots)", shape: []int{5}, lo: 0.5, hi: 2,
		f: func(x *tape.Var) *tape.Var { return ops.Mul(x, x) }},
	{name: "rotation (batch of 2×2)", shape: []int{7}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3, 1)
			a, b, z := p[0], p[1], ops.Sum(p[2])
			c, s := ops.Cos(z), ops.Sin(z)
			return ops.Concat(ops.Sub(ops.Mul(a, c), ops.Mul(b, s)), ops.Add(ops.Mul(a, s), ops.Mul(b, c)), p[2])
		}},
	{name: "Robertson kinetics (batch of 3×3)", shape: []int{3 * 5}, lo: 0.1, hi: 1, trip: 1e-8, // cond(J) ≈ h·k2·y ≈ 10⁵
		f: func(x *tape.Var) *tape.Var {
			m := 5
			yn := make([]float64, 3*m)
			for i := range yn {
				yn[i] = 0.2 + 0.05*float64(i%7)
			}
			k := func(v float64) []float64 {
				out := make([]float64, m)
				for i := range out {
					out[i] = v * (1 + 0.1*float64(i))
				}
				return out
			}
			return bench.Robertson(0.01, k(0.04), k(3e7), k(1e4), yn)(x)
		}},
	{name: "sum feeding back (dense lump)", shape: []int{5}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			s := ops.Sum(ops.Slice(x, 1, 3))
			return ops.Add(ops.Tanh(x), ops.Mul(ops.Const(x, tensor.New([]int{5}, []float64{0, 0, 0, 0.1, 0.2})), s))
		}},
	{name: "x + batch mean (dense lump)", shape: []int{4, 3}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			// A varying [3] broadcast over the 4 rows couples them all.
			m := ops.MeanAxis(ops.Tanh(ops.SliceAxis(x, 1, 0, 3)), 0)
			return ops.Add(ops.Scale(x, 2), ops.Mul(ops.Const(x, tensor.New([]int{3}, []float64{0.3, -0.2, 0.1})), m))
		}},
	{name: "x + W tanh(x) (dense lump of 40)", shape: []int{40}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			return ops.Add(ops.Scale(x, 2), ops.MatMul(ops.Const(x, mat(12, 40, 40, 0)), ops.Tanh(x)))
		}},
}

func randTensor(rng *rand.Rand, shape []int, lo, hi float64) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = lo + (hi-lo)*rng.Float64()
	}
	return t
}

// relErr is ‖a − b‖∞ / max(1, ‖b‖∞).
func relErr(a, b *tensor.Tensor) float64 {
	d, m := 0.0, 1.0
	for i, v := range b.Data() {
		d = max(d, math.Abs(a.Data()[i]-v))
		m = max(m, math.Abs(v))
	}
	if math.IsNaN(d) {
		return math.Inf(1)
	}
	return d / m
}

// quickPrograms are the programs the quick emulated run cross-checks: one
// of each lump kind (steps of every op family, a copy, batches of 1×1 and
// 2×2, a dense lump, expansions).
var quickPrograms = []string{"exp(2 tanh x)", "W X (columns)", "cumsum 2-D", "coupling", "x·x (one input in two slots)",
	"x + sin x (batch of 1×1)", "rotation (batch of 2×2)", "sum feeding back (dense lump)", "batched layer, transposed"}

// checkLinearize cross-checks the device Linearization with the CPU's on
// the programs of this file: every op, every lump kind.
func checkLinearize(t *testing.T, b *Backend) {
	for pi, p := range append(devPrograms[:len(devPrograms):len(devPrograms)], devCoupled...) {
		if quick(b) && !slices.Contains(quickPrograms, p.name) {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			x := randTensor(rand.New(rand.NewPCG(uint64(pi), 3)), p.shape, p.lo, p.hi)
			crossCheck(t, b, p.f, x, p.trip, uint64(pi))
		})
	}
}

// checkInversePrograms cross-checks the device Linearization with the
// CPU's on every program of package inverse's tests (inversetest.Programs),
// at the points those tests use.
func checkInversePrograms(t *testing.T, b *Backend) {
	for pi, p := range inversetest.Programs() {
		t.Run(p.Name, func(t *testing.T) {
			crossCheck(t, b, p.F, inversetest.Point(p, 1), 0, uint64(pi))
		})
	}
}

// checkStencils cross-checks sparse lumps (stencils written with shifts:
// a cyclic one and the 1-D Bratu residual) against the CPU, and that the
// device reports them as sparse.
func checkStencils(t *testing.T, b *Backend) {
	const n = 300
	shift := func(v *tape.Var, k int) *tape.Var {
		zero := ops.Const(v, tensor.Zeros(1))
		if k > 0 {
			return ops.Concat(zero, ops.Slice(v, 0, n-1))
		}
		return ops.Concat(ops.Slice(v, 1, n), zero)
	}
	for i, c := range []struct {
		name string
		f    func(*tape.Var) *tape.Var
	}{
		{"x + 0.5·roll(tanh x)", func(x *tape.Var) *tape.Var {
			y := ops.Tanh(x)
			return ops.Add(x, ops.Scale(ops.Concat(ops.Slice(y, 1, n), ops.Slice(y, 0, 1)), 0.5))
		}},
		{"bratu", func(u *tape.Var) *tape.Var {
			lap := ops.Sub(ops.Add(shift(u, 1), shift(u, -1)), ops.Scale(u, 2))
			return ops.Add(ops.Scale(lap, float64((n+1)*(n+1))), ops.Exp(u))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := randTensor(rand.New(rand.NewPCG(uint64(i), 5)), []int{n}, -0.5, 0.5)
			crossCheck(t, b, c.f, x, 1e-8, uint64(i))
			dl, err := Linearize(b, c.f, x)
			if err != nil {
				t.Fatal(err)
			}
			defer dl.Close()
			lumps, err := dl.Lumps()
			if err != nil {
				t.Fatal(err)
			}
			sparse := 0
			for _, l := range lumps {
				if l.Kind == lump.Sparse && l.Width == n {
					sparse++
				}
			}
			if sparse != 1 {
				t.Errorf("%d sparse lumps of width %d, want 1: %+v", sparse, n, lumps)
			}
		})
	}
}

// crossCheck compares the device Linearization of f at x with the CPU's:
// f(x), the four products (1e-12 relative), log|det J|, and the round trip
// IJVP(JVP(v)) = v on the device alone (within trip; 0 means 1e-10).
func crossCheck(t *testing.T, b *Backend, f func(*tape.Var) *tape.Var, x *tensor.Tensor, trip float64, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 17))
	cl, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatalf("CPU: %v", err)
	}
	dl, err := Linearize(b, f, x)
	if err != nil {
		t.Fatalf("device: %v", err)
	}
	defer dl.Close()
	if e := relErr(dl.Output(), cl.Output()); e > 1e-12 {
		t.Errorf("f(x): relative difference %.3g from the CPU", e)
	}
	v := randTensor(rng, x.Shape(), -1, 1)
	for _, pr := range []struct {
		name     string
		cpu, dev func(*tensor.Tensor) (*tensor.Tensor, error)
	}{
		{"JVP", cl.JVP, dl.JVP}, {"VJP", cl.VJP, dl.VJP}, {"IJVP", cl.IJVP, dl.IJVP}, {"VIJP", cl.VIJP, dl.VIJP},
	} {
		want, err := pr.cpu(v)
		if err != nil {
			t.Fatalf("CPU %s: %v", pr.name, err)
		}
		got, err := pr.dev(v)
		if err != nil {
			t.Fatalf("device %s: %v", pr.name, err)
		}
		if e := relErr(got, want); e > 1e-12 {
			t.Errorf("%s: relative difference %.3g from the CPU\ndevice %v\ncpu    %v", pr.name, e, got.Data(), want.Data())
		}
	}
	jv, err := dl.JVP(v)
	if err != nil {
		t.Fatal(err)
	}
	back, err := dl.IJVP(jv)
	if err != nil {
		t.Fatal(err)
	}
	if trip == 0 {
		trip = 1e-10
	}
	if e := relErr(back, v); e > trip {
		t.Errorf("IJVP(JVP(v)) differs from v by %.3g", e)
	}
	wl, err := cl.LogAbsDet()
	if err != nil {
		t.Fatal(err)
	}
	gl, err := dl.LogAbsDet()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(gl-wl) > 1e-12*max(1, math.Abs(wl)) {
		t.Errorf("log|det J| = %.17g, CPU %.17g", gl, wl)
	}
}

// checkLinearizeErrors: the errors of the device Linearization name what
// the CPU's name, and a lump the device does not run is *UnsupportedError.
// checkCond: the device's condition estimate is the CPU's (the same
// estimator on products that agree to rounding) on a program with a dense
// lump and one with steps.
func checkCond(t *testing.T, b *Backend) {
	for _, name := range []string{"sum feeding back (dense lump)", "W X (columns)"} {
		var p devProgram
		for _, q := range append(devPrograms[:len(devPrograms):len(devPrograms)], devCoupled...) {
			if q.name == name {
				p = q
			}
		}
		x := randTensor(rand.New(rand.NewPCG(11, 3)), p.shape, p.lo, p.hi)
		cl, err := inverse.Linearize(p.f, x)
		if err != nil {
			t.Fatal(err)
		}
		dl, err := Linearize(b, p.f, x)
		if err != nil {
			t.Fatal(err)
		}
		want, err := cl.Cond()
		if err != nil {
			t.Fatal(err)
		}
		got, err := dl.Cond()
		dl.Close()
		if err != nil || !closeTo(got, want, 1e-9, 0) {
			t.Errorf("%s: device Cond %.6g, CPU %.6g, err %v", name, got, want, err)
		}
	}
}

// checkPrepare: Prepare with a done context returns its error and keeps
// nothing; a later Prepare factorizes, and log|det J| is the CPU's.
func checkPrepare(t *testing.T, b *Backend) {
	var p devProgram
	for _, q := range append(devPrograms[:len(devPrograms):len(devPrograms)], devCoupled...) {
		if q.name == "sum feeding back (dense lump)" {
			p = q
		}
	}
	x := randTensor(rand.New(rand.NewPCG(12, 3)), p.shape, p.lo, p.hi)
	dl, err := Linearize(b, p.f, x)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := dl.Prepare(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Prepare with a cancelled context: %v", err)
	}
	if err := dl.Prepare(context.Background()); err != nil {
		t.Fatalf("Prepare after a cancelled one: %v", err)
	}
	if err := dl.Prepare(done); err != nil {
		t.Fatalf("Prepare once prepared: %v", err)
	}
	cl, err := inverse.Linearize(p.f, x)
	if err != nil {
		t.Fatal(err)
	}
	want, err1 := cl.LogAbsDet()
	got, err2 := dl.LogAbsDet()
	if err1 != nil || err2 != nil || !closeTo(got, want, 1e-12, 1e-12) {
		t.Errorf("log|det J| after Prepare: device %.15g (%v), CPU %.15g (%v)", got, err2, want, err1)
	}
}

func checkLinearizeErrors(t *testing.T, b *Backend) {
	x := tensor.New([]int{4}, []float64{0.5, 1, -1, 2})
	// A non-finite value names the op.
	_, err := Linearize(b, func(v *tape.Var) *tape.Var { return ops.Exp(ops.Log(v)) }, x)
	var nf *inverse.NonFiniteError
	if !errors.As(err, &nf) || nf.Op != "log" || nf.Pos != 0 || nf.Index != 2 {
		t.Errorf("log of a negative: got %v, want a NonFiniteError at log@0 index 2", err)
	}
	// A singular step names the op and its position.
	l, err := Linearize(b, func(v *tape.Var) *tape.Var { return ops.Tanh(ops.Square(v)) }, tensor.New([]int{3}, []float64{1, 0, 2}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.IJVP(tensor.New([]int{3}, []float64{1, 1, 1}))
	var se *tape.SingularError
	if !errors.As(err, &se) || se.Op != "square" || se.Pos != 0 || se.Index != 1 {
		t.Errorf("square at 0: got %v, want a SingularError at square@0 index 1", err)
	}
	l.Close()
	// x + sin x at π: its 1×1 block 1 + cos x is zero, as the CPU finds.
	pi := tensor.New([]int{3}, []float64{1, math.Pi, 2})
	l, err = Linearize(b, func(v *tape.Var) *tape.Var { return ops.Add(v, ops.Sin(v)) }, pi)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.IJVP(pi)
	cl, _ := inverse.Linearize(func(v *tape.Var) *tape.Var { return ops.Add(v, ops.Sin(v)) }, pi)
	_, cerr := cl.IJVP(pi)
	var sb *lump.SingularBlockError
	if !errors.As(err, &sb) || !errors.Is(err, tape.ErrSingular) || cerr == nil {
		t.Errorf("x + sin x at π: got %v, want a SingularBlockError as the CPU's %v", err, cerr)
	}
	// The ordinary products still run.
	if _, err := l.JVP(pi); err != nil {
		t.Errorf("x + sin x JVP: %v", err)
	}
	l.Close()
	// An op from outside package ops has no kernels.
	_, err = Linearize(b, func(v *tape.Var) *tape.Var { return tape.Apply(foreignOp{ops.TanhOp}, v) }, x)
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Op != "tanh" || ue.Pos != 0 {
		t.Errorf("an op of another package: got %v, want *UnsupportedError for tanh@0", err)
	}
	// A closed Linearization refuses further use with a clear panic.
	l, err = Linearize(b, func(v *tape.Var) *tape.Var { return ops.Tanh(v) }, x)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	l.Close() // a second Close does nothing
	for name, f := range map[string]func(){
		"IJVP":         func() { l.IJVP(x) },
		"OutputDevice": func() { l.OutputDevice() },
		"LogAbsDet":    func() { l.LogAbsDet() },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "on a closed Linearization") {
					t.Errorf("%s after Close: recovered %v", name, r)
				}
			}()
			f()
		}()
	}
	// f(x) of the wrong size.
	_, err = Linearize(b, func(v *tape.Var) *tape.Var { return ops.Sum(v) }, x)
	if !errors.Is(err, inverse.ErrSize) {
		t.Errorf("sum: got %v, want ErrSize", err)
	}
}

// checkNewton solves a small cumsum ∘ coupling system by Newton's method
// with every linearization, step and line-search evaluation on the device,
// and compares the root with the known one and the CPU solve's.
func checkNewton(t *testing.T, b *Backend) {
	n := 4 * 2 * bench.CouplingHalf
	f := func(x *tape.Var) *tape.Var { return ops.Cumsum(bench.Coupling(n)(x)) }
	rng := rand.New(rand.NewPCG(9, 9))
	xTrue := randTensor(rng, []int{n}, -1, 1)
	y := f(tape.NewTape().Input(xTrue)).Value().Clone()
	F := func(x *tape.Var) *tape.Var { return ops.Sub(f(x), ops.Const(x, y)) }
	opts := []newton.Option{newton.Tol(1e-12),
		newton.Linearizer(func(F func(*tape.Var) *tape.Var, x *tensor.Tensor) (newton.Linear, error) {
			l, err := Linearize(b, F, x)
			if err != nil {
				return nil, err
			}
			return l, nil
		}),
		newton.Eval(func(F func(*tape.Var) *tape.Var, x *tensor.Tensor) (*tensor.Tensor, error) { return Eval(b, F, x) }),
	}
	// The Backend's partial-sum scratch is allocated once, on first use,
	// and kept: take it before counting the memory in use.
	if err := b.do(func() error { _, err := b.scratchPartials(); return err }); err != nil {
		t.Fatal(err)
	}
	before, _ := b.MemStats()
	res, err := newton.Solve(F, tensor.Zeros(n), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := newton.Solve(F, tensor.Zeros(n), newton.Tol(1e-12))
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(res.X, xTrue); !res.Converged || e > 1e-9 {
		t.Errorf("device Newton: converged %v in %d iterations, |x − x_true| = %.3g", res.Converged, res.Iters, e)
	}
	if res.Iters != ref.Iters || math.Abs(res.LogAbsDet-ref.LogAbsDet) > 1e-10*max(1, math.Abs(ref.LogAbsDet)) {
		t.Errorf("device: %d iterations, log|det J| %.15g; CPU: %d, %.15g", res.Iters, res.LogAbsDet, ref.Iters, ref.LogAbsDet)
	}
	if inUse, _ := b.MemStats(); inUse != before {
		t.Errorf("%d bytes of device memory in use after the solve, %d before", inUse, before)
	}
}

// foreignOp is an op of another package (it wraps one of package ops).
type foreignOp struct{ *ops.Elementwise }

// checkFamilies runs the benchmark families of package bench on the device
// at a small n, through the benchmark's own timing loop, and checks the
// products against the CPU's (1e-12 relative) and that the primal rerun on
// the device leaves f(x) as it was.
func checkFamilies(t *testing.T, b *Backend) {
	for _, fam := range bench.Families() {
		t.Run(fam.Name, func(t *testing.T) {
			p := fam.New(fam.Size(48))
			cl, err := inverse.Linearize(p.F, p.X)
			if err != nil {
				t.Fatal(err)
			}
			l, err := Linearize(b, p.F, p.X)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if fam.Sample > 0 {
				// A batch stored as rows: recorded with the samples
				// innermost, no lump wider than a sample.
				ls, err := l.Lumps()
				if err != nil {
					t.Fatal(err)
				}
				for _, li := range ls {
					if (li.Kind == lump.DenseLump || li.Kind == lump.Sparse) && li.Width > fam.Sample {
						t.Errorf("a %s lump of width %d, wider than a sample (%d): %s", li.Kind, li.Width, fam.Sample, li.Structure)
					}
				}
			}
			v := randTensor(rand.New(rand.NewPCG(4, 4)), []int{l.Len()}, -1, 1)
			arg, err := b.Upload(v)
			if err != nil {
				t.Fatal(err)
			}
			defer arg.Free()
			res, err := b.Alloc(l.Len())
			if err != nil {
				t.Fatal(err)
			}
			defer res.Free()
			total := make([]time.Duration, len(productNames))
			if err := timeProducts(l, res, arg, total); err != nil {
				t.Fatal(err)
			}
			// The last product timed is VIJP: compare it, then the others.
			got := tensor.Zeros(l.Len())
			if err := res.Download(got.Data()); err != nil {
				t.Fatal(err)
			}
			want, err := cl.VIJP(v.Reshape(cl.Output().Shape()...))
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(got, want.Reshape(l.Len())); e > 1e-12 {
				t.Errorf("VIJP after the timing loop: relative difference %.3g from the CPU", e)
			}
			y := tensor.Zeros(l.Len())
			if err := l.OutputDevice().View(0).Download(y.Data()); err != nil {
				t.Fatal(err)
			}
			if e := relErr(y, cl.Output().Reshape(l.Len())); e > 1e-12 {
				t.Errorf("f(x) after the device primal's rerun: relative difference %.3g", e)
			}
			ij, err := l.IJVP(v.Reshape(cl.Output().Shape()...))
			if err != nil {
				t.Fatal(err)
			}
			wij, _ := cl.IJVP(v.Reshape(cl.Output().Shape()...))
			if e := relErr(ij, wij); e > 1e-12 {
				t.Errorf("IJVP: relative difference %.3g from the CPU", e)
			}
		})
	}
}

// checkConcurrentProducts runs the four products of one device
// Linearization from several goroutines at once (they serialize on the
// Linearization and the Backend) and checks each result against the same
// product computed alone.
func checkConcurrentProducts(t *testing.T, b *Backend) {
	p := devPrograms[7] // coupling: steps, copies, expansions
	x := randTensor(rand.New(rand.NewPCG(21, 21)), p.shape, p.lo, p.hi)
	l, err := Linearize(b, p.f, x)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	prods := []func(*tensor.Tensor) (*tensor.Tensor, error){l.JVP, l.VJP, l.IJVP, l.VIJP}
	v := randTensor(rand.New(rand.NewPCG(22, 22)), p.shape, -1, 1)
	want := make([]*tensor.Tensor, len(prods))
	for i, f := range prods {
		if want[i], err = f(v); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 4*len(prods))
	for range 4 {
		for i, f := range prods {
			go func() {
				got, err := f(v)
				if err == nil && relErr(got, want[i]) != 0 {
					err = fmt.Errorf("product %d differs from its lone run by %.3g", i, relErr(got, want[i]))
				}
				errs <- err
			}()
		}
	}
	for range 4 * len(prods) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// checkSweepMemory: JVPDevice and VJPDevice hold the live tangents and
// cotangents only, not one per value: on a chain of 30 ops (a reshape view
// in the middle) the device memory they take at their peak is a few vectors.
func checkSweepMemory(t *testing.T, b *Backend) {
	const n = 4096
	f := func(x *tape.Var) *tape.Var {
		v := x
		for i := range 30 {
			switch i % 3 {
			case 0:
				v = ops.Tanh(v)
			case 1:
				v = ops.Scale(v, 1.5)
			default:
				v = ops.Add(v, ops.Sin(v))
			}
			if i == 15 {
				v = ops.Reshape(ops.Cumsum(ops.Reshape(v, 64, 64)), n)
			}
		}
		return v
	}
	x := randTensor(rand.New(rand.NewPCG(8, 8)), []int{n}, -1, 1)
	cl, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Linearize(b, f, x)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	v := randTensor(rand.New(rand.NewPCG(9, 9)), []int{n}, -1, 1)
	arg, res := upload(t, b, v.Data()), upload(t, b, make([]float64, n))
	vec := sizeClass(8 * n)
	for _, pr := range []struct {
		name string
		dev  func(dst, arg *Tensor) error
		cpu  func(*tensor.Tensor) (*tensor.Tensor, error)
	}{{"JVP", l.JVPDevice, cl.JVP}, {"VJP", l.VJPDevice, cl.VJP}} {
		b.mu.Lock()
		b.alloc.resetPeak()
		before := b.alloc.inUse
		b.mu.Unlock()
		if err := pr.dev(res, arg); err != nil {
			t.Fatal(err)
		}
		b.mu.Lock()
		peak, after := b.alloc.peak-before, b.alloc.inUse-before
		b.mu.Unlock()
		if peak > 4*vec || after != 0 {
			t.Errorf("%s on a chain of 41 values: peak %d bytes (%.1f vectors), %d bytes left after it", pr.name, peak, float64(peak)/float64(vec), after)
		}
		got := tensor.New([]int{n}, download(t, res))
		want, err := pr.cpu(v)
		if err != nil {
			t.Fatal(err)
		}
		if e := relErr(got, want); e > 1e-12 {
			t.Errorf("%s: relative difference %.3g from the CPU", pr.name, e)
		}
	}
}
