// Command gorgonia defines a normalizing flow of two affine coupling layers
// in Gorgonia, imports it into invad, inverts it by Newton's method with
// inverse-Jacobian products, x ← x − J⁻¹(f(x) − y), and prints the exact
// log|det J| next to its closed form Σ s, computed by Gorgonia. It then
// takes the gradient of log|det J| with respect to the Gorgonia weights,
// handed back as Gorgonia tensors, and one gradient step on them.
package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	invadg "github.com/invad/invad/interop/gorgonia"
	"github.com/invad/invad/interop/gtensor"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

const (
	batch  = 8    // rows of x
	dim    = 4    // features per row, coupled in halves
	hidden = 16   // width of each coupling layer's network
	steps  = 8    // Newton steps
	eta    = 1e-3 // the gradient step on the weights
)

// flow is the Gorgonia graph: y = f(x), with the log-scales s of both
// layers kept for the closed form log|det J| = Σ s, and the weights.
type flow struct {
	g       *G.ExprGraph
	x, y    *G.Node
	s       []*G.Node
	weights []*G.Node
}

// param adds a weight with values uniform in [-scale, scale).
func param(g *G.ExprGraph, r *rand.Rand, name string, scale float64, shape ...int) *G.Node {
	data := make([]float64, tensor.SizeOf(shape))
	for i := range data {
		data[i] = scale * (2*r.Float64() - 1)
	}
	return G.NewTensor(g, gt.Float64, len(shape), G.WithShape(shape...), G.WithName(name),
		G.WithValue(gt.New(gt.WithShape(shape...), gt.WithBacking(data))))
}

// couple returns z ⊙ exp(s(c)) + t(c), s(c) and the weights, where s and t
// share a hidden layer; s = tanh(…) keeps the scales in (1/e, e).
func couple(g *G.ExprGraph, r *rand.Rand, name string, c, z *G.Node) (out, s *G.Node, weights []*G.Node) {
	half := dim / 2
	bcast := func(a, b *G.Node) *G.Node { return G.Must(G.BroadcastAdd(a, b, nil, []byte{0})) }
	w, b := param(g, r, "W"+name, 0.8, half, hidden), param(g, r, "b"+name, 0.2, hidden)
	ws, bs := param(g, r, "Ws"+name, 0.5, hidden, half), param(g, r, "bs"+name, 0.2, half)
	wt, bt := param(g, r, "Wt"+name, 0.5, hidden, half), param(g, r, "bt"+name, 0.2, half)
	h := G.Must(G.Tanh(bcast(G.Must(G.Mul(c, w)), b)))
	s = G.Must(G.Tanh(bcast(G.Must(G.Mul(h, ws)), bs)))
	t := bcast(G.Must(G.Mul(h, wt)), bt)
	return G.Must(G.Add(G.Must(G.HadamardProd(z, G.Must(G.Exp(s)))), t)), s, []*G.Node{w, b, ws, bs, wt, bt}
}

// newFlow builds two coupling layers: the second half is transformed given
// the first, then the first given the new second.
func newFlow(r *rand.Rand) *flow {
	g := G.NewGraph()
	x := G.NewMatrix(g, gt.Float64, G.WithShape(batch, dim), G.WithName("x"), G.WithInit(G.Zeroes()))
	a := G.Must(G.Slice(x, nil, G.S(0, dim/2)))
	b := G.Must(G.Slice(x, nil, G.S(dim/2, dim)))
	b2, s1, w1 := couple(g, r, "1", a, b)
	a2, s2, w2 := couple(g, r, "2", b2, a)
	return &flow{g: g, x: x, y: G.Must(G.Concat(1, a2, b2)), s: []*G.Node{s1, s2}, weights: append(w1, w2...)}
}

// closedForm runs Gorgonia's TapeMachine at x and returns Σ s.
func (fl *flow) closedForm(x *tensor.Tensor) (float64, error) {
	if err := G.Let(fl.x, gtensor.ToDense(x)); err != nil {
		return 0, err
	}
	m := G.NewTapeMachine(fl.g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		return 0, err
	}
	sum := 0.0
	for _, s := range fl.s {
		v, err := invadg.ValueOf(s)
		if err != nil {
			return 0, err
		}
		for _, e := range v.Data() {
			sum += e
		}
	}
	return sum, nil
}

