package inverse

import "github.com/invad/invad/tape"

// The errors of Linearize and the products. They are package tape's, so
// that every backend (this one, package cuda) returns the same types.

// ErrTooLarge is returned when a dense result would exceed MaxDenseElements.
var ErrTooLarge = tape.ErrTooLarge

// ErrSize is matched by *SizeError.
var ErrSize = tape.ErrSize

// SizeError says f(x) does not have as many elements as x.
type SizeError = tape.SizeError

// ErrNonFinite is matched by *NonFiniteError.
var ErrNonFinite = tape.ErrNonFinite

// NonFiniteError reports a NaN or ±Inf.
type NonFiniteError = tape.NonFiniteError
