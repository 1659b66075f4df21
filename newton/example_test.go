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
	res, err := newton.Solve(F, tensor.Zeros(3), newton.Options{Tol: 1e-12})
	if err != nil {
		panic(err)
	}
	fmt.Printf("x = %.9f after %d iterations, converged %v\n", res.X.Data(), res.Iters, res.Converged) // SciPy brentq agrees
	// Output:
	// x = [-0.698342636 0.337415807 1.543635387] after 4 iterations, converged true
}
