package sparse

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestNewPattern(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		n            int
		rows, cols   []int
		wantRowPtr   []int
		wantCol      []int
	}{
		{
			name: "empty", reason: "n = 0 has one row pointer and no columns",
			n: 0, wantRowPtr: []int{0}, wantCol: []int{},
		},
		{
			name: "no nonzeros", reason: "rows without entries keep equal pointers",
			n: 3, wantRowPtr: []int{0, 0, 0, 0}, wantCol: []int{},
		},
		{
			name: "unsorted with repeats", reason: "pairs in any order, each kept once, columns sorted per row",
			n:    3,
			rows: []int{2, 0, 2, 0, 1, 2, 0}, cols: []int{0, 2, 2, 0, 1, 0, 2},
			wantRowPtr: []int{0, 2, 3, 5}, wantCol: []int{0, 2, 1, 0, 2},
		},
		{
			name: "one row reversed", reason: "descending input columns come out ascending",
			n:    4,
			rows: []int{1, 1, 1, 1}, cols: []int{3, 2, 1, 0},
			wantRowPtr: []int{0, 0, 4, 4, 4}, wantCol: []int{0, 1, 2, 3},
		},
		{
			name: "all repeats", reason: "a pair given three times is one nonzero",
			n:    2,
			rows: []int{1, 1, 1}, cols: []int{0, 0, 0},
			wantRowPtr: []int{0, 0, 1}, wantCol: []int{0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPattern(tc.n, tc.rows, tc.cols)
			if diff := cmp.Diff(tc.wantRowPtr, p.RowPtr); diff != "" {
				t.Errorf("%s: RowPtr (-want +got):\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantCol, p.Col, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: Col (-want +got):\n%s", tc.reason, diff)
			}
			if got, want := p.NNZ(), len(tc.wantCol); got != want {
				t.Errorf("%s: NNZ = %d, want %d", tc.reason, got, want)
			}
		})
	}
}

// TestNewPatternRandom checks NewPattern against sorting and deduplicating
// the pairs with the standard library.
func TestNewPatternRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 2, 7, 50} {
		m := 3 * n * n / 2 // enough pairs to repeat some
		rows, cols := make([]int, m), make([]int, m)
		type pair struct{ i, j int }
		var want []pair
		for k := range rows {
			rows[k], cols[k] = rng.IntN(n), rng.IntN(n)
			want = append(want, pair{rows[k], cols[k]})
		}
		slices.SortFunc(want, func(a, b pair) int {
			if a.i != b.i {
				return a.i - b.i
			}
			return a.j - b.j
		})
		want = slices.Compact(want)
		rowsIn, colsIn := slices.Clone(rows), slices.Clone(cols)

		p := NewPattern(n, rows, cols)

		var got []pair
		for i := 0; i < n; i++ {
			for _, j := range p.Col[p.RowPtr[i]:p.RowPtr[i+1]] {
				got = append(got, pair{i, j})
			}
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(pair{})); diff != "" {
			t.Errorf("n=%d: pairs (-want +got):\n%s", n, diff)
		}
		if !slices.Equal(rows, rowsIn) || !slices.Equal(cols, colsIn) {
			t.Errorf("n=%d: NewPattern modified its inputs", n)
		}
	}
}

func TestBandwidth(t *testing.T) {
	for _, tc := range []struct {
		name, reason   string
		p              *Pattern
		wantKL, wantKU int
	}{
		{"empty", "no nonzeros: no band", NewPattern(4, nil, nil), 0, 0},
		{"zero size", "n = 0", NewPattern(0, nil, nil), 0, 0},
		{"diagonal", "only i = j", bandPattern(5, 0, 0), 0, 0},
		{"tridiagonal", "one diagonal on each side", bandPattern(6, 1, 1), 1, 1},
		{"lower", "sub-diagonals only", bandPattern(9, 2, 0), 2, 0},
		{"upper", "super-diagonals only", bandPattern(9, 0, 3), 0, 3},
		{"uneven", "kl and ku differ", bandPattern(10, 2, 3), 2, 3},
		{"corner", "a single far entry (n-1, 0) sets kl to n-1", NewPattern(5, []int{4}, []int{0}), 4, 0},
		{"grid", "the 5-point stencil on an m×m grid has bandwidth m", gridPattern(7), 7, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kl, ku := tc.p.Bandwidth()
			if kl != tc.wantKL || ku != tc.wantKU {
				t.Errorf("%s: Bandwidth = (%d, %d), want (%d, %d)", tc.reason, kl, ku, tc.wantKL, tc.wantKU)
			}
		})
	}
}

func TestNewPatternPanics(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n          int
		rows, cols []int
	}{
		{"negative size", -1, nil, nil},
		{"length mismatch", 3, []int{0, 1}, []int{0}},
		{"row out of range", 3, []int{3}, []int{0}},
		{"column out of range", 3, []int{0}, []int{-1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("NewPattern did not panic")
				}
			}()
			NewPattern(tc.n, tc.rows, tc.cols)
		})
	}
}
