package inverse_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// eps32 is float32's unit roundoff.
const eps32 = 0x1p-24

// relErr32 is ‖got − want‖∞ / ‖want‖∞, got widened.
func relErr32(got *tensor.Tensor32, want *tensor.Tensor) float64 {
	d, m := 0.0, 0.0
	for i, w := range want.Data() {
		d = math.Max(d, math.Abs(float64(got.Data()[i])-w))
		m = math.Max(m, math.Abs(w))
	}
	if math.IsNaN(d) {
		return math.Inf(1)
	}
	if m == 0 {
		return d
	}
	return d / m
}

func rand32(shape []int, seed uint64) *tensor.Tensor32 {
	r := rand.New(rand.NewPCG(seed, 7))
	t := tensor.ZerosOf[float32](shape...)
	for i := range t.Data() {
		t.Data()[i] = float32(2*r.Float64() - 1)
	}
	return t
}

// TestFloat32Programs runs every composed test program in float32 and
// compares each product with float64's at the same (float32) point: the
// JVP and VJP within 1e-5 normwise (a few rounding errors of each op,
// amplified by nothing but the program's depth), the inverse products
// within 64·ε₃₂·κ₁(J) (float64's condition estimate, Cond), log|det J|
// within 16·ε₃₂·κ per element, the dense Jacobians likewise, Cond within
// a factor 2 of float64's, and the same lumps.
func TestFloat32Programs(t *testing.T) {
	for _, p := range programs {
		t.Run(p.Name, func(t *testing.T) {
			x32 := tensor.To32(point(p, 1))
			l32, err := inverse.Linearize32(p.F, x32)
			if err != nil {
				t.Fatal(err)
			}
			l64, err := l32.Float64()
			if err != nil {
				t.Fatal(err)
			}
			// The recording is float64's at the rounded point.
			if got := l64.Input().Data(); !slices.Equal(got, tensor.To64(x32).Data()) {
				t.Fatal("Float64().Input() is not x widened")
			}
			kappa, err := l64.Cond()
			if err != nil {
				t.Fatal(err)
			}
			n := l32.Len()
			dx := rand32(l64.Input().Shape(), 2)
			cy := rand32(l64.Output().Shape(), 3)
			check := func(name string, got *tensor.Tensor32, want *tensor.Tensor, err32, err64 error, tol float64) {
				t.Helper()
				if err32 != nil || err64 != nil {
					t.Fatalf("%s: float32 %v, float64 %v", name, err32, err64)
				}
				if e := relErr32(got, want); !(e <= tol) {
					t.Errorf("%s: float32 off float64 by %.3g (normwise), over %.3g (κ₁ %.3g)", name, e, tol, kappa)
				} else {
					t.Logf("%s: %.2g (tol %.2g)", name, e, tol)
				}
			}
			j32, e32 := l32.JVP(dx)
			j64, e64 := l64.JVP(tensor.To64(dx))
			check("JVP", j32, j64, e32, e64, 1e-5)
			v32, e32 := l32.VJP(cy)
			v64, e64 := l64.VJP(tensor.To64(cy))
			check("VJP", v32, v64, e32, e64, 1e-5)
			tol := 64 * eps32 * math.Max(1, kappa)
			i32, e32 := l32.IJVP(cy)
			i64, e64 := l64.IJVP(tensor.To64(cy))
			check("IJVP", i32, i64, e32, e64, tol)
			w32, e32 := l32.VIJP(dx)
			w64, e64 := l64.VIJP(tensor.To64(dx))
			check("VIJP", w32, w64, e32, e64, tol)

			J32, e32 := l32.Jacobian()
			J64, e64 := l64.Jacobian()
			check("Jacobian", J32, J64, e32, e64, 1e-5)
			R32, e32 := l32.JacobianRev()
			check("JacobianRev", R32, J64, e32, e64, 1e-5)
			K32, e32 := l32.InverseJacobian()
			K64, e64 := l64.InverseJacobian()
			check("InverseJacobian", K32, K64, e32, e64, tol)
			if c32, err := l32.Cond(); err != nil || !(c32 >= kappa/2 && c32 <= 2*kappa) {
				t.Errorf("Cond: float32 %.4g (%v), float64 %.4g", c32, err, kappa)
			}

			d32, e32 := l32.LogAbsDet()
			d64, e64 := l64.LogAbsDet()
			if e32 != nil || e64 != nil {
				t.Fatalf("LogAbsDet: %v, %v", e32, e64)
			}
			if e := math.Abs(d32 - d64); !(e <= 16*eps32*math.Max(1, kappa)*float64(n)) {
				t.Errorf("LogAbsDet: float32 %.9g, float64 %.9g", d32, d64)
			}
			a64, e64 := l64.LogAbsDetAlong(0)
			a32, e32 := l32.LogAbsDetAlong(0)
			switch {
			case (e64 == nil) != (e32 == nil):
				t.Errorf("LogAbsDetAlong(0): float32 %v, float64 %v", e32, e64)
			case e64 == nil:
				for i, w := range a64.Data() {
					if e := math.Abs(a32.Data()[i] - w); !(e <= 16*eps32*math.Max(1, kappa)*float64(n)) {
						t.Errorf("LogAbsDetAlong(0)[%d]: float32 %.9g, float64 %.9g", i, a32.Data()[i], w)
					}
				}
			case !errors.Is(e32, inverse.ErrCouplesSamples):
				t.Errorf("LogAbsDetAlong(0): %v", e32)
			}
			k32, err := l32.Lumps()
			if err != nil {
				t.Fatal(err)
			}
			k64, _ := l64.Lumps()
			if len(k32) != len(k64) {
				t.Fatalf("%d lumps in float32, %d in float64", len(k32), len(k64))
			}
			for i := range k32 {
				if k32[i].Kind != k64[i].Kind || k32[i].Width != k64[i].Width {
					t.Errorf("lump %d: float32 %v %d, float64 %v %d", i, k32[i].Kind, k32[i].Width, k64[i].Kind, k64[i].Width)
				}
			}
		})
	}
}

