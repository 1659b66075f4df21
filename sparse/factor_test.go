package sparse

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

// Kinds of random values for a pattern with a full diagonal; off-diagonal
// values are uniform in [-1, 1).
const (
	// csrDominant: diagonal ±(c+1+u), c the number of nonzeros in its
	// column, u uniform in [0, 1): strictly diagonally dominant by columns
	// in any symmetric order, so partial pivoting never interchanges rows.
	csrDominant = iota
	// csrPivoting: diagonal uniform in [-0.1, 0.1): many pivots come from
	// off the diagonal (B keeps A's diagonal on its own in any symmetric
	// order), so the band LU interchanges rows and fills U's kl extra
	// super-diagonals. The condition numbers of permutedCases stay below
	// 1.5e8 (1e-3 gave 1e17, too close to singular to compare solutions).
	csrPivoting
)

// randomCSRValues returns values aligned with p.Col of the given kind.
func randomCSRValues(rng *rand.Rand, p *Pattern, kind int) []float64 {
	colCount := make([]int, p.N)
	for _, j := range p.Col {
		colCount[j]++
	}
	vals := make([]float64, p.NNZ())
	for i := 0; i < p.N; i++ {
		for k := p.RowPtr[i]; k < p.RowPtr[i+1]; k++ {
			v := 2*rng.Float64() - 1
			if j := p.Col[k]; j == i {
				if kind == csrDominant {
					v = math.Copysign(float64(colCount[j]+1)+rng.Float64(), v)
				} else {
					v *= 0.1
				}
			}
			vals[k] = v
		}
	}
	return vals
}

// denseCSR returns the matrix with pattern p and values vals as a gonum
// dense matrix (1×1 zero for n = 0: gonum has no 0×0 Dense).
func denseCSR(p *Pattern, vals []float64) *mat.Dense {
	d := mat.NewDense(max(p.N, 1), max(p.N, 1), nil)
	for i := 0; i < p.N; i++ {
		for k := p.RowPtr[i]; k < p.RowPtr[i+1]; k++ {
			d.Set(i, p.Col[k], vals[k])
		}
	}
	return d
}

// denseBackwardError returns ‖Ax − b‖∞ / (‖A‖∞‖x‖∞ + ‖b‖∞), with Aᵀ if
// trans, computed from the dense A.
func denseBackwardError(a *mat.Dense, trans bool, x, b []float64) float64 {
	n := len(b)
	var op mat.Matrix = a
	if trans {
		op = a.T()
	}
	var r mat.VecDense
	r.MulVec(op, mat.NewVecDense(n, slices.Clone(x)))
	res := make([]float64, n)
	for i := range res {
		res[i] = r.AtVec(i) - b[i]
	}
	den := mat.Norm(op, math.Inf(1))*normInf(x) + normInf(b)
	if den == 0 {
		return normInf(res)
	}
	return normInf(res) / den
}

type permutedCase struct {
	name string
	p    *Pattern
}

// permutedCases are patterns with a full diagonal, most of them a band
// hidden under a random symmetric permutation so that the natural order
// has a wide band and RCM a narrow one.
func permutedCases(rng *rand.Rand) []permutedCase {
	band, _ := scramble(rng, randomBandPattern(rng, 300, 3, 2, 0.6))
	grid, _ := scramble(rng, gridPattern(17))
	circ, _ := scramble(rng, circulantPattern(300))
	sparseDiag := func(n int, density float64) *Pattern {
		a := randomDense(rng, n, density)
		for i := range a {
			a[i][i] = 1 // the diagonal is in the pattern; its value is drawn later
		}
		return patternOf(a)
	}
	return []permutedCase{
		{"n=1", bandPattern(1, 0, 0)},
		{"n=2", bandPattern(2, 1, 1)},
		{"circulant/n=7", circulantPattern(7)},
		{"randomBand/n=300,kl=3,ku=2/scrambled", band},
		{"grid5/k=17/scrambled", grid},
		{"circulant/n=300/scrambled", circ},
		{"circulant/n=300", circulantPattern(300)},
		{"unsymmetric/n=60,density=0.05", sparseDiag(60, 0.05)},
		{"blocks/n=40", disjointUnion(gridPattern(4), bandPattern(5, 0, 0), circulantPattern(19))},
	}
}

