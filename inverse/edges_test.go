package inverse_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestConstantProgramIsSingular: a program whose output does not depend on
// x (a constant, or ops on constants only) has width 0: every inverse
// product, the log-determinant, the lump report, the dense inverse and the
// tapeless VIJP return lump.ErrStructurallySingular naming the output, and
// Newton does not report convergence. Part of the output constant is
// refused too (the width drops at the concat).
func TestConstantProgramIsSingular(t *testing.T) {
	ones := func(n int) *tensor.Tensor {
		v := tensor.Zeros(n)
		v.Fill(1)
		return v
	}
	for _, c := range []struct {
		name string
		f    func(*tape.Var) *tape.Var
	}{
		{"constant output", func(x *tape.Var) *tape.Var { return ops.Const(x, ones(3)) }},
		{"op of a constant", func(x *tape.Var) *tape.Var { return ops.Exp(ops.Const(x, ones(3))) }},
		{"part of the output constant", func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 2, 1)
			return ops.Concat(ops.Exp(p[0]), ops.Const(x, ones(1)))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := tensor.New([]int{3}, []float64{0.1, 0.2, 0.3})
			lin, err := inverse.Linearize(c.f, x)
			if err != nil {
				t.Fatalf("Linearize: %v", err)
			}
			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, lump.ErrStructurallySingular) {
					t.Errorf("%s: err = %v, want lump.ErrStructurallySingular", what, err)
				}
			}
			_, err = lin.LogAbsDet()
			check("LogAbsDet", err)
			_, err = lin.IJVP(ones(3))
			check("IJVP", err)
			_, err = lin.VIJP(ones(3))
			check("VIJP", err)
			_, err = lin.InverseJacobian()
			check("InverseJacobian", err)
			_, err = lin.Lumps()
			check("Lumps", err)
			_, err = inverse.VIJP(c.f, x, ones(3))
			check("tapeless VIJP", err)
			res, err := newton.Solve(c.f, x, newton.NoLineSearch())
			if err == nil || (res != nil && res.Converged) {
				t.Errorf("newton.Solve: converged %v, err %v; want an error", res != nil && res.Converged, err)
			}
			var se *lump.StructurallySingularError
			if errors.As(err, &se) && se.N-se.Deficiency >= 3 {
				t.Errorf("width %d reported for a singular program", se.N-se.Deficiency)
			}
		})
	}
}

// TestCallerMistakesPanic: a nil f and a width limit that is not positive
// are caller mistakes.
func TestCallerMistakesPanic(t *testing.T) {
	x := tensor.Zeros(3)
	mustPanic(t, "inverse: f is nil", func() { inverse.Linearize(nil, x) })
	mustPanic(t, "inverse: f is nil", func() { inverse.VIJP(nil, x, x) })
	mustPanic(t, "inverse: MaxLumpWidth(0)", func() { inverse.MaxLumpWidth(0) })
	mustPanic(t, "inverse: MaxLumpWidth(-4)", func() { inverse.MaxLumpWidth(-4) })
	id := func(x *tape.Var) *tape.Var { return x }
	mustPanic(t, "inverse: a nil Option", func() { inverse.Linearize(id, x, nil) })
	mustPanic(t, "inverse: a nil Option", func() { inverse.VIJP(id, x, x, nil) })
	mustPanic(t, "inverse: a nil Option", func() { inverse.Invert(id, x, nil) })
}

// TestSingularBlockWording: a refused lump names the figure it was refused
// on, not a "condition number" that is a pivot.
func TestSingularBlockWording(t *testing.T) {
	// x + sin x at x = π: the 1×1 blocks 1 + cos x, one of them 0.
	x := tensor.New([]int{3}, []float64{0.5, math.Pi, 1})
	lin, err := inverse.Linearize(func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Sin(x)) }, x)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lin.LogAbsDet()
	var be *lump.SingularBlockError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *lump.SingularBlockError", err)
	}
	if be.Figure != "pivot" || !strings.Contains(err.Error(), "singular: pivot ") || strings.Contains(err.Error(), "condition number") {
		t.Errorf("figure %q, message %q: want the pivot named as such", be.Figure, err)
	}
}

