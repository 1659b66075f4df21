package main

import (
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tensor"
)

// TestLogDetGradient checks the exact gradient of log|det ∂f/∂x| in every
// parameter of both flows (and in x) against central differences of
// LogAbsDet, on a small batch.
func TestLogDetGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, fl := range []flow{realNVP(rng, 2), resFlow(rng, 2)} {
		// Parameters away from zero, so every term of the gradient counts.
		for _, p := range fl.params {
			for k := range p.Data() {
				p.Data()[k] += 0.3 * rng.NormFloat64()
			}
		}
		xs := append([]*tensor.Tensor{ring(rng, 5)}, fl.params...)
		_, g, err := inverse.LogAbsDetGrad(fl.f, xs, 0)
		if err != nil {
			t.Fatal(err)
		}
		ld := func() float64 {
			l, err := inverse.LinearizeArg(fl.f, xs, 0)
			if err != nil {
				t.Fatal(err)
			}
			v, err := l.LogAbsDet()
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		const h = 1e-6
		for j, x := range xs {
			for k := range x.Data() {
				save := x.Data()[k]
				x.Data()[k] = save + h
				p := ld()
				x.Data()[k] = save - h
				m := ld()
				x.Data()[k] = save
				if want := (p - m) / (2 * h); math.Abs(g[j].Data()[k]-want) > 1e-6*math.Max(1, math.Abs(want)) {
					t.Errorf("%s: ∂log|det|/∂input %d [%d] = %.9g, central differences %.9g", fl.name, j, k, g[j].Data()[k], want)
				}
			}
		}
	}
}

// TestLossGradient checks lossGrad, the training step's mean negative
// log-likelihood and its gradient (ad.Grad and LogAbsDetAlongGrad with
// every sample weighted 1/B), against central differences of the loss it
// returns in every parameter of both flows.
func TestLossGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for _, fl := range []flow{realNVP(rng, 2), resFlow(rng, 2)} {
		for _, p := range fl.params {
			for k := range p.Data() {
				p.Data()[k] += 0.3 * rng.NormFloat64()
			}
		}
		x := ring(rng, 6)
		_, g, err := lossGrad(fl, x, fl.params)
		if err != nil {
			t.Fatal(err)
		}
		loss := func() float64 {
			l, _, err := lossGrad(fl, x, fl.params)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		const h = 1e-6 // central differences: error about h² against rounding about ε/h
		for j, p := range fl.params {
			for k := range p.Data() {
				save := p.Data()[k]
				p.Data()[k] = save + h
				up := loss()
				p.Data()[k] = save - h
				down := loss()
				p.Data()[k] = save
				if want := (up - down) / (2 * h); math.Abs(g[j].Data()[k]-want) > 1e-6*math.Max(1, math.Abs(want)) {
					t.Errorf("%s: ∂loss/∂θ%d [%d] = %.9g, central differences %.9g", fl.name, j, k, g[j].Data()[k], want)
				}
			}
		}
	}
}

// TestDensityIntegratesToOne: exp(log N(f(x)) + log|det ∂f/∂x|) summed over
// a fine grid of [−7, 7]² is 1, for a flow at its start and after some
// training: the per-sample log-dets are those of a density.
func TestDensityIntegratesToOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cfg := config{steps: 40, B: 64, lr: 1e-2, seed: 1, every: 1000}
	for _, fl := range []flow{realNVP(rng, 4), resFlow(rng, 3)} {
		for _, stage := range []string{"start", "trained"} {
			if stage == "trained" {
				if _, err := train(fl, cfg, io.Discard); err != nil {
					t.Fatal(err)
				}
			}
			const m, half = 200, 7.0
			x := tensor.Zeros(2, m*m)
			for r := range m {
				for c := range m {
					x.Data()[r*m+c] = -half + 2*half*(float64(c)+0.5)/m
					x.Data()[m*m+r*m+c] = -half + 2*half*(float64(r)+0.5)/m
				}
			}
			lp, err := logDensity(fl, x)
			if err != nil {
				t.Fatal(err)
			}
			mass := 0.0
			for _, v := range lp {
				mass += math.Exp(v)
			}
			mass *= (2 * half / m) * (2 * half / m)
			if math.Abs(mass-1) > 0.02 {
				t.Errorf("%s at %s: the density integrates to %.4f over [−7, 7]²", fl.name, stage, mass)
			}
		}
	}
}

// TestTrainingLowersTheLoss: 100 Adam steps lower the held-out negative
// log-likelihood of both flows by a clear margin.
func TestTrainingLowersTheLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	cfg := config{steps: 100, B: 64, lr: 1e-2, seed: 2, every: 1000}
	for _, fl := range []flow{realNVP(rng, 4), resFlow(rng, 3)} {
		r, err := train(fl, cfg, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if !(r.after < r.before-0.3) {
			t.Errorf("%s: held-out loss %.4f before, %.4f after", fl.name, r.before, r.after)
		}
	}
}
