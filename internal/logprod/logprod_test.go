package logprod

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAgainstSumOfLogs checks the accumulator against Σ log|xᵢ| (each by
// Frexp) on factors
// whose plain product overflows or underflows, and on zero-free random
// signs and magnitudes.
func TestAgainstSumOfLogs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string]func(i int) float64{
		"huge":      func(int) float64 { return 1e300 },
		"tiny":      func(int) float64 { return -1e-300 },
		"subnormal": func(int) float64 { return 5e-320 },
		"mixed": func(int) float64 {
			return (rng.Float64() + 0.01) * math.Pow(10, float64(rng.IntN(601)-300)) * float64(1-2*rng.IntN(2))
		},
	}
	for name, gen := range cases {
		a, sum := New(), 0.0
		for i := range 10000 {
			x := gen(i)
			a.Mul(x)
			fr, e := math.Frexp(math.Abs(x)) // math.Log is inexact on subnormals
			sum += math.Log(fr) + float64(e)*math.Ln2
		}
		if got := a.Log(); math.Abs(got-sum) > 1e-9*math.Max(1, math.Abs(sum)) {
			t.Errorf("%s: Log = %.17g, Σ log|x| = %.17g", name, got, sum)
		}
	}
	a, big := New(), 1e200
	a.MulProd(big*big, big, big) // p overflowed: the factors count
	a.MulProd(6, 2, 3)
	if got, want := a.Log(), 400*math.Log(10)+math.Log(6); math.Abs(got-want) > 1e-12*want {
		t.Errorf("MulProd: Log = %v, want %v", got, want)
	}
}