// TestDstOverlappingAConstantPanics: a ...To destination that shares memory
// with a constant the program reads would overwrite it (ops.Const does not
// copy): a caller mistake, refused before anything is written.
func TestDstOverlappingAConstantPanics(t *testing.T) {
	w := tensor.New([]int{3, 3}, []float64{2, 0, 0, 0, 3, 0, 0, 0, 4})
	f := func(x *tape.Var) *tape.Var { return ops.MatMul(ops.Const(x, w), x) }
	x := tensor.New([]int{3}, []float64{1, 2, 3})
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	keep := append([]float64(nil), w.Data()...)
	dst := tensor.New([]int{3}, w.Data()[3:6])
	mustPanic(t, "inverse: JVPTo dst shares memory with a constant", func() { lin.JVPTo(dst, x) })
	mustPanic(t, "inverse: IJVPTo dst shares memory with a constant", func() { lin.IJVPTo(dst, x) })
	for i, v := range w.Data() {
		if v != keep[i] {
			t.Fatalf("W changed: %v", w.Data())
		}
	}
}

// TestTapelessNoticesChangedParameters: f records the same ops with other
// parameters on its second run: an error, not a wrong answer.
func TestTapelessNoticesChangedParameters(t *testing.T) {
	calls := 0
	f := func(x *tape.Var) *tape.Var {
		calls++
		return ops.Scale(x, float64(calls))
	}
	x := tensor.New([]int{2}, []float64{1, 2})
	if _, err := inverse.VIJP(f, x, x); err == nil || !strings.Contains(err.Error(), "scale(2)") {
		t.Errorf("err = %v, want one naming scale(2) against scale(1)", err)
	}
}

// roll is x + 0.5·roll(x): every element coupled to its neighbour, one
// batch lump of a single n×n block.
func roll(x *tape.Var) *tape.Var {
	n := x.Len()
	r := ops.Concat(ops.Slice(x, 1, n), ops.Slice(x, 0, 1))
	return ops.Add(x, ops.Scale(r, 0.5))
}

// TestLimitsCoverEveryLumpKind: the width limit bounds a batch lump's block
// order as it does a dense lump's width, and the memory budget bounds every
// kind, a step's cached LU of W included: refused from shapes, before
// anything is factorized, naming the ops and the bytes.
func TestLimitsCoverEveryLumpKind(t *testing.T) {
	x := tensor.Zeros(200)
	for i := range x.Data() {
		x.Data()[i] = math.Sin(float64(i))
	}
	lin, err := inverse.Linearize(roll, x, inverse.MaxLumpWidth(16))
	if err != nil {
		t.Fatal(err)
	}
	_, err = lin.LogAbsDet()
	var le *lump.LumpTooLargeError
	if !errors.As(err, &le) || le.Kind != lump.Batch || le.Width != 200 || le.Limit != 16 {
		t.Errorf("roll, width limit 16: %v; want a batch lump of width 200 refused", err)
	}
	// The default limits take it.
	if lin, _ := inverse.Linearize(roll, x); lin != nil {
		if _, err := lin.LogAbsDet(); err != nil {
			t.Errorf("roll with the default limits: %v", err)
		}
	}
	// A step's LU of a 300×300 W: 2·8·300² = 1.44 MB.
	w := tensor.Zeros(300, 300)
	for i := range 300 {
		w.Data()[i*300+i] = 2
	}
	wx := func(x *tape.Var) *tape.Var { return ops.MatMul(ops.Const(x, w), x) }
	x3 := tensor.Zeros(300)
	lin, err = inverse.Linearize(wx, x3, inverse.MaxLumpBytes(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	_, err = lin.IJVP(x3)
	if !errors.As(err, &le) || le.Kind != lump.Step || le.Bytes != 2*8*300*300 || le.Budget != 1<<20 ||
		!strings.Contains(err.Error(), "matmul@") || !strings.Contains(err.Error(), "GB") {
		t.Errorf("W x over the budget: %v", err)
	}
	if _, err := inverse.VIJP(wx, x3, x3, inverse.MaxLumpBytes(1<<20)); !errors.Is(err, lump.ErrLumpTooLarge) {
		t.Errorf("tapeless VIJP over the budget: %v", err)
	}
	lin, _ = inverse.Linearize(wx, x3)
	ls, err := lin.Lumps()
	if err != nil || len(ls) != 1 || ls[0].Bytes != 2*8*300*300 {
		t.Errorf("Lumps: %v, %+v; want the step's bytes", err, ls)
	}
	mustPanic(t, "inverse: MaxLumpBytes(0)", func() { inverse.MaxLumpBytes(0) })
}
