package sparse

// ColorColumns colors the columns of p so that no two columns of one color
// have a nonzero in the same row: a distance-1 coloring of the column
// intersection graph, found greedily in natural order (column j takes the
// smallest color not used by a column before it that shares a row with it).
// It returns color[j] in [0, ncolors) for every column j; a column with no
// nonzero gets color 0.
//
// Columns of one color are structurally orthogonal, so one product of A
// with the sum of their unit vectors (SeedTo) gives all of them (Recover).
// A tridiagonal pattern gets 3 colors and a band of half-width b gets 2b+1
// (column j gets j mod (2b+1) once n > 2b). On the 2-D 5-point stencil in
// natural ordering it gives 7 colors where 5 is optimal. The time is O(Σ_i nnz(row i)²)
// and the memory O(n + nnz); nothing is O(n²).
//
// ColorColumns panics if p is nil or malformed.
func ColorColumns(p *Pattern) (color []int, ncolors int) {
	checkPattern(p)
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
