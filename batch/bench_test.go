package batch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tape"
)

// The residual block of issue 16's targets: X + tanh(X W1 + b) W2 at
// d = 16, hidden 32.
const benchD, benchH = 16, 32

// BenchmarkResidualBlock times, per batch size, the primal (recording f),
// Linearize + factorization, IJVP, VIJP and LogAbsDet from the factors:
// compare each with the primal of the same run.
func BenchmarkResidualBlock(b *testing.B) {
	for _, nb := range []int{10_000, 100_000} {
		rng := rand.New(rand.NewPCG(5, 5))
		x := seeded(rng, -1, 1, nb, benchD)
		v := seeded(rng, -1, 1, nb, benchD)
		f := residual(nb, benchD, benchH, 3)
		b.Run(fmt.Sprintf("B=%d/primal", nb), func(b *testing.B) {
			for b.Loop() {
				tp := tape.NewTape()
				f(tp.Input(x))
			}
		})
		b.Run(fmt.Sprintf("B=%d/linearize+factorize", nb), func(b *testing.B) {
			for b.Loop() {
				lin, err := inverse.Linearize(f, x)
				if err != nil {
					b.Fatal(err)
				}
				if err := lin.Prepare(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
		lin, err := inverse.Linearize(f, x)
		if err != nil {
			b.Fatal(err)
		}
		if err := lin.Prepare(context.Background()); err != nil {
			b.Fatal(err)
		}
		dst := v.Clone()
		b.Run(fmt.Sprintf("B=%d/ijvp", nb), func(b *testing.B) {
			for b.Loop() {
				if err := lin.IJVPTo(dst, v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("B=%d/vijp", nb), func(b *testing.B) {
			for b.Loop() {
				if err := lin.VIJPTo(dst, v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("B=%d/logabsdet", nb), func(b *testing.B) {
			for b.Loop() {
				if _, err := lin.LogAbsDet(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
