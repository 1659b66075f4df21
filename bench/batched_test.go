package bench

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// rowMatVec returns y = x·W for a row x of length r and W of shape [r, c],
// row-major.
func rowMatVec(x []float64, w *tensor.Tensor) []float64 {
	r, c := w.Shape()[0], w.Shape()[1]
	y := make([]float64, c)
	for j := range c {
		for i := range r {
			y[j] += x[i] * w.Data()[i*c+j]
		}
	}
	return y
}

// residualSample is the residual block on one sample, plain Go.
func residualSample(w ResidualWeights, x []float64) []float64 {
	z := rowMatVec(x, w.W1)
	for j := range z {
		z[j] = math.Tanh(z[j] + w.B1.Data()[j])
	}
	g := rowMatVec(z, w.W2)
	y := make([]float64, len(x))
	for i := range y {
		y[i] = x[i] + residualScale*g[i]
	}
	return y
}

// flowSample is the flow on one sample, plain Go.
func flowSample(w FlowWeights, x []float64) []float64 {
	const d, k = FlowD, FlowD / 2
	x = append([]float64(nil), x...)
	for l := range w.W1 {
		z := rowMatVec(x[:k], w.W1[l])
		for j := range z {
			z[j] = math.Tanh(z[j] + w.B1[l].Data()[j])
		}
		s, t := rowMatVec(z, w.Ws[l]), rowMatVec(z, w.Wt[l])
		for j := range d - k {
			x[k+j] = x[k+j]*math.Exp(math.Tanh(s[j]+w.Bs[l].Data()[j])) + t[j]
		}
		for j := range d {
			x[j] *= w.Scale[l].Data()[j]
		}
		x = rowMatVec(x, w.Wm[l])
	}
	return x
}

// TestBatchedFamiliesMatchPlainLoops: the batched families' f on [B, d]
// is the plain-Go function of one sample applied to every row, and their
// size, point and PyTorch spelling are consistent.
func TestBatchedFamiliesMatchPlainLoops(t *testing.T) {
	rw, fw := NewResidualWeights(), NewFlowWeights()
	for _, tc := range []struct {
		fam    Family
		sample func(x []float64) []float64
	}{
		{residualFamily(), func(x []float64) []float64 { return residualSample(rw, x) }},
		{flowFamily(), func(x []float64) []float64 { return flowSample(fw, x) }},
	} {
		t.Run(tc.fam.Name, func(t *testing.T) {
			d := tc.fam.Sample
			const b = 5
			n := tc.fam.Size(b*d + 1) // rounds to the nearest multiple of d
			if n != b*d {
				t.Fatalf("Size(%d) = %d, want %d", b*d+1, n, b*d)
			}
			p := tc.fam.New(n)
			if got := p.X.Shape(); len(got) != 2 || got[0] != b || got[1] != d {
				t.Fatalf("x has shape %v, want [%d %d]", got, b, d)
			}
			if p.Params["rows"] != b || p.Params["d"] != float64(d) {
				t.Errorf("params %v: rows and d do not match n = %d", p.Params, n)
			}
			// Another point than the family's, to catch a program that
			// reads its point from a constant.
			rng := rand.New(rand.NewPCG(3, 3))
			x := tensor.Zeros(b, d)
			for i := range x.Data() {
				x.Data()[i] = 2*rng.Float64() - 1
			}
			y := p.F(tape.NewTape().Input(x)).Value()
			for i := range b {
				want := tc.sample(x.Data()[i*d : (i+1)*d])
				for j := range d {
					// The same sums in up to another order: rounding
					// through 4 layers of O(1) values.
					if got := y.Data()[i*d+j]; math.Abs(got-want[j]) > 1e-13*max(1, math.Abs(want[j])) {
						t.Errorf("row %d, feature %d: f gives %v, the plain loop %v", i, j, got, want[j])
					}
				}
			}
		})
	}
}

// TestHarnessBatched runs the batched families with Torch off and checks
// the new methods' rows: LogAbsDetAlong runs and its per-sample values sum
// to the dense LU's log|det J|; PyTorch's vmap route and primal are
// skipped; on a family without samples LogAbsDetAlong is skipped.
func TestHarnessBatched(t *testing.T) {
	rep, err := Run(Config{Quick: true, Families: []string{"residual", "flow", "elementwise"},
		SizesFor: map[string][]int{"residual": {160}, "flow": {80}, "elementwise": {50}}, Reps: 1, Torch: "off"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fam string
		n   int
	}{{"residual", 160}, {"flow", 80}} {
		res, ok := rep.Result(tc.fam, tc.n, MethodLogAbsDetAlong)
		if !ok || res.Skipped != "" || res.Median <= 0 {
			t.Fatalf("%s: LogAbsDetAlong %+v", tc.fam, res)
		}
		// The sum of n/d per-sample values against a dense LU of J, each
		// to rounding: relative 1e-10 leaves room for n = 160.
		if !(res.Accuracy < 1e-10) || !strings.Contains(res.Note, "dense LU") {
			t.Errorf("%s: LogAbsDetAlong accuracy %v (%s), want below 1e-10 against the dense LU", tc.fam, res.Accuracy, res.Note)
		}
		for _, m := range []Method{MethodTorchPrimal, MethodTorchVmap} {
			if res, ok := rep.Result(tc.fam, tc.n, m); !ok || res.Skipped != "turned off" {
				t.Errorf("%s %s: %+v, want skipped as turned off", tc.fam, m, res)
			}
		}
	}
	if res, ok := rep.Result("elementwise", 50, MethodLogAbsDetAlong); !ok || !strings.Contains(res.Skipped, "not a batch") {
		t.Errorf("elementwise LogAbsDetAlong: %+v, want skipped", res)
	}
}
