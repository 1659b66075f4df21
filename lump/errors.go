package lump

import (
	"errors"
	"fmt"
	"strings"

	"github.com/invad/invad/tape"
)

// ErrStructurallySingular is matched by *StructurallySingularError.
var ErrStructurallySingular = errors.New("lump: structurally singular Jacobian")

// Site is a set of elements of one tape value, named by the op that
// computed it.
type Site struct {
	Var   int    // the value's ID on its tape
	Op    string // the op that computed it, "input" for x
	Pos   int    // that op's tape position (tape.Node.Pos), -1 for x
	Len   int    // the value's number of elements
	Index []int  // the flat indices of the elements, ascending
}

func (s Site) String() string {
	if s.Pos < 0 {
		return fmt.Sprintf("%s (value %d: %d of %d elements)", s.Op, s.Var, len(s.Index), s.Len)
	}
	return fmt.Sprintf("%s at tape position %d (value %d: %d of %d elements)", s.Op, s.Pos, s.Var, len(s.Index), s.Len)
}

// StructurallySingularError says the extended system has no perfect
// matching: there are fewer than n disjoint scalar paths from x to y, so J
// is singular whatever the values of its nonzero entries.
type StructurallySingularError struct {
	// N is n, the number of elements of x and of y.
	N int
	// Deficiency is the number of unknowns left unmatched by a maximum
	// matching. The width of the program (the number of disjoint scalar
	// paths from x to y, the structural rank of J) is N − Deficiency.
	Deficiency int
	// Cut is a minimum set of scalar values that every path from x to y
	// crosses, of N − Deficiency elements, grouped by value: where the
	// width drops. Of all minimum cuts it is the one closest to y, and it
	// does not depend on the matching. It is empty when no path at all
	// reaches y.
	Cut []Site
	// UnmatchedUnknowns and UnmatchedEquations are the elements a maximum
	// matching left unmatched, grouped by value. Which elements they are
	// depends on the matching found; how many does not.
	UnmatchedUnknowns  []Site
	UnmatchedEquations []Site
}

func (e *StructurallySingularError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "lump: structurally singular Jacobian: the width drops from %d to %d", e.N, e.N-e.Deficiency)
	if len(e.Cut) > 0 {
		b.WriteString(" at ")
		b.WriteString(joinSites(e.Cut))
	} else {
		b.WriteString(": no scalar path from x reaches y")
		if len(e.UnmatchedEquations) > 0 {
			b.WriteString("; equations left without a pivot in ")
			b.WriteString(joinSites(e.UnmatchedEquations))
		}
	}
	return b.String()
}

// Is makes errors.Is(err, ErrStructurallySingular) true.
func (e *StructurallySingularError) Is(target error) bool { return target == ErrStructurallySingular }

func joinSites(s []Site) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = v.String()
	}
	return strings.Join(parts, ", ")
}

// SingularBlockError says a block of the BTF is numerically singular or too
// ill-conditioned to solve. errors.Is(err, tape.ErrSingular) is true.
type SingularBlockError struct {
	Block int      // the block's index in solve order
	Size  int      // its number of unknowns
	Ops   []string // the ops whose equations are in it, one per entry of Nodes
	Nodes []int    // their tape positions, ascending
	// Cond is the figure the block was refused on, and Figure names it:
	// "pivot" (zero, or tiny against the block's entries), "non-finite
	// entry", "pivot growth", "reciprocal condition estimate", or
	// "condition number" (the LU's estimate, +Inf if exactly singular;
	// also when Figure is empty).
	Cond   float64
	Figure string
}

func (e *SingularBlockError) Error() string {
	names := make([]string, len(e.Ops))
	for i, op := range e.Ops {
		names[i] = fmt.Sprintf("%s at tape position %d", op, e.Nodes[i])
	}
	fig := e.Figure
	if fig == "" {
		fig = "condition number"
	}
	return fmt.Sprintf("lump: block %d (%d unknowns; equations of %s) is singular: %s %g",
		e.Block, e.Size, strings.Join(names, ", "), fig, e.Cond)
}

// Is makes errors.Is(err, tape.ErrSingular) true.
func (e *SingularBlockError) Is(target error) bool { return target == tape.ErrSingular }
