package sparse

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// luCase is a matrix for the sparse LU tests, with the reason it is there.
type luCase struct {
	name, reason string
	p            *Pattern
	vals         []float64
	// pivots: the values need off-diagonal pivots or delays somewhere.
	pivots bool
}

// gridShifted returns the 5-point Laplacian on a k×k grid (4 on the
// diagonal, −1 to each neighbour) plus a random diagonal shift uniform in
// [−3, 3): indefinite, with diagonal entries near zero now and then.
func gridShifted(rng *rand.Rand, k int) (*Pattern, []float64) {
	p := gridPattern(k)
	vals := make([]float64, p.NNZ())
	for i := range p.N {
		for t := p.RowPtr[i]; t < p.RowPtr[i+1]; t++ {
			if p.Col[t] == i {
				vals[t] = 4 + 6*rng.Float64() - 3
			} else {
				vals[t] = -1
			}
		}
	}
	return p, vals
}

// smallDiagValues returns values aligned with p.Col: off-diagonal entries
// uniform in [−1, 1), diagonal ones ±[0.01, 0.1), so that the diagonal
// fails the threshold test wherever its column has an entry above ten
// times it. Bounded away from 0, unlike csrPivoting's,
// to keep random draws well conditioned.
func smallDiagValues(rng *rand.Rand, p *Pattern) []float64 {
	vals := make([]float64, p.NNZ())
	for i := range p.N {
		for k := p.RowPtr[i]; k < p.RowPtr[i+1]; k++ {
			if p.Col[k] == i {
				vals[k] = math.Copysign(0.01+0.09*rng.Float64(), rng.Float64()-0.5)
			} else {
				vals[k] = 2*rng.Float64() - 1
			}
		}
	}
	return vals
}

// randomNoDiagonal returns an n×n random sparse matrix of the given
// density plus a random permutation matrix scaled by 3, so that it is
// structurally nonsingular while most of its diagonal is absent: most
// pivots must come from off the diagonal.
func randomNoDiagonal(rng *rand.Rand, n int, density float64) (*Pattern, []float64) {
	a := randomDense(rng, n, density)
	for i, j := range rng.Perm(n) {
		a[i][j] = 3 * nonzero(rng)
	}
	p := patternOf(a)
	vals := make([]float64, 0, p.NNZ())
	for i := range n {
		for _, j := range p.Col[p.RowPtr[i]:p.RowPtr[i+1]] {
			vals = append(vals, a[i][j])
		}
	}
	return p, vals
}

// withDiagonal returns the pattern of a random n×n matrix of the given
// density with its full diagonal.
func withDiagonal(rng *rand.Rand, n int, density float64) *Pattern {
	a := randomDense(rng, n, density)
	for i := range a {
		a[i][i] = 1
	}
	return patternOf(a)
}

