package sparse

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestColorColumnsCounts(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		p            *Pattern
		want         int
	}{
		{"zero size", "no columns, no colors", NewPattern(0, nil, nil), 0},
		{"no nonzeros", "empty columns all take color 0", NewPattern(5, nil, nil), 1},
		{"diagonal", "no two columns share a row", bandPattern(8, 0, 0), 1},
		{"tridiagonal", "columns within distance 2 share a row: j mod 3", bandPattern(10, 1, 1), 3},
		{"tridiagonal n=2", "only two columns, and they share a row", bandPattern(2, 1, 1), 2},
		{"bidiagonal", "columns j and j+1 share row j+1 only", bandPattern(10, 1, 0), 2},
		{"band b=2", "half-width b needs 2b+1", bandPattern(30, 2, 2), 5},
		{"band b=3", "half-width b needs 2b+1", bandPattern(50, 3, 3), 7},
		{"band kl=2 ku=3", "columns within kl+ku share a row: kl+ku+1", bandPattern(40, 2, 3), 6},
		{"dense", "every pair of columns shares a row", bandPattern(6, 5, 5), 6},
		// The 5-point stencil: column i conflicts with i±1, i±2, i±m, i±2m
		// and i±m±1. Greedy in natural order takes 7 (TestGreedyColumnsGrid);
		// the lattice step finds the optimum 5 (TestGridFiveColoring).
		{"grid 5-point m=10", "a lattice coloring of the stencil", gridPattern(10), 5},
		{"grid 5-point m=31", "the same count on a larger grid", gridPattern(31), 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			color, k := ColorColumns(tc.p)
			if k != tc.want {
				t.Errorf("%s: %d colors, want %d", tc.reason, k, tc.want)
			}
			if len(color) != tc.p.N {
				t.Fatalf("len(color) = %d, want %d", len(color), tc.p.N)
			}
			checkColoring(t, tc.p, color, k)
		})
	}
}

// checkColoring fails t unless every color is in [0, k), every color is
// used, and no two columns of one color share a row.
func checkColoring(t *testing.T, p *Pattern, color []int, k int) {
	t.Helper()
	used := make([]bool, k)
	for j, c := range color {
		if c < 0 || c >= k {
			t.Fatalf("column %d has color %d outside [0, %d)", j, c, k)
		}
		used[c] = true
	}
	for c, u := range used {
		if !u {
			t.Errorf("color %d of %d is unused", c, k)
		}
	}
	for i := 0; i < p.N; i++ {
		seen := map[int]int{}
		for _, j := range p.Col[p.RowPtr[i]:p.RowPtr[i+1]] {
			if j0, ok := seen[color[j]]; ok {
				t.Fatalf("columns %d and %d share row %d and color %d", j0, j, i, color[j])
			}
			seen[color[j]] = j
		}
	}
}

// naiveGreedy colors columns in natural order from the dense column
// intersection matrix, in O(n²·n): the reference for ColorColumns.
func naiveGreedy(a [][]float64) []int {
	n := len(a)
	conflict := func(j, k int) bool {
		for i := 0; i < n; i++ {
			if a[i][j] != 0 && a[i][k] != 0 {
				return true
			}
		}
		return false
	}
	color := make([]int, n)
	for j := 0; j < n; j++ {
		taken := map[int]bool{}
		for k := 0; k < j; k++ {
			if conflict(j, k) {
				taken[color[k]] = true
			}
		}
		c := 0
		for taken[c] {
			c++
		}
		color[j] = c
	}
	return color
}

// TestGridFiveColoring shows that 5 colors suffice for the 5-point
// stencil, (c + 2r) mod 5 for grid point (r, c), and that fewer cannot (the
// five columns of an interior row pairwise share that row).
func TestGridFiveColoring(t *testing.T) {
	const m = 12 // large enough for interior rows away from every edge
	p := gridPattern(m)
	color := make([]int, m*m)
	for r := 0; r < m; r++ {
		for c := 0; c < m; c++ {
			color[r*m+c] = (c + 2*r) % 5
		}
	}
	checkColoring(t, p, color, 5)
	interior := m + 1
	if got := p.RowPtr[interior+1] - p.RowPtr[interior]; got != 5 {
		t.Errorf("interior row has %d nonzeros, want 5", got)
	}
}

// denseOf returns the 0/1 matrix of p's nonzeros, as rows.
func denseOf(p *Pattern) [][]float64 {
	a := make([][]float64, p.N)
	for i := range a {
		a[i] = make([]float64, p.N)
		for _, j := range p.Col[p.RowPtr[i]:p.RowPtr[i+1]] {
			a[i][j] = 1
		}
	}
	return a
}

