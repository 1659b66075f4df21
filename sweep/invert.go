package sweep

import (
	"fmt"

	"github.com/invad/invad/tape"
)

// What Invert (the exact inverse of f, lump by lump; package inverse) needs
// of the plan: where a lump's created equations sit in the vector of its
// Newton residual, where its killed atoms sit in the correction's, and the
// solve of A·dK = r with A refactorized at the engine's current values.
// Invert propagates value corrections where IJVP propagates tangents: the
// same lumps in the same order, the same factors, with the known values'
// corrections zero.

// LumpRow is one created equation of a lump as Invert's Newton iteration
// forms its residual r = target − g(K, R): rows [Off, Off+N) of its op's
// output, whose target is its own value's (known, solved by an earlier
// lump) or, for an equation of y, y's rows [Off, Off+N); they sit at Row of
// the residual vector SolveLump takes.
type LumpRow struct {
	Node   *tape.Node
	Off, N int
	Out    bool
	Row    int
}

// Place is elements [Off, Off+N) of value Var at Pos of a lump's solution
// vector (a killed atom of the lump).
type Place struct{ Var, Off, Pos, N int }

// LumpRows returns lump li's created equations with their rows in the
// residual vector of SolveLump, and that vector's length and the
// solution's. A step pivoting on a whole value takes its op's whole output
// as the residual and its pivot as the solution; every other lump takes
// its created equations one after the other, and its killed atoms. It
// panics for a copy or an expansion, which solve nothing.
func (p *Plan) LumpRows(li int) (rows []LumpRow, rlen, slen int) {
	an := p.An
	lp := &an.Lumps[li]
	L := &p.lumps[li]
	for _, q := range lp.Created {
		if an.Eqs[q].Node == nil {
			// A pin of y is a lump of its own (a copy): its only unknown
			// is the atom it pins.
			panic(fmt.Sprintf("sweep: LumpRows(%d): a pin of y in a lump that solves", li))
		}
	}
	switch L.kind {
	case kStep:
		nd := p.nodes[L.node]
		for _, q := range lp.Created {
			eq := &an.Eqs[q]
			rows = append(rows, LumpRow{Node: eq.Node, Off: eq.Off, N: eq.Len, Out: eq.Out, Row: eq.Off})
		}
		return rows, nd.Out.Len(), p.lens[L.pivot]
	case kSolve:
		for i, q := range lp.Created {
			eq := &an.Eqs[q]
			r := &L.rhs.rows[i]
			rows = append(rows, LumpRow{Node: eq.Node, Off: eq.Off, N: eq.Len, Out: eq.Out, Row: r.row})
		}
		return rows, L.rows, L.rows
	}
	panic(fmt.Sprintf("sweep: LumpRows(%d): a copy or an expansion solves nothing", li))
}

// LumpPlaces returns where lump li's killed atoms sit in its solution
// vector (a copy: in y's range, pos being the offset in y).
func (p *Plan) LumpPlaces(li int) []Place {
	L := &p.lumps[li]
	if L.kind == kCopy {
		return []Place{{Var: L.cv, Off: L.coff, Pos: L.cdy, N: L.cn}}
	}
	out := make([]Place, len(L.places))
	for i, pl := range L.places {
		out[i] = Place{Var: pl.v, Off: pl.off, Pos: pl.pos, N: pl.n}
	}
	return out
}

// Refactor factorizes lump li again at the engine's current values,
// replacing its factor (and its share of LogDet): Invert's Newton
// iteration refreshes the block at each iterate. Errors are FactorLump's.
func (x *Exec[V]) Refactor(w *Workspace[V], li int) error {
	if f := x.F[li]; f != nil {
		x.LogDet -= f.LogAbsDet()
		f.Free()
		x.F[li] = nil
	}
	return x.FactorLump(w, li)
}

// SolveLump writes into dst the correction dK = A⁻¹·r of lump li's killed
// atoms (laid out as LumpPlaces says) for the residual r of its created
// equations (laid out as LumpRows says), with every value the lump reads
// but does not kill held fixed: IJVP's step of the lump with dR = 0. The
// lump must be factorized (Refactor). dst and r are different vectors of
// the lengths LumpRows gives.
func (x *Exec[V]) SolveLump(w *Workspace[V], li int, dst, r V) error {
	p, e := x.P, x.E
	L := &p.lumps[li]
	switch L.kind {
	case kStep:
		// The op's own block J_p: J_p dK = r.
		return x.F[li].Solve(dst, r)
	case kSolve:
		// The block is sign·J on each equation's rows (−J for an op's
		// equation, +J for y's), or the op's own J (negate): the right-hand
		// side is sign·r, as in IJVP with dR = 0.
		rb := w.buf(bufOf(roleRHS))
		for i := range L.rhs.rows {
			row := &L.rhs.rows[i]
			e.Scale(rb, row.row, row.sign, r, row.row, row.n)
		}
		err := x.F[li].Solve(dst, w.h(L.rhsHdr))
		if L.negate {
			e.Scale(dst, 0, -1, dst, 0, L.rows)
		}
		return err
	}
	panic(fmt.Sprintf("sweep: SolveLump(%d): a copy or an expansion solves nothing", li))
}

// ManySolverT is a Factor that solves with A⁻ᵀ for several right-hand
// sides at once (a batched LU, reading its factors once for all of them).
type ManySolverT[V any] interface {
	SolveTMany(dst, v []V) error
}

// SolveLumpT writes into each dst[r] the solution w = M⁻ᵀ·s[r] of lump
// li's block M transposed, s[r] laid out as the solution (LumpPlaces) and
// w as the residual (LumpRows): M is ∂g/∂K, the created equations' values
// as functions of the killed atoms, whatever signs the factorized block
// carries (SolveLump solves with the same M). The gradient of log|det M|
// needs it: tr(M⁻¹ dM) = Σ over colors of (M⁻ᵀ s_c)ᵀ dM s_c where the
// inverse's blocks follow M's. Several vectors go through the factor's
// ManySolverT at once where it has one. The lump must be factorized. Each
// dst[r] and s[r] are different vectors of the lengths LumpRows gives. It
// panics if dst and s differ in length.
func (x *Exec[V]) SolveLumpT(w *Workspace[V], li int, dst, s []V) error {
	p, e := x.P, x.E
	L := &p.lumps[li]
	if len(dst) != len(s) {
		panic(fmt.Sprintf("sweep: SolveLumpT(%d) of %d vectors into %d", li, len(s), len(dst)))
	}
	if L.kind != kStep && L.kind != kSolve {
		panic(fmt.Sprintf("sweep: SolveLumpT(%d): a copy or an expansion solves nothing", li))
	}
	if ms, ok := x.F[li].(ManySolverT[V]); ok && len(s) > 1 {
		if err := ms.SolveTMany(dst, s); err != nil {
			return err
		}
	} else {
		for r := range s {
			if err := x.F[li].SolveT(dst[r], s[r]); err != nil {
				return err
			}
		}
	}
	if L.kind == kStep {
		return nil
	}
	// SolveLump: M⁻¹ = ±A⁻¹·S (S the rows' signs, − where negate), so
	// M⁻ᵀ = ±S·A⁻ᵀ.
	for i := range L.rhs.rows {
		row := &L.rhs.rows[i]
		sign := row.sign
		if L.negate {
			sign = -sign
		}
		if sign != 1 {
			for _, d := range dst {
				e.Scale(d, row.row, sign, d, row.row, row.n)
			}
		}
	}
	return nil
}
