package gorgonia_test

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	invadg "github.com/invad/invad/interop/gorgonia"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestGorgoniaGradientBugs pins four places where gorgonia.Grad (v0.9.18)
// disagrees with central differences of Gorgonia's own forward run, while
// the imported program agrees with them:
//
//   - log2: the gradient is ∂y·ln2/x instead of ∂y/(x ln 2);
//   - invSqrt: −∂y/(2y³) instead of −∂y·y³/2;
//   - OuterProd;
//   - a constant tensor times a varying scalar.
//
// This is why the models test compares those ops against differences
// only. If this test fails after a Gorgonia upgrade, a bug was fixed: move
// the op back into the models compared with gorgonia.Grad.
func TestGorgoniaGradientBugs(t *testing.T) {
	c := []float64{0.3, -0.5, 0.8}
	for _, tc := range []struct {
		name  string
		build func(b *builder, x *G.Node) *G.Node
	}{
		{"log2", func(b *builder, x *G.Node) *G.Node { return G.Must(G.Log2(x)) }},
		{"invSqrt", func(b *builder, x *G.Node) *G.Node { return G.Must(G.InverseSqrt(x)) }},
		{"outer", func(b *builder, x *G.Node) *G.Node {
			return G.Must(G.Add(x, G.Must(G.Mul(G.Must(G.OuterProd(x, b.param("c", c, 3))), x))))
		}},
		{"const-times-scalar", func(b *builder, x *G.Node) *G.Node {
			return G.Must(G.Add(x, G.Must(G.HadamardProd(b.param("c", c, 3), G.Must(G.Sum(G.Must(G.Square(x))))))))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := model{name: tc.name, dt: gt.Float64, in: []int{3}, x: []float64{0.6, 1.1, 1.7}, build: tc.build}
			tl := tolOf(m.dt)
			b, x, y := graphOf(m)
			runForward(t, b.g)
			jfd := fdJacobian(t, b.g, x, y, m, tl.step)
			gg := newGradGraph(t, m)
			defer gg.m.Close()
			// Off by ≥ 10%: far beyond the differences' error (1e-8).
			if e := maxErr(gg.jacobian(t, 3), jfd); e < 0.1 {
				t.Errorf("gorgonia.Grad agrees with central differences (relative error %.3g): the bug is fixed", e)
			}
			p, err := invadg.Import(b.g, x, y)
			if err != nil {
				t.Fatal(err)
			}
			x0, _ := p.InputValue()
			lin, err := inverse.Linearize(p.F, x0)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "invad's Jacobian against central differences", jacobian(t, lin), jfd, tl.fd)
		})
	}
}

// TestAtNotImported pins why At is refused: Gorgonia documents At(a, 1) as
// the element a[1], but v0.9.18's TapeMachine passes the whole operand
// through, so x + At(x, 1) computes x + x. If this test fails after an
// upgrade, At works and can be imported as a gather of one element.
func TestAtNotImported(t *testing.T) {
	xs := []float64{0.5, -0.7, 1.2}
	b, x := f64([]int{3}, xs)
	y := G.Must(G.Add(x, G.Must(G.At(x, 1))))
	runForward(t, b.g)
	check(t, "TapeMachine's x + At(x, 1)", valueOf(t, y), []float64{1, -1.4, 2.4}, 0)
	if _, err := invadg.Import(b.g, x, y); err == nil {
		t.Errorf("Import of At succeeded, want ErrUnsupported")
	}
}

// TestGorgoniaClips pins the thresholds of Gorgonia's sigmoid (exactly 1
// above 19) and softplus (exactly x above 16), where the imported ops
// compute the functions themselves.
func TestGorgoniaClips(t *testing.T) {
	xs := []float64{17, 20, 25}
	b, x := f64([]int{3}, xs)
	y := G.Must(G.Add(G.Must(G.Sigmoid(x)), G.Must(G.Softplus(x))))
	runForward(t, b.g)
	check(t, "TapeMachine's sigmoid + softplus", valueOf(t, y), []float64{17 + 1/(1+math.Exp(-17)), 21, 26}, 0)
	p, err := invadg.Import(b.g, x, y)
	if err != nil {
		t.Fatal(err)
	}
	got := p.F(tape.NewTape().Input(tensor.New([]int{3}, xs))).Value().Data()
	want := make([]float64, 3)
	for i, v := range xs {
		want[i] = 1/(1+math.Exp(-v)) + v + math.Log1p(math.Exp(-v))
	}
	check(t, "imported sigmoid + softplus", got, want, 1e-15)
}

// TestGorgoniaSign pins why sign is refused: at 0 Gorgonia's scalar kernel
// gives 1 and its tensor kernel 0.
func TestGorgoniaSign(t *testing.T) {
	g := G.NewGraph()
	s := G.Must(G.Sign(G.NewScalar(g, gt.Float64, G.WithValue(0.0))))
	v := G.Must(G.Sign(G.NewVector(g, gt.Float64, G.WithShape(1), G.WithValue(gt.New(gt.WithShape(1), gt.WithBacking([]float64{0}))))))
	runForward(t, g)
	check(t, "sign(0) of a scalar and of a tensor", append(valueOf(t, s), valueOf(t, v)...), []float64{1, 0}, 0)
}

// TestTapeMachineReusesOutput pins that after a TapeMachine run of a graph
// with backward nodes, the output node's value is no longer the forward
// value: compare imported programs with a forward-only run.
func TestTapeMachineReusesOutput(t *testing.T) {
	m := models()[1] // coupling
	fb, _, fy := graphOf(m)
	runForward(t, fb.g)
	b, x, y := graphOf(m)
	var weights G.Nodes
	for _, n := range b.g.AllNodes() {
		if n.IsVar() && n != x {
			weights = append(weights, n)
		}
	}
	if _, err := G.Grad(G.Must(G.Sum(G.Must(G.Square(y)))), weights...); err != nil {
		t.Fatal(err)
	}
	runForward(t, b.g)
	if e := maxErr(valueOf(t, y), valueOf(t, fy)); e == 0 {
		t.Errorf("the output's value after a run with backward nodes is the forward value: Gorgonia no longer reuses it")
	}
}
