package lump

import (
	"math"
	"slices"

	"github.com/invad/invad/sparse"
	"github.com/invad/invad/tape"
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
	return sparse.BandLUBytes(n, sb.KL, sb.KU) + 8*int64(n)
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

// runs lists, for equation eq, the atoms its varying diagonal inputs read,
// row range by row range (a Pin reads its atom row for row).
func (a *Analysis) runs(eq *Eq) [][]run {
	if eq.Node == nil {
		k := eq.Touch[0].Atom
		return [][]run{{{0, eq.Len, k, 0}}}
	}
	vary, ss := a.structures(eq.Node)
	var out [][]run
	for i, in := range eq.Node.In {
		if !vary[i] || ss[i].Kind != tape.Diagonal {
			continue
		}
		var rs []run
		for _, sg := range restrict(a.segs[in.ID()], eq.Off, eq.Len, 0) {
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
	// The internal atoms' rows of killed columns, in one CSR of 32-bit
	// indices (the columns are < n < 2³¹), presized: the appends were most
	// of the cost.
	internalRows := 0
	for _, q := range l.Internal {
		internalRows += a.Eqs[q].Len
	}
	first := map[int]int{} // internal atom → its first row in ptr
	ptr := make([]int32, 1, internalRows+1)
	idx := make([]int32, 0, 3*internalRows)
	// The created rows' pattern, built in CSR form directly: the rows come
	// in order, each sorted and without repeats.
	rowPtr, cols := make([]int, 1, n+1), make([]int, 0, 3*n)
	var row []int32
	total := int64(0)
	// source resolves a run once: killed (its first column), internal (its
	// first row in ptr) or known (nothing).
	type source struct {
		r0, n int
		kind  int8 // 0 known, 1 killed, 2 internal
		base  int
	}
	var srcs [][]source
	var cur []int
	prepare := func(eq *Eq) {
		rs := a.runs(eq)
		srcs, cur = srcs[:0], cur[:0]
		for _, in := range rs {
			ss := make([]source, len(in))
			for j, x := range in {
				ss[j] = source{r0: x.r0, n: x.n}
				if c, ok := col[x.atom]; ok {
					ss[j].kind, ss[j].base = 1, c+x.e0
				} else if f, ok := first[x.atom]; ok {
					ss[j].kind, ss[j].base = 2, f+x.e0
				}
			}
			srcs, cur = append(srcs, ss), append(cur, 0)
		}
	}
	// emit gathers row r's columns; rows come in increasing order, so each
	// input's runs are walked once.
	emit := func(r int) {
		row = row[:0]
		for i, ss := range srcs {
			j := cur[i]
			for j < len(ss) && r >= ss[j].r0+ss[j].n {
				j++
			}
			cur[i] = j
			if j == len(ss) || r < ss[j].r0 {
				continue
			}
			x := &ss[j]
			e := x.base + r - x.r0
			switch x.kind {
			case 1:
				row = append(row, int32(e))
			case 2:
				row = append(row, idx[ptr[e]:ptr[e+1]]...)
			}
		}
		if len(row) > 1 {
			slices.Sort(row)
			row = slices.Compact(row)
		}
	}
	for _, q := range l.Internal {
		a.tick()
		eq := &a.Eqs[q]
		prepare(eq)
		first[eq.Self] = len(ptr) - 1
		for r := range eq.Len {
			emit(r)
			if total += int64(len(row)); total > maxNNZ {
				return nil, false
			}
			idx = append(idx, row...)
			ptr = append(ptr, int32(len(idx)))
		}
	}
	for _, q := range l.Created {
		a.tick()
		eq := &a.Eqs[q]
		prepare(eq)
		for r := range eq.Len {
			emit(r)
			if total += int64(len(row)); total > maxNNZ {
				return nil, false
			}
			for _, c := range row {
				cols = append(cols, int(c))
			}
			rowPtr = append(rowPtr, len(cols))
		}
	}
	sb := &SparseBlock{Pattern: &sparse.Pattern{N: n, RowPtr: rowPtr, Col: cols}}
	sb.Color, sb.Colors = sparse.ColorColumns(sb.Pattern)
	sb.KL, sb.KU = sb.Pattern.Bandwidth()
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
