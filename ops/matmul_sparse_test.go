package ops_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestMatMulTangentWithFewRows: a tangent of b with few nonzero rows (a
// one-feature seed for every sample) takes MatMul's short path in JVP,
// JVP32 and SecondVJP; with many it takes the general product. Both against
// plain loops, with a's tangent set and not.
func TestMatMulTangentWithFewRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	const m, k, c = 5, 16, 7
	r := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.Float64()*2 - 1
		}
		return v
	}
	a, b := tensor.New([]int{m, k}, r(m*k)), tensor.New([]int{k, c}, r(k*c))
	out := tensor.Zeros(m, c)
	ops.MatMulOp.Forward(out, []*tensor.Tensor{a, b})
	for _, nonzero := range [][]int{{3}, {0, 15}, {1, 2, 3, 4}, {0, 2, 4, 6, 8}} {
		tb := tensor.Zeros(k, c)
		for _, row := range nonzero {
			copy(tb.Data()[row*c:(row+1)*c], r(c))
		}
		for _, withA := range []bool{false, true} {
			var ta *tensor.Tensor
			if withA {
				ta = tensor.New([]int{m, k}, r(m*k))
			}
			// JVP: ta·b + a·tb.
			jvp := func(a, b, ta, tb *tensor.Tensor) []float64 {
				want := make([]float64, m*c)
				for i := range m {
					for j := range c {
						for q := range k {
							want[i*c+j] += a.Data()[i*k+q] * tb.Data()[q*c+j]
							if ta != nil {
								want[i*c+j] += ta.Data()[i*k+q] * b.Data()[q*c+j]
							}
						}
					}
				}
				return want
			}
			want := jvp(a, b, ta, tb)
			got := tensor.New([]int{m, c}, r(m*c)) // every element is written
			ops.MatMulOp.JVP(got, []*tensor.Tensor{a, b}, out, []*tensor.Tensor{ta, tb})
			for e, v := range got.Data() {
				if math.Abs(v-want[e]) > 1e-13 {
					t.Fatalf("rows %v, tangent of a %v: JVP[%d] = %v, want %v", nonzero, withA, e, v, want[e])
				}
			}
			// JVP32, against the loops at the values rounded to float32.
			in32 := []*tensor.Tensor32{tensor.To32(a), tensor.To32(b)}
			t32 := []*tensor.Tensor32{nil, tensor.To32(tb)}
			if ta != nil {
				t32[0] = tensor.To32(ta)
			}
			w := func(x *tensor.Tensor32) *tensor.Tensor {
				if x == nil {
					return nil
				}
				return tensor.To64(x)
			}
			want = jvp(w(in32[0]), w(in32[1]), w(t32[0]), w(t32[1]))
			got32 := tensor.ZerosOf[float32](m, c)
			got32.Fill(float32(math.NaN())) // every element is written
			ops.MatMulOp.JVP32(got32, in32, tensor.To32(out), t32)
			for e, v := range got32.Data() {
				// At most 2k = 32 products of terms below 1 in magnitude,
				// summed in float32 (2⁻²⁴ each): within 32·6e-8 ≈ 2e-6.
				if !(math.Abs(float64(v)-want[e]) <= 1e-5) {
					t.Fatalf("rows %v, tangent of a %v: JVP32[%d] = %v, want %v", nonzero, withA, e, v, want[e])
				}
			}
			// SecondVJP into a: g·tbᵀ, added to what dst held.
			g := tensor.New([]int{m, c}, r(m*c))
			da := tensor.New([]int{m, k}, r(m*k))
			wantA := append([]float64(nil), da.Data()...)
			for i := range m {
				for q := range k {
					for j := range c {
						wantA[i*k+q] += g.Data()[i*c+j] * tb.Data()[q*c+j]
					}
				}
			}
			tape.SecondOrder(ops.MatMulOp).SecondVJP([]*tensor.Tensor{da, nil}, []*tensor.Tensor{a, b}, out, []*tensor.Tensor{ta, tb}, g)
			for e, v := range da.Data() {
				if math.Abs(v-wantA[e]) > 1e-13 {
					t.Fatalf("rows %v: SecondVJP into a [%d] = %v, want %v", nonzero, e, v, wantA[e])
				}
			}
		}
	}
}

