// Command flow builds a RealNVP/Glow-style normalizing flow on a batch
// stored the way ML code stores it — rows are samples, x of shape [B, d] —
// and gives each sample's exact log-density through invad's per-sample
// log|det J| (LogAbsDetAlong), checked against the closed form, then
// inverts the flow lump by lump (Invert) and, for comparison, by global
// Newton through IJVP.
//
//	go run ./examples/flow -samples 20000 -layers 4
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

const (
	dim    = 8 // features per sample
	half   = dim / 2
	hidden = 32 // hidden units of each coupling MLP
)

// layer holds one layer's constant weights: the coupling MLP's (w1, b1 for
// the hidden layer; ws, bs for the scale s, wt, bt for the shift t) and the
// 1×1 mixing W (Glow's invertible 1×1 convolution on a [B, d] batch).
type layer struct {
	w1, ws, wt, wm *tensor.Tensor // [half, hidden], [hidden, half] ×2, [d, d]
	b1, bs, bt     *tensor.Tensor // [hidden], [half], [half]
}

func newLayers(k int) []layer {
	rng := rand.New(rand.NewPCG(11, 5))
	rnd := func(scale float64, shape ...int) *tensor.Tensor {
		t := tensor.Zeros(shape...)
		for i := range t.Data() {
			t.Data()[i] = scale * rng.NormFloat64() / math.Sqrt(float64(shape[0]))
		}
		return t
	}
	ls := make([]layer, k)
	for i := range ls {
		wm := rnd(0.3, dim, dim)
		for j := range dim {
			wm.Data()[j*dim+j] += 1 // well conditioned, not orthogonal
		}
		ls[i] = layer{
			w1: rnd(1, half, hidden), ws: rnd(0.5, hidden, half), wt: rnd(1, hidden, half), wm: wm,
			b1: rnd(0.3, hidden), bs: rnd(0.1, half), bt: rnd(0.3, half),
		}
	}
	return ls
}

// flow maps x [B, d] through the layers: each splits the features into
// halves a and b, keeps a, maps b ↦ b·exp(s(a)) + t(a) with s = tanh(z Ws
// + bs), t = z Wt + bt, z = tanh(a W1 + b1) (biases broadcast over the
// rows), and mixes the features by x ↦ x·W.
func flow(ls []layer) func(*tape.Var) *tape.Var {
	return func(x *tape.Var) *tape.Var {
		c := func(t *tensor.Tensor) *tape.Var { return ops.Const(x, t) }
		for _, l := range ls {
			p := ops.SplitAxis(x, 1, half, half)
			a, b := p[0], p[1]
			z := ops.Tanh(ops.Add(ops.MatMul(a, c(l.w1)), c(l.b1)))
			s := ops.Tanh(ops.Add(ops.MatMul(z, c(l.ws)), c(l.bs)))
			t := ops.Add(ops.MatMul(z, c(l.wt)), c(l.bt))
			x = ops.MatMul(ops.ConcatAxis(1, a, ops.Add(ops.Mul(b, ops.Exp(s)), t)), c(l.wm))
		}
		return x
	}
}

// closedForm runs the flow in plain Go, sample by sample, and returns each
// sample's log|det J| = Σ over layers of Σ s + log|det W| (W's by gonum's
// LU): a reference independent of invad.
func closedForm(ls []layer, x []float64, B int) []float64 {
	ldw := make([]float64, len(ls))
	for i, l := range ls {
		var lu mat.LU
		lu.Factorize(mat.NewDense(dim, dim, l.wm.Data()))
		ldw[i], _ = lu.LogDet()
	}
	ld := make([]float64, B)
	v, nv := make([]float64, dim), make([]float64, dim)
	z := make([]float64, hidden)
	for i := range B {
		copy(v, x[i*dim:(i+1)*dim])
		for li, l := range ls {
			for j := range hidden {
				z[j] = l.b1.Data()[j]
				for k := range half {
					z[j] += v[k] * l.w1.Data()[k*hidden+j]
				}
				z[j] = math.Tanh(z[j])
			}
			copy(nv, v)
			for j := range half {
				s, t := l.bs.Data()[j], l.bt.Data()[j]
				for k := range hidden {
					s += z[k] * l.ws.Data()[k*half+j]
					t += z[k] * l.wt.Data()[k*half+j]
				}
				s = math.Tanh(s)
				nv[half+j] = v[half+j]*math.Exp(s) + t
				ld[i] += s
			}
			for j := range dim {
				v[j] = 0
				for k := range dim {
					v[j] += nv[k] * l.wm.Data()[k*dim+j]
				}
			}
			ld[i] += ldw[li]
		}
	}
	return ld
}

type summary struct {
	maxLump      int     // the widest block an LU factorizes
	perSampleErr float64 // max |LogAbsDetAlong − closed form|
	logpErr      float64 // the same for the log-densities
	xErr         float64 // max |x − x_true| of Invert
	invertSteps  int     // the most Newton steps Invert took on a lump
	residual     float64 // global Newton's final ‖f(x) − y‖∞
	newtonErr    float64 // and its max |x − x_true|
	iters        int
}

