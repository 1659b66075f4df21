package gtensor

import (
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	gorgonia "gorgonia.org/tensor"

	"github.com/invad/invad/tensor"
)

// shapeCases are the shapes every round trip is run on.
var shapeCases = []struct {
	name, reason string
	shape        []int
}{
	{"rank0", "a scalar has an empty shape and one element", nil},
	{"rank1", "a vector", []int{5}},
	{"rank2", "a matrix", []int{2, 3}},
	{"rank3", "strides of three axes", []int{2, 3, 4}},
	{"colvec", "Gorgonia gives an (n, 1) column its own stride pattern", []int{3, 1}},
	{"rowvec", "a (1, n) row", []int{1, 4}},
	{"empty", "no elements: nothing to share, but the shape survives", []int{0, 3}},
}

// ramp returns n values 1, 2, ..., n (no zeros, so a stray zero shows).
func ramp[T elem](n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(i + 1)
	}
	return s
}

// sameMemory reports whether a and b start at the same address and have the
// same length. Two empty slices share nothing and are reported as the same.
func sameMemory[T elem](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	return len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b)
}

// eachIndex calls f with every multi-index of shape in row-major order.
func eachIndex(shape []int, f func(idx []int)) {
	if tensor.SizeOf(shape) == 0 {
		return
	}
	idx := make([]int, len(shape))
	for {
		f(idx)
		k := len(shape) - 1
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}

// checkAgree fails unless the invad tensor a and the Gorgonia tensor g have
// the same shape, dtype, memory and elements (read through each API).
func checkAgree[T elem](t *testing.T, a *tensor.Dense[T], g *gorgonia.Dense) {
	t.Helper()
	if !tensor.SameShape(a.Shape(), g.Shape()) {
		t.Fatalf("shape: invad %v, Gorgonia %v", a.Shape(), g.Shape())
	}
	if want := dtypeOf[T](); g.Dtype() != want {
		t.Fatalf("Gorgonia dtype %v, want %v", g.Dtype(), want)
	}
	if !sameMemory(a.Data(), backing[T](g)) {
		t.Fatalf("not shared: invad data %p (len %d), Gorgonia %p (len %d)",
			unsafe.SliceData(a.Data()), len(a.Data()), unsafe.SliceData(backing[T](g)), len(backing[T](g)))
	}
	eachIndex(a.Shape(), func(idx []int) {
		got, err := g.At(idx...)
		if err != nil {
			t.Fatalf("Gorgonia At%v: %v", idx, err)
		}
		if got.(T) != a.At(idx...) {
			t.Fatalf("At%v: Gorgonia %v, invad %v", idx, got, a.At(idx...))
		}
	})
}

// checkWritesShared writes through each side in turn and checks that the
// other side sees the write. It leaves different values behind.
func checkWritesShared[T elem](t *testing.T, a *tensor.Dense[T], g *gorgonia.Dense) {
	t.Helper()
	if a.Len() == 0 {
		return
	}
	last := make([]int, a.Rank())
	for i, d := range a.Shape() {
		last[i] = d - 1
	}
	a.Set(-7, last...)
	if got, _ := g.At(last...); got.(T) != -7 {
		t.Errorf("invad Set%v(-7): Gorgonia At reads %v", last, got)
	}
	first := make([]int, a.Rank())
	if err := g.SetAt(T(-9), first...); err != nil {
		t.Fatalf("Gorgonia SetAt%v: %v", first, err)
	}
	if got := a.At(first...); got != -9 {
		t.Errorf("Gorgonia SetAt%v(-9): invad At reads %v", first, got)
	}
}

func testFromDense[T elem](t *testing.T, from func(*gorgonia.Dense) (*tensor.Dense[T], error), to func(*tensor.Dense[T]) *gorgonia.Dense) {
	for _, c := range shapeCases {
		t.Run(c.name, func(t *testing.T) {
			want := ramp[T](tensor.SizeOf(c.shape))
			g := gorgonia.New(gorgonia.WithShape(c.shape...), gorgonia.WithBacking(want))
			a, err := from(g)
			if err != nil {
				t.Fatalf("shape %v (%s): %v", c.shape, c.reason, err)
			}
			if a.Rank() != len(c.shape) {
				t.Errorf("rank %d, want %d", a.Rank(), len(c.shape))
			}
			if diff := cmp.Diff(want, a.Data()); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
			checkAgree(t, a, g)
			checkWritesShared(t, a, g)

			// And back: the Gorgonia tensor made from a shares the same memory.
			g2 := to(a)
			checkAgree(t, a, g2)
			if !sameMemory(backing[T](g), backing[T](g2)) {
				t.Errorf("round trip Gorgonia→invad→Gorgonia does not share memory")
			}
		})
	}
}

func testToDense[T elem](t *testing.T, from func(*gorgonia.Dense) (*tensor.Dense[T], error), to func(*tensor.Dense[T]) *gorgonia.Dense) {
	for _, c := range shapeCases {
		t.Run(c.name, func(t *testing.T) {
			want := ramp[T](tensor.SizeOf(c.shape))
			a := tensor.NewOf(c.shape, append([]T(nil), want...))
			g := to(a)
			if g.Dims() != len(c.shape) {
				t.Errorf("Gorgonia dims %d, want %d", g.Dims(), len(c.shape))
			}
			if diff := cmp.Diff(want, backing[T](g)); diff != "" {
				t.Errorf("Gorgonia data (-want +got):\n%s", diff)
			}
			checkAgree(t, a, g)
			checkWritesShared(t, a, g)

			a2, err := from(g)
			if err != nil {
				t.Fatalf("round trip invad→Gorgonia→invad: %v", err)
			}
			if !sameMemory(a.Data(), a2.Data()) {
				t.Errorf("round trip invad→Gorgonia→invad does not share memory")
			}
			if !tensor.SameShape(a.Shape(), a2.Shape()) {
				t.Errorf("round trip shape %v, want %v", a2.Shape(), a.Shape())
			}
		})
	}
}

func TestFromDense(t *testing.T)   { testFromDense(t, FromDense, ToDense) }
func TestFromDense32(t *testing.T) { testFromDense(t, FromDense32, ToDense32) }
func TestToDense(t *testing.T)     { testToDense(t, FromDense, ToDense) }
func TestToDense32(t *testing.T)   { testToDense(t, FromDense32, ToDense32) }

// TestScalarFromScalar covers Gorgonia's own way of making a scalar, which
// builds the backing array itself.
func TestScalarFromScalar(t *testing.T) {
	g := gorgonia.New(gorgonia.FromScalar(2.5))
	a, err := FromDense(g)
	if err != nil {
		t.Fatal(err)
	}
	if a.Rank() != 0 || a.At() != 2.5 {
		t.Fatalf("got %v, want rank-0 2.5", a)
	}
	checkAgree(t, a, g)
	checkWritesShared(t, a, g)
	if v := g.ScalarValue(); v != -9.0 {
		t.Errorf("Gorgonia ScalarValue %v after invad write, want -9", v)
	}
}

// TestToDenseRowRangeView: an invad row view converts with its own rows
// only, and writes reach the parent.
func TestToDenseRowRangeView(t *testing.T) {
	parent := tensor.New([]int{4, 3}, ramp[float64](12))
	view := parent.RowRange(1, 3)
	g := ToDense(view)
	checkAgree(t, view, g)
	// Gorgonia's Data() exposes the capacity it was given; it must end at
	// the view's last element, not at the parent's.
	if d := g.Data().([]float64); cap(d) != 6 {
		t.Errorf("Gorgonia backing has capacity %d, want 6 (the view's elements)", cap(d))
	}
	if err := g.SetAt(100.0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if got := parent.At(1, 0); got != 100 {
		t.Errorf("write through Gorgonia view: parent At(1, 0) = %v, want 100", got)
	}
}

// TestFromDenseContiguousView: a Gorgonia view whose elements are contiguous
// and row-major is shared, not copied, and writes reach the parent.
func TestFromDenseContiguousView(t *testing.T) {
	tests := []struct {
		name, reason string
		slices       []gorgonia.Slice
		wantShape    []int
		wantData     []float64
		parentIndex  []int // parent index of the view's first element
	}{
		{"rows", "a range of rows is contiguous", []gorgonia.Slice{gorgonia.S(1, 3)}, []int{2, 3}, []float64{4, 5, 6, 7, 8, 9}, []int{1, 0}},
		{"row", "one row drops an axis", []gorgonia.Slice{gorgonia.S(2)}, []int{3}, []float64{7, 8, 9}, []int{2, 0}},
		{"element", "one element is a rank-0 view", []gorgonia.Slice{gorgonia.S(3), gorgonia.S(1)}, nil, []float64{11}, []int{3, 1}},
		{"lastRow", "a range of one row, ending at the last row; Gorgonia drops the length-1 axis", []gorgonia.Slice{gorgonia.S(3, 4)}, []int{3}, []float64{10, 11, 12}, []int{3, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := gorgonia.New(gorgonia.WithShape(4, 3), gorgonia.WithBacking(ramp[float64](12)))
			v, err := parent.Slice(tt.slices...)
			if err != nil {
				t.Fatal(err)
			}
			view := v.(*gorgonia.Dense)
			a, err := FromDense(view)
			if err != nil {
				t.Fatalf("%s: %v", tt.reason, err)
			}
			if !tensor.SameShape(a.Shape(), tt.wantShape) {
				t.Errorf("shape %v, want %v", a.Shape(), tt.wantShape)
			}
			if diff := cmp.Diff(tt.wantData, a.Data()); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
			if got := len(a.Data()); cap(a.Data()) != got {
				t.Errorf("Data() has capacity %d beyond its %d elements: appending would overwrite the parent", cap(a.Data()), got)
			}
			a.Data()[0] = -1
			if got, _ := parent.At(tt.parentIndex...); got != -1.0 {
				t.Errorf("write through invad view: parent At%v = %v, want -1", tt.parentIndex, got)
			}
		})
	}
}

// layoutCases are Gorgonia tensors whose elements are not contiguous and
// row-major, in float64 and float32.
func layoutCases[T elem]() []struct {
	name, reason string
	make         func() *gorgonia.Dense
} {
	matrix := func() *gorgonia.Dense {
		return gorgonia.New(gorgonia.WithShape(4, 3), gorgonia.WithBacking(ramp[T](12)))
	}
	slice := func(s ...gorgonia.Slice) func() *gorgonia.Dense {
		return func() *gorgonia.Dense {
			v, err := matrix().Slice(s...)
			if err != nil {
				panic(err)
			}
			return v.(*gorgonia.Dense)
		}
	}
	return []struct {
		name, reason string
		make         func() *gorgonia.Dense
	}{
		{"transposed", "T() only permutes the strides", func() *gorgonia.Dense {
			d := matrix()
			if err := d.T(); err != nil {
				panic(err)
			}
			return d
		}},
		{"transposed3", "T(2, 0, 1) of a rank-3 tensor", func() *gorgonia.Dense {
			d := gorgonia.New(gorgonia.WithShape(2, 3, 4), gorgonia.WithBacking(ramp[T](24)))
			if err := d.T(2, 0, 1); err != nil {
				panic(err)
			}
			return d
		}},
		{"fortran", "column-major storage, which Materialize leaves as it is", func() *gorgonia.Dense {
			return gorgonia.New(gorgonia.WithShape(4, 3), gorgonia.AsFortran(ramp[T](12)))
		}},
		{"columns", "a column range skips elements of each row", slice(nil, gorgonia.S(1, 3))},
		{"column", "one column has stride 3", slice(nil, gorgonia.S(1))},
		{"stepped", "every other row", slice(gorgonia.S(0, 4, 2))},
		{"stepped3", "every other plane of a rank-3 tensor, then a column range", func() *gorgonia.Dense {
			d := gorgonia.New(gorgonia.WithShape(3, 3, 4), gorgonia.WithBacking(ramp[T](36)))
			v, err := d.Slice(gorgonia.S(0, 3, 2), nil, gorgonia.S(1, 3))
			if err != nil {
				panic(err)
			}
			return v.(*gorgonia.Dense)
		}},
	}
}

// TestFromDenseLayoutError: layouts that are not contiguous row-major are
// refused with ErrLayout, never copied silently.
func TestFromDenseLayoutError(t *testing.T) {
	for _, tt := range layoutCases[float64]() {
		t.Run(tt.name, func(t *testing.T) {
			a, err := FromDense(tt.make())
			if !errors.Is(err, ErrLayout) {
				t.Fatalf("%s: FromDense = (%v, %v), want an error wrapping ErrLayout", tt.reason, a, err)
			}
			if a != nil {
				t.Errorf("FromDense returned a tensor with its error")
			}
			if msg := err.Error(); !strings.Contains(msg, "FromDense") || !strings.Contains(msg, "strides") {
				t.Errorf("error %q does not name the function and the strides", msg)
			}
		})
	}
	for _, tt := range layoutCases[float32]() {
		t.Run(tt.name+"32", func(t *testing.T) {
			if _, err := FromDense32(tt.make()); !errors.Is(err, ErrLayout) {
				t.Fatalf("%s: FromDense32 error %v, want one wrapping ErrLayout", tt.reason, err)
			}
		})
	}
}

// checkCopy fails unless a holds d's elements (read with Gorgonia's At) in
// row-major order and shares no memory with d.
func checkCopy[T elem](t *testing.T, a *tensor.Dense[T], d *gorgonia.Dense) {
	t.Helper()
	if !tensor.SameShape(a.Shape(), d.Shape()) {
		t.Fatalf("shape %v, want %v", a.Shape(), d.Shape())
	}
	eachIndex(a.Shape(), func(idx []int) {
		want, err := d.At(idx...)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.At(idx...); got != want.(T) {
			t.Fatalf("At%v = %v, want %v (the source's element)", idx, got, want)
		}
	})
	if a.Len() == 0 {
		return
	}
	// A copy: writing it leaves the source alone.
	first := make([]int, a.Rank())
	before, _ := d.At(first...)
	a.Set(-5, first...)
	if after, _ := d.At(first...); after != before {
		t.Errorf("writing the copy changed the source: At%v %v -> %v", first, before, after)
	}
}

func testCopyFromDense[T elem](t *testing.T, copyFrom func(*gorgonia.Dense) (*tensor.Dense[T], error)) {
	for _, tt := range layoutCases[T]() {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.make()
			a, err := copyFrom(d)
			if err != nil {
				t.Fatalf("%s: %v", tt.reason, err)
			}
			checkCopy(t, a, d)
		})
	}
	for _, c := range shapeCases {
		t.Run("contiguous/"+c.name, func(t *testing.T) {
			d := gorgonia.New(gorgonia.WithShape(c.shape...), gorgonia.WithBacking(ramp[T](tensor.SizeOf(c.shape))))
			a, err := copyFrom(d)
			if err != nil {
				t.Fatalf("%s: %v", c.reason, err)
			}
			checkCopy(t, a, d)
		})
	}
}

