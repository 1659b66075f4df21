package main

import (
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// BenchmarkBratu1D times, at each n, the pieces of a Newton step on the
// 1-D Bratu residual against its primal (a plain run on a fresh tape), and
// reports each as a ratio measured in the same run:
//
//   - prepare: Linearize (recording) + the analysis, the colored
//     extraction and the banded LU (Prepare), over the primal;
//
//   - ijvp, vijp: one product with the factors in place, over the primal;
//
//   - newton: a whole Newton solve from u = 0 (newtonSolve), over a plain-Go
//     Newton with a Thomas solve (thomasNewton) to the same tolerance.
//
//     go test -run '^$' -bench Bratu1D ./examples/bratu/
func BenchmarkBratu1D(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			f := residual1D(1)
			u := tensor.Zeros(n)
			for i := range u.Data() {
				x := float64(i+1) / float64(n+1)
				u.Data()[i] = 0.5 * x * (1 - x) // near the solution
			}
			primal := timeMin(5, func() { f(tape.NewTape().Input(u)) })
			var lin *inverse.Linearization
			prepare := timeMin(3, func() {
				var err error
				if lin, err = inverse.Linearize(f, u); err != nil {
					b.Fatal(err)
				}
				if err := lin.Prepare(b.Context()); err != nil {
					b.Fatal(err)
				}
			})
			dy, dx := tensor.Zeros(n), tensor.Zeros(n)
			dy.Fill(1)
			ijvp := timeMin(5, func() {
				if err := lin.IJVPTo(dx, dy); err != nil {
					b.Fatal(err)
				}
			})
			vijp := timeMin(5, func() {
				if err := lin.VIJPTo(dx, dy); err != nil {
					b.Fatal(err)
				}
			})
			var r *newton.Result
			solveT := timeMin(2, func() {
				var err error
				if r, err = newtonSolve(f, n, float64((n+1)*(n+1)), io.Discard); err != nil {
					b.Fatal(err)
				}
			})
			var ref []float64
			thomas := timeMin(3, func() { ref = thomasNewton(n, 1) })
			if d := maxDiff(r.X.Data(), ref); d > 1e-6 {
				b.Fatalf("max |u − Thomas-Newton's| = %g", d)
			}
			for b.Loop() {
			}
			b.ReportMetric(primal.Seconds()*1e3, "primal-ms")
			b.ReportMetric(prepare.Seconds()/primal.Seconds(), "prepare/primal")
			b.ReportMetric(ijvp.Seconds()/primal.Seconds(), "ijvp/primal")
			b.ReportMetric(vijp.Seconds()/primal.Seconds(), "vijp/primal")
			b.ReportMetric(solveT.Seconds()/thomas.Seconds(), "newton/thomas")
			b.ReportMetric(float64(r.Iters), "newton-iters")
		})
	}
}

func maxDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// timeMin runs f reps times and returns the fastest run.
func timeMin(reps int, f func()) time.Duration {
	best := time.Duration(math.MaxInt64)
	for range reps {
		t0 := time.Now()
		f()
		best = min(best, time.Since(t0))
	}
	return best
}