// TestMatMulVJPTransposedFirst: the VJP aᵀ·c of W·X with a small W and a
// wide X transposes W before the product (gemm's transposeFirst); with a
// few columns it does not. Both against plain loops, in float64 and
// float32, accumulating into what dst held.
func TestMatMulVJPTransposedFirst(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	for _, sh := range [][3]int{{16, 64, 300}, {64, 16, 100}, {64, 64, 65}, {16, 64, 3}, {2, 3, 200}} {
		m, k, c := sh[0], sh[1], sh[2]
		r := func(n int) []float64 {
			v := make([]float64, n)
			for i := range v {
				v[i] = rng.Float64()*2 - 1
			}
			return v
		}
		a, b, cot, acc := tensor.New([]int{m, k}, r(m*k)), tensor.New([]int{k, c}, r(k*c)), tensor.New([]int{m, c}, r(m*c)), r(k*c)
		out := tensor.Zeros(m, c)
		ops.MatMulOp.Forward(out, []*tensor.Tensor{a, b})
		want := make([]float64, k*c)
		for j := range k {
			for l := range c {
				s := acc[j*c+l]
				for i := range m {
					s += a.Data()[i*k+j] * cot.Data()[i*c+l]
				}
				want[j*c+l] = s
			}
		}
		gb := tensor.New([]int{k, c}, append([]float64(nil), acc...))
		ops.MatMulOp.VJP([]*tensor.Tensor{nil, gb}, []*tensor.Tensor{a, b}, out, cot)
		gb32 := tensor.To32(tensor.New([]int{k, c}, append([]float64(nil), acc...)))
		ops.MatMulOp.VJP32([]*tensor.Tensor32{nil, gb32}, []*tensor.Tensor32{tensor.To32(a), tensor.To32(b)}, tensor.To32(out), tensor.To32(cot))
		for i, w := range want {
			if d := math.Abs(gb.Data()[i] - w); d > 1e-12*(1+math.Abs(w)) {
				t.Fatalf("%v: aᵀ·c element %d: %g, want %g", sh, i, gb.Data()[i], w)
			}
			if d := math.Abs(float64(gb32.Data()[i]) - w); d > 1e-4*(1+math.Abs(w)) {
				t.Fatalf("%v: float32 aᵀ·c element %d: %g, want %g", sh, i, gb32.Data()[i], w)
			}
		}
	}
}

// TestMatMulVJPInnerSplit: the VJP c·bᵀ of W·X into a small W over a long
// batch (gemm's innerSplit: the batch cut across the cores, each part
// into its own copy) against plain loops, in float64 and float32,
// accumulating into what dst held; with 1, 2, 3 and 4 cores, so that the
// parts are cut unevenly too.
func TestMatMulVJPInnerSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(65, 66))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	const m, k, c = 16, 64, 5003
	r := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.Float64()*2 - 1
		}
		return v
	}
	a, b, cot, acc := tensor.New([]int{m, k}, r(m*k)), tensor.New([]int{k, c}, r(k*c)), tensor.New([]int{m, c}, r(m*c)), r(m*k)
	out := tensor.Zeros(m, c)
	ops.MatMulOp.Forward(out, []*tensor.Tensor{a, b})
	want := make([]float64, m*k)
	for i := range m {
		for j := range k {
			s := acc[i*k+j]
			for l := range c {
				s += cot.Data()[i*c+l] * b.Data()[j*c+l]
			}
			want[i*k+j] = s
		}
	}
	for _, procs := range []int{1, 2, 3, 4} {
		runtime.GOMAXPROCS(procs)
		ga := tensor.New([]int{m, k}, append([]float64(nil), acc...))
		ops.MatMulOp.VJP([]*tensor.Tensor{ga, nil}, []*tensor.Tensor{a, b}, out, cot)
		ga32 := tensor.To32(tensor.New([]int{m, k}, append([]float64(nil), acc...)))
		ops.MatMulOp.VJP32([]*tensor.Tensor32{ga32, nil}, []*tensor.Tensor32{tensor.To32(a), tensor.To32(b)}, tensor.To32(out), tensor.To32(cot))
		for i, w := range want {
			if d := math.Abs(ga.Data()[i] - w); d > 1e-11*(1+math.Abs(w)) {
				t.Fatalf("%d cores: c·bᵀ element %d: %g, want %g", procs, i, ga.Data()[i], w)
			}
			if d := math.Abs(float64(ga32.Data()[i]) - w); d > 1e-3*(1+math.Abs(w)) {
				t.Fatalf("%d cores: float32 c·bᵀ element %d: %g, want %g", procs, i, ga32.Data()[i], w)
			}
		}
	}
}
