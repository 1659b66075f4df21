package newton_test

import (
	"fmt"

	"github.com/invad/invad/newton"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Solve x + 0.5·tanh(x) = c elementwise: each Newton step is one IJVP of
// the Jacobian 1 + 0.5·(1 − tanh² x), here lump by lump (diagonal).
func ExampleSolve() {
	c := tensor.New([]int{3}, []float64{-1, 0.5, 2})
	F := func(x *tape.Var) *tape.Var {
		return ops.Sub(ops.Add(x, ops.Scale(ops.Tanh(x), 0.5)), ops.Const(x, c))
	}
	res, err := newton.Solve(F, tensor.Zeros(3), newton.Tol(1e-12))
	if err != nil {
		panic(err)
	}
	fmt.Printf("x = %.9f after %d iterations, converged %v\n", res.X.Data(), res.Iters, res.Converged) // SciPy brentq agrees
	// Output:
	// x = [-0.698342636 0.337415807 1.543635387] after 4 iterations, converged true
}

// Options configure a solve: here a tolerance, a bound on the iterations
// and a callback that watches them. Newton's iterates for x² = 2 from 1 are
// 3/2, 17/12, 577/408, 665857/470832, whose residuals x² − 2 are 1/2²,
// 1/12², 1/408², 1/470832².
func ExampleSolve_options() {
	F := func(x *tape.Var) *tape.Var { return ops.AddScalar(ops.Square(x), -2) }
	res, err := newton.Solve(F, tensor.New([]int{1}, []float64{1}),
		newton.Tol(1e-11),
		newton.MaxIter(10),
		newton.Callback(func(it newton.Iter) error {
			fmt.Printf("%d: ‖F‖∞ = %.3g after a step of %.3g\n", it.K, it.Residual, it.Step)
			return nil
		}))
	if err != nil {
		panic(err)
	}
	fmt.Printf("x = %.12f, converged %v\n", res.X.Data()[0], res.Converged)
	// Output:
	// 1: ‖F‖∞ = 0.25 after a step of 0.5
	// 2: ‖F‖∞ = 0.00694 after a step of 0.0833
	// 3: ‖F‖∞ = 6.01e-06 after a step of 0.00245
	// 4: ‖F‖∞ = 4.51e-12 after a step of 2.12e-06
	// x = 1.414213562375, converged true
}
