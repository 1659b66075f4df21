package inverse_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// BenchmarkLogAbsDetGrad times LogAbsDetGrad of the residual block
// X + 0.4·W₂·tanh(W₁·X + b₁) with the samples innermost (X [16, B], W₁
// [64, 16], W₂ [16, 64], b₁ [64, 1]: one batch lump of B blocks 16×16),
// the gradient in X, W₁, W₂ and b₁, against Linearize + factorize of the
// same program (LinearizeArg + LogAbsDet), the fastest of alternating runs:
//
//	go test -run '^$' -bench LogAbsDetGrad -benchtime 1x ./inverse/
func BenchmarkLogAbsDetGrad(b *testing.B) {
	for _, B := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("B=%d", B), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(41, uint64(B)))
			xs := []*tensor.Tensor{randT(rng, 1, 16, B), randT(rng, 0.3, 64, 16), randT(rng, 0.3, 16, 64), randT(rng, 0.5, 64, 1)}
			f := func(in ...*tape.Var) *tape.Var {
				h := ops.Tanh(ops.Add(ops.MatMul(in[1], in[0]), in[3]))
				return ops.Add(in[0], ops.Scale(ops.MatMul(in[2], h), 0.4))
			}
			lf := func() {
				l, err := inverse.LinearizeArg(f, xs, 0, inverse.AsRecorded())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := l.LogAbsDet(); err != nil {
					b.Fatal(err)
				}
			}
			gr := func() {
				if _, _, err := inverse.LogAbsDetGrad(f, xs, 0); err != nil {
					b.Fatal(err)
				}
			}
			run := func(f func()) time.Duration {
				t0 := time.Now()
				f()
				return time.Since(t0)
			}
			tl, tg := time.Hour, time.Hour
			for range 3 {
				tl = min(tl, run(lf))
				tg = min(tg, run(gr))
			}
			for b.Loop() {
			}
			b.ReportMetric(tl.Seconds()*1e3, "linearize+factorize-ms")
			b.ReportMetric(tg.Seconds()*1e3, "logdetgrad-ms")
			b.ReportMetric(tg.Seconds()/tl.Seconds(), "grad/factorize")
		})
	}
}
