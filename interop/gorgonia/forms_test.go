package gorgonia

import (
	"errors"
	"fmt"
	"testing"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// TestForms pins the %T and String() forms of every Gorgonia op the
// importer recognizes, as Gorgonia v0.9.18 builds them, and checks that the
// importer accepts each node. A Gorgonia upgrade that renames an op type or
// changes a form makes this test fail, instead of the importer silently
// refusing (or misreading) the op.
func TestForms(t *testing.T) {
	g := G.NewGraph()
	mat := func(name string, r, c int) *G.Node {
		return G.NewMatrix(g, gt.Float64, G.WithShape(r, c), G.WithName(name), G.WithInit(G.Zeroes()))
	}
	vec := func(name string, n int) *G.Node {
		return G.NewVector(g, gt.Float64, G.WithShape(n), G.WithName(name), G.WithInit(G.Zeroes()))
	}
	x, w, v := mat("x", 2, 3), mat("w", 3, 3), vec("v", 3)
	b3 := G.NewTensor(g, gt.Float64, 3, G.WithShape(2, 3, 3), G.WithName("b3"), G.WithInit(G.Zeroes()))
	zero := G.NewConstant(0.0)
	must := G.Must
	cmp := func(f func(a, b *G.Node, retSame bool) (*G.Node, error)) *G.Node { return must(f(x, zero, true)) }
	// BroadcastAdd builds Reshape(1, 3), SizeOf=2, Repeat0 and +.
	repeat := children(g, must(G.BroadcastAdd(x, v, nil, []byte{0})))[1]
	size := children(g, repeat)[1]

	for _, tc := range []struct {
		name      string
		node      *G.Node
		typ, form string
		imported  bool   // the importer accepts it (else: ErrUnsupported)
		note      string // how it is imported, where that matters
	}{
		{"Sin", must(G.Sin(x)), typeUnary, "sin", true, ""},
		{"Cos", must(G.Cos(x)), typeUnary, "cos", true, ""},
		{"Exp", must(G.Exp(x)), typeUnary, "exp", true, ""},
		{"Log", must(G.Log(x)), typeUnary, "ln", true, ""},
		{"Log2", must(G.Log2(x)), typeUnary, "log2", true, ""},
		{"Neg", must(G.Neg(x)), typeUnary, "neg", true, ""},
		{"Square", must(G.Square(x)), typeUnary, "square", true, ""},
		{"Sqrt", must(G.Sqrt(x)), typeUnary, "sqrt", true, ""},
		{"Inverse", must(G.Inverse(x)), typeUnary, "inv", true, ""},
		{"InverseSqrt", must(G.InverseSqrt(x)), typeUnary, "invSqrt", true, ""},
		{"Cube", must(G.Cube(x)), typeUnary, "cube", true, ""},
		{"Tanh", must(G.Tanh(x)), typeUnary, "tanh", true, ""},
		{"Sigmoid", must(G.Sigmoid(x)), typeUnary, "sigmoid", true, ""},
		{"Log1p", must(G.Log1p(x)), typeUnary, "log1p", true, ""},
		{"Expm1", must(G.Expm1(x)), typeUnary, "expm1", true, ""},
		{"Softplus", must(G.Softplus(x)), typeUnary, "softplus", true, ""},
		{"Abs", must(G.Abs(x)), typeUnary, "abs", true, "of constants only; checked by Import"},
		{"Ceil", must(G.Ceil(x)), typeUnary, "ceil", true, "of constants only; checked by Import"},
		{"Floor", must(G.Floor(x)), typeUnary, "floor", true, "of constants only; checked by Import"},
		{"Sign", must(G.Sign(x)), typeUnary, "sign", false, ""},
		{"Add", must(G.Add(x, x)), typeBinary, "+ false", true, ""},
		{"Sub", must(G.Sub(x, x)), typeBinary, "- false", true, ""},
		{"HadamardProd", must(G.HadamardProd(x, x)), typeBinary, "⊙ false", true, ""},
		{"HadamardDiv", must(G.HadamardDiv(x, x)), typeBinary, "÷ false", true, ""},
		{"Pow", must(G.Pow(x, G.NewConstant(2.0))), typeBinary, "^ false", true, ""},
		{"Lt", cmp(G.Lt), typeBinary, "< true", true, ""},
		{"Gt", cmp(G.Gt), typeBinary, "> true", true, ""},
		{"Lte", cmp(G.Lte), typeBinary, "<= true", true, ""},
		{"Gte", cmp(G.Gte), typeBinary, ">= true", true, ""},
		{"Eq", cmp(G.Eq), typeBinary, "== true", true, ""},
		{"Ne", cmp(G.Ne), typeBinary, "!= true", true, ""},
		{"Gt/bool", must(G.Gt(x, zero, false)), typeBinary, "> false", false, ""},
		{"Mul/matrix", must(G.Mul(x, w)), typeLinAlg, "A × B", true, ""},
		{"Mul/matrix-vector", must(G.Mul(w, v)), typeLinAlg, "A × b", true, ""},
		{"Mul/vector-matrix", must(G.Mul(v, w)), typeLinAlg, "Aᵀ × b", true, ""},
		{"Mul/vectors", must(G.Mul(v, v)), typeLinAlg, "a ⋅ b", true, ""},
		{"OuterProd", must(G.OuterProd(v, v)), typeLinAlg, "a ⊗ b", true, ""},
		{"BatchedMatMul", must(G.BatchedMatMul(b3, b3)), typeLinAlg, "A ××× B", true, ""},
		{"BatchedMatMul/transB", must(G.BatchedMatMul(b3, b3, false, true)), typeLinAlg, "A ××× Bᵀ", true, ""},
		{"Reshape", must(G.Reshape(x, gt.Shape{3, 2})), typeReshape, "Reshape(3, 2)", true, ""},
		{"Sum", must(G.Sum(x)), typeSum, "Σ[0 1]", true, ""},
		{"Sum/axis", must(G.Sum(x, 1)), typeSum, "Σ[1]", true, ""},
		{"Slice/axis-1", must(G.Slice(x, nil, G.S(0, 2))), typeSlice, "T[:, 0:2:1...]", true, ""},
		{"Slice/index", must(G.Slice(x, G.S(1))), typeSlice, "T[1:2:0...]", true, ""},
		{"Slice/all", must(G.Slice(x, nil)), typeSlice, "T[:...]", true, ""},
		{"Concat", must(G.Concat(1, x, x)), typeConcat, "Concat(axis=1)", true, ""},
		{"Transpose", must(G.Transpose(x)), typeTranspose, "Aᵀ{1, 0}", true, ""},
		{"Broadcast/repeat", repeat, typeRepeat, "Repeat0", true, ""},
		{"Broadcast/size", size, typeSize, "SizeOf=2", true, ""},
		{"SizeOf", must(G.SizeOf(1, x)), typeSize, "SizeOf=3", true, ""},
		{"NewConstant/scalar", G.NewConstant(2.5), typeConstScalar, "const 2.5", true, ""},
		{"At", must(G.At(x, 1, 2)), typeAt, "At([1 2])", false, ""},
		{"Max", must(G.Max(x, 1)), "*gorgonia.maxOp", "MaxAlong[1]", false, ""},
		{"SoftMax", must(G.SoftMax(x)), "*gorgonia.softmaxOp", "Softmax{-1, false}()", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := tc.node.Op()
			if op == nil {
				t.Fatalf("node %q has no op", tc.node.Name())
			}
			if got := fmt.Sprintf("%T", op); got != tc.typ {
				t.Errorf("%%T = %q, want %q", got, tc.typ)
			}
			if got := fmt.Sprint(op); got != tc.form {
				t.Errorf("String() = %q, want %q", got, tc.form)
			}
			_, err := identify(g, tc.node)
			switch {
			case tc.imported && err != nil:
				t.Errorf("identify: %v, want a rule", err)
			case !tc.imported && !errors.Is(err, ErrUnsupported):
				t.Errorf("identify: %v, want ErrUnsupported", err)
			}
		})
	}
	// A constant tensor, whose form names its type.
	ct := G.NewConstant(gt.New(gt.WithShape(2), gt.WithBacking([]float64{1, 2})))
	if typ, form := typeOf(ct.Op()), formOf(ct.Op()); typ != typeConstTensor || form != "const Vector float64" {
		t.Errorf("constant tensor: %q %q, want %q %q", typ, form, typeConstTensor, "const Vector float64")
	}
}
