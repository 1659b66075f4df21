package gorgonia

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	G "gorgonia.org/gorgonia"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Gorgonia's op types are unexported. An op is identified by its Go type as
// %T prints it and by its String() form; forms_test.go pins both for every
// op below, so that a Gorgonia upgrade that renames a type or changes a form
// fails the tests instead of importing something else.
const (
	typeUnary       = "gorgonia.elemUnaryOp"    // "tanh", "ln", "inv", ...
	typeBinary      = "gorgonia.elemBinOp"      // "+ false", "⊙ false", ">= true", ...
	typeLinAlg      = "gorgonia.linAlgBinOp"    // "A × B", "Aᵀ × b", "a ⋅ b", "a ⊗ b", "A ××× B"
	typeReshape     = "gorgonia.reshapeOp"      // "Reshape(3, 2)"
	typeSum         = "gorgonia.sumOp"          // "Σ[0 1]"
	typeSlice       = "*gorgonia.sliceOp"       // "T[:, 0:2:1...]", "T[:...]"
	typeConcat      = "gorgonia.concatOp"       // "Concat(axis=1)"
	typeTranspose   = "gorgonia.transposeOp"    // "Aᵀ{1, 0}"
	typeRepeat      = "*gorgonia.repeatOp"      // "Repeat0" (from the Broadcast* functions)
	typeSize        = "gorgonia.sizeOp"         // "SizeOf=3", "SizeOf(1)"
	typeAt          = "gorgonia.atOp"           // "At([1 2])", refused
	typeConstScalar = "gorgonia.constantScalar" // "const 2"
	typeConstTensor = "gorgonia.constantTensor" // "const Matrix float64"
)

// rule is how one node is imported.
type rule struct {
	// deps are the nodes whose values the node's program reads, in the order
	// run receives them. They are the node's children, except where a
	// pattern replaces a group of nodes (ReLU) or an operand is only a shape
	// (the size operand of a repeat).
	deps []*G.Node
	// as names the invad program, for Program.Ops.
	as string
	// leaf: the node's own value is bound (a variable or a constant).
	leaf bool
	// check, if set, is called once it is known which nodes vary; it returns
	// why the node cannot be imported, or "".
	check func(vary func(*G.Node) bool) string
	// run builds the node's value from its deps' values.
	run func(c *call, in []*tape.Var) *tape.Var
}

// call is one run of an imported program.
type call struct {
	tp *tape.Tape
	// dry: Import's check on a shape tape. A comparison of varying values
	// then gives a zero mask instead of panicking.
	dry bool
	// bound, for a function of several inputs (Program.Func): per step,
	// the value of a leaf made an input (nil for the others); nil for F.
	bound []*tape.Var
	// live, for Program.Func: per step, whether it depends on the input or
	// a leaf made an input; nil for F. step is the step running.
	live []bool
	step int
}

func (c *call) konst(t *tensor.Tensor) *tape.Var { return c.tp.Const(t) }

// inGo reports whether the structural ops of the running step move v's
// elements in Go, into one new constant, rather than by invad ops: when v
// is a constant, except in a step of Func's that depends on an input.
// Such a step records the same ops whichever of its inputs a caller
// passes as constants (inverse.LinearizeArg does): ops on constants fold
// into constants value by value, so every recording creates the same
// values in the same order, which inverse.LogAbsDetGrad relies on.
func (c *call) inGo(v *tape.Var) bool {
	return v.IsConst() && (c.live == nil || !c.live[c.step])
}

// children returns n's operands in order, through g.From.
func children(g *G.ExprGraph, n *G.Node) []*G.Node {
	var out []*G.Node
	it := g.From(n.ID())
	for it != nil && it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}

func unsupported(n *G.Node, format string, args ...any) *NodeError {
	return nodeError(n, ErrUnsupported, fmt.Sprintf(format, args...))
}

// leafRule binds the node's current value as a constant, read at every call.
func leafRule(n *G.Node) rule {
	return rule{as: "constant", leaf: true, run: func(c *call, _ []*tape.Var) *tape.Var {
		t, err := ValueOf(n)
		if err != nil {
			panic(err.Error())
		}
		return c.konst(t)
	}}
}

