// Command train-flow trains two normalizing flows on a 2-D toy density (a
// ring of eight Gaussians) by maximum likelihood, with invad's exact
// gradients: a RealNVP (affine couplings) and a residual flow (x + g(x)
// with a Lipschitz-constrained MLP g, where libraries estimate log|det|
// by a stochastic power series). The loss is the mean negative
// log-likelihood −(1/B)·Σ_b [log N(f(x_b); 0, I) + log|det ∂f/∂x_b|] over
// a batch stored feature-major (x of shape [2, B], the samples innermost,
// so that every lump is per sample): its gradient in the parameters is
// package ad's Grad for the first term and inverse.LogAbsDetAlongGrad with
// every sample weighted 1/B, the exact Σ over lumps of tr(A⁻¹·∂A) per
// sample, for the second. The optimizer is a plain
// Adam loop written here. It prints the loss as it trains and writes the
// learned density as a PNG.
//
//	go run ./examples/train-flow
//	go run ./examples/train-flow -flow resflow -steps 400 -png resflow.png
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/invad/invad/ad"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// A flow is f(x, θ…) on x of shape [2, B] and its parameters' starting
// values.
type flow struct {
	name   string
	f      func(in ...*tape.Var) *tape.Var // in[0] = x, in[1:] = θ
	params []*tensor.Tensor
}

// hidden is the width of the flows' MLPs.
const hidden = 16

func randn(rng *rand.Rand, scale float64, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = rng.NormFloat64() * scale
	}
	return t
}

// realNVP is `layers` affine couplings alternating the coordinate they
// move: b ↦ b·exp(s(a)) + t(a), with h = tanh(W₁a + b₁), s = tanh(W_s h +
// b_s), t = W_t h + b_t.
func realNVP(rng *rand.Rand, layers int) flow {
	var params []*tensor.Tensor
	for range layers {
		params = append(params,
			randn(rng, 0.5, hidden, 1), tensor.Zeros(hidden, 1), // W₁, b₁
			randn(rng, 0.01, 1, hidden), tensor.Zeros(1, 1), // W_s, b_s
			randn(rng, 0.01, 1, hidden), tensor.Zeros(1, 1)) // W_t, b_t
	}
	return flow{name: "realnvp", f: couplings(2, layers), params: params}
}

// couplings is the RealNVP program on x of shape [d, B]: `layers` affine
// couplings, the halves a (the first d/2 rows) and b swapping roles on odd
// layers, each with six parameters W₁, b₁, W_s, b_s, W_t, b_t.
func couplings(d, layers int) func(in ...*tape.Var) *tape.Var {
	k := d / 2
	return func(in ...*tape.Var) *tape.Var {
		x := in[0]
		for l := range layers {
			p := in[1+6*l : 1+6*l+6]
			a, b := ops.SliceAxis(x, 0, 0, k), ops.SliceAxis(x, 0, k, d)
			if l%2 == 1 {
				a, b = b, a
			}
			h := ops.Tanh(ops.Add(ops.MatMul(p[0], a), p[1]))
			s := ops.Tanh(ops.Add(ops.MatMul(p[2], h), p[3]))
			t := ops.Add(ops.MatMul(p[4], h), p[5])
			b = ops.Add(ops.Mul(b, ops.Exp(s)), t)
			if l%2 == 1 {
				a, b = b, a
			}
			x = ops.ConcatAxis(0, a, b)
		}
		return x
	}
}

// lipschitz returns c·W/√(1 + ‖W‖²_F): its spectral norm is below c, for
// any W, so a residual block built from such weights and tanh is a
// contraction plus the identity, invertible.
func lipschitz(w *tape.Var, c float64) *tape.Var {
	norm := ops.Sqrt(ops.AddScalar(ops.Sum(ops.Square(w)), 1))
	return ops.Div(ops.Scale(w, c), ops.Reshape(norm, 1, 1))
}

// resFlow is `blocks` residual blocks x + W₂·tanh(W₁x + b₁) + b₂ with
// Lip < 0.9² each, then a per-coordinate affine map x·exp(a) + m.
func resFlow(rng *rand.Rand, blocks int) flow {
	var params []*tensor.Tensor
	for range blocks {
		params = append(params,
			randn(rng, 0.5, hidden, 2), tensor.Zeros(hidden, 1), // W₁, b₁
			randn(rng, 0.5, 2, hidden), tensor.Zeros(2, 1)) // W₂, b₂
	}
	params = append(params, tensor.Zeros(2, 1), tensor.Zeros(2, 1)) // a, m
	f := func(in ...*tape.Var) *tape.Var {
		x := in[0]
		for k := range blocks {
			p := in[1+4*k : 1+4*k+4]
			h := ops.Tanh(ops.Add(ops.MatMul(lipschitz(p[0], 0.9), x), p[1]))
			x = ops.Add(x, ops.Add(ops.MatMul(lipschitz(p[2], 0.9), h), p[3]))
		}
		a, m := in[1+4*blocks], in[2+4*blocks]
		return ops.Add(ops.Mul(x, ops.Exp(a)), m)
	}
	return flow{name: "resflow", f: f, params: params}
}

