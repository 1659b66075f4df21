package gorgonia_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/invad/invad/ad"
	invadg "github.com/invad/invad/interop/gorgonia"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// leaves returns the variables (leaves without an op) the imported program
// reads, other than the input, in the order F reads them.
func leaves(t *testing.T, g *G.ExprGraph, p *invadg.Program, x *G.Node) []*G.Node {
	t.Helper()
	var out []*G.Node
	for _, o := range p.Ops() {
		n := g.Node(o.ID).(*G.Node)
		if n != x && o.As == "constant" && n.Op() == nil {
			out = append(out, n)
		}
	}
	return out
}

// ldOf returns log|det ∂F/∂x| at x by inverse.Linearize of F, which reads
// the graph's current values.
func ldOf(t *testing.T, p *invadg.Program, x *tensor.Tensor) float64 {
	t.Helper()
	lin, err := inverse.Linearize(p.F, x)
	if err != nil {
		t.Fatal(err)
	}
	ld, err := lin.LogAbsDet()
	if err != nil {
		t.Fatal(err)
	}
	return ld
}

// fdParam returns central differences of ldOf in every element of the
// float64 leaf n, its Gorgonia value perturbed in place (and restored).
func fdParam(t *testing.T, p *invadg.Program, x *tensor.Tensor, n *G.Node, h float64) []float64 {
	t.Helper()
	d := n.Value().(*gt.Dense).Float64s()
	out := make([]float64, len(d))
	for i, v := range d {
		d[i] = v + h
		lp := ldOf(t, p, x)
		d[i] = v - h
		lm := ldOf(t, p, x)
		d[i] = v
		out[i] = (lp - lm) / (2 * h)
	}
	return out
}

// fdInput returns central differences of ldOf in every element of x.
func fdInput(t *testing.T, p *invadg.Program, x *tensor.Tensor, h float64) []float64 {
	t.Helper()
	out := make([]float64, x.Len())
	for i := range out {
		xp, xm := x.Clone(), x.Clone()
		xp.Data()[i] += h
		xm.Data()[i] -= h
		out[i] = (ldOf(t, p, xp) - ldOf(t, p, xm)) / (2 * h)
	}
	return out
}

// colFlow is a coupling layer and a mixing on x of shape [6, B], the
// samples innermost (W·x, axis-0 slices, biases broadcast along axis 1),
// the layout for which inverse.LogAbsDetGrad finds per-sample blocks.
func colFlow(b *builder, x *G.Node) *G.Node {
	x1 := G.Must(G.Slice(x, G.S(0, 3)))
	x2 := G.Must(G.Slice(x, G.S(3, 6)))
	w, bb := b.param("W", bfW[:15], 5, 3), b.param("b", bfB[:5], 5)
	ws, wt := b.param("Ws", bfWs[:15], 3, 5), b.param("Wt", bfWt[:15], 3, 5)
	h := G.Must(G.Tanh(G.Must(G.BroadcastAdd(G.Must(G.Mul(w, x1)), bb, nil, []byte{1}))))
	s := G.Must(G.Tanh(G.Must(G.Mul(ws, h))))
	y2 := G.Must(G.Add(G.Must(G.HadamardProd(x2, G.Must(G.Exp(s)))), G.Must(G.Mul(wt, h))))
	m := b.param("M", bfMix[:36], 6, 6)
	return G.Must(G.Mul(m, G.Must(G.Concat(0, x1, y2))))
}

