package inverse

import (
	"math"
	"testing"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestReuse: a Linearization of the same program at another point takes
// the plan of the one it reuses, and its products are bit for bit those of
// a fresh Linearization; a program that differs in an op's parameter, or
// other limits, builds its own plan.
func TestReuse(t *testing.T) {
	const n = 300
	stencil := func(c float64) func(*tape.Var) *tape.Var {
		return func(u *tape.Var) *tape.Var {
			zero := ops.Const(u, tensor.Zeros(1))
			left := ops.Concat(zero, ops.Slice(u, 0, n-1))
			right := ops.Concat(ops.Slice(u, 1, n), zero)
			return ops.Add(ops.Scale(ops.Add(left, right), c), ops.Exp(ops.Scale(u, 3)))
		}
	}
	point := func(s float64) *tensor.Tensor {
		x := tensor.Zeros(n)
		for i := range x.Data() {
			x.Data()[i] = 0.1 * math.Sin(s*float64(i))
		}
		return x
	}
	first, err := Linearize(stencil(0.5), point(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		f     func(*tape.Var) *tape.Var
		opts  []Option
		reuse bool
	}{
		{"same program", stencil(0.5), nil, true},
		{"another parameter", stencil(0.25), nil, false},
		{"other limits", stencil(0.5), []Option{MaxLumpBytes(1 << 40)}, false},
	} {
		x := point(2)
		lin, err := Linearize(c.f, x, append(c.opts, Reuse(first))...)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := Linearize(c.f, x, c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		dy := point(3)
		for _, pr := range []struct {
			name       string
			got, fresh func(*tensor.Tensor) (*tensor.Tensor, error)
		}{{"IJVP", lin.IJVP, fresh.IJVP}, {"VIJP", lin.VIJP, fresh.VIJP}} {
			a, err1 := pr.got(dy)
			b, err2 := pr.fresh(dy)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s %s: %v, %v", c.name, pr.name, err1, err2)
			}
			for i := range a.Data() {
				if math.Float64bits(a.Data()[i]) != math.Float64bits(b.Data()[i]) {
					t.Fatalf("%s %s: element %d %v, fresh %v", c.name, pr.name, i, a.Data()[i], b.Data()[i])
				}
			}
		}
		ld1, _ := lin.LogAbsDet()
		ld2, _ := fresh.LogAbsDet()
		if ld1 != ld2 {
			t.Errorf("%s: log|det J| %v, fresh %v", c.name, ld1, ld2)
		}
		if got := lin.inv.P == first.inv.P; got != c.reuse {
			t.Errorf("%s: plan reused %v, want %v", c.name, got, c.reuse)
		}
		if lin.reuse != nil {
			t.Errorf("%s: the Linearization keeps a reference to the one it reused", c.name)
		}
	}
}