// identify returns the rule for an op node.
func identify(g *G.ExprGraph, n *G.Node) (rule, *NodeError) {
	op := n.Op()
	if op == nil {
		return leafRule(n), nil
	}
	kids := children(g, n)
	typ, form := typeOf(op), formOf(op)
	shape := shapeOf(n)
	switch typ {
	case typeConstScalar, typeConstTensor:
		return leafRule(n), nil
	case typeUnary:
		return unaryRule(n, form, kids)
	case typeBinary:
		return binaryRule(g, n, form, kids, shape)
	case typeLinAlg:
		return linAlgRule(n, form, kids, shape)
	case typeReshape:
		if !strings.HasPrefix(form, "Reshape") || len(kids) != 1 {
			break
		}
		return rule{deps: kids, as: "reshape", run: func(c *call, in []*tape.Var) *tape.Var {
			return reshapeTo(in[0], shape)
		}}, nil
	case typeSum:
		return sumRule(n, form, kids, shape)
	case typeSlice:
		return sliceRule(n, form, kids, shape)
	case typeConcat:
		return concatRule(n, form, kids, shape)
	case typeTranspose:
		return transposeRule(n, form, kids, shape)
	case typeRepeat:
		return repeatRule(n, form, kids, shape)
	case typeSize:
		return sizeRule(n, form, kids, shape)
	case typeAt:
		// The documentation says At picks one element, but v0.9.18's
		// TapeMachine passes the whole operand through (TestAtNotImported).
		return rule{}, unsupported(n, "Gorgonia's TapeMachine does not compute At as documented (it passes the whole operand through); importing the documented meaning would silently differ from Gorgonia's results")
	default:
		return rule{}, unsupported(n, "no invad counterpart for this op")
	}
	return rule{}, unsupported(n, "unrecognized form of a known op type")
}

// The elementwise unary ops with an invad counterpart.
var unaryOps = map[string]struct {
	as string
	f  func(*tape.Var) *tape.Var
}{
	"sin":      {"sin", ops.Sin},
	"cos":      {"cos", ops.Cos},
	"exp":      {"exp", ops.Exp},
	"ln":       {"log", ops.Log},
	"log2":     {"scale(1/ln 2)∘log", func(v *tape.Var) *tape.Var { return ops.Scale(ops.Log(v), 1/math.Ln2) }},
	"neg":      {"neg", ops.Neg},
	"square":   {"square", ops.Square},
	"sqrt":     {"sqrt", ops.Sqrt},
	"inv":      {"recip", ops.Recip},
	"invSqrt":  {"recip∘sqrt", func(v *tape.Var) *tape.Var { return ops.Recip(ops.Sqrt(v)) }},
	"cube":     {"cube", ops.Cube},
	"tanh":     {"tanh", ops.Tanh},
	"sigmoid":  {"sigmoid", ops.Sigmoid},
	"log1p":    {"log1p", ops.Log1p},
	"expm1":    {"expm1", ops.Expm1},
	"softplus": {"softplus", ops.Softplus},
}

// Unary ops imported only where their operand is constant: they are not
// differentiable (|x| at 0) and invad has no op for them.
var constUnaryOps = map[string]func(float64) float64{
	"abs":   math.Abs,
	"ceil":  math.Ceil,
	"floor": math.Floor,
}

func unaryRule(n *G.Node, form string, kids []*G.Node) (rule, *NodeError) {
	if len(kids) != 1 {
		return rule{}, unsupported(n, "%d operands, want 1", len(kids))
	}
	if u, ok := unaryOps[form]; ok {
		return rule{deps: kids, as: u.as, run: func(c *call, in []*tape.Var) *tape.Var { return u.f(in[0]) }}, nil
	}
	if f, ok := constUnaryOps[form]; ok {
		return rule{deps: kids, as: form + " of a constant",
			check: func(vary func(*G.Node) bool) string {
				if vary(kids[0]) {
					return form + " of a value that depends on the input: invad has no such op, and it is not differentiable everywhere"
				}
				return ""
			},
			run: func(c *call, in []*tape.Var) *tape.Var { return mapConst(c, in[0], f) }}, nil
	}
	return rule{}, unsupported(n, "no invad counterpart for this elementwise op")
}

// mapConst applies f to every element of a constant.
func mapConst(c *call, v *tape.Var, f func(float64) float64) *tape.Var {
	d := v.Value().Data()
	out := make([]float64, len(d))
	for i, x := range d {
		out[i] = f(x)
	}
	return c.konst(tensor.New(v.Shape(), out))
}

