package sparse

import (
	"errors"
	"fmt"
)

// ErrSingular is matched by *SingularError.
var ErrSingular = errors.New("sparse: singular band matrix")

// SingularError says FactorBand or FactorBandTo met a pivot it cannot
// divide by.
type SingularError struct {
	// Row is the elimination step k, 0-based, at which every candidate
	// pivot (the entries of column k of A on and below the diagonal, after
	// the steps and row interchanges before k) was zero. Columns 0..k−1 of A
	// are linearly independent and column k lies in their span (in the
	// arithmetic of the factorization): k is the first dependent unknown.
	// The package knows nothing of the program; the caller maps Row to the
	// op, and its tape position, whose element is unknown k of the lump.
	Row int
	// Pivot is the pivot found: 0, or NaN or ±Inf if the elimination
	// overflowed (the input itself is checked for non-finite values, which
	// give a *NotFiniteError instead).
	Pivot float64
}

func (e *SingularError) Error() string {
	return fmt.Sprintf("sparse: singular band matrix: pivot %g at elimination step %d (column %d depends on the columns before it)", e.Pivot, e.Row, e.Row)
}

// Is makes errors.Is(err, ErrSingular) true.
func (e *SingularError) Is(target error) bool { return target == ErrSingular }

// NotFiniteError says a matrix handed to FactorBand or FactorBandTo holds a
// NaN or an infinity at (Row, Col), the first in column-major order.
type NotFiniteError struct {
	Row, Col int
	Value    float64
}

func (e *NotFiniteError) Error() string {
	return fmt.Sprintf("sparse: non-finite entry %g at (%d, %d)", e.Value, e.Row, e.Col)
}

// OutsideBandError says a nonzero (Row, Col) of a pattern lies outside the
// band with KL sub- and KU super-diagonals.
type OutsideBandError struct {
	Row, Col int
	KL, KU   int
}

func (e *OutsideBandError) Error() string {
	return fmt.Sprintf("sparse: nonzero (%d, %d) outside the band kl=%d, ku=%d", e.Row, e.Col, e.KL, e.KU)
}
