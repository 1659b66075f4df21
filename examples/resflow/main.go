// Command resflow builds a residual flow (i-ResNet style): blocks
// x ↦ x + g(x) with g(x) = tanh(x W1 + b) W2 scaled to a Lipschitz constant
// below 1, on a batch stored as rows (x of shape [B, d]). Each block's
// Jacobian I + J_g is dense within a sample, so libraries estimate its
// log-determinant by a stochastic power series; invad gives it exactly,
// per sample, from the lumps' LU factors (LogAbsDetAlong). The example
// compares both with a per-sample dense reference, then inverts the flow
// lump by lump (Invert), by global Newton through IJVP and by i-ResNet's
// fixed-point iteration.
//
//	go run ./examples/resflow -samples 20000 -blocks 3
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

const (
	dim    = 8  // features per sample
	hidden = 32 // hidden units of g
	lip    = 0.9
)

// block is one residual block's constants: g(x) = tanh(x W1 + b) W2.
type block struct {
	w1, w2 *mat.Dense // [dim, hidden], [hidden, dim]
	b      []float64  // [hidden]
}

// newBlocks draws k blocks and scales each W so that ‖W1‖₂‖W2‖₂ = lip
// (the spectral norms by gonum's SVD): Lip(g) ≤ lip < 1, so x + g(x) is
// invertible and the fixed-point iteration converges.
func newBlocks(k int) []block {
	rng := rand.New(rand.NewPCG(7, 9))
	rnd := func(r, c int) *mat.Dense {
		m := mat.NewDense(r, c, nil)
		for i := range r {
			for j := range c {
				m.Set(i, j, rng.NormFloat64())
			}
		}
		var svd mat.SVD
		svd.Factorize(m, mat.SVDNone)
		m.Scale(math.Sqrt(lip)/svd.Values(nil)[0], m)
		return m
	}
	bs := make([]block, k)
	for i := range bs {
		bs[i] = block{w1: rnd(dim, hidden), w2: rnd(hidden, dim), b: make([]float64, hidden)}
		for j := range bs[i].b {
			bs[i].b[j] = 0.5 * rng.NormFloat64()
		}
	}
	return bs
}

func (bl block) g(x *tape.Var) *tape.Var {
	c := func(m *mat.Dense) *tape.Var {
		r, cc := m.Dims()
		return ops.Const(x, tensor.New([]int{r, cc}, m.RawMatrix().Data))
	}
	z := ops.Add(ops.MatMul(x, c(bl.w1)), ops.Const(x, tensor.New([]int{hidden}, bl.b)))
	return ops.MatMul(ops.Tanh(z), c(bl.w2))
}

func flow(bs []block) func(*tape.Var) *tape.Var {
	return func(x *tape.Var) *tape.Var {
		for _, bl := range bs {
			x = ops.Add(x, bl.g(x))
		}
		return x
	}
}

// gOf evaluates g on one sample in plain Go, and its Jacobian J_g
// (∂g_i/∂x_j = Σ_k W2[k,i] (1 − z_k²) W1[j,k]) if jg is not nil.
func (bl block) gOf(x, out []float64, jg *mat.Dense) {
	z := make([]float64, hidden)
	for k := range hidden {
		s := bl.b[k]
		for j := range dim {
			s += x[j] * bl.w1.At(j, k)
		}
		z[k] = math.Tanh(s)
	}
	for i := range dim {
		out[i] = 0
		for k := range hidden {
			out[i] += z[k] * bl.w2.At(k, i)
		}
	}
	if jg == nil {
		return
	}
	for i := range dim {
		for j := range dim {
			s := 0.0
			for k := range hidden {
				s += bl.w2.At(k, i) * (1 - z[k]*z[k]) * bl.w1.At(j, k)
			}
			jg.Set(i, j, s)
		}
	}
}

// reference returns, for sample x, the exact log|det J| (per block, the LU
// of the dense d×d I + J_g by gonum) and the stochastic power-series
// estimate Σ_k (−1)^{k+1} vᵀ J_g^k v / k (terms, one Gaussian probe v) that
// residual-flow libraries use.
func reference(bs []block, x []float64, terms int, rng *rand.Rand) (exact, estimate float64) {
	v := append([]float64(nil), x...)
	gv := make([]float64, dim)
	jg := mat.NewDense(dim, dim, nil)
	eye := mat.NewDense(dim, dim, nil)
	for i := range dim {
		eye.Set(i, i, 1)
	}
	for _, bl := range bs {
		bl.gOf(v, gv, jg)
		var a mat.Dense
		a.Add(eye, jg)
		var lu mat.LU
		lu.Factorize(&a)
		ld, _ := lu.LogDet()
		exact += ld
		probe := make([]float64, dim)
		for i := range probe {
			probe[i] = rng.NormFloat64()
		}
		w := mat.NewVecDense(dim, append([]float64(nil), probe...))
		for k := 1; k <= terms; k++ {
			w.MulVec(jg, w)
			est := mat.Dot(mat.NewVecDense(dim, probe), w) / float64(k)
			if k%2 == 0 {
				est = -est
			}
			estimate += est
		}
		for i := range v {
			v[i] += gv[i]
		}
	}
	return exact, estimate
}

type summary struct {
	maxBlock          int
	exactErr, estErr  float64 // max |invad − exact|, mean |estimate − exact|
	residual, xErr    float64
	iters, fixedIters int
	fixedErr          float64
	invertSteps       int // Newton steps of Invert, over all lumps
	invertErr         float64
}

