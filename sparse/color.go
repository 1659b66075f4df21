package sparse

import "slices"

// ColorColumns colors the columns of p so that no two columns of one color
// have a nonzero in the same row: a distance-1 coloring of the column
// intersection graph. It returns color[j] in [0, ncolors) for every column
// j, with every color in [0, ncolors) used by some column.
//
// It first colors greedily in natural order (column j takes the smallest
// color not used by a column before it that shares a row with it). The
// columns of one row pairwise share it, so no coloring takes fewer colors
// than the longest row's L nonzeros; if greedy takes more than L, it tries
// lattice colorings read off the pattern's diagonal offsets d = j − i
// (skipped when there are more than 32 distinct ones: the pattern is no
// stencil), in order of their number q of colors from L up:
//
//	j mod q
//	(j + s·⌊j/W⌋) mod q                    W a distinct |d| > 1, 0 < s < q
//	(j + s₁·⌊j/W₁⌋ + s₂·⌊j/W₂⌋) mod q      W₁ < W₂, 0 < s₁, s₂ < q
//
// and returns the first valid one if it takes fewer colors than greedy. A
// 2-D stencil's row length m is an offset, so on the 5-point stencil of an
// m×m grid in natural order it finds 5 colors, the optimum ((c + 2r) mod 5
// for point (r, c)), where greedy takes 7, and on the 3-D 7-point stencil
// it finds 7 where greedy takes more. Greedy itself reaches the optimum
// on a tridiagonal pattern (3 colors), a band of half-width b (2b+1:
// column j gets j mod (2b+1) once n > 2b) and the 2-D 9-point stencil (9).
// On a stencil whose unknowns were reordered the lattice step usually finds
// nothing and greedy's coloring stands.
//
// The time is O(Σ_i nnz(row i)²) for greedy plus, only when greedy takes
// more than L colors, O(nnz + n) to gather the offsets and at most 64
// candidates checked, with at most 4·(nnz + n) + 4096 entries read and
// written in all (a candidate stops at the first row where two of its
// columns share a color; on a 2-D grid the invalid ones stop within the
// first rows of the grid, and the valid one reads each nonzero once). The
// memory is O(n + nnz); nothing is O(n²).
//
// ColorColumns panics if p is nil or malformed.
func ColorColumns(p *Pattern) (color []int, ncolors int) {
	checkPattern(p)
	color, ncolors = greedyColumns(p)
	lo := 1
	for i := range p.N {
		lo = max(lo, p.RowPtr[i+1]-p.RowPtr[i])
	}
	if ncolors <= lo {
		return color, ncolors
	}
	if c, k := latticeColumns(p, lo, ncolors-1); c != nil {
		return c, k
	}
	return color, ncolors
}

// greedyColumns is ColorColumns' greedy coloring in natural order: column j
// takes the smallest color not used by a column before it that shares a
// row with it; a column with no nonzero gets color 0.
func greedyColumns(p *Pattern) (color []int, ncolors int) {
	n := p.N
	rowPtr, cols := p.RowPtr, p.Col

	// The transpose of the pattern: the rows of column j are
	// rowIdx[colPtr[j]:colPtr[j+1]].
	colPtr, rowIdx := p.transpose()

	color = make([]int, n)
	for j := range color {
		color[j] = -1
	}
	// used[c] == j marks color c as taken by a neighbor of column j.
	var used []int
	for j := 0; j < n; j++ {
		for _, i := range rowIdx[colPtr[j]:colPtr[j+1]] {
			for _, k := range cols[rowPtr[i]:rowPtr[i+1]] {
				if c := color[k]; c >= 0 {
					used[c] = j
				}
			}
		}
		c := 0
		for c < ncolors && used[c] == j {
			c++
		}
		if c == ncolors {
			ncolors++
			used = append(used, -1)
		}
		color[j] = c
	}
	return color, ncolors
}

const (
	// maxOffsets bounds the distinct diagonal offsets of a pattern that
	// latticeColumns tries: a stencil has a few, a general pattern many.
	maxOffsets = 32
	// maxCandidates bounds the lattice colorings latticeColumns checks.
	maxCandidates = 64
)