// TestLinearizeArg32 linearizes a layer with a parameter with respect to x
// in float32 and compares with float64's LinearizeArg.
func TestLinearizeArg32(t *testing.T) {
	f := func(in ...*tape.Var) *tape.Var {
		return ops.Add(in[0], ops.Scale(ops.Tanh(ops.MatMul(in[1], in[0])), 0.5))
	}
	x := rand32([]int{3, 5}, 1)
	w := rand32([]int{3, 3}, 2)
	l32, err := inverse.LinearizeArg32(f, []*tensor.Tensor32{x, w}, 0)
	if err != nil {
		t.Fatal(err)
	}
	l64, err := inverse.LinearizeArg(f, []*tensor.Tensor{tensor.To64(x), tensor.To64(w)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	dy := rand32([]int{3, 5}, 3)
	got, err := l32.IJVP(dy)
	if err != nil {
		t.Fatal(err)
	}
	want, err := l64.IJVP(tensor.To64(dy))
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr32(got, want); e > 1e-5 {
		t.Errorf("IJVP: float32 off float64 by %.3g", e)
	}
}

// TestLinearize32Errors: a value beyond float32's range is a
// *NonFiniteError naming its op; shape mistakes and a dst sharing memory
// panic with inverse's prefix.
func TestLinearize32Errors(t *testing.T) {
	x := tensor.NewOf([]int{2}, []float32{1, 100})
	_, err := inverse.Linearize32(func(x *tape.Var) *tape.Var { return ops.Exp(x) }, x)
	var nf *inverse.NonFiniteError
	if !errors.As(err, &nf) || nf.Op != "exp" || nf.Index != 1 {
		t.Errorf("exp(100) in float32: %v, want a *NonFiniteError naming exp at index 1", err)
	}
	l, err := inverse.Linearize32(ops.Sin, tensor.NewOf([]int{2}, []float32{0.5, 1}))
	if err != nil {
		t.Fatal(err)
	}
	mustPanic := func(name, want string, f func()) {
		t.Helper()
		defer func() {
			if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), want) {
				t.Errorf("%s: panic %v, want %q", name, r, want)
			}
		}()
		f()
	}
	mustPanic("IJVP of the wrong shape", "inverse: IJVP argument has shape [3]", func() { l.IJVP(tensor.ZerosOf[float32](3)) })
	v := tensor.ZerosOf[float32](2)
	mustPanic("IJVPTo into its argument", "inverse: IJVPTo dst shares memory", func() { l.IJVPTo(v, v) })
	mustPanic("nil x", "inverse: Linearize32 with a nil x", func() { inverse.Linearize32(ops.Sin, nil) })
	v.Data()[0] = float32(math.NaN())
	if _, err := l.VIJP(v); !errors.Is(err, inverse.ErrNonFinite) {
		t.Errorf("VIJP of NaN: %v", err)
	}
}