func run(samples, layers, show int, out io.Writer) (*summary, error) {
	ls := newLayers(layers)
	f := flow(ls)
	rng := rand.New(rand.NewPCG(3, 4))
	xTrue := tensor.Zeros(samples, dim)
	for i := range xTrue.Data() {
		xTrue.Data()[i] = rng.NormFloat64()
	}
	fmt.Fprintf(out, "normalizing flow: %d coupling layers with 1×1 mixing, x of shape [%d, %d] (rows are samples)\n\n", layers, samples, dim)

	// Linearize at x_true: the lumps, then one log|det| per sample.
	t0 := time.Now()
	y := f(tape.NewTape().Input(xTrue)).Value().Clone()
	primal := time.Since(t0)
	t0 = time.Now()
	lin, err := inverse.Linearize(f, xTrue)
	if err != nil {
		return nil, err
	}
	lumps, err := lin.Lumps()
	if err != nil {
		return nil, err
	}
	tLin := time.Since(t0)
	s := &summary{}
	kinds := map[string]int{}
	for _, l := range lumps {
		kinds[l.Kind.String()]++
		s.maxLump = max(s.maxLump, l.Block)
	}
	var ks []string
	for _, k := range []string{"batch", "step", "dense", "sparse", "expansion", "copy"} {
		if kinds[k] > 0 {
			ks = append(ks, fmt.Sprintf("%d %s", kinds[k], k))
		}
	}
	fmt.Fprintf(out, "lumps: %s; the widest block factorized by LU is %d×%d (a sample has %d features),\nsteps by their op rules (diagonal, or the LU of a mixing W)\n", strings.Join(ks, ", "), s.maxLump, s.maxLump, dim)
	t0 = time.Now()
	ld, err := lin.LogAbsDetAlong(0)
	if err != nil {
		return nil, err
	}
	tLD := time.Since(t0)
	fmt.Fprintf(out, "primal %v, Linearize (lumps factorized) %v, per-sample log|det J| %v\n\n", primal.Round(time.Microsecond), tLin.Round(time.Microsecond), tLD.Round(time.Microsecond))

	// log p(x) = log N(f(x); 0, I) + log|det J_f(x)|, per sample.
	cf := closedForm(ls, xTrue.Data(), samples)
	fmt.Fprintf(out, "per-sample log-density log p(x) = log N(f(x)) + log|det J|:\n%7s %18s %18s %18s\n", "sample", "log|det J| invad", "closed form", "log p(x)")
	for i := range samples {
		lp := ld.Data()[i]
		for j := range dim {
			yj := y.Data()[i*dim+j]
			lp -= 0.5*yj*yj + 0.5*math.Log(2*math.Pi)
		}
		lpRef := lp - ld.Data()[i] + cf[i]
		s.perSampleErr = math.Max(s.perSampleErr, math.Abs(ld.Data()[i]-cf[i]))
		s.logpErr = math.Max(s.logpErr, math.Abs(lp-lpRef))
		if i < show {
			fmt.Fprintf(out, "%7d %18.12f %18.12f %18.12f\n", i, ld.Data()[i], cf[i], lp)
		}
	}
	fmt.Fprintf(out, "max |invad − closed form| over %d samples: %.2e\n\n", samples, s.perSampleErr)

	// Invert: solve f(x) = y for x, lump by lump (each coupling is affine
	// in its unknowns: one Newton step), then by global Newton for
	// comparison (each step one Linearize and one IJVP).
	t0 = time.Now()
	var trace []inverse.InvertLump
	xi, err := inverse.Invert(f, y, inverse.InvertTrace(&trace))
	if err != nil {
		return nil, err
	}
	tInv := time.Since(t0)
	for _, l := range trace {
		s.invertSteps = max(s.invertSteps, l.Iter)
	}
	for i, v := range xi.Data() {
		s.xErr = math.Max(s.xErr, math.Abs(v-xTrue.Data()[i]))
	}
	fmt.Fprintf(out, "inverse by Invert (lump by lump): %v (%.1f× the primal), at most %d Newton step per lump, max |x − x_true| = %.2e\n",
		tInv.Round(time.Millisecond), tInv.Seconds()/primal.Seconds(), s.invertSteps, s.xErr)
	F := func(x *tape.Var) *tape.Var { return ops.Sub(f(x), ops.Const(x, y)) }
	t0 = time.Now()
	res, err := newton.Solve(F, y, newton.Tol(1e-12))
	if err != nil {
		return nil, err
	}
	tNewton := time.Since(t0)
	s.residual, s.iters = res.Residual, res.Iters
	for i, v := range res.X.Data() {
		s.newtonErr = math.Max(s.newtonErr, math.Abs(v-xTrue.Data()[i]))
	}
	fmt.Fprintf(out, "inverse by global Newton:         %v (%.1f× the primal), %d iterations, max |x − x_true| = %.2e\n",
		tNewton.Round(time.Millisecond), tNewton.Seconds()/primal.Seconds(), s.iters, s.newtonErr)
	return s, nil
}

func main() {
	samples := flag.Int("samples", 20000, "samples in the batch")
	layers := flag.Int("layers", 4, "coupling layers")
	show := flag.Int("show", 5, "samples whose log-density is printed")
	flag.Parse()
	if *samples < 1 || *layers < 1 {
		fmt.Fprintln(os.Stderr, "flow: -samples and -layers must be positive")
		os.Exit(2)
	}
	if _, err := run(*samples, *layers, *show, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "flow:", err)
		os.Exit(1)
	}
}
