package gtensor

import (
	"errors"
	"fmt"

	gorgonia "gorgonia.org/tensor"

	"github.com/invad/invad/tensor"
)

// Sentinel errors wrapped by the errors FromDense, FromDense32,
// CopyFromDense and CopyFromDense32 return; match them with errors.Is.
var (
	// ErrDtype: the Gorgonia tensor's dtype is not the one asked for.
	ErrDtype = errors.New("gtensor: unsupported dtype")
	// ErrLayout: the Gorgonia tensor's elements are not contiguous and
	// row-major (transposed, column-major or a strided view).
	ErrLayout = errors.New("gtensor: not contiguous row-major")
	// ErrMasked: the Gorgonia tensor has a mask, which invad tensors cannot
	// represent.
	ErrMasked = errors.New("gtensor: masked tensor")
	// ErrInaccessible: the Gorgonia tensor's memory cannot be read by Go
	// code (for example, it lives on a GPU).
	ErrInaccessible = errors.New("gtensor: memory not accessible from Go")
)

// FromDense returns a float64 invad tensor that shares d's elements (no
// copy) and has a copy of d's shape. A rank-0 d gives a rank-0 tensor.
//
// It panics if d is nil. It returns an error wrapping ErrInaccessible if d's
// memory is not accessible from Go, ErrDtype if d's dtype is not Float64,
// ErrMasked if d has a mask, and ErrLayout if d is not contiguous and
// row-major (transposed, column-major, a strided view); CopyFromDense
// converts such a tensor by copying it.
func FromDense(d *gorgonia.Dense) (*tensor.Tensor, error) {
	return fromDense[float64]("FromDense", d)
}

// FromDense32 is FromDense for dtype Float32: it returns a float32 invad
// tensor that shares d's elements. It panics and returns errors like
// FromDense, with ErrDtype if d's dtype is not Float32.
func FromDense32(d *gorgonia.Dense) (*tensor.Tensor32, error) {
	return fromDense[float32]("FromDense32", d)
}

// CopyFromDense returns a float64 invad tensor holding a row-major copy of
// d's elements, whatever d's layout: transposed, column-major or a strided
// view. The result shares no memory with d. Use it where FromDense reports
// ErrLayout.
//
// It panics if d is nil. It returns an error wrapping ErrInaccessible,
// ErrDtype or ErrMasked like FromDense, and ErrLayout only if d's strides are
// negative or reach outside its backing array (which Gorgonia does not make).
func CopyFromDense(d *gorgonia.Dense) (*tensor.Tensor, error) {
	return copyFromDense[float64]("CopyFromDense", d)
}

// CopyFromDense32 is CopyFromDense for dtype Float32. It panics and returns
// errors like CopyFromDense, with ErrDtype if d's dtype is not Float32.
func CopyFromDense32(d *gorgonia.Dense) (*tensor.Tensor32, error) {
	return copyFromDense[float32]("CopyFromDense32", d)
}

// ToDense returns a Gorgonia tensor of dtype Float64 that shares t's
// elements (no copy) and has a copy of t's shape. A rank-0 t gives a rank-0
// (scalar) Gorgonia tensor. It panics if t is nil; it returns no error.
func ToDense(t *tensor.Tensor) *gorgonia.Dense {
	return toDense("ToDense", t)
}

// ToDense32 is ToDense for float32: it returns a Gorgonia tensor of dtype
// Float32 that shares t's elements. It panics if t is nil.
func ToDense32(t *tensor.Tensor32) *gorgonia.Dense {
	return toDense("ToDense32", t)
}

// elem is the set of element types both libraries share. It is narrower
// than tensor.Float: Gorgonia dtypes are exact Go types.
type elem interface{ float32 | float64 }

func dtypeOf[T elem]() gorgonia.Dtype {
	var z T
	if _, ok := any(z).(float32); ok {
		return gorgonia.Float32
	}
	return gorgonia.Float64
}

// backing returns d's elements as a []T aliasing d's memory. The caller has
// checked that d's dtype is T.
func backing[T elem](d *gorgonia.Dense) []T {
	var s []T
	switch p := any(&s).(type) {
	case *[]float64:
		*p = d.Float64s()
	case *[]float32:
		*p = d.Float32s()
	}
	return s
}

