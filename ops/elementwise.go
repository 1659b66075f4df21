package ops

import (
	"fmt"
	"math"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Elementwise is an elementwise unary op declared by f and f'. Its JVP, VJP
// and inverse rule all follow from DF. Besides the float64 tape.Op methods,
// the generic functions ForwardOf, JVPOf and VJPOf run it on any dtype.
type Elementwise struct {
	name   string
	params string
	f      func(x float64) float64
	// df returns f'(x) given x and y = f(x), so that rules can reuse y
	// (exp' = y, tanh' = 1 - y²).
	df func(x, y float64) float64
	// linear: f(x) = coef·x + shift (Neg, Scale, AddScalar). f and df stay
	// the definition; the rules then run plain loops instead of a function
	// call per element.
	linear      bool
	coef, shift float64
	// param is the op's parameter (leaky_relu's alpha, scale's and
	// add_scalar's c), 0 for ops without one.
	param float64
}

// Param returns the op's parameter: leaky_relu's alpha, scale's and
// add_scalar's c; 0 for the ops without one. Backends that run the op
// elsewhere (the CUDA kernels) pass it on.
func (e *Elementwise) Param() float64 { return e.param }

// F returns f(x).
func (e *Elementwise) F(x float64) float64 { return e.f(x) }

// DF returns f'(x) given y = f(x).
func (e *Elementwise) DF(x, y float64) float64 { return e.df(x, y) }

// Name returns the op's name, e.g. "tanh".
func (e *Elementwise) Name() string { return e.name }

// String returns the name with parameters, e.g. "scale(2)".
func (e *Elementwise) String() string { return e.name + e.params }

// Shape accepts one input of any shape.
func (e *Elementwise) Shape(in [][]int) []int {
	arity(e.name, in, 1)
	return append([]int(nil), in[0]...)
}

// Forward computes y = f(x).
func (e *Elementwise) Forward(dst *tensor.Tensor, in []*tensor.Tensor) { ForwardOf(e, dst, in[0]) }

// JVP computes f'(x) t.
func (e *Elementwise) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	JVPOf(e, dst, in[0], out, t[0])
}

// VJP adds f'(x) c to dst[0].
func (e *Elementwise) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	if dst[0] != nil {
		VJPOf(e, dst[0], in[0], out, c)
	}
}

// Structure is diagonal; constant for linear ops.
func (e *Elementwise) Structure(i int, in [][]int, varying []bool) tape.Structure {
	n := tensor.SizeOf(in[0])
	if !varying[0] {
		return tape.Structure{Kind: tape.Zero, Rows: n, Cols: n}
	}
	return tape.Structure{Kind: tape.Diagonal, Rows: n, Cols: n, Constant: e.linear}
}

// Inverse factorizes diag(f'(x)); a zero or non-finite f' is singular.
func (e *Elementwise) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	x, y := in[0].Data(), out.Data()
	d := make([]float64, len(x))
	df := e.df
	cpu.For(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] = df(x[i], y[i])
		}
	})
	return newDiagFactor(e.name, p, d)
}

// ForwardOf writes f(x) into dst. It panics if the sizes differ.
func ForwardOf[T tensor.Float](e *Elementwise, dst, x *tensor.Dense[T]) {
	d, xs := dst.Data(), x.Data()
	sameLen(e.name, len(d), len(xs))
	if e.linear {
		c, s := T(e.coef), T(e.shift)
		cpu.For(len(d), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d[i] = c*xs[i] + s
			}
		})
		return
	}
	f := e.f
	cpu.For(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] = T(f(float64(xs[i])))
		}
	})
}

// JVPOf writes f'(x) t into dst, given y = f(x).
func JVPOf[T tensor.Float](e *Elementwise, dst, x, y, t *tensor.Dense[T]) {
	d, xs, ys, ts := dst.Data(), x.Data(), y.Data(), t.Data()
	sameLen(e.name, len(d), len(xs), len(ys), len(ts))
	if e.linear {
		c := T(e.coef)
		cpu.For(len(d), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d[i] = c * ts[i]
			}
		})
		return
	}
	df := e.df
	cpu.For(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] = T(df(float64(xs[i]), float64(ys[i]))) * ts[i]
		}
	})
}

// VJPOf adds f'(x) c into dst, given y = f(x).
func VJPOf[T tensor.Float](e *Elementwise, dst, x, y, c *tensor.Dense[T]) {
	d, xs, ys, cs := dst.Data(), x.Data(), y.Data(), c.Data()
	sameLen(e.name, len(d), len(xs), len(ys), len(cs))
	if e.linear {
		k := T(e.coef)
		cpu.For(len(d), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d[i] += k * cs[i]
			}
		})
		return
	}
	df := e.df
	cpu.For(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] += T(df(float64(xs[i]), float64(ys[i]))) * cs[i]
		}
	})
}

func sameLen(name string, n ...int) {
	for _, m := range n[1:] {
		if m != n[0] {
			panic(fmt.Sprintf("ops: %s: operands have %v elements", name, n))
		}
	}
}