// ring draws B points of a ring of eight Gaussians (radius 2, σ 0.2),
// feature-major: [2, B].
func ring(rng *rand.Rand, B int) *tensor.Tensor {
	x := tensor.Zeros(2, B)
	d := x.Data()
	for s := range B {
		k := float64(rng.IntN(8))
		d[s] = 2*math.Cos(k*math.Pi/4) + 0.2*rng.NormFloat64()
		d[B+s] = 2*math.Sin(k*math.Pi/4) + 0.2*rng.NormFloat64()
	}
	return x
}

// lossGrad returns the mean negative log-likelihood of the batch x under
// fl with parameters θ and its gradient in θ.
func lossGrad(fl flow, x *tensor.Tensor, theta []*tensor.Tensor) (float64, []*tensor.Tensor, error) {
	n := x.Shape()[1]
	B := float64(n)
	xs := append([]*tensor.Tensor{x}, theta...)
	// ½·Σ|f(x)|² and its gradient (reverse mode).
	half := func(in ...*tape.Var) *tape.Var { return ops.Scale(ops.Sum(ops.Square(fl.f(in...))), 0.5) }
	sq, g, err := ad.Grad(half, xs...)
	if err != nil {
		return 0, nil, err
	}
	// log|det ∂f/∂x| per sample (the samples along axis 1 of x) and the
	// exact gradient of their mean: every sample weighted 1/B.
	w := tensor.Zeros(n)
	for s := range w.Data() {
		w.Data()[s] = 1 / B
	}
	ld, gld, err := inverse.LogAbsDetAlongGrad(fl.f, xs, 0, 1, w)
	if err != nil {
		return 0, nil, err
	}
	mean := 0.0
	for _, v := range ld.Data() {
		mean += v
	}
	mean /= B
	loss := sq/B + math.Log(2*math.Pi) - mean
	grads := make([]*tensor.Tensor, len(theta))
	for j := range theta {
		gr := tensor.Zeros(theta[j].Shape()...)
		for k := range gr.Data() {
			gr.Data()[k] = g[j+1].Data()[k]/B - gld[j+1].Data()[k]
		}
		grads[j] = gr
	}
	return loss, grads, nil
}

// adam is the Adam optimizer (Kingma and Ba), state per parameter.
type adam struct {
	lr, b1, b2, eps float64
	t               int
	m, v            [][]float64
}

func newAdam(params []*tensor.Tensor, lr float64) *adam {
	a := &adam{lr: lr, b1: 0.9, b2: 0.999, eps: 1e-8}
	for _, p := range params {
		a.m = append(a.m, make([]float64, p.Len()))
		a.v = append(a.v, make([]float64, p.Len()))
	}
	return a
}

func (a *adam) step(params, grads []*tensor.Tensor) {
	a.t++
	c1, c2 := 1-math.Pow(a.b1, float64(a.t)), 1-math.Pow(a.b2, float64(a.t))
	for j, p := range params {
		m, v, g := a.m[j], a.v[j], grads[j].Data()
		for k := range p.Data() {
			m[k] = a.b1*m[k] + (1-a.b1)*g[k]
			v[k] = a.b2*v[k] + (1-a.b2)*g[k]*g[k]
			p.Data()[k] -= a.lr * (m[k] / c1) / (math.Sqrt(v[k]/c2) + a.eps)
		}
	}
}

type config struct {
	flow        string
	steps, B    int
	lr          float64
	png         string
	seed        uint64
	every       int
	testBatches int
}

// result is a trained flow with its loss before and after, on a held-out
// batch.
type result struct {
	fl                    flow
	before, after, elapse float64
}

