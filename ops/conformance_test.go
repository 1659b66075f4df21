package ops_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
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

// TestConformance runs the suite on every row.
func TestConformance(t *testing.T) {
	for _, r := range opstest.Rows() {
		t.Run(r.Case.Name, func(t *testing.T) {
			t.Parallel()
			opstest.Run(t, r.Case)
		})
	}
}

// TestSecondOrder runs the second-order checks on every row: each op must
// be a tape.SecondOrder whose SecondVJP matches central differences of its
// JVP.
func TestSecondOrder(t *testing.T) {
	for _, r := range opstest.Rows() {
		t.Run(r.Case.Name, func(t *testing.T) {
			t.Parallel()
			opstest.RunSecondOrder(t, r.Case)
		})
	}
}

// TestFloat32 runs the float32 checks on every elementwise row.
func TestFloat32(t *testing.T) {
	n := 0
	for _, r := range opstest.ElementwiseRows() {
		e, ok := r.Case.Op.(*ops.Elementwise)
		if !ok {
			t.Fatalf("%s: op %T is not *ops.Elementwise", r.Case.Name, r.Case.Op)
		}
		n++
		t.Run(r.Case.Name, func(t *testing.T) {
			t.Parallel()
			opstest.Run32(t, r.Case, opstest.CPU32(e))
		})
	}
	// One row per declared op, and ReLU (LeakyReLU with alpha 0).
	if want := len(ops.UnaryDecls()) + 1; n != want {
		t.Errorf("float32 rows: %d, want %d", n, want)
	}
}