// maxRowNNZ returns the most nonzeros in one row of p: the columns of that
// row pairwise share it, so no valid coloring takes fewer colors.
func maxRowNNZ(p *Pattern) int {
	l := 0
	for i := range p.N {
		l = max(l, p.RowPtr[i+1]-p.RowPtr[i])
	}
	return l
}

// checkNoWorseThanGreedy fails t unless ColorColumns(p) is a valid
// coloring with no more colors than the greedy one, and is the greedy one
// itself unless it takes fewer colors. It returns the number of colors.
func checkNoWorseThanGreedy(t *testing.T, name string, p *Pattern) int {
	t.Helper()
	color, k := ColorColumns(p)
	if len(color) != p.N {
		t.Fatalf("%s: len(color) = %d, want %d", name, len(color), p.N)
	}
	checkColoring(t, p, color, k)
	greedy, kg := greedyColumns(p)
	switch {
	case k > kg:
		t.Errorf("%s: %d colors, more than greedy's %d", name, k, kg)
	case k == kg && !slices.Equal(color, greedy):
		t.Errorf("%s: %d colors as greedy, but not greedy's coloring", name, k)
	}
	if l := maxRowNNZ(p); k < l && p.N > 0 {
		t.Errorf("%s: %d colors, below the %d nonzeros of a row", name, k, l)
	}
	return k
}

// TestColorColumnsAgainstNaive checks the greedy coloring against the
// dense reference, and ColorColumns against greedy: valid, never more
// colors, greedy's own coloring wherever it does not take fewer.
func TestColorColumnsAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, m := range []int{1, 2, 3, 6, 9} {
		p := gridPattern(m)
		color, k := greedyColumns(p)
		if diff := cmp.Diff(naiveGreedy(denseOf(p)), color); diff != "" {
			t.Errorf("grid m=%d: greedy colors (-want +got):\n%s", m, diff)
		}
		checkColoring(t, p, color, k)
		checkNoWorseThanGreedy(t, fmt.Sprintf("grid m=%d", m), p)
	}
	for _, n := range []int{1, 2, 5, 20, 60} {
		for _, density := range []float64{0.05, 0.2, 0.5} {
			a := randomDense(rng, n, density)
			p := patternOf(a)
			color, k := greedyColumns(p)
			if diff := cmp.Diff(naiveGreedy(a), color); diff != "" {
				t.Errorf("n=%d density=%g: greedy colors (-want +got):\n%s", n, density, diff)
			}
			checkColoring(t, p, color, k)
			checkNoWorseThanGreedy(t, fmt.Sprintf("n=%d density=%g", n, density), p)
		}
	}
}

// TestGreedyColumnsGrid: greedy in natural order takes 7 colors on the
// 5-point stencil, 2 more than the optimum, which is why ColorColumns tries
// lattice colorings.
func TestGreedyColumnsGrid(t *testing.T) {
	for _, m := range []int{10, 31} {
		if _, k := greedyColumns(gridPattern(m)); k != 7 {
			t.Errorf("m=%d: greedy takes %d colors, want 7", m, k)
		}
	}
}

// stencilPattern returns the pattern of a stencil on an m1×m2 grid in
// natural order: unknown r·m2+c couples to (r+a, c+b) for every offset
// (a, b) in nbrs that stays on the grid (no wraparound).
func stencilPattern(m1, m2 int, nbrs [][2]int) *Pattern {
	var rows, cols []int
	for r := range m1 {
		for c := range m2 {
			for _, o := range nbrs {
				if rr, cc := r+o[0], c+o[1]; rr >= 0 && rr < m1 && cc >= 0 && cc < m2 {
					rows, cols = append(rows, r*m2+c), append(cols, rr*m2+cc)
				}
			}
		}
	}
	return NewPattern(m1*m2, rows, cols)
}

var (
	fivePoint = [][2]int{{0, 0}, {-1, 0}, {1, 0}, {0, -1}, {0, 1}}
	ninePoint = [][2]int{{-1, -1}, {-1, 0}, {-1, 1}, {0, -1}, {0, 0}, {0, 1}, {1, -1}, {1, 0}, {1, 1}}
)

