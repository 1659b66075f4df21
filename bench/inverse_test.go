package bench

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Sizes of the inverse-mode benchmarks. Both are multiples of 2·CouplingHalf
// so the coupling layer takes them as they are. At 10⁷ a recorded coupling
// layer holds about 1.2 GB of values.
const (
	inverseSmall = 1_000_000
	inverseLarge = 10_000_000
)

var inverseSizes = []int{inverseSmall, inverseLarge}

// Sizes of the dense comparison: J is formed by n JVPs and solved by LU.
const (
	denseSmall  = 500
	denseMedium = 1000
	denseLarge  = 2000
)

var denseSizes = []int{denseSmall, denseMedium, denseLarge}

// inverseFamily is one program family of the inverse benchmarks.
type inverseFamily struct {
	name string
	// size rounds a requested n to one the program takes.
	size func(n int) int
	prog func(n int) func(x *tape.Var) *tape.Var
	// point, if set, gives the point to linearize at; else input(n).
	point func(n int) *tensor.Tensor
}

// at returns the family's point at n.
func (f inverseFamily) at(n int) *tensor.Tensor {
	if f.point != nil {
		return f.point(n)
	}
	return input(n)
}

var inverseFamilies = []inverseFamily{
	{
		name: "elementwise10",
		size: func(n int) int { return n },
		prog: func(int) func(x *tape.Var) *tape.Var { return Elementwise10 },
	},
	{
		name: "coupling",
		// The nearest multiple of 2·CouplingHalf, at least one row.
		size: func(n int) int {
			const m = 2 * CouplingHalf
			return max(m, (n+m/2)/m*m)
		},
		prog: Coupling,
	},
	{
		// Robertson's kinetics over n/3 cells: one lump of 3×3 blocks
		// with its products eliminated inside, at the comparison's point.
		name:  "kinetics",
		size:  kineticsFamily().Size,
		prog:  func(n int) func(x *tape.Var) *tape.Var { return kineticsFamily().New(n).F },
		point: func(n int) *tensor.Tensor { return kineticsFamily().New(n).X },
	},
}

// ---- correctness ----

// denseLU factorizes the dense Jacobian of lin with gonum.
func denseLU(t testing.TB, lin *inverse.Linearization) *mat.LU {
	t.Helper()
	J, err := lin.Jacobian()
	if err != nil {
		t.Fatal(err)
	}
	n := lin.Len()
	var lu mat.LU
	lu.Factorize(mat.NewDense(n, n, J.Data()))
	return &lu
}

func maxRelDiff(got []float64, want *mat.VecDense) float64 {
	worst, scale := 0.0, 0.0
	for i, g := range got {
		worst = math.Max(worst, math.Abs(g-want.AtVec(i)))
		scale = math.Max(scale, math.Abs(want.AtVec(i)))
	}
	return worst / math.Max(scale, 1)
}

