package lumptest

import (
	"errors"
	"fmt"
)

// ErrTooLarge is matched by *TooLargeError.
var ErrTooLarge = errors.New("lumptest: program too large for the scalar oracle")

// TooLargeError says the program has more scalar unknowns than the limit
// given to Scalarize.
type TooLargeError struct {
	Unknowns int // the number of scalar unknowns of the extended system
	Limit    int // the limit passed to Scalarize
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("lumptest: the extended system has %d scalar unknowns, over the limit %d of the scalar oracle", e.Unknowns, e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// ErrNonFinite is matched by *NonFiniteError.
var ErrNonFinite = errors.New("lumptest: non-finite Jacobian entry")

// NonFiniteError says an op's JVP gave NaN or ±Inf for a unit tangent.
type NonFiniteError struct {
	Op    string  // the op's name
	Pos   int     // its tape position
	Input int     // the input slot whose unit tangent was set
	Col   int     // the flat index of the unit tangent's one
	Row   int     // the flat index of the output element
	Value float64 // the value found
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("lumptest: JVP of %s at tape position %d gives %v at output element %d for a unit tangent on element %d of input %d",
		e.Op, e.Pos, e.Value, e.Row, e.Col, e.Input)
}

// Is makes errors.Is(err, ErrNonFinite) true.
func (e *NonFiniteError) Is(target error) bool { return target == ErrNonFinite }