// sevenPoint3D returns the 7-point stencil on an m×m×m grid in natural
// order: unknown (z·m + y)·m + x couples to its six face neighbors.
func sevenPoint3D(m int) *Pattern {
	var rows, cols []int
	idx := func(x, y, z int) int { return (z*m+y)*m + x }
	in := func(v int) bool { return v >= 0 && v < m }
	for z := range m {
		for y := range m {
			for x := range m {
				i := idx(x, y, z)
				for _, o := range [][3]int{{0, 0, 0}, {-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}} {
					if in(x+o[0]) && in(y+o[1]) && in(z+o[2]) {
						rows, cols = append(rows, i), append(cols, idx(x+o[0], y+o[1], z+o[2]))
					}
				}
			}
		}
	}
	return NewPattern(m*m*m, rows, cols)
}

// permuted returns p with rows and columns renumbered by perm: nonzero
// (i, j) moves to (perm[i], perm[j]).
func permuted(p *Pattern, perm []int) *Pattern {
	var rows, cols []int
	for i := range p.N {
		for _, j := range p.Col[p.RowPtr[i]:p.RowPtr[i+1]] {
			rows, cols = append(rows, perm[i]), append(cols, perm[j])
		}
	}
	return NewPattern(p.N, rows, cols)
}

// TestColorColumnsStencils: on stencils in natural order ColorColumns
// reaches the lower bound, the nonzeros of an interior row, where greedy
// takes more; elsewhere it is valid and no worse than greedy.
func TestColorColumnsStencils(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    *Pattern
		want int // 0: only valid and no worse than greedy
	}{
		{"5-point m=5", gridPattern(5), 5},
		{"5-point m=6", gridPattern(6), 5},
		{"5-point m=7", gridPattern(7), 5},
		{"5-point m=12", gridPattern(12), 5},
		{"5-point m=50", gridPattern(50), 5},
		{"5-point m=101", gridPattern(101), 5},
		{"5-point 9×40", stencilPattern(9, 40, fivePoint), 5},
		{"5-point 40×9", stencilPattern(40, 9, fivePoint), 5},
		{"9-point m=7", stencilPattern(7, 7, ninePoint), 9},
		{"9-point m=20", stencilPattern(20, 20, ninePoint), 9},
		{"9-point m=64", stencilPattern(64, 64, ninePoint), 9},
		{"7-point 3-D m=6", sevenPoint3D(6), 7},
		{"7-point 3-D m=13", sevenPoint3D(13), 7},
		{"tridiagonal", bandPattern(1000, 1, 1), 3},
		{"band kl=2 ku=5", bandPattern(300, 2, 5), 8},
	} {
		k := checkNoWorseThanGreedy(t, tc.name, tc.p)
		if tc.want != 0 && k != tc.want {
			t.Errorf("%s: %d colors, want %d", tc.name, k, tc.want)
		}
		if l := maxRowNNZ(tc.p); tc.want != 0 && l != tc.want {
			t.Errorf("%s: the longest row has %d nonzeros, want %d: the count is not optimal", tc.name, l, tc.want)
		}
	}

	// Greedy already takes the optimum 9 on the 9-point stencil; the
	// lattice family reaches it too ((c + 3r) mod 9 with W = m).
	for _, m := range []int{7, 20} {
		p := stencilPattern(m, m, ninePoint)
		color, k := latticeColumns(p, 9, 9)
		if color == nil || k != 9 {
			t.Fatalf("9-point m=%d: lattice coloring %d colors, found %v; want 9", m, k, color != nil)
		}
		checkColoring(t, p, color, k)
	}

	rng := rand.New(rand.NewPCG(3, 3))
	// Scrambled: the lattice step usually finds nothing, greedy stands.
	for _, m := range []int{6, 30} {
		p := permuted(gridPattern(m), rng.Perm(m*m))
		checkNoWorseThanGreedy(t, fmt.Sprintf("scrambled 5-point m=%d", m), p)
	}
	// A grid with one extra coupling near the end: every lattice candidate
	// valid on the grid fails late, so the budget is spent.
	for _, m := range []int{12, 60} {
		g := gridPattern(m)
		var rows, cols []int
		for i := range g.N {
			for _, j := range g.Col[g.RowPtr[i]:g.RowPtr[i+1]] {
				rows, cols = append(rows, i), append(cols, j)
			}
		}
		n := g.N
		rows, cols = append(rows, n-1, n-3), append(cols, n-3, n-1)
		checkNoWorseThanGreedy(t, fmt.Sprintf("grid m=%d with an extra coupling", m), NewPattern(n, rows, cols))
	}
	// Random sparse patterns, some with few offsets: a narrow random band.
	for _, n := range []int{30, 200} {
		for _, density := range []float64{0.02, 0.1} {
			p := patternOf(randomDense(rng, n, density))
			checkNoWorseThanGreedy(t, fmt.Sprintf("random n=%d density=%g", n, density), p)
		}
		var rows, cols []int
		for i := range n {
			rows, cols = append(rows, i), append(cols, i)
			for _, d := range []int{-7, -3, 2, 5, 11} {
				if j := i + d; j >= 0 && j < n && rng.IntN(3) > 0 {
					rows, cols = append(rows, i), append(cols, j)
				}
			}
		}
		checkNoWorseThanGreedy(t, fmt.Sprintf("random band n=%d", n), NewPattern(n, rows, cols))
	}
}

