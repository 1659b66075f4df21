package ops_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/ops/opstest"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// row is one conformance row: the ops function it covers, how to record the
// op through that function, and the Case the suite checks.
type row struct {
	fn    string                        // the exported ops function the row covers
	apply func(v []*tape.Var) *tape.Var // records the op through fn
	c     opstest.Case
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

// binaryRef broadcasts a one-element operand.
func binaryRef(f func(a, b float64) float64) func([][]float64) []float64 {
	return func(in [][]float64) []float64 {
		a, b := in[0], in[1]
		n := max(len(a), len(b))
		out := make([]float64, n)
		for i := range out {
			ai, bi := a[0], b[0]
			if len(a) > 1 {
				ai = a[i]
			}
			if len(b) > 1 {
				bi = b[i]
			}
			out[i] = f(ai, bi)
		}
		return out
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
func elementwiseRows() []row {
	type ew struct {
		fn     string
		op     *ops.Elementwise
		apply  func(*tape.Var) *tape.Var
		ref    func(float64) float64
		in     opstest.Input
		sing   []float64 // a point where the derivative is zero or infinite
		reason string
	}
	// Domains: [-2, 2] keeps exp-like third derivatives below e² ≈ 7.4;
	// [0.2, 3] keeps log and sqrt smooth and their derivatives below 5.
	std, pos := opstest.Input{Lo: -2, Hi: 2}, opstest.Input{Lo: 0.2, Hi: 3}
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
			opstest.Input{Lo: -4, Hi: 4}, nil, "both branches of the stable formula (x ≥ 0 and x < 0)"},
		{"Sin", ops.SinOp, ops.Sin, math.Sin, opstest.Input{Lo: -3, Hi: 3}, nil, "derivative changes sign in the domain"},
		{"Cos", ops.CosOp, ops.Cos, math.Cos, opstest.Input{Lo: -3, Hi: 3}, nil, "derivative changes sign in the domain"},
		{"Sqrt", ops.SqrtOp, ops.Sqrt, math.Sqrt, pos, []float64{1, 0, 2, 0.5, 3, 1.5},
			"needs x > 0; at 0 the derivative 0.5/y is infinite, a singular block"},
		{"Square", ops.SquareOp, ops.Square, func(x float64) float64 { return x * x },
			opstest.Input{Lo: -2, Hi: 2, Gap: 0.1}, withZero(), "derivative 2x vanishes at 0: singular there; the gap keeps the regular point away from it"},
		{"Cube", ops.CubeOp, ops.Cube, func(x float64) float64 { return x * x * x },
			opstest.Input{Lo: -2, Hi: 2, Gap: 0.1}, withZero(), "derivative 3x² vanishes at 0"},
		{"Softplus", ops.SoftplusOp, ops.Softplus, func(x float64) float64 { return math.Log(1 + math.Exp(x)) },
			opstest.Input{Lo: -4, Hi: 4}, nil, "both branches of the overflow-safe formula"},
		{"Log1p", ops.Log1pOp, ops.Log1p, func(x float64) float64 { return math.Log(1 + x) },
			opstest.Input{Lo: -0.5, Hi: 3}, nil, "needs x > -1"},
		{"Expm1", ops.Expm1Op, ops.Expm1, func(x float64) float64 { return math.Exp(x) - 1 }, std, nil, "f' = y + 1 from the output"},
		{"Recip", ops.RecipOp, ops.Recip, func(x float64) float64 { return 1 / x },
			opstest.Input{Lo: -2, Hi: 2, Gap: 0.5}, nil, "both signs, away from the pole at 0 (f‴ = -6/x⁴ ≤ 96 there)"},
		{"LeakyReLU", ops.LeakyReLUOp(0.1), func(v *tape.Var) *tape.Var { return ops.LeakyReLU(v, 0.1) }, leaky(0.1),
			opstest.Input{Lo: -1, Hi: 1, Gap: 1e-3}, nil, "both slopes; the gap keeps central differences (step 6e-6) off the kink"},
		{"Scale", ops.ScaleOp(2.5), func(v *tape.Var) *tape.Var { return ops.Scale(v, 2.5) }, func(x float64) float64 { return 2.5 * x },
			std, nil, "linear with a parameter: a constant block"},
		{"AddScalar", ops.AddScalarOp(3), func(v *tape.Var) *tape.Var { return ops.AddScalar(v, 3) }, func(x float64) float64 { return x + 3 },
			std, nil, "linear: identity derivative, a constant block"},
	}
	rows := make([]row, 0, len(table)+1)
	for _, e := range table {
		in := e.in
		in.Shape = ewShape
		c := opstest.Case{Name: e.fn, Reason: e.reason, Op: e.op, Inputs: []opstest.Input{in}, Out: ewShape,
			Ref: unaryRef(e.ref), BadShapes: unaryBad}
		if e.sing != nil {
			c.SingularAt = []opstest.Singular{{Input: 0, Values: [][]float64{e.sing}}}
		}
		rows = append(rows, row{fn: e.fn, apply: apply1(e.apply), c: c})
	}
	rows = append(rows, row{fn: "LeakyReLU", apply: apply1(func(v *tape.Var) *tape.Var { return ops.LeakyReLU(v, 0) }), c: opstest.Case{
		Name: "LeakyReLU/alpha=0", Reason: "alpha 0 is ReLU: regular for x ≥ 0, a zero derivative (singular) below",
		Op: ops.LeakyReLUOp(0), Inputs: []opstest.Input{{Shape: ewShape, Lo: 0.1, Hi: 2}}, Out: ewShape, Ref: unaryRef(leaky(0)),
		BadShapes:  unaryBad,
		SingularAt: []opstest.Singular{{Input: 0, Values: [][]float64{{1, 2, -0.5, 1, 1, 1}}}},
	}})
	return rows
}

// binaryBad are shape lists every binary op must reject.
var binaryBad = [][][]int{
	{{2, 3}, {3, 2}}, // same size, different shapes
	{{2, 3}, {3}},    // a rank-1 operand is not broadcast
	{{2, 3}},         // one operand
	{{2}, {2}, {2}},  // three operands
}

func binaryRows() []row {
	type bin struct {
		fn    string
		op    tape.Op
		apply func(a, b *tape.Var) *tape.Var
		f     func(a, b float64) float64
		// den is the right operand's domain: away from 0 for Div.
		den opstest.Input
	}
	free := opstest.Input{}
	den := opstest.Input{Lo: -2, Hi: 2, Gap: 0.5} // |b| ≥ 0.5: 1/b and a/b² stay below 4 and 8
	table := []bin{
		{"Add", ops.AddOp, ops.Add, func(a, b float64) float64 { return a + b }, free},
		{"Sub", ops.SubOp, ops.Sub, func(a, b float64) float64 { return a - b }, free},
		{"Mul", ops.MulOp, ops.Mul, func(a, b float64) float64 { return a * b }, free},
		{"Div", ops.DivOp, ops.Div, func(a, b float64) float64 { return a / b }, den},
	}
	var rows []row
	for _, b := range table {
		in := func(shape []int, d opstest.Input, konst bool) opstest.Input {
			d.Shape, d.Const = shape, konst
			return d
		}
		add := func(name, reason string, a, bb opstest.Input, out []int, sing ...opstest.Singular) {
			rows = append(rows, row{fn: b.fn, apply: apply2(b.apply), c: opstest.Case{
				Name: b.fn + "/" + name, Reason: reason, Op: b.op, Inputs: []opstest.Input{a, bb}, Out: out,
				Ref: binaryRef(b.f), BadShapes: binaryBad, SingularAt: sing,
			}})
		}
		var sameSing, constSing []opstest.Singular
		switch b.fn {
		case "Mul":
			// ∂(a·b)/∂b = a: singular where a has a zero; by a zero constant b, ∂/∂a = 0.
			sameSing = []opstest.Singular{{Input: 1, Values: [][]float64{withZero(), filled(6, 1)}}}
			constSing = []opstest.Singular{{Input: 0, Values: [][]float64{filled(6, 1), filled(6, 0)}}}
		case "Div":
			// ∂(a/b)/∂b = -a/b²: singular where a has a zero.
			sameSing = []opstest.Singular{{Input: 1, Values: [][]float64{withZero(), filled(6, 2)}}}
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
	}
	return rows
}

// A well-conditioned 2×2 and 3×3 matrix (condition numbers below 3) and a
// singular 3×3 one (row 2 = row 0 + row 1).
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

func matmulRows() []row {
	mm := func(name, reason string, a, b opstest.Input, out []int, sing ...opstest.Singular) row {
		m, k, c := a.Shape[0], a.Shape[1], 1
		if len(b.Shape) == 2 {
			c = b.Shape[1]
		}
		return row{fn: "MatMul", apply: apply2(ops.MatMul), c: opstest.Case{
			Name: "MatMul/" + name, Reason: reason, Op: ops.MatMulOp, Inputs: []opstest.Input{a, b}, Out: out,
			Ref: matmulRef(m, k, c), BadShapes: matmulBad, SingularAt: sing,
		}}
	}
	v := func(shape ...int) opstest.Input { return opstest.Input{Shape: shape} }
	k := func(value []float64, shape ...int) opstest.Input {
		return opstest.Input{Shape: shape, Const: true, Value: value}
	}
	x32 := []float64{0.3, -1, 0.8, 0.2, -0.5, 1}
	return []row{
		mm("2Dx2D", "non-square: both blocks are not square, block-diagonal w.r.t. the left operand",
			v(2, 3), v(3, 4), []int{2, 4}),
		mm("2Dx1D", "matrix times vector, both varying", v(2, 3), v(3), []int{2}),
		mm("var-left-square-const-right", "X·W with W constant: I ⊗ Wᵀ, shared constant blocks, one LU for every row",
			v(3, 2), k(w2, 2, 2), []int{3, 2},
			opstest.Singular{Input: 0, Values: [][]float64{x32, {1, 2, 2, 4}}}),
		mm("square-const-left-var-right-1D", "W·x with W constant: the dense block W",
			k(w3, 3, 3), v(3), []int{3},
			opstest.Singular{Input: 1, Values: [][]float64{w3sing, {1, 0, -1}}}),
		mm("square-const-left-var-right-2D", "W·X with W constant: W ⊗ I, one LU for every column",
			k(w3, 3, 3), v(3, 2), []int{3, 2},
			opstest.Singular{Input: 1, Values: [][]float64{w3sing, x32}}),
		mm("both-varying-square", "both blocks square and point-dependent; the alias check runs X·X",
			v(2, 2), v(2, 2), []int{2, 2}),
		mm("one-row-left", "a 1×k left operand: one block, declared dense, still invertible",
			v(1, 3), k(w3, 3, 3), []int{1, 3}),
	}
}

func structuralRows() []row {
	v := func(shape ...int) opstest.Input { return opstest.Input{Shape: shape} }
	sliceBad := [][][]int{{{}}, {{1, 3}}, {{4, 3}, {4, 3}}} // rank 0; one row, fewer than every row's Hi; two operands
	concatBad := [][][]int{{{2, 3}, {2, 4}}, {{2, 3}, {3}}, {{}}, {}}
	cumsumBad := [][][]int{{{}}, {{3}, {3}}}
	split := func(i int) func([]*tape.Var) *tape.Var {
		return func(v []*tape.Var) *tape.Var { return ops.Split(v[0], 2, 3)[i] }
	}
	return []row{
		{fn: "Reshape", apply: apply1(func(v *tape.Var) *tape.Var { return ops.Reshape(v, 3, -1) }), c: opstest.Case{
			Name: "Reshape", Reason: "relabels elements: identity block; recorded through -1 inference and a view",
			Op: &ops.ReshapeOp{To: []int{3, 2}}, Inputs: []opstest.Input{v(2, 3)}, Out: []int{3, 2}, Ref: copyRef(0, 6),
			BadShapes: [][][]int{{{5}}, {{2, 3}, {2, 3}}},
		}},
		{fn: "Reshape", apply: apply1(func(v *tape.Var) *tape.Var { return ops.Reshape(v) }), c: opstest.Case{
			Name: "Reshape/to-rank-0", Reason: "a one-element value to rank 0",
			Op: &ops.ReshapeOp{}, Inputs: []opstest.Input{v(1, 1)}, Out: nil, Ref: copyRef(0, 1),
			BadShapes: [][][]int{{{2}}},
		}},
		{fn: "Slice", apply: apply1(func(v *tape.Var) *tape.Var { return ops.Slice(v, 1, 3) }), c: opstest.Case{
			Name: "Slice/middle", Reason: "a selection at an input offset; not square",
			Op: &ops.SliceOp{Lo: 1, Hi: 3}, Inputs: []opstest.Input{v(4, 3)}, Out: []int{2, 3}, Ref: copyRef(3, 6),
			BadShapes: sliceBad,
		}},
		{fn: "Slice", apply: apply1(func(v *tape.Var) *tape.Var { return ops.Slice(v, 0, 4) }), c: opstest.Case{
			Name: "Slice/all", Reason: "every row: the identity, with an inverse rule",
			Op: &ops.SliceOp{Lo: 0, Hi: 4}, Inputs: []opstest.Input{v(4, 3)}, Out: []int{4, 3}, Ref: copyRef(0, 12),
			BadShapes: sliceBad,
		}},
		{fn: "Slice", apply: apply1(func(v *tape.Var) *tape.Var { return ops.Slice(v, 2, 5) }), c: opstest.Case{
			Name: "Slice/1-D", Reason: "a vector slice",
			Op: &ops.SliceOp{Lo: 2, Hi: 5}, Inputs: []opstest.Input{v(6)}, Out: []int{3}, Ref: copyRef(2, 3),
			BadShapes: sliceBad,
		}},
		{fn: "Split", apply: split(0), c: opstest.Case{
			Name: "Split/first", Reason: "the first piece of Split(v, 2, 3) is Slice(v, 0, 2)",
			Op: &ops.SliceOp{Lo: 0, Hi: 2}, Inputs: []opstest.Input{v(5, 2)}, Out: []int{2, 2}, Ref: copyRef(0, 4),
			BadShapes: sliceBad,
		}},
		{fn: "Split", apply: split(1), c: opstest.Case{
			Name: "Split/second", Reason: "the second piece of Split(v, 2, 3) is Slice(v, 2, 5)",
			Op: &ops.SliceOp{Lo: 2, Hi: 5}, Inputs: []opstest.Input{v(5, 2)}, Out: []int{3, 2}, Ref: copyRef(4, 6),
			BadShapes: sliceBad,
		}},
		{fn: "Concat", apply: func(v []*tape.Var) *tape.Var { return ops.Concat(v...) }, c: opstest.Case{
			Name: "Concat/two", Reason: "selections at output offsets 0 and 6",
			Op: ops.ConcatOp, Inputs: []opstest.Input{v(2, 3), v(1, 3)}, Out: []int{3, 3}, Ref: copyRef(0, 9),
			BadShapes: concatBad,
		}},
		{fn: "Concat", apply: func(v []*tape.Var) *tape.Var { return ops.Concat(v...) }, c: opstest.Case{
			Name: "Concat/with-const", Reason: "a constant in the middle: its JVP segment is zeroed, its structure zero",
			Op: ops.ConcatOp, Inputs: []opstest.Input{v(1, 2), {Shape: []int{2, 2}, Const: true}, v(1, 2)}, Out: []int{4, 2},
			Ref: copyRef(0, 8), BadShapes: concatBad,
		}},
		{fn: "Concat", apply: func(v []*tape.Var) *tape.Var { return ops.Concat(v...) }, c: opstest.Case{
			Name: "Concat/same-shape", Reason: "the alias check runs Concat(x, x)",
			Op: ops.ConcatOp, Inputs: []opstest.Input{v(2, 2), v(2, 2)}, Out: []int{4, 2}, Ref: copyRef(0, 8),
			BadShapes: concatBad,
		}},
		{fn: "Concat", apply: func(v []*tape.Var) *tape.Var { return ops.Concat(v...) }, c: opstest.Case{
			Name: "Concat/one", Reason: "a single operand: the identity, with an inverse rule",
			Op: ops.ConcatOp, Inputs: []opstest.Input{v(2, 3)}, Out: []int{2, 3}, Ref: copyRef(0, 6),
			BadShapes: concatBad,
		}},
		{fn: "Cumsum", apply: apply1(ops.Cumsum), c: opstest.Case{
			Name: "Cumsum/1-D", Reason: "unit lower triangular, inverted by differences",
			Op: ops.CumsumOp, Inputs: []opstest.Input{v(5)}, Out: []int{5}, Ref: cumsumRef(5, 1), BadShapes: cumsumBad,
		}},
		{fn: "Cumsum", apply: apply1(ops.Cumsum), c: opstest.Case{
			Name: "Cumsum/2-D", Reason: "running sum down each column; lower triangular in flat order",
			Op: ops.CumsumOp, Inputs: []opstest.Input{v(3, 2)}, Out: []int{3, 2}, Ref: cumsumRef(3, 2), BadShapes: cumsumBad,
		}},
		{fn: "Sum", apply: apply1(ops.Sum), c: opstest.Case{
			Name: "Sum", Reason: "a dense 1×n row of ones; not square",
			Op: ops.SumOp, Inputs: []opstest.Input{v(2, 3)}, Out: nil, Ref: sumRef, BadShapes: [][][]int{{{2}, {2}}},
		}},
		{fn: "Sum", apply: apply1(ops.Sum), c: opstest.Case{
			Name: "Sum/one", Reason: "a one-element operand: the identity, with an inverse rule",
			Op: ops.SumOp, Inputs: []opstest.Input{v(1)}, Out: nil, Ref: sumRef, BadShapes: [][][]int{{{2}, {2}}},
		}},
	}
}

func allRows() []row {
	var rows []row
	rows = append(rows, elementwiseRows()...)
	rows = append(rows, binaryRows()...)
	rows = append(rows, matmulRows()...)
	rows = append(rows, structuralRows()...)
	return rows
}

// TestConformance runs the suite on every row.
func TestConformance(t *testing.T) {
	for _, r := range allRows() {
		t.Run(r.c.Name, func(t *testing.T) {
			t.Parallel()
			opstest.Run(t, r.c)
		})
	}
}

// TestFloat32 runs the float32 checks on every elementwise row.
func TestFloat32(t *testing.T) {
	n := 0
	for _, r := range elementwiseRows() {
		e, ok := r.c.Op.(*ops.Elementwise)
		if !ok {
			t.Fatalf("%s: op %T is not *ops.Elementwise", r.c.Name, r.c.Op)
		}
		n++
		t.Run(r.c.Name, func(t *testing.T) {
			t.Parallel()
			opstest.Run32(t, r.c, opstest.CPU32(e))
		})
	}
	// Neg through AddScalar, and ReLU.
	if want := 18; n != want {
		t.Errorf("float32 rows: %d, want %d", n, want)
	}
}

// recordTol bounds the difference between a value recorded on a tape and
// the row's reference: the same rounding budget as opstest.DefaultTol.
const recordTol = opstest.DefaultTol

// opID identifies an op value: its type and printed parameters (the name
// with parameters for elementwise ops, the fields for structural ones).
func opID(op tape.Op) string { return fmt.Sprintf("%T %v", op, op) }

// TestRecorded records every row through its ops function: the tape must
// hold the row's op on the given inputs with the reference value, and the
// same call on constants only must fold into a constant.
func TestRecorded(t *testing.T) {
	approx := cmpopts.EquateApprox(recordTol, recordTol)
	for _, r := range allRows() {
		t.Run(r.c.Name, func(t *testing.T) {
			vals := opstest.Inputs(r.c)
			want := r.c.Ref(clonesOf(vals))

			tp := tape.NewTape()
			vars := make([]*tape.Var, len(vals))
			for i, v := range vals {
				if r.c.Inputs[i].Const {
					vars[i] = tp.Const(v)
				} else {
					vars[i] = tp.Input(v)
				}
			}
			out := r.apply(vars)
			switch n := out.Node(); {
			case out.IsConst() || n == nil:
				t.Fatalf("%s recorded nothing (IsConst %v)", r.fn, out.IsConst())
			case opID(n.Op) != opID(r.c.Op):
				t.Errorf("%s recorded %s, want %s", r.fn, opID(n.Op), opID(r.c.Op))
			case !slices.Equal(n.In, vars):
				t.Errorf("%s recorded inputs %v, want the given values", r.fn, n.In)
			}
			if !tensor.SameShape(out.Shape(), r.c.Out) {
				t.Errorf("%s: shape %v, want %v", r.fn, out.Shape(), r.c.Out)
			}
			if diff := cmp.Diff(want, out.Value().Data(), approx); diff != "" {
				t.Errorf("%s: value mismatch (-want +got):\n%s", r.fn, diff)
			}

			ctp := tape.NewTape()
			for i, v := range vals {
				vars[i] = ctp.Const(v)
			}
			folded := r.apply(vars)
			if !folded.IsConst() || folded.Node() != nil {
				t.Errorf("%s on constants: IsConst %v, Node %v; want a folded constant", r.fn, folded.IsConst(), folded.Node())
			}
			if diff := cmp.Diff(want, folded.Value().Data(), approx); diff != "" {
				t.Errorf("%s on constants: value mismatch (-want +got):\n%s", r.fn, diff)
			}
		})
	}
}

func clonesOf(ts []*tensor.Tensor) [][]float64 {
	c := make([][]float64, len(ts))
	for i, t := range ts {
		c[i] = slices.Clone(t.Data())
	}
	return c
}

// TestConst checks Const, which records no op: it puts its tensor (not a
// copy) on the tape as a constant, and panics without a target tape.
func TestConst(t *testing.T) {
	tp := tape.NewTape()
	x := tp.Input(tensor.New([]int{2}, []float64{1, 2}))
	w := tensor.New([]int{2}, []float64{3, 4})
	c := ops.Const(x, w)
	if !c.IsConst() || c.Node() != nil || c.Tape() != tp || c.Value() != w {
		t.Errorf("Const: IsConst %v, Node %v, same tape %v, same tensor %v; want true, nil, true, true",
			c.IsConst(), c.Node(), c.Tape() == tp, c.Value() == w)
	}
	if y := ops.Mul(x, c); y.IsConst() {
		t.Errorf("Mul(input, Const) folded into a constant")
	}
	if y := ops.Exp(ops.Mul(c, c)); !y.IsConst() {
		t.Errorf("Exp(Mul(Const, Const)) was recorded, want a folded constant")
	}
	msg := panicMessage(func() { ops.Const(nil, w) })
	if !strings.HasPrefix(msg, "ops: ") {
		t.Errorf("Const(nil, t) panicked with %q, want a message starting with \"ops: \"", msg)
	}
}

// TestFunctionPanics checks the shape checks the ops functions make before
// any op sees the shapes.
func TestFunctionPanics(t *testing.T) {
	tp := tape.NewTape()
	m := tp.Input(tensor.Zeros(5, 2))
	s := tp.Input(tensor.Scalar(1))
	for _, tc := range []struct {
		name, reason string
		call         func()
	}{
		{"Split/sizes", "sizes must add up to axis 0", func() { ops.Split(m, 2, 2) }},
		{"Split/negative", "a negative size", func() { ops.Split(m, 6, -1) }},
		{"Split/rank-0", "a rank-0 value has no axis 0", func() { ops.Split(s, 1) }},
		{"Reshape/infer", "-1 cannot be inferred for 10 elements in [3 -1]", func() { ops.Reshape(m, 3, -1) }},
		{"Reshape/negative", "a dimension below -1", func() { ops.Reshape(m, -2, -5) }},
		{"Reshape/size", "10 elements into 12", func() { ops.Reshape(m, 3, 4) }},
		{"Slice/range", "rows past the end", func() { ops.Slice(m, 4, 6) }},
		{"MatMul/inner", "inner dimensions differ", func() { ops.MatMul(m, m) }},
		{"Add/shapes", "no broadcasting of a rank-1 operand", func() { ops.Add(m, tp.Input(tensor.Zeros(2))) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := panicMessage(tc.call)
			if !strings.HasPrefix(msg, "ops: ") {
				t.Errorf("%s: panicked with %q, want a message starting with \"ops: \"", tc.reason, msg)
			}
		})
	}
}

// panicMessage returns the string a call panics with, "" if it returns, and
// a description for a non-string panic value.
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			if s, ok := r.(string); ok {
				msg = s
			} else {
				msg = fmt.Sprintf("non-string panic %T: %v", r, r)
			}
		}
	}()
	f()
	return ""
}

