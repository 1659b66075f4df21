package gorgonia_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	invadg "github.com/invad/invad/interop/gorgonia"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// f64 builds a graph with a float64 input x of the given shape and value.
func f64(shape []int, x []float64) (*builder, *G.Node) {
	b := &builder{g: G.NewGraph(), dt: gt.Float64, named: map[string]*G.Node{}}
	return b, b.param("x", x, shape...)
}

// TestUnsupported checks that a node whose op has no invad counterpart is
// refused with a *NodeError naming the node and the op's two forms.
func TestUnsupported(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		build        func(b *builder, x *G.Node) (bad, y *G.Node)
		typ, form    string
	}{
		{"softmax", "no invad counterpart", func(b *builder, x *G.Node) (*G.Node, *G.Node) {
			s := G.Must(G.SoftMax(x))
			return s, G.Must(G.Add(x, s))
		}, "*gorgonia.softmaxOp", "Softmax{-1, false}()"},
		{"max", "a reduction with no invad counterpart", func(b *builder, x *G.Node) (*G.Node, *G.Node) {
			m := G.Must(G.Max(x))
			return m, G.Must(G.HadamardProd(m, x))
		}, "*gorgonia.maxOp", "MaxAlong[0 1]"},
		{"abs-of-input", "abs is imported for constants only", func(b *builder, x *G.Node) (*G.Node, *G.Node) {
			a := G.Must(G.Abs(x))
			return a, G.Must(G.Add(x, a))
		}, "gorgonia.elemUnaryOp", "abs"},
		{"sign", "sign is not imported (Gorgonia's scalar and tensor kernels disagree at 0)", func(b *builder, x *G.Node) (*G.Node, *G.Node) {
			s := G.Must(G.Sign(x))
			return s, G.Must(G.Add(x, s))
		}, "gorgonia.elemUnaryOp", "sign"},
		{"pow-4", "a power of a varying value by an exponent with no invad op", func(b *builder, x *G.Node) (*G.Node, *G.Node) {
			p := G.Must(G.Pow(x, b.scalar(4)))
			return p, p
		}, "gorgonia.elemBinOp", "^ false"},
		{"at", "At is refused: the TapeMachine does not compute it as documented", func(b *builder, x *G.Node) (*G.Node, *G.Node) {
			a := G.Must(G.At(x, 0, 1))
			return a, G.Must(G.HadamardProd(a, x))
		}, "gorgonia.atOp", "At([0 1])"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, x := f64([]int{2, 2}, []float64{0.1, -0.2, 0.3, 0.4})
			bad, y := tc.build(b, x)
			_, err := invadg.Import(b.g, x, y)
			var ne *invadg.NodeError
			if !errors.Is(err, invadg.ErrUnsupported) || !errors.As(err, &ne) {
				t.Fatalf("%s: Import = %v, want a *NodeError wrapping ErrUnsupported", tc.reason, err)
			}
			if ne.ID != bad.ID() || ne.Name != bad.Name() || ne.Op != tc.typ || ne.Form != tc.form {
				t.Errorf("error names node %d %q, op %q %q; want node %d %q, op %q %q",
					ne.ID, ne.Name, ne.Op, ne.Form, bad.ID(), bad.Name(), tc.typ, tc.form)
			}
			for _, want := range []string{tc.typ, fmt.Sprintf("%q", tc.form), fmt.Sprintf("%q", bad.Name())} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not contain %s", err, want)
				}
			}
		})
	}
}

// TestImportErrors covers the other errors Import returns.
func TestImportErrors(t *testing.T) {
	t.Run("not-connected", func(t *testing.T) {
		b, x := f64([]int{2}, []float64{1, 2})
		w := b.param("w", []float64{3, 4}, 2)
		y := G.Must(G.Tanh(w))
		if _, err := invadg.Import(b.g, x, y); !errors.Is(err, invadg.ErrNotConnected) {
			t.Errorf("Import of an output that ignores the input = %v, want ErrNotConnected", err)
		}
	})
	t.Run("no-value", func(t *testing.T) {
		b, x := f64([]int{2}, []float64{1, 2})
		w := G.NewVector(b.g, gt.Float64, G.WithShape(2), G.WithName("unbound"))
		y := G.Must(G.Add(x, w))
		_, err := invadg.Import(b.g, x, y)
		var ne *invadg.NodeError
		if !errors.Is(err, invadg.ErrNoValue) || !errors.As(err, &ne) || ne.Name != "unbound" {
			t.Errorf("Import with an unbound variable = %v, want a *NodeError for \"unbound\" wrapping ErrNoValue", err)
		}
	})
	t.Run("dtype", func(t *testing.T) {
		g := G.NewGraph()
		x := G.NewVector(g, gt.Int, G.WithShape(2), G.WithName("ints"))
		if _, err := invadg.Import(g, x, x); !errors.Is(err, invadg.ErrDtype) {
			t.Errorf("Import of an Int input = %v, want ErrDtype", err)
		}
	})
}