// TestOp32 fails if an op type of package ops lacks its float32 rules: every
// row's op must be a tape.Op32 (TestConformance then checks those rules
// against the float64 ones, the checks named "32/..."), and every type of
// the package with a JVP method must have JVP32 and VJP32, a row or not.
func TestOp32(t *testing.T) {
	for _, r := range opstest.Rows() {
		if _, ok := r.Case.Op.(tape.Op32); !ok {
			t.Errorf("row %s: op %T is not a tape.Op32", r.Case.Name, r.Case.Op)
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	methods := map[string]map[string]bool{} // receiver type → method names
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
			if !ok || fd.Recv == nil || len(fd.Recv.List) != 1 {
				continue
			}
			recv := strings.TrimPrefix(types.ExprString(fd.Recv.List[0].Type), "*")
			if methods[recv] == nil {
				methods[recv] = map[string]bool{}
			}
			methods[recv][fd.Name.Name] = true
		}
	}
	var ops []string
	for recv, m := range methods {
		if !m["JVP"] {
			continue
		}
		ops = append(ops, recv)
		if !m["JVP32"] || !m["VJP32"] {
			t.Errorf("op type %s has JVP but not JVP32 and VJP32 (tape.Op32)", recv)
		}
	}
	// The scan must see the package: these are certainly there.
	for _, must := range []string{"Elementwise", "Binary", "matMul", "SumAxisOp"} {
		if !slices.Contains(ops, must) {
			t.Fatalf("scan found op types %v, which lack %s", ops, must)
		}
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
	for _, r := range opstest.Rows() {
		t.Run(r.Case.Name, func(t *testing.T) {
			vals := opstest.Inputs(r.Case)
			want := r.Case.Ref(clonesOf(vals))

			tp := tape.NewTape()
			vars := make([]*tape.Var, len(vals))
			for i, v := range vals {
				if r.Case.Inputs[i].Const {
					vars[i] = tp.Const(v)
				} else {
					vars[i] = tp.Input(v)
				}
			}
			out := r.Apply(vars)
			switch n := out.Node(); {
			case out.IsConst() || n == nil:
				t.Fatalf("%s recorded nothing (IsConst %v)", r.Fn, out.IsConst())
			case opID(n.Op) != opID(r.Case.Op):
				t.Errorf("%s recorded %s, want %s", r.Fn, opID(n.Op), opID(r.Case.Op))
			case !slices.Equal(n.In, vars):
				t.Errorf("%s recorded inputs %v, want the given values", r.Fn, n.In)
			}
			if !tensor.SameShape(out.Shape(), r.Case.Out) {
				t.Errorf("%s: shape %v, want %v", r.Fn, out.Shape(), r.Case.Out)
			}
			if diff := cmp.Diff(want, out.Value().Data(), approx); diff != "" {
				t.Errorf("%s: value mismatch (-want +got):\n%s", r.Fn, diff)
			}

			ctp := tape.NewTape()
			for i, v := range vals {
				vars[i] = ctp.Const(v)
			}
			folded := r.Apply(vars)
			if !folded.IsConst() || folded.Node() != nil {
				t.Errorf("%s on constants: IsConst %v, Node %v; want a folded constant", r.Fn, folded.IsConst(), folded.Node())
			}
			if diff := cmp.Diff(want, folded.Value().Data(), approx); diff != "" {
				t.Errorf("%s on constants: value mismatch (-want +got):\n%s", r.Fn, diff)
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
		{"Add/shapes", "last axes 2 and 3 do not broadcast", func() { ops.Add(m, tp.Input(tensor.Zeros(3))) }},
		{"Transpose/rank", "a 3-D value has no single transpose", func() { ops.Transpose(tp.Input(tensor.Zeros(2, 2, 2))) }},
		{"Permute/repeat", "axis 0 twice is not a permutation", func() { ops.Permute(m, 0, 0) }},
		{"SliceAxis/range", "columns past the end", func() { ops.SliceAxis(m, 1, 1, 3) }},
		{"SplitAxis/sizes", "sizes must add up to axis 1", func() { ops.SplitAxis(m, 1, 1, 2) }},
		{"SplitAxis/negative", "a negative size", func() { ops.SplitAxis(m, 1, 3, -1) }},
		{"SplitAxis/axis", "a [5 2] value has no axis 2", func() { ops.SplitAxis(m, 2, 1) }},
		{"ConcatAxis/none", "nothing to join", func() { ops.ConcatAxis(1) }},
		{"ConcatAxis/shapes", "axis-0 sizes 5 and 1 differ", func() { ops.ConcatAxis(1, m, tp.Input(tensor.Zeros(1, 2))) }},
		{"SumAxis/axis", "a rank-0 value has no axis", func() { ops.SumAxis(s, 0) }},
		{"MeanAxis/empty", "the mean over an empty axis", func() { ops.MeanAxis(tp.Input(tensor.Zeros(2, 0)), 1) }},
		{"BatchMatMul/samples", "5 samples against 2", func() { ops.BatchMatMul(tp.Input(tensor.Zeros(5, 2, 2)), tp.Input(tensor.Zeros(2, 2, 2))) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := panicMessage(tc.call)
			if !strings.HasPrefix(msg, "ops: ") {
				t.Errorf("%s: panicked with %q, want a message starting with \"ops: \"", tc.reason, msg)
			}
		})
	}
}

// TestBroadcastMessage pins the message of shapes that do not broadcast:
// the op's name and both shapes.
func TestBroadcastMessage(t *testing.T) {
	tp := tape.NewTape()
	a, b := tp.Input(tensor.Zeros(2, 3)), tp.Input(tensor.Zeros(4))
	const want = "ops: mul: shapes [2 3] and [4] do not broadcast"
	if msg := panicMessage(func() { ops.Mul(a, b) }); msg != want {
		t.Errorf("Mul([2 3], [4]) panicked with %q, want %q", msg, want)
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
	for _, r := range opstest.Rows() {
		covered[r.Fn] = true
		if !slices.Contains(recorders, r.Fn) {
			t.Errorf("row %s names %s, which is not an exported ops function returning *tape.Var", r.Case.Name, r.Fn)
		}
	}
	for _, fn := range recorders {
		if fn != "Const" && !covered[fn] {
			t.Errorf("ops.%s records an op but has no conformance row", fn)
		}
	}
}