func luCases(rng *rand.Rand) []luCase {
	var cs []luCase
	add := func(name, reason string, p *Pattern, vals []float64, pivots bool) {
		cs = append(cs, luCase{name, reason, p, vals, pivots})
	}
	// addRandom draws the values of a random case until its condition
	// number is at most 1e9, so that solutions can be compared with
	// gonum's (a few draws of smallDiag at n = 50 come near 1e12).
	addRandom := func(name, reason string, p *Pattern, draw func() []float64, pivots bool) {
		for range 20 {
			vals := draw()
			var lu mat.LU
			lu.Factorize(denseCSR(p, vals))
			if lu.Cond() <= 1e9 {
				add(name, reason, p, vals, pivots)
				return
			}
		}
		panic("no well-conditioned draw for " + name)
	}
	for _, n := range []int{50, 200, 400} {
		for _, d := range []float64{0.01, 0.03, 0.05} {
			p := withDiagonal(rng, n, d)
			add(fmt.Sprintf("random/n=%d,d=%g/dominant", n, d), "no pivoting: the symbolic analysis is exact",
				p, randomCSRValues(rng, p, csrDominant), false)
			addRandom(fmt.Sprintf("random/n=%d,d=%g/smallDiag", n, d), "diagonal below 0.1: pivots move and delay",
				p, func() []float64 { return smallDiagValues(rng, p) }, true)
			q, v := randomNoDiagonal(rng, n, d)
			addRandom(fmt.Sprintf("random/n=%d,d=%g/noDiag", n, d), "diagonal mostly absent: every front pivots off it",
				q, func() []float64 {
					for k := range v {
						v[k] *= 1 + 0.5*rng.Float64() // a new draw with the same pattern
					}
					return slices.Clone(v)
				}, true)
		}
	}
	for _, k := range []int{10, 13, 17, 20} {
		p, v := gridShifted(rng, k)
		add(fmt.Sprintf("grid5/k=%d/shifted", k), "the target stencil, indefinite", p, v, true)
		add(fmt.Sprintf("grid5/k=%d/dominant", k), "the target stencil, no pivoting", p,
			randomCSRValues(rng, p, csrDominant), false)
	}
	tri := bandPattern(300, 1, 1)
	add("tridiagonal/n=300", "a path: separators of one node", tri, randomCSRValues(rng, tri, csrPivoting), true)
	circ := circulantPattern(300)
	add("circulant/n=300", "a cycle: no leaf to start from", circ, randomCSRValues(rng, circ, csrPivoting), true)
	blocks := disjointUnion(gridPattern(5), bandPattern(7, 0, 0), circulantPattern(19), withDiagonal(rng, 30, 0.1))
	add("blocks/n=81", "disconnected: a forest of elimination trees", blocks,
		randomCSRValues(rng, blocks, csrPivoting), true)
	one := bandPattern(1, 0, 0)
	add("n=1", "the smallest front", one, []float64{-0.5}, false)
	two := NewPattern(2, []int{0, 1}, []int{1, 0})
	add("antidiagonal/n=2", "zero diagonal: both pivots off it", two, []float64{2, -3}, true)
	dense := bandPattern(70, 69, 69)
	add("dense/n=70", "one front wider than a panel", dense, randomCSRValues(rng, dense, csrPivoting), true)
	return cs
}

// TestFactorSparseAgainstGonum factorizes each case in nested-dissection,
// natural and random order and compares Solve, SolveT and LogAbsDet with
// gonum's dense LU of A; it also checks the backward errors against the
// dense A, that the inputs are unchanged, and that without pivoting the
// factor has exactly the size its analysis predicted.
func TestFactorSparseAgainstGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	delayed, scheduled := 0, 0
	for _, tc := range luCases(rng) {
		a := denseCSR(tc.p, tc.vals)
		var ref mat.LU
		ref.Factorize(a)
		cond := ref.Cond()
		if cond > 1e10 {
			t.Fatalf("%s: condition number %.3g: the case is too close to singular to compare solutions", tc.name, cond)
		}
		wantLogDet, _ := ref.LogDet()
		b := randomVector(rng, tc.p.N)
		want, wantT := make([]float64, tc.p.N), make([]float64, tc.p.N)
		solveDense(&ref, false, want, b)
		solveDense(&ref, true, wantT, b)

		var serial []float64 // the nested-dissection solution, one worker
		for _, order := range []string{"nd", "nd/workers=3", "natural", "random"} {
			var perm []int
			switch order {
			case "natural":
				perm = make([]int, tc.p.N)
				for i := range perm {
					perm[i] = i
				}
			case "random":
				perm = rng.Perm(tc.p.N)
			}
			name := tc.name + "/" + order
			pattern := slices.Clone(tc.p.Col)
			vals, permIn := slices.Clone(tc.vals), slices.Clone(perm)
			an := analyze(tc.p, perm, 1)
			if order == "nd/workers=3" {
				// Schedule subtrees on three goroutines however small the
				// matrix (most cases hold less work than parallelMinWork).
				defer func(w int) { parallelMinWork = w }(parallelMinWork)
				parallelMinWork = 0
				an = analyze(tc.p, perm, 3)
				if an.workers > 1 {
					scheduled++
				}
			}
			f, err := an.Factor(tc.vals)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if !slices.Equal(vals, tc.vals) || !slices.Equal(permIn, perm) || !slices.Equal(pattern, tc.p.Col) {
				t.Errorf("%s: an input was modified", name)
			}
			x := make([]float64, tc.p.N)
			f.Solve(x, b)
			checkSolution(t, name+"/Solve", x, want, cond)
			switch order {
			case "nd":
				serial = slices.Clone(x)
			case "nd/workers=3":
				// The fronts see their children in the same order on any
				// schedule: the factor is the same bit for bit.
				if !slices.Equal(x, serial) {
					t.Errorf("%s: the solution differs from the one-worker one", name)
				}
			}
			if be := denseBackwardError(a, false, x, b); be > luBackwardTol {
				t.Errorf("%s: Solve backward error %.3g", name, be)
			}
			f.SolveT(x, b)
			checkSolution(t, name+"/SolveT", x, wantT, cond)
			if be := denseBackwardError(a, true, x, b); be > luBackwardTol {
				t.Errorf("%s: SolveT backward error %.3g", name, be)
			}
			// log|det| is a sum of n logs, each with a relative error of a
			// few ulps times the growth.
			if got := f.LogAbsDet(); math.Abs(got-wantLogDet) > 1e-10*float64(tc.p.N+1)*math.Max(1, math.Abs(wantLogDet)) {
				t.Errorf("%s: LogAbsDet = %v, gonum's %v", name, got, wantLogDet)
			}
			delayed += f.Delayed()
			if f.Delayed() == 0 {
				if f.NNZ() != an.NNZ() || f.Bytes() != an.Bytes() {
					t.Errorf("%s: no delays, yet NNZ %d and Bytes %d differ from the analysis's %d and %d",
						name, f.NNZ(), f.Bytes(), an.NNZ(), an.Bytes())
				}
			} else if f.NNZ() < an.NNZ() {
				// A delay moves a row and a column from a child's front
				// of size m_c with q_c pivots into its parent's, of size
				// m_p ≥ m_c − q_c: nnz(L+U) changes by 2(m_p − m_c + q_c) ≥ 0.
				t.Errorf("%s: %d delays, yet NNZ %d is below the analysis's %d", name, f.Delayed(), f.NNZ(), an.NNZ())
			}
			if !tc.pivots && f.Delayed() != 0 {
				t.Errorf("%s: %d delays in a matrix dominant by columns", name, f.Delayed())
			}
			if an.PeakBytes() < an.Bytes() {
				t.Errorf("%s: PeakBytes %d below Bytes %d", name, an.PeakBytes(), an.Bytes())
			}
		}
	}
	if delayed == 0 {
		t.Error("no case delayed a pivot: the delayed-pivot path is untested")
	}
	if scheduled < 10 {
		t.Errorf("only %d cases ran on several goroutines", scheduled)
	}
}