func TestCopyFromDense(t *testing.T)   { testCopyFromDense(t, CopyFromDense) }
func TestCopyFromDense32(t *testing.T) { testCopyFromDense(t, CopyFromDense32) }

// TestCopyFromDenseErrors: the copy still refuses what it cannot represent.
func TestCopyFromDenseErrors(t *testing.T) {
	tests := []struct {
		name, reason string
		err          func() error
		want         error
	}{
		{"dtype", "int64 is not float64", func() error {
			_, err := CopyFromDense(gorgonia.New(gorgonia.WithBacking([]int64{1})))
			return err
		}, ErrDtype},
		{"dtype32", "float64 is not float32", func() error {
			_, err := CopyFromDense32(gorgonia.New(gorgonia.WithBacking([]float64{1})))
			return err
		}, ErrDtype},
		{"masked", "a mask would be lost", func() error {
			_, err := CopyFromDense(gorgonia.New(gorgonia.WithBacking([]float64{1, 2}, []bool{true, false})))
			return err
		}, ErrMasked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.err(); !errors.Is(err, tt.want) {
				t.Fatalf("%s: error %v, want one wrapping %v", tt.reason, err, tt.want)
			}
		})
	}
}

func TestFromDenseDtypeError(t *testing.T) {
	tests := []struct {
		name, reason string
		from         func(*gorgonia.Dense) error
		d            *gorgonia.Dense
		dtype        string // the dtype the error must name
	}{
		{"int64", "integers are not floats", from64, gorgonia.New(gorgonia.WithBacking([]int64{1, 2})), "int64"},
		{"float32as64", "no silent widening", from64, gorgonia.New(gorgonia.WithBacking([]float32{1, 2})), "float32"},
		{"float64as32", "no silent narrowing", from32, gorgonia.New(gorgonia.WithBacking([]float64{1, 2})), "float64"},
		{"bool", "booleans are not floats", from32, gorgonia.New(gorgonia.WithBacking([]bool{true})), "bool"},
		{"complex128Scalar", "a scalar of the wrong dtype", from64, gorgonia.New(gorgonia.FromScalar(complex(1, 2))), "complex128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.from(tt.d)
			if !errors.Is(err, ErrDtype) {
				t.Fatalf("%s: error %v, want one wrapping ErrDtype", tt.reason, err)
			}
			if !strings.Contains(err.Error(), "dtype "+tt.dtype) {
				t.Errorf("error %q does not name dtype %s", err, tt.dtype)
			}
		})
	}
}

