package catalog

import (
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Shared program bodies.

// expTanh is y = exp(2 tanh x): three diagonal single-op steps.
func expTanh(x *tape.Var) *tape.Var { return ops.Exp(ops.Scale(ops.Tanh(x), 2)) }

// testPrograms are the composed fixed-shape programs covering every lump
// kind: the Inverse table, in its order (its members also serve the Scalar
// and Oracle tables), then the Scalar table's own.
var testPrograms = []Program{
	{Name: "exp2tanh", Lumps: "step:3", About: "three diagonal single-op steps (design note §6)", Shape: []int{7}, Lo: -2, Hi: 2,
		Sets: []Set{Inverse, Scalar, Oracle},
		F:    expTanh},
	{Name: "x+sin(x)", Lumps: "batch:1", About: "one lump: sin expands, + contracts", Shape: []int{6}, Lo: -3, Hi: 3,
		Sets: []Set{Inverse, Scalar, Oracle},
		F:    func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Sin(x)) }},
	{Name: "x*x", Lumps: "batch:1", About: "x used in two slots of one op", Shape: []int{5}, Lo: 0.5, Hi: 2,
		Sets: []Set{Inverse, Scalar, Oracle},
		F:    func(x *tape.Var) *tape.Var { return ops.Mul(x, x) }},
	{Name: "Wx", Lumps: "step:1", About: "constant dense operator", Shape: []int{6}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse, Scalar},
		F:    func(x *tape.Var) *tape.Var { return ops.MatMul(ops.Const(x, Matrix(1, 6, 6, 3)), x) }},
	{Name: "XW", Lumps: "step:2", About: "row-batched product with a constant right factor", Shape: []int{4, 3}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse, Scalar},
		F:    func(x *tape.Var) *tape.Var { return ops.Tanh(ops.MatMul(x, ops.Const(x, Matrix(2, 3, 3, 2)))) }},
	{Name: "coupling-small", Lumps: "copy:2 expansion:5 step:2", About: "affine coupling layer with a small MLP; split and concat", Shape: []int{8}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse, Scalar},
		F: func(x *tape.Var) *tape.Var {
			ab := ops.Split(x, 4, 4)
			a, b := ab[0], ab[1]
			h := ops.Tanh(ops.MatMul(ops.Const(x, Matrix(3, 5, 4, 0)), a))
			s := ops.MatMul(ops.Const(x, Matrix(4, 4, 5, 0)), h)
			t := ops.MatMul(ops.Const(x, Matrix(5, 4, 5, 0)), h)
			return ops.Concat(a, ops.Add(ops.Mul(b, ops.Exp(s)), t))
		}},
	{Name: "rotation(a,b)", Lumps: "batch:1 copy:2", About: "2x2 blocks coupled elementwise via a third value", Shape: []int{6}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse, Scalar, Oracle},
		F: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3)
			a, b := p[0], p[1]
			th := ops.Scale(ops.Sin(ops.Add(a, b)), 0.3)
			c, d := ops.Cos(th), ops.Sin(th)
			return ops.Concat(ops.Sub(ops.Mul(a, c), ops.Mul(b, d)), ops.Add(ops.Mul(a, d), ops.Mul(b, c)))
		}},
	{Name: "chains-softplus", Lumps: "copy:2 step:4", About: "two independent chains on the halves of x", Shape: []int{6}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse, Scalar, Oracle},
		F: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3)
			return ops.Concat(ops.Sigmoid(ops.Exp(p[0])), ops.Softplus(ops.Cumsum(p[1])))
		}},
	{Name: "deadcode", Lumps: "step:2", About: "values computed but unused must be pruned", Shape: []int{5}, Lo: 0.1, Hi: 2,
		Sets: []Set{Inverse},
		F: func(x *tape.Var) *tape.Var {
			_ = ops.Exp(ops.Square(x))
			unused := ops.Log(x)
			_ = ops.Add(unused, x)
			return ops.Sqrt(ops.AddScalar(x, 1))
		}},
	{Name: "constants", Lumps: "step:3", About: "constants enter through every binary op and fold", Shape: []int{5}, Lo: 0.5, Hi: 1.5,
		Sets: []Set{Inverse, Scalar},
		F: func(x *tape.Var) *tape.Var {
			c := ops.Const(x, tensor.New([]int{5}, []float64{1, 2, 3, 4, 5}))
			c2 := ops.Exp(c) // folds into a constant
			return ops.Div(ops.Sub(ops.Mul(x, c2), c), ops.AddScalar(c, 1))
		}},
	{Name: "broadcast", Lumps: "dense:1", About: "a rank-0 value broadcast over x", Shape: []int{5}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse, Scalar, Oracle},
		F: func(x *tape.Var) *tape.Var {
			s := ops.Sum(ops.Square(x))
			return ops.Add(ops.Scale(x, 3), ops.Mul(s, ops.Sin(x)))
		}},
	{Name: "cumsum2d", Lumps: "step:2", About: "triangular step on a matrix, leaky nonlinearity", Shape: []int{4, 3}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse, Scalar, Oracle},
		F:    func(x *tape.Var) *tape.Var { return ops.LeakyReLU(ops.Cumsum(x), 0.1) }},
	{Name: "reshape", Lumps: "copy:1 step:2", About: "reshape relabels elements; X W after it", Shape: []int{12}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse, Scalar},
		F: func(x *tape.Var) *tape.Var {
			m := ops.MatMul(ops.Reshape(x, 4, 3), ops.Const(x, Matrix(6, 3, 3, 2)))
			return ops.Reshape(ops.Sigmoid(m), 12)
		}},
	{Name: "residual", Lumps: "dense:1", About: "invertible residual block x + 0.3 tanh(W x)", Shape: []int{6}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse, Scalar},
		F: func(x *tape.Var) *tape.Var {
			return ops.Add(x, ops.Scale(ops.Tanh(ops.MatMul(ops.Const(x, Matrix(8, 6, 6, 0)), x)), 0.3))
		}},
	{Name: "xtimesX", Lumps: "dense:1", About: "a variable on both sides of a product", Shape: []int{3, 3}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse, Scalar, Oracle},
		F:    func(x *tape.Var) *tape.Var { return ops.Add(ops.MatMul(x, x), ops.Scale(x, 4)) }},
	{Name: "divlog", Lumps: "batch:1", About: "division by a varying value, logs and cubes", Shape: []int{5}, Lo: 0.5, Hi: 2,
		Sets: []Set{Inverse, Scalar, Oracle},
		F: func(x *tape.Var) *tape.Var {
			return ops.Div(ops.Log1p(ops.Cube(x)), ops.Expm1(ops.Recip(x)))
		}},
	{Name: "identity", Lumps: "copy:1", About: "f returns x itself", Shape: []int{4}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse, Scalar, Oracle},
		F:    func(x *tape.Var) *tape.Var { return x }},
	{Name: "neg-cos", Lumps: "copy:1 step:2", About: "negation and cosine through a reshape to 2-D", Shape: []int{6}, Lo: 0.2, Hi: 1.2,
		Sets: []Set{Inverse, Scalar},
		F:    func(x *tape.Var) *tape.Var { return ops.Reshape(ops.Neg(ops.Cos(ops.Reshape(x, 2, 3))), 6) }},
	{Name: "rotation-z", Lumps: "batch:1 copy:3 expansion:2", About: "design note §6: (a, b, z) = split(x), a rotation by θ = z: batched 2×2 blocks", Shape: []int{9}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse, Oracle},
		F: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3, 3)
			a, b, z := p[0], p[1], p[2]
			c, d := ops.Cos(z), ops.Sin(z)
			return ops.Concat(ops.Sub(ops.Mul(a, c), ops.Mul(b, d)), ops.Add(ops.Mul(a, d), ops.Mul(b, c)), z)
		}},
	{Name: "swap", Lumps: "copy:2 step:2", About: "halves swapped by split/concat, each through its own op", Shape: []int{6}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse},
		F: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3)
			return ops.Concat(ops.Tanh(p[1]), ops.Exp(p[0]))
		}},
	{Name: "coupling2", Lumps: "copy:2 expansion:10 step:4", About: "two coupling layers with a swap: four steps, ten MLP expansions", Shape: []int{8}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse},
		F: func(x *tape.Var) *tape.Var {
			h := x
			for l := uint64(0); l < 2; l++ {
				ab := ops.Split(h, 4, 4)
				a, b := ab[0], ab[1]
				z := ops.Tanh(ops.MatMul(ops.Const(x, Matrix(20+l, 5, 4, 0)), a))
				s := ops.MatMul(ops.Const(x, Matrix(30+l, 4, 5, 0)), z)
				t := ops.MatMul(ops.Const(x, Matrix(40+l, 4, 5, 0)), z)
				h = ops.Concat(ops.Add(ops.Mul(b, ops.Exp(s)), t), a)
			}
			return h
		}},
	{Name: "mixed", Lumps: "batch:1 copy:3 dense:1 step:2", About: "three lumps of different kinds side by side: a 1×1 batch, a step pair, a dense lump", Shape: []int{9}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse},
		F: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3, 3)
			u := ops.Add(p[0], ops.Scale(ops.Sin(p[0]), 0.4))                                    // batch 1×1
			v := ops.Cumsum(ops.Sigmoid(p[1]))                                                   // two steps
			w := ops.Add(ops.Scale(p[2], 2), ops.Mul(ops.Sum(ops.Square(p[2])), ops.Tanh(p[2]))) // dense
			return ops.Concat(u, v, w)
		}},
	{Name: "kinetics", Lumps: "batch:1 copy:3", About: "one implicit-Euler residual of Robertson's kinetics: 3×3 blocks per cell", Shape: []int{12}, Lo: 0.1, Hi: 1,
		Sets: []Set{Inverse},
		F: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 4, 4, 4)
			y1, y2, y3 := p[0], p[1], p[2]
			r := ops.Scale(y1, 0.04)
			q := ops.Scale(ops.Mul(y2, y3), 3)
			s := ops.Scale(ops.Square(y2), 2)
			h := 0.5
			return ops.Concat(ops.Sub(y1, ops.Scale(ops.Sub(q, r), h)), ops.Sub(y2, ops.Scale(ops.Sub(ops.Sub(r, q), s), h)), ops.Sub(y3, ops.Scale(s, h)))
		}},
	{Name: "two-W", Lumps: "step:3", About: "W₂ tanh(W₁ x): two cached-LU steps around a diagonal one", Shape: []int{5}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse},
		F: func(x *tape.Var) *tape.Var {
			return ops.MatMul(ops.Const(x, Matrix(50, 5, 5, 3)), ops.Tanh(ops.MatMul(ops.Const(x, Matrix(51, 5, 5, 3)), x)))
		}},
	{Name: "wx-cumsum-2d", Lumps: "copy:1 step:4", About: "X·W rows, a running sum over rows, a leaky nonlinearity", Shape: []int{15}, Lo: -1, Hi: 1,
		Sets: []Set{Inverse},
		F: func(x *tape.Var) *tape.Var {
			m := ops.MatMul(ops.Reshape(x, 5, 3), ops.Const(x, Matrix(52, 3, 3, 2)))
			return ops.Reshape(ops.LeakyReLU(ops.Cumsum(ops.Sigmoid(m)), 0.2), 15)
		}},
	{Name: "div-chain", Lumps: "step:3", About: "division by a constant, a square root and a softplus", Shape: []int{6}, Lo: 0.5, Hi: 2,
		Sets: []Set{Inverse},
		F: func(x *tape.Var) *tape.Var {
			return ops.Softplus(ops.Sqrt(ops.Div(x, ops.Const(x, tensor.New([]int{6}, []float64{1, 2, 3, 4, 5, 6})))))
		}},

	// The Scalar table's own (also the oracle's).
	{Name: "reshape-only", About: "y is a view of x and nothing else", Shape: []int{2, 3}, Lo: -1, Hi: 1,
		Sets: []Set{Scalar, Oracle},
		F:    func(x *tape.Var) *tape.Var { return ops.Reshape(x, 6) }},
	{Name: "x-sin-swap", About: "halves swapped, then a genuine cross-half coupling: concat(b + sin a/2, a + cos b/2)", Shape: []int{6}, Lo: -1, Hi: 1,
		Sets: []Set{Scalar, Oracle},
		F: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3)
			a, b := p[0], p[1]
			return ops.Concat(ops.Add(b, ops.Scale(ops.Sin(a), 0.5)), ops.Add(a, ops.Scale(ops.Cos(b), 0.5)))
		}},
}
