package inverse_test

import (
	"math"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/inverse/inversetest"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// cond1 is κ₁(J) from the dense J and gonum's inverse: the reference.
func cond1(t *testing.T, lin *inverse.Linearization) float64 {
	t.Helper()
	J, err := lin.Jacobian()
	if err != nil {
		t.Fatal(err)
	}
	n := lin.Len()
	a := mat.NewDense(n, n, J.Data())
	var inv mat.Dense
	if err := inv.Inverse(a); err != nil {
		t.Fatalf("gonum inverse: %v", err)
	}
	return mat.Norm(a, 1) * mat.Norm(&inv, 1)
}

// TestCondAgainstDense: on every test program Cond is a lower bound of the
// exact κ₁(J) (to rounding) and within a factor 10 of it.
func TestCondAgainstDense(t *testing.T) {
	for _, p := range inversetest.Programs() {
		x := inversetest.Point(p, 1)
		lin, err := inverse.Linearize(p.F, x)
		if err != nil {
			t.Fatal(err)
		}
		est, err := lin.Cond()
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		want := cond1(t, lin)
		if !(est <= want*(1+1e-8)) || est < want/10 {
			t.Errorf("%s: Cond %.4g, exact κ₁ %.4g", p.Name, est, want)
		}
	}
}

// TestCondSeesSpreadIllConditioning: three constant 2×2 steps, each of
// condition 1e6 (every lump passes its own check), compose to κ ≈ 1e18:
// the products succeed, and Cond says they cannot be trusted.
func TestCondSeesSpreadIllConditioning(t *testing.T) {
	w := tensor.New([]int{2, 2}, []float64{1, 1, 0, 1e-6})
	f := func(x *tape.Var) *tape.Var {
		c := ops.Const(x, w)
		return ops.MatMul(c, ops.MatMul(c, ops.MatMul(c, x)))
	}
	x := tensor.New([]int{2, 3}, []float64{1, 2, 3, 4, 5, 6})
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lin.IJVP(x); err != nil {
		t.Fatalf("IJVP: %v (each lump is well enough conditioned)", err)
	}
	est, err := lin.Cond()
	if err != nil {
		t.Fatal(err)
	}
	if est < 1e17 || math.IsInf(est, 0) {
		t.Errorf("Cond %.3g, want about 1e18", est)
	}
	t.Logf("three steps of κ 1e6: Cond %.3g", est)
}

// benchProgram is the program of BenchmarkCond and BenchmarkRefine, a
// coupling-like layer at n = 2¹⁶, with its point.
func benchProgram() (func(*tape.Var) *tape.Var, *tensor.Tensor) {
	const n = 1 << 16
	f := func(x *tape.Var) *tape.Var {
		p := ops.Split(x, n/2, n/2)
		s := ops.Tanh(p[0])
		return ops.Concat(p[0], ops.Add(ops.Mul(p[1], ops.Exp(s)), ops.Sin(p[0])))
	}
	x := tensor.Zeros(n)
	for i := range x.Data() {
		x.Data()[i] = math.Sin(float64(i))
	}
	return f, x
}

// ijvpSeconds times one IJVPTo of lin, over at least 20 calls and 0.2 s.
func ijvpSeconds(lin *inverse.Linearization, dst, dy *tensor.Tensor) float64 {
	lin.IJVPTo(dst, dy)
	start, calls := time.Now(), 0
	for calls < 20 || time.Since(start) < 200*time.Millisecond {
		lin.IJVPTo(dst, dy)
		calls++
	}
	return time.Since(start).Seconds() / float64(calls)
}

// BenchmarkCond times Cond against one IJVP of the same Linearization
// (x-ijvp: Cond's time over IJVP's, both measured in this run).
func BenchmarkCond(b *testing.B) {
	f, x := benchProgram()
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		b.Fatal(err)
	}
	ijvp := ijvpSeconds(lin, tensor.Zeros(x.Len()), x)
	b.ResetTimer()
	for b.Loop() {
		if _, err := lin.Cond(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/ijvp, "x-ijvp")
}

// BenchmarkRefine times IJVPTo with Refine(1) against a plain IJVPTo of the
// same program (x-ijvp).
func BenchmarkRefine(b *testing.B) {
	f, x := benchProgram()
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		b.Fatal(err)
	}
	ref, err := inverse.Linearize(f, x, inverse.Refine(1))
	if err != nil {
		b.Fatal(err)
	}
	dst := tensor.Zeros(x.Len())
	ijvp := ijvpSeconds(lin, dst, x)
	ref.IJVPTo(dst, x)
	b.ResetTimer()
	for b.Loop() {
		if err := ref.IJVPTo(dst, x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/ijvp, "x-ijvp")
}