func from64(d *gorgonia.Dense) error { _, err := FromDense(d); return err }
func from32(d *gorgonia.Dense) error { _, err := FromDense32(d); return err }

func TestFromDenseMasked(t *testing.T) {
	d := gorgonia.New(gorgonia.WithShape(3), gorgonia.WithBacking([]float64{1, 2, 3}, []bool{false, true, false}))
	if _, err := FromDense(d); !errors.Is(err, ErrMasked) {
		t.Fatalf("masked tensor: error %v, want one wrapping ErrMasked", err)
	}
	// Clearing the mask, as the error suggests, makes it convertible.
	d.SetMask(nil)
	if _, err := FromDense(d); err != nil {
		t.Fatalf("after SetMask(nil): %v", err)
	}
}

// gpuEngine stands for an engine whose memory Go cannot read.
type gpuEngine struct{ gorgonia.StdEng }

func (gpuEngine) AllocAccessible() bool { return false }

func TestFromDenseInaccessible(t *testing.T) {
	d := gorgonia.New(gorgonia.WithShape(2), gorgonia.WithEngine(gpuEngine{}), gorgonia.WithBacking([]float32{1, 2}))
	if _, err := FromDense32(d); !errors.Is(err, ErrInaccessible) {
		t.Fatalf("error %v, want one wrapping ErrInaccessible", err)
	}
}

func TestNilPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"FromDense", func() { _, _ = FromDense(nil) }},
		{"FromDense32", func() { _, _ = FromDense32(nil) }},
		{"CopyFromDense", func() { _, _ = CopyFromDense(nil) }},
		{"CopyFromDense32", func() { _, _ = CopyFromDense32(nil) }},
		{"ToDense", func() { ToDense(nil) }},
		{"ToDense32", func() { ToDense32(nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "gtensor: ") || !strings.Contains(msg, tt.name) {
					t.Errorf("panic %q, want a \"gtensor: \" message naming %s", msg, tt.name)
				}
			}()
			tt.f()
		})
	}
}