func elementwise(name string, f func(x float64) float64, df func(x, y float64) float64) *Elementwise {
	return &Elementwise{name: name, f: f, df: df}
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// softplus(x) = log(1 + eˣ), computed without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// The elementwise unary ops without parameters.
var (
	NegOp      = &Elementwise{name: "neg", f: func(x float64) float64 { return -x }, df: func(x, y float64) float64 { return -1 }, linear: true, coef: -1}
	ExpOp      = elementwise("exp", math.Exp, func(x, y float64) float64 { return y })
	LogOp      = elementwise("log", math.Log, func(x, y float64) float64 { return 1 / x })
	TanhOp     = elementwise("tanh", math.Tanh, func(x, y float64) float64 { return 1 - y*y })
	SigmoidOp  = elementwise("sigmoid", sigmoid, func(x, y float64) float64 { return y * (1 - y) })
	SinOp      = elementwise("sin", math.Sin, func(x, y float64) float64 { return math.Cos(x) })
	CosOp      = elementwise("cos", math.Cos, func(x, y float64) float64 { return -math.Sin(x) })
	SqrtOp     = elementwise("sqrt", math.Sqrt, func(x, y float64) float64 { return 0.5 / y })
	SquareOp   = elementwise("square", func(x float64) float64 { return x * x }, func(x, y float64) float64 { return 2 * x })
	CubeOp     = elementwise("cube", func(x float64) float64 { return x * x * x }, func(x, y float64) float64 { return 3 * x * x })
	SoftplusOp = elementwise("softplus", softplus, func(x, y float64) float64 { return sigmoid(x) })
	Log1pOp    = elementwise("log1p", math.Log1p, func(x, y float64) float64 { return 1 / (1 + x) })
	Expm1Op    = elementwise("expm1", math.Expm1, func(x, y float64) float64 { return y + 1 })
	RecipOp    = elementwise("recip", func(x float64) float64 { return 1 / x }, func(x, y float64) float64 { return -y * y })
)

// Neg returns -v.
func Neg(v *tape.Var) *tape.Var { return tape.Apply(NegOp, v) }

// Exp returns eᵛ.
func Exp(v *tape.Var) *tape.Var { return tape.Apply(ExpOp, v) }

// Log returns the natural logarithm of v.
func Log(v *tape.Var) *tape.Var { return tape.Apply(LogOp, v) }

// Tanh returns tanh(v).
func Tanh(v *tape.Var) *tape.Var { return tape.Apply(TanhOp, v) }

// Sigmoid returns 1/(1+e⁻ᵛ).
func Sigmoid(v *tape.Var) *tape.Var { return tape.Apply(SigmoidOp, v) }

// Sin returns sin(v).
func Sin(v *tape.Var) *tape.Var { return tape.Apply(SinOp, v) }

// Cos returns cos(v).
func Cos(v *tape.Var) *tape.Var { return tape.Apply(CosOp, v) }

// Sqrt returns √v.
func Sqrt(v *tape.Var) *tape.Var { return tape.Apply(SqrtOp, v) }

// Square returns v².
func Square(v *tape.Var) *tape.Var { return tape.Apply(SquareOp, v) }

// Cube returns v³.
func Cube(v *tape.Var) *tape.Var { return tape.Apply(CubeOp, v) }

// Softplus returns log(1+eᵛ).
func Softplus(v *tape.Var) *tape.Var { return tape.Apply(SoftplusOp, v) }

// Log1p returns log(1+v).
func Log1p(v *tape.Var) *tape.Var { return tape.Apply(Log1pOp, v) }

// Expm1 returns eᵛ-1.
func Expm1(v *tape.Var) *tape.Var { return tape.Apply(Expm1Op, v) }

// Recip returns 1/v.
func Recip(v *tape.Var) *tape.Var { return tape.Apply(RecipOp, v) }

// LeakyReLUOp returns the op v ↦ v for v ≥ 0, alpha·v below.
func LeakyReLUOp(alpha float64) *Elementwise {
	return &Elementwise{name: "leaky_relu", params: fmt.Sprintf("(%g)", alpha), param: alpha,
		f: func(x float64) float64 {
			if x >= 0 {
				return x
			}
			return alpha * x
		},
		df: func(x, y float64) float64 {
			if x >= 0 {
				return 1
			}
			return alpha
		}}
}

// LeakyReLU returns v where v ≥ 0 and alpha·v elsewhere. Its derivative at
// 0 is taken as 1.
func LeakyReLU(v *tape.Var, alpha float64) *tape.Var { return tape.Apply(LeakyReLUOp(alpha), v) }

// ScaleOp returns the op v ↦ c·v.
func ScaleOp(c float64) *Elementwise {
	return &Elementwise{name: "scale", params: fmt.Sprintf("(%g)", c), param: c, linear: true, coef: c,
		f: func(x float64) float64 { return c * x }, df: func(x, y float64) float64 { return c }}
}

// Scale returns c·v.
func Scale(v *tape.Var, c float64) *tape.Var { return tape.Apply(ScaleOp(c), v) }

// AddScalarOp returns the op v ↦ v + c.
func AddScalarOp(c float64) *Elementwise {
	return &Elementwise{name: "add_scalar", params: fmt.Sprintf("(%g)", c), param: c, linear: true, coef: 1, shift: c,
		f: func(x float64) float64 { return x + c }, df: func(x, y float64) float64 { return 1 }}
}

// AddScalar returns v + c.
func AddScalar(v *tape.Var, c float64) *tape.Var { return tape.Apply(AddScalarOp(c), v) }