// TestAlwaysSingular covers ops whose block is singular at every point, so
// that no regular Case exists: Inverse must report it, never divide by zero.
func TestAlwaysSingular(t *testing.T) {
	x := tensor.New([]int{3}, []float64{1, -2, 0.5})
	for _, tc := range []struct {
		name, reason string
		op           tape.Op
		in           []*tensor.Tensor
		p            int
	}{
		{"Scale(0)", "a zero scale has a zero derivative everywhere", ops.ScaleOp(0), []*tensor.Tensor{x}, 0},
		{"Mul/zero-scalar", "∂(a·b)/∂a = b with a rank-0 b = 0", ops.MulOp, []*tensor.Tensor{x, tensor.Scalar(0)}, 0},
		{"MatMul/zero-matrix", "∂(W·x)/∂x = W = 0", ops.MatMulOp, []*tensor.Tensor{tensor.Zeros(3, 3), x}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shapes := make([][]int, len(tc.in))
			for i, v := range tc.in {
				shapes[i] = v.Shape()
			}
			out := tensor.Zeros(tc.op.Shape(shapes)...)
			tc.op.Forward(out, tc.in)
			var f tape.Factor
			var err error
			msg := panicMessage(func() { f, err = tc.op.Inverse(tc.p, tc.in, out) })
			if msg != "" {
				t.Fatalf("Inverse(%d) panicked: %s", tc.p, msg)
			}
			var se *tape.SingularError
			if f != nil || !errors.Is(err, tape.ErrSingular) || !errors.As(err, &se) || se.Input != tc.p || se.Op != tc.op.Name() {
				t.Errorf("%s: Inverse(%d) = (%v, %v), want (nil, a *tape.SingularError of %s input %d)", tc.reason, tc.p, f, err, tc.op.Name(), tc.p)
			}
		})
	}
}

