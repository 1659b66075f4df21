package ops

import (
	"fmt"
	"math"
	"reflect"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Elementwise is an elementwise unary op: one UnaryDecl (f, f' and f″)
// with its parameter. Its JVP, VJP and inverse rule all follow from DF, its
// second-order rule from D2F. Besides the
// float64 tape.Op methods, the generic functions ForwardOf, JVPOf and VJPOf
// run it on any dtype.
type Elementwise struct {
	name   string
	params string
	decl   *UnaryDecl
	f      func(x, p float64) float64
	f1     func(x float64) float64 // f for ops without a parameter, called directly
	// df returns f'(x) given x and y = f(x), so that rules can reuse y
	// (exp' = y, tanh' = 1 - y²).
	df func(x, y, p float64) float64
	// d2f returns f″(x) given x and y = f(x).
	d2f func(x, y, p float64) float64
	// linear: f(x) = coef·x + shift (Neg, Scale, AddScalar). f and df stay
	// the definition; the rules then run plain loops instead of a function
	// call per element.
	linear      bool
	coef, shift float64
	fromY       FromY // the declaration's FromY
	// param is the op's parameter (leaky_relu's alpha, scale's and
	// add_scalar's c), 0 for ops without one.
	param float64
}

// Param returns the op's parameter: leaky_relu's alpha, scale's and
// add_scalar's c; 0 for the ops without one. Backends that run the op
// elsewhere (the CUDA kernels) pass it on.
func (e *Elementwise) Param() float64 { return e.param }

// F returns f(x).
func (e *Elementwise) F(x float64) float64 { return e.f(x, e.param) }

// DF returns f'(x) given y = f(x).
func (e *Elementwise) DF(x, y float64) float64 { return e.df(x, y, e.param) }

// D2F returns f″(x) given y = f(x).
func (e *Elementwise) D2F(x, y float64) float64 { return e.d2f(x, y, e.param) }

// Decl returns the op's declaration.
func (e *Elementwise) Decl() *UnaryDecl { return e.decl }

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

// JVP32 is JVP in float32 (JVPOf): f' is evaluated in float64 at the
// float32 values and rounded.
func (e *Elementwise) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	JVPOf(e, dst, in[0], out, t[0])
}

// VJP32 is VJP in float32 (VJPOf).
func (e *Elementwise) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	if dst[0] != nil {
		VJPOf(e, dst[0], in[0], out, c)
	}
}

// Linear reports whether f″ is 0 everywhere (tape.Linear): the linear ops
// (Neg, Scale, AddScalar) and those linear on each side of a kink (abs,
// leaky_relu), whose f″ is the package's zeroD2F.
func (e *Elementwise) Linear() bool {
	return e.linear || reflect.ValueOf(e.d2f).Pointer() == reflect.ValueOf(zeroD2F).Pointer()
}

// SecondVJP adds c ⊙ f″(x) ⊙ t[0] into dst[0]: the derivative of
// ⟨c, f'(x) ⊙ t⟩ with respect to x. A linear op (Neg, Scale, AddScalar)
// has f″ = 0 and adds nothing.
func (e *Elementwise) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
	if dst[0] == nil || t[0] == nil || e.linear {
		return
	}
	d, xs, ys, ts, cs := dst[0].Data(), in[0].Data(), out.Data(), t[0].Data(), c.Data()
	sameLen(e.name, len(d), len(xs), len(ys), len(ts), len(cs))
	if r := e.fromY; r != FromYNone {
		cpu.For(len(d), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d[i] += d2fy(r, ys[i]) * ts[i] * cs[i]
			}
		})
		return
	}
	d2f, p := e.d2f, e.param
	cpu.For(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] += d2f(xs[i], ys[i], p) * ts[i] * cs[i]
		}
	})
}

