package inverse_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// inverseErr linearizes f at x and returns the error of the first inverse
// product; every inverse method must then return the same error.
func inverseErr(t *testing.T, f func(*tape.Var) *tape.Var, x *tensor.Tensor, opts ...inverse.Option) error {
	t.Helper()
	lin, err := inverse.Linearize(f, x, opts...)
	if err != nil {
		t.Fatalf("Linearize: %v", err)
	}
	// The forward products still work on a program with no inverse.
	if _, err := lin.JVP(x); err != nil {
		t.Fatalf("JVP: %v", err)
	}
	_, err = lin.IJVP(lin.Output())
	_, err2 := lin.VIJP(x)
	_, err3 := lin.LogAbsDet()
	_, err4 := lin.InverseJacobian()
	_, err5 := lin.Lumps()
	for _, e := range []error{err2, err3, err4, err5} {
		if e == nil || e.Error() != err.Error() {
			t.Errorf("inverse methods disagree: %v vs %v", err, e)
		}
	}
	return err
}

func TestStructurallySingular(t *testing.T) {
	x := tensor.New([]int{8}, []float64{1, 2, 3, 4, 5, 6, 7, 8})
	f := func(x *tape.Var) *tape.Var {
		p := ops.Split(x, 4, 4)
		s := ops.Add(p[0], p[1])
		return ops.Concat(s, s)
	}
	err := inverseErr(t, f, x)
	var se *lump.StructurallySingularError
	if !errors.Is(err, lump.ErrStructurallySingular) || !errors.As(err, &se) {
		t.Fatalf("got %v, want a structurally singular error", err)
	}
	if se.N != 8 || se.Deficiency != 4 {
		t.Errorf("N, deficiency = %d, %d; want 8, 4", se.N, se.Deficiency)
	}
	// The width drops at the add (tape position 2, after the two slices).
	if len(se.Cut) != 1 || se.Cut[0].Op != "add" || se.Cut[0].Pos != 2 || len(se.Cut[0].Index) != 4 {
		t.Errorf("cut %+v, want the 4 elements of the add at position 2", se.Cut)
	}
	if !strings.Contains(err.Error(), "from 8 to 4 at add at tape position 2") {
		t.Errorf("message %q does not say where the width drops", err)
	}
}

func TestSingularLumps(t *testing.T) {
	x := tensor.New([]int{3}, []float64{0.5, 0, 2})
	for _, tc := range []struct {
		name, reason string
		f            func(*tape.Var) *tape.Var
		x            *tensor.Tensor
		op           string // the op the error names
		pos          int
	}{
		{"square-at-0", "d(x²)/dx = 0 at x = 0", func(x *tape.Var) *tape.Var { return ops.Square(ops.AddScalar(x, 0)) }, x, "square", 1},
		{"times-zero", "x·0 has a zero Jacobian", func(x *tape.Var) *tape.Var {
			return ops.Mul(x, ops.Const(x, tensor.Zeros(3)))
		}, x, "mul", 0},
		{"singular-W", "W with two equal rows", func(x *tape.Var) *tape.Var {
			return ops.Tanh(ops.MatMul(ops.Const(x, tensor.New([]int{3, 3}, []float64{1, 2, 3, 1, 2, 3, 0, 1, 1})), x))
		}, x, "matmul", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := inverseErr(t, tc.f, tc.x)
			var se *tape.SingularError
			if !errors.Is(err, tape.ErrSingular) || !errors.As(err, &se) {
				t.Fatalf("%s: got %v, want a *tape.SingularError", tc.reason, err)
			}
			if se.Op != tc.op || se.Pos != tc.pos {
				t.Errorf("error names %s at %d, want %s at %d: %v", se.Op, se.Pos, tc.op, tc.pos, err)
			}
		})
	}
	// x + sin x at x = π: the lump {sin, +} has A = 1 + cos π = 0.
	xp := tensor.New([]int{3}, []float64{0.3, math.Pi, 1})
	err := inverseErr(t, func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Sin(x)) }, xp)
	var be *lump.SingularBlockError
	if !errors.Is(err, tape.ErrSingular) || !errors.As(err, &be) {
		t.Fatalf("x + sin x at π: got %v, want a *lump.SingularBlockError", err)
	}
	if !strings.Contains(err.Error(), "sin at tape position 0, add at tape position 1") {
		t.Errorf("message %q does not name the lump's ops", err)
	}
}

func TestLumpTooLarge(t *testing.T) {
	x := tensor.New([]int{5}, []float64{0.1, 0.2, 0.3, 0.4, 0.5})
	f := func(x *tape.Var) *tape.Var { // a rank-0 sum couples everything: one dense lump of width 5
		return ops.Add(ops.Scale(x, 3), ops.Mul(ops.Sum(ops.Square(x)), ops.Sin(x)))
	}
	err := inverseErr(t, f, x, inverse.MaxLumpWidth(4))
	var le *lump.LumpTooLargeError
	if !errors.Is(err, lump.ErrLumpTooLarge) || !errors.As(err, &le) || le.Width != 5 {
		t.Fatalf("got %v, want a LumpTooLargeError of width 5", err)
	}
	if !strings.Contains(err.Error(), "sum@2") {
		t.Errorf("message %q does not name the ops", err)
	}
	lin, err := inverse.Linearize(f, x, inverse.MaxLumpWidth(5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lin.LogAbsDet(); err != nil {
		t.Errorf("at the limit: %v", err)
	}
}

func TestInverseNonFinite(t *testing.T) {
	x := tensor.New([]int{3}, []float64{0.1, 0.2, 0.3})
	lin, err := inverse.Linearize(func(x *tape.Var) *tape.Var { return ops.Tanh(x) }, x)
	if err != nil {
		t.Fatal(err)
	}
	bad := tensor.New([]int{3}, []float64{0, math.Inf(1), 0})
	if _, err := lin.IJVP(bad); !errors.Is(err, inverse.ErrNonFinite) {
		t.Errorf("IJVP(Inf): got %v", err)
	}
	if _, err := lin.VIJP(bad); !errors.Is(err, inverse.ErrNonFinite) {
		t.Errorf("VIJP(Inf): got %v", err)
	}
	// A finite dy of 1e308 divided by tanh'(3) ≈ 0.0099 overflows to Inf.
	steep, err := inverse.Linearize(func(x *tape.Var) *tape.Var { return ops.Tanh(x) }, tensor.New([]int{3}, []float64{3, 3, 3}))
	if err != nil {
		t.Fatal(err)
	}
	big := tensor.New([]int{3}, []float64{1e308, 1e308, 1e308})
	var nf *inverse.NonFiniteError
	if _, err := steep.IJVP(big); !errors.As(err, &nf) || !strings.Contains(nf.Where, "result of IJVP") {
		t.Errorf("IJVP overflow: got %v, want a NonFiniteError in the result", err)
	}
	mustPanic(t, "inverse: ", func() { lin.IJVP(tensor.Zeros(4)) })
	mustPanic(t, "inverse: ", func() { lin.VIJP(tensor.Zeros(2, 2)) })
}
