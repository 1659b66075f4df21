package tensor_test

import (
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/invad/invad/tensor"
)

// panicMessage runs f and returns the string it panicked with, failing the
// test if it did not panic or panicked with something other than a string.
func panicMessage(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatalf("did not panic")
		}
		s, ok := r.(string)
		if !ok {
			t.Fatalf("panicked with %T %v, want a string", r, r)
		}
		msg = s
	}()
	f()
	return ""
}

// wantTensorPanic checks that f panics with a "tensor: " message that
// contains every string in subs.
func wantTensorPanic(t *testing.T, f func(), subs ...string) {
	t.Helper()
	msg := panicMessage(t, f)
	if !strings.HasPrefix(msg, "tensor: ") {
		t.Errorf("panic %q does not start with \"tensor: \"", msg)
	}
	for _, s := range subs {
		if !strings.Contains(msg, s) {
			t.Errorf("panic %q does not mention %q", msg, s)
		}
	}
}

func sameMemory[T tensor.Float](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b))
}

func seq(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(i + 1)
	}
	return s
}

func TestNew(t *testing.T) {
	tests := []struct {
		name, reason string
		shape        []int
		data         []float64
		wantRank     int
	}{
		{"scalarNil", "a nil shape is a scalar with one element", nil, []float64{4}, 0},
		{"scalarEmpty", "an empty shape is a scalar too", []int{}, []float64{4}, 0},
		{"vector", "rank 1", []int{3}, []float64{1, 2, 3}, 1},
		{"rank3", "rank 3", []int{2, 1, 2}, []float64{1, 2, 3, 4}, 3},
		{"empty", "a zero dimension needs no data", []int{2, 0}, []float64{}, 2},
		{"emptyNil", "nor a non-nil slice", []int{0}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shape := append([]int(nil), tt.shape...)
			x := tensor.New(shape, tt.data)
			if x.Rank() != tt.wantRank || x.Len() != len(tt.data) {
				t.Fatalf("%s: rank %d len %d, want %d %d", tt.reason, x.Rank(), x.Len(), tt.wantRank, len(tt.data))
			}
			if !sameMemory(x.Data(), tt.data) {
				t.Errorf("Data() is not the slice New was given")
			}
			if len(shape) > 0 {
				shape[0] = 99 // New must have copied the shape
				if x.Shape()[0] == 99 {
					t.Errorf("New kept the caller's shape slice")
				}
			}
		})
	}
}

func TestNewPanics(t *testing.T) {
	tests := []struct {
		name, reason string
		shape        []int
		data         []float64
		want         string // a fragment of the panic message
	}{
		{"tooFew", "2x3 needs 6", []int{2, 3}, seq(5), "needs 6"},
		{"tooMany", "2x3 needs 6", []int{2, 3}, seq(7), "needs 6"},
		{"scalarEmpty", "a scalar needs one element", nil, nil, "needs 1"},
		{"scalarTwo", "a scalar needs one element", []int{}, seq(2), "needs 1"},
		{"emptyWithData", "a zero dimension takes no data", []int{0, 3}, seq(1), "needs 0"},
		{"negative", "dimensions are not negative", []int{-2}, nil, "negative"},
		{"negativePair", "two negatives multiply to a positive size", []int{-1, -2}, seq(2), "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantTensorPanic(t, func() { tensor.New(tt.shape, tt.data) }, tt.want)
		})
		t.Run(tt.name+"32", func(t *testing.T) {
			d32 := make([]float32, len(tt.data))
			wantTensorPanic(t, func() { tensor.NewOf(tt.shape, d32) }, tt.want)
		})
	}
}

func TestZeros(t *testing.T) {
	tests := []struct {
		name, reason string
		shape        []int
		wantLen      int
	}{
		{"scalar", "no dimensions: one element", nil, 1},
		{"vector", "", []int{4}, 4},
		{"matrix", "", []int{2, 3}, 6},
		{"empty", "a zero dimension", []int{3, 0, 2}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tensor.Zeros(tt.shape...)
			if !tensor.SameShape(x.Shape(), tt.shape) || x.Len() != tt.wantLen {
				t.Fatalf("%s: shape %v len %d, want %v %d", tt.reason, x.Shape(), x.Len(), tt.shape, tt.wantLen)
			}
			for i, v := range x.Data() {
				if v != 0 {
					t.Fatalf("element %d is %v, want 0", i, v)
				}
			}
			x32 := tensor.ZerosOf[float32](tt.shape...)
			if !tensor.SameShape(x32.Shape(), tt.shape) || x32.Len() != tt.wantLen {
				t.Errorf("ZerosOf[float32]: shape %v len %d", x32.Shape(), x32.Len())
			}
		})
	}
	t.Run("shapeCopied", func(t *testing.T) {
		shape := []int{2, 3}
		x := tensor.Zeros(shape...)
		shape[0] = 7
		if x.Shape()[0] != 2 {
			t.Errorf("Zeros kept the caller's shape slice: shape %v", x.Shape())
		}
	})
	t.Run("negative", func(t *testing.T) {
		wantTensorPanic(t, func() { tensor.Zeros(2, -1) }, "negative")
	})
}