// TestRefine32 solves with B blocks [[1, 1], [1, 1+10⁻⁴]] (κ ≈ 4·10⁴): in
// float32 the IJVP loses about κ·ε₃₂ ≈ 2·10⁻³; two steps of Refine, with
// float64 residuals, bring it to float64's answer rounded to float32.
func TestRefine32(t *testing.T) {
	const B = 64
	f := func(x *tape.Var) *tape.Var {
		a, b := ops.Slice(x, 0, 1), ops.Slice(x, 1, 2)
		return ops.Concat(ops.Add(a, b), ops.Add(a, ops.Scale(b, 1+1e-4)))
	}
	x := rand32([]int{2, B}, 1)
	dy := rand32([]int{2, B}, 2)
	l64, err := inverse.Linearize(f, tensor.To64(x))
	if err != nil {
		t.Fatal(err)
	}
	want, err := l64.IJVP(tensor.To64(dy))
	if err != nil {
		t.Fatal(err)
	}
	errOf := func(opts ...inverse.Option) (float64, string) {
		l, err := inverse.Linearize32(f, x, opts...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := l.IJVP(dy)
		if err != nil {
			t.Fatal(err)
		}
		lumps, _ := l.Lumps()
		return relErr32(got, want), fmt.Sprint(lumps[len(lumps)-1].Kind)
	}
	plain, kind := errOf()
	refined, _ := errOf(inverse.Refine(2))
	t.Logf("lump %s: float32 IJVP off float64 by %.2g, refined %.2g", kind, plain, refined)
	if kind != "batch" {
		t.Errorf("the blocks are a %s lump, want batch", kind)
	}
	if plain < 1e-5 {
		t.Errorf("unrefined error %.2g: the test's blocks are not ill-conditioned enough to show refinement", plain)
	}
	if refined > 2*eps32 {
		t.Errorf("refined error %.2g, want float32 rounding (%.2g)", refined, 2*eps32)
	}
}

// float64Only hides an op's float32 rules: an op defined outside package
// ops without tape.Op32.
type float64Only struct{ tape.Op }

// TestFloat32WithoutOp32: ops without float32 rules run their float64
// rules on widened copies (adcore.JVP32, VJP32), an input read twice
// included, and the products agree with float64's.
func TestFloat32WithoutOp32(t *testing.T) {
	f := func(x *tape.Var) *tape.Var {
		e := tape.Apply(float64Only{ops.ExpOp}, x)
		return ops.Add(x, ops.Scale(tape.Apply(float64Only{ops.MulOp}, e, e), 0.1))
	}
	x := rand32([]int{5}, 4)
	l32, err := inverse.Linearize32(f, x)
	if err != nil {
		t.Fatal(err)
	}
	l64, err := inverse.Linearize(f, tensor.To64(x))
	if err != nil {
		t.Fatal(err)
	}
	v := rand32([]int{5}, 5)
	for _, p := range []struct {
		name string
		f32  func(*tensor.Tensor32) (*tensor.Tensor32, error)
		f64  func(*tensor.Tensor) (*tensor.Tensor, error)
	}{{"JVP", l32.JVP, l64.JVP}, {"VJP", l32.VJP, l64.VJP}, {"IJVP", l32.IJVP, l64.IJVP}, {"VIJP", l32.VIJP, l64.VIJP}} {
		got, err := p.f32(v)
		if err != nil {
			t.Fatal(err)
		}
		want, err := p.f64(tensor.To64(v))
		if err != nil {
			t.Fatal(err)
		}
		if e := relErr32(got, want); e > 1e-6 {
			t.Errorf("%s: float32 off float64 by %.3g", p.name, e)
		}
	}
}