func run(samples, nblocks, show int, out io.Writer) (*summary, error) {
	bs := newBlocks(nblocks)
	f := flow(bs)
	rng := rand.New(rand.NewPCG(1, 2))
	xTrue := tensor.Zeros(samples, dim)
	for i := range xTrue.Data() {
		xTrue.Data()[i] = rng.NormFloat64()
	}
	fmt.Fprintf(out, "residual flow: %d blocks x + g(x), Lip(g) ≤ %g, x of shape [%d, %d] (rows are samples)\n\n", nblocks, lip, samples, dim)
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
	for _, l := range lumps {
		s.maxBlock = max(s.maxBlock, l.Block)
		switch l.Kind {
		case lump.Batch:
			fmt.Fprintf(out, "lump %d: %s (%s)\n", l.Index, l.Structure, l.Factorization)
		case lump.DenseLump, lump.Sparse:
			fmt.Fprintf(out, "lump %d: %s of width %d\n", l.Index, l.Kind, l.Width)
		}
	}
	t0 = time.Now()
	ld, err := lin.LogAbsDetAlong(0)
	if err != nil {
		return nil, err
	}
	tLD := time.Since(t0)
	fmt.Fprintf(out, "primal %v, Linearize (lumps factorized) %v, per-sample log|det J| %v\n\n", primal.Round(time.Microsecond), tLin.Round(time.Microsecond), tLD.Round(time.Microsecond))

	const terms = 10
	fmt.Fprintf(out, "per-sample log|det J|:\n%7s %16s %16s %22s\n", "sample", "invad", "dense LU", fmt.Sprintf("power series (%d terms)", terms))
	probes := rand.New(rand.NewPCG(5, 6))
	for i := range samples {
		exact, est := reference(bs, xTrue.Data()[i*dim:(i+1)*dim], terms, probes)
		s.exactErr = math.Max(s.exactErr, math.Abs(ld.Data()[i]-exact))
		s.estErr += math.Abs(est-exact) / float64(samples)
		if i < show {
			fmt.Fprintf(out, "%7d %16.12f %16.12f %22.12f\n", i, ld.Data()[i], exact, est)
		}
	}
	fmt.Fprintf(out, "max |invad − dense LU| %.2e; mean |power series − dense LU| %.2e\n\n", s.exactErr, s.estErr)

	// The inverse lump by lump: each block's batch lump by Newton on its
	// per-sample d×d blocks, from x = y.
	t0 = time.Now()
	var trace []inverse.InvertLump
	xi, err := inverse.Invert(f, y, inverse.InvertTrace(&trace))
	if err != nil {
		return nil, err
	}
	tInv := time.Since(t0)
	for _, l := range trace {
		s.invertSteps += l.Iter
	}
	for i, v := range xi.Data() {
		s.invertErr = math.Max(s.invertErr, math.Abs(v-xTrue.Data()[i]))
	}
	// Global Newton through IJVP, from x = y.
	F := func(x *tape.Var) *tape.Var { return ops.Sub(f(x), ops.Const(x, y)) }
	t0 = time.Now()
	res, err := newton.Solve(F, y, newton.Tol(1e-12))
	if err != nil {
		return nil, err
	}
	tNewton := time.Since(t0)
	s.residual, s.iters = res.Residual, res.Iters
	for i, v := range res.X.Data() {
		s.xErr = math.Max(s.xErr, math.Abs(v-xTrue.Data()[i]))
	}
	// i-ResNet's inverse: block by block from the last, x ← y − g(x).
	t0 = time.Now()
	xf := y.Clone()
	for k := len(bs) - 1; k >= 0; k-- {
		yk := xf.Clone()
		for it := 1; it <= 1000; it++ {
			gx := bs[k].g(tape.NewTape().Input(xf)).Value()
			change := 0.0
			for i, v := range yk.Data() {
				nv := v - gx.Data()[i]
				change = math.Max(change, math.Abs(nv-xf.Data()[i]))
				xf.Data()[i] = nv
			}
			s.fixedIters++
			if change <= 1e-13 {
				break
			}
		}
	}
	tFixed := time.Since(t0)
	for i, v := range xf.Data() {
		s.fixedErr = math.Max(s.fixedErr, math.Abs(v-xTrue.Data()[i]))
	}
	fmt.Fprintf(out, "inverse by Invert (lump by lump): %d Newton steps over %d blocks, %v, max |x − x_true| = %.2e\n", s.invertSteps, nblocks, tInv.Round(time.Millisecond), s.invertErr)
	fmt.Fprintf(out, "inverse by global Newton (IJVP):  %d iterations, %v, max |x − x_true| = %.2e\n", s.iters, tNewton.Round(time.Millisecond), s.xErr)
	fmt.Fprintf(out, "inverse by fixed point:           %d evaluations of g, %v, max |x − x_true| = %.2e\n", s.fixedIters, tFixed.Round(time.Millisecond), s.fixedErr)
	return s, nil
}

func main() {
	samples := flag.Int("samples", 20000, "samples in the batch")
	blocks := flag.Int("blocks", 3, "residual blocks")
	show := flag.Int("show", 5, "samples whose log|det J| is printed")
	flag.Parse()
	if *samples < 1 || *blocks < 1 {
		fmt.Fprintln(os.Stderr, "resflow: -samples and -blocks must be positive")
		os.Exit(2)
	}
	if _, err := run(*samples, *blocks, *show, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "resflow:", err)
		os.Exit(1)
	}
}
