package inverse_test

import (
	"math"

	"github.com/invad/invad/inverse/inversetest"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// The shared programs (package inversetest) under the names the tests use.
var (
	programs = inversetest.Programs()
	point    = inversetest.Point
)

type program = inversetest.Program

// evalPlain runs f on a fresh tape at x (no linearization) and returns f(x).
func evalPlain(f func(*tape.Var) *tape.Var, x *tensor.Tensor) []float64 {
	tp := tape.NewTape()
	return f(tp.Input(x)).Value().Data()
}

// fdJacobian is the central finite-difference Jacobian of f at x, with step
// h scaled to each coordinate.
func fdJacobian(f func(*tape.Var) *tape.Var, x *tensor.Tensor) []float64 {
	n := x.Len()
	J := make([]float64, n*n)
	for j := 0; j < n; j++ {
		// h = ε^(1/3)·max(1,|x|) balances truncation and rounding for central differences.
		h := math.Cbrt(2.2e-16) * math.Max(1, math.Abs(x.Data()[j]))
		xp, xm := x.Clone(), x.Clone()
		xp.Data()[j] += h
		xm.Data()[j] -= h
		fp, fm := evalPlain(f, xp), evalPlain(f, xm)
		for i := 0; i < n; i++ {
			J[i*n+j] = (fp[i] - fm[i]) / (2 * h)
		}
	}
	return J
}