func train(fl flow, cfg config, w io.Writer) (*result, error) {
	rng := rand.New(rand.NewPCG(cfg.seed, 2))
	test := ring(rng, cfg.B)
	evalLoss := func() (float64, error) {
		l, _, err := lossGrad(fl, test, fl.params)
		return l, err
	}
	before, err := evalLoss()
	if err != nil {
		return nil, err
	}
	opt := newAdam(fl.params, cfg.lr)
	t0 := time.Now()
	for s := 1; s <= cfg.steps; s++ {
		loss, grads, err := lossGrad(fl, ring(rng, cfg.B), fl.params)
		if err != nil {
			return nil, fmt.Errorf("%s, step %d: %w", fl.name, s, err)
		}
		opt.step(fl.params, grads)
		if s == 1 || s%cfg.every == 0 || s == cfg.steps {
			fmt.Fprintf(w, "%s step %4d  loss %.4f  (%.1fs)\n", fl.name, s, loss, time.Since(t0).Seconds())
		}
	}
	after, err := evalLoss()
	if err != nil {
		return nil, err
	}
	return &result{fl: fl, before: before, after: after, elapse: time.Since(t0).Seconds()}, nil
}

// logDensity returns log p(x) = log N(f(x)) + log|det ∂f/∂x| per sample
// of x [2, B]: one Linearization, the per-sample log-dets from the lumps.
func logDensity(fl flow, x *tensor.Tensor) ([]float64, error) {
	lin, err := inverse.LinearizeArg(fl.f, append([]*tensor.Tensor{x}, fl.params...), 0)
	if err != nil {
		return nil, err
	}
	ld, err := lin.LogAbsDetAlong(1)
	if err != nil {
		return nil, err
	}
	B := x.Shape()[1]
	z := lin.Output().Data()
	out := make([]float64, B)
	for s := range out {
		out[s] = -0.5*(z[s]*z[s]+z[B+s]*z[B+s]) - math.Log(2*math.Pi) + ld.Data()[s]
	}
	return out, nil
}

// writePNG draws the learned density on [−3, 3]² as a size×size image
// (darker is denser), with the standard library alone: a plot library
// would be a dependency for one heat map.
func writePNG(path string, fl flow, size int) error {
	x := tensor.Zeros(2, size*size)
	for r := range size {
		for c := range size {
			s := r*size + c
			x.Data()[s] = -3 + 6*(float64(c)+0.5)/float64(size)
			x.Data()[size*size+s] = 3 - 6*(float64(r)+0.5)/float64(size)
		}
	}
	lp, err := logDensity(fl, x)
	if err != nil {
		return err
	}
	peak := 0.0
	for _, v := range lp {
		peak = math.Max(peak, math.Exp(v))
	}
	img := image.NewGray(image.Rect(0, 0, size, size))
	for s, v := range lp {
		img.Pix[s] = uint8(255 - math.Round(255*math.Exp(v)/peak))
	}
	img.Set(0, 0, color.Gray{Y: img.GrayAt(0, 0).Y})
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func main() {
	var cfg config
	flag.StringVar(&cfg.flow, "flow", "both", "realnvp, resflow or both")
	flag.IntVar(&cfg.steps, "steps", 500, "Adam steps")
	flag.IntVar(&cfg.B, "batch", 256, "samples per step")
	flag.Float64Var(&cfg.lr, "lr", 1e-2, "Adam's learning rate")
	flag.StringVar(&cfg.png, "png", "train-flow-%s.png", "where to write each flow's learned density (%s: the flow's name; empty: none)")
	flag.Parse()
	cfg.seed, cfg.every = 1, 50
	rng := rand.New(rand.NewPCG(7, 7))
	var flows []flow
	if cfg.flow == "realnvp" || cfg.flow == "both" {
		flows = append(flows, realNVP(rng, 6))
	}
	if cfg.flow == "resflow" || cfg.flow == "both" {
		flows = append(flows, resFlow(rng, 4))
	}
	if len(flows) == 0 {
		fmt.Fprintf(os.Stderr, "train-flow: -flow %q: realnvp, resflow or both\n", cfg.flow)
		os.Exit(2)
	}
	for _, fl := range flows {
		r, err := train(fl, cfg, os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "train-flow:", err)
			os.Exit(1)
		}
		fmt.Printf("%s: held-out loss %.4f before, %.4f after %d steps (%.1fs)\n", fl.name, r.before, r.after, cfg.steps, r.elapse)
		if cfg.png != "" {
			path := fmt.Sprintf(cfg.png, fl.name)
			if err := writePNG(path, fl, 160); err != nil {
				fmt.Fprintln(os.Stderr, "train-flow:", err)
				os.Exit(1)
			}
			fmt.Printf("%s: learned density written to %s\n", fl.name, path)
		}
	}
}
