package batch_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// sampleLogDets is the reference: J of f at x by JVPs through the program
// as recorded (no lumps), each sample's block (its elements: idx(i)) taken
// out and factorized by gonum's LU. It fails the test if J has a nonzero
// between two samples' elements, so that the reference is per sample.
func sampleLogDets(t *testing.T, f func(*tape.Var) *tape.Var, x *tensor.Tensor, samples int, idx func(i int) []int) []float64 {
	t.Helper()
	lin, err := inverse.Linearize(f, x, inverse.AsRecorded())
	if err != nil {
		t.Fatal(err)
	}
	j, err := lin.Jacobian()
	if err != nil {
		t.Fatal(err)
	}
	n := x.Len()
	of := make([]int, n)
	for i := range samples {
		for _, e := range idx(i) {
			of[e] = i
		}
	}
	for r := range n {
		for c := range n {
			if of[r] != of[c] && j.Data()[r*n+c] != 0 {
				t.Fatalf("J(%d, %d) = %g couples samples %d and %d", r, c, j.Data()[r*n+c], of[r], of[c])
			}
		}
	}
	out := make([]float64, samples)
	for i := range samples {
		ix := idx(i)
		w := len(ix)
		blk := mat.NewDense(w, w, nil)
		for a, r := range ix {
			for b, c := range ix {
				blk.Set(a, b, j.Data()[r*n+c])
			}
		}
		var lu mat.LU
		lu.Factorize(blk)
		out[i], _ = lu.LogDet()
	}
	return out
}

func checkAlong(t *testing.T, lin *inverse.Linearization, axis int, want []float64) {
	t.Helper()
	got, err := lin.LogAbsDetAlong(axis)
	if err != nil {
		t.Fatalf("LogAbsDetAlong(%d): %v", axis, err)
	}
	if e := maxDiff(got.Data(), want); e > 1e-12 {
		t.Errorf("LogAbsDetAlong(%d) = %v, per-sample LU %v (max diff %g)", axis, got.Data(), want, e)
	}
	total, err := lin.LogAbsDet()
	if err != nil {
		t.Fatal(err)
	}
	s := 0.0
	for _, v := range got.Data() {
		s += v
	}
	if math.Abs(s-total) > 1e-12*math.Max(1, math.Abs(total)) {
		t.Errorf("the parts sum to %g, LogAbsDet %g", s, total)
	}
}

// TestLogAbsDetAlongRows: the row-major residual block, analyzed
// batch-minor, has one log|det| per row of x, each that of its sample's
// d×d block of J.
func TestLogAbsDetAlongRows(t *testing.T) {
	const b, d, h = 7, 3, 4
	rng := rand.New(rand.NewPCG(6, 6))
	x := seeded(rng, -1, 1, b, d)
	f := residual(b, d, h, 4)
	want := sampleLogDets(t, f, x, b, func(i int) []int { return []int{i * d, i*d + 1, i*d + 2} })
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	checkAlong(t, lin, 0, want)
}

// TestLogAbsDetAlongColumns: the same block stored feature-major, X of
// [d, B] through W·X (a Kron block): one log|det| per column.
func TestLogAbsDetAlongColumns(t *testing.T) {
	const b, d, h = 5, 3, 4
	rng := rand.New(rand.NewPCG(7, 7))
	w1 := seeded(rng, -0.5, 0.5, h, d)
	w2 := seeded(rng, -0.5, 0.5, d, h)
	f := func(x *tape.Var) *tape.Var {
		g := ops.MatMul(ops.Const(x, w2), ops.Tanh(ops.MatMul(ops.Const(x, w1), x)))
		return ops.Add(x, g)
	}
	x := seeded(rng, -1, 1, d, b)
	want := sampleLogDets(t, f, x, b, func(i int) []int { return []int{i, b + i, 2*b + i} })
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	checkAlong(t, lin, 1, want)
}

// TestLogAbsDetAlongElementwise: an elementwise program as recorded, along
// either axis (each element is its own block).
func TestLogAbsDetAlongElementwise(t *testing.T) {
	const b, d = 4, 3
	rng := rand.New(rand.NewPCG(8, 8))
	x := seeded(rng, -1, 1, b, d)
	f := func(x *tape.Var) *tape.Var { return ops.Add(ops.Tanh(x), ops.Scale(x, 1.5)) }
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	checkAlong(t, lin, 0, sampleLogDets(t, f, x, b, func(i int) []int { return []int{i * d, i*d + 1, i*d + 2} }))
	checkAlong(t, lin, 1, sampleLogDets(t, f, x, d, func(i int) []int { return []int{i, d + i, 2*d + i, 3*d + i} }))
}

// TestLogAbsDetAlongCoupled: W·X mixes the rows of X: along axis 0 the
// error names the product; along axis 1 the columns stay apart.
func TestLogAbsDetAlongCoupled(t *testing.T) {
	const b, d = 4, 3
	rng := rand.New(rand.NewPCG(9, 9))
	w := seeded(rng, -1, 1, b, b)
	for i := range b {
		w.Data()[i*b+i] += 4 // diagonally dominant: far from singular
	}
	f := func(x *tape.Var) *tape.Var { return ops.Tanh(ops.MatMul(ops.Const(x, w), x)) }
	x := seeded(rng, -1, 1, b, d)
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lin.LogAbsDetAlong(0)
	var ce *inverse.CouplingError
	if !errors.As(err, &ce) || !errors.Is(err, inverse.ErrCouplesSamples) {
		t.Fatalf("LogAbsDetAlong(0): %v, want a *CouplingError", err)
	}
	if len(ce.Ops) != 1 || ce.Ops[0] != "matmul@0" {
		t.Errorf("CouplingError names %v, want [matmul@0]", ce.Ops)
	}
	checkAlong(t, lin, 1, sampleLogDets(t, f, x, d, func(i int) []int { return []int{i, d + i, 2*d + i, 3*d + i} }))
}
