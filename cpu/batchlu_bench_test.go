package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// Batch sizes: a million blocks for the orders the specialised kernels and
// the smallest generic ones serve, a hundred thousand for the larger orders
// (their inputs are k²·m·8 bytes: 0.8 GB at k = 32).
const (
	benchBlocksSmallK = 1_000_000
	benchBlocksLargeK = 100_000
)

var benchBatchCases = []struct{ k, m int }{
	{2, benchBlocksSmallK},
	{3, benchBlocksSmallK},
	{4, benchBlocksSmallK},
	{8, benchBlocksSmallK},
	{16, benchBlocksLargeK},
	{32, benchBlocksLargeK},
}

// benchBatch runs one sub-benchmark per case. setup builds the inputs outside
// the timer and returns the operation to time; blocks/s is reported.
func benchBatch(b *testing.B, setup func(b *testing.B, a []float64, k, m int) func()) {
	for _, c := range benchBatchCases {
		b.Run(fmt.Sprintf("k=%d/m=%d", c.k, c.m), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			a := randBatch(rng, c.k, c.m)
			op := setup(b, a, c.k, c.m)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				op()
				n++
			}
			b.ReportMetric(float64(c.m)*float64(n)/b.Elapsed().Seconds(), "blocks/s")
		})
	}
}

func mustFactorBatch(b *testing.B, a []float64, k, m int) *BatchLU {
	f, sing := FactorBatch(a, k, m)
	if sing != nil {
		b.Fatal(sing)
	}
	return f
}

// BenchmarkBatchLUFactor reuses the factors' storage, as the gonum baseline
// does; BenchmarkBatchLUFactorAlloc allocates them afresh every time, which
// adds the kernel's page faults on first touch.
func BenchmarkBatchLUFactor(b *testing.B) {
	benchBatch(b, func(b *testing.B, a []float64, k, m int) func() {
		var f BatchLU
		return func() {
			if sing := FactorBatchTo(&f, a, k, m); sing != nil {
				b.Fatal(sing)
			}
		}
	})
}

func BenchmarkBatchLUFactorAlloc(b *testing.B) {
	benchBatch(b, func(b *testing.B, a []float64, k, m int) func() {
		return func() { mustFactorBatch(b, a, k, m) }
	})
}

func BenchmarkBatchLUSolve(b *testing.B) {
	benchBatch(b, func(b *testing.B, a []float64, k, m int) func() {
		f := mustFactorBatch(b, a, k, m)
		v := randBatch(rand.New(rand.NewPCG(2, 2)), 1, k*m)
		x := make([]float64, k*m)
		return func() { f.Solve(x, v) }
	})
}

func BenchmarkBatchLUSolveT(b *testing.B) {
	benchBatch(b, func(b *testing.B, a []float64, k, m int) func() {
		f := mustFactorBatch(b, a, k, m)
		v := randBatch(rand.New(rand.NewPCG(2, 2)), 1, k*m)
		x := make([]float64, k*m)
		return func() { f.SolveT(x, v) }
	})
}

// The baseline: gonum's LAPACK on one block at a time, with the same layout
// conversions and the same goroutines (forBlocks) as BatchLU, so the ratio
// measures the per-block kernels. Run with -cpu 1 to compare single threads.

// gonumBatch holds gonum's factors of each block, block-major.
type gonumBatch struct {
	k, m int
	lu   []float64
	ipiv []int
}

func (g *gonumBatch) block(b int) blas64.General {
	kk := g.k * g.k
	return blas64.General{Rows: g.k, Cols: g.k, Stride: g.k, Data: g.lu[b*kk : (b+1)*kk]}
}

func (g *gonumBatch) factor(b *testing.B, a []float64) {
	k, m := g.k, g.m
	forBlocks(m, k*k*(k+3)/3, func(lo, hi int) {
		for blk := lo; blk < hi; blk++ {
			gb := g.block(blk)
			for e := range k * k {
				gb.Data[e] = a[e*m+blk]
			}
			if !lapack64.Getrf(gb, g.ipiv[blk*k:(blk+1)*k]) {
				b.Error("gonum: singular block")
			}
		}
	})
}

func (g *gonumBatch) solve(dst, v []float64, t blas.Transpose) {
	k, m := g.k, g.m
	forBlocks(m, 2*k*k, func(lo, hi int) {
		rhs := blas64.General{Rows: k, Cols: 1, Stride: 1, Data: make([]float64, k)}
		for blk := lo; blk < hi; blk++ {
			for i := range k {
				rhs.Data[i] = v[i*m+blk]
			}
			lapack64.Getrs(t, g.block(blk), rhs, g.ipiv[blk*k:(blk+1)*k])
			for i, x := range rhs.Data {
				dst[i*m+blk] = x
			}
		}
	})
}

func newGonumBatch(k, m int) *gonumBatch {
	return &gonumBatch{k: k, m: m, lu: make([]float64, k*k*m), ipiv: make([]int, k*m)}
}

func BenchmarkBatchLUFactorGonum(b *testing.B) {
	benchBatch(b, func(b *testing.B, a []float64, k, m int) func() {
		g := newGonumBatch(k, m)
		return func() { g.factor(b, a) }
	})
}