func TestScalar(t *testing.T) {
	x := tensor.Scalar(2.5)
	if x.Rank() != 0 || x.Len() != 1 || len(x.Shape()) != 0 {
		t.Fatalf("rank %d len %d shape %v, want a rank-0 tensor with one element", x.Rank(), x.Len(), x.Shape())
	}
	if got := x.At(); got != 2.5 {
		t.Errorf("At() = %v, want 2.5", got)
	}
	x.Set(-1)
	if got := x.Data()[0]; got != -1 {
		t.Errorf("after Set(-1): Data()[0] = %v", got)
	}
}

func TestAtSet(t *testing.T) {
	// 2x3x2 holding 1..12: element (i, j, k) is at flat index 6i+2j+k.
	x := tensor.New([]int{2, 3, 2}, seq(12))
	for i := range 2 {
		for j := range 3 {
			for k := range 2 {
				if got, want := x.At(i, j, k), float64(6*i+2*j+k+1); got != want {
					t.Fatalf("At(%d, %d, %d) = %v, want %v (row-major)", i, j, k, got, want)
				}
			}
		}
	}
	x.Set(-3, 1, 2, 0)
	if got := x.Data()[10]; got != -3 {
		t.Errorf("Set(-3, 1, 2, 0): Data()[10] = %v, want -3", got)
	}

	panics := []struct {
		name, reason string
		idx          []int
		want         string
	}{
		{"rankLow", "two indices for a rank-3 tensor", []int{0, 0}, "rank"},
		{"rankHigh", "four indices", []int{0, 0, 0, 0}, "rank"},
		{"none", "no indices address only a scalar", nil, "rank"},
		{"negative", "", []int{0, -1, 0}, "out of range"},
		{"atDim", "index equal to the dimension", []int{0, 3, 0}, "out of range"},
		{"lastAxis", "the flat offset would still be in range", []int{0, 0, 2}, "out of range"},
		{"firstAxis", "", []int{2, 0, 0}, "out of range"},
	}
	for _, tt := range panics {
		t.Run("At/"+tt.name, func(t *testing.T) {
			wantTensorPanic(t, func() { x.At(tt.idx...) }, tt.want)
		})
		t.Run("Set/"+tt.name, func(t *testing.T) {
			before := append([]float64(nil), x.Data()...)
			wantTensorPanic(t, func() { x.Set(99, tt.idx...) }, tt.want)
			if diff := cmp.Diff(before, x.Data()); diff != "" {
				t.Errorf("a panicking Set wrote (-before +after):\n%s", diff)
			}
		})
	}
	t.Run("scalarWithIndex", func(t *testing.T) {
		wantTensorPanic(t, func() { tensor.Scalar(1).At(0) }, "rank")
	})
}

func TestClone(t *testing.T) {
	tests := []struct {
		name string
		x    *tensor.Tensor
	}{
		{"scalar", tensor.Scalar(3)},
		{"matrix", tensor.New([]int{2, 2}, seq(4))},
		{"rowView", tensor.New([]int{3, 2}, seq(6)).RowRange(1, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := append([]float64(nil), tt.x.Data()...)
			c := tt.x.Clone()
			if !tensor.SameShape(c.Shape(), tt.x.Shape()) {
				t.Fatalf("clone shape %v, want %v", c.Shape(), tt.x.Shape())
			}
			if diff := cmp.Diff(orig, c.Data()); diff != "" {
				t.Fatalf("clone data (-want +got):\n%s", diff)
			}
			c.Fill(-1)
			if diff := cmp.Diff(orig, tt.x.Data()); diff != "" {
				t.Errorf("writing the clone changed the original (-want +got):\n%s", diff)
			}
			tt.x.Fill(7)
			for _, v := range c.Data() {
				if v != -1 {
					t.Fatalf("writing the original changed the clone: %v", c.Data())
				}
			}
			if c.Rank() > 0 {
				c.Shape()[0] = 42
				if tt.x.Shape()[0] == 42 {
					t.Errorf("clone shares its shape slice with the original")
				}
			}
		})
	}
}

