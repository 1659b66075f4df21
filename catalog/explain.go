package catalog

import (
	"math/rand/v2"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
)

// explainPrograms are the programs of `invad explain -program NAME` (and
// the demo's "coupling"), built at any even n (coupling: a multiple of 16).
var explainPrograms = []Program{
	{Name: "exp-tanh", About: "y = exp(2 tanh x): three diagonal steps", Shape: []int{48}, Lo: -1, Hi: 1,
		Sets:  []Set{Explain},
		Build: func(n int) func(*tape.Var) *tape.Var { return expTanh }},
	{Name: "x-sin", About: "y = x + sin x: no square single op; one lump {sin, +}", Shape: []int{48}, Lo: -1, Hi: 1,
		Sets: []Set{Explain},
		Build: func(n int) func(*tape.Var) *tape.Var {
			return func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Scale(ops.Sin(x), 0.5)) }
		}},
	{Name: "coupling", About: "affine coupling layer on rows of 8: y = [a, b·exp(s(a)) + t(a)]", Shape: []int{48}, Lo: -1, Hi: 1,
		Sets:  []Set{Explain},
		Build: CouplingCumsum},
	{Name: "wx", About: "y = W x with a constant dense W: one step, LU of W cached", Shape: []int{48}, Lo: -1, Hi: 1,
		Sets: []Set{Explain},
		Build: func(n int) func(*tape.Var) *tape.Var {
			W := normalMatrix(rand.New(rand.NewPCG(3, 3)), n, n, 1, 3)
			return func(x *tape.Var) *tape.Var { return ops.MatMul(ops.Const(x, W), x) }
		}},
	{Name: "rotation", About: "(a, b, z) = split(x); y = (a cos z − b sin z, a sin z + b cos z, z): batched 2×2 blocks", Shape: []int{48}, Lo: -1, Hi: 1,
		Sets: []Set{Explain},
		Build: func(n int) func(*tape.Var) *tape.Var {
			return func(x *tape.Var) *tape.Var {
				k := x.Len() / 3
				p := ops.Split(x, k, k, x.Len()-2*k)
				a, b, z := p[0], p[1], ops.Slice(p[2], 0, k)
				c, s := ops.Cos(z), ops.Sin(z)
				return ops.Concat(ops.Sub(ops.Mul(a, c), ops.Mul(b, s)), ops.Add(ops.Mul(a, s), ops.Mul(b, c)), p[2])
			}
		}},
	{Name: "chains", About: "two independent chains on the halves of x: never merged", Shape: []int{48}, Lo: -1, Hi: 1,
		Sets: []Set{Explain},
		Build: func(n int) func(*tape.Var) *tape.Var {
			return func(x *tape.Var) *tape.Var {
				p := ops.Split(x, x.Len()/2, x.Len()-x.Len()/2)
				return ops.Concat(ops.Sigmoid(ops.Exp(p[0])), ops.LeakyReLU(ops.Cumsum(p[1]), 0.2))
			}
		}},
	{Name: "singular", About: "(a, b) = split(x); s = a + b; y = concat(s, s): J is singular", Shape: []int{48}, Lo: -1, Hi: 1,
		Singular: true, Sets: []Set{Explain},
		Build: func(n int) func(*tape.Var) *tape.Var {
			return func(x *tape.Var) *tape.Var {
				p := ops.Split(x, x.Len()/2, x.Len()-x.Len()/2)
				s := ops.Add(p[0], ops.Slice(p[1], 0, x.Len()/2))
				return ops.Concat(s, s)
			}
		}},
}
