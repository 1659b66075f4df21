package newton_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// shifted is F(x) = x³ − 1 + 0.1·x: one real root near 0.97 per element.
func shifted(x *tape.Var) *tape.Var {
	return ops.Add(ops.AddScalar(ops.Cube(x), -1), ops.Scale(x, 0.1))
}

// TestBadOptionsPanic: NaN, negative or out-of-range options are caller
// mistakes (zero is the default): the option panics where it is made,
// naming itself.
func TestBadOptionsPanic(t *testing.T) {
	for _, c := range []struct {
		name string
		make func() newton.Option
	}{
		{"Damping", func() newton.Option { return newton.Damping(math.NaN()) }},
		{"Damping", func() newton.Option { return newton.Damping(-1) }},
		{"Damping", func() newton.Option { return newton.Damping(1.5) }},
		{"Damping", func() newton.Option { return newton.Damping(1e-300) }},
		{"Tol", func() newton.Option { return newton.Tol(math.NaN()) }},
		{"Tol", func() newton.Option { return newton.Tol(-1) }},
		{"Tol", func() newton.Option { return newton.Tol(math.Inf(1)) }},
		{"StepTol", func() newton.Option { return newton.StepTol(math.NaN()) }},
		{"StepTol", func() newton.Option { return newton.StepTol(math.Inf(-1)) }},
		{"MaxIter", func() newton.Option { return newton.MaxIter(-1) }},
		{"Chord", func() newton.Option { return newton.Chord(-2) }},
	} {
		func() {
			defer func() {
				if r, _ := recover().(string); !strings.HasPrefix(r, "newton: "+c.name+"(") {
					t.Errorf("%s: panic %q, want newton: %s(...", c.name, r, c.name)
				}
			}()
			c.make()
		}()
	}
	defer func() {
		if r, _ := recover().(string); r != "newton: a nil Option" {
			t.Errorf("a nil Option: panic %q", r)
		}
	}()
	newton.Solve(shifted, tensor.New([]int{2}, []float64{2, 2}), newton.Tol(1e-12), nil)
}

// TestZeroOptionsAreTheDefaults: every option at zero, and a later option
// setting back what an earlier one set, solve as no options do.
func TestZeroOptionsAreTheDefaults(t *testing.T) {
	x := tensor.New([]int{2}, []float64{2, 0.5})
	want, err := newton.Solve(shifted, x)
	if err != nil {
		t.Fatal(err)
	}
	got, err := newton.Solve(shifted, x, newton.Damping(0.5), newton.Tol(1e-3), newton.MaxIter(1),
		newton.MaxIter(0), newton.Tol(0), newton.StepTol(0), newton.Damping(0), newton.Chord(0),
		newton.Callback(nil), newton.Linearizer(nil), newton.Eval(nil), newton.LinearizeWith())
	if err != nil {
		t.Fatal(err)
	}
	if got.Iters != want.Iters || maxDiff(got.X.Data(), want.X.Data()) != 0 {
		t.Errorf("zero options: %d iterations to %v; none: %d to %v", got.Iters, got.X.Data(), want.Iters, want.X.Data())
	}
}

// TestLinearizeWith: the options reach every inverse.Linearize, appended:
// a lump width limit of 2 refuses the 4×4 block of a coupled F, however
// many LinearizeWith came before.
func TestLinearizeWith(t *testing.T) {
	F := func(x *tape.Var) *tape.Var { // x + 0.5·roll(x) − 1: one batch lump of a 4×4 block
		r := ops.Concat(ops.Slice(x, 1, 4), ops.Slice(x, 0, 1))
		return ops.AddScalar(ops.Add(x, ops.Scale(r, 0.5)), -1)
	}
	x0 := tensor.Zeros(4)
	if res, err := newton.Solve(F, x0, newton.LinearizeWith(inverse.MaxLumpWidth(4))); err != nil || !res.Converged {
		t.Fatalf("width limit 4: %v", err)
	}
	_, err := newton.Solve(F, x0, newton.LinearizeWith(inverse.MaxLumpWidth(4)), newton.LinearizeWith(), newton.LinearizeWith(inverse.MaxLumpWidth(2)))
	var tooLarge *lump.LumpTooLargeError
	if !errors.As(err, &tooLarge) || tooLarge.Width != 4 || tooLarge.Limit != 2 {
		t.Errorf("width limit 2: err %v, want *lump.LumpTooLargeError of width 4", err)
	}
}