// TestFactorBandPermutedAgainstGonum factorizes random sparse matrices in
// the natural order, the RCM order and a random order, and compares Solve,
// SolveT and LogAbsDet with gonum's dense mat.LU of A itself; it also
// checks the backward error of each solve against the dense A, the memory
// accounting, and that the inputs are unchanged.
func TestFactorBandPermutedAgainstGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	kindName := map[int]string{csrDominant: "dominant", csrPivoting: "pivoting"}
	for _, pc := range permutedCases(rng) {
		n := pc.p.N
		orders := []struct {
			name string
			perm []int
		}{{"natural", nil}, {"rcm", RCM(pc.p)}, {"random", rng.Perm(n)}}
		for _, kind := range []int{csrDominant, csrPivoting} {
			if kind == csrPivoting && n < 2 {
				continue // a 1×1 matrix has nothing to pivot with
			}
			vals := randomCSRValues(rng, pc.p, kind)
			a := denseCSR(pc.p, vals)
			var ref mat.LU
			ref.Factorize(a)
			cond := ref.Cond()
			wantLog, _ := ref.LogDet()
			for _, o := range orders {
				t.Run(fmt.Sprintf("%s/%s/%s", pc.name, kindName[kind], o.name), func(t *testing.T) {
					pIn := &Pattern{N: n, RowPtr: slices.Clone(pc.p.RowPtr), Col: slices.Clone(pc.p.Col)}
					valsIn, permIn := slices.Clone(vals), slices.Clone(o.perm)
					f, err := FactorBandPermuted(pc.p, vals, o.perm)
					if err != nil {
						t.Fatalf("FactorBandPermuted: %v", err)
					}
					if !slices.Equal(pc.p.RowPtr, pIn.RowPtr) || !slices.Equal(pc.p.Col, pIn.Col) ||
						!slices.Equal(vals, valsIn) || !slices.Equal(o.perm, permIn) {
						t.Fatal("FactorBandPermuted modified an input")
					}
					checkBandFactorShape(t, f, pc.p, o.perm)

					for _, trans := range []bool{false, true} {
						b := randomVector(rng, n)
						bIn := slices.Clone(b)
						x := make([]float64, n)
						for i := range x {
							x[i] = math.NaN() // a stray unwritten entry stays NaN
						}
						if trans {
							f.SolveT(x, b)
						} else {
							f.Solve(x, b)
						}
						if !slices.Equal(b, bIn) {
							t.Fatalf("trans=%v: the solve modified b", trans)
						}
						if be := denseBackwardError(a, trans, x, b); !(be <= backwardTol) {
							t.Errorf("trans=%v: backward error %.3g > %.3g", trans, be, backwardTol)
						}
						// In place gives the same bits: the same arithmetic on
						// the same permuted vector.
						y := slices.Clone(b)
						if trans {
							f.SolveT(y, y)
						} else {
							f.Solve(y, y)
						}
						if !slices.Equal(x, y) {
							t.Errorf("trans=%v: the solve in place differs from the solve into dst", trans)
						}
						if cond > maxCond {
							continue
						}
						checkForwardError(t, &ref, trans, x, b, cond)
					}
					// The elimination order differs from gonum's, so do the
					// pivots; below maxCond the sums still agree within
					// logDetTol·(n+1) (measured 1.5e-15·(n+1)).
					if got := f.LogAbsDet(); cond <= maxCond && !(math.Abs(got-wantLog) <= logDetTol*float64(1+n)) {
						t.Errorf("LogAbsDet = %v, gonum %v", got, wantLog)
					}
					// At n = 2 the one candidate below the diagonal may be the
					// smaller by chance; from n = 7 on some column wins.
					if kind == csrPivoting && n >= 7 {
						interchanged := false
						for j, p := range f.lu.ipiv {
							interchanged = interchanged || p != j
						}
						if !interchanged {
							t.Error("no row interchange with a diagonal 10 times smaller than the rest")
						}
					}
				})
			}
		}
	}
}

