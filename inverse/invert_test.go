package inverse_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/invad/invad/catalog"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Every test of Invert picks x_true, computes y = f(x_true) on a tape of its
// own, and checks Invert(f, y) against x_true: the reference is the known
// x, never the code under test.

// invertTol is the accuracy asked of Invert's x: the lumps are solved to a
// relative residual of 1e-13, and these programs' Jacobians are well
// conditioned (κ well below 1e3), so 1e-10 leaves a margin of 10.
const invertTol = 1e-10

// uniform returns a tensor of the shape with entries uniform in [lo, hi).
func uniform(rng *rand.Rand, lo, hi float64, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = lo + (hi-lo)*rng.Float64()
	}
	return t
}

// forward evaluates f at x on a fresh tape.
func forward(f func(*tape.Var) *tape.Var, x *tensor.Tensor) *tensor.Tensor {
	return f(tape.NewTape().Input(x)).Value().Clone()
}

// checkInvert runs Invert(f, f(xTrue)) and checks it returns xTrue, leaves
// y as it was, and reports every lump; it returns the trace.
func checkInvert(t *testing.T, f func(*tape.Var) *tape.Var, xTrue *tensor.Tensor, opts ...inverse.Option) []inverse.InvertLump {
	t.Helper()
	y := forward(f, xTrue)
	y0 := y.Clone()
	var trace []inverse.InvertLump
	x, err := inverse.Invert(f, y, append(opts, inverse.InvertTrace(&trace))...)
	if err != nil {
		t.Fatalf("Invert: %v", err)
	}
	if !tensor.SameShape(x.Shape(), xTrue.Shape()) {
		t.Fatalf("x has shape %v, want %v", x.Shape(), xTrue.Shape())
	}
	if e := relErr(x.Data(), xTrue.Data()); e > invertTol {
		t.Errorf("Invert: relative error %.3g against x_true, want ≤ %g", e, invertTol)
	}
	if relErr(y.Data(), y0.Data()) != 0 {
		t.Error("Invert modified y")
	}
	t.Logf("%d lumps; Newton steps per solved lump: %s", len(trace), stepSummary(trace))
	return trace
}

// stepSummary lists the Newton steps of the lumps that solve something,
// as "kind ops: steps".
func stepSummary(trace []inverse.InvertLump) string {
	var parts []string
	for _, r := range trace {
		if r.Kind == lump.Copy || r.Kind == lump.Expansion {
			continue
		}
		parts = append(parts, fmt.Sprintf("[%v %s: %d]", r.Kind, strings.Join(r.Ops, " "), r.Iter))
	}
	return strings.Join(parts, " ")
}

// solved returns the trace's lumps that solve something (not copies or
// expansions).
func solved(trace []inverse.InvertLump) []inverse.InvertLump {
	var out []inverse.InvertLump
	for _, r := range trace {
		if r.Kind != lump.Copy && r.Kind != lump.Expansion {
			out = append(out, r)
		}
	}
	return out
}

// TestInvertCouplingFlow: a feature-major coupling flow of three layers is
// inverted exactly, and every lump (the add, the multiply by exp(s), the
// mixing W, each affine in what it kills) converges in one Newton step.
func TestInvertCouplingFlow(t *testing.T) {
	const d, h, B = 8, 16, 50            // 8 features, 16 hidden units, 50 samples
	fl := catalog.NewRowFlow(3, d, h, 1) // on its feature-major layout, Columns
	xTrue := uniform(rand.New(rand.NewPCG(1, 1)), -1, 1, d, B)
	trace := checkInvert(t, fl.Columns, xTrue)
	s := solved(trace)
	if len(s) == 0 {
		t.Fatal("no lump solved anything")
	}
	for _, r := range s {
		if r.Iter > 1 {
			t.Errorf("lump %d (%v %v) took %d Newton steps; affine in its killed values, it takes one", r.Lump, r.Kind, r.Ops, r.Iter)
		}
	}
}

