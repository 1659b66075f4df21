package cuda

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// GPU benchmarks: they skip without a GPU (none has run yet; see README.md,
// "Running the GPU tests"). Each reports blocks/s or GB/s, and the copy
// benchmark gives the bandwidth to compare with: a kernel that reads and
// writes each element once (neg), in the same run.

// Batch sizes of the GPU batched-LU benchmark: 10⁶ blocks up to k = 16
// (256 MB of factors at k = 16), 2·10⁵ above.
const (
	gpuBenchBlocks      = 1_000_000
	gpuBenchBlocksLarge = 200_000
)

var gpuBenchK = []int{2, 3, 4, 8, 16, 32}

// BenchmarkGPUCopy: a pass that reads and writes n doubles, the bandwidth
// the batched LU's GB/s is compared with.
func BenchmarkGPUCopy(b *testing.B) {
	be := gpuBackend(b)
	const n = 1 << 27 // 1 GiB read, 1 GiB written
	x := upload(b, be, make([]float64, n))
	y := upload(b, be, make([]float64, n))
	for b.Loop() {
		if err := be.Unary("neg", Forward, 0, y, x, nil, nil); err != nil {
			b.Fatal(err)
		}
		if err := be.Synchronize(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(16*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// BenchmarkGPUBatchLU times FactorBatch (status read back included), Solve
// and SolveT for m blocks of order k, with the bytes each must move at
// least (factor: read A, write LU; solve: read LU, read v, write x) as GB/s.
func BenchmarkGPUBatchLU(b *testing.B) {
	be := gpuBackend(b)
	for _, k := range gpuBenchK {
		m := gpuBenchBlocks
		if k > 16 {
			m = gpuBenchBlocksLarge
		}
		rng := rand.New(rand.NewPCG(uint64(k), 1))
		a := make([]float64, k*k*m)
		for i := range a {
			a[i] = 2*rng.Float64() - 1
		}
		for i := 0; i < k; i++ { // diagonally dominant: no block is refused
			for t := 0; t < m; t++ {
				a[(i*k+i)*m+t] += float64(k)
			}
		}
		v := make([]float64, k*m)
		for i := range v {
			v[i] = 2*rng.Float64() - 1
		}
		da, dv, dx := upload(b, be, a), upload(b, be, v), upload(b, be, v)
		f, err := be.FactorBatch(da, k, m)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(f.Free)
		kk := float64(k * k)
		for _, op := range []struct {
			name  string
			bytes float64
			run   func() error
		}{
			{"factor", 16 * kk, func() error {
				g, err := be.FactorBatch(da, k, m)
				if err == nil {
					g.Free()
				}
				return err
			}},
			{"solve", 8*kk + 16*float64(k), func() error { return f.Solve(dx, dv) }},
			{"solveT", 8*kk + 16*float64(k), func() error { return f.SolveT(dx, dv) }},
		} {
			b.Run(fmt.Sprintf("%s/k=%d/m=%d", op.name, k, m), func(b *testing.B) {
				for b.Loop() {
					if err := op.run(); err != nil {
						b.Fatal(err)
					}
					if err := be.Synchronize(); err != nil {
						b.Fatal(err)
					}
				}
				s := b.Elapsed().Seconds()
				b.ReportMetric(float64(m)*float64(b.N)/s, "blocks/s")
				b.ReportMetric(op.bytes*float64(m)*float64(b.N)/s/1e9, "GB/s")
			})
		}
	}
}

// BenchmarkGPUGemm times the tiled gemm on square matrices, as GFLOP/s.
func BenchmarkGPUGemm(b *testing.B) {
	be := gpuBackend(b)
	for _, n := range []int{1024, 4096} {
		rng := rand.New(rand.NewPCG(uint64(n), 2))
		a := make([]float64, n*n)
		for i := range a {
			a[i] = 2*rng.Float64() - 1
		}
		da, db, dc := upload(b, be, a), upload(b, be, a), upload(b, be, a)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := be.Gemm(n, n, n, 1, GemmOperand{da, n, false}, GemmOperand{db, n, false}, 0, dc, n); err != nil {
					b.Fatal(err)
				}
				if err := be.Synchronize(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