// Structure is diagonal; constant for linear ops.
func (e *Elementwise) Structure(i int, in [][]int, varying []bool) tape.Structure {
	n := tensor.SizeOf(in[0])
	if !varying[0] {
		return tape.Structure{Kind: tape.Zero, Rows: n, Cols: n}
	}
	return tape.Structure{Kind: tape.Diagonal, Rows: n, Cols: n, Constant: e.linear}
}

// FactorBytes: the inverse rule keeps the n reciprocals of f'.
func (e *Elementwise) FactorBytes(p int, in [][]int) int64 { return 8 * int64(tensor.SizeOf(in[0])) }

// Inverse factorizes diag(f'(x)); a zero or non-finite f' is singular.
func (e *Elementwise) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	x, y := in[0].Data(), out.Data()
	d := make([]float64, len(x))
	df, c := e.df, e.param
	cpu.For(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] = df(x[i], y[i], c)
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
	if f1 := e.f1; f1 != nil {
		cpu.For(len(d), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d[i] = T(f1(float64(xs[i])))
			}
		})
		return
	}
	f, p := e.f, e.param
	cpu.For(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] = T(f(float64(xs[i]), p))
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
	if r := e.fromY; r != FromYNone {
		cpu.For(len(d), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d[i] = T(dfy(r, float64(ys[i]))) * ts[i]
			}
		})
		return
	}
	df, p := e.df, e.param
	cpu.For(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] = T(df(float64(xs[i]), float64(ys[i]), p)) * ts[i]
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
	if r := e.fromY; r != FromYNone {
		cpu.For(len(d), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d[i] += T(dfy(r, float64(ys[i]))) * cs[i]
			}
		})
		return
	}
	df, p := e.df, e.param
	cpu.For(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] += T(df(float64(xs[i]), float64(ys[i]), p)) * cs[i]
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

// UnaryDecl declares an elementwise unary op once: its name, f, f' and f″
// in Go (the CPU rules) and f and f' in CUDA C (the device rules).
// `go generate ./cuda` writes the device kernels and the host emulation's
// registration from the CUDA C (cuda/kernels/unary_ops.cuh), so adding an
// op is one entry of unaryDecls, its function (Exp, Scale, ...) and one
// conformance row in ops/opstest.
type UnaryDecl struct {
	Name string
	// F is f(x) and DF is f'(x) given y = f(x), with p the op's parameter
	// (leaky_relu's alpha, scale's c; 0 for the ops without one).
	F  func(x, p float64) float64
	DF func(x, y, p float64) float64
	// D2F is f″(x) given y = f(x), with p as above: the second-order rule
	// (Elementwise.SecondVJP) adds c ⊙ f″(x) ⊙ t. Every declaration has
	// one (building the table panics otherwise), 0 for a linear op; at a
	// kink (abs, leaky_relu) f″ is taken as 0, its value on either side.
	D2F func(x, y, p float64) float64
	// F1, for an op without a parameter, is f itself (math.Exp): the CPU
	// loops call it directly, one call per element instead of two. F is
	// then set from it.
	F1 func(x float64) float64
	// DevF and DevDF are F and DF as CUDA C expressions of the doubles x,
	// y and p; they may call the helpers of cuda/kernels/elementwise.cu
	// (sigmoid) and CUDA's math library.
	DevF, DevDF string
	// Linear: f(x) = f'·x + f(0) with f' constant (Neg, Scale, AddScalar):
	// the rules run plain loops instead of a call per element.
	Linear bool
	// FromY says that f' and f″ are these functions of y = f(x) alone
	// (tanh, exp, sigmoid): the rules then compute them in plain loops
	// instead of calling DF and D2F per element. DF and D2F stay the
	// definition; TestFromY checks the loops against them.
	FromY FromY
	// Param: the op takes a parameter (built by a function: ScaleOp(c)).
	Param bool
}

// FromY names a derivative rule written in terms of y = f(x) alone.
type FromY uint8

const (
	FromYNone    FromY = iota
	FromYTanh          // f' = 1 − y², f″ = −2y(1 − y²)
	FromYExp           // f' = f″ = y
	FromYSigmoid       // f' = y(1 − y), f″ = y(1 − y)(1 − 2y)
)