// checkBandFactorShape checks Bandwidth, Perm and the memory accounting of
// f, the factor of p in the order perm.
func checkBandFactorShape(t *testing.T, f *BandFactor, p *Pattern, perm []int) {
	t.Helper()
	n := p.N
	kl, ku := f.Bandwidth()
	if wkl, wku := PermutedBandwidth(p, perm); kl != wkl || ku != wku {
		t.Errorf("Bandwidth = (%d, %d), PermutedBandwidth (%d, %d)", kl, ku, wkl, wku)
	}
	want := perm
	if want == nil {
		want = make([]int, n)
		for i := range want {
			want[i] = i
		}
	}
	got := f.Perm()
	if !slices.Equal(got, want) {
		t.Errorf("Perm = %v, want %v", got, want)
	}
	if n > 0 {
		got[0] = -1 // Perm is a copy: changing it changes nothing
		if f.Perm()[0] != want[0] {
			t.Error("Perm returned the factor's own slice")
		}
	}
	// What was allocated, 8 bytes per float64, int and uint64.
	if got, want := int64(8*(cap(f.lu.ab)+cap(f.lu.ipiv))), BandLUBytes(n, kl, ku); got != want {
		t.Errorf("band LU holds %d bytes, BandLUBytes %d", got, want)
	}
	wantBytes := EstimateBandFactorBytes(n, kl, ku)
	if perm == nil {
		wantBytes -= 8 * int64(n) // the natural order keeps no permutation
	}
	if got, want := f.Bytes(), wantBytes; got != want {
		t.Errorf("Bytes = %d, EstimateBandFactorBytes %d", got, want)
	}
}

// TestFactorBandPermutedNatural checks that a nil perm and the identity
// give bit for bit what FactorBand gives on NewBandCSR with p's bandwidth.
func TestFactorBandPermutedNatural(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := randomBandPattern(rng, 200, 4, 2, 0.7)
	vals := randomCSRValues(rng, p, csrPivoting)
	kl, ku := p.Bandwidth()
	band, err := NewBandCSR(p, vals, kl, ku)
	if err != nil {
		t.Fatal(err)
	}
	lu, err := FactorBand(band)
	if err != nil {
		t.Fatal(err)
	}
	identity := make([]int, p.N)
	for i := range identity {
		identity[i] = i
	}
	b := randomVector(rng, p.N)
	for _, perm := range [][]int{nil, identity} {
		f, err := FactorBandPermuted(p, vals, perm)
		if err != nil {
			t.Fatal(err)
		}
		for _, trans := range []bool{false, true} {
			want, got := slices.Clone(b), make([]float64, p.N)
			if trans {
				lu.SolveT(want)
				f.SolveT(got, b)
			} else {
				lu.Solve(want)
				f.Solve(got, b)
			}
			if !slices.Equal(got, want) {
				t.Errorf("identity=%v trans=%v: differs from FactorBand", perm != nil, trans)
			}
		}
		if f.LogAbsDet() != lu.LogAbsDet() {
			t.Errorf("identity=%v: LogAbsDet differs from FactorBand", perm != nil)
		}
	}
}

