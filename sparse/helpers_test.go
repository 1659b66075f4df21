package sparse

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// bandPattern returns the full band pattern of an n×n matrix with kl sub-
// and ku super-diagonals.
func bandPattern(n, kl, ku int) *Pattern {
	var rows, cols []int
	for i := 0; i < n; i++ {
		for j := max(0, i-kl); j <= min(n-1, i+ku); j++ {
			rows = append(rows, i)
			cols = append(cols, j)
		}
	}
	return NewPattern(n, rows, cols)
}

// gridPattern returns the 5-point stencil on an m×m grid in natural
// (row-major) ordering: unknown r·m+c couples to its four neighbors.
func gridPattern(m int) *Pattern {
	n := m * m
	rows := make([]int, 0, 5*n)
	cols := make([]int, 0, 5*n)
	add := func(i, j int) { rows, cols = append(rows, i), append(cols, j) }
	for r := 0; r < m; r++ {
		for c := 0; c < m; c++ {
			i := r*m + c
			add(i, i)
			if c > 0 {
				add(i, i-1)
			}
			if c < m-1 {
				add(i, i+1)
			}
			if r > 0 {
				add(i, i-m)
			}
			if r < m-1 {
				add(i, i+m)
			}
		}
	}
	return NewPattern(n, rows, cols)
}

// randomDense returns an n×n matrix, as rows, with each entry nonzero with
// probability density, values uniform in [-1, 1) and never exactly 0.
func randomDense(rng *rand.Rand, n int, density float64) [][]float64 {
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, n)
		for j := range a[i] {
			if rng.Float64() < density {
				a[i][j] = nonzero(rng)
			}
		}
	}
	return a
}

// nonzero returns a value uniform in [-1, -0.01] ∪ [0.01, 1], away from 0
// so that a structural nonzero is never an accidental zero.
func nonzero(rng *rand.Rand) float64 {
	v := 0.01 + 0.99*rng.Float64()
	if rng.IntN(2) == 0 {
		return -v
	}
	return v
}

// patternOf returns the pattern of the nonzeros of a.
func patternOf(a [][]float64) *Pattern {
	var rows, cols []int
	for i := range a {
		for j, v := range a[i] {
			if v != 0 {
				rows = append(rows, i)
				cols = append(cols, j)
			}
		}
	}
	return NewPattern(len(a), rows, cols)
}

// Kinds of random band matrix. Off-diagonal band entries are uniform in
// [-1, 1) unless said otherwise.
const (
	// dominant: diagonal ±(kl+ku+1+u), u uniform in [0, 1): strictly
	// diagonally dominant by columns, so partial pivoting never
	// interchanges rows and the condition number is below 10.
	dominant = iota
	// swapped (kl ≥ 1 and ku ≥ 1): diagonal scaled by 1e-3 and, for every
	// pair of rows (2q, 2q+1), the entries (2q+1, 2q) and (2q, 2q+1) set to
	// ±(kl+ku+1+u). Swapping each pair gives a matrix dominant by columns,
	// so partial pivoting must interchange at every even step and the
	// matrix is well conditioned.
	swapped
	// smallDiag (kl ≥ 1): diagonal scaled by 1e-3, so pivoting interchanges
	// rows wherever a sub-diagonal entry wins. With ku = 0 or kl = 0 the
	// matrix is triangular with a tiny diagonal and its condition number is
	// astronomical (1e15 at n = 5): only backward error is checkable there.
	smallDiag
)

// randomBand returns a random n×n band matrix of the given kind.
func randomBand(rng *rand.Rand, n, kl, ku, kind int) *Band {
	b := NewBand(n, kl, ku)
	big := func() float64 {
		return math.Copysign(float64(kl+ku+1)+rng.Float64(), 2*rng.Float64()-1)
	}
	for j := 0; j < n; j++ {
		for i := max(0, j-ku); i <= min(n-1, j+kl); i++ {
			v := 2*rng.Float64() - 1
			switch {
			case i == j && kind == dominant:
				v = big()
			case i == j:
				v *= 1e-3
			case kind == swapped && i/2 == j/2:
				v = big()
			}
			b.Set(i, j, v)
		}
	}
	if kind == swapped && n%2 == 1 {
		b.Set(n-1, n-1, big()) // the unpaired last row keeps a dominant diagonal
	}
	return b
}

// dense returns b as a gonum dense matrix.
func dense(b *Band) *mat.Dense {
	n, _, _ := b.Dims()
	d := mat.NewDense(max(n, 1), max(n, 1), nil) // gonum has no 0×0 Dense
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			d.Set(i, j, b.At(i, j))
		}
	}
	return d
}