// TestLogAbsDetGrad checks the gradient of log|det ∂F/∂x| with respect to
// x and to every weight of the float64 models, of a two-layer [3, 6]
// coupling flow with Glow mixings (transposed weights, biases broadcast by
// repeats) and of a [6, 3] one (colFlow), against central differences of log|det| computed with F after
// perturbing the Gorgonia value in place (inverse.Linearize of F and
// LogAbsDet: neither Func nor inverse.LogAbsDetGrad).
func TestLogAbsDetGrad(t *testing.T) {
	type tc struct {
		name  string
		build func() (*builder, *G.Node, *G.Node)
	}
	cases := []tc{{"flow", func() (*builder, *G.Node, *G.Node) {
		b := &builder{g: G.NewGraph(), dt: gt.Float64, named: map[string]*G.Node{}}
		x := b.param("x", uniform(rand.New(rand.NewPCG(7, 7)), 3*6, -1, 1), 3, 6)
		return b, x, gFlow(b, x)
	}}, {"flow-columns", func() (*builder, *G.Node, *G.Node) {
		b := &builder{g: G.NewGraph(), dt: gt.Float64, named: map[string]*G.Node{}}
		x := b.param("x", uniform(rand.New(rand.NewPCG(8, 8)), 6*3, -1, 1), 6, 3)
		return b, x, colFlow(b, x)
	}}}
	for _, m := range models() {
		if m.dt == gt.Float64 {
			cases = append(cases, tc{m.name, func() (*builder, *G.Node, *G.Node) { return graphOf(m) }})
		}
	}
	// h = 1e-5: truncation h²·|∂³ ld| ≈ 1e-10·10, roundoff 1e-15/h = 1e-10.
	const h, bound = 1e-5, 1e-7
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, x, y := c.build()
			p, err := invadg.Import(b.g, x, y)
			if err != nil {
				t.Fatal(err)
			}
			params := leaves(t, b.g, p, x)
			x0, err := p.InputValue()
			if err != nil {
				t.Fatal(err)
			}
			x0 = x0.Clone()
			ld, dx, dps, err := invadg.LogAbsDetGrad(p, nil, params)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "log|det| against inverse.Linearize of F", []float64{ld}, []float64{ldOf(t, p, x0)}, 1e-13)
			check(t, "dx against central differences", dx.Data(), fdInput(t, p, x0, h), bound)
			if !slices.Equal(dx.Shape(), x0.Shape()) {
				t.Errorf("dx has shape %v, x %v", dx.Shape(), x0.Shape())
			}
			for k, n := range params {
				d := dps[k]
				if d.Dtype() != gt.Float64 || !d.Shape().Eq(n.Shape()) {
					t.Errorf("gradient of %s: %v of shape %v, want float64 of shape %v", n.Name(), d.Dtype(), d.Shape(), n.Shape())
					continue
				}
				check(t, "gradient of "+n.Name()+" against central differences", d.Float64s(), fdParam(t, p, x0, n, h), bound)
			}
			t.Logf("%d parameters, %d elements", len(params), len(flat(dps)))
		})
	}
}

func flat(ds []*gt.Dense) []float64 {
	var out []float64
	for _, d := range ds {
		out = append(out, toF64(d)...)
	}
	return out
}

// TestLogAbsDetGradSumS: for the coupling layer log|det J| = Σ s, so the
// gradient must be Gorgonia's own reverse mode (gorgonia.Grad) of Σ s,
// with respect to x and to every weight.
func TestLogAbsDetGradSumS(t *testing.T) {
	for _, dt := range []gt.Dtype{gt.Float64, gt.Float32} {
		t.Run(dt.String(), func(t *testing.T) {
			m := model{dt: dt, in: []int{4, 6}, x: cpX, build: coupling}
			b, x, y := graphOf(m)
			p, err := invadg.Import(b.g, x, y)
			if err != nil {
				t.Fatal(err)
			}
			params := leaves(t, b.g, p, x)
			if len(params) != 6 {
				t.Fatalf("%d weights, want 6", len(params))
			}
			// s reads W, b, Ws and bs, not Wt and bt: their gradients are 0.
			var wrt []*G.Node
			for _, n := range params {
				if n.Name() != "Wt" && n.Name() != "bt" {
					wrt = append(wrt, n)
				}
			}
			grads, err := G.Grad(G.Must(G.Sum(b.named["s"])), append([]*G.Node{x}, wrt...)...)
			if err != nil {
				t.Fatal(err)
			}
			runForward(t, b.g)
			ld, dx, dps, err := invadg.LogAbsDetGrad(p, nil, params)
			if err != nil {
				t.Fatal(err)
			}
			// float32: Gorgonia computes Σ s and its gradient in float32.
			bound := 1e-13
			if dt == gt.Float32 {
				bound = 2e-6
			}
			// Σ s from a graph without backward nodes (TestTapeMachineReusesOutput).
			fb, _, _ := graphOf(m)
			runForward(t, fb.g)
			check(t, "log|det| against Σ s", []float64{ld}, []float64{sumOf("s")(fb)}, 24*bound)
			check(t, "dx against gorgonia.Grad", dx.Data(), valueOf(t, grads[0]), bound)
			for k, n := range params {
				if dps[k].Dtype() != dt || !dps[k].Shape().Eq(n.Shape()) {
					t.Errorf("gradient of %s: %v of shape %v, want %v of shape %v", n.Name(), dps[k].Dtype(), dps[k].Shape(), dt, n.Shape())
				}
				want := make([]float64, n.Shape().TotalSize())
				if j := slices.Index(wrt, n); j >= 0 {
					want = valueOf(t, grads[1+j])
				}
				check(t, "gradient of "+n.Name()+" against gorgonia.Grad", toF64(dps[k]), want, bound)
			}
		})
	}
}

