package opstest

// The conformance rows of package ops, one or more per exported op function:
// shared by package ops's tests (the CPU rules) and package cuda's (the
// same rows with each op's rules run on the device).

import (
	"math"
	"slices"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
)

// Row is one conformance Row: the ops function it covers, how to record the
// op through that function, and the Case the suite checks.
type Row struct {
	Fn    string                        // the exported ops function the row covers
	Apply func(v []*tape.Var) *tape.Var // records the op through Fn
	Case  Case
}

// The shape of the elementwise rows: small enough for dense blocks, with two
// dimensions so that flat indexing is exercised.
var ewShape = []int{2, 3}

// Plain references of the primal, written independently of package ops.
func unaryRef(f func(x float64) float64) func([][]float64) []float64 {
	return func(in [][]float64) []float64 {
		out := make([]float64, len(in[0]))
		for i, x := range in[0] {
			out[i] = f(x)
		}
		return out
	}
}

// bcastRef applies f to operands of shapes sa and sb broadcast as in NumPy:
// for each output multi-index, an operand's index along an axis is the
// output's, or 0 where the operand has size 1 there or lacks the axis.
func bcastRef(f func(a, b float64) float64, sa, sb []int) func([][]float64) []float64 {
	r := max(len(sa), len(sb))
	pad := func(s []int) []int { // s with leading 1s up to rank r
		p := make([]int, r)
		for i := range p {
			p[i] = 1
			if j := i - (r - len(s)); j >= 0 {
				p[i] = s[j]
			}
		}
		return p
	}
	pa, pb := pad(sa), pad(sb)
	out := make([]int, r)
	n := 1
	for i := range out {
		out[i] = max(pa[i], pb[i])
		n *= out[i]
	}
	// flat returns the row-major index into an operand of padded shape p
	// of the output multi-index idx.
	flat := func(p, idx []int) int {
		k := 0
		for i, d := range p {
			if d > 1 {
				k = k*d + idx[i]
			}
		}
		return k
	}
	return func(in [][]float64) []float64 {
		res := make([]float64, n)
		idx := make([]int, r)
		for e := range res {
			for i, rem := r-1, e; i >= 0; i-- {
				idx[i] = rem % out[i]
				rem /= out[i]
			}
			res[e] = f(in[0][flat(pa, idx)], in[1][flat(pb, idx)])
		}
		return res
	}
}

// matmulRef multiplies an m×k by a k×c matrix (c = 1 for a vector).
func matmulRef(m, k, c int) func([][]float64) []float64 {
	return func(in [][]float64) []float64 {
		a, b := in[0], in[1]
		out := make([]float64, m*c)
		for i := 0; i < m; i++ {
			for j := 0; j < c; j++ {
				for l := 0; l < k; l++ {
					out[i*c+j] += a[i*k+l] * b[l*c+j]
				}
			}
		}
		return out
	}
}

// copyRef returns elements [lo, lo+n) of the concatenated operands.
func copyRef(lo, n int) func([][]float64) []float64 {
	return func(in [][]float64) []float64 {
		var all []float64
		for _, v := range in {
			all = append(all, v...)
		}
		return slices.Clone(all[lo : lo+n])
	}
}

// cumsumRef is the running sum down the rows of a rows×inner value.
func cumsumRef(rows, inner int) func([][]float64) []float64 {
	return func(in [][]float64) []float64 {
		out := make([]float64, rows*inner)
		for j := 0; j < inner; j++ {
			s := 0.0
			for i := 0; i < rows; i++ {
				s += in[0][i*inner+j]
				out[i*inner+j] = s
			}
		}
		return out
	}
}

func sumRef(in [][]float64) []float64 {
	s := 0.0
	for _, v := range in[0] {
		s += v
	}
	return []float64{s}
}

func apply1(f func(*tape.Var) *tape.Var) func([]*tape.Var) *tape.Var {
	return func(v []*tape.Var) *tape.Var { return f(v[0]) }
}

func apply2(f func(a, b *tape.Var) *tape.Var) func([]*tape.Var) *tape.Var {
	return func(v []*tape.Var) *tape.Var { return f(v[0], v[1]) }
}