// TestRootWhereJIsSingular: x² = 0 from x0 = 0 is a root where J is
// singular: converged at once, nothing factorized.
func TestRootWhereJIsSingular(t *testing.T) {
	res, err := newton.Solve(ops.Square, tensor.Zeros(3))
	if err != nil || !res.Converged || res.Residual != 0 || res.Iters != 0 {
		t.Errorf("converged %v, residual %g, iters %d, err %v", res.Converged, res.Residual, res.Iters, err)
	}
}

// TestFailureReportsTheResidual: a solve that fails in its first iteration
// reports ‖F(x0)‖∞ as evaluated, not 0.
func TestFailureReportsTheResidual(t *testing.T) {
	// x² from 0.5 ... with a singular J at x0 = 0 shifted: F = x² + 1 at 0
	// has J = 0 and ‖F‖ = 1.
	F := func(x *tape.Var) *tape.Var { return ops.AddScalar(ops.Square(x), 1) }
	res, err := newton.Solve(F, tensor.Zeros(2))
	if err == nil {
		t.Fatal("no error for a singular J")
	}
	if res.Converged || res.Residual != 1 {
		t.Errorf("converged %v, residual %g; want not converged, residual 1", res.Converged, res.Residual)
	}
}

// TestStallIsNotConvergence: steps that stall below StepTol while ‖F‖ is
// above Tol end with ErrNoConvergence, not Converged.
func TestStallIsNotConvergence(t *testing.T) {
	x := tensor.New([]int{2}, []float64{2, 2})
	res, err := newton.Solve(shifted, x, newton.StepTol(1), newton.NoLineSearch())
	if !errors.Is(err, newton.ErrNoConvergence) || res.Converged {
		t.Errorf("converged %v, err %v; want ErrNoConvergence", res.Converged, err)
	}
	if res.Residual <= 1e-10 {
		t.Errorf("residual %g: the test wants a stall above Tol", res.Residual)
	}
}

// FuzzOptions: whatever the options, making them panics with "newton: "
// or Solve returns; it never reports convergence at a point whose residual
// exceeds the tolerance, and the reported residual is F's at X.
func FuzzOptions(f *testing.F) {
	f.Add(1.0, 1e-10, 1e-15, 50, 1, false)
	f.Add(math.NaN(), 0.0, 0.0, 0, 0, true)
	f.Add(1e-300, 1.0, 1.0, 3, 2, false)
	f.Add(0.5, -1.0, 0.0, 10, 3, true)
	f.Fuzz(func(t *testing.T, damping, tol, stepTol float64, maxIter, chord int, noLS bool) {
		var o []newton.Option
		bad := func() (bad bool) {
			defer func() {
				if r := recover(); r != nil {
					if s, _ := r.(string); !strings.HasPrefix(s, "newton: ") {
						panic(r)
					}
					bad = true
				}
			}()
			o = []newton.Option{newton.Damping(damping), newton.Tol(tol), newton.StepTol(stepTol), newton.MaxIter(maxIter % 60), newton.Chord(chord % 5)}
			if noLS {
				o = append(o, newton.NoLineSearch())
			}
			return false
		}()
		if bad {
			return
		}
		x := tensor.New([]int{2}, []float64{2, 0.5})
		res, err := newton.Solve(shifted, x, o...)
		if res == nil {
			t.Fatalf("nil result (err %v)", err)
		}
		want := tol
		if want == 0 {
			want = 1e-10
		}
		if res.Converged && !(res.Residual <= want) {
			t.Fatalf("converged at residual %g above Tol %g", res.Residual, want)
		}
		if err == nil && !res.Converged {
			t.Fatalf("no error and not converged")
		}
		fx := shifted(tape.NewTape().Input(res.X)).Value()
		m := 0.0
		for _, v := range fx.Data() {
			m = math.Max(m, math.Abs(v))
		}
		if !math.IsNaN(res.Residual) && m != res.Residual {
			t.Fatalf("reported residual %g, F(X) has %g", res.Residual, m)
		}
	})
}