func randomVector(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 2*rng.Float64() - 1
	}
	return v
}

// thomas solves the tridiagonal system sub[i]·x[i−1] + diag[i]·x[i] +
// sup[i]·x[i+1] = rhs[i] by the Thomas algorithm (no pivoting; stable for
// diagonally dominant systems), writing x and using cp (length n) as
// scratch. sub[0] and sup[n−1] are not read. It is the test's independent
// reference for FactorBand on tridiagonal matrices.
func thomas(x, cp, sub, diag, sup, rhs []float64) {
	n := len(diag)
	beta := diag[0]
	x[0] = rhs[0] / beta
	for i := 1; i < n; i++ {
		cp[i-1] = sup[i-1] / beta
		beta = diag[i] - sub[i]*cp[i-1]
		x[i] = (rhs[i] - sub[i]*x[i-1]) / beta
	}
	for i := n - 2; i >= 0; i-- {
		x[i] -= cp[i] * x[i+1]
	}
}

// tridiagonal returns random diagonally dominant tridiagonal coefficients
// (|diag| ≥ 2 > |sub| + |sup|) and the same matrix as a Band.
func tridiagonal(rng *rand.Rand, n int) (sub, diag, sup []float64, b *Band) {
	sub, diag, sup = make([]float64, n), make([]float64, n), make([]float64, n)
	b = NewBand(n, 1, 1)
	for i := 0; i < n; i++ {
		diag[i] = 2 + rng.Float64()
		b.Set(i, i, diag[i])
		if i > 0 {
			sub[i] = 2*rng.Float64() - 1
			b.Set(i, i-1, sub[i])
		}
		if i < n-1 {
			sup[i] = 2*rng.Float64() - 1
			b.Set(i, i+1, sup[i])
		}
	}
	return sub, diag, sup, b
}

// solver is a factorization's two solves.
type solver interface {
	Solve(dst, b []float64)
	SolveT(dst, b []float64)
}

// checkConcurrentSolves runs rounds of Solve and SolveT of f on 8
// goroutines sharing b, each with its own dst, and compares every result
// bit for bit with a serial solve; b must not change. Run it under -race.
func checkConcurrentSolves(t *testing.T, f solver, b []float64, rounds int) {
	t.Helper()
	n := len(b)
	bIn := slices.Clone(b)
	want, wantT := make([]float64, n), make([]float64, n)
	f.Solve(want, b)
	f.SolveT(wantT, b)
	const goroutines = 8
	var wg sync.WaitGroup
	bad := make([]int, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			x := make([]float64, n)
			for r := range rounds {
				if (g+r)%2 == 0 {
					f.Solve(x, b)
					if !slices.Equal(x, want) {
						bad[g]++
					}
				} else {
					f.SolveT(x, b)
					if !slices.Equal(x, wantT) {
						bad[g]++
					}
				}
			}
		})
	}
	wg.Wait()
	for g, c := range bad {
		if c != 0 {
			t.Errorf("goroutine %d: %d of %d solves differ from the serial one", g, c, rounds)
		}
	}
	if !slices.Equal(b, bIn) {
		t.Error("the shared b was modified")
	}
}

// panicCase is a call that must panic.
type panicCase struct {
	name string
	f    func()
}

// checkPanics runs each case as a subtest and fails it if its call does
// not panic.
func checkPanics(t *testing.T, cases []panicCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			tc.f()
		})
	}
}

// checkForwardError checks a solve x of A x = b (Aᵀ x = b with trans)
// against gonum's LU ref of A: relative difference within cond·forwardTol.
func checkForwardError(t *testing.T, ref *mat.LU, trans bool, x, b []float64, cond float64) {
	t.Helper()
	var want mat.VecDense
	if err := ref.SolveVecTo(&want, trans, mat.NewVecDense(len(b), slices.Clone(b))); err != nil {
		t.Fatalf("gonum SolveVecTo: %v", err)
	}
	var diff float64
	for i := range x {
		diff = max(diff, math.Abs(x[i]-want.AtVec(i)))
	}
	if rel := diff / normInf(want.RawVector().Data); !(rel <= cond*forwardTol) {
		t.Errorf("trans=%v: relative difference from gonum %.3g > cond %.3g × %.3g", trans, rel, cond, forwardTol)
	}
}

// checkNoAllocs fails for each solve that allocates.
func checkNoAllocs(t *testing.T, solves map[string]func()) {
	t.Helper()
	for name, solve := range solves {
		if got := testing.AllocsPerRun(10, solve); got != 0 {
			t.Errorf("%s allocates %v times per call, want 0", name, got)
		}
	}
}