func TestReshape(t *testing.T) {
	tests := []struct {
		name, reason string
		from, to     []int
	}{
		{"matrixToVector", "", []int{2, 3}, []int{6}},
		{"vectorToRank3", "", []int{6}, []int{1, 2, 3}},
		{"toScalar", "one element reshapes to rank 0", []int{1, 1}, nil},
		{"fromScalar", "and back", nil, []int{1}},
		{"empty", "zero elements reshape to any zero-size shape", []int{0, 4}, []int{2, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tensor.New(tt.from, seq(tensor.SizeOf(tt.from)))
			v := x.Reshape(tt.to...)
			if !tensor.SameShape(v.Shape(), tt.to) {
				t.Fatalf("%s: shape %v, want %v", tt.reason, v.Shape(), tt.to)
			}
			if !tensor.SameShape(x.Shape(), tt.from) {
				t.Errorf("Reshape changed the parent's shape to %v", x.Shape())
			}
			if !sameMemory(v.Data(), x.Data()) {
				t.Fatalf("Reshape copied the data")
			}
			if v.Len() > 0 {
				v.Data()[v.Len()-1] = -8
				if got := x.Data()[x.Len()-1]; got != -8 {
					t.Errorf("write through the view: parent reads %v, want -8", got)
				}
			}
		})
	}

	panics := []struct {
		name, reason string
		to           []int
		want         string
	}{
		{"fewer", "6 elements into 4", []int{2, 2}, "cannot reshape"},
		{"more", "6 elements into 8", []int{2, 4}, "cannot reshape"},
		{"scalar", "6 elements into 1", nil, "cannot reshape"},
		{"negative", "-2 x -3 is 6 but not a shape", []int{-2, -3}, "negative"},
	}
	for _, tt := range panics {
		t.Run("panics/"+tt.name, func(t *testing.T) {
			x := tensor.New([]int{2, 3}, seq(6))
			wantTensorPanic(t, func() { x.Reshape(tt.to...) }, tt.want)
		})
	}
}

