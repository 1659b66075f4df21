// Package gmat converts between gonum's mat.Dense and mat.VecDense and
// invad tensors without copying their elements, for gonum users whose data
// already lives in gonum matrices and vectors.
//
//	x := gmat.FromVecShaped(v, 1000, 8) // a gonum vector, viewed as [1000, 8]
//	lin, err := inverse.Linearize(f, x)
//	dx, err := lin.IJVP(dy)
//	u := gmat.ToVec(dx)                  // back to gonum, sharing dx's memory
//
// # Shared memory
//
// A converted value and its source share one backing array: writes of
// elements through either are seen by the other at once. Only the elements
// are shared; the shape is the converted value's own. Nothing is
// synchronized: the rules for sharing a Go slice between goroutines apply.
//
// # Layout
//
// Invad tensors are dense and row-major, so a gonum matrix can be shared
// only if its rows are contiguous (its stride equals its number of
// columns), and a vector only if its increment is 1. A submatrix view (Slice
// of fewer columns) or a strided vector (ColView of a matrix with more than
// one column) makes FromDense and FromVec return an error wrapping
// ErrLayout; CopyFromMatrix and CopyFromVector read any mat.Matrix or
// mat.Vector into a new tensor and are the only functions here that copy.
//
// gonum has no empty matrices or vectors: converting a tensor with no
// elements to gonum panics.
//
// # Errors
//
// A nil argument, a tensor of the wrong rank for ToDense, or shapes whose
// sizes disagree are caller mistakes and panic with a message that starts
// with "gmat: ". A layout that cannot be shared is an error wrapping
// ErrLayout.
package gmat

import (
	"errors"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/tensor"
)

// ErrLayout is wrapped by the errors of FromDense and FromVec for gonum
// values whose elements are not contiguous.
var ErrLayout = errors.New("gmat: the elements are not contiguous (a strided view): use a Copy function")

// ToDense returns the 2-D tensor t as an r×c *mat.Dense sharing t's
// elements. It panics unless t is 2-D with elements.
func ToDense(t *tensor.Tensor) *mat.Dense {
	if t == nil {
		panic("gmat: ToDense of a nil tensor")
	}
	s := t.Shape()
	if len(s) != 2 {
		panic(fmt.Sprintf("gmat: ToDense of a tensor of shape %v: want 2-D (reshape it first)", s))
	}
	if t.Len() == 0 {
		panic(fmt.Sprintf("gmat: ToDense of a tensor of shape %v: gonum has no empty matrices", s))
	}
	return mat.NewDense(s[0], s[1], t.Data())
}

// ToVec returns t's elements, in row-major order, as a *mat.VecDense
// sharing them, whatever t's shape. It panics if t has no elements.
func ToVec(t *tensor.Tensor) *mat.VecDense {
	if t == nil {
		panic("gmat: ToVec of a nil tensor")
	}
	if t.Len() == 0 {
		panic(fmt.Sprintf("gmat: ToVec of a tensor of shape %v: gonum has no empty vectors", t.Shape()))
	}
	return mat.NewVecDense(t.Len(), t.Data())
}

// FromDense returns m as a tensor of shape [rows, cols] sharing m's
// elements, or an error wrapping ErrLayout if m's rows are not contiguous.
// It panics if m is nil.
func FromDense(m *mat.Dense) (*tensor.Tensor, error) {
	if m == nil {
		panic("gmat: FromDense of a nil matrix")
	}
	raw := m.RawMatrix()
	if raw.Rows > 1 && raw.Stride != raw.Cols {
		return nil, fmt.Errorf("gmat: FromDense of a %d×%d matrix with stride %d: %w", raw.Rows, raw.Cols, raw.Stride, ErrLayout)
	}
	return tensor.New([]int{raw.Rows, raw.Cols}, raw.Data[:raw.Rows*raw.Cols]), nil
}

// FromVec returns v as a 1-D tensor sharing v's elements, or an error
// wrapping ErrLayout if v's increment is not 1. It panics if v is nil.
func FromVec(v *mat.VecDense) (*tensor.Tensor, error) {
	if v == nil {
		panic("gmat: FromVec of a nil vector")
	}
	return FromVecShaped(v, v.Len())
}

// FromVecShaped is FromVec with the tensor shaped as shape, whose size must
// be v's length (a panic otherwise): a gonum vector holding a batch [B, d]
// row by row, say.
func FromVecShaped(v *mat.VecDense, shape ...int) (*tensor.Tensor, error) {
	if v == nil {
		panic("gmat: FromVecShaped of a nil vector")
	}
	raw := v.RawVector()
	if n := tensor.SizeOf(shape); n != raw.N {
		panic(fmt.Sprintf("gmat: FromVecShaped of a vector of %d elements as shape %v (%d elements)", raw.N, shape, n))
	}
	if raw.N > 1 && raw.Inc != 1 {
		return nil, fmt.Errorf("gmat: FromVec of a vector of %d elements with increment %d: %w", raw.N, raw.Inc, ErrLayout)
	}
	return tensor.New(shape, raw.Data[:raw.N]), nil
}

// CopyFromMatrix returns a new [rows, cols] tensor holding m's elements,
// for any mat.Matrix (a view, a transpose, a symmetric or triangular
// matrix). It panics if m is nil.
func CopyFromMatrix(m mat.Matrix) *tensor.Tensor {
	if m == nil {
		panic("gmat: CopyFromMatrix of a nil matrix")
	}
	r, c := m.Dims()
	t := tensor.Zeros(r, c)
	if r*c > 0 {
		mat.NewDense(r, c, t.Data()).Copy(m)
	}
	return t
}

// CopyFromVector returns a new 1-D tensor holding v's elements, for any
// mat.Vector (a column view, a strided vector). It panics if v is nil.
func CopyFromVector(v mat.Vector) *tensor.Tensor {
	if v == nil {
		panic("gmat: CopyFromVector of a nil vector")
	}
	n := v.Len()
	t := tensor.Zeros(n)
	for i := range n {
		t.Data()[i] = v.AtVec(i)
	}
	return t
}