// TestInvertRowFlow: the row-major RealNVP, which Linearize analyzes
// batch-minor (per-sample lumps), is inverted exactly, and so is its
// recording as it stands (AsRecorded: the mixing is then one lump over
// every sample); the affine lumps take one Newton step.
func TestInvertRowFlow(t *testing.T) {
	const B, d, h = 40, 6, 10 // 40 samples of 6 features, 10 hidden units
	fl := catalog.NewRowFlow(3, d, h, 2)
	xTrue := uniform(rand.New(rand.NewPCG(2, 1)), -1, 1, B, d)
	for _, tc := range []struct {
		name string
		opts []inverse.Option
	}{
		{"batch-minor", nil},
		{"as-recorded", []inverse.Option{inverse.AsRecorded()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range solved(checkInvert(t, fl.F, xTrue, tc.opts...)) {
				if r.Iter > 1 {
					t.Errorf("lump %d (%v %v) took %d Newton steps, want 1", r.Lump, r.Kind, r.Ops, r.Iter)
				}
			}
		})
	}
}

// TestInvertResidualBlock: y = x + ½·tanh(W x), W with ‖W‖₂ < 2 so that
// the map is a contraction plus the identity (invertible), is one
// nonlinear lump: Newton needs several local steps. As a vector (one dense
// lump) and feature-major over a batch (one batch lump of B blocks d×d).
func TestInvertResidualBlock(t *testing.T) {
	const d = 6
	rng := rand.New(rand.NewPCG(3, 1))
	w := uniform(rng, -0.5, 0.5, d, d) // ‖W‖₂ ≤ ‖W‖_F ≤ 3
	f := func(x *tape.Var) *tape.Var {
		return ops.Add(x, ops.Scale(ops.Tanh(ops.MatMul(ops.Const(x, w), x)), 0.5))
	}
	for _, tc := range []struct {
		name  string
		shape []int
		kind  lump.Kind
	}{
		{"vector", []int{d}, lump.DenseLump},
		{"batch", []int{d, 30}, lump.Batch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xTrue := uniform(rng, -2, 2, tc.shape...)
			s := solved(checkInvert(t, f, xTrue))
			if len(s) != 1 || s[0].Kind != tc.kind {
				t.Fatalf("solved lumps %v, want one %v lump", s, tc.kind)
			}
			if s[0].Iter < 2 {
				t.Errorf("the nonlinear lump took %d Newton steps; from y it cannot be solved in one", s[0].Iter)
			}
		})
	}
}

// TestInvertElementwise: y = exp(½·tanh(x)), three steps: exp and tanh
// need several Newton steps, the scale one. (Newton on tanh from a start
// far out on its flat tails is hopeless, and the start here is y: x_true
// is kept within ±½.) And y = x + sin(x), one lump with an internal value
// (sin x), on |x| < 2 where 1 + cos x > 0.
func TestInvertElementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	t.Run("exp(tanh/2)", func(t *testing.T) {
		f := func(x *tape.Var) *tape.Var { return ops.Exp(ops.Scale(ops.Tanh(x), 0.5)) }
		s := solved(checkInvert(t, f, uniform(rng, -0.5, 0.5, 20)))
		if len(s) != 3 {
			t.Fatalf("%d solved lumps, want 3 steps", len(s))
		}
		if s[1].Iter != 1 {
			t.Errorf("the scale took %d Newton steps, want 1", s[1].Iter)
		}
		for _, r := range []inverse.InvertLump{s[0], s[2]} {
			if r.Iter < 2 {
				t.Errorf("%v took %d Newton steps; nonlinear, it needs more than one", r.Ops, r.Iter)
			}
		}
	})
	t.Run("x+sin(x)", func(t *testing.T) {
		f := func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Sin(x)) }
		checkInvert(t, f, uniform(rng, -2, 2, 20))
	})
}

// TestInvertExpansion: (a, b) = split(x), e = exp(a),
// y = concat(e, tanh(b) + sin(e)): e is pinned by y (a copy), sin(e) is an
// expansion recomputed forward from it, then the add, tanh and exp steps.
func TestInvertExpansion(t *testing.T) {
	f := func(x *tape.Var) *tape.Var {
		p := ops.Split(x, 3, 3)
		e := ops.Exp(p[0])
		return ops.Concat(e, ops.Add(ops.Tanh(p[1]), ops.Sin(e)))
	}
	trace := checkInvert(t, f, uniform(rand.New(rand.NewPCG(5, 1)), -1, 1, 6))
	kinds := map[lump.Kind]int{}
	for _, r := range trace {
		kinds[r.Kind]++
	}
	if kinds[lump.Expansion] == 0 || kinds[lump.Copy] == 0 {
		t.Errorf("lump kinds %v, want a copy and an expansion among them", kinds)
	}
}

