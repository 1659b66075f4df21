package ops

import (
	"math"
	"testing"

	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestFactor32 checks the float32 solves of the factors that have them
// against their float64 solves of the same (float32) vector, rounded: the
// diagonal of exp, the running sum's differences, and the identity of a
// slice along a unit axis. dst aliasing v is allowed.
func TestFactor32(t *testing.T) {
	x := tensor.New([]int{4, 3}, []float64{0.5, -1, 2, 0.25, 1.5, -0.75, 3, -2, 1, 0.1, -0.2, 0.3})
	mk := func(op tape.Op) tape.Factor {
		in := []*tensor.Tensor{x}
		out := tensor.Zeros(op.Shape([][]int{x.Shape()})...)
		op.Forward(out, in)
		f, err := op.Inverse(0, in, out)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for name, f := range map[string]tape.Factor{
		"exp":      mk(ExpOp),
		"cumsum":   mk(CumsumOp),
		"identity": identityFactor(12),
	} {
		f32, ok := f.(tape.Factor32)
		if !ok {
			t.Errorf("%s: %T is not a tape.Factor32", name, f)
			continue
		}
		v := make([]float32, f.Size())
		for i := range v {
			v[i] = float32(math.Sin(float64(i + 1)))
		}
		for _, trans := range []bool{false, true} {
			want := make([]float64, len(v))
			for i, e := range v {
				want[i] = float64(e)
			}
			got := append([]float32(nil), v...)
			if trans {
				f.SolveT(want, want)
				f32.SolveT32(got, got)
			} else {
				f.Solve(want, want)
				f32.Solve32(got, got)
			}
			for i, w := range want {
				if got[i] != float32(w) {
					t.Errorf("%s (trans %v): [%d] = %v, want %v", name, trans, i, got[i], float32(w))
				}
			}
		}
	}
}
