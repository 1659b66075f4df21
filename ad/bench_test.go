package ad_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/invad/invad/ad"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// BenchmarkGrad times Grad of a two-layer network's squared loss on a batch
// (X [B, 16], W₁ [16, 64], b₁ [64], W₂ [64, 1]: Σ (tanh(X·W₁ + b₁)·W₂ − y)²),
// the gradient with respect to every input, against the primal (the loss
// on a stream tape, nothing kept), and reports grad/primal from the
// fastest of several alternating runs of each:
//
//	go test -run '^$' -bench Grad ./ad/
func BenchmarkGrad(b *testing.B) {
	for _, B := range []int{1000, 100_000} {
		b.Run(fmt.Sprintf("B=%d", B), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(B)))
			r := func(shape ...int) *tensor.Tensor {
				t := tensor.Zeros(shape...)
				for i := range t.Data() {
					t.Data()[i] = rng.NormFloat64() * 0.3
				}
				return t
			}
			X, W1, b1, W2, y := r(B, 16), r(16, 64), r(64), r(64, 1), r(B, 1)
			loss := func(in ...*tape.Var) *tape.Var {
				h := ops.Tanh(ops.Add(ops.MatMul(in[0], in[1]), in[2]))
				d := ops.Sub(ops.MatMul(h, in[3]), ops.Const(h, y))
				return ops.Sum(ops.Square(d))
			}
			xs := []*tensor.Tensor{X, W1, b1, W2}
			primal := func() {
				tp := tape.NewStreamTape(nil)
				in := make([]*tape.Var, len(xs))
				for i, x := range xs {
					in[i] = tp.Input(x)
				}
				loss(in...)
			}
			grad := func() {
				if _, _, err := ad.Grad(loss, xs...); err != nil {
					b.Fatal(err)
				}
			}
			best := func(f func()) time.Duration {
				t0 := time.Now()
				f()
				return time.Since(t0)
			}
			tp, tg := time.Hour, time.Hour
			for range 5 {
				tp = min(tp, best(primal))
				tg = min(tg, best(grad))
			}
			for b.Loop() {
				grad()
			}
			b.ReportMetric(tp.Seconds()*1e3, "primal-ms")
			b.ReportMetric(tg.Seconds()/tp.Seconds(), "grad/primal")
		})
	}
}