// TestLogAbsDetGradLinear: y = a·(W·x) for a square leaf W and a scalar
// leaf a, x of shape [d, B] (Gorgonia's "A × B") or [d] ("A × b"):
// log|det| = d·B·log|a| + B·log|det W|, with gradients d·B/a, B·W⁻ᵀ and 0
// in x, handed back with the leaves' shapes.
func TestLogAbsDetGradLinear(t *testing.T) {
	const d = 4
	r := rand.New(rand.NewPCG(3, 4))
	wv := addIdentity(uniform(r, d*d, -0.5, 0.5), d)
	for _, nb := range []int{0, 3} {
		t.Run(map[int]string{0: "vector", 3: "matrix"}[nb], func(t *testing.T) {
			shape, cols := []int{d, nb}, nb
			if nb == 0 {
				shape, cols = []int{d}, 1
			}
			b, x := f64(shape, uniform(r, d*cols, -1, 1))
			w := b.param("W", wv, d, d)
			a := G.NewScalar(b.g, gt.Float64, G.WithName("a"), G.WithValue(-1.7))
			y := G.Must(G.HadamardProd(a, G.Must(G.Mul(w, x))))
			p, err := invadg.Import(b.g, x, y)
			if err != nil {
				t.Fatal(err)
			}
			ld, dx, dps, err := invadg.LogAbsDetGrad(p, nil, []*G.Node{w, a})
			if err != nil {
				t.Fatal(err)
			}
			wm := mat.NewDense(d, d, wv)
			ldw, _ := mat.LogDet(wm)
			bb := float64(cols)
			check(t, "log|det|", []float64{ld}, []float64{d*bb*math.Log(1.7) + bb*ldw}, 1e-14)
			check(t, "dx", dx.Data(), make([]float64, d*cols), 1e-14)
			var inv mat.Dense
			if err := inv.Inverse(wm); err != nil {
				t.Fatal(err)
			}
			want := make([]float64, 0, d*d)
			for i := range d {
				for j := range d {
					want = append(want, bb*inv.At(j, i)) // B·W⁻ᵀ
				}
			}
			if !dps[0].Shape().Eq(gt.Shape{d, d}) || dps[0].Dtype() != gt.Float64 {
				t.Errorf("gradient of W: %v of shape %v", dps[0].Dtype(), dps[0].Shape())
			}
			check(t, "gradient of W against B·W⁻ᵀ", dps[0].Float64s(), want, 1e-13)
			if &dps[0].Float64s()[0] == &w.Value().(*gt.Dense).Float64s()[0] {
				t.Error("the gradient of W shares W's memory")
			}
			if dps[1].Dims() != 0 || dps[1].Dtype() != gt.Float64 {
				t.Errorf("gradient of the scalar a: %v of shape %v, want rank 0", dps[1].Dtype(), dps[1].Shape())
			}
			check(t, "gradient of a against d·B/a", dps[1].Float64s(), []float64{d * bb / -1.7}, 1e-14)
		})
	}
}

// TestLogAbsDetGradFloat32: a float32 flow's gradients come back as
// float32 Gorgonia tensors of the leaves' shapes, equal to those of the
// same flow in float64 (its weights rounded to float32, so that both
// compute one function) rounded to float32.
func TestLogAbsDetGradFloat32(t *testing.T) {
	xv := uniform(rand.New(rand.NewPCG(5, 6)), 3*6, -1, 1)
	run := func(dt gt.Dtype) (float64, *tensor.Tensor, []*G.Node, []*gt.Dense) {
		b := &builder{g: G.NewGraph(), dt: dt, named: map[string]*G.Node{}}
		x := b.param("x", xv, 3, 6)
		y := gFlow(b, x)
		p, err := invadg.Import(b.g, x, y)
		if err != nil {
			t.Fatal(err)
		}
		params := leaves(t, b.g, p, x)
		if dt == gt.Float64 { // round every value to float32
			for _, n := range append([]*G.Node{x}, params...) {
				d := n.Value().(*gt.Dense).Float64s()
				for i := range d {
					d[i] = float64(float32(d[i]))
				}
			}
		}
		ld, dx, dps, err := invadg.LogAbsDetGrad(p, nil, params)
		if err != nil {
			t.Fatal(err)
		}
		return ld, dx, params, dps
	}
	ld64, dx64, _, d64 := run(gt.Float64)
	ld32, dx32, params, d32 := run(gt.Float32)
	if len(params) != 12 {
		t.Fatalf("%d weights, want 12", len(params))
	}
	check(t, "log|det|", []float64{ld32}, []float64{ld64}, 0)
	check(t, "dx", dx32.Data(), dx64.Data(), 0)
	for k, n := range params {
		g := d32[k]
		if g.Dtype() != gt.Float32 || !g.Shape().Eq(n.Shape()) {
			t.Errorf("gradient of %s: %v of shape %v, want float32 of shape %v", n.Name(), g.Dtype(), g.Shape(), n.Shape())
			continue
		}
		want := d64[k].Float64s()
		for i, v := range g.Float32s() {
			if v != float32(want[i]) {
				t.Errorf("gradient of %s[%d] = %v, want float32(%v)", n.Name(), i, v, want[i])
				break
			}
		}
	}
}