// result is what the example computes.
type result struct {
	Residuals []float64      // ‖f(x) − y‖∞ before each Newton step, and after the last
	Error     float64        // ‖x − x_true‖∞ at the end
	X         *tensor.Tensor // the solution
	LogAbsDet float64        // log|det J| at the solution, by invad
	SumS      float64        // Σ s at the solution, by Gorgonia

	GradLogAbsDet float64     // log|det J| from LogAbsDetGrad
	Grads         []*gt.Dense // ∇θ log|det J|, one per weight (fl.weights' order)
	GradNorm      float64     // ‖∇θ log|det J|‖₂
	After         float64     // log|det J| after θ ← θ + η ∇θ log|det J|
	Predicted     float64     // its first-order prediction, log|det J| + η‖∇θ‖²
}

func maxAbsDiff(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

func run(w io.Writer) (*result, error) {
	r := rand.New(rand.NewPCG(1, 2))
	fl := newFlow(r)
	p, err := invadg.Import(fl.g, fl.x, fl.y)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "imported %d Gorgonia nodes into an invad program\n", len(p.Ops()))

	// A target y = f(x_true) for a known x_true.
	xTrue := tensor.Zeros(batch, dim)
	for i := range xTrue.Data() {
		xTrue.Data()[i] = 2*r.Float64() - 1
	}
	y := p.F(tape.NewTape().Input(xTrue)).Value().Clone()

	// Newton from x = y: x ← x − J⁻¹ (f(x) − y).
	res := &result{}
	x := y.Clone()
	var lin *inverse.Linearization
	for k := 0; ; k++ {
		if lin, err = inverse.Linearize(p.F, x); err != nil {
			return nil, err
		}
		fx := lin.Output().Data()
		resid := tensor.Zeros(batch, dim)
		for i := range fx {
			resid.Data()[i] = fx[i] - y.Data()[i]
		}
		res.Residuals = append(res.Residuals, maxAbsDiff(fx, y.Data()))
		fmt.Fprintf(w, "step %d: ‖f(x) − y‖∞ = %.3e\n", k, res.Residuals[k])
		if k == steps {
			break
		}
		dx, err := lin.IJVP(resid)
		if err != nil {
			return nil, err
		}
		for i, d := range dx.Data() {
			x.Data()[i] -= d
		}
	}
	res.Error, res.X = maxAbsDiff(x.Data(), xTrue.Data()), x
	fmt.Fprintf(w, "‖x − x_true‖∞ = %.3e\n", res.Error)

	if res.LogAbsDet, err = lin.LogAbsDet(); err != nil {
		return nil, err
	}
	if res.SumS, err = fl.closedForm(x); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "log|det J| = %.12f (invad, exact)\n", res.LogAbsDet)
	fmt.Fprintf(w, "Σ s        = %.12f (closed form, from Gorgonia's run)\n", res.SumS)

	// The gradient of log|det J| at x with respect to the Gorgonia weights,
	// as Gorgonia tensors of the weights' shapes, and one step of gradient
	// descent on −log|det J|, in place on the weights' values, with
	// Gorgonia's own tensor arithmetic.
	if res.GradLogAbsDet, _, res.Grads, err = invadg.LogAbsDetGrad(p, x, fl.weights); err != nil {
		return nil, err
	}
	for _, d := range res.Grads {
		for _, v := range d.Float64s() {
			res.GradNorm += v * v
		}
	}
	res.Predicted = res.GradLogAbsDet + eta*res.GradNorm
	res.GradNorm = math.Sqrt(res.GradNorm)
	fmt.Fprintf(w, "∇θ log|det J|: %d Gorgonia tensors like the weights, ‖∇θ‖ = %.6f\n", len(res.Grads), res.GradNorm)
	for k, n := range fl.weights {
		step, err := res.Grads[k].MulScalar(eta, true)
		if err != nil {
			return nil, err
		}
		if _, err := n.Value().(*gt.Dense).Add(step, gt.UseUnsafe()); err != nil {
			return nil, err
		}
	}
	if lin, err = inverse.Linearize(p.F, x); err != nil { // F reads the new weights
		return nil, err
	}
	if res.After, err = lin.LogAbsDet(); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "θ ← θ + %g ∇θ: log|det J| = %.6f (first order: %.6f)\n", eta, res.After, res.Predicted)
	return res, nil
}

func main() {
	if _, err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