// constScalar returns the value of a Gorgonia constant scalar node.
func constScalar(n *G.Node) (float64, bool) {
	if n.Op() == nil || typeOf(n.Op()) != typeConstScalar {
		return 0, false
	}
	switch v := n.Value().(type) {
	case *G.F64:
		return float64(*v), true
	case *G.F32:
		return float64(*v), true
	}
	return 0, false
}

// splitBinary splits an elemBinOp form "⊙ false" into its operator and
// retSame flag.
func splitBinary(form string) (sym string, retSame, ok bool) {
	sym, flag, ok := strings.Cut(form, " ")
	if !ok || (flag != "true" && flag != "false") {
		return "", false, false
	}
	return sym, flag == "true", true
}

// binaryOf returns the operator and operands of an elementwise binary node.
func binaryOf(g *G.ExprGraph, n *G.Node) (sym string, retSame bool, kids []*G.Node, ok bool) {
	if n.Op() == nil || typeOf(n.Op()) != typeBinary {
		return "", false, nil, false
	}
	sym, retSame, ok = splitBinary(formOf(n.Op()))
	kids = children(g, n)
	return sym, retSame, kids, ok && len(kids) == 2
}

// maskProduct recognizes a ⊙ (a cmp 0) (either order), where the
// comparison returns a numeric mask: Gorgonia's Rectify builds a ⊙ (a ≥ 0),
// LeakyRelu adds a ⊙ (a < 0).
func maskProduct(g *G.ExprGraph, n *G.Node) (a *G.Node, cmp string, ok bool) {
	sym, _, kids, ok := binaryOf(g, n)
	if !ok || sym != "⊙" {
		return nil, "", false
	}
	for i := 0; i < 2; i++ {
		a, m := kids[i], kids[1-i]
		csym, same, mk, ok := binaryOf(g, m)
		if !ok || !same || mk[0] != a {
			continue
		}
		if z, ok := constScalar(mk[1]); ok && z == 0 {
			return a, csym, true
		}
	}
	return nil, "", false
}

// relu is max(a, 0) with derivative 1 at 0, exactly a ⊙ (a ≥ 0).
func relu(a *tape.Var) *tape.Var { return ops.LeakyReLU(a, 0) }

// leakyOf recognizes Gorgonia's LeakyRelu: (a ⊙ (a ≥ 0)) + ((a ⊙ (a < 0)) ⊙ α).
func leakyOf(g *G.ExprGraph, n *G.Node) (a *G.Node, alpha float64, ok bool) {
	sym, _, kids, ok := binaryOf(g, n)
	if !ok || sym != "+" {
		return nil, 0, false
	}
	a, cmp, ok := maskProduct(g, kids[0])
	if !ok || cmp != ">=" {
		return nil, 0, false
	}
	sym, _, qk, ok := binaryOf(g, kids[1])
	if !ok || sym != "⊙" {
		return nil, 0, false
	}
	for i := 0; i < 2; i++ {
		alpha, ok := constScalar(qk[1-i])
		if !ok {
			continue
		}
		if a2, cmp, ok := maskProduct(g, qk[i]); ok && a2 == a && cmp == "<" {
			return a, alpha, true
		}
	}
	return nil, 0, false
}

// The comparisons, as masks of 1 and 0.
var comparisons = map[string]func(a, b float64) bool{
	"<":  func(a, b float64) bool { return a < b },
	">":  func(a, b float64) bool { return a > b },
	"<=": func(a, b float64) bool { return a <= b },
	">=": func(a, b float64) bool { return a >= b },
	"==": func(a, b float64) bool { return a == b },
	"!=": func(a, b float64) bool { return a != b },
}

// The arithmetic ops; each operand has the output's number of elements or
// one element (broadcast as a rank-0 value).
var arithmetic = map[string]struct {
	as string
	f  func(a, b *tape.Var) *tape.Var
}{
	"+": {"add", ops.Add},
	"-": {"sub", ops.Sub},
	"⊙": {"mul", ops.Mul},
	"÷": {"div", ops.Div},
}

// The constant exponents of Pow that have an invad op.
var powers = map[float64]struct {
	as string
	f  func(*tape.Var) *tape.Var
}{
	-1:  {"recip", ops.Recip},
	0.5: {"sqrt", ops.Sqrt},
	1:   {"identity", func(v *tape.Var) *tape.Var { return v }},
	2:   {"square", ops.Square},
	3:   {"cube", ops.Cube},
}

