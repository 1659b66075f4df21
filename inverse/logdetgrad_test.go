package inverse_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
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
	return centralGrad(xs, h, ld)
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

// withParam returns the composed test program p with a parameter inside,
// g(x, a) = f(x ⊙ a), and a drawn near 1 (0.9 to 1.1) in x's shape.
func withParam(rng *rand.Rand, p inversetest.Program, x *tensor.Tensor) (func(in ...*tape.Var) *tape.Var, *tensor.Tensor) {
	a := tensor.Zeros(x.Shape()...)
	for k := range a.Data() {
		a.Data()[k] = 0.9 + 0.2*rng.Float64()
	}
	return func(in ...*tape.Var) *tape.Var { return p.F(ops.Mul(in[0], in[1])) }, a
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
			g, a := withParam(rng, p, x)
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

// fdAlongGrad is the gradient of Σ_b w_b·logdet_b, logdet the per-sample
// log|det ∂f/∂xᵢ| along axis (LinearizeArg's LogAbsDetAlong, batch-minor
// where LogAbsDetAlongGrad is), with respect to every input by central
// differences: the independent reference.
func fdAlongGrad(t *testing.T, f func(xs ...*tape.Var) *tape.Var, xs []*tensor.Tensor, i, axis int, w *tensor.Tensor) []*tensor.Tensor {
	t.Helper()
	const h = 1e-6 // central differences: error about h² against rounding about ε/h
	obj := func() float64 {
		l, err := inverse.LinearizeArg(f, xs, i)
		if err != nil {
			t.Fatal(err)
		}
		ld, err := l.LogAbsDetAlong(axis)
		if err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for b, v := range ld.Data() {
			s += w.Data()[b] * v
		}
		return s
	}
	return centralGrad(xs, h, obj)
}

// centralGrad is the gradient of obj with respect to every element of xs
// by central differences of step h, each element moved in place and put
// back.
func centralGrad(xs []*tensor.Tensor, h float64, obj func() float64) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(xs))
	for j, x := range xs {
		out[j] = tensor.Zeros(x.Shape()...)
		for k := range x.Data() {
			save := x.Data()[k]
			x.Data()[k] = save + h
			p := obj()
			x.Data()[k] = save - h
			m := obj()
			x.Data()[k] = save
			out[j].Data()[k] = (p - m) / (2 * h)
		}
	}
	return out
}

