package inverse_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/catalog"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestStencilsAgainstLU: stencils written with shifts, at sizes below and
// above the point where the analysis stops cutting them into one atom per
// element, against a gonum LU of the dense J.
func TestStencilsAgainstLU(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func(*tape.Var) *tape.Var
	}{
		{"roll", roll},
		{"roll∘tanh", func(x *tape.Var) *tape.Var { return roll(ops.Tanh(x)) }},
		{"bratu", catalog.Bratu1D(1)},
	} {
		for _, n := range []int{300, 1500} {
			x := tensor.Zeros(n)
			for i := range x.Data() {
				x.Data()[i] = 0.3 * math.Sin(float64(i))
			}
			lin, err := inverse.Linearize(c.f, x, inverse.MaxLumpWidth(n))
			if err != nil {
				t.Fatal(err)
			}
			J, err := lin.Jacobian()
			if err != nil {
				t.Fatal(err)
			}
			var lu mat.LU
			lu.Factorize(mat.NewDense(n, n, J.Data()))
			dy := tensor.Zeros(n)
			for i := range dy.Data() {
				dy.Data()[i] = math.Cos(float64(3*i + 1))
			}
			got, err := lin.IJVP(dy)
			if err != nil {
				t.Fatalf("%s n=%d: %v", c.name, n, err)
			}
			var want mat.VecDense
			if err := lu.SolveVecTo(&want, false, mat.NewVecDense(n, dy.Data())); err != nil {
				t.Fatal(err)
			}
			tol := 1e-12 * lu.Cond()
			if e := relErr(got.Data(), want.RawVector().Data); e > tol {
				t.Errorf("%s n=%d: IJVP relative error %.3g against LU (bound %.3g)", c.name, n, e, tol)
			}
			gotT, err := lin.VIJP(dy)
			if err != nil {
				t.Fatalf("%s n=%d: %v", c.name, n, err)
			}
			if err := lu.SolveVecTo(&want, true, mat.NewVecDense(n, dy.Data())); err != nil {
				t.Fatal(err)
			}
			if e := relErr(gotT.Data(), want.RawVector().Data); e > tol {
				t.Errorf("%s n=%d: VIJP relative error %.3g against LU (bound %.3g)", c.name, n, e, tol)
			}
			ld, err := lin.LogAbsDet()
			if err != nil {
				t.Fatal(err)
			}
			wantLD, _ := lu.LogDet()
			if math.Abs(ld-wantLD) > 1e-9*(1+math.Abs(wantLD)) {
				t.Errorf("%s n=%d: log|det J| %.12g, LU %.12g", c.name, n, ld, wantLD)
			}
			lumps, err := lin.Lumps()
			if err != nil {
				t.Fatal(err)
			}
			w := lumps[0]
			for _, l := range lumps {
				if l.Width > w.Width {
					w = l
				}
			}
			t.Logf("%s n=%d: %d lumps, widest %s: %s", c.name, n, len(lumps), w.Kind, w.Structure)
		}
	}
}

// TestSingularSparseLump: x − roll(x) (J = I − P with P the cyclic shift)
// is singular: the constant vector is in its null space. It is one sparse
// lump, and every inverse product is refused with a typed singular error
// naming the lump's ops, never an answer.
func TestSingularSparseLump(t *testing.T) {
	const n = 3000 // past the cut budget: one sparse lump, not 3000 atoms
	f := func(x *tape.Var) *tape.Var {
		return ops.Sub(x, ops.Concat(ops.Slice(x, 1, n), ops.Slice(x, 0, 1)))
	}
	x := tensor.Zeros(n)
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lin.IJVP(x)
	if !errors.Is(err, tape.ErrSingular) {
		t.Fatalf("IJVP: %v, want an error matching tape.ErrSingular", err)
	}
	var sb *lump.SingularBlockError
	if !errors.As(err, &sb) || !slices.Contains(sb.Ops, "sub") || !strings.Contains(err.Error(), "sparse") {
		t.Errorf("IJVP: %v, want a *lump.SingularBlockError from the sparse LU naming sub", err)
	}
	if _, err := lin.LogAbsDet(); !errors.Is(err, tape.ErrSingular) {
		t.Errorf("LogAbsDet: %v, want tape.ErrSingular", err)
	}
	if _, err := lin.VIJP(x); !errors.Is(err, tape.ErrSingular) {
		t.Errorf("VIJP: %v, want tape.ErrSingular", err)
	}
}