// TestPanics checks the caller mistakes.
func TestPanics(t *testing.T) {
	b, x := f64([]int{2}, []float64{1, 2})
	y := G.Must(G.Tanh(x))
	other, ox := f64([]int{2}, []float64{1, 2})
	_ = other
	p, err := invadg.Import(b.g, x, y)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, reason string
		call         func()
	}{
		{"nil-graph", "a nil graph", func() { invadg.Import(nil, x, y) }},
		{"nil-node", "a nil output", func() { invadg.Import(b.g, x, nil) }},
		{"foreign-node", "an input from another graph", func() { invadg.Import(b.g, ox, y) }},
		{"F-size", "x with the wrong number of elements", func() { p.F(tape.NewTape().Input(tensor.Zeros(3))) }},
		{"ValueOf-nil", "a nil node", func() { invadg.ValueOf(nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := panicMessage(tc.call)
			if !strings.HasPrefix(msg, "gorgonia: ") {
				t.Errorf("%s: panicked with %q, want a message starting with \"gorgonia: \"", tc.reason, msg)
			}
		})
	}
}

func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// TestComparisonMask imports masks that are no recognized ReLU (Gorgonia's
// Rectify uses ≥): x ⊙ (x > 0) and x ⊙ (tanh(x) < 0.2). A mask is a
// constant read from its operands' values. inverse.Linearize records
// values and gives Gorgonia's result. The tapeless inverse.VIJP records
// first on a shape tape, which holds the input's value but no other: the
// mask of x works there, the mask of tanh(x) must be reported as
// ErrValueDependent (not a panic, nor a wrong answer).
func TestComparisonMask(t *testing.T) {
	xs := []float64{0.5, -0.7, 1.2, -0.1}
	x0 := tensor.New([]int{4}, xs)
	cx := tensor.New([]int{4}, []float64{1, -2, 0.5, 3})
	for _, tc := range []struct {
		name     string
		mask     func(b *builder, x *G.Node) *G.Node
		logDet   float64 // J = diag(1 + mask)
		tapeless error
		reason   string
	}{
		{"input", func(b *builder, x *G.Node) *G.Node { return G.Must(G.Gt(x, b.scalar(0), true)) },
			2 * math.Ln2, nil, "the input has a value on the shape tape"},
		{"intermediate", func(b *builder, x *G.Node) *G.Node { return G.Must(G.Lt(G.Must(G.Tanh(x)), b.scalar(0.2), true)) },
			2 * math.Ln2, inverse.ErrValueDependent, "tanh(x) has no value on the shape tape"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, x := f64([]int{4}, xs)
			y := G.Must(G.Add(x, G.Must(G.HadamardProd(x, tc.mask(b, x)))))
			runForward(t, b.g)
			p, err := invadg.Import(b.g, x, y)
			if err != nil {
				t.Fatal(err)
			}
			lin, err := inverse.Linearize(p.F, x0)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "output against the TapeMachine", lin.Output().Data(), valueOf(t, y), 0)
			ld, err := lin.LogAbsDet()
			if err != nil {
				t.Fatal(err)
			}
			check(t, "LogAbsDet", []float64{ld}, []float64{tc.logDet}, 1e-15)
			want, err := lin.VIJP(cx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := inverse.VIJP(p.F, x0, cx)
			switch {
			case tc.tapeless != nil && !errors.Is(err, tc.tapeless):
				t.Errorf("%s: tapeless VIJP = %v, want %v", tc.reason, err, tc.tapeless)
			case tc.tapeless == nil && err != nil:
				t.Errorf("%s: tapeless VIJP: %v", tc.reason, err)
			case tc.tapeless == nil:
				check(t, "tapeless VIJP against the Linearization's", got.Data(), want.Data(), 1e-15)
			}
		})
	}
}

// TestRectifyTapeless checks that Rectify and LeakyRelu, recognized as
// invad ops, read no values: the tapeless VIJP runs and agrees with the
// Linearization's.
func TestRectifyTapeless(t *testing.T) {
	xs := []float64{0.5, -0.7, 1.2, -0.1, 0.3, -2}
	b, x := f64([]int{6}, xs)
	r := G.Must(G.Rectify(G.Must(G.Sin(x))))
	l := G.Must(G.LeakyRelu(G.Must(G.Cos(x)), 0.2))
	y := G.Must(G.Add(x, G.Must(G.HadamardProd(b.scalar(0.5), G.Must(G.Add(r, l))))))
	runForward(t, b.g)
	p, err := invadg.Import(b.g, x, y)
	if err != nil {
		t.Fatal(err)
	}
	var as []string
	for _, o := range p.Ops() {
		as = append(as, o.As)
	}
	for _, want := range []string{"leaky_relu(0) (Gorgonia's Rectify pattern a ⊙ (a ≥ 0))", "leaky_relu(0.2) (Gorgonia's LeakyRelu pattern)"} {
		if !strings.Contains(strings.Join(as, "\n"), want) {
			t.Errorf("imported ops %q lack %q", as, want)
		}
	}
	x0 := tensor.New([]int{6}, xs)
	lin, err := inverse.Linearize(p.F, x0)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "output against the TapeMachine", lin.Output().Data(), valueOf(t, y), 1e-15)
	cx := tensor.New([]int{6}, []float64{1, -2, 0.5, 3, -1, 0.25})
	want, err := lin.VIJP(cx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := inverse.VIJP(p.F, x0, cx)
	if err != nil {
		t.Fatalf("tapeless VIJP: %v", err)
	}
	check(t, "tapeless VIJP against the Linearization's", got.Data(), want.Data(), 1e-14)
}