// checkAlongGrad checks LogAbsDetAlongGrad on f at xs: its per-sample
// log-dets against LogAbsDetAlong's, its gradient with random weights
// against central differences, and with every weight 1 against
// LogAbsDetGrad's. wantLumps, if set, is a lump kind f must have.
func checkAlongGrad(t *testing.T, rng *rand.Rand, name string, f func(xs ...*tape.Var) *tape.Var, xs []*tensor.Tensor, i, axis int, wantLumps string) {
	t.Helper()
	B := xs[i].Shape()[axis]
	w := randT(rng, 1, B) // signed weights: per-sample losses need not be positive
	parts, g, err := inverse.LogAbsDetAlongGrad(f, xs, i, axis, w)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	l, err := inverse.LinearizeArg(f, xs, i)
	if err != nil {
		t.Fatal(err)
	}
	want, err := l.LogAbsDetAlong(axis)
	if err != nil {
		t.Fatal(err)
	}
	for b, v := range want.Data() {
		if got := parts.Data()[b]; got != v {
			t.Errorf("%s: log|det| of sample %d = %v, LogAbsDetAlong %v", name, b, got, v)
		}
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
	ref := fdAlongGrad(t, f, xs, i, axis, w)
	for j := range xs {
		for k, v := range g[j].Data() {
			// 2e-6: central differences with h = 1e-6 (as checkLogDetGrad)
			if r := ref[j].Data()[k]; math.Abs(v-r) > 2e-6*math.Max(1, math.Abs(r)) {
				t.Errorf("%s: ∂/∂input %d [%d] = %.10g, central differences %.10g", name, j, k, v, r)
			}
		}
	}
	// Every weight 1: LogAbsDetGrad's gradient, up to the order of the sums.
	ones := plus(tensor.Zeros(B), 1)
	_, g1, err := inverse.LogAbsDetAlongGrad(f, xs, i, axis, ones)
	if err != nil {
		t.Fatal(err)
	}
	ld, g0, err := inverse.LogAbsDetGrad(f, xs, i)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, v := range parts.Data() {
		sum += v
	}
	if math.Abs(sum-ld) > 1e-12*math.Max(1, math.Abs(ld)) {
		t.Errorf("%s: Σ per-sample log|det| = %v, LogAbsDetGrad's %v", name, sum, ld)
	}
	for j := range xs {
		for k, v := range g1[j].Data() {
			// 1e-13: the same terms, scaled by 1.0 (exactly the same here)
			if r := g0[j].Data()[k]; math.Abs(v-r) > 1e-13*math.Max(1, math.Abs(r)) {
				t.Errorf("%s: w = 1: ∂/∂input %d [%d] = %.17g, LogAbsDetGrad %.17g", name, j, k, v, r)
			}
		}
	}
}

// TestLogAbsDetAlongGradAgainstDifferences checks the weighted gradient on
// a program of each lump kind diagonal in samples, along the first and the
// last axis of x.
func TestLogAbsDetAlongGradAgainstDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	// A batch lump of d×d blocks: X [d, B] + W₂·tanh(W₁·X + b₁), the
	// samples along the last axis.
	resid := func(in ...*tape.Var) *tape.Var {
		h := ops.Tanh(ops.Add(ops.MatMul(in[1], in[0]), in[3]))
		return ops.Add(in[0], ops.Scale(ops.MatMul(in[2], h), 0.4))
	}
	for _, d := range []int{2, 3} {
		checkAlongGrad(t, rng, fmt.Sprintf("batch %d×%d", d, d), resid,
			[]*tensor.Tensor{randT(rng, 1, d, 5), randT(rng, 0.8, 4, d), randT(rng, 0.8, d, 4), randT(rng, 0.5, 4, 1)}, 0, 1, "batch")
	}

	// Diagonal steps: exp(x⊙θ) on x [B, 3], along axis 0 and, on [3, B],
	// along axis 1 (two steps, log|det| Σ log|θ| + θ·x per sample). The
	// same elementwise map written as x + θ⊙tanh(x) is a batch lump of 1×1
	// blocks.
	elem := func(in ...*tape.Var) *tape.Var { return ops.Exp(ops.Mul(in[0], in[1])) }
	checkAlongGrad(t, rng, "diagonal, axis 0", elem, []*tensor.Tensor{randT(rng, 1, 4, 3), plus(randT(rng, 0.5, 4, 3), 1)}, 0, 0, "step")
	checkAlongGrad(t, rng, "diagonal, axis 1", elem, []*tensor.Tensor{randT(rng, 1, 3, 4), plus(randT(rng, 0.5, 3, 4), 1)}, 0, 1, "step")
	elem1 := func(in ...*tape.Var) *tape.Var { return ops.Add(in[0], ops.Mul(in[1], ops.Tanh(in[0]))) }
	checkAlongGrad(t, rng, "batch 1×1", elem1, []*tensor.Tensor{randT(rng, 1, 4, 3), randT(rng, 0.5, 4, 3)}, 0, 0, "batch")

	// A Kron step and a diagonal one: (W·X)⊙exp(a) on X [d, B], sample b's
	// block diag(exp(a_b))·W.
	kron := func(in ...*tape.Var) *tape.Var { return ops.Mul(ops.MatMul(in[1], in[0]), ops.Exp(in[2])) }
	W := randT(rng, 0.5, 3, 3)
	for k := range 3 {
		W.Data()[k*3+k] += 1.5
	}
	checkAlongGrad(t, rng, "kron", kron, []*tensor.Tensor{randT(rng, 1, 3, 4), W, randT(rng, 0.5, 3, 4)}, 0, 1, "step")

	// A residual block stored as rows [B, d] through X·W, analyzed
	// batch-minor: the samples along axis 0 of x.
	rows := func(in ...*tape.Var) *tape.Var {
		h := ops.Tanh(ops.Add(ops.MatMul(in[0], in[1]), in[2]))
		return ops.Add(in[0], ops.Scale(ops.MatMul(h, in[3]), 0.3))
	}
	checkAlongGrad(t, rng, "row-major residual", rows,
		[]*tensor.Tensor{randT(rng, 1, 6, 3), randT(rng, 0.6, 3, 4), randT(rng, 0.5, 4), randT(rng, 0.6, 4, 3)}, 0, 0, "batch")

	// A RealNVP coupling on [d, B] (train-flow's layer): steps and
	// expansions, the gradient in x₁ through s.
	coupling := func(in ...*tape.Var) *tape.Var {
		a, b := ops.SliceAxis(in[0], 0, 0, 2), ops.SliceAxis(in[0], 0, 2, 4)
		s := ops.Tanh(ops.Add(ops.MatMul(in[1], a), in[2]))
		return ops.ConcatAxis(0, a, ops.Add(ops.Mul(b, ops.Exp(s)), ops.MatMul(in[3], a)))
	}
	checkAlongGrad(t, rng, "coupling", coupling,
		[]*tensor.Tensor{randT(rng, 1, 4, 5), randT(rng, 0.6, 2, 2), randT(rng, 0.5, 2, 1), randT(rng, 0.6, 2, 2)}, 0, 1, "")
}

