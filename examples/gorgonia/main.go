// Command gorgonia defines a normalizing flow of two affine coupling layers
// in Gorgonia, imports it into invad, inverts it by Newton's method with
// inverse-Jacobian products, x ← x − J⁻¹(f(x) − y), and prints the exact
// log|det J| next to its closed form Σ s, computed by Gorgonia.
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
	batch  = 8  // rows of x
	dim    = 4  // features per row, coupled in halves
	hidden = 16 // width of each coupling layer's network
	steps  = 8  // Newton steps
)

// flow is the Gorgonia graph: y = f(x), with the log-scales s of both
// layers kept for the closed form log|det J| = Σ s.
type flow struct {
	g    *G.ExprGraph
	x, y *G.Node
	s    []*G.Node
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

// couple returns z ⊙ exp(s(c)) + t(c) and s(c), where s and t share a
// hidden layer; s = tanh(…) keeps the scales in (1/e, e).
func couple(g *G.ExprGraph, r *rand.Rand, name string, c, z *G.Node) (out, s *G.Node) {
	half := dim / 2
	bcast := func(a, b *G.Node) *G.Node { return G.Must(G.BroadcastAdd(a, b, nil, []byte{0})) }
	w, b := param(g, r, "W"+name, 0.8, half, hidden), param(g, r, "b"+name, 0.2, hidden)
	ws, bs := param(g, r, "Ws"+name, 0.5, hidden, half), param(g, r, "bs"+name, 0.2, half)
	wt, bt := param(g, r, "Wt"+name, 0.5, hidden, half), param(g, r, "bt"+name, 0.2, half)
	h := G.Must(G.Tanh(bcast(G.Must(G.Mul(c, w)), b)))
	s = G.Must(G.Tanh(bcast(G.Must(G.Mul(h, ws)), bs)))
	t := bcast(G.Must(G.Mul(h, wt)), bt)
	return G.Must(G.Add(G.Must(G.HadamardProd(z, G.Must(G.Exp(s)))), t)), s
}

// newFlow builds two coupling layers: the second half is transformed given
// the first, then the first given the new second.
func newFlow(r *rand.Rand) *flow {
	g := G.NewGraph()
	x := G.NewMatrix(g, gt.Float64, G.WithShape(batch, dim), G.WithName("x"), G.WithInit(G.Zeroes()))
	a := G.Must(G.Slice(x, nil, G.S(0, dim/2)))
	b := G.Must(G.Slice(x, nil, G.S(dim/2, dim)))
	b2, s1 := couple(g, r, "1", a, b)
	a2, s2 := couple(g, r, "2", b2, a)
	return &flow{g: g, x: x, y: G.Must(G.Concat(1, a2, b2)), s: []*G.Node{s1, s2}}
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
	Residuals []float64 // ‖f(x) − y‖∞ before each Newton step, and after the last
	Error     float64   // ‖x − x_true‖∞ at the end
	LogAbsDet float64   // log|det J| at the solution, by invad
	SumS      float64   // Σ s at the solution, by Gorgonia
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
	res.Error = maxAbsDiff(x.Data(), xTrue.Data())
	fmt.Fprintf(w, "‖x − x_true‖∞ = %.3e\n", res.Error)

	if res.LogAbsDet, err = lin.LogAbsDet(); err != nil {
		return nil, err
	}
	if res.SumS, err = fl.closedForm(x); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "log|det J| = %.12f (invad, exact)\n", res.LogAbsDet)
	fmt.Fprintf(w, "Σ s        = %.12f (closed form, from Gorgonia's run)\n", res.SumS)
	return res, nil
}

func main() {
	if _, err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
