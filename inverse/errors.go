package inverse

import (
	"errors"
	"fmt"
	"strings"

	"github.com/invad/invad/tape"
)

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

// ErrCouplesSamples is matched (errors.Is) by every *CouplingError.
var ErrCouplesSamples = errors.New("J couples two samples")

// CouplingError reports that J is not block diagonal along the axis of x
// that LogAbsDetAlong was asked for: a lump couples elements of two
// samples (or reads a value that holds no sample along that axis).
type CouplingError struct {
	Axis int      // the axis of x
	Lump int      // the lump's index in the lump report
	Ops  []string // its ops, "name@position"
}

func (e *CouplingError) Error() string {
	return fmt.Sprintf("inverse: J couples samples along axis %d of x: lump %d (%s) mixes them", e.Axis, e.Lump, strings.Join(e.Ops, " "))
}

// Is makes errors.Is(err, ErrCouplesSamples) true.
func (e *CouplingError) Is(target error) bool { return target == ErrCouplesSamples }

// ErrNoConvergence is matched (errors.Is) by every *InvertError.
var ErrNoConvergence = errors.New("a lump's Newton iteration did not converge")

// InvertError reports a lump whose local Newton iteration in Invert did not
// reach the tolerance: within the step limit, or because its block was
// singular at an iterate (Err, also matched by errors.Is(err,
// tape.ErrSingular)) or a residual or step was NaN or ±Inf (Err says so).
type InvertError struct {
	Lump     int      // the lump's index in solve order (the lump report's)
	Ops      []string // its ops, "name@position"
	Iter     int      // the Newton steps taken
	Residual float64  // the last ‖r‖∞ relative to the scale of the lump's values
	Err      error    // the cause, nil when the step limit was reached
}

func (e *InvertError) Error() string {
	why := "did not converge"
	if e.Err != nil {
		why = "failed: " + e.Err.Error()
	}
	return fmt.Sprintf("inverse: Invert: lump %d (%s) %s after %d Newton steps (relative residual %.3g)",
		e.Lump, strings.Join(e.Ops, " "), why, e.Iter, e.Residual)
}

// Is makes errors.Is(err, ErrNoConvergence) true.
func (e *InvertError) Is(target error) bool { return target == ErrNoConvergence }

// Unwrap returns the cause.
func (e *InvertError) Unwrap() error { return e.Err }
