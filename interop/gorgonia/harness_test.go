package gorgonia_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	invadg "github.com/invad/invad/interop/gorgonia"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tensor"
)

// model is one Gorgonia graph the tests import: build adds it to a graph on
// the input node x and returns the output node. Every call of build binds
// copies of the same parameter values, so that a graph can be built twice
// (once to run forward, once with gradient nodes).
type model struct {
	name, reason string
	dt           gt.Dtype
	in           []int     // the input's shape
	x            []float64 // the point
	build        func(b *builder, x *G.Node) *G.Node
	// logDet, if set, is the closed form of log|det J| at the point; it
	// reads the values of the first graph after its forward run.
	logDet func(b *builder) float64
	// gradBug, if set, says why Gorgonia's own gradients of the model are
	// wrong: the derivatives are then checked against central differences
	// of Gorgonia's forward run alone (TestGorgoniaGradientBugs).
	gradBug string
}

// builder makes the nodes of one graph.
type builder struct {
	g     *G.ExprGraph
	dt    gt.Dtype
	named map[string]*G.Node // nodes a model wants to look at later
}

// dense returns a Gorgonia tensor of the builder's dtype holding a copy of data.
func dense(dt gt.Dtype, shape []int, data []float64) *gt.Dense {
	if dt == gt.Float32 {
		d := make([]float32, len(data))
		for i, v := range data {
			d[i] = float32(v)
		}
		return gt.New(gt.WithShape(shape...), gt.WithBacking(d))
	}
	return gt.New(gt.WithShape(shape...), gt.WithBacking(append([]float64(nil), data...)))
}

// param adds a variable holding data.
func (b *builder) param(name string, data []float64, shape ...int) *G.Node {
	return G.NewTensor(b.g, b.dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(dense(b.dt, shape, data)))
}

// scalar adds a Gorgonia constant scalar.
func (b *builder) scalar(v float64) *G.Node {
	if b.dt == gt.Float32 {
		return G.NewConstant(float32(v))
	}
	return G.NewConstant(v)
}

// keep remembers a node under a name.
func (b *builder) keep(name string, n *G.Node) *G.Node {
	b.named[name] = n
	return n
}

// graphOf builds m on a fresh graph.
func graphOf(m model) (*builder, *G.Node, *G.Node) {
	b := &builder{g: G.NewGraph(), dt: m.dt, named: map[string]*G.Node{}}
	x := G.NewTensor(b.g, m.dt, len(m.in), G.WithShape(m.in...), G.WithName("x"), G.WithValue(dense(m.dt, m.in, m.x)))
	return b, x, m.build(b, x)
}

// uniform returns n seeded values in [lo, hi).
func uniform(r *rand.Rand, n int, lo, hi float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = lo + (hi-lo)*r.Float64()
	}
	return s
}

// tol are the bounds of a model's comparisons, relative to 1 + the largest
// reference magnitude.
type tol struct {
	forward float64 // imported output against the TapeMachine
	grad    float64 // JVP, VJP, Jacobian against Gorgonia's gradients
	step    float64 // central difference step
	fd      float64 // Jacobian against central differences of the TapeMachine
	inverse float64 // IJVP, VIJP, LogAbsDet against the dense LU
}

func tolOf(dt gt.Dtype) tol {
	if dt == gt.Float32 {
		// Gorgonia computes in float32 (unit roundoff 6e-8) over a few
		// dozen operations; invad in float64 from the same float32 values.
		// Differences with step 1e-2: truncation h²|f'''|/6 ≈ 2e-5 for
		// |f'''| ≤ 1, roundoff 6e-8/h = 6e-6 per evaluation, relative to
		// values of order 1 (the models' sums reach 10, hence 1e-3).
		return tol{forward: 2e-6, grad: 2e-5, step: 1e-2, fd: 1e-3, inverse: 1e-9}
	}
	// Both compute in float64; the sums run in different orders, and the
	// inverse products go through LUs of matrices with condition numbers
	// below 1e3 (checked in the test). Differences with step 1e-5:
	// truncation ≈ 2e-11, roundoff 1e-16·10/1e-5 = 1e-10.
	return tol{forward: 1e-13, grad: 1e-12, step: 1e-5, fd: 1e-8, inverse: 1e-10}
}

// maxErr returns ‖got − want‖∞ / (1 + ‖want‖∞).
func maxErr(got, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	d, w := 0.0, 0.0
	for i := range got {
		d = math.Max(d, math.Abs(got[i]-want[i]))
		w = math.Max(w, math.Abs(want[i]))
	}
	if math.IsNaN(d) {
		return math.Inf(1)
	}
	return d / (1 + w)
}

func check(t *testing.T, what string, got, want []float64, bound float64) {
	t.Helper()
	if e := maxErr(got, want); !(e <= bound) {
		t.Errorf("%s: relative error %.3g, bound %.3g\n got %v\nwant %v", what, e, bound, got, want)
	}
}