// luBackwardTol bounds the normwise backward error ‖Ax−b‖∞/(‖A‖∞‖x‖∞+‖b‖∞)
// of a sparse LU solve: a few hundred ulps, allowing element growth up to
// about 100 under threshold pivoting with u = 0.1 (the cases stay far below
// 1e-14).
const luBackwardTol = 1e-13

// checkSolution compares x with the reference solution want: their
// difference relative to want is at most the condition number times a
// small multiple of the unit roundoff, plus the reference's own error.
func checkSolution(t *testing.T, name string, x, want []float64, cond float64) {
	t.Helper()
	diff := 0.0
	for i := range x {
		diff = math.Max(diff, math.Abs(x[i]-want[i]))
	}
	if tol := 1e-13 * cond * math.Max(normInf(want), 1e-300); diff > tol {
		t.Errorf("%s: ‖x − x_gonum‖∞ = %.3g, above %.3g (cond %.3g)", name, diff, tol, cond)
	}
}

// solveDense solves with gonum's LU into dst.
func solveDense(lu *mat.LU, trans bool, dst, b []float64) {
	var x mat.VecDense
	if err := lu.SolveVecTo(&x, trans, mat.NewVecDense(len(b), slices.Clone(b))); err != nil {
		panic(err)
	}
	for i := range dst {
		dst[i] = x.AtVec(i)
	}
}

// TestFactorSparseSingular zeroes one column of nonsingular matrices, as
// explicit zeros or by leaving it out of the pattern, and checks that the
// error names that column by its original index.
func TestFactorSparseSingular(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	type tc struct {
		name string
		p    *Pattern
	}
	cases := []tc{
		{"grid5/k=9", gridPattern(9)},
		{"random/n=120", withDiagonal(rng, 120, 0.04)},
		{"tridiagonal/n=100", bandPattern(100, 1, 1)},
		{"n=1", bandPattern(1, 0, 0)},
	}
	for _, c := range cases {
		for _, j := range []int{0, c.p.N / 2, c.p.N - 1} {
			for _, how := range []string{"zeros", "absent"} {
				name := fmt.Sprintf("%s/col=%d/%s", c.name, j, how)
				vals := randomCSRValues(rng, c.p, csrDominant)
				p := c.p
				if how == "zeros" {
					for k, col := range p.Col {
						if col == j {
							vals[k] = 0
						}
					}
				} else {
					var rows, cols []int
					var kept []float64
					for i := range p.N {
						for k := p.RowPtr[i]; k < p.RowPtr[i+1]; k++ {
							if p.Col[k] != j {
								rows, cols, kept = append(rows, i), append(cols, p.Col[k]), append(kept, vals[k])
							}
						}
					}
					p, vals = NewPattern(p.N, rows, cols), kept
				}
				defer func(w int) { parallelMinWork = w }(parallelMinWork)
				parallelMinWork = 0 // subtrees on goroutines even at n = 9
				f, err := analyze(p, nil, 1+len(name)%3).Factor(vals)
				var se *SingularError
				if !errors.As(err, &se) || !errors.Is(err, ErrSingular) {
					t.Errorf("%s: got %v, %v; want a *SingularError", name, f, err)
					continue
				}
				if se.Row != j || se.Pivot != 0 {
					t.Errorf("%s: Row %d, Pivot %v; want %d, 0", name, se.Row, se.Pivot, j)
				}
			}
		}
	}
}

func TestFactorSparseNotFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := gridPattern(6)
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		vals := randomCSRValues(rng, p, csrDominant)
		k := p.RowPtr[17] + 1 // the second nonzero of row 17
		vals[k] = bad
		_, err := FactorSparse(p, vals, nil)
		var nf *NotFiniteError
		if !errors.As(err, &nf) || nf.Row != 17 || nf.Col != p.Col[k] || !(nf.Value == bad || math.IsNaN(bad)) {
			t.Errorf("value %v: got %v, want a *NotFiniteError at (17, %d)", bad, err, p.Col[k])
		}
	}
}

// TestSparseLUOverlap solves with dst = b and compares with separate
// vectors.
func TestSparseLUOverlap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p, vals := gridShifted(rng, 12)
	f, err := FactorSparse(p, vals, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := randomVector(rng, p.N)
	for _, trans := range []bool{false, true} {
		want := make([]float64, p.N)
		x := slices.Clone(b)
		if trans {
			f.SolveT(want, b)
			f.SolveT(x, x)
		} else {
			f.Solve(want, b)
			f.Solve(x, x)
		}
		if !slices.Equal(x, want) {
			t.Errorf("trans=%v: the in-place solve differs", trans)
		}
	}
}

func TestSparseLUSolveAllocs(t *testing.T) {
	if raceEnabled() {
		t.Skip("sync.Pool drops items at random under -race")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	p, vals := gridShifted(rng, 15)
	f, err := FactorSparse(p, vals, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, x := randomVector(rng, p.N), make([]float64, p.N)
	checkNoAllocs(t, map[string]func(){
		"Solve":          func() { f.Solve(x, b) },
		"SolveT":         func() { f.SolveT(x, b) },
		"Solve in place": func() { f.Solve(x, x) },
	})
}

// TestSparseLUConcurrent runs Solve and SolveT on one factor from several
// goroutines sharing b, each with its own dst, and compares every result
// bit for bit with a serial solve. Run it under -race.
func TestSparseLUConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p, vals := gridShifted(rng, 16)
	f, err := FactorSparse(p, vals, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkConcurrentSolves(t, f, randomVector(rng, p.N), 40)
}

func TestSparseLUZeroSize(t *testing.T) {
	f, err := FactorSparse(NewPattern(0, nil, nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Solve(nil, nil)
	f.SolveT(nil, nil)
	if got := f.LogAbsDet(); got != 0 {
		t.Errorf("LogAbsDet = %v, want 0", got)
	}
	if got := f.NNZ(); got != 0 {
		t.Errorf("NNZ = %d, want 0", got)
	}
}

// symbolicCholeskyNNZ returns nnz(L) of the Cholesky factor of the
// structure of B + Bᵀ, B(i, j) = A(perm[i], perm[j]), diagonal included,
// by eliminating a dense boolean matrix: the reference for the analysis.
func symbolicCholeskyNNZ(p *Pattern, perm []int) int {
	n := p.N
	pos := make([]int, n)
	for i, v := range perm {
		pos[v] = i
	}
	g := make([][]bool, n)
	for i := range g {
		g[i] = make([]bool, n)
		g[i][i] = true
	}
	for a := range n {
		for _, c := range p.Col[p.RowPtr[a]:p.RowPtr[a+1]] {
			g[pos[a]][pos[c]], g[pos[c]][pos[a]] = true, true
		}
	}
	nnz := 0
	for k := range n {
		var below []int
		for i := k + 1; i < n; i++ {
			if g[i][k] {
				below = append(below, i)
			}
		}
		nnz += 1 + len(below)
		for _, i := range below {
			for _, j := range below {
				g[i][j] = true
			}
		}
	}
	return nnz
}

// TestAnalyzeSparseCounts checks the analysis against a dense symbolic
// elimination: NNZ must be exactly 2·nnz(L) − n, whatever the number of
// workers it schedules for.
func TestAnalyzeSparseCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	pats := []struct {
		name string
		p    *Pattern
	}{
		{"grid5/k=15", gridPattern(15)},
		{"random/n=200", withDiagonal(rng, 200, 0.02)},
		{"noDiag/n=150", func() *Pattern { p, _ := randomNoDiagonal(rng, 150, 0.02); return p }()},
		{"tridiagonal/n=90", bandPattern(90, 1, 1)},
		{"blocks", disjointUnion(gridPattern(6), circulantPattern(40), bandPattern(3, 0, 0))},
		{"n=1", bandPattern(1, 0, 0)},
		{"empty/n=5", NewPattern(5, nil, nil)},
	}
	for _, tc := range pats {
		for _, order := range []string{"nd", "random"} {
			perm := NestedDissection(tc.p)
			if order == "random" {
				perm = rng.Perm(tc.p.N)
			}
			for _, workers := range []int{1, 3} {
				a := analyze(tc.p, perm, workers)
				want := 2*symbolicCholeskyNNZ(tc.p, a.perm) - tc.p.N
				if got := a.NNZ(); got != want {
					t.Errorf("%s/%s/workers=%d: NNZ %d, dense symbolic elimination %d", tc.name, order, workers, got, want)
				}
				if !isPermutation(a.Perm(), tc.p.N) {
					t.Errorf("%s/%s/workers=%d: Perm is not a permutation", tc.name, order, workers)
				}
			}
		}
	}
}

func TestSparseLUDescribe(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := gridPattern(10)
	f, err := FactorSparse(p, randomCSRValues(rng, p, csrDominant), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := f.Describe()
	for _, s := range []string{"nested dissection", "n=100", "fill", "0 delayed"} {
		if !strings.Contains(d, s) {
			t.Errorf("Describe() = %q, missing %q", d, s)
		}
	}
	g, err := FactorSparse(p, randomCSRValues(rng, p, csrDominant), RCM(p))
	if err != nil {
		t.Fatal(err)
	}
	if d := g.Describe(); !strings.Contains(d, "given order") {
		t.Errorf("Describe() = %q, want the given order named", d)
	}
}

func TestSparseLUPanics(t *testing.T) {
	p := gridPattern(3)
	vals := make([]float64, p.NNZ())
	for i := range p.N {
		for k := p.RowPtr[i]; k < p.RowPtr[i+1]; k++ {
			if p.Col[k] == i {
				vals[k] = 5
			}
		}
	}
	f, err := FactorSparse(p, vals, nil)
	if err != nil {
		t.Fatal(err)
	}
	var zero SparseLU
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"nil pattern", func() { FactorSparse(nil, nil, nil) }},
		{"short vals", func() { FactorSparse(p, vals[1:], nil) }},
		{"short perm", func() { FactorSparse(p, vals, []int{0, 1}) }},
		{"repeated perm", func() { AnalyzeSparse(p, []int{0, 0, 1, 2, 3, 4, 5, 6, 7}) }},
		{"analysis short vals", func() { AnalyzeSparse(p, nil).Factor(vals[1:]) }},
		{"short dst", func() { f.Solve(make([]float64, 8), make([]float64, 9)) }},
		{"short b", func() { f.SolveT(make([]float64, 9), make([]float64, 8)) }},
		{"zero analysis", func() { new(SparseAnalysis).Factor(nil) }},
		{"zero Solve", func() { zero.Solve(nil, nil) }},
		{"zero LogAbsDet", func() { zero.LogAbsDet() }},
		{"zero NNZ", func() { zero.NNZ() }},
		{"zero Describe", func() { zero.Describe() }},
	} {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "sparse: ") {
					t.Errorf("%s: recovered %v, want a \"sparse: ...\" panic", tc.name, r)
				}
			}()
			tc.fn()
		}()
	}
	if zero.Bytes() != 0 {
		t.Errorf("zero SparseLU: Bytes = %d, want 0", zero.Bytes())
	}
}
