package sparse

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// Sizes of the sparse LU benchmarks: the 5-point grid at k = 300
// (9·10⁴ unknowns) and at gridM = 1000 (10⁶, skipped under -short), and
// the tridiagonal matrix of tridiagN = 10⁶ unknowns.
const gridSmallK = 300

// csrBackwardError returns ‖Ax − b‖∞ / (‖A‖∞‖x‖∞ + ‖b‖∞) for the CSR
// matrix p, vals: the benchmarks' guard against timing a wrong path.
func csrBackwardError(p *Pattern, vals, x, b []float64) float64 {
	res, normA := 0.0, 0.0
	for i := range p.N {
		s, row := -b[i], 0.0
		for k := p.RowPtr[i]; k < p.RowPtr[i+1]; k++ {
			s += vals[k] * x[p.Col[k]]
			row += math.Abs(vals[k])
		}
		res, normA = math.Max(res, math.Abs(s)), math.Max(normA, row)
	}
	return res / (normA*normInf(x) + normInf(b))
}

// BenchmarkFactorSparse times, in the same iterations, the phases of a
// sparse LU of the 5-point stencil on a k×k grid with values dominant by
// columns (randomCSRValues, csrDominant: no pivot is delayed, as with
// testdata/splu_grid.py's matrix): NestedDissection (order-ns),
// AnalyzeSparse (analyze-ns), Factor (factor-ns) and one Solve
// (solve-ns). It reports the fill nnz(L+U)/nnz(A), the factor's memory
// (factor-MB) and the analysis's PeakBytes (peak-MB).
//
// Factor allocates its factor (500 MB at k = 1000) on every call, and on
// this machine the first touch of fresh memory costs about 3.4 s per GB;
// once the heap has grown, later iterations reuse its pages (see
// BenchmarkTridiagonal's note on FactorBand).
func BenchmarkFactorSparse(b *testing.B) {
	for _, k := range []int{gridSmallK, gridM} {
		b.Run(fmt.Sprintf("grid5/k=%d", k), func(b *testing.B) {
			if k == gridM && testing.Short() {
				b.Skip("10⁶ unknowns: seconds per iteration")
			}
			rng := rand.New(rand.NewPCG(1, 1))
			p := gridPattern(k)
			vals := randomCSRValues(rng, p, csrDominant)
			rhs := randomVector(rng, p.N)
			x := make([]float64, p.N)
			var orderT, analyzeT, factorT, solveT time.Duration
			var f *SparseLU
			var an *SparseAnalysis
			for b.Loop() {
				t0 := time.Now()
				perm := NestedDissection(p)
				t1 := time.Now()
				an = AnalyzeSparse(p, perm)
				t2 := time.Now()
				var err error
				if f, err = an.Factor(vals); err != nil {
					b.Fatal(err)
				}
				t3 := time.Now()
				f.Solve(x, rhs)
				t4 := time.Now()
				orderT += t1.Sub(t0)
				analyzeT += t2.Sub(t1)
				factorT += t3.Sub(t2)
				solveT += t4.Sub(t3)
			}
			if be := csrBackwardError(p, vals, x, rhs); be > luBackwardTol {
				b.Fatalf("backward error %.3g", be)
			}
			iters := float64(b.N)
			b.ReportMetric(float64(orderT.Nanoseconds())/iters, "order-ns")
			b.ReportMetric(float64(analyzeT.Nanoseconds())/iters, "analyze-ns")
			b.ReportMetric(float64(factorT.Nanoseconds())/iters, "factor-ns")
			b.ReportMetric(float64(solveT.Nanoseconds())/iters, "solve-ns")
			b.ReportMetric(float64(f.NNZ())/float64(p.NNZ()), "fill")
			b.ReportMetric(float64(f.Bytes())/1e6, "factor-MB")
			b.ReportMetric(float64(an.PeakBytes())/1e6, "peak-MB")
		})
	}
}

// BenchmarkSparseVsBand times, in the same iterations, the sparse LU
// (nested dissection, analysis and factorization: sparse-ns; the last
// alone: sparse-factor-ns) and FactorBandPermuted in
// the natural order on one diagonally dominant tridiagonal matrix of
// tridiagN unknowns, each followed by one Solve, and reports the ratios
// sparse/band of the factorization (all phases) and of the solve. A band
// is the banded LU's home ground: nested dissection gives it 1.67× fill
// where the band has none, and the multifrontal method pays for a front
// per separator node; the ratio is the price of using the general method
// on a block that does not need it.
func BenchmarkSparseVsBand(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := bandPattern(tridiagN, 1, 1)
	vals := randomCSRValues(rng, p, csrDominant)
	rhs := randomVector(rng, p.N)
	x, y := make([]float64, p.N), make([]float64, p.N)
	b.Run(fmt.Sprintf("tridiagonal/n=%d", tridiagN), func(b *testing.B) {
		var sparseT, numericT, sparseSolveT, bandT, bandSolveT time.Duration
		var f *SparseLU
		for b.Loop() {
			t0 := time.Now()
			an := AnalyzeSparse(p, NestedDissection(p))
			tn := time.Now()
			var err error
			if f, err = an.Factor(vals); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			numericT += t1.Sub(tn)
			f.Solve(x, rhs)
			t2 := time.Now()
			band, err := FactorBandPermuted(p, vals, nil)
			if err != nil {
				b.Fatal(err)
			}
			t3 := time.Now()
			band.Solve(y, rhs)
			t4 := time.Now()
			sparseT += t1.Sub(t0)
			sparseSolveT += t2.Sub(t1)
			bandT += t3.Sub(t2)
			bandSolveT += t4.Sub(t3)
		}
		for _, v := range [][]float64{x, y} {
			if be := csrBackwardError(p, vals, v, rhs); be > luBackwardTol {
				b.Fatalf("backward error %.3g", be)
			}
		}
		iters := float64(b.N)
		b.ReportMetric(float64(sparseT.Nanoseconds())/iters, "sparse-ns")
		b.ReportMetric(float64(numericT.Nanoseconds())/iters, "sparse-factor-ns")
		b.ReportMetric(float64(sparseSolveT.Nanoseconds())/iters, "sparse-solve-ns")
		b.ReportMetric(float64(bandT.Nanoseconds())/iters, "band-ns")
		b.ReportMetric(float64(bandSolveT.Nanoseconds())/iters, "band-solve-ns")
		b.ReportMetric(float64(sparseT)/float64(bandT), "sparse/band")
		b.ReportMetric(float64(sparseSolveT)/float64(bandSolveT), "solve-sparse/band")
		b.ReportMetric(float64(f.NNZ())/float64(p.NNZ()), "fill")
	})
}