// check makes the checks FromDense and CopyFromDense share and returns
// d's shape and backing elements.
func check[T elem](op string, d *gorgonia.Dense) (shape []int, data []T, err error) {
	if d == nil {
		panic("gtensor: " + op + " of a nil *tensor.Dense")
	}
	shape = d.Shape()
	if !d.IsNativelyAccessible() {
		return nil, nil, fmt.Errorf("gtensor: %s: tensor of shape %v: %w", op, shape, ErrInaccessible)
	}
	if want := dtypeOf[T](); d.Dtype() != want {
		return nil, nil, fmt.Errorf("gtensor: %s: dtype %v, want %v: %w", op, d.Dtype(), want, ErrDtype)
	}
	if len(d.Mask()) > 0 {
		return nil, nil, fmt.Errorf("gtensor: %s: tensor of shape %v has a mask (clear it with SetMask(nil)): %w", op, shape, ErrMasked)
	}
	return shape, backing[T](d), nil
}

func layoutError(op string, d *gorgonia.Dense, hint string) error {
	return fmt.Errorf("gtensor: %s: shape %v, strides %v, order %v%s: %w",
		op, []int(d.Shape()), d.Strides(), d.DataOrder(), hint, ErrLayout)
}

func fromDense[T elem](op string, d *gorgonia.Dense) (*tensor.Dense[T], error) {
	shape, data, err := check[T](op, d)
	if err != nil {
		return nil, err
	}
	n := tensor.SizeOf(shape)
	if n == 0 {
		return tensor.NewOf(shape, data[:0:0]), nil
	}
	if !rowMajor(shape, d.Strides()) || len(data) < n {
		return nil, layoutError(op, d, " (CopyFromDense copies it)")
	}
	// A contiguous view's backing starts at its first element; clip it so
	// that appending to Data() cannot reach the parent's later elements.
	return tensor.NewOf(shape, data[:n:n]), nil
}

func copyFromDense[T elem](op string, d *gorgonia.Dense) (*tensor.Dense[T], error) {
	shape, data, err := check[T](op, d)
	if err != nil {
		return nil, err
	}
	strides := d.Strides()
	n := tensor.SizeOf(shape)
	if n == 0 {
		return tensor.ZerosOf[T](shape...), nil
	}
	// Element idx of d is data[Σ idx[k]*strides[k]], which is how Gorgonia's
	// own iterators read views, transposes and column-major tensors. Check
	// that the largest such offset lies inside data before reading.
	last := 0
	for k, s := range strides {
		if s < 0 {
			return nil, layoutError(op, d, "")
		}
		if k < len(shape) {
			last += (shape[k] - 1) * s
		}
	}
	if len(strides) != len(shape) || last >= len(data) {
		return nil, layoutError(op, d, "")
	}
	out := tensor.ZerosOf[T](shape...)
	dst := out.Data()
	idx := make([]int, len(shape))
	off := 0
	for i := range dst {
		dst[i] = data[off]
		// Advance idx in row-major order, keeping off in step.
		for k := len(shape) - 1; k >= 0; k-- {
			idx[k]++
			off += strides[k]
			if idx[k] < shape[k] {
				break
			}
			off -= idx[k] * strides[k]
			idx[k] = 0
		}
	}
	return out, nil
}

// rowMajor reports whether strides are the row-major strides of shape,
// ignoring axes of length 1, whose stride is never used.
func rowMajor(shape, strides []int) bool {
	if len(strides) != len(shape) {
		return false
	}
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && strides[i] != acc {
			return false
		}
		acc *= shape[i]
	}
	return true
}

func toDense[T elem](op string, t *tensor.Dense[T]) *gorgonia.Dense {
	if t == nil {
		panic("gtensor: " + op + " of a nil tensor")
	}
	data := t.Data()
	n := len(data)
	// Clip the capacity: Gorgonia records it, and a RowRange view's backing
	// slice may extend into its parent's later rows.
	return gorgonia.New(
		gorgonia.Of(dtypeOf[T]()),
		gorgonia.WithShape(t.Shape()...),
		gorgonia.WithBacking(data[:n:n]),
	)
}