func TestRowRange(t *testing.T) {
	tests := []struct {
		name, reason string
		shape        []int
		lo, hi       int
		wantShape    []int
		wantData     []float64
	}{
		{"vector", "rows of a vector are elements", []int{5}, 1, 4, []int{3}, []float64{2, 3, 4}},
		{"matrixMiddle", "2-D: whole rows", []int{4, 3}, 1, 3, []int{2, 3}, []float64{4, 5, 6, 7, 8, 9}},
		{"matrixOne", "a single row keeps the axis", []int{4, 3}, 3, 4, []int{1, 3}, []float64{10, 11, 12}},
		{"matrixAll", "the full range", []int{2, 2}, 0, 2, []int{2, 2}, []float64{1, 2, 3, 4}},
		{"rank3", "rows of a rank-3 tensor are matrices", []int{3, 2, 2}, 2, 3, []int{1, 2, 2}, []float64{9, 10, 11, 12}},
		{"emptyStart", "an empty range at the start", []int{4, 3}, 0, 0, []int{0, 3}, []float64{}},
		{"emptyEnd", "an empty range at the end", []int{4, 3}, 4, 4, []int{0, 3}, []float64{}},
		{"emptyParent", "the only range of a tensor with no rows", []int{0, 3}, 0, 0, []int{0, 3}, []float64{}},
		{"emptyRows", "rows of zero width", []int{3, 0}, 1, 3, []int{2, 0}, []float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tensor.New(tt.shape, seq(tensor.SizeOf(tt.shape)))
			v := x.RowRange(tt.lo, tt.hi)
			if !tensor.SameShape(v.Shape(), tt.wantShape) {
				t.Fatalf("%s: shape %v, want %v", tt.reason, v.Shape(), tt.wantShape)
			}
			if diff := cmp.Diff(tt.wantData, v.Data(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
			if v.Len() == 0 {
				return
			}
			inner := tensor.SizeOf(tt.shape[1:])
			if unsafe.SliceData(v.Data()) != &x.Data()[tt.lo*inner] {
				t.Fatalf("view does not start at the parent's row %d", tt.lo)
			}
			v.Fill(-1)
			for i, got := range x.Data() {
				inView := i >= tt.lo*inner && i < tt.hi*inner
				if inView != (got == -1) {
					t.Fatalf("after filling the view with -1, parent element %d is %v", i, got)
				}
			}
		})
	}

	panics := []struct {
		name, reason string
		x            *tensor.Tensor
		lo, hi       int
		want         string
	}{
		{"scalar", "a scalar has no rows", tensor.Scalar(1), 0, 1, "scalar"},
		{"negativeLo", "", tensor.Zeros(4, 3), -1, 2, "out of range"},
		{"hiBeforeLo", "", tensor.Zeros(4, 3), 3, 2, "out of range"},
		{"hiPastEnd", "", tensor.Zeros(4, 3), 2, 5, "out of range"},
		{"loPastEnd", "an empty range past the end", tensor.Zeros(4, 3), 5, 5, "out of range"},
		{"emptyParent", "a tensor with no rows has only [0, 0)", tensor.Zeros(0, 3), 0, 1, "out of range"},
	}
	for _, tt := range panics {
		t.Run("panics/"+tt.name, func(t *testing.T) {
			wantTensorPanic(t, func() { tt.x.RowRange(tt.lo, tt.hi) }, tt.want)
		})
	}
}

func TestCopyFrom(t *testing.T) {
	dst := tensor.Zeros(2, 3)
	src := tensor.New([]int{2, 3}, seq(6))
	dst.CopyFrom(src)
	if diff := cmp.Diff(seq(6), dst.Data()); diff != "" {
		t.Fatalf("CopyFrom (-want +got):\n%s", diff)
	}
	if sameMemory(dst.Data(), src.Data()) {
		t.Fatalf("CopyFrom aliased the source")
	}
	src.Fill(0)
	if diff := cmp.Diff(seq(6), dst.Data()); diff != "" {
		t.Errorf("writing the source changed the destination (-want +got):\n%s", diff)
	}

	// Into a view: only the view's rows of the parent change.
	parent := tensor.Zeros(3, 2)
	parent.RowRange(1, 2).CopyFrom(tensor.New([]int{1, 2}, []float64{5, 6}))
	if diff := cmp.Diff([]float64{0, 0, 5, 6, 0, 0}, parent.Data()); diff != "" {
		t.Errorf("CopyFrom into a row view (-want +got):\n%s", diff)
	}

	panics := []struct {
		name, reason string
		dst, src     []int
	}{
		{"transposedShape", "same size, different shape", []int{2, 3}, []int{3, 2}},
		{"rank", "same size, different rank", []int{6}, []int{2, 3}},
		{"size", "different size", []int{2, 3}, []int{2, 2}},
		{"scalarVsVector", "one element both, different rank", nil, []int{1}},
	}
	for _, tt := range panics {
		t.Run("panics/"+tt.name, func(t *testing.T) {
			d := tensor.Zeros(tt.dst...)
			wantTensorPanic(t, func() { d.CopyFrom(tensor.Zeros(tt.src...)) }, "copy")
		})
	}
}

func TestFill(t *testing.T) {
	x := tensor.New([]int{2, 2}, seq(4))
	x.Fill(math.Pi)
	if diff := cmp.Diff([]float64{math.Pi, math.Pi, math.Pi, math.Pi}, x.Data()); diff != "" {
		t.Errorf("Fill (-want +got):\n%s", diff)
	}
	y := tensor.ZerosOf[float32](3)
	y.Fill(-2)
	if diff := cmp.Diff([]float32{-2, -2, -2}, y.Data()); diff != "" {
		t.Errorf("Fill float32 (-want +got):\n%s", diff)
	}
	tensor.Zeros(0).Fill(1) // nothing to fill, must not panic
}

func TestHasNonFinite(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	tests := []struct {
		name, reason string
		data         []float64
		want         bool
		wantAt       int
	}{
		{"finite", "", []float64{1, -2, math.MaxFloat64, math.SmallestNonzeroFloat64}, false, -1},
		{"empty", "nothing to find", []float64{}, false, -1},
		{"nan", "", []float64{1, 2, nan}, true, 2},
		{"posInf", "", []float64{inf, 0}, true, 0},
		{"negInf", "", []float64{0, -inf, 0}, true, 1},
		{"first", "the first of several", []float64{0, nan, inf}, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, at := tensor.New([]int{len(tt.data)}, tt.data).HasNonFinite()
			if got != tt.want || at != tt.wantAt {
				t.Errorf("%s: HasNonFinite = (%v, %d), want (%v, %d)", tt.reason, got, at, tt.want, tt.wantAt)
			}
		})
	}
	t.Run("float32", func(t *testing.T) {
		x := tensor.NewOf([]int{3}, []float32{1, float32(math.Inf(-1)), 0})
		if got, at := x.HasNonFinite(); !got || at != 1 {
			t.Errorf("HasNonFinite = (%v, %d), want (true, 1)", got, at)
		}
		// float32 max is finite in float32; the float64 widening keeps it so.
		y := tensor.NewOf([]int{1}, []float32{math.MaxFloat32})
		if got, _ := y.HasNonFinite(); got {
			t.Errorf("MaxFloat32 reported non-finite")
		}
	})
	t.Run("scalarNaN", func(t *testing.T) {
		if got, at := tensor.Scalar(nan).HasNonFinite(); !got || at != 0 {
			t.Errorf("HasNonFinite = (%v, %d), want (true, 0)", got, at)
		}
	})
}

