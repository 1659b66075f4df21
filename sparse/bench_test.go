package sparse

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const (
	// tridiagN is the size of the tridiagonal benchmark: 10⁶ unknowns, a
	// 1-D stencil lump of the size a real program reaches.
	tridiagN = 1_000_000
	// gridM is the side of the 2-D grid benchmark: 10⁶ unknowns.
	gridM = 1000
)

// BenchmarkTridiagonal times, in the same iterations, the Thomas algorithm
// and the band LU on one diagonally dominant tridiagonal system, and
// reports the ratios:
//
//   - band/thomas: FactorBand+Solve over Thomas. FactorBand allocates its
//     factor (BandLUBytes = 40 MB here) on every call, and touching that
//     fresh memory is a large part of its time.
//   - reuse/thomas: FactorBandTo into a factor kept across iterations, plus
//     Solve: a refactorization, as in a Newton iteration.
//   - solve/thomas: Solve alone, the cost per right-hand side once the
//     factor exists (IJVP and VIJP reuse one factor).
//
// Thomas does no pivoting and writes one n-vector of scratch allocated
// outside the loop. Per-phase times are the *-ns metrics.
func BenchmarkTridiagonal(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	sub, diag, sup, a := tridiagonal(rng, tridiagN)
	rhs := randomVector(rng, tridiagN)
	x, cp, y := make([]float64, tridiagN), make([]float64, tridiagN), make([]float64, tridiagN)
	b.Run(fmt.Sprintf("n=%d", tridiagN), func(b *testing.B) {
		var reused BandLU
		var thomasT, factorT, refactorT, solveT time.Duration
		for b.Loop() {
			t0 := time.Now()
			thomas(x, cp, sub, diag, sup, rhs)
			t1 := time.Now()
			lu, err := FactorBand(a)
			if err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			if err := FactorBandTo(&reused, a); err != nil {
				b.Fatal(err)
			}
			copy(y, rhs)
			t3 := time.Now()
			lu.Solve(y)
			t4 := time.Now()
			thomasT += t1.Sub(t0)
			factorT += t2.Sub(t1)
			refactorT += t3.Sub(t2)
			solveT += t4.Sub(t3)
		}
		// Guard against timing a wrong path: the two solutions agree (the
		// condition number is below 3; see TestTridiagonalThomas).
		tol := 16 * eps * normInf(x)
		for i := range x {
			if math.Abs(x[i]-y[i]) > tol {
				b.Fatalf("x[%d]: band %v, Thomas %v", i, y[i], x[i])
			}
		}
		iters := float64(b.N)
		b.ReportMetric(float64(thomasT.Nanoseconds())/iters, "thomas-ns")
		b.ReportMetric(float64(factorT.Nanoseconds())/iters, "factor-ns")
		b.ReportMetric(float64(refactorT.Nanoseconds())/iters, "refactor-ns")
		b.ReportMetric(float64(solveT.Nanoseconds())/iters, "solve-ns")
		b.ReportMetric(float64(factorT+solveT)/float64(thomasT), "band/thomas")
		b.ReportMetric(float64(refactorT+solveT)/float64(thomasT), "reuse/thomas")
		b.ReportMetric(float64(solveT)/float64(thomasT), "solve/thomas")
	})
}

// BenchmarkColorColumns colors the patterns of a tridiagonal matrix and of
// the 5-point stencil on a gridM×gridM grid, both with 10⁶ columns; the
// metric colors is the number of JVPs that extraction takes.
//
// The grid in natural ordering has bandwidth kl = ku = gridM = 1000, so
// coloring it is cheap but a band LU of it is not: BandLUBytes gives 24 GB
// (the metric bandLU-GB) and FactorBand would take n·kl·(kl+ku) = 2·10¹² flops,
// against nested dissection's O(m³) = 10⁹ flops and O(m² log m) fill. A
// grid lump needs the sparse LU of design section 8, not FactorBand.
func BenchmarkColorColumns(b *testing.B) {
	for _, tc := range []struct {
		name string
		p    *Pattern
	}{
		{fmt.Sprintf("tridiagonal/n=%d", tridiagN), bandPattern(tridiagN, 1, 1)},
		{fmt.Sprintf("grid5/m=%d", gridM), gridPattern(gridM)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var k int
			for b.Loop() {
				_, k = ColorColumns(tc.p)
			}
			b.ReportMetric(float64(k), "colors")
			kl, ku := tc.p.Bandwidth()
			b.ReportMetric(float64(BandLUBytes(tc.p.N, kl, ku))/1e9, "bandLU-GB")
		})
	}
}