// valueOf reads a node's value as float64.
func valueOf(t *testing.T, n *G.Node) []float64 {
	t.Helper()
	v, err := invadg.ValueOf(n)
	if err != nil {
		t.Fatal(err)
	}
	return v.Data()
}

// runForward runs a graph once with a TapeMachine.
func runForward(t *testing.T, g *G.ExprGraph) {
	t.Helper()
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatalf("TapeMachine: %v", err)
	}
}

// gorgoniaGrads builds m again with a cotangent leaf c and the gradient of
// Σ y ⊙ c with respect to x. vjp(c) runs Gorgonia's reverse mode; the
// graph, now holding backward nodes, and its x and y are returned too.
type gradGraph struct {
	b    *builder
	x, y *G.Node
	c    *G.Node
	dx   *G.Node
	m    G.VM
}

func newGradGraph(t *testing.T, m model) *gradGraph {
	t.Helper()
	b, x, y := graphOf(m)
	ys := []int(y.Shape())
	c := G.NewTensor(b.g, m.dt, len(ys), G.WithShape(ys...), G.WithName("c"), G.WithValue(dense(m.dt, ys, make([]float64, y.Shape().TotalSize()))))
	if len(ys) == 0 {
		c = G.NewScalar(b.g, m.dt, G.WithName("c"))
	}
	cost := G.Must(G.Sum(G.Must(G.HadamardProd(y, c))))
	grads, err := G.Grad(cost, x)
	if err != nil {
		t.Fatalf("gorgonia.Grad: %v", err)
	}
	return &gradGraph{b: b, x: x, y: y, c: c, dx: grads[0], m: G.NewTapeMachine(b.g)}
}

// vjp returns Gorgonia's gradient of Σ y ⊙ c with respect to x.
func (gg *gradGraph) vjp(t *testing.T, c []float64) []float64 {
	t.Helper()
	if err := G.Let(gg.c, dense(gg.b.dt, gg.c.Shape(), c)); err != nil {
		t.Fatal(err)
	}
	gg.m.Reset()
	if err := gg.m.RunAll(); err != nil {
		t.Fatalf("TapeMachine with gradients: %v", err)
	}
	return append([]float64(nil), valueOf(t, gg.dx)...)
}

// jacobian returns Gorgonia's Jacobian, row by row from unit cotangents.
func (gg *gradGraph) jacobian(t *testing.T, n int) []float64 {
	t.Helper()
	j := make([]float64, 0, n*n)
	for i := 0; i < n; i++ {
		e := make([]float64, n)
		e[i] = 1
		j = append(j, gg.vjp(t, e)...)
	}
	return j
}

// runModel checks one model end to end.
func runModel(t *testing.T, m model) {
	tl := tolOf(m.dt)
	r := rand.New(rand.NewPCG(1, 1))

	// Forward: the imported program's value against the TapeMachine's.
	b, x, y := graphOf(m)
	runForward(t, b.g)
	p, err := invadg.Import(b.g, x, y)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	x0, err := p.InputValue()
	if err != nil {
		t.Fatal(err)
	}
	n := x0.Len()
	lin, err := inverse.Linearize(p.F, x0)
	if err != nil {
		t.Fatalf("Linearize: %v", err)
	}
	check(t, "output against the TapeMachine", lin.Output().Data(), valueOf(t, y), tl.forward)

	// The same model in a graph that gorgonia.Grad extended: the import
	// must ignore the backward nodes and give the same program.
	gg := newGradGraph(t, m)
	defer gg.m.Close()
	p2, err := invadg.Import(gg.b.g, gg.x, gg.y)
	if err != nil {
		t.Fatalf("Import after gorgonia.Grad: %v", err)
	}
	if a, b := fmt.Sprint(forms(p.Ops())), fmt.Sprint(forms(p2.Ops())); a != b {
		t.Errorf("ops imported after gorgonia.Grad differ:\n%s\nwant\n%s", b, a)
	}
	lin2, err := inverse.Linearize(p2.F, x0)
	if err != nil {
		t.Fatalf("Linearize after gorgonia.Grad: %v", err)
	}
	check(t, "output of the graph after gorgonia.Grad", lin2.Output().Data(), lin.Output().Data(), 0)

	// The Jacobian against central differences of Gorgonia's forward run.
	jac := jacobian(t, lin)
	jfd := fdJacobian(t, b.g, x, y, m, tl.step)
	check(t, "Jacobian against central differences of the TapeMachine", jac, jfd, tl.fd)

	// JVP, VJP and the Jacobian against Gorgonia's reverse mode.
	c, v := uniform(r, n, -1, 1), uniform(r, n, -1, 1)
	vjp, err := lin.VJP(tensor.New(lin.Output().Shape(), c))
	if err != nil {
		t.Fatal(err)
	}
	jvp, err := lin.JVP(tensor.New(x0.Shape(), v))
	if err != nil {
		t.Fatal(err)
	}
	jg := jfd
	if m.gradBug == "" {
		jg = gg.jacobian(t, n)
		check(t, "Jacobian against Gorgonia's gradients", jac, jg, tl.grad)
		check(t, "VJP against gorgonia.Grad", vjp.Data(), gg.vjp(t, c), tl.grad)
		check(t, "JVP against Gorgonia's Jacobian times v", jvp.Data(), matVec(jg, v, false), tl.grad)
	} else {
		check(t, "VJP against central differences", vjp.Data(), matVec(jfd, c, true), tl.fd)
		check(t, "JVP against central differences", jvp.Data(), matVec(jfd, v, false), tl.fd)
	}

	// The inverse products against a dense LU of the Jacobian.
	var lu mat.LU
	lu.Factorize(mat.NewDense(n, n, append([]float64(nil), jac...)))
	if cond := lu.Cond(); cond > 1e3 {
		t.Fatalf("the test point is ill-conditioned: cond(J) = %.3g", cond)
	}
	dy := uniform(r, n, -1, 1)
	ijvp, err := lin.IJVP(tensor.New(lin.Output().Shape(), dy))
	if err != nil {
		t.Fatalf("IJVP: %v", err)
	}
	check(t, "IJVP against the LU solve", ijvp.Data(), luSolve(&lu, dy, false), tl.inverse)
	cx := uniform(r, n, -1, 1)
	vijp, err := lin.VIJP(tensor.New(x0.Shape(), cx))
	if err != nil {
		t.Fatalf("VIJP: %v", err)
	}
	check(t, "VIJP against the LU solve", vijp.Data(), luSolve(&lu, cx, true), tl.inverse)
	ld, err := lin.LogAbsDet()
	if err != nil {
		t.Fatalf("LogAbsDet: %v", err)
	}
	want, _ := lu.LogDet()
	check(t, "LogAbsDet against the LU", []float64{ld}, []float64{want}, tl.inverse)
	if m.logDet != nil {
		check(t, "LogAbsDet against the closed form", []float64{ld}, []float64{m.logDet(b)}, tl.forward*float64(n))
	}
}