// filled returns n copies of v.
func filled(n int, v float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// withZero returns a fixed 2×3 operand with one zero entry.
func withZero() []float64 { return []float64{0.7, -0.4, 0, 1.3, -1.1, 0.5} }

// Shape lists every unary op must reject: two operands, no operand.
var unaryBad = [][][]int{{{2, 3}, {2, 3}}, {}}

// elementwiseRows are the unary elementwise ops; each is also checked in
// float32.
// ElementwiseRows returns the rows of the unary elementwise ops.
func ElementwiseRows() []Row {
	type ew struct {
		fn     string
		op     *ops.Elementwise
		apply  func(*tape.Var) *tape.Var
		ref    func(float64) float64
		in     Input
		sing   []float64 // a point where the derivative is zero or infinite
		reason string
	}
	// Domains: [-2, 2] keeps exp-like third derivatives below e² ≈ 7.4;
	// [0.2, 3] keeps log and sqrt smooth and their derivatives below 5.
	std, pos := Input{Lo: -2, Hi: 2}, Input{Lo: 0.2, Hi: 3}
	leaky := func(a float64) func(float64) float64 {
		return func(x float64) float64 {
			if x >= 0 {
				return x
			}
			return a * x
		}
	}
	table := []ew{
		{"Neg", ops.NegOp, ops.Neg, func(x float64) float64 { return -x }, std, nil, "linear: a constant diagonal of -1"},
		{"Exp", ops.ExpOp, ops.Exp, math.Exp, std, nil, "f' reuses y = f(x)"},
		{"Log", ops.LogOp, ops.Log, math.Log, pos, nil, "needs x > 0; 1/x is finite and nonzero there, so the inverse rule is regular"},
		{"Tanh", ops.TanhOp, ops.Tanh, math.Tanh, std, nil, "f' = 1 - y² from the output"},
		{"Sigmoid", ops.SigmoidOp, ops.Sigmoid, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
			Input{Lo: -4, Hi: 4}, nil, "both branches of the stable formula (x ≥ 0 and x < 0)"},
		{"Sin", ops.SinOp, ops.Sin, math.Sin, Input{Lo: -3, Hi: 3}, nil, "derivative changes sign in the domain"},
		{"Cos", ops.CosOp, ops.Cos, math.Cos, Input{Lo: -3, Hi: 3}, nil, "derivative changes sign in the domain"},
		{"Sqrt", ops.SqrtOp, ops.Sqrt, math.Sqrt, pos, []float64{1, 0, 2, 0.5, 3, 1.5},
			"needs x > 0; at 0 the derivative 0.5/y is infinite, a singular block"},
		{"Square", ops.SquareOp, ops.Square, func(x float64) float64 { return x * x },
			Input{Lo: -2, Hi: 2, Gap: 0.1}, withZero(), "derivative 2x vanishes at 0: singular there; the gap keeps the regular point away from it"},
		{"Cube", ops.CubeOp, ops.Cube, func(x float64) float64 { return x * x * x },
			Input{Lo: -2, Hi: 2, Gap: 0.1}, withZero(), "derivative 3x² vanishes at 0"},
		{"Softplus", ops.SoftplusOp, ops.Softplus, func(x float64) float64 { return math.Log(1 + math.Exp(x)) },
			Input{Lo: -4, Hi: 4}, nil, "both branches of the overflow-safe formula"},
		{"Log1p", ops.Log1pOp, ops.Log1p, func(x float64) float64 { return math.Log(1 + x) },
			Input{Lo: -0.5, Hi: 3}, nil, "needs x > -1"},
		{"Expm1", ops.Expm1Op, ops.Expm1, func(x float64) float64 { return math.Exp(x) - 1 }, std, nil, "f' = y + 1 from the output"},
		{"Recip", ops.RecipOp, ops.Recip, func(x float64) float64 { return 1 / x },
			Input{Lo: -2, Hi: 2, Gap: 0.5}, nil, "both signs, away from the pole at 0 (f‴ = -6/x⁴ ≤ 96 there)"},
		{"LeakyReLU", ops.LeakyReLUOp(0.1), func(v *tape.Var) *tape.Var { return ops.LeakyReLU(v, 0.1) }, leaky(0.1),
			Input{Lo: -1, Hi: 1, Gap: 1e-3}, nil, "both slopes; the gap keeps central differences (step 6e-6) off the kink"},
		{"Scale", ops.ScaleOp(2.5), func(v *tape.Var) *tape.Var { return ops.Scale(v, 2.5) }, func(x float64) float64 { return 2.5 * x },
			std, nil, "linear with a parameter: a constant block"},
		{"AddScalar", ops.AddScalarOp(3), func(v *tape.Var) *tape.Var { return ops.AddScalar(v, 3) }, func(x float64) float64 { return x + 3 },
			std, nil, "linear: identity derivative, a constant block"},
		{"Abs", ops.AbsOp, ops.Abs, math.Abs, Input{Lo: -2, Hi: 2, Gap: 1e-3}, withZero(),
			"both signs; the derivative at 0 is 0, singular; the gap keeps central differences off the kink"},
		{"Pow", ops.PowOp(2.5), func(v *tape.Var) *tape.Var { return ops.Pow(v, 2.5) }, func(x float64) float64 { return math.Pow(x, 2.5) },
			pos, withZero(), "a parameter as exponent; on x > 0; the derivative 2.5·x^1.5 vanishes at 0"},
		{"Exp2", ops.Exp2Op, ops.Exp2, func(x float64) float64 { return math.Pow(2, x) }, std, nil, "f' = y·ln 2 from the output"},
		{"Log2", ops.Log2Op, ops.Log2, func(x float64) float64 { return math.Log(x) / math.Ln2 }, pos, nil,
			"needs x > 0, where 1/(x ln 2) is finite and nonzero"},
	}
	rows := make([]Row, 0, len(table)+1)
	for _, e := range table {
		in := e.in
		in.Shape = ewShape
		c := Case{Name: e.fn, Reason: e.reason, Op: e.op, Inputs: []Input{in}, Out: ewShape,
			Ref: unaryRef(e.ref), BadShapes: unaryBad}
		if e.sing != nil {
			c.SingularAt = []Singular{{Input: 0, Values: [][]float64{e.sing}}}
		}
		rows = append(rows, Row{Fn: e.fn, Apply: apply1(e.apply), Case: c})
	}
	rows = append(rows, Row{Fn: "ReLU", Apply: apply1(ops.ReLU), Case: Case{
		Name: "ReLU", Reason: "LeakyReLU with alpha 0: regular for x ≥ 0, a zero derivative (singular) below",
		Op: ops.LeakyReLUOp(0), Inputs: []Input{{Shape: ewShape, Lo: 0.1, Hi: 2}}, Out: ewShape, Ref: unaryRef(leaky(0)),
		BadShapes:  unaryBad,
		SingularAt: []Singular{{Input: 0, Values: [][]float64{{1, 2, -0.5, 1, 1, 1}}}},
	}})
	return rows
}

// binaryBad are shape lists every binary op must reject.
var binaryBad = [][][]int{
	{{2, 3}, {3, 2}},    // same size, axes that do not broadcast
	{{2, 3}, {2}},       // last axes 3 and 2, neither 1
	{{2, 3, 4}, {3, 3}}, // aligned on the right, 4 against 3
	{{2, 3}},            // one operand
	{{2}, {2}, {2}},     // three operands
}

func binaryRows() []Row {
	type bin struct {
		fn    string
		op    tape.Op
		apply func(a, b *tape.Var) *tape.Var
		f     func(a, b float64) float64
		// den is the right operand's domain: away from 0 for Div.
		den Input
	}
	free := Input{}
	den := Input{Lo: -2, Hi: 2, Gap: 0.5} // |b| ≥ 0.5: 1/b and a/b² stay below 4 and 8
	table := []bin{
		{"Add", ops.AddOp, ops.Add, func(a, b float64) float64 { return a + b }, free},
		{"Sub", ops.SubOp, ops.Sub, func(a, b float64) float64 { return a - b }, free},
		{"Mul", ops.MulOp, ops.Mul, func(a, b float64) float64 { return a * b }, free},
		{"Div", ops.DivOp, ops.Div, func(a, b float64) float64 { return a / b }, den},
	}
	var rows []Row
	for _, b := range table {
		in := func(shape []int, d Input, konst bool) Input {
			d.Shape, d.Const = shape, konst
			return d
		}
		add := func(name, reason string, a, bb Input, out []int, sing ...Singular) {
			rows = append(rows, Row{Fn: b.fn, Apply: apply2(b.apply), Case: Case{
				Name: b.fn + "/" + name, Reason: reason, Op: b.op, Inputs: []Input{a, bb}, Out: out,
				Ref: bcastRef(b.f, a.Shape, bb.Shape), BadShapes: binaryBad, SingularAt: sing,
			}})
		}
		var sameSing, constSing, biasSing []Singular
		switch b.fn {
		case "Mul":
			// ∂(a·b)/∂b = a: singular where a has a zero; by a zero constant b, ∂/∂a = 0.
			sameSing = []Singular{{Input: 1, Values: [][]float64{withZero(), filled(6, 1)}}}
			constSing = []Singular{{Input: 0, Values: [][]float64{filled(6, 1), filled(6, 0)}}}
			// ∂(X·b)/∂X = b broadcast over the rows: singular where b has a zero.
			biasSing = []Singular{{Input: 0, Values: [][]float64{filled(6, 1), {1, 0}}}}
		case "Div":
			// ∂(a/b)/∂b = -a/b²: singular where a has a zero.
			sameSing = []Singular{{Input: 1, Values: [][]float64{withZero(), filled(6, 2)}}}
		}
		add("same-shape", "both operands vary, diagonal blocks; the alias check runs op(x, x)",
			in(ewShape, free, false), in(ewShape, b.den, false), ewShape, sameSing...)
		add("scalar-left", "a rank-0 left operand is broadcast: its block is a dense column and not square",
			in(nil, free, false), in(ewShape, b.den, false), ewShape)
		add("scalar-right", "a rank-0 right operand is broadcast: its VJP sums over the output",
			in(ewShape, free, false), in(nil, b.den, false), ewShape)
		add("const-right", "a constant right operand: zero structure, and a constant block for the left one where ∂f/∂a reads only b",
			in(ewShape, free, false), in(ewShape, b.den, true), ewShape, constSing...)
		add("const-left", "a constant left operand: zero structure for it",
			in(ewShape, free, true), in(ewShape, b.den, false), ewShape)
		// NumPy broadcasting, on [3, 2] outputs (and one [2, 2, 3]).
		add("bias-row", "X [B,h] with b [h]: b is read again for every row, its block dense (6×2) and its VJP a sum over the rows; X's block stays diagonal",
			in([]int{3, 2}, free, false), in([]int{2}, b.den, false), []int{3, 2}, biasSing...)
		add("bias-left", "b [h] with X [B,h]: the broadcast operand on the left",
			in([]int{2}, free, false), in([]int{3, 2}, b.den, false), []int{3, 2})
		add("row-scale", "X [B,d] with s [B,1]: s is read again along the last axis",
			in([]int{3, 2}, free, false), in([]int{3, 1}, b.den, false), []int{3, 2})
		add("outer", "[B,1] with [1,d]: both operands broadcast, both blocks dense and neither square",
			in([]int{3, 1}, free, false), in([]int{1, 2}, b.den, false), []int{3, 2})
		add("ranks-differ", "[2,1,3] with [2,3]: the left broadcast along its middle axis, the right along a missing leading one; no axes merge",
			in([]int{2, 1, 3}, free, false), in([]int{2, 3}, b.den, false), []int{2, 2, 3})
		add("const-bias", "a constant broadcast operand: zero structure for it; X's diagonal block constant where ∂f/∂X reads only the constant",
			in([]int{3, 2}, free, false), in([]int{2}, b.den, true), []int{3, 2})
	}
	return rows
}

// A well-conditioned 2×2 and 3×3 matrix (condition numbers below 3) and a
// singular 3×3 one (Row 2 = Row 0 + Row 1).
var (
	w2     = []float64{2, 0.5, -0.3, 1.5}
	w3     = []float64{3, 0.5, -0.2, 0.4, 2.5, 0.3, -0.1, 0.6, 2}
	w3sing = []float64{1, 2, 3, 0.5, -1, 2, 1.5, 1, 5}
)

// matmulBad are shape lists MatMul must reject.
var matmulBad = [][][]int{
	{{2, 3}, {4, 2}},    // inner dimensions differ
	{{2, 3}, {4}},       // inner dimension of a vector differs
	{{3}, {3}},          // 1-D left
	{{2, 3, 1}, {1, 2}}, // 3-D left
	{{2, 3}, {3, 2, 1}}, // 3-D right
	{{2, 3}},            // one operand
}

func matmulRows() []Row {
	mm := func(name, reason string, a, b Input, out []int, sing ...Singular) Row {
		m, k, c := a.Shape[0], a.Shape[1], 1
		if len(b.Shape) == 2 {
			c = b.Shape[1]
		}
		return Row{Fn: "MatMul", Apply: apply2(ops.MatMul), Case: Case{
			Name: "MatMul/" + name, Reason: reason, Op: ops.MatMulOp, Inputs: []Input{a, b}, Out: out,
			Ref: matmulRef(m, k, c), BadShapes: matmulBad, SingularAt: sing,
		}}
	}
	v := func(shape ...int) Input { return Input{Shape: shape} }
	k := func(value []float64, shape ...int) Input {
		return Input{Shape: shape, Const: true, Value: value}
	}
	x32 := []float64{0.3, -1, 0.8, 0.2, -0.5, 1}
	return []Row{
		mm("2Dx2D", "non-square: both blocks are not square, block-diagonal w.r.t. the left operand",
			v(2, 3), v(3, 4), []int{2, 4}),
		mm("2Dx1D", "matrix times vector, both varying", v(2, 3), v(3), []int{2}),
		mm("var-left-square-const-right", "X·W with W constant: I ⊗ Wᵀ, shared constant blocks, one LU for every Row",
			v(3, 2), k(w2, 2, 2), []int{3, 2},
			Singular{Input: 0, Values: [][]float64{x32, {1, 2, 2, 4}}}),
		mm("square-const-left-var-right-1D", "W·x with W constant: the dense block W",
			k(w3, 3, 3), v(3), []int{3},
			Singular{Input: 1, Values: [][]float64{w3sing, {1, 0, -1}}}),
		mm("square-const-left-var-right-2D", "W·X with W constant: W ⊗ I, one LU for every column",
			k(w3, 3, 3), v(3, 2), []int{3, 2},
			Singular{Input: 1, Values: [][]float64{w3sing, x32}}),
		mm("both-varying-square", "both blocks square and point-dependent; the alias check runs X·X",
			v(2, 2), v(2, 2), []int{2, 2}),
		mm("one-Row-left", "a 1×k left operand: one block, declared dense, still invertible",
			v(1, 3), k(w3, 3, 3), []int{1, 3}),
	}
}

func structuralRows() []Row {
	v := func(shape ...int) Input { return Input{Shape: shape} }
	sliceBad := [][][]int{{{}}, {{1, 3}}, {{4, 3}, {4, 3}}} // rank 0; one Row, fewer than every Row's Hi; two operands
	concatBad := [][][]int{{{2, 3}, {2, 4}}, {{2, 3}, {3}}, {{}}, {}}
	cumsumBad := [][][]int{{{}}, {{3}, {3}}}
	split := func(i int) func([]*tape.Var) *tape.Var {
		return func(v []*tape.Var) *tape.Var { return ops.Split(v[0], 2, 3)[i] }
	}
	return []Row{
		{Fn: "Reshape", Apply: apply1(func(v *tape.Var) *tape.Var { return ops.Reshape(v, 3, -1) }), Case: Case{
			Name: "Reshape", Reason: "relabels elements: identity block; recorded through -1 inference and a view",
			Op: &ops.ReshapeOp{To: []int{3, 2}}, Inputs: []Input{v(2, 3)}, Out: []int{3, 2}, Ref: copyRef(0, 6),
			BadShapes: [][][]int{{{5}}, {{2, 3}, {2, 3}}},
		}},
		{Fn: "Reshape", Apply: apply1(func(v *tape.Var) *tape.Var { return ops.Reshape(v) }), Case: Case{
			Name: "Reshape/to-rank-0", Reason: "a one-element value to rank 0",
			Op: &ops.ReshapeOp{}, Inputs: []Input{v(1, 1)}, Out: nil, Ref: copyRef(0, 1),
			BadShapes: [][][]int{{{2}}},
		}},
		{Fn: "Slice", Apply: apply1(func(v *tape.Var) *tape.Var { return ops.Slice(v, 1, 3) }), Case: Case{
			Name: "Slice/middle", Reason: "a selection at an input offset; not square",
			Op: &ops.SliceOp{Lo: 1, Hi: 3}, Inputs: []Input{v(4, 3)}, Out: []int{2, 3}, Ref: copyRef(3, 6),
			BadShapes: sliceBad,
		}},
		{Fn: "Slice", Apply: apply1(func(v *tape.Var) *tape.Var { return ops.Slice(v, 0, 4) }), Case: Case{
			Name: "Slice/all", Reason: "every Row: the identity, with an inverse rule",
			Op: &ops.SliceOp{Lo: 0, Hi: 4}, Inputs: []Input{v(4, 3)}, Out: []int{4, 3}, Ref: copyRef(0, 12),
			BadShapes: sliceBad,
		}},
		{Fn: "Slice", Apply: apply1(func(v *tape.Var) *tape.Var { return ops.Slice(v, 2, 5) }), Case: Case{
			Name: "Slice/1-D", Reason: "a vector slice",
			Op: &ops.SliceOp{Lo: 2, Hi: 5}, Inputs: []Input{v(6)}, Out: []int{3}, Ref: copyRef(2, 3),
			BadShapes: sliceBad,
		}},
		{Fn: "Split", Apply: split(0), Case: Case{
			Name: "Split/first", Reason: "the first piece of Split(v, 2, 3) is Slice(v, 0, 2)",
			Op: &ops.SliceOp{Lo: 0, Hi: 2}, Inputs: []Input{v(5, 2)}, Out: []int{2, 2}, Ref: copyRef(0, 4),
			BadShapes: sliceBad,
		}},
		{Fn: "Split", Apply: split(1), Case: Case{
			Name: "Split/second", Reason: "the second piece of Split(v, 2, 3) is Slice(v, 2, 5)",
			Op: &ops.SliceOp{Lo: 2, Hi: 5}, Inputs: []Input{v(5, 2)}, Out: []int{3, 2}, Ref: copyRef(4, 6),
			BadShapes: sliceBad,
		}},
		{Fn: "Concat", Apply: func(v []*tape.Var) *tape.Var { return ops.Concat(v...) }, Case: Case{
			Name: "Concat/two", Reason: "selections at output offsets 0 and 6",
			Op: ops.ConcatOp, Inputs: []Input{v(2, 3), v(1, 3)}, Out: []int{3, 3}, Ref: copyRef(0, 9),
			BadShapes: concatBad,
		}},
		{Fn: "Concat", Apply: func(v []*tape.Var) *tape.Var { return ops.Concat(v...) }, Case: Case{
			Name: "Concat/with-const", Reason: "a constant in the middle: its JVP segment is zeroed, its structure zero",
			Op: ops.ConcatOp, Inputs: []Input{v(1, 2), {Shape: []int{2, 2}, Const: true}, v(1, 2)}, Out: []int{4, 2},
			Ref: copyRef(0, 8), BadShapes: concatBad,
		}},
		{Fn: "Concat", Apply: func(v []*tape.Var) *tape.Var { return ops.Concat(v...) }, Case: Case{
			Name: "Concat/same-shape", Reason: "the alias check runs Concat(x, x)",
			Op: ops.ConcatOp, Inputs: []Input{v(2, 2), v(2, 2)}, Out: []int{4, 2}, Ref: copyRef(0, 8),
			BadShapes: concatBad,
		}},
		{Fn: "Concat", Apply: func(v []*tape.Var) *tape.Var { return ops.Concat(v...) }, Case: Case{
			Name: "Concat/one", Reason: "a single operand: the identity, with an inverse rule",
			Op: ops.ConcatOp, Inputs: []Input{v(2, 3)}, Out: []int{2, 3}, Ref: copyRef(0, 6),
			BadShapes: concatBad,
		}},
		{Fn: "Cumsum", Apply: apply1(ops.Cumsum), Case: Case{
			Name: "Cumsum/1-D", Reason: "unit lower triangular, inverted by differences",
			Op: ops.CumsumOp, Inputs: []Input{v(5)}, Out: []int{5}, Ref: cumsumRef(5, 1), BadShapes: cumsumBad,
		}},
		{Fn: "Cumsum", Apply: apply1(ops.Cumsum), Case: Case{
			Name: "Cumsum/2-D", Reason: "running sum down each column; lower triangular in flat order",
			Op: ops.CumsumOp, Inputs: []Input{v(3, 2)}, Out: []int{3, 2}, Ref: cumsumRef(3, 2), BadShapes: cumsumBad,
		}},
		{Fn: "Sum", Apply: apply1(ops.Sum), Case: Case{
			Name: "Sum", Reason: "a dense 1×n Row of ones; not square",
			Op: ops.SumOp, Inputs: []Input{v(2, 3)}, Out: nil, Ref: sumRef, BadShapes: [][][]int{{{2}, {2}}},
		}},
		{Fn: "Sum", Apply: apply1(ops.Sum), Case: Case{
			Name: "Sum/one", Reason: "a one-element operand: the identity, with an inverse rule",
			Op: ops.SumOp, Inputs: []Input{v(1)}, Out: nil, Ref: sumRef, BadShapes: [][][]int{{{2}, {2}}},
		}},
	}
}

// Rows returns every conformance row of package ops: the suite that
// ops.TestConformance runs on the CPU rules and package cuda runs on the
// device rules.
func Rows() []Row {
	var rows []Row
	rows = append(rows, ElementwiseRows()...)
	rows = append(rows, binaryRows()...)
	rows = append(rows, matmulRows()...)
	rows = append(rows, structuralRows()...)
	rows = append(rows, axisRows()...)
	rows = append(rows, batchMatMulRows()...)
	return rows
}
