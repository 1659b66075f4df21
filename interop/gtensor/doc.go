// Package gtensor converts between gorgonia.org/tensor dense tensors and invad
// tensors without copying their elements.
//
// FromDense and FromDense32 turn a Gorgonia *tensor.Dense of dtype Float64 or
// Float32 into a *tensor.Tensor or *tensor.Tensor32 of package
// github.com/invad/invad/tensor; ToDense and ToDense32 go the other way.
// CopyFromDense and CopyFromDense32 are the copying fallback for Gorgonia
// tensors whose layout cannot be shared.
//
// # Shared memory
//
// A converted tensor and its source share one backing array: the invad
// tensor's Data() and the Gorgonia tensor's Float64s() (or Float32s()) start
// at the same address and have the same length. Writes of elements through
// either one are seen by the other, immediately and in both directions. Only
// the elements are shared; the shape is copied, so reshaping one side does
// not reshape the other.
//
// Nobody owns the memory exclusively. For memory allocated by Go (every
// invad tensor, and Gorgonia tensors built with WithBacking, FromScalar or
// the default engine) the garbage collector keeps it alive while either
// tensor refers to it; tensor.ReturnTensor on the Gorgonia side only drops
// that tensor's reference. Gorgonia memory that is manually managed
// (FromMemory, or a non-standard engine) belongs to whoever allocated it:
// that owner must keep it allocated for as long as the invad tensor is used.
//
// Neither package synchronizes access: the rules for sharing a Go slice
// between goroutines apply. Gorgonia calls that move elements in place, such
// as Transpose (or Reshape of a tensor transposed with T, which calls
// Transpose), rearrange the shared elements under the invad tensor's fixed
// shape; do not make them while the invad tensor is in use.
//
// # Layout
//
// Invad tensors are dense and row-major, so only a Gorgonia tensor whose
// elements are contiguous and row-major can be shared: its strides must be
// the row-major strides of its shape (axes of length 1 are ignored). This
// includes contiguous views, such as a range of rows taken with Slice; the
// invad tensor then shares memory with the view's parent.
//
// FromDense never copies behind the caller's back. A transposed tensor (T),
// a column-major one (AsFortran) or a strided view (a column slice, a step)
// makes it return an error wrapping ErrLayout. To convert such a tensor, ask
// for the copy by name: CopyFromDense and CopyFromDense32 read any layout into
// a new row-major invad tensor that shares nothing with the source. They are
// the only functions here that copy elements.
//
// Rank-0 tensors convert to rank-0 tensors and back. Tensors with no
// elements convert, with nothing to share.
//
// # Errors
//
// A nil argument is a caller mistake and panics with a message that starts
// with "gtensor: ". A Gorgonia tensor that cannot be shared makes FromDense
// and FromDense32 return an error that names the function and the offending
// dtype, shape or strides, and wraps one of ErrDtype, ErrLayout, ErrMasked
// or ErrInaccessible for errors.Is. CopyFromDense and CopyFromDense32 return
// the same errors, except that they accept every layout Gorgonia makes.
// ToDense and ToDense32 return no errors.
//
// # Dependencies
//
// Only this package imports gorgonia.org/tensor. The core packages (tensor,
// tape, ops, cpu and the others outside interop/) do not, so a program that
// does not import gtensor does not link Gorgonia. Gorgonia v0.9.24 panics at start-up on
// recent Go releases unless the module graph selects
// go4.org/unsafe/assume-no-moving-gc v0.0.0-20231121144256-b99613f794b6 or
// later, as the invad go.mod does.
package gtensor
