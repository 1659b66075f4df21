package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Sizes of the elementwise benchmarks: 10⁶ fits in cache-missing but modest
// memory (8 MB a value); 10⁷ is 80 MB a value, 0.8 GB a recorded program.
var elementwiseSizes = []int{1_000_000, 10_000_000}

func input(n int) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(1, 1))
	x := tensor.Zeros(n)
	for i := range x.Data() {
		x.Data()[i] = 2*rng.Float64() - 1
	}
	return x
}

// TestPlainMatchesRecorded keeps the baseline honest: it computes the same
// function as the recorded program.
func TestPlainMatchesRecorded(t *testing.T) {
	x := input(1000)
	want := Elementwise10Plain(x.Data())
	got := tape.NewTape()
	y := Elementwise10(got.Input(x)).Value().Data()
	for i := range want {
		// Same operations in the same order: identical but for the
		// sigmoid's two formulas, which agree to a few ulps.
		if math.Abs(y[i]-want[i]) > 1e-15*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("element %d: recorded %v, plain %v", i, y[i], want[i])
		}
	}
}

func BenchmarkElementwise10(b *testing.B) {
	for _, n := range elementwiseSizes {
		x := input(n)
		v := input(n)
		b.Run(fmt.Sprintf("n=%d/plain", n), func(b *testing.B) {
			for b.Loop() {
				Elementwise10Plain(x.Data())
			}
		})
		b.Run(fmt.Sprintf("n=%d/record", n), func(b *testing.B) {
			var lin *inverse.Linearization
			for b.Loop() {
				var err error
				lin, err = inverse.Linearize(Elementwise10, x)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(lin.TapeBytes())/float64(8*n), "values-held")
		})
		lin, err := inverse.Linearize(Elementwise10, x)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("n=%d/jvp", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := lin.JVP(v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("n=%d/vjp", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := lin.VJP(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