// dfy is f'(x) in terms of y for the rule r (r is not FromYNone).
func dfy(r FromY, y float64) float64 {
	switch r {
	case FromYTanh:
		return 1 - y*y
	case FromYExp:
		return y
	}
	return y * (1 - y)
}

// d2fy is f″(x) in terms of y for the rule r (r is not FromYNone).
func d2fy(r FromY, y float64) float64 {
	switch r {
	case FromYTanh:
		return -2 * y * (1 - y*y)
	case FromYExp:
		return y
	}
	return y * (1 - y) * (1 - 2*y)
}

// UnaryDecls returns the declarations of every elementwise unary op, in a
// fixed order.
func UnaryDecls() []*UnaryDecl { return append([]*UnaryDecl(nil), unaryDecls...) }

// op returns the declared op with parameter p (params: its text in String).
func (d *UnaryDecl) op(p float64, params string) *Elementwise {
	e := &Elementwise{name: d.Name, params: params, decl: d, f: d.F, f1: d.F1, df: d.DF, d2f: d.D2F, param: p, fromY: d.FromY}
	if d.Linear {
		e.linear, e.coef, e.shift = true, d.DF(0, d.F(0, p), p), d.F(0, p)
	}
	return e
}

func unary(name string) *Elementwise { return declared(name).op(0, "") }

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

// zeroD2F is the f″ of the linear ops, and of those linear on each side
// of a kink at 0 (abs, leaky_relu).
func zeroD2F(x, y, p float64) float64 { return 0 }

// withF sets F from F1 where only F1 is declared, once, as the table is
// built (before any op is made from it). It panics for a declaration
// without DF or D2F, so that a new op cannot leave a rule out.
func withF(decls []*UnaryDecl) []*UnaryDecl {
	for _, d := range decls {
		if (d.F == nil && d.F1 == nil) || d.DF == nil || d.D2F == nil {
			panic("ops: unary op " + d.Name + " declares no f, f' or f″ (F or F1, DF, D2F)")
		}
		if d.F == nil {
			f1 := d.F1
			d.F = func(x, _ float64) float64 { return f1(x) }
		}
	}
	return decls
}