// TestValuesReadAtCall checks that F binds the graph's values when it
// runs, not when Import ran: after gorgonia.Let gives a weight a new value,
// the next recording uses it.
func TestValuesReadAtCall(t *testing.T) {
	b, x := f64([]int{2}, []float64{1, 2})
	w := b.param("w", []float64{3, 4}, 2)
	y := G.Must(G.HadamardProd(x, w))
	p, err := invadg.Import(b.g, x, y)
	if err != nil {
		t.Fatal(err)
	}
	x0 := tensor.New([]int{2}, []float64{1, 2})
	eval := func() []float64 { return p.F(tape.NewTape().Input(x0)).Value().Data() }
	check(t, "before Let", eval(), []float64{3, 8}, 0)
	if err := G.Let(w, dense(gt.Float64, []int{2}, []float64{-1, 0.5})); err != nil {
		t.Fatal(err)
	}
	check(t, "after Let", eval(), []float64{-1, 1}, 0)
}

// TestAfterGrad imports a coupling layer from a graph that gorgonia.Grad
// has extended with the gradient of a loss with respect to every weight,
// after a TapeMachine has run it forward and backward: the import takes the
// forward nodes only, and reads the leaves' values, which the run leaves
// alone. (The run does not leave the output node's value alone: Gorgonia
// reuses its memory during the backward pass, so the reference is a run of
// the forward graph.)
func TestAfterGrad(t *testing.T) {
	m := models()[1] // coupling
	fb, _, fy := graphOf(m)
	runForward(t, fb.g)
	want := append([]float64(nil), valueOf(t, fy)...)

	b, x, y := graphOf(m)
	forward, err := invadg.Import(b.g, x, y)
	if err != nil {
		t.Fatal(err)
	}
	maxID := int64(-1)
	var weights G.Nodes
	for _, n := range b.g.AllNodes() {
		maxID = max(maxID, n.ID())
		if n.IsVar() && n != x {
			weights = append(weights, n)
		}
	}
	loss := G.Must(G.Sum(G.Must(G.Square(y))))
	if _, err := G.Grad(loss, weights...); err != nil {
		t.Fatal(err)
	}
	runForward(t, b.g) // forward and backward
	if added := len(b.g.AllNodes()) - int(maxID) - 1; added < 20 {
		t.Fatalf("gorgonia.Grad added %d nodes, expected dozens", added)
	}
	after, err := invadg.Import(b.g, x, y)
	if err != nil {
		t.Fatalf("Import after gorgonia.Grad: %v", err)
	}
	for _, o := range after.Ops() {
		if o.ID > maxID {
			t.Errorf("imported node %d %q (%s %q), which gorgonia.Grad added", o.ID, o.Name, o.Op, o.Form)
		}
	}
	if a, f := fmt.Sprint(forms(after.Ops())), fmt.Sprint(forms(forward.Ops())); a != f {
		t.Errorf("ops after gorgonia.Grad:\n%s\nbefore:\n%s", a, f)
	}
	x0, err := after.InputValue()
	if err != nil {
		t.Fatal(err)
	}
	check(t, "input value after the run", x0.Data(), m.x, 0)
	lin, err := inverse.Linearize(after.F, x0)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "output against the forward TapeMachine run", lin.Output().Data(), want, tolOf(m.dt).forward)
}

// TestCouplingLumps checks that the lump finder sees the imported coupling
// layer's structure through the axis-1 slices and concat: no dense lump
// (TestModels checks log|det J| = Σ s).
func TestCouplingLumps(t *testing.T) {
	m := models()[1]
	b, x, y := graphOf(m)
	runForward(t, b.g)
	p, err := invadg.Import(b.g, x, y)
	if err != nil {
		t.Fatal(err)
	}
	x0, _ := p.InputValue()
	lin, err := inverse.Linearize(p.F, x0)
	if err != nil {
		t.Fatal(err)
	}
	lumps, err := lin.Lumps()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lumps {
		if l.Kind == lump.DenseLump {
			t.Errorf("lump %d is dense (width %d, ops %v): the coupling structure was lost", l.Index, l.Width, l.Ops)
		}
	}
}
