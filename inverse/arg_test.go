package inverse_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/ad"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestLinearizeArg checks the inverse products of f(x, W, b) = x +
// ½·tanh(W·x + b) taken with respect to x, W and b fixed, against a gonum
// LU of the Jacobian package ad forms with respect to x.
func TestLinearizeArg(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	r := func(shape ...int) *tensor.Tensor {
		v := tensor.Zeros(shape...)
		for i := range v.Data() {
			v.Data()[i] = rng.Float64()*2 - 1
		}
		return v
	}
	f := func(in ...*tape.Var) *tape.Var {
		x, w, b := in[0], in[1], in[2]
		return ops.Add(x, ops.Scale(ops.Tanh(ops.Add(ops.MatMul(w, x), b)), 0.5))
	}
	xs := []*tensor.Tensor{r(5), r(5, 5), r(5)}
	lin, err := inverse.LinearizeArg(f, xs, 0)
	if err != nil {
		t.Fatal(err)
	}
	al, err := ad.Linearize(f, xs...)
	if err != nil {
		t.Fatal(err)
	}
	J, err := al.Jacobian(0)
	if err != nil {
		t.Fatal(err)
	}
	var lu mat.LU
	lu.Factorize(mat.NewDense(5, 5, J.Data()))
	dy := r(5)
	dx, err := lin.IJVP(dy)
	if err != nil {
		t.Fatal(err)
	}
	var want mat.VecDense
	if err := lu.SolveVecTo(&want, false, mat.NewVecDense(5, dy.Data())); err != nil {
		t.Fatal(err)
	}
	for i, v := range dx.Data() {
		if math.Abs(v-want.AtVec(i)) > 1e-13 {
			t.Errorf("IJVP = %v, gonum %v", dx.Data(), want.RawVector().Data)
			break
		}
	}
	ld, err := lin.LogAbsDet()
	if err != nil {
		t.Fatal(err)
	}
	if wl, _ := lu.LogDet(); math.Abs(ld-wl) > 1e-13 {
		t.Errorf("LogAbsDet = %v, gonum %v", ld, wl)
	}
	for _, bad := range []func(){
		func() { inverse.LinearizeArg(f, xs, 3) },
		func() { inverse.LinearizeArg(f, []*tensor.Tensor{xs[0], nil, xs[2]}, 0) },
	} {
		func() {
			defer func() {
				if s, ok := recover().(string); !ok || s[:9] != "inverse: " {
					t.Errorf("recovered %q, want an inverse: panic", s)
				}
			}()
			bad()
		}()
	}
}