// TestInvertPartialOutputs: u = exp(x) is cut in two by the Split after
// it, and y = concat(u1, u2·exp(u1)): each half of u's equation is solved
// by a lump of its own (the op's output then belongs to two lumps, each
// reading only its rows of the op's value at the iterate). The start is far
// (x0 = y reaches 40, exp(x0) 10¹⁷): the affine mul may take a second step
// to clear the cancellation of K0 + dK, and the exps many.
func TestInvertPartialOutputs(t *testing.T) {
	f := func(x *tape.Var) *tape.Var {
		u := ops.Split(ops.Exp(x), 3, 3)
		return ops.Concat(u[0], ops.Mul(u[1], ops.Exp(u[0])))
	}
	s := solved(checkInvert(t, f, uniform(rand.New(rand.NewPCG(8, 1)), -1, 1, 6)))
	exps := 0
	for _, r := range s {
		if len(r.Ops) == 1 && r.Ops[0] == "exp@0" {
			exps++
		}
	}
	if exps != 2 {
		t.Errorf("solved lumps %v, want two lumps of the first exp alone", s)
	}
}

// TestInvertStencil: y = x + ¼·tanh(x shifted left + x shifted right) (the
// shifts written with Slice and Concat): one tridiagonal lump, a batch of
// 1×1 blocks per atom while the analysis cuts the stencil into one atom per
// element, a sparse lump (banded LU) past that.
func TestInvertStencil(t *testing.T) {
	for _, tc := range []struct {
		n    int
		kind lump.Kind
	}{{40, lump.Batch}, {1500, lump.Sparse}} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			n := tc.n
			f := func(u *tape.Var) *tape.Var {
				zero := ops.Const(u, tensor.Zeros(1))
				left := ops.Concat(zero, ops.Slice(u, 0, n-1))
				right := ops.Concat(ops.Slice(u, 1, n), zero)
				return ops.Add(u, ops.Scale(ops.Tanh(ops.Add(left, right)), 0.25))
			}
			s := solved(checkInvert(t, f, uniform(rand.New(rand.NewPCG(6, 1)), -1, 1, n), inverse.MaxLumpWidth(n)))
			if len(s) != 1 || s[0].Kind != tc.kind {
				t.Errorf("solved lumps %v, want one %v lump", s, tc.kind)
			}
		})
	}
}

// TestInvertNoSolution: y outside the range of tanh has no x; Invert
// returns *InvertError naming the tanh, matched by ErrNoConvergence. A
// step limit too low for a nonlinear lump gives the same error without a
// cause.
func TestInvertNoSolution(t *testing.T) {
	f := func(x *tape.Var) *tape.Var { return ops.Tanh(ops.Scale(x, 2)) }
	y := tensor.New([]int{3}, []float64{0.2, 1.5, -0.3}) // 1.5 > 1 = sup tanh
	_, err := inverse.Invert(f, y)
	var ie *inverse.InvertError
	if !errors.As(err, &ie) || !errors.Is(err, inverse.ErrNoConvergence) {
		t.Fatalf("err = %v, want *InvertError matching ErrNoConvergence", err)
	}
	if len(ie.Ops) != 1 || !strings.HasPrefix(ie.Ops[0], "tanh@") {
		t.Errorf("error names ops %v, want the tanh", ie.Ops)
	}
	// Newton drives x out on tanh's flat tail: its derivative rounds to 0
	// (a singular block) or the steps run out.
	if ie.Err != nil && !errors.Is(err, tape.ErrSingular) {
		t.Errorf("err = %v, want a singular tanh (tape.ErrSingular) or the step limit", err)
	}
	t.Logf("%v", err)

	_, err = inverse.Invert(f, tensor.New([]int{3}, []float64{0.2, 0.9, -0.3}), inverse.InvertMaxIter(1))
	if !errors.As(err, &ie) || ie.Err != nil || ie.Iter != 1 {
		t.Errorf("err = %v, want *InvertError after 1 step, no cause", err)
	}
}