// TestRegistry fails if an exported function of package ops that records an
// op (it returns *tape.Var or []*tape.Var) has no conformance row, or if a
// row names a function that does not exist. Const is the exception: it puts
// a constant on the tape and records no op (TestConst covers it).
func TestRegistry(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var recorders []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || !fd.Name.IsExported() || fd.Type.Results == nil {
				continue
			}
			for _, res := range fd.Type.Results.List {
				if s := types.ExprString(res.Type); s == "*tape.Var" || s == "[]*tape.Var" {
					recorders = append(recorders, fd.Name.Name)
					break
				}
			}
		}
	}
	// The parse must see the package: these are certainly there.
	for _, must := range []string{"Exp", "MatMul", "Split", "Const"} {
		if !slices.Contains(recorders, must) {
			t.Fatalf("registry scan found %v, which lacks %s", recorders, must)
		}
	}
	covered := map[string]bool{}
	for _, r := range allRows() {
		covered[r.fn] = true
		if !slices.Contains(recorders, r.fn) {
			t.Errorf("row %s names %s, which is not an exported ops function returning *tape.Var", r.c.Name, r.fn)
		}
	}
	for _, fn := range recorders {
		if fn != "Const" && !covered[fn] {
			t.Errorf("ops.%s records an op but has no conformance row", fn)
		}
	}
}