// TestSolveContext: a done context stops the solve before the next
// iteration with its error, keeping the iterations completed.
func TestSolveContext(t *testing.T) {
	const n = 50
	g := func(x *tape.Var) *tape.Var {
		return ops.Add(ops.Add(x, ops.Scale(ops.Sin(x), 0.5)), ops.Scale(ops.Cube(x), 0.1))
	}
	F := target(g, randVec(3, n, 2))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := newton.SolveContext(ctx, F, tensor.Zeros(n))
	if !errors.Is(err, context.Canceled) || res.Iters != 0 || res.Converged {
		t.Fatalf("cancelled before: %v, %d iterations, converged %v", err, res.Iters, res.Converged)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	res, err = newton.SolveContext(ctx, F, tensor.Zeros(n), newton.Callback(func(it newton.Iter) error {
		if it.K == 2 {
			cancel()
		}
		return nil
	}))
	if !errors.Is(err, context.Canceled) || res.Iters != 2 || res.Converged || !strings.Contains(err.Error(), "iteration 3") {
		t.Fatalf("cancelled in iteration 2: %v, %d iterations, converged %v", err, res.Iters, res.Converged)
	}
	// The point kept is the one iteration 2 reached.
	fx := F(tape.NewTape().Input(res.X)).Value()
	if got := maxDiff(fx.Data(), make([]float64, n)); got != res.Residual {
		t.Errorf("Residual %g, ‖F(X)‖∞ = %g", res.Residual, got)
	}
	full, err := newton.Solve(F, tensor.Zeros(n))
	if err != nil || !full.Converged || full.Iters <= 2 {
		t.Fatalf("uncancelled: %v after %d iterations", err, full.Iters)
	}
}

// TestUntilStall: F(x) = s·(x + x³ − c) with s = 1e-6 and root x = 1 per
// element, Tol = 1e-9: ‖F‖∞ ≤ Tol holds already where |x − 1| ~ 1e-4
// (a small F, not a small error: J = s·(1 + 3x²) is tiny), which plain
// Solve accepts; UntilStall goes on to the end of Newton's quadratic phase,
// the root to rounding.
func TestUntilStall(t *testing.T) {
	const s = 1e-6
	F := func(x *tape.Var) *tape.Var {
		c := ops.Const(x, tensor.New([]int{3}, []float64{2, 2, 2})) // 1 + 1³
		return ops.Scale(ops.Sub(ops.Add(x, ops.Cube(x)), c), s)
	}
	x0 := tensor.New([]int{3}, []float64{0.2, 0.5, 3})
	errOf := func(r *newton.Result) float64 {
		e := 0.0
		for _, v := range r.X.Data() {
			e = math.Max(e, math.Abs(v-1))
		}
		return e
	}
	plain, err := newton.Solve(F, x0, newton.Tol(1e-9))
	if err != nil {
		t.Fatal(err)
	}
	if e := errOf(plain); e < 1e-8 {
		t.Fatalf("plain Solve stopped at |x − 1| = %g: the test needs a Tol it meets early", e)
	}
	full, err := newton.Solve(F, x0, newton.Tol(1e-9), newton.UntilStall())
	if err != nil {
		t.Fatal(err)
	}
	if !full.Converged || errOf(full) > 1e-14 {
		t.Errorf("UntilStall: converged %v, |x − 1| = %g after %d iterations (plain: %g after %d)",
			full.Converged, errOf(full), full.Iters, errOf(plain), plain.Iters)
	}
	if full.Iters <= plain.Iters {
		t.Errorf("UntilStall took %d iterations, plain %d", full.Iters, plain.Iters)
	}
}

// TestNoConvergenceReturnsTheBestIterate: F(x) = x² + 1 has no real root;
// from x0 = 3 with full steps (no line search) Newton wanders (the map
// x ← (x − 1/x)/2 is chaotic), so the last iterate is not the best. The
// error names the package once, and Result is the iterate of least ‖F‖∞,
// as recorded in History.
func TestNoConvergenceReturnsTheBestIterate(t *testing.T) {
	F := func(x *tape.Var) *tape.Var { return ops.AddScalar(ops.Square(x), 1) }
	res, err := newton.Solve(F, tensor.New([]int{1}, []float64{3}), newton.MaxIter(13), newton.NoLineSearch()) // x12 ≈ 0.0078 is the best, x13 ≈ −63.7
	if !errors.Is(err, newton.ErrNoConvergence) {
		t.Fatalf("err %v, want ErrNoConvergence", err)
	}
	if n := strings.Count(err.Error(), "newton:"); n != 1 {
		t.Errorf("%q: the prefix newton: %d times, want once", err, n)
	}
	best := 10.0 // ‖F(3)‖∞
	for _, it := range res.History {
		best = math.Min(best, it.Residual)
	}
	last := res.History[len(res.History)-1].Residual
	if last == best {
		t.Fatalf("the last iterate is the best (%g): the test needs one that is not", best)
	}
	x := res.X.Data()[0]
	if res.Residual != best || math.Abs(x*x+1-best) > 1e-12 {
		t.Errorf("Result: x = %g, ‖F‖∞ = %g; want the best iterate, ‖F‖∞ = %g (last %g)", x, res.Residual, best, last)
	}
}
