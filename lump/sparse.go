package lump

import (
	"math"
	"slices"

	"github.com/invad/invad/sparse"
)

// SparseBlock describes a Sparse lump's block A, of order Width: its
// nonzero pattern, the column coloring its extraction uses (one JVP per
// color), and the order its banded LU takes. Rows are the created
// equations' rows in Created order, columns the killed atoms' elements in
// Killed order, as for every other lump's A.
type SparseBlock struct {
	Pattern *sparse.Pattern
	Color   []int // per column
	Colors  int
	Perm    []int // the banded LU's order (position → row and column), nil for the natural one
	KL, KU  int   // the bandwidth in that order
	// LU, if set, is the symbolic analysis of a general sparse LU in
	// nested dissection order, chosen where the band is wide (a 2-D
	// stencil): the factorization uses it instead of the banded LU.
	LU *sparse.SparseAnalysis
}

// FactorBytes estimates the memory of the block's factorization: the
// banded LU's, or the sparse LU's peak.
func (sb *SparseBlock) FactorBytes(n int) int64 {
	if sb.LU != nil {
		return sb.LU.PeakBytes()
	}
	return sparse.EstimateBandFactorBytes(n, sb.KL, sb.KU)
}

// narrowBand is the widest band (kl + ku) the banded LU takes without
// trying the sparse LU: its O(n·b²) work is then small.
const narrowBand = 8

// sparseMinWidth is the least width a lump needs to be treated as sparse:
// below it, a dense LU is as fast and pivots over the whole block.
const sparseMinWidth = 128

// sparseMaxFill bounds a sparse block's nonzeros per row on average; a
// denser block is a DenseLump.
const sparseMaxFill = 32

// run is a range of an equation's rows whose terms come from consecutive
// elements of one atom: rows [r0, r0+n) read element e0 + (r − r0).
type run struct{ r0, n, atom, e0 int }

// runs lists, for equation eq, the atoms its varying diagonal inputs (and
// each row of a Kron input) read, row range by row range (a Pin reads its atom row for row).
func (a *Analysis) runs(eq *Eq) [][]run {
	if eq.Node == nil {
		k := eq.Touch[0].Atom
		return [][]run{{{0, eq.Len, k, 0}}}
	}
	vary, ss := a.structures(eq.Node)
	var out [][]run
	for i, in := range eq.Node.In {
		if !vary[i] {
			continue
		}
		los, ok := diagOffsets(ss[i], eq.Off, eq.Len)
		if !ok {
			continue
		}
		for _, lo := range los {
			var rs []run
			for _, sg := range restrict(a.segs[in.ID()], lo, eq.Len, 0) {
				if sg.Var < 0 {
					continue
				}
				for _, k := range a.atomsOver(sg.Var, sg.Off, sg.Len) {
					at := a.Atoms[k]
					lo, hi := max(at.Off, sg.Off), min(at.Off+at.Len, sg.Off+sg.Len)
					rs = append(rs, run{r0: sg.Pos + lo - sg.Off, n: hi - lo, atom: k, e0: lo - at.Off})
				}
			}
			out = append(out, rs)
		}
	}
	return out
}

// sparseBlock builds the pattern of lump l's block from the ops' index maps:
// each internal value's elements depend on killed elements through the
// diagonal (shifted or not) blocks of its op, composed in tape order, and
// each created row likewise. It returns false if some row reads a dense
// block of the lump, or the pattern is too dense to pay.
func (a *Analysis) sparseBlock(l *Lump, inLump map[int]bool) (*SparseBlock, bool) {
	for _, e := range l.Eqs {
		for _, t := range a.Eqs[e].Touch {
			if inLump[t.Atom] && t.Kind == DenseEdge {
				return nil, false
			}
		}
	}
	pattern, ok := a.blockPattern(l)
	if !ok {
		return nil, false
	}
	n := l.Width
	sb := &SparseBlock{Pattern: pattern}
	sb.KL, sb.KU = sb.Pattern.Bandwidth()
	if w := sb.KL + sb.KU + 1; w <= narrowBand {
		// A narrow band: column j gets color j mod w, optimal for a full
		// band and what the greedy coloring finds there, in O(n).
		sb.Color, sb.Colors = make([]int, n), min(w, n)
		for j := range sb.Color {
			sb.Color[j] = j % w
		}
	} else {
		sb.Color, sb.Colors = sparse.ColorColumns(sb.Pattern)
	}
	if sb.KL+sb.KU > 2 {
		perm := sparse.RCM(sb.Pattern)
		if kl, ku := sparse.PermutedBandwidth(sb.Pattern, perm); kl+ku < sb.KL+sb.KU {
			sb.Perm, sb.KL, sb.KU = perm, kl, ku
		}
	}
	if sb.KL+sb.KU > narrowBand {
		// A wide band: the sparse LU where it takes less memory (its fill
		// grows as n log n on a 2-D grid, the band's as n^1.5).
		a.tick()
		lu := sparse.AnalyzeSparse(sb.Pattern, nil) // nested dissection
		if lu.PeakBytes() < sb.FactorBytes(n) {
			sb.LU = lu
		}
	}
	return sb, true
}

