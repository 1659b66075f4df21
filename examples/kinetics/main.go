// Command kinetics integrates Robertson's stiff three-species reaction over
// many independent cells at once, each with its own rate constants, by
// implicit Euler. Every step solves F(y) = y − yₙ − h·f(y) = 0 by Newton
// through invad's IJVP: the three species are coupled elementwise, so invad
// finds one lump of m independent 3×3 blocks and factorizes them by batched
// LU.
//
//	go run ./examples/kinetics -cells 1000000 -steps 24
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Robertson's rate constants; each cell scales them by a factor in [0.5, 1.5].
const k1, k2, k3 = 0.04, 1e4, 3e7

type config struct {
	cells, steps int
	tEnd, h0     float64
}

type summary struct {
	y0        [3]float64 // cell 0 at tEnd
	massErr   float64    // max over cells of |y1 + y2 + y3 − 1|
	newtonIts int
	rates     [3][]float64
	times     []float64 // step sizes
	lumps     string
}

// rates draws each cell's rate constants.
func rates(m int) [3][]float64 {
	rng := rand.New(rand.NewPCG(7, 7))
	var k [3][]float64
	base := [3]float64{k1, k2, k3}
	for s := range k {
		k[s] = make([]float64, m)
		for i := range k[s] {
			k[s][i] = base[s] * (0.5 + rng.Float64())
		}
	}
	return k
}

// stepSizes grows geometrically from h0 so that n steps end at tEnd.
func stepSizes(n int, h0, tEnd float64) []float64 {
	// Solve h0·(r^n − 1)/(r − 1) = tEnd for r by bisection.
	lo, hi := 1.0+1e-12, 10.0
	for range 200 {
		r := (lo + hi) / 2
		if h0*(math.Pow(r, float64(n))-1)/(r-1) > tEnd {
			hi = r
		} else {
			lo = r
		}
	}
	hs := make([]float64, n)
	h := h0
	for i := range hs {
		hs[i] = h
		h *= lo
	}
	return hs
}

// residual is F(y) = y − yₙ − h·f(y) for all cells, y = (y1, y2, y3) stacked.
func residual(k [3]*tensor.Tensor, yn *tensor.Tensor, h float64, m int) func(*tape.Var) *tape.Var {
	return func(y *tape.Var) *tape.Var {
		s := ops.Split(y, m, m, m)
		y1, y2, y3 := s[0], s[1], s[2]
		r := ops.Mul(ops.Const(y, k[0]), y1)
		p := ops.Mul(ops.Mul(ops.Const(y, k[1]), y2), y3)
		q := ops.Mul(ops.Const(y, k[2]), ops.Square(y2))
		f1 := ops.Sub(p, r)
		f2 := ops.Sub(ops.Sub(r, p), q)
		f3 := q
		ynv := ops.Split(ops.Const(y, yn), m, m, m)
		eq := func(yi, yni, fi *tape.Var) *tape.Var { return ops.Sub(ops.Sub(yi, yni), ops.Scale(fi, h)) }
		return ops.Concat(eq(y1, ynv[0], f1), eq(y2, ynv[1], f2), eq(y3, ynv[2], f3))
	}
}

func run(cfg config, out io.Writer) (*summary, error) {
	m := cfg.cells
	kr := rates(m)
	k := [3]*tensor.Tensor{tensor.New([]int{m}, kr[0]), tensor.New([]int{m}, kr[1]), tensor.New([]int{m}, kr[2])}
	y := tensor.Zeros(3 * m)
	for i := 0; i < m; i++ {
		y.Data()[i] = 1 // all mass in species 1 at t = 0
	}
	hs := stepSizes(cfg.steps, cfg.h0, cfg.tEnd)
	sum := &summary{rates: kr, times: hs}
	fmt.Fprintf(out, "Robertson kinetics, %d cells (n = %d), implicit Euler, %d steps to t = %g\n\n", m, 3*m, cfg.steps, cfg.tEnd)
	fmt.Fprintf(out, "%5s %11s %11s %7s %11s %10s\n", "step", "t", "h", "newton", "‖F‖∞", "time")
	t := 0.0
	for i, h := range hs {
		t0 := time.Now()
		F := residual(k, y, h, m)
		res, err := newton.Solve(F, y, newton.Tol(1e-12), newton.MaxIter(30))
		if err != nil {
			return nil, fmt.Errorf("step %d (t = %g): %w", i, t, err)
		}
		if sum.lumps == "" {
			lin, err := inverse.Linearize(F, y)
			if err != nil {
				return nil, err
			}
			lumps, err := lin.Lumps()
			if err != nil {
				return nil, err
			}
			for _, l := range lumps {
				if l.Kind == lump.Batch || l.Kind == lump.DenseLump || l.Kind == lump.Step {
					sum.lumps += fmt.Sprintf("%s: %s, %s; ", l.Kind, l.Structure, l.Factorization)
				}
			}
		}
		y = res.X
		t += h
		sum.newtonIts += res.Iters
		if i%max(1, cfg.steps/12) == 0 || i == len(hs)-1 {
			fmt.Fprintf(out, "%5d %11.4g %11.4g %7d %11.2e %10v\n", i+1, t, h, res.Iters, res.Residual, time.Since(t0).Round(time.Millisecond))
		}
	}
	d := y.Data()
	for i := 0; i < m; i++ {
		sum.massErr = math.Max(sum.massErr, math.Abs(d[i]+d[m+i]+d[2*m+i]-1))
	}
	sum.y0 = [3]float64{d[0], d[m], d[2*m]}
	fmt.Fprintf(out, "\nlumps per step: %s\n", sum.lumps)
	fmt.Fprintf(out, "Newton iterations in all: %d\n", sum.newtonIts)
	fmt.Fprintf(out, "cell 0 at t = %g: y = (%.6g, %.6g, %.6g)\n", t, d[0], d[m], d[2*m])
	fmt.Fprintf(out, "mass conservation: max |y1 + y2 + y3 − 1| = %.2e\n", sum.massErr)
	ref := reference(kr[0][0], kr[1][0], kr[2][0], stepSizes(20000, 1e-8, cfg.tEnd), true)
	fmt.Fprintf(out, "cell 0 reference (BDF2, 20000 steps): y = (%.6g, %.6g, %.6g); implicit Euler's first-order error here: %.1e\n",
		ref[0], ref[1], ref[2], math.Abs(d[0]-ref[0]))
	return sum, nil
}

