package tensor

import (
	"fmt"
	"math"
	"unsafe"
)

// Float is the set of element types a Dense tensor can hold.
type Float interface {
	~float32 | ~float64
}

// Dense is a dense row-major tensor with elements of type T.
// The zero value is not usable; build one with New, NewOf, Zeros or ZerosOf.
type Dense[T Float] struct {
	shape []int
	data  []T
}

// Tensor is the float64 tensor used everywhere in invad.
type Tensor = Dense[float64]

// Tensor32 is a float32 tensor.
type Tensor32 = Dense[float32]

// New wraps data (not copied) in a float64 tensor of the given shape.
// A nil or empty shape makes a scalar (rank 0, one element).
// It panics if a dimension is negative or len(data) differs from the
// product of the dimensions.
func New(shape []int, data []float64) *Tensor { return NewOf(shape, data) }

// NewOf wraps data (not copied) in a tensor of the given shape.
// It panics like New.
func NewOf[T Float](shape []int, data []T) *Dense[T] {
	n := SizeOf(shape)
	if len(data) != n {
		panic(fmt.Sprintf("tensor: data has %d elements, shape %v needs %d", len(data), shape, n))
	}
	return &Dense[T]{shape: append([]int(nil), shape...), data: data}
}

// Zeros returns a new float64 tensor of the given shape filled with zeros.
func Zeros(shape ...int) *Tensor { return ZerosOf[float64](shape...) }

// ZerosOf returns a new tensor of the given shape filled with zeros.
func ZerosOf[T Float](shape ...int) *Dense[T] {
	return &Dense[T]{shape: append([]int(nil), shape...), data: make([]T, SizeOf(shape))}
}

// Scalar returns a rank-0 float64 tensor holding v.
func Scalar(v float64) *Tensor { return &Tensor{data: []float64{v}} }

// Strides returns the row-major strides of a tensor of the given shape: the
// flat index of element (i₀, i₁, ...) is Σ iₖ·Strides(shape)[k].
func Strides(shape []int) []int {
	st := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= shape[i]
	}
	return st
}

// SizeOf returns the number of elements of a tensor of the given shape.
// It panics if a dimension is negative.
func SizeOf(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// Shape returns the tensor's dimensions. The caller must not modify it.
func (t *Dense[T]) Shape() []int { return t.shape }

// Rank returns the number of dimensions (0 for a scalar).
func (t *Dense[T]) Rank() int { return len(t.shape) }

// Len returns the number of elements.
func (t *Dense[T]) Len() int { return len(t.data) }

// Data returns the backing slice, row-major. It is not a copy.
func (t *Dense[T]) Data() []T { return t.data }

// At returns the element at the given index; it panics if the index has
// the wrong rank or is out of range.
func (t *Dense[T]) At(idx ...int) T { return t.data[t.offset(idx)] }

// Set sets the element at the given index; it panics like At.
func (t *Dense[T]) Set(v T, idx ...int) { t.data[t.offset(idx)] = v }

func (t *Dense[T]) offset(idx []int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor: index %v has rank %d, tensor has rank %d", idx, len(idx), len(t.shape)))
	}
	off := 0
	for i, v := range idx {
		if v < 0 || v >= t.shape[i] {
			panic(fmt.Sprintf("tensor: index %v out of range for shape %v", idx, t.shape))
		}
		off = off*t.shape[i] + v
	}
	return off
}

// Clone returns a deep copy.
func (t *Dense[T]) Clone() *Dense[T] {
	return &Dense[T]{shape: append([]int(nil), t.shape...), data: append([]T(nil), t.data...)}
}

// Reshape returns a view with a new shape and the same data.
// It panics if the sizes differ.
func (t *Dense[T]) Reshape(shape ...int) *Dense[T] {
	if SizeOf(shape) != len(t.data) {
		panic(fmt.Sprintf("tensor: cannot reshape %v (%d elements) to %v", t.shape, len(t.data), shape))
	}
	return &Dense[T]{shape: append([]int(nil), shape...), data: t.data}
}

// RowRange returns a view of rows [lo, hi) along axis 0. It panics for a
// scalar or an out-of-range interval.
func (t *Dense[T]) RowRange(lo, hi int) *Dense[T] {
	if len(t.shape) == 0 {
		panic("tensor: RowRange of a scalar")
	}
	if lo < 0 || hi < lo || hi > t.shape[0] {
		panic(fmt.Sprintf("tensor: rows [%d, %d) out of range for shape %v", lo, hi, t.shape))
	}
	inner := SizeOf(t.shape[1:])
	shape := append([]int{hi - lo}, t.shape[1:]...)
	return &Dense[T]{shape: shape, data: t.data[lo*inner : hi*inner : hi*inner]}
}

// CopyFrom copies src's elements into t. It panics if the shapes differ.
func (t *Dense[T]) CopyFrom(src *Dense[T]) {
	if !SameShape(t.shape, src.shape) {
		panic(fmt.Sprintf("tensor: copy from shape %v into shape %v", src.shape, t.shape))
	}
	copy(t.data, src.data)
}

// Fill sets every element to v.
func (t *Dense[T]) Fill(v T) {
	for i := range t.data {
		t.data[i] = v
	}
}

// HasNonFinite reports whether any element is NaN or ±Inf, and the flat
// index of the first one (-1 if none).
func (t *Dense[T]) HasNonFinite() (bool, int) {
	for i, v := range t.data {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return true, i
		}
	}
	return false, -1
}

// String formats small tensors fully and large ones by shape.
func (t *Dense[T]) String() string {
	if len(t.data) <= 16 {
		return fmt.Sprintf("Tensor%v%v", t.shape, t.data)
	}
	return fmt.Sprintf("Tensor%v[%v %v ... %v]", t.shape, t.data[0], t.data[1], t.data[len(t.data)-1])
}

// SameShape reports whether two shapes are equal.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// To32 returns a float32 copy of a float64 tensor.
func To32(t *Tensor) *Tensor32 {
	d := make([]float32, len(t.data))
	for i, v := range t.data {
		d[i] = float32(v)
	}
	return &Tensor32{shape: append([]int(nil), t.shape...), data: d}
}

// To64 returns a float64 copy of a float32 tensor.
func To64(t *Tensor32) *Tensor {
	d := make([]float64, len(t.data))
	for i, v := range t.data {
		d[i] = float64(v)
	}
	return &Tensor{shape: append([]int(nil), t.shape...), data: d}
}

// Overlap reports whether two slices share an element: the check that keeps
// a product's result from being written over its own arguments.
func Overlap[T, U Float](a []T, b []U) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	pa, pb := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&b[0]))
	return pa < pb+uintptr(len(b))*unsafe.Sizeof(b[0]) && pb < pa+uintptr(len(a))*unsafe.Sizeof(a[0])
}