func binaryRule(g *G.ExprGraph, n *G.Node, form string, kids []*G.Node, shape []int) (rule, *NodeError) {
	sym, retSame, ok := splitBinary(form)
	if !ok || len(kids) != 2 {
		return rule{}, unsupported(n, "unrecognized form of a known op type")
	}
	if a, alpha, ok := leakyOf(g, n); ok {
		return rule{deps: []*G.Node{a}, as: fmt.Sprintf("leaky_relu(%g) (Gorgonia's LeakyRelu pattern)", alpha),
			run: func(c *call, in []*tape.Var) *tape.Var { return reshapeTo(ops.LeakyReLU(in[0], alpha), shape) }}, nil
	}
	if a, cmp, ok := maskProduct(g, n); ok && (cmp == ">=" || cmp == "<") {
		if cmp == ">=" {
			return rule{deps: []*G.Node{a}, as: "leaky_relu(0) (Gorgonia's Rectify pattern a ⊙ (a ≥ 0))",
				run: func(c *call, in []*tape.Var) *tape.Var { return reshapeTo(relu(in[0]), shape) }}, nil
		}
		// a ⊙ (a < 0) = a − relu(a), with the same derivative at 0 (zero).
		return rule{deps: []*G.Node{a}, as: "sub(a, leaky_relu(0)(a)) (the pattern a ⊙ (a < 0))",
			run: func(c *call, in []*tape.Var) *tape.Var { return reshapeTo(ops.Sub(in[0], relu(in[0])), shape) }}, nil
	}
	if ar, ok := arithmetic[sym]; ok {
		return rule{deps: kids, as: ar.as, run: func(c *call, in []*tape.Var) *tape.Var {
			a, b := broadcast(in[0], in[1], shape)
			return reshapeTo(ar.f(a, b), shape)
		}}, nil
	}
	if sym == "^" {
		return powRule(n, kids, shape)
	}
	cmp, ok := comparisons[sym]
	if !ok {
		return rule{}, unsupported(n, "no invad counterpart for this elementwise op")
	}
	if !retSame {
		return rule{}, unsupported(n, "a comparison that returns booleans (retSame false); only numeric masks (retSame true) are imported")
	}
	return rule{deps: kids, as: "constant mask " + sym + " (derivative zero; reads the operands' values)",
		run: func(c *call, in []*tape.Var) *tape.Var {
			a, b := in[0].Value(), in[1].Value()
			if a == nil || b == nil {
				if c.dry {
					return c.konst(tensor.Zeros(shape...))
				}
				panic(&ValueDependentError{ID: n.ID(), Name: n.Name(), Form: form})
			}
			ad, bd := a.Data(), b.Data()
			out := make([]float64, tensor.SizeOf(shape))
			if (len(ad) != len(out) && len(ad) != 1) || (len(bd) != len(out) && len(bd) != 1) {
				panic(fmt.Sprintf("gorgonia: operands of %d and %d elements do not broadcast to shape %v", len(ad), len(bd), shape))
			}
			for i := range out {
				if cmp(ad[min(i, len(ad)-1)], bd[min(i, len(bd)-1)]) {
					out[i] = 1
				}
			}
			return c.konst(tensor.New(shape, out))
		}}, nil
}

func powRule(n *G.Node, kids []*G.Node, shape []int) (rule, *NodeError) {
	p, isConst := constScalar(kids[1])
	pw, known := powers[p]
	r := rule{deps: kids}
	if isConst && known {
		r.deps = kids[:1]
		r.as = pw.as + fmt.Sprintf(" (x^%g)", p)
		r.run = func(c *call, in []*tape.Var) *tape.Var { return reshapeTo(pw.f(in[0]), shape) }
		return r, nil
	}
	r.as = "pow of constants"
	r.check = func(vary func(*G.Node) bool) string {
		if vary(kids[0]) || vary(kids[1]) {
			return "a power of a value that depends on the input is imported only for the constant exponents -1, 0.5, 1, 2 and 3 (gorgonia.NewConstant)"
		}
		return ""
	}
	r.run = func(c *call, in []*tape.Var) *tape.Var {
		a, b := in[0].Value().Data(), in[1].Value().Data()
		out := make([]float64, tensor.SizeOf(shape))
		for i := range out {
			out[i] = math.Pow(a[min(i, len(a)-1)], b[min(i, len(b)-1)])
		}
		return c.konst(tensor.New(shape, out))
	}
	return r, nil
}