// maxRowDeps bounds the columns one element of a sparse lump may depend
// on: a longer list means a dense coupling, which is a DenseLump's.
const maxRowDeps = 64

// dseg is a range of rows, of an equation or of an internal atom's
// elements, whose columns move in lockstep with the row: row r of
// [r0, r1) has the columns cols[i] + (r − r0). The ops' diagonal blocks,
// shifted or not, map consecutive rows to consecutive elements, so a
// stencil's rows fall into a few such ranges, split where a run of
// elements changes atom.
type dseg struct {
	r0, r1 int
	cols   []int32
}

// blockPattern builds the pattern of lump l's block (rows: the created
// equations' rows in Created order; columns: the killed atoms' elements in
// Killed order) from the ops' index maps, range by range: each internal
// atom's elements get their columns through the diagonal blocks of its op,
// composed in tape order, as dsegs; each created row likewise, written out
// in CSR form. The work is proportional to the number of ranges plus the
// nonzeros written. It returns false if a row depends on more than
// maxRowDeps columns or the pattern would pass sparseMaxFill.
func (a *Analysis) blockPattern(l *Lump) (*sparse.Pattern, bool) {
	n := l.Width
	if n >= math.MaxInt32 {
		return nil, false
	}
	maxNNZ := int64(sparseMaxFill)*int64(n) + 1024
	col := make(map[int]int, len(l.Killed)) // killed atom → its first column
	c := 0
	for _, k := range l.Killed {
		col[k] = c
		c += a.Atoms[k].Len
	}
	internal := map[int][]dseg{} // internal atom → its ranges, ascending
	var list []int32
	// ranges splits equation eq's rows into dsegs.
	ranges := func(eq *Eq) ([]dseg, bool) {
		rs := a.runs(eq)
		bps := []int{0, eq.Len}
		for _, in := range rs {
			for _, x := range in {
				bps = append(bps, x.r0, x.r0+x.n)
				for _, d := range internal[x.atom] {
					// element e of the atom is row x.r0 + e − x.e0
					for _, e := range [2]int{d.r0, d.r1} {
						if r := x.r0 + e - x.e0; r > x.r0 && r < x.r0+x.n {
							bps = append(bps, r)
						}
					}
				}
			}
		}
		slices.Sort(bps)
		bps = slices.Compact(bps)
		var out []dseg
		cur := make([]int, len(rs))
		for i := 0; i+1 < len(bps); i++ {
			b0, b1 := bps[i], bps[i+1]
			list = list[:0]
			for j, in := range rs {
				for cur[j] < len(in) && b0 >= in[cur[j]].r0+in[cur[j]].n {
					cur[j]++
				}
				if cur[j] == len(in) || b0 < in[cur[j]].r0 {
					continue
				}
				x := in[cur[j]]
				e := x.e0 + b0 - x.r0
				if c, ok := col[x.atom]; ok {
					list = append(list, int32(c+e))
				} else if ds, ok := internal[x.atom]; ok {
					k, _ := slices.BinarySearchFunc(ds, e, func(d dseg, e int) int {
						if e < d.r0 {
							return 1
						}
						if e >= d.r1 {
							return -1
						}
						return 0
					})
					d := ds[k]
					for _, c := range d.cols {
						list = append(list, c+int32(e-d.r0))
					}
				}
			}
			slices.Sort(list)
			list = slices.Compact(list)
			if len(list) > maxRowDeps {
				return nil, false
			}
			out = append(out, dseg{b0, b1, slices.Clone(list)})
		}
		return out, true
	}
	for _, q := range l.Internal {
		a.tick()
		eq := &a.Eqs[q]
		ds, ok := ranges(eq)
		if !ok {
			return nil, false
		}
		internal[eq.Self] = ds
	}
	var total int64
	var rowSegs [][]dseg
	for _, q := range l.Created {
		a.tick()
		ds, ok := ranges(&a.Eqs[q])
		if !ok {
			return nil, false
		}
		for _, d := range ds {
			if total += int64(len(d.cols)) * int64(d.r1-d.r0); total > maxNNZ {
				return nil, false
			}
		}
		rowSegs = append(rowSegs, ds)
	}
	rowPtr, cols := make([]int, 1, n+1), make([]int, 0, total)
	for _, ds := range rowSegs {
		for _, d := range ds {
			for r := d.r0; r < d.r1; r++ {
				for _, c := range d.cols {
					cols = append(cols, int(c)+r-d.r0)
				}
				rowPtr = append(rowPtr, len(cols))
			}
		}
	}
	return &sparse.Pattern{N: n, RowPtr: rowPtr, Col: cols}, true
}