// TestFunc: the function of x and leaves computes F, with the leaves'
// values taken from its arguments; its gradient by package ad equals
// gorgonia.Grad's; ParamValues shares float64 values and converts
// float32 ones.
func TestFunc(t *testing.T) {
	for _, m := range models() {
		if m.name != "mlp" && m.name != "glow-1x1" && m.name != "mlp/float32" {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			b, x, y := graphOf(m)
			p, err := invadg.Import(b.g, x, y)
			if err != nil {
				t.Fatal(err)
			}
			params := leaves(t, b.g, p, x)
			x0, err := p.InputValue()
			if err != nil {
				t.Fatal(err)
			}
			out := func(f func(xs ...*tape.Var) *tape.Var, xs ...*tensor.Tensor) []float64 {
				tp := tape.NewTape()
				in := make([]*tape.Var, len(xs))
				for i, v := range xs {
					in[i] = tp.Input(v)
				}
				return f(in...).Value().Data()
			}
			want := out(func(xs ...*tape.Var) *tape.Var { return p.F(xs[0]) }, x0)
			f0, err := p.Func()
			if err != nil {
				t.Fatal(err)
			}
			check(t, "Func() against F", out(f0, x0), want, 0)
			f, err := p.Func(params...)
			if err != nil {
				t.Fatal(err)
			}
			vals, err := p.ParamValues(params...)
			if err != nil {
				t.Fatal(err)
			}
			for k, n := range params {
				d := n.Value().(*gt.Dense)
				shared := m.dt == gt.Float64 && &vals[k].Data()[0] == &d.Float64s()[0]
				if shared != (m.dt == gt.Float64) {
					t.Errorf("%s's value shared: %v, dtype %v", n.Name(), shared, m.dt)
				}
				check(t, "ParamValues of "+n.Name(), vals[k].Data(), toF64(d), 0)
			}
			check(t, "Func(params) at ParamValues against F", out(f, append([]*tensor.Tensor{x0}, vals...)...), want, 0)

			// Other weights: as F after binding them in Gorgonia.
			r := rand.New(rand.NewPCG(9, 9))
			other := make([]*tensor.Tensor, len(vals))
			for k, v := range vals {
				other[k] = tensor.New(v.Shape(), uniform(r, v.Len(), -0.5, 0.5))
				if m.dt == gt.Float32 {
					other[k] = tensor.To64(tensor.To32(other[k]))
				}
			}
			got := slices.Clone(out(f, append([]*tensor.Tensor{x0}, other...)...))
			for k, n := range params {
				if err := G.Let(n, dense(m.dt, n.Shape(), other[k].Data())); err != nil {
					t.Fatal(err)
				}
			}
			check(t, "Func(params) at other weights against F after gorgonia.Let", got, out(func(xs ...*tape.Var) *tape.Var { return p.F(xs[0]) }, x0), 0)

			// The gradient of Σ c ⊙ y with respect to x and every weight.
			c := tensor.New(p.OutputShape(), uniform(r, tensor.SizeOf(p.OutputShape()), -1, 1))
			cn := G.NewTensor(b.g, m.dt, len(p.OutputShape()), G.WithShape(p.OutputShape()...), G.WithName("c"), G.WithValue(dense(m.dt, p.OutputShape(), c.Data())))
			if m.dt == gt.Float32 {
				c = tensor.To64(tensor.To32(c))
			}
			grads, err := G.Grad(G.Must(G.Sum(G.Must(G.HadamardProd(y, cn)))), append([]*G.Node{x}, params...)...)
			if err != nil {
				t.Fatal(err)
			}
			runForward(t, b.g)
			vals, err = p.ParamValues(params...)
			if err != nil {
				t.Fatal(err)
			}
			loss := func(xs ...*tape.Var) *tape.Var { return ops.Sum(ops.Mul(f(xs...), ops.Const(xs[0], c))) }
			_, ag, err := ad.Grad(loss, append([]*tensor.Tensor{x0}, vals...)...)
			if err != nil {
				t.Fatal(err)
			}
			bound := tolOf(m.dt).grad
			for k, n := range append([]*G.Node{x}, params...) {
				check(t, "ad.Grad of Func against gorgonia.Grad, input "+n.Name(), ag[k].Data(), valueOf(t, grads[k]), bound)
			}
		})
	}
}