// jacobian returns lin's dense Jacobian, column by column from JVPs run
// one after the other. It is what lin.Jacobian() returns, but
// lin.Jacobian() runs its sweeps in parallel, and with -race that trips
// over a data race inside package inverse (buffers appends to a recorded
// node's input slice, whose spare capacity the sweeps share), which this
// package cannot fix.
func jacobian(t *testing.T, lin *inverse.Linearization) []float64 {
	t.Helper()
	n := lin.Len()
	jac := make([]float64, n*n)
	for j := 0; j < n; j++ {
		e := tensor.Zeros(lin.Input().Shape()...)
		e.Data()[j] = 1
		col, err := lin.JVP(e)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range col.Data() {
			jac[i*n+j] = v
		}
	}
	return jac
}

// fdJacobian returns the Jacobian of Gorgonia's forward run (a TapeMachine
// on g, x bound to perturbed copies of m.x) by central differences.
func fdJacobian(t *testing.T, g *G.ExprGraph, x, y *G.Node, m model, h float64) []float64 {
	t.Helper()
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	at := func(p []float64) []float64 {
		if err := G.Let(x, dense(m.dt, m.in, p)); err != nil {
			t.Fatal(err)
		}
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatalf("TapeMachine: %v", err)
		}
		return append([]float64(nil), valueOf(t, y)...)
	}
	n := len(m.x)
	jac := make([]float64, n*n)
	for j := 0; j < n; j++ {
		p := append([]float64(nil), m.x...)
		p[j] = m.x[j] + h
		hi := at(p)
		p[j] = m.x[j] - h
		lo := at(p)
		for i := 0; i < n; i++ {
			jac[i*n+j] = (hi[i] - lo[i]) / (2 * h)
		}
	}
	if err := G.Let(x, dense(m.dt, m.in, m.x)); err != nil {
		t.Fatal(err)
	}
	return jac
}

// forms lists the imported nodes' op forms and lowerings.
func forms(ops []invadg.OpInfo) []string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = o.Op + " " + o.Form + " → " + o.As
	}
	return s
}

func matVec(a, v []float64, trans bool) []float64 {
	n := len(v)
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if trans {
				out[i] += a[j*n+i] * v[j]
			} else {
				out[i] += a[i*n+j] * v[j]
			}
		}
	}
	return out
}

// luSolve solves J x = b, or Jᵀ x = b (x is then bᵀJ⁻¹ as a column).
func luSolve(lu *mat.LU, b []float64, trans bool) []float64 {
	var x mat.VecDense
	if err := lu.SolveVecTo(&x, trans, mat.NewVecDense(len(b), append([]float64(nil), b...))); err != nil {
		panic(err)
	}
	return x.RawVector().Data
}