// TestLogAbsDetAlongGradOnInversePrograms: on every composed test program
// whose Jacobian is block diagonal along the first or the last axis of x,
// g(x, a) = f(x ⊙ a) with w all ones gives LogAbsDetGrad's gradient, and
// the small ones' weighted gradient matches central differences.
func TestLogAbsDetAlongGradOnInversePrograms(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	ran := map[string]bool{}
	for _, p := range inversetest.Programs() {
		x := inversetest.Point(p, 5)
		g, a := withParam(rng, p, x)
		xs := []*tensor.Tensor{x, a}
		axes := []int{0}
		if r := len(x.Shape()); r > 1 {
			axes = append(axes, r-1)
		}
		for _, axis := range axes {
			t.Run(fmt.Sprintf("%s/axis=%d", p.Name, axis), func(t *testing.T) {
				B := x.Shape()[axis]
				_, g1, err := inverse.LogAbsDetAlongGrad(g, xs, 0, axis, plus(tensor.Zeros(B), 1))
				if errors.Is(err, inverse.ErrCouplesSamples) || errors.Is(err, inverse.ErrNoLogDetGrad) {
					t.Skip(err)
				}
				if err != nil {
					t.Fatal(err)
				}
				_, g0, err := inverse.LogAbsDetGrad(g, xs, 0)
				if err != nil {
					t.Fatal(err)
				}
				for j := range xs {
					for k, v := range g1[j].Data() {
						// 1e-13: the same terms, each scaled by 1.0
						if r := g0[j].Data()[k]; math.Abs(v-r) > 1e-13*math.Max(1, math.Abs(r)) {
							t.Errorf("w = 1: ∂/∂input %d [%d] = %.17g, LogAbsDetGrad %.17g", j, k, v, r)
						}
					}
				}
				ran[p.Name] = true
				if x.Len() > 60 {
					t.Logf("n = %d: no central differences, which cost 2n factorizations per input", x.Len())
					return
				}
				checkAlongGrad(t, rng, p.Name, g, xs, 0, axis, "")
			})
		}
	}
	if len(ran) < 10 {
		t.Errorf("%d programs are block diagonal along the first or last axis of x, want at least 10: the test would check little", len(ran))
	}
}

// TestLogAbsDetAlongGradErrors: a lump coupling the samples is a
// *CouplingError, a NaN weight a *NonFiniteError, and a w of the wrong
// size, a nil w or a bad axis panic.
func TestLogAbsDetAlongGradErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	resid := func(in ...*tape.Var) *tape.Var {
		return ops.Add(in[0], ops.Scale(ops.MatMul(in[1], ops.Tanh(in[0])), 0.4))
	}
	xs := []*tensor.Tensor{randT(rng, 1, 3, 5), randT(rng, 0.8, 3, 3)}
	// Along axis 0 the batch lump's 3×3 blocks mix the three rows.
	_, _, err := inverse.LogAbsDetAlongGrad(resid, xs, 0, 0, plus(tensor.Zeros(3), 1))
	var ce *inverse.CouplingError
	if !errors.As(err, &ce) || !errors.Is(err, inverse.ErrCouplesSamples) || ce.Axis != 0 {
		t.Errorf("a lump coupling the samples: err = %v, want a *CouplingError along axis 0", err)
	}
	w := plus(tensor.Zeros(5), 1)
	w.Data()[2] = math.NaN()
	if _, _, err := inverse.LogAbsDetAlongGrad(resid, xs, 0, 1, w); !errors.Is(err, inverse.ErrNonFinite) {
		t.Errorf("a NaN weight: err = %v, want ErrNonFinite", err)
	}
	for _, c := range []struct {
		name, reason string
		axis         int
		w            *tensor.Tensor
	}{
		{"short w", "one weight per sample: 5 along axis 1", 1, tensor.Zeros(4)},
		{"w of the other axis", "3 elements, the length of axis 0", 1, tensor.Zeros(3)},
		{"nil w", "no weights", 1, nil},
		{"axis 2", "x is [3, 5]", 2, tensor.Zeros(5)},
		{"axis -1", "x is [3, 5]", -1, tensor.Zeros(5)},
	} {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "inverse: ") {
					t.Errorf("%s (%s): recovered %v, want a panic starting \"inverse: \"", c.name, c.reason, r)
				}
			}()
			inverse.LogAbsDetAlongGrad(resid, xs, 0, c.axis, c.w)
		}()
	}
}