var unaryDecls = withF([]*UnaryDecl{
	{Name: "neg", F: func(x, p float64) float64 { return -x }, DF: func(x, y, p float64) float64 { return -1 },
		D2F: zeroD2F, DevF: "-x", DevDF: "-1.0", Linear: true},
	{Name: "exp", F1: math.Exp, DF: func(x, y, p float64) float64 { return y }, D2F: func(x, y, p float64) float64 { return y },
		DevF: "exp(x)", DevDF: "y", FromY: FromYExp},
	{Name: "log", F1: math.Log, DF: func(x, y, p float64) float64 { return 1 / x }, D2F: func(x, y, p float64) float64 { return -1 / (x * x) },
		DevF: "log(x)", DevDF: "1.0 / x"},
	{Name: "tanh", F1: math.Tanh, DF: func(x, y, p float64) float64 { return 1 - y*y },
		D2F:  func(x, y, p float64) float64 { return -2 * y * (1 - y*y) },
		DevF: "tanh(x)", DevDF: "1.0 - y * y", FromY: FromYTanh},
	{Name: "sigmoid", F1: sigmoid, DF: func(x, y, p float64) float64 { return y * (1 - y) },
		D2F:  func(x, y, p float64) float64 { return y * (1 - y) * (1 - 2*y) },
		DevF: "sigmoid(x)", DevDF: "y * (1.0 - y)", FromY: FromYSigmoid},
	{Name: "sin", F1: math.Sin, DF: func(x, y, p float64) float64 { return math.Cos(x) }, D2F: func(x, y, p float64) float64 { return -y },
		DevF: "sin(x)", DevDF: "cos(x)"},
	{Name: "cos", F1: math.Cos, DF: func(x, y, p float64) float64 { return -math.Sin(x) }, D2F: func(x, y, p float64) float64 { return -y },
		DevF: "cos(x)", DevDF: "-sin(x)"},
	{Name: "sqrt", F1: math.Sqrt, DF: func(x, y, p float64) float64 { return 0.5 / y }, D2F: func(x, y, p float64) float64 { return -0.25 / (x * y) },
		DevF: "sqrt(x)", DevDF: "0.5 / y"},
	{Name: "square", F: func(x, p float64) float64 { return x * x }, DF: func(x, y, p float64) float64 { return 2 * x },
		D2F: func(x, y, p float64) float64 { return 2 }, DevF: "x * x", DevDF: "2.0 * x"},
	{Name: "cube", F: func(x, p float64) float64 { return x * x * x }, DF: func(x, y, p float64) float64 { return 3 * x * x },
		D2F: func(x, y, p float64) float64 { return 6 * x }, DevF: "x * x * x", DevDF: "3.0 * x * x"},
	{Name: "softplus", F1: softplus, DF: func(x, y, p float64) float64 { return sigmoid(x) },
		D2F: func(x, y, p float64) float64 {
			s := sigmoid(x)
			return s * (1 - s)
		},
		DevF: "x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))", DevDF: "sigmoid(x)"},
	{Name: "log1p", F1: math.Log1p, DF: func(x, y, p float64) float64 { return 1 / (1 + x) },
		D2F:  func(x, y, p float64) float64 { return -1 / ((1 + x) * (1 + x)) },
		DevF: "log1p(x)", DevDF: "1.0 / (1.0 + x)"},
	{Name: "expm1", F1: math.Expm1, DF: func(x, y, p float64) float64 { return y + 1 }, D2F: func(x, y, p float64) float64 { return y + 1 },
		DevF: "expm1(x)", DevDF: "y + 1.0"},
	{Name: "recip", F: func(x, p float64) float64 { return 1 / x }, DF: func(x, y, p float64) float64 { return -y * y },
		D2F: func(x, y, p float64) float64 { return 2 * y * y * y }, DevF: "1.0 / x", DevDF: "-y * y"},
	// p is alpha; the derivative at 0 is taken as 1. f″ is 0 on both
	// sides of the kink, and taken as 0 at it.
	{Name: "leaky_relu", F: func(x, p float64) float64 {
		if x >= 0 {
			return x
		}
		return p * x
	}, DF: func(x, y, p float64) float64 {
		if x >= 0 {
			return 1
		}
		return p
	}, D2F: zeroD2F, DevF: "x >= 0 ? x : p * x", DevDF: "x >= 0 ? 1.0 : p", Param: true},
	{Name: "scale", F: func(x, p float64) float64 { return p * x }, DF: func(x, y, p float64) float64 { return p },
		D2F: zeroD2F, DevF: "p * x", DevDF: "p", Linear: true, Param: true},
	{Name: "add_scalar", F: func(x, p float64) float64 { return x + p }, DF: func(x, y, p float64) float64 { return 1 },
		D2F: zeroD2F, DevF: "x + p", DevDF: "1.0", Linear: true, Param: true},
	// The derivative at 0 is 0: the inverse rule refuses it. f″ is 0 on
	// both sides of the kink, and taken as 0 at it.
	{Name: "abs", F1: math.Abs, DF: func(x, y, p float64) float64 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	}, D2F: zeroD2F, DevF: "fabs(x)", DevDF: "x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0)"},
	// p is the exponent c.
	{Name: "pow", F: math.Pow, DF: func(x, y, p float64) float64 { return p * math.Pow(x, p-1) },
		D2F:  func(x, y, p float64) float64 { return p * (p - 1) * math.Pow(x, p-2) },
		DevF: "pow(x, p)", DevDF: "p * pow(x, p - 1.0)", Param: true},
	// ln 2 in the device formulas is math.Ln2 to the 17 digits that round
	// to the same double.
	{Name: "exp2", F1: math.Exp2, DF: func(x, y, p float64) float64 { return y * math.Ln2 },
		D2F:  func(x, y, p float64) float64 { return y * (math.Ln2 * math.Ln2) },
		DevF: "exp2(x)", DevDF: "y * 0.6931471805599453"},
	{Name: "log2", F1: math.Log2, DF: func(x, y, p float64) float64 { return 1 / (x * math.Ln2) },
		D2F:  func(x, y, p float64) float64 { return -1 / (x * x * math.Ln2) },
		DevF: "log2(x)", DevDF: "1.0 / (x * 0.6931471805599453)"},
})