// TestInverseBaselines checks that the benchmark programs' inverse products
// agree with a dense LU solve of their Jacobian (IJVP, VIJP, log|det J|), so
// the benchmarks time correct code. It also checks the coupling layer's
// plain-Go baseline.
func TestInverseBaselines(t *testing.T) {
	for _, fam := range inverseFamilies {
		for _, req := range []int{16, 200, 400} {
			n := fam.size(req)
			t.Run(fmt.Sprintf("%s/n=%d", fam.name, n), func(t *testing.T) {
				x, v := fam.at(n), input(n)
				for i, e := range v.Data() {
					v.Data()[i] = e + 0.5*float64(i%3) // not the same as x
				}
				f := fam.prog(n)
				lin, err := inverse.Linearize(f, x)
				if err != nil {
					t.Fatal(err)
				}
				lu := denseLU(t, lin)
				vd := mat.NewVecDense(n, v.Data())
				const tol = 1e-10

				var want mat.VecDense
				if err := lu.SolveVecTo(&want, false, vd); err != nil {
					t.Fatal(err)
				}
				dx, err := lin.IJVP(v)
				if err != nil {
					t.Fatal(err)
				}
				if d := maxRelDiff(dx.Data(), &want); d > tol {
					t.Errorf("IJVP vs dense LU solve: max relative difference %.3g", d)
				}
				// And back: J·(J⁻¹v) = v.
				back, err := lin.JVP(dx)
				if err != nil {
					t.Fatal(err)
				}
				if d := maxRelDiff(back.Data(), vd); d > tol {
					t.Errorf("JVP(IJVP(v)) vs v: max relative difference %.3g", d)
				}

				if err := lu.SolveVecTo(&want, true, vd); err != nil {
					t.Fatal(err)
				}
				cy, err := lin.VIJP(v)
				if err != nil {
					t.Fatal(err)
				}
				if d := maxRelDiff(cy.Data(), &want); d > tol {
					t.Errorf("VIJP vs dense LUᵀ solve: max relative difference %.3g", d)
				}

				ld, err := lin.LogAbsDet()
				if err != nil {
					t.Fatal(err)
				}
				wantLD, _ := lu.LogDet()
				if math.Abs(ld-wantLD) > 1e-10*math.Max(1, math.Abs(wantLD)) {
					t.Errorf("LogAbsDet %v, dense LU %v", ld, wantLD)
				}

				if fam.name == "coupling" {
					y, plainLD := CouplingPlain(x.Data())
					got := lin.Output().Data()
					for i := range y {
						if math.Abs(got[i]-y[i]) > 1e-12*math.Max(1, math.Abs(y[i])) {
							t.Fatalf("element %d: recorded %v, plain %v", i, got[i], y[i])
						}
					}
					if math.Abs(ld-plainLD) > 1e-10*math.Max(1, math.Abs(plainLD)) {
						t.Errorf("LogAbsDet %v, plain Σ s %v", ld, plainLD)
					}
				}
			})
		}
	}
}

// ---- BenchmarkInverse ----

// perOp is the measured time per iteration of a finished sub-benchmark.
func perOp(b *testing.B) float64 {
	return float64(b.Elapsed().Nanoseconds()) / float64(max(b.N, 1))
}

// median of the times of a reference sub-benchmark's repetitions: -count N
// runs a sub-benchmark N times in a row before the next one starts, so a
// ratio is taken against the median of the reference's N runs.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	k := len(s)
	if k%2 == 1 {
		return s[k/2]
	}
	return (s[k/2-1] + s[k/2]) / 2
}

// paired runs do and primal alternately, b.N times each, timing both by
// hand, and reports do's time as ns/op, primal's as primal-ns/op and their
// ratio as x-primal. Timing the two side by side keeps the ratio steady on a
// shared machine, where a load that comes and goes between two separate
// sub-benchmarks would skew it. The order alternates so that neither always
// runs in the other's wake (caches, garbage collection).
func paired(b *testing.B, do, primal func()) {
	var tDo, tPrimal time.Duration
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			t0 := time.Now()
			do()
			t1 := time.Now()
			primal()
			tDo, tPrimal = tDo+t1.Sub(t0), tPrimal+time.Since(t1)
		} else {
			t0 := time.Now()
			primal()
			t1 := time.Now()
			do()
			tPrimal, tDo = tPrimal+t1.Sub(t0), tDo+time.Since(t1)
		}
	}
	n := float64(max(b.N, 1))
	b.ReportMetric(float64(tDo.Nanoseconds())/n, "ns/op")
	b.ReportMetric(float64(tPrimal.Nanoseconds())/n, "primal-ns/op")
	b.ReportMetric(float64(tDo)/float64(tPrimal), "x-primal")
}