// TestFactorBandPermutedSingular zeroes column c (its values; the pattern
// keeps them) of a column-dominant scrambled matrix. The other columns stay
// independent (dropping row and column c leaves a dominant matrix), so in
// any order the first step without a pivot is the one that eliminates
// column c, and the error must name c, the original index.
func TestFactorBandPermutedSingular(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p, _ := scramble(rng, gridPattern(9))
	n := p.N
	orders := map[string][]int{"natural": nil, "rcm": RCM(p), "random": rng.Perm(n)}
	for _, c := range []int{0, 40, n - 1} {
		vals := randomCSRValues(rng, p, csrDominant)
		for k, j := range p.Col {
			if j == c {
				vals[k] = 0
			}
		}
		for name, perm := range orders {
			t.Run(fmt.Sprintf("column=%d/%s", c, name), func(t *testing.T) {
				f, err := FactorBandPermuted(p, vals, perm)
				if f != nil {
					t.Error("FactorBandPermuted returned a factor with its error")
				}
				var se *SingularError
				if !errors.As(err, &se) {
					t.Fatalf("error %v, want *SingularError", err)
				}
				if !errors.Is(err, ErrSingular) {
					t.Error("errors.Is(err, ErrSingular) is false")
				}
				if se.Row != c || se.Pivot != 0 {
					t.Errorf("Row = %d, Pivot = %v; want the zero column %d and 0", se.Row, se.Pivot, c)
				}
			})
		}
	}

	// A NaN at (r, c) is reported at A's (r, c).
	vals := randomCSRValues(rng, p, csrDominant)
	const k = 100 // some nonzero off the diagonal
	r := 0
	for p.RowPtr[r+1] <= k {
		r++
	}
	if p.Col[k] == r {
		t.Fatal("nonzero 100 lies on the diagonal; pick another")
	}
	vals[k] = math.Inf(-1)
	for name, perm := range orders {
		_, err := FactorBandPermuted(p, vals, perm)
		var nf *NotFiniteError
		if !errors.As(err, &nf) || nf.Row != r || nf.Col != p.Col[k] || !math.IsInf(nf.Value, -1) {
			t.Errorf("%s: error %v, want a *NotFiniteError -Inf at (%d, %d)", name, err, r, p.Col[k])
		}
	}
}

// TestBandFactorOverlap solves with dst = b and with dst and b
// overlapping by all but one entry, either way round, in natural and RCM
// order: each must give the bits of a solve into a separate dst.
func TestBandFactorOverlap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p, _ := scramble(rng, gridPattern(8))
	n := p.N
	vals := randomCSRValues(rng, p, csrPivoting)
	for name, perm := range map[string][]int{"natural": nil, "rcm": RCM(p)} {
		f, err := FactorBandPermuted(p, vals, perm)
		if err != nil {
			t.Fatal(err)
		}
		for _, trans := range []bool{false, true} {
			solve := f.Solve
			if trans {
				solve = f.SolveT
			}
			b := randomVector(rng, n)
			want := make([]float64, n)
			solve(want, b)
			// shift is dst's offset from b in a shared array of n+1.
			for _, shift := range []int{0, 1, -1} {
				w := make([]float64, n+1)
				bOff, dOff := max(0, -shift), max(0, shift)
				copy(w[bOff:], b)
				solve(w[dOff:dOff+n], w[bOff:bOff+n])
				if !slices.Equal(w[dOff:dOff+n], want) {
					t.Errorf("%s trans=%v: dst at offset %d from b gives another solution", name, trans, shift)
				}
			}
		}
	}
}

// raceEnabled reports whether the test binary was built with -race, under
// which sync.Pool drops items at random and so allocates.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

