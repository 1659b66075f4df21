package inverse_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/invad/invad/catalog"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// BenchmarkFloat32 times the float32 products (Linearize32) against the
// float64 ones (Linearize) on programs of a million or so elements, each
// figure the fastest of alternating runs, and reports the ratios
// float32 / float64 measured in the same run: prepare (record, analyze,
// factorize), IJVP, VIJP and JVP, and the heap each Linearization holds
// once prepared and used (tape, float32 values, factors, pooled buffers).
//
//	go test -run '^$' -bench Float32 -benchtime 1x ./inverse/
func BenchmarkFloat32(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	const B = 100_000
	w1, w2, b1 := randT(rng, 0.3, 64, 16), randT(rng, 0.3, 16, 64), randT(rng, 0.5, 64, 1)
	kin := catalog.Kinetics(999_999)
	cases := []struct {
		name string
		f    func(*tape.Var) *tape.Var
		x    *tensor.Tensor
	}{
		// One batch lump of B blocks 16×16: the batched LU.
		{"residual-16xB", func(x *tape.Var) *tape.Var {
			h := ops.Tanh(ops.Add(ops.MatMul(ops.Const(x, w1), x), ops.Const(x, b1)))
			return ops.Add(x, ops.Scale(ops.MatMul(ops.Const(x, w2), h), 0.4))
		}, randT(rng, 1, 16, B)},
		// Ten diagonal steps.
		{"elementwise10", catalog.Elementwise10, randT(rng, 1, 1_000_000)},
		// 3×3 blocks per cell.
		{"kinetics", kin.F, kin.X},
		// A tridiagonal (banded) sparse lump.
		{"bratu1d", catalog.Bratu1D(1), randT(rng, 0.1, 1_000_000)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			x32 := tensor.To32(c.x)
			x64 := tensor.To64(x32)
			var l64 *inverse.Linearization
			var l32 *inverse.Linearization32
			prep64 := func() {
				var err error
				if l64, err = inverse.Linearize(c.f, x64); err == nil {
					err = l64.Prepare(context.Background())
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			prep32 := func() {
				var err error
				if l32, err = inverse.Linearize32(c.f, x32); err == nil {
					err = l32.Prepare(context.Background())
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			v64 := tensor.Zeros(c.x.Shape()...)
			for i := range v64.Data() {
				v64.Data()[i] = 2*rng.Float64() - 1
			}
			v32 := tensor.To32(v64)
			r64, r32 := tensor.Zeros(c.x.Shape()...), tensor.ZerosOf[float32](c.x.Shape()...)
			must := func(err error) {
				if err != nil {
					b.Fatal(err)
				}
			}
			pairs := []struct {
				name     string
				f64, f32 func()
			}{
				{"prepare", prep64, prep32},
				{"ijvp", func() { must(l64.IJVPTo(r64, v64)) }, func() { must(l32.IJVPTo(r32, v32)) }},
				{"vijp", func() { must(l64.VIJPTo(r64, v64)) }, func() { must(l32.VIJPTo(r32, v32)) }},
				{"jvp", func() { must(l64.JVPTo(r64, v64)) }, func() { must(l32.JVPTo(r32, v32)) }},
			}
			run := func(f func()) time.Duration {
				t0 := time.Now()
				f()
				return time.Since(t0)
			}
			t64, t32 := make([]time.Duration, len(pairs)), make([]time.Duration, len(pairs))
			for i, p := range pairs {
				t64[i], t32[i] = time.Hour, time.Hour
				for range 4 {
					t64[i] = min(t64[i], run(p.f64))
					t32[i] = min(t32[i], run(p.f32))
				}
			}
			// The heap each holds once prepared and used (the other
			// dropped; two collections empty the sync.Pools' caches).
			live := func() uint64 {
				runtime.GC()
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				return m.HeapAlloc
			}
			heap := func(prep func(), use func()) uint64 {
				l64, l32 = nil, nil
				h0 := live()
				prep()
				use()
				return live() - h0
			}
			h64 := heap(prep64, pairs[1].f64)
			h32 := heap(prep32, pairs[1].f32)
			for b.Loop() {
			}
			b.ReportMetric(float64(h64)/1e6, "heap64-MB")
			b.ReportMetric(float64(h32)/float64(h64), "heap-32/64")
			for i, p := range pairs {
				b.ReportMetric(t64[i].Seconds()*1e3, p.name+"64-ms")
				b.ReportMetric(t32[i].Seconds()/t64[i].Seconds(), p.name+"-32/64")
			}
		})
	}
}