// BenchmarkInverse times, per program family and n, a plain tape run of f
// (primal: tape.NewTape and f, no Linearize), Linearize followed by the
// first LogAbsDet (linearize: record + lump analysis + factorization), and
// the products jvp, vjp, ijvp and vijp of one factorized Linearization, and
// the tapeless VIJP (tapeless-vijp: inverse.VIJP with no Linearization). Every
// sub-benchmark after primal runs primal alongside (see paired) and reports
// x-primal, its time over primal's; its ns/op is its own time alone.
func BenchmarkInverse(b *testing.B) {
	for _, fam := range inverseFamilies {
		for _, req := range inverseSizes {
			n := fam.size(req)
			f := fam.prog(n)
			x, v := fam.at(n), input(n)
			name := fmt.Sprintf("%s/n=%d/", fam.name, n)
			primal := func() {
				tp := tape.NewTape()
				f(tp.Input(x))
			}
			b.Run(name+"primal", func(b *testing.B) {
				for b.Loop() {
					primal()
				}
			})
			b.Run(name+"linearize", func(b *testing.B) {
				paired(b, func() {
					lin, err := inverse.Linearize(f, x)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := lin.LogAbsDet(); err != nil {
						b.Fatal(err)
					}
				}, primal)
			})
			// One Linearization for the products, factorized off the clock
			// and only when a product runs (a -bench filter may skip them).
			var lin *inverse.Linearization
			factorized := func(b *testing.B) *inverse.Linearization {
				if lin == nil {
					l, err := inverse.Linearize(f, x)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := l.LogAbsDet(); err != nil {
						b.Fatal(err)
					}
					lin = l
				}
				return lin
			}
			products := []struct {
				name string
				do   func(l *inverse.Linearization, v *tensor.Tensor) (*tensor.Tensor, error)
			}{
				{"jvp", (*inverse.Linearization).JVP},
				{"vjp", (*inverse.Linearization).VJP},
				{"ijvp", (*inverse.Linearization).IJVP},
				{"vijp", (*inverse.Linearization).VIJP},
			}
			b.Run(name+"tapeless-vijp", func(b *testing.B) {
				paired(b, func() {
					if _, err := inverse.VIJP(f, x, v); err != nil {
						b.Fatal(err)
					}
				}, primal)
			})
			for _, p := range products {
				b.Run(name+p.name, func(b *testing.B) {
					l := factorized(b)
					paired(b, func() {
						if _, err := p.do(l, v); err != nil {
							b.Fatal(err)
						}
					}, primal)
				})
			}
		}
	}
}

// ---- BenchmarkDenseVsInverse ----

// BenchmarkDenseVsInverse compares the inverse product with what a user
// without inverse mode would do: form J by n JVPs (Linearization.Jacobian),
// factorize it with gonum's LU and solve (dense), against the first IJVP of
// a fresh Linearization, lump analysis and factorization included
// (ijvp-first; Linearize itself is outside the timer, as it is for dense),
// and against a later IJVP (ijvp). ijvp-first and ijvp report
// dense-speedup, dense's time (the median of its -count repetitions) over
// theirs, measured in the same process.
func BenchmarkDenseVsInverse(b *testing.B) {
	for _, fam := range inverseFamilies {
		for _, req := range denseSizes {
			n := fam.size(req)
			f := fam.prog(n)
			x, v := fam.at(n), input(n)
			name := fmt.Sprintf("%s/n=%d/", fam.name, n)
			lin, err := inverse.Linearize(f, x)
			if err != nil {
				b.Fatal(err)
			}
			var dense []float64 // per -count repetition
			speedup := func(b *testing.B) {
				if len(dense) > 0 {
					b.ReportMetric(median(dense)/perOp(b), "dense-speedup")
				}
			}
			b.Run(name+"dense", func(b *testing.B) {
				vd := mat.NewVecDense(n, v.Data())
				var dx mat.VecDense
				for b.Loop() {
					J, err := lin.Jacobian()
					if err != nil {
						b.Fatal(err)
					}
					var lu mat.LU
					lu.Factorize(mat.NewDense(n, n, J.Data()))
					if err := lu.SolveVecTo(&dx, false, vd); err != nil {
						b.Fatal(err)
					}
				}
				dense = append(dense, perOp(b))
			})
			b.Run(name+"ijvp-first", func(b *testing.B) {
				// A fresh Linearization per iteration, recorded with the
				// timer stopped.
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					fresh, err := inverse.Linearize(f, x)
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					if _, err := fresh.IJVP(v); err != nil {
						b.Fatal(err)
					}
				}
				speedup(b)
			})
			if _, err := lin.IJVP(v); err != nil { // factorize outside the timings
				b.Fatal(err)
			}
			b.Run(name+"ijvp", func(b *testing.B) {
				for b.Loop() {
					if _, err := lin.IJVP(v); err != nil {
						b.Fatal(err)
					}
				}
				speedup(b)
			})
		}
	}
}
