// Command first is the README's first example: y = x + sin(x), its JVP, the
// inverse product that undoes it, and log|det J|.
package main

import (
	"fmt"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

func main() {
	x := tensor.New([]int{3}, []float64{0.1, 0.2, 0.3}) // data is not copied
	f := func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Sin(x)) }
	lin, err := inverse.Linearize(f, x) // records the tape at x
	if err != nil {
		panic(err)
	}
	jv, err := lin.JVP(tensor.New([]int{3}, []float64{1, 0, 0}))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.6f\n", jv.Data()) // [1+cos(0.1) 0 0]
	dx, err := lin.IJVP(jv)         // solves J dx = jv
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.6f\n", dx.Data()) // [1 0 0]
	ld, err := lin.LogAbsDet()      // Σ log|1 + cos x|
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.6f\n", ld)
}
