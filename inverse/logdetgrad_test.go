package inverse_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/inverse/inversetest"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

func randT(rng *rand.Rand, scale float64, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = (rng.Float64()*2 - 1) * scale
	}
	return t
}

// fdLogDetGrad is the gradient of log|det ∂f/∂xᵢ| with respect to every
// input by central differences of LogAbsDet: the independent reference.
func fdLogDetGrad(t *testing.T, f func(xs ...*tape.Var) *tape.Var, xs []*tensor.Tensor, i int) []*tensor.Tensor {
	t.Helper()
	const h = 1e-6
	ld := func() float64 {
		l, err := inverse.LinearizeArg(f, xs, i)
		if err != nil {
			t.Fatal(err)
		}
		v, err := l.LogAbsDet()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	out := make([]*tensor.Tensor, len(xs))
	for j, x := range xs {
		out[j] = tensor.Zeros(x.Shape()...)
		for k := range x.Data() {
			save := x.Data()[k]
			x.Data()[k] = save + h
			p := ld()
			x.Data()[k] = save - h
			m := ld()
			x.Data()[k] = save
			out[j].Data()[k] = (p - m) / (2 * h)
		}
	}
	return out
}

func checkLogDetGrad(t *testing.T, name string, f func(xs ...*tape.Var) *tape.Var, xs []*tensor.Tensor, i int, wantLumps string) {
	t.Helper()
	val, g, err := inverse.LogAbsDetGrad(f, xs, i)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	l, err := inverse.LinearizeArg(f, xs, i) // batch-minor where LogAbsDetGrad is
	if err != nil {
		t.Fatal(err)
	}
	want, _ := l.LogAbsDet()
	if math.Abs(val-want) > 1e-12*math.Max(1, math.Abs(want)) {
		t.Errorf("%s: log|det| %v, LogAbsDet %v", name, val, want)
	}
	if wantLumps != "" {
		infos, _ := l.Lumps()
		kinds := ""
		for _, in := range infos {
			kinds += in.Kind.String() + " "
		}
		if !contains(kinds, wantLumps) {
			t.Errorf("%s: lumps %q, want one %q (the test would not cover that kind)", name, kinds, wantLumps)
		}
	}
	ref := fdLogDetGrad(t, f, xs, i)
	for j := range xs {
		for k, v := range g[j].Data() {
			if w := ref[j].Data()[k]; math.Abs(v-w) > 2e-6*math.Max(1, math.Abs(w)) {
				t.Errorf("%s: ∂/∂input %d [%d] = %.10g, central differences %.10g", name, j, k, v, w)
			}
		}
	}
}

func plus(t *tensor.Tensor, c float64) *tensor.Tensor {
	for i := range t.Data() {
		t.Data()[i] += c
	}
	return t
}

func contains(s, sub string) bool {
	for k := 0; k+len(sub) <= len(s); k++ {
		if s[k:k+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestLogAbsDetGradKronClosedForm: f(X, W) = W·X with X [d, B] has
// log|det ∂f/∂X| = B·log|det W|, whose gradient is B·W⁻ᵀ in W and zero in
// X (gonum's inverse for the reference).
func TestLogAbsDetGradKronClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const d, B = 4, 7
	W := randT(rng, 1, d, d)
	for k := range d {
		W.Data()[k*d+k] += 2
	}
	X := randT(rng, 1, d, B)
	f := func(in ...*tape.Var) *tape.Var { return ops.MatMul(in[1], in[0]) }
	val, g, err := inverse.LogAbsDetGrad(f, []*tensor.Tensor{X, W}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lu mat.LU
	wm := mat.NewDense(d, d, W.Data())
	lu.Factorize(wm)
	ld, _ := lu.LogDet()
	if math.Abs(val-B*ld) > 1e-12 {
		t.Errorf("log|det| %v, B·log|det W| %v", val, B*ld)
	}
	var inv mat.Dense
	if err := inv.Inverse(wm); err != nil {
		t.Fatal(err)
	}
	for r := range d {
		for c := range d {
			if want := B * inv.At(c, r); math.Abs(g[1].Data()[r*d+c]-want) > 1e-12 {
				t.Errorf("∂/∂W[%d][%d] = %v, B·W⁻ᵀ %v", r, c, g[1].Data()[r*d+c], want)
			}
		}
	}
	for k, v := range g[0].Data() {
		if v != 0 {
			t.Fatalf("∂/∂X[%d] = %v, want 0", k, v)
		}
	}
}

// TestLogAbsDetGradAgainstDifferences checks the gradient in every input
// against central differences of LogAbsDet on a program of each lump kind.
func TestLogAbsDetGradAgainstDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))

	// Steps: elementwise with parameters, J = diag(1 + θ·sech²(x)).
	elem := func(in ...*tape.Var) *tape.Var { return ops.Add(in[0], ops.Mul(in[1], ops.Tanh(in[0]))) }
	checkLogDetGrad(t, "elementwise", elem, []*tensor.Tensor{randT(rng, 1, 5), randT(rng, 0.5, 5)}, 0, "")

	// A dense lump: x + ½·tanh(W·x + b), x a vector.
	dense := func(in ...*tape.Var) *tape.Var {
		return ops.Add(in[0], ops.Scale(ops.Tanh(ops.Add(ops.MatMul(in[1], in[0]), in[2])), 0.5))
	}
	checkLogDetGrad(t, "dense", dense, []*tensor.Tensor{randT(rng, 1, 4), randT(rng, 0.8, 4, 4), randT(rng, 0.5, 4)}, 0, "dense")

	// A batch lump: the residual block with the samples innermost,
	// X [d, B] + W₂·tanh(W₁·X + b₁), b₁ [h, 1].
	resid := func(in ...*tape.Var) *tape.Var {
		h := ops.Tanh(ops.Add(ops.MatMul(in[1], in[0]), in[3]))
		return ops.Add(in[0], ops.Scale(ops.MatMul(in[2], h), 0.4))
	}
	checkLogDetGrad(t, "batch", resid, []*tensor.Tensor{randT(rng, 1, 3, 6), randT(rng, 0.8, 5, 3), randT(rng, 0.8, 3, 5), randT(rng, 0.5, 5, 1)}, 0, "batch")

	// A coupling layer: y₂ = x₂·exp(s(x₁)) + t(x₁), steps and expansions,
	// with the gradient in x₁ through s.
	coupling := func(in ...*tape.Var) *tape.Var {
		x1, x2 := ops.Slice(in[0], 0, 3), ops.Slice(in[0], 3, 6)
		s := ops.Tanh(ops.Add(ops.MatMul(in[1], x1), in[2]))
		tt := ops.MatMul(in[3], x1)
		return ops.Concat(x1, ops.Add(ops.Mul(x2, ops.Exp(s)), tt))
	}
	checkLogDetGrad(t, "coupling", coupling, []*tensor.Tensor{randT(rng, 1, 6), randT(rng, 0.8, 3, 3), randT(rng, 0.5, 3), randT(rng, 0.8, 3, 3)}, 0, "")

	// A triangular step: cumsum of x·a, a parameter (one color per column).
	tri := func(in ...*tape.Var) *tape.Var { return ops.Cumsum(ops.Mul(ops.Exp(in[0]), in[1])) }
	checkLogDetGrad(t, "cumsum", tri, []*tensor.Tensor{randT(rng, 1, 4), randT(rng, 1, 4)}, 0, "")

	// With respect to the second input: f(θ, x) = x ⊙ θ + θ³/3 in θ.
	second := func(in ...*tape.Var) *tape.Var {
		return ops.Add(ops.Mul(in[1], in[0]), ops.Scale(ops.Cube(in[0]), 1.0/3))
	}
	checkLogDetGrad(t, "second input", second, []*tensor.Tensor{plus(randT(rng, 1, 3), 1.5), randT(rng, 1, 3)}, 0, "")
}

func TestLogAbsDetGradSparseRefused(t *testing.T) {
	n := 3000
	shift := func(v *tape.Var, k int) *tape.Var {
		if k > 0 {
			return ops.Concat(ops.Const(v, tensor.Zeros(k)), ops.Slice(v, 0, n-k))
		}
		return ops.Concat(ops.Slice(v, -k, n), ops.Const(v, tensor.Zeros(-k)))
	}
	f := func(in ...*tape.Var) *tape.Var {
		u := in[0]
		return ops.Add(ops.Sub(ops.Add(shift(u, 1), shift(u, -1)), ops.Scale(u, 4)), ops.Mul(in[1], ops.Exp(u)))
	}
	_, _, err := inverse.LogAbsDetGrad(f, []*tensor.Tensor{tensor.Zeros(n), plus(tensor.Zeros(n), 0.1)}, 0)
	if !errors.Is(err, inverse.ErrNoLogDetGrad) {
		t.Errorf("a sparse lump: err = %v, want ErrNoLogDetGrad", err)
	}
}

// TestLogAbsDetGradOnInversePrograms gives every composed test program f
// (every lump kind) a parameter inside, g(x, a) = f(x ⊙ a), so that
// log|det ∂g/∂x| = log|det J_f(x ⊙ a)| + Σ log|a| depends on a through
// every lump's second-order terms, and checks the gradient in x and a
// against central differences of LogAbsDet.
func TestLogAbsDetGradOnInversePrograms(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	for _, p := range inversetest.Programs() {
		t.Run(p.Name, func(t *testing.T) {
			x := inversetest.Point(p, 5)
			if x.Len() > 200 {
				t.Skipf("n = %d: central differences cost 2n factorizations", x.Len())
			}
			a := tensor.Zeros(x.Shape()...)
			for k := range a.Data() {
				a.Data()[k] = 0.9 + 0.2*rng.Float64()
			}
			g := func(in ...*tape.Var) *tape.Var { return p.F(ops.Mul(in[0], in[1])) }
			if _, _, err := inverse.LogAbsDetGrad(g, []*tensor.Tensor{x, a}, 0); errors.Is(err, inverse.ErrNoLogDetGrad) {
				t.Skip(err)
			}
			checkLogDetGrad(t, p.Name, g, []*tensor.Tensor{x, a}, 0, "")
		})
	}
}

// TestLogAbsDetGradRowMajor: batches stored as rows through X·W are
// analyzed batch-minor (per-sample blocks, as Linearize does) and the
// gradient carried back to the program as written: a residual block with
// a broadcast bias and a coupling layer along the features, against
// central differences of LogAbsDet; the first with a colour limit below
// the batch's width, which the dense lump as recorded would exceed.
func TestLogAbsDetGradRowMajor(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	resid := func(in ...*tape.Var) *tape.Var {
		h := ops.Tanh(ops.Add(ops.MatMul(in[0], in[1]), in[2]))
		return ops.Add(in[0], ops.Scale(ops.MatMul(h, in[3]), 0.3))
	}
	defer func(m int) { inverse.MaxLogDetGradColors = m }(inverse.MaxLogDetGradColors)
	inverse.MaxLogDetGradColors = 100
	checkLogDetGrad(t, "row-major residual", resid, []*tensor.Tensor{randT(rng, 1, 50, 3), randT(rng, 0.6, 3, 4), randT(rng, 0.5, 4), randT(rng, 0.6, 4, 3)}, 0, "batch")
	coupling := func(in ...*tape.Var) *tape.Var {
		a, b := ops.SliceAxis(in[0], 1, 0, 2), ops.SliceAxis(in[0], 1, 2, 4)
		s := ops.Tanh(ops.Add(ops.MatMul(a, in[1]), in[2]))
		return ops.MatMul(ops.ConcatAxis(1, a, ops.Add(ops.Mul(b, ops.Exp(s)), ops.MatMul(a, in[3]))), in[4])
	}
	w := randT(rng, 0.5, 4, 4)
	for k := range 4 {
		w.Data()[k*4+k] += 1.5
	}
	checkLogDetGrad(t, "row-major coupling", coupling, []*tensor.Tensor{randT(rng, 1, 30, 4), randT(rng, 0.6, 2, 2), randT(rng, 0.5, 2), randT(rng, 0.6, 2, 2), w}, 0, "")
}

func TestLogAbsDetGradRowMajorSmall(t *testing.T) {
	rng := rand.New(rand.NewPCG(39, 40))
	f := func(in ...*tape.Var) *tape.Var {
		return ops.Add(in[0], ops.Scale(ops.Tanh(ops.MatMul(in[0], in[1])), 0.3))
	}
	checkLogDetGrad(t, "row-major", f, []*tensor.Tensor{randT(rng, 1, 4, 3), randT(rng, 0.5, 3, 3)}, 0, "")
}
