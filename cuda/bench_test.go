package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/invad/invad/bench"
	"github.com/invad/invad/internal/cublas"
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
			if op.name == "factor" {
				benchCublasGetrf(b, be, k, m, a)
			}
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

// benchCublasGetrf times cuBLAS's cublasDgetrfBatched on the same m blocks
// of order k (copied to cuBLAS's layout: one column-major block after the
// other, and an array of their addresses), the reference of the issue's
// target (FactorBatch at or above cuBLAS for k ≤ 16), in the same run. It
// skips, saying why, where no libcublas loads ($INVAD_CUBLAS names one).
func benchCublasGetrf(b *testing.B, be *Backend, k, m int, a []float64) {
	b.Run(fmt.Sprintf("cublas-getrf/k=%d/m=%d", k, m), func(b *testing.B) {
		lib, err := cublas.Open()
		if err != nil {
			b.Skip(err)
		}
		blocks := make([]float64, len(a))
		for t := 0; t < m; t++ {
			for i := 0; i < k; i++ {
				for j := 0; j < k; j++ {
					blocks[t*k*k+j*k+i] = a[(i*k+j)*m+t] // column-major
				}
			}
		}
		work := upload(b, be, blocks)
		orig := upload(b, be, blocks)
		ptrs := make([]float64, m) // the blocks' device addresses, as bits
		for t := range ptrs {
			ptrs[t] = math.Float64frombits(uint64(work.ptr) + uint64(8*k*k*t))
		}
		dptrs := upload(b, be, ptrs)
		piv, info := upload(b, be, make([]float64, (k*m+1)/2)), upload(b, be, make([]float64, (m+1)/2))
		var h *cublas.Handle
		err = be.do(func() error {
			var err error
			if h, err = lib.Create(); err != nil {
				return err
			}
			return h.SetStream(uintptr(be.dev.(*gpuDevice).stream))
		})
		if err != nil {
			b.Fatal(err)
		}
		defer be.do(h.Destroy)
		for b.Loop() {
			if err := be.Copy(work, orig); err != nil { // factorize A, not its LU
				b.Fatal(err)
			}
			err := be.do(func() error {
				return h.DgetrfBatched(k, uint64(dptrs.ptr), k, uint64(piv.ptr), uint64(info.ptr), m)
			})
			if err != nil {
				b.Fatal(err)
			}
			if err := be.Synchronize(); err != nil {
				b.Fatal(err)
			}
		}
		s := b.Elapsed().Seconds()
		b.ReportMetric(float64(m)*float64(b.N)/s, "blocks/s")
		b.ReportMetric(16*float64(k*k)*float64(m)*float64(b.N)/s/1e9, "GB/s")
		b.Logf("%s; each iteration also copies the m blocks back (a 16·k²·m-byte pass, included)", lib.Path)
	})
}

// BenchmarkGPUGemm times the tiled gemm on square matrices, as GFLOP/s,
// and cuBLAS's dgemm on the same matrices where a libcublas loads.
func BenchmarkGPUGemm(b *testing.B) {
	be := gpuBackend(b)
	bl, err := New(0) // a second Backend, whose Gemm goes to cuBLAS
	if err != nil {
		b.Fatal(err)
	}
	defer bl.Close()
	blasErr := bl.EnableCuBLAS()
	for _, n := range []int{1024, 4096} {
		rng := rand.New(rand.NewPCG(uint64(n), 2))
		a := make([]float64, n*n)
		for i := range a {
			a[i] = 2*rng.Float64() - 1
		}
		for _, c := range []struct {
			name string
			be   *Backend
			skip error
		}{{"", be, nil}, {"cublas/", bl, blasErr}} {
			b.Run(fmt.Sprintf("%sn=%d", c.name, n), func(b *testing.B) {
				if c.skip != nil {
					b.Skip(c.skip)
				}
				da, db, dc := upload(b, c.be, a), upload(b, c.be, a), upload(b, c.be, a)
				for b.Loop() {
					if err := c.be.Gemm(n, n, n, 1, GemmOperand{da, n, false}, GemmOperand{db, n, false}, 0, dc, n); err != nil {
						b.Fatal(err)
					}
					if err := c.be.Synchronize(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkGPUProducts times the device Linearization's products against
// the primal on the device (every op's forward kernel, rerun in place),
// for the families of package bench at n = 2¹⁴, 2¹⁷, 10⁶ and 10⁷ (the small
// ones to set beside the dense solves of testdata/densesolve.py, which stop
// where the n×n Jacobian no longer fits): each iteration
// runs the primal and the four products once each, alternately, and the
// benchmark reports each product's time over the primal's (the issue's
// target: IJVP ≤ 3× the primal) and the primal's milliseconds. Arguments
// and results stay on the device. The first inverse product (analysis and
// factorization) runs before the timing.
func BenchmarkGPUProducts(b *testing.B) {
	be := gpuBackend(b)
	for _, fam := range bench.Families() {
		if fam.Name == "wx" {
			continue // a dense n×n W: the host LU dominates; not a device measurement
		}
		for _, n := range []int{1 << 14, 1 << 17, 1_000_000, 10_000_000} {
			b.Run(fmt.Sprintf("%s/n=%d", fam.Name, fam.Size(n)), func(b *testing.B) {
				p := fam.New(fam.Size(n))
				l, err := Linearize(be, p.F, p.X)
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				rng := rand.New(rand.NewPCG(1, 2))
				v := make([]float64, l.Len())
				for i := range v {
					v[i] = rng.NormFloat64()
				}
				arg := upload(b, be, v)
				res := upload(b, be, make([]float64, l.Len()))
				if _, err := l.LogAbsDet(); err != nil {
					b.Fatal(err)
				}
				total := make([]time.Duration, len(productNames))
				for b.Loop() {
					if err := timeProducts(l, res, arg, total); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(total[0].Seconds()*1e3/float64(b.N), "primal-ms")
				for i, name := range productNames[1:] {
					b.ReportMetric(total[i+1].Seconds()/total[0].Seconds(), name+"/primal")
				}
			})
		}
	}
}

var productNames = []string{"primal", "JVP", "VJP", "IJVP", "VIJP"}

// timeProducts runs the primal on the device and the four products once
// each, waiting for each, and adds their times to total (productNames'
// order).
func timeProducts(l *Linearization, res, arg *Tensor, total []time.Duration) error {
	runs := []func() error{
		l.rerun,
		func() error { return l.JVPDevice(res, arg) },
		func() error { return l.VJPDevice(res, arg) },
		func() error { return l.IJVPDevice(res, arg) },
		func() error { return l.VIJPDevice(res, arg) },
	}
	for i, r := range runs {
		t0 := time.Now()
		if err := r(); err != nil {
			return fmt.Errorf("%s: %w", productNames[i], err)
		}
		if err := l.Backend().Synchronize(); err != nil {
			return err
		}
		total[i] += time.Since(t0)
	}
	return nil
}