// broadcast gives two operands the shape of the result, or rank 0 where
// they have one element (invad broadcasts rank-0 operands only).
func broadcast(a, b *tape.Var, shape []int) (*tape.Var, *tape.Var) {
	n := tensor.SizeOf(shape)
	fit := func(v *tape.Var) *tape.Var {
		switch v.Len() {
		case n:
			return reshapeTo(v, shape)
		case 1:
			return reshapeTo(v, []int{})
		}
		panic(fmt.Sprintf("gorgonia: an operand of shape %v does not broadcast to shape %v", v.Shape(), shape))
	}
	return fit(a), fit(b)
}

// transpose2D transposes an r×c matrix: a constant in Go, a varying value
// by ops.Transpose.
func transpose2D(c *call, v *tape.Var) *tape.Var { return permute(c, v, 1, 0) }

// permute reorders v's axes (output axis i is axis perm[i] of v): a
// constant in Go, a varying value by ops.Permute.
func permute(c *call, v *tape.Var, perm ...int) *tape.Var {
	if c.inGo(v) {
		out, src := transposeSrc(v.Shape(), perm)
		return gather(c, v, src, out)
	}
	return ops.Permute(v, perm...)
}

// mat returns v as a 2-D value, transposed if t.
func mat(c *call, v *tape.Var, t bool) *tape.Var {
	if len(v.Shape()) != 2 {
		panic(fmt.Sprintf("gorgonia: a matrix operand has shape %v", v.Shape()))
	}
	if t {
		return transpose2D(c, v)
	}
	return v
}

// vec returns v as a 1-D value.
func vec(v *tape.Var) *tape.Var { return reshapeTo(v, []int{v.Len()}) }

func linAlgRule(n *G.Node, form string, kids []*G.Node, shape []int) (rule, *NodeError) {
	if len(kids) != 2 {
		return rule{}, unsupported(n, "%d operands, want 2", len(kids))
	}
	mk := func(as string, f func(c *call, a, b *tape.Var) *tape.Var) (rule, *NodeError) {
		return rule{deps: kids, as: as, run: func(c *call, in []*tape.Var) *tape.Var {
			return reshapeTo(f(c, in[0], in[1]), shape)
		}}, nil
	}
	switch form {
	case "A × B", "Aᵀ × B", "A × Bᵀ", "Aᵀ × Bᵀ":
		ta, tb := strings.HasPrefix(form, "Aᵀ"), strings.HasSuffix(form, "Bᵀ")
		as := "matmul"
		if ta || tb {
			as = "matmul of transposed operands (a permute of each transposed one)"
		}
		return mk(as, func(c *call, a, b *tape.Var) *tape.Var { return ops.MatMul(mat(c, a, ta), mat(c, b, tb)) })
	case "A × b":
		return mk("matmul (matrix × vector)", func(c *call, a, b *tape.Var) *tape.Var { return ops.MatMul(mat(c, a, false), vec(b)) })
	case "Aᵀ × b":
		// Aᵀb = (bᵀA)ᵀ, and a 1×m result needs no transpose.
		return mk("matmul bᵀA (Aᵀb without a transpose)", func(c *call, a, b *tape.Var) *tape.Var {
			return ops.MatMul(reshapeTo(b, []int{1, b.Len()}), mat(c, a, false))
		})
	case "a ⋅ b":
		return mk("matmul 1×k by k (a dot product)", func(_ *call, a, b *tape.Var) *tape.Var {
			return ops.MatMul(reshapeTo(a, []int{1, a.Len()}), vec(b))
		})
	case "a ⊗ b":
		return mk("matmul m×1 by 1×n (an outer product)", func(_ *call, a, b *tape.Var) *tape.Var {
			return ops.MatMul(reshapeTo(a, []int{a.Len(), 1}), reshapeTo(b, []int{1, b.Len()}))
		})
	case "A ××× B", "Aᵀ ××× B", "A ××× Bᵀ", "Aᵀ ××× Bᵀ":
		ta, tb := strings.HasPrefix(form, "Aᵀ"), strings.HasSuffix(form, "Bᵀ")
		return mk("batch_matmul", func(c *call, a, b *tape.Var) *tape.Var { return batched(c, a, b, ta, tb) })
	}
	return rule{}, unsupported(n, "unrecognized form of a known op type")
}

