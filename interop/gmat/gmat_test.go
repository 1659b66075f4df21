package gmat_test

import (
	"errors"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/interop/gmat"
	"github.com/invad/invad/tensor"
)

// TestSharing: every zero-copy conversion shares the elements both ways.
func TestSharing(t *testing.T) {
	x := tensor.New([]int{2, 3}, []float64{1, 2, 3, 4, 5, 6})
	d := gmat.ToDense(x)
	if r, c := d.Dims(); r != 2 || c != 3 || d.At(1, 2) != 6 {
		t.Fatalf("ToDense: %d×%d, At(1, 2) = %g", r, c, d.At(1, 2))
	}
	d.Set(0, 1, -2)
	if x.Data()[1] != -2 {
		t.Error("a write through the mat.Dense is not seen by the tensor")
	}
	v := gmat.ToVec(x)
	x.Data()[5] = 60
	if v.Len() != 6 || v.AtVec(5) != 60 {
		t.Errorf("ToVec: len %d, AtVec(5) = %g, want 6 and the tensor's write 60", v.Len(), v.AtVec(5))
	}

	m := mat.NewDense(2, 2, []float64{1, 2, 3, 4})
	y, err := gmat.FromDense(m)
	if err != nil {
		t.Fatal(err)
	}
	if s := y.Shape(); len(s) != 2 || s[0] != 2 || s[1] != 2 {
		t.Fatalf("FromDense: shape %v", s)
	}
	m.Set(1, 0, 30)
	if y.Data()[2] != 30 {
		t.Error("a write through the mat.Dense is not seen by FromDense's tensor")
	}
	w := mat.NewVecDense(6, []float64{1, 2, 3, 4, 5, 6})
	z, err := gmat.FromVecShaped(w, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	z.Data()[0] = 10
	if w.AtVec(0) != 10 || z.Shape()[0] != 3 {
		t.Error("FromVecShaped: not shared, or not shaped [3, 2]")
	}
	// A contiguous view of rows is shared too.
	rows := mat.NewDense(3, 2, []float64{1, 2, 3, 4, 5, 6}).Slice(1, 3, 0, 2).(*mat.Dense)
	if r, err := gmat.FromDense(rows); err != nil || r.Data()[0] != 3 {
		t.Errorf("FromDense of a view of whole rows: %v, %v", r, err)
	}
}

// TestLayout: strided views are refused with ErrLayout, and copied by the
// Copy functions, which share nothing.
func TestLayout(t *testing.T) {
	m := mat.NewDense(3, 3, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9})
	sub := m.Slice(0, 2, 1, 3).(*mat.Dense) // [[2 3] [5 6]], stride 3
	if _, err := gmat.FromDense(sub); !errors.Is(err, gmat.ErrLayout) {
		t.Errorf("FromDense of a column slice: %v, want ErrLayout", err)
	}
	col := m.ColView(1).(*mat.VecDense) // 2, 5, 8 with increment 3
	if _, err := gmat.FromVec(col); !errors.Is(err, gmat.ErrLayout) {
		t.Errorf("FromVec of a column: %v, want ErrLayout", err)
	}
	c := gmat.CopyFromMatrix(sub)
	if got := c.Data(); len(got) != 4 || got[0] != 2 || got[1] != 3 || got[2] != 5 || got[3] != 6 {
		t.Errorf("CopyFromMatrix: %v, want [2 3 5 6]", got)
	}
	ct := gmat.CopyFromMatrix(sub.T())
	if got := ct.Data(); got[1] != 5 || got[2] != 3 {
		t.Errorf("CopyFromMatrix of a transpose: %v, want [2 5 3 6]", got)
	}
	cv := gmat.CopyFromVector(col)
	cv.Data()[0] = -1
	if got := cv.Data(); got[1] != 5 || m.At(0, 1) != 2 {
		t.Errorf("CopyFromVector: %v, source %g: want a copy of [2 5 8]", got, m.At(0, 1))
	}
}

// TestPanics: caller mistakes panic with "gmat: ".
func TestPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"ToDense nil":        func() { gmat.ToDense(nil) },
		"ToDense 1-D":        func() { gmat.ToDense(tensor.Zeros(3)) },
		"ToDense empty":      func() { gmat.ToDense(tensor.Zeros(0, 3)) },
		"ToVec empty":        func() { gmat.ToVec(tensor.Zeros(0)) },
		"FromDense nil":      func() { gmat.FromDense(nil) },
		"FromVec nil":        func() { gmat.FromVec(nil) },
		"FromVecShaped size": func() { gmat.FromVecShaped(mat.NewVecDense(4, nil), 3) },
		"CopyFromMatrix nil": func() { gmat.CopyFromMatrix(nil) },
	} {
		func() {
			defer func() {
				r := recover()
				if msg, ok := r.(string); !ok || !strings.HasPrefix(msg, "gmat: ") {
					t.Errorf("%s: panic %v, want a message starting with gmat: ", name, r)
				}
			}()
			f()
		}()
	}
}
