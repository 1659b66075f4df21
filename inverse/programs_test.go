package inverse_test

import (
	"math"
	"math/rand/v2"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// program is a test program f: Rⁿ → Rⁿ with a point to linearize it at.
type program struct {
	name   string
	reason string
	shape  []int
	lo, hi float64 // the domain x is drawn from
	f      func(x *tape.Var) *tape.Var
	// lumps is the expected lump report, as kind:count pairs in
	// alphabetical order ("batch:1 copy:2"), worked out by hand from the
	// program's structure.
	lumps string
}

// matrix returns a seeded r×c matrix with entries in [-1, 1), plus diag on
// the diagonal so square ones are well conditioned.
func matrix(seed uint64, r, c int, diag float64) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 7))
	d := make([]float64, r*c)
	for i := range d {
		d[i] = 2*rng.Float64() - 1
	}
	for i := 0; i < min(r, c); i++ {
		d[i*c+i] += diag
	}
	return tensor.New([]int{r, c}, d)
}

// programs is the shared table of composed programs.
var programs = []program{
	{name: "exp2tanh", lumps: "step:3", reason: "three diagonal single-op steps (design note §6)", shape: []int{7}, lo: -2, hi: 2,
		f: func(x *tape.Var) *tape.Var { return ops.Exp(ops.Scale(ops.Tanh(x), 2)) }},
	{name: "x+sin(x)", lumps: "batch:1", reason: "one lump: sin expands, + contracts", shape: []int{6}, lo: -3, hi: 3,
		f: func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Sin(x)) }},
	{name: "x*x", lumps: "batch:1", reason: "x used in two slots of one op", shape: []int{5}, lo: 0.5, hi: 2,
		f: func(x *tape.Var) *tape.Var { return ops.Mul(x, x) }},
	{name: "Wx", lumps: "step:1", reason: "constant dense operator", shape: []int{6}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var { return ops.MatMul(ops.Const(x, matrix(1, 6, 6, 3)), x) }},
	{name: "XW", lumps: "step:2", reason: "row-batched product with a constant right factor", shape: []int{4, 3}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var { return ops.Tanh(ops.MatMul(x, ops.Const(x, matrix(2, 3, 3, 2)))) }},
	{name: "coupling", lumps: "copy:2 expansion:5 step:2", reason: "affine coupling layer with a small MLP; split and concat", shape: []int{8}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			ab := ops.Split(x, 4, 4)
			a, b := ab[0], ab[1]
			h := ops.Tanh(ops.MatMul(ops.Const(x, matrix(3, 5, 4, 0)), a))
			s := ops.MatMul(ops.Const(x, matrix(4, 4, 5, 0)), h)
			t := ops.MatMul(ops.Const(x, matrix(5, 4, 5, 0)), h)
			return ops.Concat(a, ops.Add(ops.Mul(b, ops.Exp(s)), t))
		}},
	{name: "rotation", lumps: "batch:1 copy:2", reason: "2x2 blocks coupled elementwise via a third value", shape: []int{6}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3)
			a, b := p[0], p[1]
			th := ops.Scale(ops.Sin(ops.Add(a, b)), 0.3)
			c, d := ops.Cos(th), ops.Sin(th)
			return ops.Concat(ops.Sub(ops.Mul(a, c), ops.Mul(b, d)), ops.Add(ops.Mul(a, d), ops.Mul(b, c)))
		}},
	{name: "chains", lumps: "copy:2 step:4", reason: "two independent chains on the halves of x", shape: []int{6}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3)
			return ops.Concat(ops.Sigmoid(ops.Exp(p[0])), ops.Softplus(ops.Cumsum(p[1])))
		}},
	{name: "deadcode", lumps: "step:2", reason: "values computed but unused must be pruned", shape: []int{5}, lo: 0.1, hi: 2,
		f: func(x *tape.Var) *tape.Var {
			_ = ops.Exp(ops.Square(x))
			unused := ops.Log(x)
			_ = ops.Add(unused, x)
			return ops.Sqrt(ops.AddScalar(x, 1))
		}},
	{name: "constants", lumps: "step:3", reason: "constants enter through every binary op and fold", shape: []int{5}, lo: 0.5, hi: 1.5,
		f: func(x *tape.Var) *tape.Var {
			c := ops.Const(x, tensor.New([]int{5}, []float64{1, 2, 3, 4, 5}))
			c2 := ops.Exp(c) // folds into a constant
			return ops.Div(ops.Sub(ops.Mul(x, c2), c), ops.AddScalar(c, 1))
		}},
	{name: "broadcast", lumps: "dense:1", reason: "a rank-0 value broadcast over x", shape: []int{5}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			s := ops.Sum(ops.Square(x))
			return ops.Add(ops.Scale(x, 3), ops.Mul(s, ops.Sin(x)))
		}},
	{name: "cumsum2d", lumps: "step:2", reason: "triangular step on a matrix, leaky nonlinearity", shape: []int{4, 3}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var { return ops.LeakyReLU(ops.Cumsum(x), 0.1) }},
	{name: "reshape", lumps: "copy:1 step:2", reason: "reshape relabels elements; X W after it", shape: []int{12}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			m := ops.MatMul(ops.Reshape(x, 4, 3), ops.Const(x, matrix(6, 3, 3, 2)))
			return ops.Reshape(ops.Sigmoid(m), 12)
		}},
	{name: "residual", lumps: "dense:1", reason: "invertible residual block x + 0.3 tanh(W x)", shape: []int{6}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			return ops.Add(x, ops.Scale(ops.Tanh(ops.MatMul(ops.Const(x, matrix(8, 6, 6, 0)), x)), 0.3))
		}},
	{name: "xtimesX", lumps: "dense:1", reason: "a variable on both sides of a product", shape: []int{3, 3}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var { return ops.Add(ops.MatMul(x, x), ops.Scale(x, 4)) }},
	{name: "divlog", lumps: "batch:1", reason: "division by a varying value, logs and cubes", shape: []int{5}, lo: 0.5, hi: 2,
		f: func(x *tape.Var) *tape.Var {
			return ops.Div(ops.Log1p(ops.Cube(x)), ops.Expm1(ops.Recip(x)))
		}},
	{name: "identity", lumps: "copy:1", reason: "f returns x itself", shape: []int{4}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var { return x }},
	{name: "neg-cos", lumps: "copy:1 step:2", reason: "negation and cosine through a reshape to 2-D", shape: []int{6}, lo: 0.2, hi: 1.2,
		f: func(x *tape.Var) *tape.Var { return ops.Reshape(ops.Neg(ops.Cos(ops.Reshape(x, 2, 3))), 6) }},
	{name: "rotation-z", lumps: "batch:1 copy:3 expansion:2", reason: "design note §6: (a, b, z) = split(x), a rotation by θ = z: batched 2×2 blocks", shape: []int{9}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3, 3)
			a, b, z := p[0], p[1], p[2]
			c, d := ops.Cos(z), ops.Sin(z)
			return ops.Concat(ops.Sub(ops.Mul(a, c), ops.Mul(b, d)), ops.Add(ops.Mul(a, d), ops.Mul(b, c)), z)
		}},
	{name: "swap", lumps: "copy:2 step:2", reason: "halves swapped by split/concat, each through its own op", shape: []int{6}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3)
			return ops.Concat(ops.Tanh(p[1]), ops.Exp(p[0]))
		}},
	{name: "coupling2", lumps: "copy:2 expansion:10 step:4", reason: "two coupling layers with a swap: four steps, ten MLP expansions", shape: []int{8}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			h := x
			for l := uint64(0); l < 2; l++ {
				ab := ops.Split(h, 4, 4)
				a, b := ab[0], ab[1]
				z := ops.Tanh(ops.MatMul(ops.Const(x, matrix(20+l, 5, 4, 0)), a))
				s := ops.MatMul(ops.Const(x, matrix(30+l, 4, 5, 0)), z)
				t := ops.MatMul(ops.Const(x, matrix(40+l, 4, 5, 0)), z)
				h = ops.Concat(ops.Add(ops.Mul(b, ops.Exp(s)), t), a)
			}
			return h
		}},
	{name: "mixed", lumps: "batch:1 copy:3 dense:1 step:2", reason: "three lumps of different kinds side by side: a 1×1 batch, a step pair, a dense lump", shape: []int{9}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3, 3)
			u := ops.Add(p[0], ops.Scale(ops.Sin(p[0]), 0.4))                                    // batch 1×1
			v := ops.Cumsum(ops.Sigmoid(p[1]))                                                   // two steps
			w := ops.Add(ops.Scale(p[2], 2), ops.Mul(ops.Sum(ops.Square(p[2])), ops.Tanh(p[2]))) // dense
			return ops.Concat(u, v, w)
		}},
	{name: "kinetics", lumps: "batch:1 copy:3", reason: "one implicit-Euler residual of Robertson's kinetics: 3×3 blocks per cell", shape: []int{12}, lo: 0.1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 4, 4, 4)
			y1, y2, y3 := p[0], p[1], p[2]
			r := ops.Scale(y1, 0.04)
			q := ops.Scale(ops.Mul(y2, y3), 3)
			s := ops.Scale(ops.Square(y2), 2)
			h := 0.5
			return ops.Concat(ops.Sub(y1, ops.Scale(ops.Sub(q, r), h)), ops.Sub(y2, ops.Scale(ops.Sub(ops.Sub(r, q), s), h)), ops.Sub(y3, ops.Scale(s, h)))
		}},
	{name: "two-W", lumps: "step:3", reason: "W₂ tanh(W₁ x): two cached-LU steps around a diagonal one", shape: []int{5}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			return ops.MatMul(ops.Const(x, matrix(50, 5, 5, 3)), ops.Tanh(ops.MatMul(ops.Const(x, matrix(51, 5, 5, 3)), x)))
		}},
	{name: "wx-cumsum-2d", lumps: "copy:1 step:4", reason: "X·W rows, a running sum over rows, a leaky nonlinearity", shape: []int{15}, lo: -1, hi: 1,
		f: func(x *tape.Var) *tape.Var {
			m := ops.MatMul(ops.Reshape(x, 5, 3), ops.Const(x, matrix(52, 3, 3, 2)))
			return ops.Reshape(ops.LeakyReLU(ops.Cumsum(ops.Sigmoid(m)), 0.2), 15)
		}},
	{name: "div-chain", lumps: "step:3", reason: "division by a constant, a square root and a softplus", shape: []int{6}, lo: 0.5, hi: 2,
		f: func(x *tape.Var) *tape.Var {
			return ops.Softplus(ops.Sqrt(ops.Div(x, ops.Const(x, tensor.New([]int{6}, []float64{1, 2, 3, 4, 5, 6})))))
		}},
}

// point draws x for a program.
func point(p program, seed uint64) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := tensor.Zeros(p.shape...)
	for i := range x.Data() {
		x.Data()[i] = p.lo + (p.hi-p.lo)*rng.Float64()
	}
	return x
}

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
