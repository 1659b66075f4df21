package batch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/invad/invad/catalog"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
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
		benchProducts(b, fmt.Sprintf("B=%d", nb), residual(nb, benchD, benchH, 3), x, 0)
	}
}

// benchProducts times f's primal, Linearize + factorization, IJVP, VIJP
// LogAbsDet from the factors and the per-sample log|det| along axis at x.
func benchProducts(b *testing.B, name string, f func(*tape.Var) *tape.Var, x *tensor.Tensor, axis int) {
	v := x.Clone()
	b.Run(name+"/primal", func(b *testing.B) {
		for b.Loop() {
			f(tape.NewTape().Input(x))
		}
	})
	b.Run(name+"/linearize+factorize", func(b *testing.B) {
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
	b.Run(name+"/ijvp", func(b *testing.B) {
		for b.Loop() {
			if err := lin.IJVPTo(dst, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(name+"/vijp", func(b *testing.B) {
		for b.Loop() {
			if err := lin.VIJPTo(dst, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(name+"/logabsdet", func(b *testing.B) {
		for b.Loop() {
			if _, err := lin.LogAbsDet(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(name+"/logabsdet-along", func(b *testing.B) {
		for b.Loop() {
			if _, err := lin.LogAbsDetAlong(axis); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFlow times the 4-layer RealNVP/Glow flow of issue 16's targets
// row-major ([B, d], analyzed batch-minor) and feature-major ([d, B], the
// same flow written on columns), B = 10⁵, d = 8 and 32, hidden 32: compare
// each with its primal, and the layouts with each other; and Invert of the
// row-major flow (from y) against its primal.
func BenchmarkFlow(b *testing.B) {
	const nb = 100_000
	for _, d := range []int{8, 32} {
		fl := catalog.NewRowFlow(4, d, 32, 3)
		rng := rand.New(rand.NewPCG(8, 8))
		x := seeded(rng, -1, 1, nb, d)
		benchProducts(b, fmt.Sprintf("d=%d/rows", d), fl.F, x, 0)
		y := fl.F(tape.NewTape().Input(x)).Value()
		b.Run(fmt.Sprintf("d=%d/rows/invert", d), func(b *testing.B) {
			for b.Loop() {
				if _, err := inverse.Invert(fl.F, y); err != nil {
					b.Fatal(err)
				}
			}
		})
		benchProducts(b, fmt.Sprintf("d=%d/columns", d), fl.Columns, transpose2(x), 1)
	}
}