func TestBandFactorSolveAllocs(t *testing.T) {
	if raceEnabled() {
		t.Skip("sync.Pool drops items at random under -race")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	p, _ := scramble(rng, gridPattern(12))
	f, err := FactorBandPermuted(p, randomCSRValues(rng, p, csrPivoting), RCM(p))
	if err != nil {
		t.Fatal(err)
	}
	nat, err := FactorBandPermuted(p, randomCSRValues(rng, p, csrPivoting), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, x := randomVector(rng, p.N), make([]float64, p.N)
	checkNoAllocs(t, map[string]func(){
		"Solve":          func() { f.Solve(x, b) },
		"SolveT":         func() { f.SolveT(x, b) },
		"Solve in place": func() { f.Solve(x, x) },
		"Solve natural":  func() { nat.Solve(x, b) },
	})
}

// TestBandFactorConcurrent runs Solve and SolveT on one factor from
// several goroutines sharing b, each with its own dst, and compares every
// result bit for bit with a serial solve. Run it under -race.
func TestBandFactorConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p, _ := scramble(rng, gridPattern(15))
	f, err := FactorBandPermuted(p, randomCSRValues(rng, p, csrPivoting), RCM(p))
	if err != nil {
		t.Fatal(err)
	}
	checkConcurrentSolves(t, f, randomVector(rng, p.N), 50)
}

func TestBandFactorZeroSize(t *testing.T) {
	f, err := FactorBandPermuted(NewPattern(0, nil, nil), nil, []int{})
	if err != nil {
		t.Fatal(err)
	}
	f.Solve(nil, nil)
	f.SolveT(nil, nil)
	if got := f.LogAbsDet(); got != 0 {
		t.Errorf("LogAbsDet = %v, want 0", got)
	}
	if got := f.Bytes(); got != 0 {
		t.Errorf("Bytes = %d, want 0", got)
	}
}

func TestEstimateBandFactorBytes(t *testing.T) {
	// Band LU 8·n·(2kl+ku+2) and perm 8·n.
	if got, want := EstimateBandFactorBytes(100, 2, 3), int64(8*100*9+8*100); got != want {
		t.Errorf("EstimateBandFactorBytes(100, 2, 3) = %d, want %d", got, want)
	}
	for _, c := range [][3]int{{math.MaxInt, 1, 1}, {math.MaxInt64 / 8, 0, 0}, {1 << 40, 1 << 20, 0}} {
		if got := EstimateBandFactorBytes(c[0], c[1], c[2]); got != math.MaxInt64 {
			t.Errorf("EstimateBandFactorBytes%v = %d, want math.MaxInt64", c, got)
		}
	}
}

func TestBandFactorPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := circulantPattern(5)
	vals := randomCSRValues(rng, p, csrDominant)
	f, err := FactorBandPermuted(p, vals, RCM(p))
	if err != nil {
		t.Fatal(err)
	}
	var zero BandFactor
	v4, v5 := make([]float64, 4), make([]float64, 5)
	checkPanics(t, []panicCase{
		{"nil pattern", func() { FactorBandPermuted(nil, nil, nil) }},
		{"values length", func() { FactorBandPermuted(p, vals[1:], nil) }},
		{"perm short", func() { FactorBandPermuted(p, vals, []int{0, 1, 2, 3}) }},
		{"perm repeat", func() { FactorBandPermuted(p, vals, []int{0, 1, 2, 3, 3}) }},
		{"Solve dst length", func() { f.Solve(v4, v5) }},
		{"Solve b length", func() { f.Solve(v5, v4) }},
		{"SolveT dst length", func() { f.SolveT(v4, v5) }},
		{"zero Solve", func() { zero.Solve(nil, nil) }},
		{"zero LogAbsDet", func() { zero.LogAbsDet() }},
		{"negative estimate", func() { EstimateBandFactorBytes(-1, 0, 0) }},
	})
}

// BenchmarkFactorBandPermuted factorizes and solves the circulant
// (cyclic tridiagonal, diagonally dominant) matrix of tridiagN = 10⁶
// unknowns in its RCM order, where it is a band with kl = ku = 2; in
// natural order its band is n−1 wide and the factor would need the
// natural-TB terabytes. In the same iterations it times FactorBand+Solve
// on a tridiagonal Band of the same size, and reports the ratios
// permuted/tridiag for the factorization (including building B from CSR)
// and for the solve (including the two permutations).
func BenchmarkFactorBandPermuted(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := circulantPattern(tridiagN)
	vals := randomCSRValues(rng, p, csrDominant)
	perm := RCM(p)
	_, _, _, tri := tridiagonal(rng, tridiagN)
	rhs := randomVector(rng, tridiagN)
	x, y := make([]float64, tridiagN), make([]float64, tridiagN)
	b.Run(fmt.Sprintf("circulant/n=%d", tridiagN), func(b *testing.B) {
		var factorT, solveT, triFactorT, triSolveT time.Duration
		var f *BandFactor
		for b.Loop() {
			t0 := time.Now()
			var err error
			f, err = FactorBandPermuted(p, vals, perm)
			if err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			f.Solve(x, rhs)
			t2 := time.Now()
			lu, err := FactorBand(tri)
			if err != nil {
				b.Fatal(err)
			}
			t3 := time.Now()
			copy(y, rhs)
			lu.Solve(y)
			t4 := time.Now()
			factorT += t1.Sub(t0)
			solveT += t2.Sub(t1)
			triFactorT += t3.Sub(t2)
			triSolveT += t4.Sub(t3)
		}
		// Guard against timing a wrong path: the residual of the circulant
		// solve is at rounding level (the matrix is dominant, cond < 3).
		var res float64
		for i := 0; i < p.N; i++ {
			s := -rhs[i]
			for k := p.RowPtr[i]; k < p.RowPtr[i+1]; k++ {
				s += vals[k] * x[p.Col[k]]
			}
			res = max(res, math.Abs(s))
		}
		if tol := 64 * eps * normInf(rhs); res > tol { // 64ε: a few entries of size < 5 per row
			b.Fatalf("residual %.3g > %.3g", res, tol)
		}
		kl, ku := f.Bandwidth()
		iters := float64(b.N)
		b.ReportMetric(float64(factorT.Nanoseconds())/iters, "factor-ns")
		b.ReportMetric(float64(solveT.Nanoseconds())/iters, "solve-ns")
		b.ReportMetric(float64(factorT)/float64(triFactorT), "factor-permuted/tridiag")
		b.ReportMetric(float64(solveT)/float64(triSolveT), "solve-permuted/tridiag")
		b.ReportMetric(float64(max(kl, ku)), "bandwidth")
		b.ReportMetric(float64(f.Bytes())/1e6, "factor-MB")
		b.ReportMetric(float64(EstimateBandFactorBytes(tridiagN, tridiagN-1, tridiagN-1))/1e12, "natural-TB")
	})
}

