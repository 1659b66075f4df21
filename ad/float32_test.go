package ad_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/invad/invad/ad"
	"github.com/invad/invad/inverse/inversetest"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// err32 is ‖got − want‖∞ / max(1, ‖want‖∞), got widened.
func err32(got *tensor.Tensor32, want *tensor.Tensor) float64 {
	d, m := 0.0, 1.0
	for i, w := range want.Data() {
		d = math.Max(d, math.Abs(float64(got.Data()[i])-w))
		m = math.Max(m, math.Abs(w))
	}
	if math.IsNaN(d) {
		return math.Inf(1)
	}
	return d / m
}

// TestFloat32Programs runs every composed test program made non-square
// and given a parameter (as TestInverseProgramsMadeGeneral does) through
// the float32 modes and compares each with float64's at the same float32
// point: JVP, VJP (both inputs), the Jacobian in x, and Grad of Σ g², all
// within 1e-5 relative to max(1, the largest magnitude).
func TestFloat32Programs(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	r32 := func(shape []int) *tensor.Tensor32 {
		v := tensor.ZerosOf[float32](shape...)
		for k := range v.Data() {
			v.Data()[k] = float32(rng.Float64()*2 - 1)
		}
		return v
	}
	for _, p := range inversetest.Programs() {
		t.Run(p.Name, func(t *testing.T) {
			x := tensor.To32(inversetest.Point(p, 3))
			n := x.Len()
			a := r32(x.Shape())
			g := func(in ...*tape.Var) *tape.Var {
				y := p.F(in[0])
				return ops.Concat(ops.Reshape(ops.Mul(y, in[1]), n), ops.Reshape(ops.Sum(ops.Square(y)), 1))
			}
			l32, err := ad.Linearize32(g, x, a)
			if err != nil {
				t.Fatal(err)
			}
			l64, err := ad.Linearize(g, tensor.To64(x), tensor.To64(a))
			if err != nil {
				t.Fatal(err)
			}
			check := func(name string, got *tensor.Tensor32, want *tensor.Tensor, e32, e64 error) {
				t.Helper()
				if e32 != nil || e64 != nil {
					t.Fatalf("%s: %v, %v", name, e32, e64)
				}
				if e := err32(got, want); !(e <= 1e-5) {
					t.Errorf("%s: float32 off float64 by %.3g", name, e)
				}
			}
			dx, da := r32(x.Shape()), r32(a.Shape())
			j32, e32 := l32.JVP(dx, da)
			j64, e64 := l64.JVP(tensor.To64(dx), tensor.To64(da))
			check("JVP", j32, j64, e32, e64)
			cy := r32([]int{n + 1})
			v32, e32 := l32.VJP(cy)
			v64, e64 := l64.VJP(tensor.To64(cy))
			for i := range v32 {
				check(fmt.Sprintf("VJP[%d]", i), v32[i], v64[i], e32, e64)
			}
			J32, e32 := l32.Jacobian(0)
			J64, e64 := l64.Jacobian(0)
			check("Jacobian", J32, J64, e32, e64)
			loss := func(in ...*tape.Var) *tape.Var { return ops.Sum(ops.Square(g(in...))) }
			f32, g32, e32 := ad.Grad32(loss, x, a)
			f64, g64, e64 := ad.Grad(loss, tensor.To64(x), tensor.To64(a))
			if math.Abs(float64(f32)-f64) > 1e-6*math.Max(1, math.Abs(f64)) {
				t.Errorf("Grad32 value %v, float64 %v", f32, f64)
			}
			for i := range g32 {
				check(fmt.Sprintf("Grad[%d]", i), g32[i], g64[i], e32, e64)
			}
		})
	}
}

// TestLinearize32Overflow: a value beyond float32's range names its op.
func TestLinearize32Overflow(t *testing.T) {
	x := tensor.NewOf([]int{2}, []float32{1, 100})
	_, err := ad.Linearize32(func(in ...*tape.Var) *tape.Var { return ops.Exp(in[0]) }, x)
	var nf *tape.NonFiniteError
	if !errors.As(err, &nf) || nf.Op != "exp" || nf.Pkg != "ad" {
		t.Errorf("exp(100) in float32: %v", err)
	}
}

// ExampleGrad32: the gradient of Σ x² in float32 is 2x.
func ExampleGrad32() {
	x := tensor.NewOf([]int{3}, []float32{1, -2, 0.5})
	v, g, err := ad.Grad32(func(in ...*tape.Var) *tape.Var { return ops.Sum(ops.Square(in[0])) }, x)
	if err != nil {
		panic(err)
	}
	fmt.Println(v, g[0].Data())
	// Output: 5.25 [2 -4 1]
}