func TestTo32To64(t *testing.T) {
	tests := []struct {
		name string
		x    *tensor.Tensor
	}{
		{"scalar", tensor.Scalar(0.1)},
		{"matrix", tensor.New([]int{2, 2}, []float64{0.1, -2, 1e10, 3})},
		{"empty", tensor.Zeros(0, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x32 := tensor.To32(tt.x)
			if !tensor.SameShape(x32.Shape(), tt.x.Shape()) {
				t.Fatalf("To32 shape %v, want %v", x32.Shape(), tt.x.Shape())
			}
			for i, v := range tt.x.Data() {
				if x32.Data()[i] != float32(v) {
					t.Fatalf("To32 element %d = %v, want %v", i, x32.Data()[i], float32(v))
				}
			}
			back := tensor.To64(x32)
			if !tensor.SameShape(back.Shape(), tt.x.Shape()) {
				t.Fatalf("To64 shape %v, want %v", back.Shape(), tt.x.Shape())
			}
			for i, v := range x32.Data() {
				if back.Data()[i] != float64(v) {
					t.Fatalf("To64 element %d = %v, want %v", i, back.Data()[i], float64(v))
				}
			}
			if tt.x.Len() == 0 {
				return
			}
			// Copies, not views.
			x32.Fill(5)
			back.Fill(6)
			if tt.x.Data()[0] == 5 || tt.x.Data()[0] == 6 {
				t.Errorf("writing a converted copy changed the source")
			}
		})
	}
	t.Run("rounds", func(t *testing.T) {
		// 0.1 is not a float32; the round trip gives the nearest float32.
		got := tensor.To64(tensor.To32(tensor.Scalar(0.1))).At()
		if got == 0.1 || got != float64(float32(0.1)) {
			t.Errorf("To64(To32(0.1)) = %v, want %v", got, float64(float32(0.1)))
		}
	})
}

func TestSameShape(t *testing.T) {
	tests := []struct {
		name string
		a, b []int
		want bool
	}{
		{"equal", []int{2, 3}, []int{2, 3}, true},
		{"nilEmpty", nil, []int{}, true},
		{"bothNil", nil, nil, true},
		{"transposed", []int{2, 3}, []int{3, 2}, false},
		{"rank", []int{6}, []int{6, 1}, false},
		{"scalarVsOne", nil, []int{1}, false},
		{"lastDim", []int{2, 3, 4}, []int{2, 3, 5}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tensor.SameShape(tt.a, tt.b); got != tt.want {
				t.Errorf("SameShape(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := tensor.SameShape(tt.b, tt.a); got != tt.want {
				t.Errorf("SameShape(%v, %v) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestStrides(t *testing.T) {
	for _, tc := range []struct{ shape, want []int }{
		{nil, []int{}},
		{[]int{5}, []int{1}},
		{[]int{2, 3, 4}, []int{12, 4, 1}},
		{[]int{3, 1, 2}, []int{2, 2, 1}},
	} {
		got := tensor.Strides(tc.shape)
		if len(got) != len(tc.want) {
			t.Fatalf("Strides(%v) = %v, want %v", tc.shape, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("Strides(%v) = %v, want %v", tc.shape, got, tc.want)
			}
		}
	}
}