// The elementwise unary ops without parameters.
var (
	NegOp      = unary("neg")
	ExpOp      = unary("exp")
	LogOp      = unary("log")
	TanhOp     = unary("tanh")
	SigmoidOp  = unary("sigmoid")
	SinOp      = unary("sin")
	CosOp      = unary("cos")
	SqrtOp     = unary("sqrt")
	SquareOp   = unary("square")
	CubeOp     = unary("cube")
	SoftplusOp = unary("softplus")
	Log1pOp    = unary("log1p")
	Expm1Op    = unary("expm1")
	RecipOp    = unary("recip")
	AbsOp      = unary("abs")
	Exp2Op     = unary("exp2")
	Log2Op     = unary("log2")
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

// Exp2 returns 2ᵛ.
func Exp2(v *tape.Var) *tape.Var { return tape.Apply(Exp2Op, v) }

// Log2 returns the base-2 logarithm of v.
func Log2(v *tape.Var) *tape.Var { return tape.Apply(Log2Op, v) }

// Abs returns |v|. Its derivative at 0 is taken as 0, so the inverse rule
// refuses a zero element (a singular block).
func Abs(v *tape.Var) *tape.Var { return tape.Apply(AbsOp, v) }

// PowOp returns the op v ↦ vᶜ (math.Pow: for v < 0 only an integer c is
// real).
func PowOp(c float64) *Elementwise { return declared("pow").op(c, fmt.Sprintf("(%g)", c)) }

// Pow returns vᶜ elementwise.
func Pow(v *tape.Var, c float64) *tape.Var { return tape.Apply(PowOp(c), v) }

// declared returns the declaration named (for the ops with parameters).
func declared(name string) *UnaryDecl {
	for _, d := range unaryDecls {
		if d.Name == name {
			return d
		}
	}
	panic("ops: no unary op " + name)
}

// LeakyReLUOp returns the op v ↦ v for v ≥ 0, alpha·v below.
func LeakyReLUOp(alpha float64) *Elementwise {
	return declared("leaky_relu").op(alpha, fmt.Sprintf("(%g)", alpha))
}

// LeakyReLU returns v where v ≥ 0 and alpha·v elsewhere. Its derivative at
// 0 is taken as 1.
func LeakyReLU(v *tape.Var, alpha float64) *tape.Var { return tape.Apply(LeakyReLUOp(alpha), v) }

// ReLU returns max(v, 0) elementwise: the op LeakyReLUOp(0). Its
// derivative is 1 for v ≥ 0 (at 0 as LeakyReLU takes it) and 0 below, so
// its inverse rule refuses a negative element: a *tape.SingularError (zero
// derivative) naming leaky_relu.
func ReLU(v *tape.Var) *tape.Var { return tape.Apply(LeakyReLUOp(0), v) }

// ScaleOp returns the op v ↦ c·v.
func ScaleOp(c float64) *Elementwise { return declared("scale").op(c, fmt.Sprintf("(%g)", c)) }

// Scale returns c·v.
func Scale(v *tape.Var, c float64) *tape.Var { return tape.Apply(ScaleOp(c), v) }

// AddScalarOp returns the op v ↦ v + c.
func AddScalarOp(c float64) *Elementwise { return declared("add_scalar").op(c, fmt.Sprintf("(%g)", c)) }

// AddScalar returns v + c.
func AddScalar(v *tape.Var, c float64) *tape.Var { return tape.Apply(AddScalarOp(c), v) }