// TestInvertStartPoint: a program mapping x [2, 3] to y [6] cannot start
// at y: Invert says so; StartAt gives a point shaped like x, and x0 is not
// modified.
func TestInvertStartPoint(t *testing.T) {
	f := func(x *tape.Var) *tape.Var {
		p := ops.SplitAxis(x, 1, 1, 2)
		return ops.Reshape(ops.ConcatAxis(1, ops.Exp(p[1]), p[0]), 6)
	}
	xTrue := tensor.New([]int{2, 3}, []float64{0.1, -0.2, 0.3, 0.4, -0.5, 0.6})
	y := forward(f, xTrue)
	if _, err := inverse.Invert(f, y); err == nil || !strings.Contains(err.Error(), "StartAt") {
		t.Errorf("default start point: err = %v, want an error pointing to StartAt", err)
	}
	x0 := tensor.Zeros(2, 3)
	checkInvert(t, f, xTrue, inverse.StartAt(x0))
	for _, v := range x0.Data() {
		if v != 0 {
			t.Fatal("Invert modified the start point")
		}
	}
	mustPanic(t, "inverse: ", func() { inverse.StartAt(nil) })
	mustPanic(t, "inverse: ", func() { inverse.InvertTol(0) })
	mustPanic(t, "inverse: ", func() { inverse.InvertMaxIter(0) })
	mustPanic(t, "inverse: ", func() { inverse.Invert(f, tensor.Zeros(5), inverse.StartAt(x0)) })
	// A caller mistake at the default start point still panics: only an
	// op's shape check is taken for "f does not take y's shape".
	mustPanic(t, "inverse: f returned nil", func() { inverse.Invert(func(*tape.Var) *tape.Var { return nil }, y) })
}

// TestInvertAgainstNewton: Invert and newton.Solve on F(x) = f(x) − y
// (whole-program Newton, each step an IJVP) both reach x_true on the
// coupling flow.
func TestInvertAgainstNewton(t *testing.T) {
	const d, h, B = 8, 16, 20 // 8 features, 16 hidden units, 20 samples
	fl := catalog.NewRowFlow(2, d, h, 7)
	xTrue := uniform(rand.New(rand.NewPCG(7, 1)), -1, 1, d, B)
	y := forward(fl.Columns, xTrue)
	trace := checkInvert(t, fl.Columns, xTrue)
	steps, most := 0, 0
	for _, r := range trace {
		steps += r.Iter
		most = max(most, r.Iter)
	}
	F := func(x *tape.Var) *tape.Var { return ops.Sub(fl.Columns(x), ops.Const(x, y)) }
	res, err := newton.Solve(F, y, newton.Tol(1e-12))
	if err != nil {
		t.Fatalf("newton.Solve: %v", err)
	}
	if e := relErr(res.X.Data(), xTrue.Data()); e > invertTol {
		t.Errorf("newton.Solve: relative error %.3g against x_true", e)
	}
	t.Logf("Invert: %d lump solves, %d local Newton steps in all, at most %d per lump; newton.Solve: %d whole-program iterations (a linearization and an IJVP each)",
		len(solved(trace)), steps, most, res.Iters)
}

// BenchmarkInvertFlow: Invert of a feature-major flow of 4 coupling layers
// with 1×1 mixing, d = 8, against one primal run measured in the same
// benchmark; the ratio is reported as x-primal.
func BenchmarkInvertFlow(b *testing.B) {
	const layers, d, h = 4, 8, 16 // 4 layers, 8 features, 16 hidden units
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("B=%d", n), func(b *testing.B) {
			fl := catalog.NewRowFlow(layers, d, h, 1)
			xTrue := uniform(rand.New(rand.NewPCG(1, 1)), -1, 1, d, n)
			y := forward(fl.Columns, xTrue)
			var primal, inv float64
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				forward(fl.Columns, xTrue)
				t1 := time.Now()
				x, err := inverse.Invert(fl.Columns, y)
				t2 := time.Now()
				if err != nil {
					b.Fatal(err)
				}
				if e := relErr(x.Data(), xTrue.Data()); e > invertTol {
					b.Fatalf("relative error %.3g", e)
				}
				primal += t1.Sub(t0).Seconds()
				inv += t2.Sub(t1).Seconds()
			}
			b.ReportMetric(inv/primal, "x-primal")
			b.ReportMetric(math.Round(primal/float64(b.N)*1e6)/1e3, "primal-ms")
		})
	}
}
