package sparse

// Pattern is the nonzero pattern of an n×n matrix in compressed sparse row
// form: the columns of row i are Col[RowPtr[i]:RowPtr[i+1]], strictly
// increasing. len(RowPtr) is N+1, RowPtr[0] is 0 and RowPtr[N] is the
// number of nonzeros.
//
// NewPattern establishes these invariants. The fields are exported so that
// callers can read them without copies; functions in this package assume the
// invariants hold, and a Pattern whose fields are changed afterwards gives
// unspecified results or a panic.
type Pattern struct {
	N      int
	RowPtr []int
	Col    []int
}

// NewPattern returns the pattern of an n×n matrix with a nonzero at
// (rows[k], cols[k]) for every k. The pairs may come in any order and may
// repeat; the pattern holds each once, with the columns of each row sorted.
// It runs in O(n + len(rows)) time (two counting sorts) and does not keep
// rows or cols.
//
// NewPattern panics if n is negative, if rows and cols differ in length, or
// if an index is outside [0, n).
func NewPattern(n int, rows, cols []int) *Pattern {
	if n < 0 {
		panic("sparse: negative pattern size")
	}
	if len(rows) != len(cols) {
		panic("sparse: rows and cols differ in length")
	}
	for k, i := range rows {
		if uint(i) >= uint(n) || uint(cols[k]) >= uint(n) {
			panic("sparse: pattern index out of range")
		}
	}
	m := len(rows)

	// Counting sort of the pairs by column, then a stable counting sort by
	// row: the columns of each row come out in increasing order.
	next := make([]int, n+1)
	for _, j := range cols {
		next[j+1]++
	}
	for j := 0; j < n; j++ {
		next[j+1] += next[j]
	}
	byCol := make([]int, m)
	for k, j := range cols {
		byCol[next[j]] = k
		next[j]++
	}
	rowPtr := make([]int, n+1)
	for _, i := range rows {
		rowPtr[i+1]++
	}
	for i := 0; i < n; i++ {
		rowPtr[i+1] += rowPtr[i]
	}
	copy(next, rowPtr[:n])
	col := make([]int, m)
	for _, k := range byCol {
		i := rows[k]
		col[next[i]] = cols[k]
		next[i]++
	}

	// Drop repeats, compacting in place.
	out, start := 0, 0
	for i := 0; i < n; i++ {
		end := rowPtr[i+1]
		rowPtr[i] = out
		for k := start; k < end; k++ {
			if k > start && col[k] == col[k-1] {
				continue
			}
			col[out] = col[k]
			out++
		}
		start = end
	}
	rowPtr[n] = out
	if out < m {
		col = append([]int(nil), col[:out]...)
	}
	return &Pattern{N: n, RowPtr: rowPtr, Col: col}
}

// NNZ returns the number of nonzeros of p.
func (p *Pattern) NNZ() int { return p.RowPtr[p.N] }

// Bandwidth returns the lower and upper bandwidths of p: kl is the largest
// i−j and ku the largest j−i over the nonzeros (i, j), and both are 0 when
// there is no nonzero on that side of the diagonal (or none at all). A
// diagonal pattern has (0, 0), a tridiagonal one (1, 1).
func (p *Pattern) Bandwidth() (kl, ku int) {
	for i := 0; i < p.N; i++ {
		lo, hi := p.RowPtr[i], p.RowPtr[i+1]
		if lo == hi {
			continue
		}
		if d := i - p.Col[lo]; d > kl {
			kl = d
		}
		if d := p.Col[hi-1] - i; d > ku {
			ku = d
		}
	}
	return kl, ku
}

// checkPattern panics unless p is non-nil and its slices have consistent
// lengths. It is O(1): it does not check that the columns are sorted.
func checkPattern(p *Pattern) {
	if p == nil {
		panic("sparse: nil pattern")
	}
	if p.N < 0 || len(p.RowPtr) != p.N+1 || p.RowPtr[p.N] != len(p.Col) {
		panic("sparse: malformed pattern")
	}
}

// transpose returns the pattern of Aᵀ in CSR form, which is A's in CSC
// form: the rows of column j are rowIdx[colPtr[j]:colPtr[j+1]], increasing.
func (p *Pattern) transpose() (colPtr, rowIdx []int) {
	n, rowPtr, cols := p.N, p.RowPtr, p.Col
	colPtr = make([]int, n+1)
	for _, j := range cols {
		colPtr[j+1]++
	}
	for j := range n {
		colPtr[j+1] += colPtr[j]
	}
	next := make([]int, n)
	copy(next, colPtr[:n])
	rowIdx = make([]int, p.NNZ())
	for i := range n {
		for _, j := range cols[rowPtr[i]:rowPtr[i+1]] {
			rowIdx[next[j]] = i
			next[j]++
		}
	}
	return colPtr, rowIdx
}
