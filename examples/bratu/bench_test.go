package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os/exec"
	"testing"
	"time"

	"github.com/invad/invad/bench"
	"github.com/invad/invad/catalog"
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
//     extraction and the banded LU (Prepare), over the primal; the primal
//     and the prepare alternate over several rounds and the fastest of
//     each counts (fresh memory and the collector make single runs vary
//     two- or threefold on a shared machine);
//
//   - ijvp, vijp: one product with the factors in place, over the primal;
//
//   - newton: a whole Newton solve from u = 0 (newtonSolve) to the
//     tolerance a plain-Go Newton with a Thomas solve (thomasNewton) stops
//     at, over that Newton; newton-stall: the example's solve, which goes
//     on while its steps shrink quadratically (UntilStall), over the same.
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
			var lin *inverse.Linearization
			primal, prepare := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
			for range 6 {
				primal = min(primal, timeMin(2, func() { f(tape.NewTape().Input(u)) }))
				prepare = min(prepare, timeMin(1, func() {
					var err error
					if lin, err = inverse.Linearize(f, u); err != nil {
						b.Fatal(err)
					}
					if err := lin.Prepare(b.Context()); err != nil {
						b.Fatal(err)
					}
				}))
			}
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
			h2 := float64((n + 1) * (n + 1))
			var r, rs *newton.Result
			solveT := timeMin(3, func() {
				var err error
				if r, err = newtonSolve(f, n, h2, false, io.Discard); err != nil {
					b.Fatal(err)
				}
			})
			stallT := timeMin(2, func() {
				var err error
				if rs, err = newtonSolve(f, n, h2, true, io.Discard); err != nil {
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
			b.ReportMetric(stallT.Seconds()/thomas.Seconds(), "newton-stall/thomas")
			b.ReportMetric(float64(rs.Iters), "newton-stall-iters")
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

// BenchmarkBratu2D times a Newton step from scratch on the 2-D Bratu
// residual at u = 0 (an m×m grid, n = m², 5-point stencil): invad's
// Linearize + analysis + colored extraction + sparse LU + IJVP, one IJVP
// with the factors in place, restarted GMRES on JVPs to the same residual
// (limited to 60 s), and, when /usr/bin/python3 has SciPy, SciPy's
// spsolve and splu + solve on the exactly assembled J
// (testdata/scipy_bratu2d.py), all in one run:
//
//	go test -run '^$' -bench Bratu2D -benchtime 1x ./examples/bratu/
func BenchmarkBratu2D(b *testing.B) {
	for _, m := range []int{100, 300, 1000} {
		b.Run(fmt.Sprintf("m=%d", m), func(b *testing.B) {
			n := m * m
			f := catalog.Bratu2D(1, m)
			u := tensor.Zeros(n)
			primal := timeMin(5, func() { f(tape.NewTape().Input(u)) })
			dy := tensor.Zeros(n)
			for i := range dy.Data() {
				dy.Data()[i] = math.Cos(float64(3*i + 1))
			}
			var lin *inverse.Linearization
			dx := tensor.Zeros(n)
			step := timeMin(2, func() {
				var err error
				if lin, err = inverse.Linearize(f, u); err != nil {
					b.Fatal(err)
				}
				if err := lin.IJVPTo(dx, dy); err != nil {
					b.Fatal(err)
				}
			})
			res := residual(b, lin, dx, dy)
			ijvp := timeMin(3, func() {
				if err := lin.IJVPTo(dx, dy); err != nil {
					b.Fatal(err)
				}
			})
			matvec := func(dst, v []float64) {
				if err := lin.JVPTo(tensor.New([]int{n}, dst), tensor.New([]int{n}, v)); err != nil {
					b.Fatal(err)
				}
			}
			t0 := time.Now()
			_, st := bench.GMRES(matvec, dy.Data(), bench.GMRESOptions{Restart: 30, Tol: max(res, 1e-12), MaxIter: 1 << 30,
				Deadline: time.Now().Add(60 * time.Second)})
			gmres := time.Since(t0)
			for b.Loop() {
			}
			b.ReportMetric(primal.Seconds()*1e3, "primal-ms")
			b.ReportMetric(step.Seconds()*1e3, "step-ms")
			b.ReportMetric(ijvp.Seconds()/primal.Seconds(), "ijvp/primal")
			b.ReportMetric(math.Log10(res), "log10-residual")
			if st.Converged {
				b.ReportMetric(gmres.Seconds()/step.Seconds(), "gmres/step")
			} else {
				b.ReportMetric(gmres.Seconds()/step.Seconds(), "gmres-unconverged/step")
			}
			if sp, ok := scipy(m); ok {
				b.ReportMetric(step.Seconds()/sp["spsolve"], "step/spsolve")
				b.ReportMetric(step.Seconds()/(sp["splu"]+sp["solve"]), "step/splu")
			}
		})
	}
}

// residual is ‖J·dx − dy‖/‖dy‖ by a JVP.
func residual(b *testing.B, lin *inverse.Linearization, dx, dy *tensor.Tensor) float64 {
	jdx, err := lin.JVP(dx)
	if err != nil {
		b.Fatal(err)
	}
	num, den := 0.0, 0.0
	for i, v := range jdx.Data() {
		num += (v - dy.Data()[i]) * (v - dy.Data()[i])
		den += dy.Data()[i] * dy.Data()[i]
	}
	return math.Sqrt(num / den)
}

// scipy runs testdata/scipy_bratu2d.py with /usr/bin/python3 and returns
// its timings, or false without SciPy.
func scipy(m int) (map[string]float64, bool) {
	out, err := exec.Command("/usr/bin/python3", "testdata/scipy_bratu2d.py", fmt.Sprint(m), "1").Output()
	if err != nil {
		return nil, false
	}
	var r map[string]float64
	if json.Unmarshal(out, &r) != nil {
		return nil, false
	}
	return r, true
}