// products returns y_c = A·s_c for every color, computed directly from
// the dense matrix.
func products(a [][]float64, color []int, k int) [][]float64 {
	n := len(a)
	ys := make([][]float64, k)
	s := make([]float64, n)
	for c := range ys {
		SeedTo(s, color, c)
		ys[c] = make([]float64, n)
		for i := 0; i < n; i++ {
			var sum float64
			for j := 0; j < n; j++ {
				sum += a[i][j] * s[j]
			}
			ys[c][i] = sum
		}
	}
	return ys
}

func TestRecover(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	type matrix struct {
		name string
		a    [][]float64
	}
	var cases []matrix
	for _, n := range []int{1, 3, 17, 80} {
		for _, density := range []float64{0.05, 0.3, 1} {
			cases = append(cases, matrix{"random", randomDense(rng, n, density)})
		}
		for _, bw := range [][2]int{{0, 0}, {1, 1}, {2, 3}, {5, 0}, {0, 5}} {
			a := make([][]float64, n)
			for i := range a {
				a[i] = make([]float64, n)
				for j := max(0, i-bw[0]); j <= min(n-1, i+bw[1]); j++ {
					a[i][j] = nonzero(rng)
				}
			}
			cases = append(cases, matrix{"band", a})
		}
	}
	for _, tc := range cases {
		n := len(tc.a)
		p := patternOf(tc.a)
		color, k := ColorColumns(p)
		ys := products(tc.a, color, k)
		ysIn := make([][]float64, k)
		for c := range ys {
			ysIn[c] = slices.Clone(ys[c])
		}

		want := []float64{}
		for i := 0; i < n; i++ {
			for _, j := range p.Col[p.RowPtr[i]:p.RowPtr[i+1]] {
				want = append(want, tc.a[i][j])
			}
		}
		got := make([]float64, p.NNZ())
		for i := range got {
			got[i] = math.NaN() // a value left unwritten stays NaN and fails
		}
		RecoverTo(got, p, color, ys)
		// Exact equality: each product entry is one value of A plus zeros.
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s n=%d nnz=%d: values (-want +got):\n%s", tc.name, n, p.NNZ(), diff)
		}
		if diff := cmp.Diff(ysIn, ys); diff != "" {
			t.Errorf("%s n=%d: RecoverTo modified the products:\n%s", tc.name, n, diff)
		}
		if diff := cmp.Diff(want, Recover(p, color, ys)); diff != "" {
			t.Errorf("%s n=%d: Recover differs from RecoverTo:\n%s", tc.name, n, diff)
		}
	}
}

func TestSeedTo(t *testing.T) {
	color := []int{0, 1, 2, 0, 1, 2, 0}
	dst := []float64{9, 9, 9, 9, 9, 9, 9} // stale values must be overwritten
	SeedTo(dst, color, 1)
	if diff := cmp.Diff([]float64{0, 1, 0, 0, 1, 0, 0}, dst); diff != "" {
		t.Errorf("seed (-want +got):\n%s", diff)
	}
}

func TestRecoverPanics(t *testing.T) {
	p := bandPattern(4, 1, 1)
	good := []int{0, 1, 2, 0}
	ys := [][]float64{make([]float64, 4), make([]float64, 4), make([]float64, 4)}
	checkPanics(t, []panicCase{
		{"invalid coloring", func() { Recover(p, []int{0, 0, 0, 0}, ys) }},
		{"short coloring", func() { Recover(p, good[:3], ys) }},
		{"missing product", func() { Recover(p, good, ys[:2]) }},
		{"short product", func() { Recover(p, good, [][]float64{ys[0], ys[1], ys[2][:3]}) }},
		{"short dst", func() { RecoverTo(make([]float64, p.NNZ()-1), p, good, ys) }},
		{"nil pattern", func() { Recover(nil, good, ys) }},
		{"seed length", func() { SeedTo(make([]float64, 3), good, 0) }},
	})
}
