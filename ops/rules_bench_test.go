package ops_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Sizes of the rule benchmarks: batch rows and features of a small
// network's layer, large enough that the loops dominate the call overhead
// and small enough to stay in cache (64·256 float64s are 128 KiB).
const (
	benchRows = 64
	benchCols = 256
)

// benchTensor returns a seeded random tensor of the given shape.
func benchTensor(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = 2*r.Float64() - 1
	}
	return t
}

// benchRules times JVP (every tangent set) and VJP (every accumulator set)
// of op at inputs of the given shapes.
func benchRules(b *testing.B, name string, op tape.Op, shapes ...[]int) {
	r := rand.New(rand.NewPCG(1, 1))
	in := make([]*tensor.Tensor, len(shapes))
	t := make([]*tensor.Tensor, len(shapes))
	g := make([]*tensor.Tensor, len(shapes))
	for i, sh := range shapes {
		in[i], t[i], g[i] = benchTensor(r, sh...), benchTensor(r, sh...), tensor.Zeros(sh...)
	}
	out := tensor.Zeros(op.Shape(shapes)...)
	op.Forward(out, in)
	c, dst := benchTensor(r, out.Shape()...), tensor.Zeros(out.Shape()...)
	b.Run(fmt.Sprintf("%s/jvp", name), func(b *testing.B) {
		for b.Loop() {
			op.JVP(dst, in, out, t)
		}
	})
	b.Run(fmt.Sprintf("%s/vjp", name), func(b *testing.B) {
		for b.Loop() {
			op.VJP(g, in, out, c)
		}
	})
}

// BenchmarkRules times the float64 rules of one op of each family, so that
// a change to the shared (generic) bodies can be compared with benchstat.
func BenchmarkRules(b *testing.B) {
	m, n := benchRows, benchCols
	benchRules(b, "tanh", ops.TanhOp, []int{m, n})
	benchRules(b, "scale", ops.ScaleOp(2), []int{m, n})
	benchRules(b, "mul/same", ops.MulOp, []int{m, n}, []int{m, n})
	benchRules(b, "add/bias", ops.AddOp, []int{m, n}, []int{n})
	benchRules(b, "div/row-scale", ops.DivOp, []int{m, n}, []int{m, 1})
	benchRules(b, "matmul", ops.MatMulOp, []int{m, n}, []int{n, m})
	benchRules(b, "matmul/vec", ops.MatMulOp, []int{n, n}, []int{n})
	benchRules(b, "batch_matmul", ops.BatchMatMulOp, []int{8, m / 8, n}, []int{8, n, 16})
	benchRules(b, "permute", &ops.PermuteOp{Perm: []int{1, 0}}, []int{m, n})
	benchRules(b, "permute/3d", &ops.PermuteOp{Perm: []int{0, 2, 1}}, []int{8, m / 8, n})
	benchRules(b, "slice_axis", &ops.SliceAxisOp{Axis: 1, Lo: 8, Hi: n - 8}, []int{m, n})
	benchRules(b, "concat_axis", &ops.ConcatAxisOp{Axis: 1}, []int{m, n / 2}, []int{m, n / 2})
	benchRules(b, "sum_axis/0", &ops.SumAxisOp{Axis: 0}, []int{m, n})
	benchRules(b, "sum_axis/1", &ops.SumAxisOp{Axis: 1}, []int{m, n})
	benchRules(b, "reshape", &ops.ReshapeOp{To: []int{n, m}}, []int{m, n})
	benchRules(b, "slice", &ops.SliceOp{Lo: 4, Hi: m - 4}, []int{m, n})
	benchRules(b, "concat", ops.ConcatOp, []int{m / 2, n}, []int{m / 2, n})
	benchRules(b, "cumsum", ops.CumsumOp, []int{m, n})
	benchRules(b, "sum", ops.SumOp, []int{m, n})
}

// BenchmarkGemmTransposed times MatMul's VJP with respect to the batch,
// aᵀ·c for a weight a [m, k] and a batch of 2·10⁴ columns, against the
// forward product of the same flops (vjp/forward: near 1 when gemm
// transposes a first, 2-4 with gonum's Trans-NoTrans kernel on these
// shapes).
func BenchmarkGemmTransposed(b *testing.B) {
	const c = 20_000
	for _, sh := range [][2]int{{16, 64}, {64, 16}, {64, 64}} {
		m, k := sh[0], sh[1]
		b.Run(fmt.Sprintf("a=%dx%d", m, k), func(b *testing.B) {
			r := rand.New(rand.NewPCG(2, 2))
			a, x, cot := benchTensor(r, m, k), benchTensor(r, k, c), benchTensor(r, m, c)
			at := benchTensor(r, k, m) // the forward product of aᵀ's shape
			out, fwd, g := tensor.Zeros(m, c), tensor.Zeros(k, c), tensor.Zeros(k, c)
			ops.MatMulOp.Forward(out, []*tensor.Tensor{a, x})
			var tv, tf float64
			for b.Loop() {
				t0 := time.Now()
				ops.MatMulOp.VJP([]*tensor.Tensor{nil, g}, []*tensor.Tensor{a, x}, out, cot)
				t1 := time.Now()
				ops.MatMulOp.Forward(fwd, []*tensor.Tensor{at, cot})
				tv, tf = tv+t1.Sub(t0).Seconds(), tf+time.Since(t1).Seconds()
			}
			b.ReportMetric(tv/tf, "vjp/forward")
		})
	}
}