// batched multiplies the matrices of a [..., r, c] by those of b, each
// transposed first where ta or tb say, by one BatchMatMul.
func batched(c *call, a, b *tape.Var, ta, tb bool) *tape.Var {
	as, bs := a.Shape(), b.Shape()
	if len(as) < 2 || len(bs) < 2 {
		panic(fmt.Sprintf("gorgonia: batched matmul of shapes %v and %v", as, bs))
	}
	ar, ac := as[len(as)-2], as[len(as)-1]
	br, bc := bs[len(bs)-2], bs[len(bs)-1]
	nb := tensor.SizeOf(as[:len(as)-2])
	if tensor.SizeOf(bs[:len(bs)-2]) != nb {
		panic(fmt.Sprintf("gorgonia: batched matmul of shapes %v and %v", as, bs))
	}
	a3, b3 := reshapeTo(a, []int{nb, ar, ac}), reshapeTo(b, []int{nb, br, bc})
	if ta {
		a3 = permute(c, a3, 0, 2, 1)
	}
	if tb {
		b3 = permute(c, b3, 0, 2, 1)
	}
	return ops.BatchMatMul(a3, b3)
}

// parseInts parses "[0 1]" or "0, 1" into ints.
func parseInts(s string) ([]int, bool) {
	s = strings.Trim(s, "[]")
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
	out := make([]int, len(f))
	for i, x := range f {
		v, err := strconv.Atoi(x)
		if err != nil {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

func sumRule(n *G.Node, form string, kids []*G.Node, shape []int) (rule, *NodeError) {
	axes, ok := parseInts(strings.TrimPrefix(form, "Σ"))
	if !strings.HasPrefix(form, "Σ") || !ok || len(kids) != 1 {
		return rule{}, unsupported(n, "unrecognized form of a known op type")
	}
	axes = slices.Clone(axes)
	slices.Sort(axes)
	axes = slices.Compact(axes)
	dims := len(kids[0].Shape())
	for _, ax := range axes {
		if ax < 0 || ax >= dims {
			return rule{}, unsupported(n, "axis %d of a %d-D operand", ax, dims)
		}
	}
	if len(axes) == dims {
		return rule{deps: kids, as: "sum", run: func(c *call, in []*tape.Var) *tape.Var {
			return reshapeTo(ops.Sum(in[0]), shape)
		}}, nil
	}
	return rule{deps: kids, as: fmt.Sprintf("sum_axis along axes %v", axes), run: func(c *call, in []*tape.Var) *tape.Var {
		v := reshapeTo(in[0], shapeOf(kids[0]))
		for i := len(axes) - 1; i >= 0; i-- {
			v = ops.SumAxis(v, axes[i])
		}
		return reshapeTo(v, shape)
	}}, nil
}

func sliceRule(n *G.Node, form string, kids []*G.Node, shape []int) (rule, *NodeError) {
	body, ok := strings.CutPrefix(form, "T[")
	body, ok2 := strings.CutSuffix(body, "...]")
	if !ok || !ok2 || len(kids) != 1 {
		return rule{}, unsupported(n, "unrecognized form of a known op type")
	}
	axis := strings.Count(body, ":, ")
	body = strings.ReplaceAll(body, ":, ", "")
	if body == ":" {
		return rule{deps: kids, as: "reshape (a slice of everything)", run: func(c *call, in []*tape.Var) *tape.Var {
			return reshapeTo(in[0], shape)
		}}, nil
	}
	p := strings.Split(body, ":")
	if len(p) != 3 {
		return rule{}, unsupported(n, "unrecognized form of a known op type")
	}
	var se [3]int
	for i, s := range p {
		v, err := strconv.Atoi(s)
		if err != nil {
			return rule{}, unsupported(n, "unrecognized form of a known op type")
		}
		se[i] = v
	}
	start, end, step := se[0], se[1], se[2]
	if step == 0 && end == start+1 { // gorgonia.S(i) has step 0
		step = 1
	}
	in := shapeOf(kids[0])
	if axis >= len(in) || start < 0 || end > in[axis] || start >= end || step < 1 {
		return rule{}, unsupported(n, "slice %d:%d:%d along axis %d of shape %v", start, end, step, axis, in)
	}
	if step == 1 || end == start+1 {
		return rule{deps: kids, as: fmt.Sprintf("slice_axis (%d:%d along axis %d)", start, end, axis),
			run: func(c *call, v []*tape.Var) *tape.Var {
				return reshapeTo(ops.SliceAxis(reshapeTo(v[0], in), axis, start, end), shape)
			}}, nil
	}
	return rule{deps: kids, as: fmt.Sprintf("gather (slice %d:%d:%d along axis %d)", start, end, step, axis),
		run: func(c *call, v []*tape.Var) *tape.Var {
			_, src := sliceSrc(v[0].Shape(), axis, start, end, step)
			return gather(c, v[0], src, shape)
		}}, nil
}

func concatRule(n *G.Node, form string, kids []*G.Node, shape []int) (rule, *NodeError) {
	var axis int
	if _, err := fmt.Sscanf(form, "Concat(axis=%d)", &axis); err != nil || len(kids) == 0 {
		return rule{}, unsupported(n, "unrecognized form of a known op type")
	}
	for _, k := range kids {
		if axis < 0 || axis >= len(shapeOf(k)) {
			return rule{}, unsupported(n, "concatenation along axis %d of an operand of shape %v", axis, shapeOf(k))
		}
	}
	return rule{deps: kids, as: fmt.Sprintf("concat_axis (along axis %d)", axis),
		run: func(c *call, in []*tape.Var) *tape.Var {
			return reshapeTo(ops.ConcatAxis(axis, in...), shape)
		}}, nil
}

func transposeRule(n *G.Node, form string, kids []*G.Node, shape []int) (rule, *NodeError) {
	body, ok := strings.CutPrefix(form, "Aᵀ{")
	body, ok2 := strings.CutSuffix(body, "}")
	perm, ok3 := parseInts(body)
	if !ok || !ok2 || !ok3 || len(kids) != 1 || len(perm) != len(kids[0].Shape()) {
		return rule{}, unsupported(n, "unrecognized form of a known op type")
	}
	return rule{deps: kids, as: fmt.Sprintf("permute %v", perm), run: func(c *call, in []*tape.Var) *tape.Var {
		if c.inGo(in[0]) { // computed in Go: a constant stays one
			_, src := transposeSrc(in[0].Shape(), perm)
			return gather(c, in[0], src, shape)
		}
		return reshapeTo(ops.Permute(in[0], perm...), shape)
	}}, nil
}

func repeatRule(n *G.Node, form string, kids []*G.Node, shape []int) (rule, *NodeError) {
	var axis int
	if _, err := fmt.Sscanf(form, "Repeat%d", &axis); err != nil || len(kids) != 2 {
		return rule{}, unsupported(n, "unrecognized form of a known op type")
	}
	// The operand's shape as repeatOp.InferShape extends it.
	in := shapeOf(kids[0])
	switch {
	case len(in) == 0:
		in = []int{1}
	case len(in) == 1 && axis >= 1:
		for len(in) <= axis {
			in = append(in, 1)
		}
	}
	if axis >= len(in) || len(shape) != len(in) || in[axis] == 0 || shape[axis]%in[axis] != 0 {
		return rule{}, unsupported(n, "repeat along axis %d of shape %v into %v", axis, shapeOf(kids[0]), shape)
	}
	rep := shape[axis] / in[axis]
	return rule{deps: kids[:1], as: fmt.Sprintf("gather (repeat ×%d along axis %d)", rep, axis),
		run: func(c *call, v []*tape.Var) *tape.Var {
			_, src := repeatSrc(in, axis, rep)
			return gather(c, reshapeTo(v[0], in), src, shape)
		}}, nil
}

func sizeRule(n *G.Node, form string, kids []*G.Node, shape []int) (rule, *NodeError) {
	var size, axis int
	if _, err := fmt.Sscanf(form, "SizeOf=%d", &size); err != nil {
		if _, err := fmt.Sscanf(form, "SizeOf(%d)", &axis); err != nil || len(kids) != 1 {
			return rule{}, unsupported(n, "unrecognized form of a known op type")
		}
		in := kids[0].Shape()
		if len(in) == 0 {
			size = 1
		} else if axis < len(in) {
			size = in[axis]
		} else {
			return rule{}, unsupported(n, "size of axis %d of shape %v", axis, in)
		}
	}
	return rule{as: fmt.Sprintf("constant %d (a size)", size), run: func(c *call, _ []*tape.Var) *tape.Var {
		t := tensor.Zeros(shape...)
		t.Fill(float64(size))
		return c.konst(t)
	}}, nil
}