// TestFactorBandColored checks that reading A off its colored products
// straight into the factor gives bit for bit the factor of
// FactorBandPermuted on Recover's values, in each order, and the errors
// and panics of bad input.
func TestFactorBandColored(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, pc := range permutedCases(rng) {
		n := pc.p.N
		for _, perm := range [][]int{nil, RCM(pc.p), rng.Perm(n)} {
			vals := randomCSRValues(rng, pc.p, csrPivoting)
			a := make([][]float64, n)
			for i := range a {
				a[i] = make([]float64, n)
				for k := pc.p.RowPtr[i]; k < pc.p.RowPtr[i+1]; k++ {
					a[i][pc.p.Col[k]] = vals[k]
				}
			}
			color, k := ColorColumns(pc.p)
			ys := products(a, color, k)
			want, err := FactorBandPermuted(pc.p, Recover(pc.p, color, ys), perm)
			if err != nil {
				t.Fatalf("%s: FactorBandPermuted: %v", pc.name, err)
			}
			got, err := FactorBandColored(pc.p, color, ys, perm)
			if err != nil {
				t.Fatalf("%s: FactorBandColored: %v", pc.name, err)
			}
			if !slices.Equal(got.lu.ab, want.lu.ab) || !slices.Equal(got.lu.ipiv, want.lu.ipiv) ||
				!slices.Equal(got.perm, want.perm) || got.identity != want.identity {
				t.Errorf("%s: the factors differ", pc.name)
			}
			checkBandFactorShape(t, got, pc.p, perm)
		}
	}

	// A tridiagonal 4×4 colored 0 1 2 0.
	p := bandPattern(4, 1, 1)
	color := []int{0, 1, 2, 0}
	ys := [][]float64{{4, 1, 0, 1}, {1, 4, 1, 0}, {0, 1, 4, 1}}
	ys[2][2] = math.Inf(1) // A(2, 2)
	_, err := FactorBandColored(p, color, ys, nil)
	var nf *NotFiniteError
	if !errors.As(err, &nf) || nf.Row != 2 || nf.Col != 2 {
		t.Errorf("an infinite A(2, 2): err = %v, want a *NotFiniteError at (2, 2)", err)
	}
	ys[2][2] = 4
	ys[0][0], ys[1][0] = 0, 0 // column 0 zero
	if _, err := FactorBandColored(p, color, ys, nil); !errors.Is(err, ErrSingular) {
		t.Errorf("a zero column: err = %v, want ErrSingular", err)
	}
	checkPanics(t, []panicCase{
		{"two columns of one color share a row", func() { FactorBandColored(p, []int{0, 0, 1, 2}, ys, nil) }},
		{"a color without a product", func() { FactorBandColored(p, []int{0, 1, 2, 3}, ys, nil) }},
		{"a short product", func() { FactorBandColored(p, color, [][]float64{ys[0], ys[1], ys[2][:3]}, nil) }},
		{"a short coloring", func() { FactorBandColored(p, color[:3], ys, nil) }},
	})
}
