package ad_test

import (
	"fmt"

	"github.com/invad/invad/ad"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// The gradient of a least-squares loss L(w, b) = Σ (A·w − b)² with respect
// to both inputs: 2Aᵀ(Aw − b) and −2(Aw − b).
func ExampleGrad() {
	A := tensor.New([]int{3, 2}, []float64{1, 2, 3, 4, 5, 6})
	loss := func(in ...*tape.Var) *tape.Var {
		w, b := in[0], in[1]
		r := ops.Sub(ops.MatMul(ops.Const(w, A), w), b)
		return ops.Sum(ops.Square(r))
	}
	w := tensor.New([]int{2}, []float64{0.5, -0.25})
	b := tensor.New([]int{3}, []float64{1, 2, 2})
	val, g, err := ad.Grad(loss, w, b)
	if err != nil {
		panic(err)
	}
	fmt.Println("L =", val)
	fmt.Println("∂L/∂w =", g[0].Data())
	fmt.Println("∂L/∂b =", g[1].Data())
	// Output:
	// L = 4.25
	// ∂L/∂w = [-21 -28]
	// ∂L/∂b = [2 3 2]
}

// A map of R³ to R² and its Jacobians with respect to each of two inputs:
// f(x, s) = s·[x₀x₁, x₂], with ∂f/∂x = s·[[x₁, x₀, 0], [0, 0, 1]] and
// ∂f/∂s = [x₀x₁, x₂].
func ExampleLinearization_Jacobian() {
	f := func(in ...*tape.Var) *tape.Var {
		x, s := in[0], in[1]
		prod := ops.Mul(ops.Slice(x, 0, 1), ops.Slice(x, 1, 2))
		return ops.Mul(ops.Concat(prod, ops.Slice(x, 2, 3)), ops.Concat(s, s))
	}
	x := tensor.New([]int{3}, []float64{2, 3, 5})
	s := tensor.New([]int{1}, []float64{10})
	l, err := ad.Linearize(f, x, s)
	if err != nil {
		panic(err)
	}
	Jx, _ := l.Jacobian(0)
	Js, _ := l.Jacobian(1)
	fmt.Println("f =", l.Output().Data())
	fmt.Println("∂f/∂x =", Jx.Shape(), Jx.Data())
	fmt.Println("∂f/∂s =", Js.Shape(), Js.Data())
	// Output:
	// f = [60 50]
	// ∂f/∂x = [2 3] [30 20 0 0 0 10]
	// ∂f/∂s = [2 1] [6 5]
}

// The Hessian of f(x) = Σ xᵢ³/3 is diag(2x): along v it is 2x ⊙ v.
func ExampleLinearization_HVP() {
	f := func(in ...*tape.Var) *tape.Var { return ops.Sum(ops.Scale(ops.Cube(in[0]), 1.0/3)) }
	x := tensor.New([]int{3}, []float64{1, 2, 3})
	l, err := ad.Linearize(f, x)
	if err != nil {
		panic(err)
	}
	hv, err := l.HVP(tensor.New([]int{3}, []float64{1, 1, 0.5}))
	if err != nil {
		panic(err)
	}
	fmt.Println("H·v =", hv[0].Data())
	// Output:
	// H·v = [2 4 3]
}