// lattice is a candidate coloring: column j gets
// (j + s1·⌊j/w1⌋ + s2·⌊j/w2⌋) mod q. A stride not used has w = 0.
type lattice struct {
	q, w1, s1, w2, s2 int
}

// latticeColumns returns the first valid lattice coloring of p (see
// ColorColumns) with between lo and hi colors, q ascending, its colors
// renumbered so that all of [0, ncolors) are used; nil if it finds none
// within maxCandidates candidates and its budget of entries read.
func latticeColumns(p *Pattern, lo, hi int) (color []int, ncolors int) {
	n, nnz := p.N, p.NNZ()
	offs := diagonalOffsets(p)
	if offs == nil {
		return nil, 0
	}
	// The strides: the distinct |d| > 1, ascending.
	var strides []int
	for _, d := range offs {
		if d < 0 {
			d = -d
		}
		if d > 1 {
			if k, found := slices.BinarySearch(strides, d); !found {
				strides = slices.Insert(strides, k, d)
			}
		}
	}

	cand := make([]int, n)
	lastRow := make([]int, hi)
	budget := 4*(nnz+n) + 4096
	tried := 0
	// try checks l, charging the entries it reads and fills to budget;
	// ok reports l valid, stop that no candidate may follow.
	try := func(l lattice) (ok, stop bool) {
		if tried == maxCandidates || budget <= 0 {
			return false, true
		}
		tried++
		f := latticeFiller{l: l}
		lr := lastRow[:l.q]
		for c := range lr {
			lr[c] = -1
		}
		rowPtr, cols := p.RowPtr, p.Col
		for i := range n {
			row := cols[rowPtr[i]:rowPtr[i+1]]
			if len(row) == 0 {
				continue
			}
			if last := row[len(row)-1]; last >= f.j {
				budget -= last + 1 - f.j
				f.fill(cand, last+1)
			}
			budget -= len(row)
			for _, j := range row {
				c := cand[j]
				if lr[c] == i {
					return false, false
				}
				lr[c] = i
			}
			if budget < 0 {
				return false, true
			}
		}
		f.fill(cand, n)
		return true, false
	}

	found := false
search:
	for q := lo; q <= hi; q++ {
		if ok, stop := try(lattice{q: q}); ok {
			found = true
			break
		} else if stop {
			break
		}
		for _, w := range strides {
			for s := 1; s < q; s++ {
				if ok, stop := try(lattice{q: q, w1: w, s1: s}); ok {
					found = true
					break search
				} else if stop {
					break search
				}
			}
		}
		for a, w1 := range strides {
			for _, w2 := range strides[a+1:] {
				for s1 := 1; s1 < q; s1++ {
					for s2 := 1; s2 < q; s2++ {
						if ok, stop := try(lattice{q: q, w1: w1, s1: s1, w2: w2, s2: s2}); ok {
							found = true
							break search
						} else if stop {
							break search
						}
					}
				}
			}
		}
	}
	if !found {
		return nil, 0
	}

	// Renumber the colors used, in order of value.
	renum := lastRow
	for c := range renum {
		renum[c] = -1
	}
	for _, c := range cand {
		renum[c] = 0
	}
	for c, u := range renum {
		if u == 0 {
			renum[c] = ncolors
			ncolors++
		}
	}
	for j, c := range cand {
		cand[j] = renum[c]
	}
	return cand, ncolors
}

// latticeFiller writes a lattice coloring's colors column by column, in
// O(1) each and without a division.
type latticeFiller struct {
	l      lattice
	j      int // the next column to write
	c      int // its color
	r1, r2 int // j mod w1 and j mod w2
}

