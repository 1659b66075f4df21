package tape

import (
	"errors"
	"fmt"
)

// The errors every backend returns for a program and its arguments, below
// the backends so that each returns the same types (package inverse names
// them too, as aliases).

// ErrTooLarge is returned when a dense result (a Jacobian, its inverse)
// would exceed its backend's element limit.
var ErrTooLarge = errors.New("inverse: dense result too large")

// ErrSize is matched by *SizeError.
var ErrSize = errors.New("inverse: output size differs from input size")

// SizeError says f(x) does not have as many elements as x.
type SizeError struct {
	In, Out []int // the shapes of x and f(x)
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("inverse: f maps shape %v to shape %v; inverse mode needs f: Rⁿ → Rⁿ", e.In, e.Out)
}

// Is makes errors.Is(err, ErrSize) true.
func (e *SizeError) Is(target error) bool { return target == ErrSize }

// ErrNonFinite is matched by *NonFiniteError.
var ErrNonFinite = errors.New("inverse: non-finite value")

// NonFiniteError reports a NaN or ±Inf.
type NonFiniteError struct {
	Where string  // "x", "argument of JVP", "value of op", ...
	Op    string  // the op that produced it, if any
	Pos   int     // the op's tape position, -1 if none
	Index int     // the flat index of the first non-finite element
	Value float64 // the value found
}

func (e *NonFiniteError) Error() string {
	s := fmt.Sprintf("inverse: %v at index %d of the %s", e.Value, e.Index, e.Where)
	if e.Op != "" {
		s += fmt.Sprintf(" (op %s at tape position %d)", e.Op, e.Pos)
	}
	return s
}

// Is makes errors.Is(err, ErrNonFinite) true.
func (e *NonFiniteError) Is(target error) bool { return target == ErrNonFinite }
