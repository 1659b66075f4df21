package newton_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// target returns F(x) = g(x) − g(x*) for a chosen root x*, so the root is known.
func target(g func(*tape.Var) *tape.Var, xstar *tensor.Tensor) func(*tape.Var) *tape.Var {
	b := g(tape.NewTape().Input(xstar)).Value().Clone()
	return func(x *tape.Var) *tape.Var { return ops.Sub(g(x), ops.Const(x, b)) }
}

func randVec(seed uint64, n int, scale float64) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	t := tensor.Zeros(n)
	for i := range t.Data() {
		t.Data()[i] = scale * rng.NormFloat64()
	}
	return t
}

func maxDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

func TestSolveFindsKnownRoot(t *testing.T) {
	const n = 200
	g := func(x *tape.Var) *tape.Var { // strictly increasing: g' = 1 + 0.5 cos x + 0.3 x² ≥ 0.5
		return ops.Add(ops.Add(x, ops.Scale(ops.Sin(x), 0.5)), ops.Scale(ops.Cube(x), 0.1))
	}
	xstar := randVec(1, n, 2)
	var iters []newton.Iter
	res, err := newton.Solve(target(g, xstar), tensor.Zeros(n), newton.Callback(func(it newton.Iter) error {
		iters = append(iters, it)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Converged || res.Residual > 1e-10 {
		t.Fatalf("not converged: %+v", res)
	}
	// g' ≥ 0.5 bounds the error by 2·‖F‖∞.
	if d := maxDiff(res.X.Data(), xstar.Data()); d > 1e-9 {
		t.Errorf("‖x − x*‖∞ = %g", d)
	}
	if len(iters) != res.Iters || len(res.History) != res.Iters {
		t.Errorf("callback saw %d iterations, history %d, result %d", len(iters), len(res.History), res.Iters)
	}
	// Quadratic convergence: once the residual is below 1e-2 it at least
	// squares (up to a constant) each step, so the last steps shrink fast.
	h := res.History
	if k := len(h); k >= 3 && h[k-2].Residual < 1e-3 && h[k-1].Residual > 100*h[k-2].Residual*h[k-2].Residual+1e-14 {
		t.Errorf("no quadratic convergence: %g then %g", h[k-2].Residual, h[k-1].Residual)
	}
}

func TestChordReusesFactorizations(t *testing.T) {
	const n = 100
	g := func(x *tape.Var) *tape.Var { return ops.Add(ops.Scale(x, 2), ops.Tanh(x)) }
	xstar := randVec(2, n, 1)
	res, err := newton.Solve(target(g, xstar), tensor.Zeros(n), newton.Chord(4), newton.MaxIter(100))
	if err != nil {
		t.Fatal(err)
	}
	refac := 0
	for _, it := range res.History {
		if it.Refactorized {
			refac++
		}
	}
	if refac == 0 || refac*4 < res.Iters || refac == res.Iters {
		t.Errorf("%d refactorizations in %d iterations with Chord 4", refac, res.Iters)
	}
	if d := maxDiff(res.X.Data(), xstar.Data()); d > 1e-9 {
		t.Errorf("‖x − x*‖∞ = %g", d)
	}
}

func TestErrorsCarryIteration(t *testing.T) {
	// F = x² − 1 from x0 = 0: J = 2x is singular at the start.
	F := func(x *tape.Var) *tape.Var { return ops.AddScalar(ops.Square(x), -1) }
	_, err := newton.Solve(F, tensor.Zeros(3))
	if err == nil || !strings.Contains(err.Error(), "iteration 1") {
		t.Fatalf("got %v, want an error at iteration 1", err)
	}
	if !strings.Contains(err.Error(), "singular") {
		t.Errorf("error %v does not say the Jacobian is singular", err)
	}
	// Too few iterations.
	g := func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Scale(ops.Cube(x), 0.1)) }
	_, err = newton.Solve(target(g, randVec(3, 10, 5)), tensor.Zeros(10), newton.MaxIter(2))
	if !errors.Is(err, newton.ErrNoConvergence) {
		t.Errorf("MaxIter 2: got %v, want ErrNoConvergence", err)
	}
	stop := errors.New("stop")
	_, err = newton.Solve(target(g, randVec(3, 10, 5)), tensor.Zeros(10), newton.Callback(func(newton.Iter) error { return stop }))
	if !errors.Is(err, stop) {
		t.Errorf("callback error: got %v", err)
	}
}

// closer wraps a CPU linearization as a Linear with a Close, counting.
type closer struct {
	*inverse.Linearization
	closed *int
}

func (c closer) Close() { *c.closed++ }

// TestPluggableLinearizer: a Linearizer and an Eval replace the CPU ones
// (the CUDA backend plugs in so), each linearization is closed once, and the
// solve reaches the same root as the default.
func TestPluggableLinearizer(t *testing.T) {
	const n = 50
	g := func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Scale(ops.Tanh(x), 0.5)) }
	xstar := randVec(2, n, 1)
	F := target(g, xstar)
	made, closed, evals := 0, 0, 0
	res, err := newton.Solve(F, tensor.Zeros(n),
		newton.Linearizer(func(F func(*tape.Var) *tape.Var, x *tensor.Tensor) (newton.Linear, error) {
			l, err := inverse.Linearize(F, x)
			if err != nil {
				return nil, err
			}
			made++
			return closer{l, &closed}, nil
		}),
		newton.Eval(func(F func(*tape.Var) *tape.Var, x *tensor.Tensor) (*tensor.Tensor, error) {
			evals++
			return F(tape.NewTape().Input(x)).Value(), nil
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(res.X.Data(), xstar.Data()); !res.Converged || d > 1e-9 {
		t.Fatalf("converged %v, ‖x − x*‖∞ = %g", res.Converged, d)
	}
	if made != res.Iters || closed != made || evals < res.Iters {
		t.Errorf("%d iterations: %d linearizations made, %d closed, %d evaluations", res.Iters, made, closed, evals)
	}
	// An error from Eval stops the solve and names where (F is evaluated
	// at x0 first).
	boom := errors.New("device lost")
	_, err = newton.Solve(F, tensor.Zeros(n), newton.Eval(func(func(*tape.Var) *tape.Var, *tensor.Tensor) (*tensor.Tensor, error) {
		return nil, boom
	}))
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "at x0") {
		t.Errorf("Eval error: got %v", err)
	}
}

// TestLinearizerKeepsItsLinearizations: Solve Releases only the
// Linearizations it makes itself; those a Linearizer hands it stay usable
// after the solve, and a default solve reaches the same iterates.
func TestLinearizerKeepsItsLinearizations(t *testing.T) {
	const n = 40
	g := func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Scale(ops.Sin(x), 0.5)) }
	F := target(g, randVec(4, n, 1))
	var made []*inverse.Linearization
	res, err := newton.Solve(F, tensor.Zeros(n),
		newton.Linearizer(func(F func(*tape.Var) *tape.Var, x *tensor.Tensor) (newton.Linear, error) {
			l, err := inverse.Linearize(F, x)
			if err != nil {
				return nil, err
			}
			made = append(made, l)
			return l, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	for k, l := range made {
		if _, err := l.IJVP(l.Output()); err != nil {
			t.Errorf("linearization %d: %v", k, err)
		}
	}
	def, err := newton.Solve(F, tensor.Zeros(n))
	if err != nil {
		t.Fatal(err)
	}
	if def.Iters != res.Iters || maxDiff(def.X.Data(), res.X.Data()) != 0 {
		t.Errorf("the default solve took %d iterations to %v, the Linearizer's %d to %v", def.Iters, def.X.Data()[:3], res.Iters, res.X.Data()[:3])
	}
}