// TestLogAbsDetGradChunked: the second-order pass of a batch lump run on
// chunks of samples (3 a chunk here, the last one shorter; by default a
// few hundred) gives the gradient of the pass on whole values, to
// rounding, with and without per-sample weights: on the residual block
// with its weights as inputs, and on every composed test program given a
// parameter (f(x ⊙ a)) along each of its axes. It fails unless some of
// them ran chunked.
func TestLogAbsDetGradChunked(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	type tc struct {
		name string
		f    func(in ...*tape.Var) *tape.Var
		xs   []*tensor.Tensor
		axis int
	}
	var cases []tc
	const d, h, B = 5, 7, 20
	cases = append(cases, tc{"residual", func(in ...*tape.Var) *tape.Var {
		return ops.Add(in[0], ops.MatMul(in[2], ops.Tanh(ops.Add(ops.MatMul(in[1], in[0]), in[3]))))
	}, []*tensor.Tensor{randT(rng, 1, d, B), randT(rng, 0.4, h, d), randT(rng, 0.4, d, h), randT(rng, 0.5, h, 1)}, 1})
	for _, p := range inversetest.Programs() {
		x := inversetest.Point(p, 5)
		g, a := withParam(rng, p, x)
		cases = append(cases, tc{p.Name, g, []*tensor.Tensor{x, a}, len(x.Shape()) - 1})
	}
	before := inverse.ChunkedLumps()
	for _, c := range cases {
		w := tensor.Zeros(c.xs[0].Shape()[c.axis])
		for k := range w.Data() {
			w.Data()[k] = 2*rng.Float64() - 1
		}
		type result struct {
			ld    float64
			g, ga []*tensor.Tensor
			parts *tensor.Tensor
			err   error
		}
		run := func(cols int) (r result) {
			defer inverse.SetLogDetGradChunk(cols)()
			r.ld, r.g, r.err = inverse.LogAbsDetGrad(c.f, c.xs, 0)
			if r.err == nil {
				r.parts, r.ga, r.err = inverse.LogAbsDetAlongGrad(c.f, c.xs, 0, c.axis, w)
			}
			return r
		}
		whole, chunked := run(0), run(3)
		if whole.err != nil || chunked.err != nil {
			if (whole.err == nil) != (chunked.err == nil) {
				t.Errorf("%s: error %v whole, %v chunked", c.name, whole.err, chunked.err)
			}
			continue
		}
		if chunked.ld != whole.ld || !slices.Equal(chunked.parts.Data(), whole.parts.Data()) {
			t.Errorf("%s: log-dets differ chunked", c.name)
		}
		for j := range c.xs {
			for _, pair := range [][2]*tensor.Tensor{{chunked.g[j], whole.g[j]}, {chunked.ga[j], whole.ga[j]}} {
				got, want := pair[0].Data(), pair[1].Data()
				scale := 1.0
				for _, v := range want {
					scale = math.Max(scale, math.Abs(v))
				}
				for k := range want {
					if math.Abs(got[k]-want[k]) > 1e-12*scale {
						t.Fatalf("%s: ∂/∂input %d [%d]: chunked %.17g, whole %.17g", c.name, j, k, got[k], want[k])
					}
				}
			}
		}
	}
	if n := inverse.ChunkedLumps() - before; n < 4 {
		t.Errorf("%d lump passes ran chunked, want the residual block's and more", n)
	}
}

// panicky is tanh whose second-order rule panics, as an op with a bug
// would.
type panicky struct{ *ops.Elementwise }

func (panicky) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
	panic("panicky: second-order rule")
}

// TestLogAbsDetGradChunkedPanic: an op's panic inside the chunked pass
// (on a worker goroutine) reaches the caller as the same panic, as it does
// from the pass on whole values.
func TestLogAbsDetGradChunkedPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(49, 50))
	const d, h, B = 4, 6, 30
	xs := []*tensor.Tensor{randT(rng, 1, d, B), randT(rng, 0.4, h, d), randT(rng, 0.4, d, h)}
	f := func(in ...*tape.Var) *tape.Var {
		return ops.Add(in[0], ops.MatMul(in[2], tape.Apply(panicky{ops.TanhOp}, ops.MatMul(in[1], in[0]))))
	}
	before := inverse.ChunkedLumps()
	for _, cols := range []int{0, 3} {
		func() {
			defer inverse.SetLogDetGradChunk(cols)()
			defer func() {
				if r := recover(); r != "panicky: second-order rule" {
					t.Errorf("chunk %d: recovered %v, want the op's panic", cols, r)
				}
			}()
			inverse.LogAbsDetGrad(f, xs, 0)
		}()
	}
	if inverse.ChunkedLumps() == before {
		t.Error("the pass did not run chunked")
	}
}
