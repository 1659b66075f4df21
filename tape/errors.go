package tape

import (
	"errors"
	"fmt"

	"github.com/invad/invad/tensor"
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
	Pkg   string  // the package reporting it, for the message: "" is inverse
}

func (e *NonFiniteError) Error() string {
	pkg := e.Pkg
	if pkg == "" {
		pkg = "inverse"
	}
	s := fmt.Sprintf("%s: %v at index %d of the %s", pkg, e.Value, e.Index, e.Where)
	if e.Op != "" {
		s += fmt.Sprintf(" (op %s at tape position %d)", e.Op, e.Pos)
	}
	return s
}

// Is makes errors.Is(err, ErrNonFinite) true.
func (e *NonFiniteError) Is(target error) bool { return target == ErrNonFinite }

// FirstNonFinite returns the *NonFiniteError of the first op of p whose
// value holds NaN or ±Inf, or of p's output; pkg names the package
// reporting it. Call it once the output was found not finite.
func FirstNonFinite(p *Program, pkg string) error {
	for _, nd := range p.Nodes {
		if bad, i := nd.Out.Value().HasNonFinite(); bad {
			return &NonFiniteError{Where: "value of an op", Op: nd.Op.Name(), Pos: nd.Pos, Index: i, Value: nd.Out.Value().Data()[i], Pkg: pkg}
		}
	}
	v := p.Output.Value()
	_, i := v.HasNonFinite()
	return &NonFiniteError{Where: "output", Pos: -1, Index: i, Value: v.Data()[i], Pkg: pkg}
}

// CheckFinite returns a *NonFiniteError for the first NaN or ±Inf of r,
// the result of the product name, or nil; pkg names the package reporting
// it.
func CheckFinite[T tensor.Float](pkg, name string, r *tensor.Dense[T]) error {
	if bad, i := r.HasNonFinite(); bad {
		return &NonFiniteError{Where: "result of " + name, Pos: -1, Index: i, Value: float64(r.Data()[i]), Pkg: pkg}
	}
	return nil
}