// fill writes cand[f.j:end].
func (f *latticeFiller) fill(cand []int, end int) {
	l := f.l
	j, c, r1, r2 := f.j, f.c, f.r1, f.r2
	for ; j < end; j++ {
		cand[j] = c
		c++
		if r1++; r1 == l.w1 {
			r1 = 0
			c += l.s1
		}
		if r2++; r2 == l.w2 {
			r2 = 0
			c += l.s2
		}
		for c >= l.q {
			c -= l.q
		}
	}
	f.j, f.c, f.r1, f.r2 = j, c, r1, r2
}

// diagonalOffsets returns the distinct offsets j − i of p's nonzeros,
// ascending, or nil if there are more than maxOffsets of them or none. The
// columns of a row ascend, so each row walks the offsets found so far once:
// O(nnz + maxOffsets·n), and O(nnz) on a stencil.
func diagonalOffsets(p *Pattern) []int {
	var offs []int
	for i := range p.N {
		k := 0
		for _, j := range p.Col[p.RowPtr[i]:p.RowPtr[i+1]] {
			d := j - i
			for k < len(offs) && offs[k] < d {
				k++
			}
			if k < len(offs) && offs[k] == d {
				continue
			}
			if len(offs) == maxOffsets {
				return nil
			}
			offs = slices.Insert(offs, k, d)
		}
	}
	return offs
}

// SeedTo writes into dst the tangent for color c: dst[j] = 1 where
// color[j] == c and 0 elsewhere. The JVP of the lump with this tangent is
// the product y_c that Recover reads.
//
// SeedTo panics if len(dst) != len(color).
func SeedTo(dst []float64, color []int, c int) {
	if len(dst) != len(color) {
		panic("sparse: seed length differs from the number of columns")
	}
	for j, cj := range color {
		if cj == c {
			dst[j] = 1
		} else {
			dst[j] = 0
		}
	}
}

// Recover returns A's values aligned with p.Col, read from the products of
// A with the color seeds. See RecoverTo for the contract.
func Recover(p *Pattern, color []int, products [][]float64) []float64 {
	checkPattern(p)
	dst := make([]float64, p.NNZ())
	RecoverTo(dst, p, color, products)
	return dst
}

// RecoverTo writes into dst the values of an n×n matrix A whose nonzeros lie
// in p, given
//
//   - color, a coloring of p's columns in which no two columns of one color
//     share a row (as from ColorColumns), and
//   - products[c] = A·s_c for every color c, where s_c = Σ_{j: color[j]=c} e_j
//     (SeedTo): a dense vector of length n, the JVP of the lump with that
//     tangent.
//
// For each nonzero k of p, in row i and column j = p.Col[k], it sets
// dst[k] = products[color[j]][i] = A(i, j): no other column of color[j] has
// a nonzero in row i. Entries of the products in rows where the color has no
// nonzero of p are not read. If A has a nonzero outside p the result is
// wrong without notice: the pattern must come from the ops' structure, not
// from a guess.
//
// RecoverTo panics if len(dst) != p.NNZ(), len(color) != p.N, a color is
// outside [0, len(products)), a product used by a column has length other
// than p.N, or two columns of one color share a row (checked in O(nnz)).
func RecoverTo(dst []float64, p *Pattern, color []int, products [][]float64) {
	checkPattern(p)
	n := p.N
	if len(dst) != p.NNZ() {
		panic("sparse: value array length differs from the pattern's nonzeros")
	}
	if len(color) != n {
		panic("sparse: coloring length differs from the number of columns")
	}
	for _, c := range color {
		if uint(c) >= uint(len(products)) {
			panic("sparse: color without a product")
		}
	}
	// lastRow[c] == i marks color c as seen in row i.
	lastRow := make([]int, len(products))
	for c := range lastRow {
		lastRow[c] = -1
	}
	rowPtr, cols := p.RowPtr, p.Col
	for i := 0; i < n; i++ {
		for k := rowPtr[i]; k < rowPtr[i+1]; k++ {
			c := color[cols[k]]
			if lastRow[c] == i {
				panic("sparse: two columns of one color share a row")
			}
			lastRow[c] = i
			y := products[c]
			if len(y) != n {
				panic("sparse: product length differs from the pattern size")
			}
			dst[k] = y[i]
		}
	}
}
