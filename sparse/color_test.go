package sparse

import (
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
		// and i±m±1. Its optimum is 5 (TestGridFiveColoring), but greedy in
		// natural order takes 7, not the 5 that design section 8 expects;
		// TestColorColumnsAgainstNaive checks the 7 is what greedy gives.
		{"grid 5-point m=10", "natural-order greedy on the stencil", gridPattern(10), 7},
		{"grid 5-point m=31", "the same count on a larger grid", gridPattern(31), 7},
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

func TestColorColumnsAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, m := range []int{1, 2, 3, 6, 9} {
		p := gridPattern(m)
		a := make([][]float64, p.N)
		for i := range a {
			a[i] = make([]float64, p.N)
			for _, j := range p.Col[p.RowPtr[i]:p.RowPtr[i+1]] {
				a[i][j] = 1
			}
		}
		color, _ := ColorColumns(p)
		if diff := cmp.Diff(naiveGreedy(a), color); diff != "" {
			t.Errorf("grid m=%d: colors (-want +got):\n%s", m, diff)
		}
	}
	for _, n := range []int{1, 2, 5, 20, 60} {
		for _, density := range []float64{0.05, 0.2, 0.5} {
			a := randomDense(rng, n, density)
			p := patternOf(a)
			color, k := ColorColumns(p)
			want := naiveGreedy(a)
			if diff := cmp.Diff(want, color); diff != "" {
				t.Errorf("n=%d density=%g: colors (-want +got):\n%s", n, density, diff)
			}
			checkColoring(t, p, color, k)
		}
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