// reference integrates one cell along the step sizes hs by BDF2 (or
// implicit Euler if !bdf2), solving each step's 3×3 system by Newton with the
// analytic Jacobian and Cramer's rule: independent of invad.
func reference(a, b, c float64, hs []float64, bdf2 bool) [3]float64 {
	f := func(y [3]float64) [3]float64 {
		return [3]float64{-a*y[0] + b*y[1]*y[2], a*y[0] - b*y[1]*y[2] - c*y[1]*y[1], c * y[1] * y[1]}
	}
	jac := func(y [3]float64) [3][3]float64 {
		return [3][3]float64{{-a, b * y[2], b * y[1]}, {a, -b*y[2] - 2*c*y[1], -b * y[1]}, {0, 2 * c * y[1], 0}}
	}
	prev, y := [3]float64{1, 0, 0}, [3]float64{1, 0, 0}
	hPrev := 0.0
	for i, h := range hs {
		// Variable-step BDF2 (implicit Euler for the first step):
		// y − α₁ yₙ + α₂ yₙ₋₁ = β h f(y).
		var a1, a2, beta float64
		if i == 0 || !bdf2 {
			a1, a2, beta = 1, 0, 1
		} else {
			w := h / hPrev
			a1 = (1 + w) * (1 + w) / (1 + 2*w)
			a2 = w * w / (1 + 2*w)
			beta = (1 + w) / (1 + 2*w)
		}
		z := y
		for it := 0; it < 50; it++ {
			fz, J := f(z), jac(z)
			var F [3]float64
			var A [3][3]float64
			for r := 0; r < 3; r++ {
				F[r] = z[r] - a1*y[r] + a2*prev[r] - beta*h*fz[r]
				for s := 0; s < 3; s++ {
					A[r][s] = -beta * h * J[r][s]
				}
				A[r][r] += 1
			}
			d := solve3(A, F)
			for r := range z {
				z[r] -= d[r]
			}
			if math.Abs(d[0])+math.Abs(d[1])+math.Abs(d[2]) < 1e-15 {
				break
			}
		}
		prev, y, hPrev = y, z, h
	}
	return y
}

// solve3 solves a 3×3 system by Cramer's rule (well conditioned here: A ≈ I − βhJ).
func solve3(A [3][3]float64, b [3]float64) [3]float64 {
	det := func(m [3][3]float64) float64 {
		return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) + m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	}
	d := det(A)
	var x [3]float64
	for c := 0; c < 3; c++ {
		M := A
		for r := 0; r < 3; r++ {
			M[r][c] = b[r]
		}
		x[c] = det(M) / d
	}
	return x
}

func main() {
	cfg := config{}
	flag.IntVar(&cfg.cells, "cells", 1_000_000, "number of independent cells")
	flag.IntVar(&cfg.steps, "steps", 24, "implicit Euler steps (geometric sizes)")
	flag.Float64Var(&cfg.tEnd, "t", 40, "end time")
	flag.Float64Var(&cfg.h0, "h0", 1e-4, "first step size")
	flag.Parse()
	if cfg.cells < 1 || cfg.steps < 1 {
		fmt.Fprintln(os.Stderr, "kinetics: -cells and -steps must be positive")
		os.Exit(2)
	}
	if _, err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kinetics:", err)
		os.Exit(1)
	}
}
