package inverse_test

import (
	"fmt"
	"math"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// f(x) = x + 0.5·sin(x), elementwise: J is diagonal with 1 + 0.5·cos(x).
func ExampleLinearize() {
	f := func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Scale(ops.Sin(x), 0.5)) }
	x := tensor.New([]int{3}, []float64{0, 1, 2})
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		panic(err)
	}
	v := tensor.New([]int{3}, []float64{1, 1, 1})
	dy, _ := lin.JVP(v)  // J v
	dx, _ := lin.IJVP(v) // J⁻¹ v
	cy, _ := lin.VIJP(v) // vᵀ J⁻¹ (J is diagonal: the same)
	ld, _ := lin.LogAbsDet()
	fmt.Printf("J v    = %.6f\n", dy.Data())
	fmt.Printf("J⁻¹ v  = %.6f\n", dx.Data())
	fmt.Printf("vᵀ J⁻¹ = %.6f\n", cy.Data())
	fmt.Printf("log|det J| = %.6f\n", ld) // Σ log(1 + 0.5·cos x)
	// Output:
	// J v    = [1.500000 1.270151 0.791927]
	// J⁻¹ v  = [0.666667 0.787308 1.262743]
	// vᵀ J⁻¹ = [0.666667 0.787308 1.262743]
	// log|det J| = 0.411314
}

// A batch stored as rows, x of shape [B, d], through an affine coupling
// layer: one log|det J| per sample, the sum of that sample's s.
func ExampleLinearization_LogAbsDetAlong() {
	w := tensor.New([]int{1, 1}, []float64{0.5})
	f := func(x *tape.Var) *tape.Var {
		p := ops.SplitAxis(x, 1, 1, 1) // x1, x2: [B, 1] each
		s := ops.Tanh(ops.MatMul(p[0], ops.Const(x, w)))
		return ops.ConcatAxis(1, p[0], ops.Mul(p[1], ops.Exp(s)))
	}
	x := tensor.New([]int{3, 2}, []float64{0, 1, 1, 1, 2, 1})
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		panic(err)
	}
	ld, err := lin.LogAbsDetAlong(0)
	if err != nil {
		panic(err)
	}
	fmt.Printf("per sample: %.6f\n", ld.Data()) // tanh(0.5·x1) for x1 = 0, 1, 2
	// Output:
	// per sample: [0.000000 0.462117 0.761594]
}

// Invert solves f(x) = y lump by lump: here an affine coupling, solved in
// one Newton step per lump.
func ExampleInvert() {
	f := func(x *tape.Var) *tape.Var {
		p := ops.SplitAxis(x, 1, 1, 1)
		s := ops.Tanh(p[0])
		return ops.ConcatAxis(1, p[0], ops.Add(ops.Mul(p[1], ops.Exp(s)), s))
	}
	xTrue := tensor.New([]int{2, 2}, []float64{0.3, -1, -0.7, 2})
	y := f(tape.NewTape().Input(xTrue)).Value()
	x, err := inverse.Invert(f, y)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.12f\n", x.Data())
	// Output:
	// [0.300000000000 -1.000000000000 -0.700000000000 2.000000000000]
}

// The exact gradient of log|det ∂f/∂x| in a parameter: f(x, W) = W·x with
// x of shape [2, 3] (three samples of two features, innermost) has
// log|det ∂f/∂x| = 3·log|det W| and the gradient 3·W⁻ᵀ in W, 0 in x.
// W = [[2, 1], [0, 4]]: det W = 8, W⁻ᵀ = [[0.5, 0], [−0.125, 0.25]].
func ExampleLogAbsDetGrad() {
	f := func(in ...*tape.Var) *tape.Var { return ops.MatMul(in[1], in[0]) }
	x := tensor.New([]int{2, 3}, []float64{1, 2, 3, 4, 5, 6})
	W := tensor.New([]int{2, 2}, []float64{2, 1, 0, 4})
	logdet, g, err := inverse.LogAbsDetGrad(f, []*tensor.Tensor{x, W}, 0)
	if err != nil {
		panic(err)
	}
	fmt.Printf("log|det| = %.9f (3·ln 8 = %.9f)\n", logdet, 3*math.Log(8))
	fmt.Println("∂/∂W =", g[1].Data())
	fmt.Println("∂/∂x =", g[0].Data())
	// Output:
	// log|det| = 6.238324625 (3·ln 8 = 6.238324625)
	// ∂/∂W = [1.5 0 -0.375 0.75]
	// ∂/∂x = [0 0 0 0 0 0]
}

// The products in float32: f(x) = x ⊙ x has J = diag(2x), so J⁻¹·1 is
// 1/(2x) and log|det J| = log(2·4·8) = log 64, exact in float32.
func ExampleLinearize32() {
	f := func(x *tape.Var) *tape.Var { return ops.Mul(x, x) }
	x := tensor.NewOf([]int{3}, []float32{1, 2, 4})
	lin, err := inverse.Linearize32(f, x)
	if err != nil {
		panic(err)
	}
	dx, err := lin.IJVP(tensor.NewOf([]int{3}, []float32{1, 1, 1}))
	if err != nil {
		panic(err)
	}
	ld, err := lin.LogAbsDet()
	if err != nil {
		panic(err)
	}
	fmt.Println(dx.Data())
	fmt.Printf("%.6f %.6f\n", ld, math.Log(64))
	// Output:
	// [0.5 0.25 0.125]
	// 4.158883 4.158883
}

// Per-sample weights on the log-dets: f(X, W, A) = (X·W) ⊙ A on X of
// shape [3, 2] (three samples stored as rows) has per-sample log|det| =
// log|det W| + Σ_j log|A_bj|, and the gradient of Σ_b w_b·logdet_b is
// (Σ_b w_b)·W⁻ᵀ in W and w_b / A_bj in A. W = [[2, 1], [0, 4]]: det W = 8,
// W⁻ᵀ = [[0.5, 0], [−0.125, 0.25]]; w = (1, 0.5, 2) sums to 3.5.
func ExampleLogAbsDetAlongGrad() {
	f := func(in ...*tape.Var) *tape.Var { return ops.Mul(ops.MatMul(in[0], in[1]), in[2]) }
	X := tensor.New([]int{3, 2}, []float64{1, 2, 3, 4, 5, 6})
	W := tensor.New([]int{2, 2}, []float64{2, 1, 0, 4})
	A := tensor.New([]int{3, 2}, []float64{1, 2, 4, 0.5, 2, 2})
	w := tensor.New([]int{3}, []float64{1, 0.5, 2})
	ld, g, err := inverse.LogAbsDetAlongGrad(f, []*tensor.Tensor{X, W, A}, 0, 0, w)
	if err != nil {
		panic(err)
	}
	fmt.Printf("per sample: %.6f (ln 16 = %.6f, ln 32 = %.6f)\n", ld.Data(), math.Log(16), math.Log(32))
	fmt.Println("∂/∂W =", g[1].Data())
	fmt.Println("∂/∂A =", g[2].Data())
	fmt.Println("∂/∂X =", g[0].Data())
	// Output:
	// per sample: [2.772589 2.772589 3.465736] (ln 16 = 2.772589, ln 32 = 3.465736)
	// ∂/∂W = [1.75 0 -0.4375 0.875]
	// ∂/∂A = [1 0.5 0.125 1 1 1]
	// ∂/∂X = [0 0 0 0 0 0]
}
