package ops

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/invad/invad/tape"
)

func TestDiagFactorLogDet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name string
		d    []float64
	}{
		{"extremes", []float64{1e300, 1e300, -1e300, 1e-300, 1e-300, 5, -0.25, math.MaxFloat64, 1e-307}},
		{"parallel", func() []float64 { // above cpu.Grain, so chunks run on several goroutines
			d := make([]float64, 200_000)
			for i := range d {
				d[i] = math.Exp(20 * rng.NormFloat64())
			}
			return d
		}()},
	} {
		want := 0.0
		for _, v := range tc.d {
			want += math.Log(math.Abs(v))
		}
		orig := append([]float64(nil), tc.d...)
		f, err := newDiagFactor("test", 0, tc.d)
		if err != nil {
			t.Fatal(err)
		}
		// Summing logs and multiplying mantissas round differently: 1e-12 relative.
		if got := f.LogAbsDet(); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: log|det| = %.17g, want %.17g", tc.name, got, want)
		}
		x := make([]float64, len(orig))
		f.Solve(x, orig)
		for i, v := range x {
			if math.Abs(v-1) > 1e-15 {
				t.Fatalf("%s: diag(d)⁻¹ d = %g at %d, want 1", tc.name, v, i)
			}
		}
	}
	d := make([]float64, 100_000)
	for i := range d {
		d[i] = 1
	}
	d[70_000], d[80_000], d[90_000] = math.SmallestNonzeroFloat64, 0, math.NaN()
	_, err := newDiagFactor("test", 1, d)
	var se *tape.SingularError
	if !errors.As(err, &se) || se.Index != 70_000 || se.Input != 1 {
		t.Errorf("got %v, want the first bad index 70000", err)
	}
}