// TestFuncErrors: Func and ParamValues refuse what is not a leaf the
// program reads, with a *NodeError naming it; the function panics on
// the wrong arguments.
func TestFuncErrors(t *testing.T) {
	b, x := f64([]int{2}, []float64{0.3, -0.4})
	w := b.param("w", []float64{1, 2}, 2)
	v := b.param("v", []float64{0.5, -0.5}, 2)
	unread := b.param("unread", []float64{1, 1}, 2)
	ints := G.NewVector(b.g, gt.Int, G.WithShape(2), G.WithName("ints"), G.WithInit(G.Zeroes()))
	h := G.Must(G.HadamardProd(x, w))
	y := G.Must(G.Add(h, G.Must(G.HadamardProd(x, G.Must(G.Abs(v))))))
	p, err := invadg.Import(b.g, x, y)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		params []*G.Node
		bad    *G.Node
		reason error
		says   string
	}{
		{"input", []*G.Node{x}, x, invadg.ErrParam, "input"},
		{"twice", []*G.Node{w, w}, w, invadg.ErrParam, "twice"},
		{"op-node", []*G.Node{w, h}, h, invadg.ErrParam, "not a leaf"},
		{"unread", []*G.Node{unread}, unread, invadg.ErrParam, "not a node of the imported program"},
		{"output", []*G.Node{y}, y, invadg.ErrParam, "not a leaf"},
		{"dtype", []*G.Node{ints}, ints, invadg.ErrDtype, "dtype int"},
		{"abs-of-param", []*G.Node{v}, nil, invadg.ErrUnsupported, "abs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, call := range []func() error{
				func() error { _, err := p.Func(tc.params...); return err },
				func() error { _, err := p.ParamValues(tc.params...); return err },
				func() error { _, _, _, err := invadg.LogAbsDetGrad(p, nil, tc.params); return err },
			} {
				err := call()
				if tc.name == "abs-of-param" && err == nil {
					continue // ParamValues does not look at what reads the leaf
				}
				var ne *invadg.NodeError
				if !errors.Is(err, tc.reason) || !errors.As(err, &ne) {
					t.Fatalf("error %v, want a *NodeError wrapping %v", err, tc.reason)
				}
				if tc.bad != nil && (ne.ID != tc.bad.ID() || ne.Name != tc.bad.Name()) {
					t.Errorf("error names node %d %q, want %d %q", ne.ID, ne.Name, tc.bad.ID(), tc.bad.Name())
				}
				if !strings.Contains(err.Error(), tc.says) {
					t.Errorf("message %q does not say %q", err, tc.says)
				}
			}
		})
	}
	if _, err := p.Func(w); err != nil {
		t.Fatalf("Func(w): %v", err)
	}

	f, err := p.Func(w)
	if err != nil {
		t.Fatal(err)
	}
	tp := tape.NewTape()
	x0, w0 := tp.Input(tensor.New([]int{2}, []float64{1, 2})), tp.Input(tensor.New([]int{2}, []float64{3, 4}))
	for _, tc := range []struct {
		name string
		xs   []*tape.Var
		want string
	}{
		{"too-few", []*tape.Var{x0}, "takes the input and 1 parameters, got 1"},
		{"nil", []*tape.Var{x0, nil}, "value 1 is nil"},
		{"size", []*tape.Var{x0, tp.Input(tensor.Zeros(3))}, `parameter 0 has shape [3], the node "w" has shape (2)`},
		{"x-size", []*tape.Var{tp.Input(tensor.Zeros(3)), w0}, "x has shape [3]"},
	} {
		if msg := panicMessage(func() { f(tc.xs...) }); !strings.HasPrefix(msg, "gorgonia: ") || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: panic %q, want one containing %q", tc.name, msg, tc.want)
		}
	}
	if msg := panicMessage(func() { p.Func(w, nil) }); msg != "gorgonia: parameter 1 is nil" {
		t.Errorf("Func with a nil parameter: panic %q", msg)
	}
}
