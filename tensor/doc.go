// Package tensor provides a dense, row-major tensor over float64 (the default)
// or float32 storage.
//
// # Ownership and aliasing
//
// New and NewOf do not copy: the tensor wraps the slice it is given, and
// Data returns that same backing slice. Writes through either are seen by
// both. Views (Reshape, RowRange) share storage with their parent. Clone is
// the only call that copies.
//
// # Errors
//
// Shape mistakes are caller errors and panic with a message that starts with
// "tensor: ". Nothing in this package returns an error.
package tensor
