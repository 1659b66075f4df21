package gmat_test

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/interop/gmat"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
)

// A batch held in a gonum vector, row by row, solved through invad and
// read back as a gonum vector, with no copy at either end.
func Example() {
	data := mat.NewVecDense(4, []float64{0.5, -1, 2, 0}) // 2 samples of 2 features
	x, err := gmat.FromVecShaped(data, 2, 2)
	if err != nil {
		panic(err)
	}
	f := func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Tanh(x)) } // J = I + diag(1 − tanh²)
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		panic(err)
	}
	dy, _ := gmat.FromVecShaped(mat.NewVecDense(4, []float64{1, 1, 1, 1}), 2, 2)
	dx, err := lin.IJVP(dy)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.6f\n", mat.Formatted(gmat.ToVec(dx).T())) // 1 / (2 − tanh²(x))
	// Output:
	// [0.559770  0.704238  0.934011  0.500000]
}