func BenchmarkBatchLUSolveGonum(b *testing.B) {
	benchBatch(b, func(b *testing.B, a []float64, k, m int) func() {
		g := newGonumBatch(k, m)
		g.factor(b, a)
		v := randBatch(rand.New(rand.NewPCG(2, 2)), 1, k*m)
		x := make([]float64, k*m)
		return func() { g.solve(x, v, blas.NoTrans) }
	})
}

func BenchmarkBatchLUSolveTGonum(b *testing.B) {
	benchBatch(b, func(b *testing.B, a []float64, k, m int) func() {
		g := newGonumBatch(k, m)
		g.factor(b, a)
		v := randBatch(rand.New(rand.NewPCG(2, 2)), 1, k*m)
		x := make([]float64, k*m)
		return func() { g.solve(x, v, blas.Trans) }
	})
}

// BenchmarkBatchLUSpeedup times BatchLU and the gonum baseline in the same
// loop, alternating, and reports both rates and speedup = gonum time / BatchLU
// time: on a shared machine whose load drifts, a ratio of interleaved timings
// is steadier than one of two benchmarks run minutes apart.
func BenchmarkBatchLUSpeedup(b *testing.B) {
	for _, op := range []string{"factor", "solve", "solveT"} {
		for _, c := range benchBatchCases {
			b.Run(fmt.Sprintf("%s/k=%d/m=%d", op, c.k, c.m), func(b *testing.B) {
				k, m := c.k, c.m
				a := randBatch(rand.New(rand.NewPCG(1, 1)), k, m)
				var f BatchLU
				if sing := FactorBatchTo(&f, a, k, m); sing != nil {
					b.Fatal(sing)
				}
				g := newGonumBatch(k, m)
				g.factor(b, a)
				v := randBatch(rand.New(rand.NewPCG(2, 2)), 1, k*m)
				x := make([]float64, k*m)
				ours, theirs := func() { FactorBatchTo(&f, a, k, m) }, func() { g.factor(b, a) }
				switch op {
				case "solve":
					ours, theirs = func() { f.Solve(x, v) }, func() { g.solve(x, v, blas.NoTrans) }
				case "solveT":
					ours, theirs = func() { f.SolveT(x, v) }, func() { g.solve(x, v, blas.Trans) }
				}
				var tOurs, tTheirs time.Duration
				n := 0
				for b.Loop() {
					t0 := time.Now()
					ours()
					t1 := time.Now()
					theirs()
					tOurs += t1.Sub(t0)
					tTheirs += time.Since(t1)
					n++
				}
				blocks := float64(m) * float64(n)
				b.ReportMetric(blocks/tOurs.Seconds(), "ours-blocks/s")
				b.ReportMetric(blocks/tTheirs.Seconds(), "gonum-blocks/s")
				b.ReportMetric(float64(tTheirs)/float64(tOurs), "speedup")
			})
		}
	}
}

// The float32 batched LU next to the float64 one, at the orders of the
// unrolled kernels (2, 4) and of the tiled one (16), on benchBlocks32 blocks.
const benchBlocks32 = 100_000

var benchBatch32Orders = []int{2, 4, 16}

// BenchmarkBatchLU32VsFloat64 times FactorBatch32To and FactorBatchTo (or
// their solves) on the same blocks in the same loop, alternating as
// BenchmarkBatchLUSpeedup does, and reports both rates and speedup = float64
// time / float32 time.
func BenchmarkBatchLU32VsFloat64(b *testing.B) {
	for _, op := range []string{"factor", "solve", "solveT"} {
		for _, k := range benchBatch32Orders {
			m := benchBlocks32
			b.Run(fmt.Sprintf("%s/k=%d/m=%d", op, k, m), func(b *testing.B) {
				a32 := randBatch32(rand.New(rand.NewPCG(1, 1)), k, m)
				a64 := widen(a32)
				var f32 BatchLU32
				var f64 BatchLU
				if sing := FactorBatch32To(&f32, a32, k, m); sing != nil {
					b.Fatal(sing)
				}
				if sing := FactorBatchTo(&f64, a64, k, m); sing != nil {
					b.Fatal(sing)
				}
				v32 := randBatch32(rand.New(rand.NewPCG(2, 2)), 1, k*m)
				v64 := widen(v32)
				x32, x64 := make([]float32, k*m), make([]float64, k*m)
				run32, run64 := func() { FactorBatch32To(&f32, a32, k, m) }, func() { FactorBatchTo(&f64, a64, k, m) }
				switch op {
				case "solve":
					run32, run64 = func() { f32.Solve(x32, v32) }, func() { f64.Solve(x64, v64) }
				case "solveT":
					run32, run64 = func() { f32.SolveT(x32, v32) }, func() { f64.SolveT(x64, v64) }
				}
				var t32, t64 time.Duration
				n := 0
				for b.Loop() {
					t0 := time.Now()
					run32()
					t1 := time.Now()
					run64()
					t32 += t1.Sub(t0)
					t64 += time.Since(t1)
					n++
				}
				blocks := float64(m) * float64(n)
				b.ReportMetric(blocks/t32.Seconds(), "f32-blocks/s")
				b.ReportMetric(blocks/t64.Seconds(), "f64-blocks/s")
				b.ReportMetric(float64(t64)/float64(t32), "speedup")
			})
		}
	}
}
