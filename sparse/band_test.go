package sparse

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gonum.org/v1/gonum/mat"
)

// Tolerances. The figures quoted as measured are the worst over
// TestFactorBandAgainstGonum's cases with the seed below.
const (
	eps = 0x1p-52 // float64 unit roundoff
	// backwardTol bounds the normwise backward error ‖Ax − b‖∞ /
	// (‖A‖∞‖x‖∞ + ‖b‖∞) of a solve. Theory allows a small multiple of
	// (2kl+ku+1)·ε·growth; measured 1.0ε, so 16ε fails a solve that is
	// wrong in any entry but not one that rounds differently.
	backwardTol = 16 * eps
	// forwardTol times the condition number bounds the relative difference
	// from gonum's solution: each solution is within cond·(backward error)
	// of the exact one. Measured 0.88ε·cond.
	forwardTol = 16 * eps
	// maxCond is the condition number above which the forward comparison
	// says nothing (cond·forwardTol > 3.6e-6) and is skipped; the backward
	// error is still checked.
	maxCond = 1e9
	// logDetTol bounds |LogAbsDet − gonum's LogDet| / (n+1): both sum n
	// logs of pivots from the same pivot sequence. Measured 2.3e-15.
	logDetTol = 1e-13
)

// bandMulTo writes A x (or Aᵀ x if trans) into dst, from the band's own
// entries: the independent check of a solve.
func bandMulTo(dst []float64, a *Band, trans bool, x []float64) {
	n, kl, ku := a.Dims()
	for i := 0; i < n; i++ {
		var sum float64
		if trans {
			for j := max(0, i-ku); j <= min(n-1, i+kl); j++ {
				sum += a.At(j, i) * x[j]
			}
		} else {
			for j := max(0, i-kl); j <= min(n-1, i+ku); j++ {
				sum += a.At(i, j) * x[j]
			}
		}
		dst[i] = sum
	}
}

func normInf(v []float64) float64 {
	var m float64
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}

// bandNormInf returns ‖A‖∞ (or ‖Aᵀ‖∞ = ‖A‖₁ if trans).
func bandNormInf(a *Band, trans bool) float64 {
	n, _, _ := a.Dims()
	var m float64
	for i := 0; i < n; i++ {
		var sum float64
		for j := 0; j < n; j++ {
			if trans {
				sum += math.Abs(a.At(j, i))
			} else {
				sum += math.Abs(a.At(i, j))
			}
		}
		m = max(m, sum)
	}
	return m
}

// backwardError returns ‖Ax − b‖∞ / (‖A‖∞‖x‖∞ + ‖b‖∞), with Aᵀ if trans.
func backwardError(a *Band, trans bool, x, b []float64) float64 {
	r := make([]float64, len(b))
	bandMulTo(r, a, trans, x)
	for i := range r {
		r[i] -= b[i]
	}
	den := bandNormInf(a, trans)*normInf(x) + normInf(b)
	if den == 0 {
		return normInf(r)
	}
	return normInf(r) / den
}

// TestFactorBandAgainstGonum solves with FactorBand and with gonum's dense
// mat.LU on the same random band matrices and compares Solve, SolveT and
// LogAbsDet, and checks the backward error of every solve against the band
// itself.
func TestFactorBandAgainstGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	kindName := map[int]string{dominant: "dominant", swapped: "swapped", smallDiag: "smallDiag"}
	for _, n := range []int{1, 2, 5, 100, 500} {
		for _, bw := range [][2]int{{0, 0}, {1, 1}, {2, 3}, {3, 2}, {5, 0}, {0, 5}, {1, 0}, {7, 7}} {
			kl, ku := bw[0], bw[1]
			kinds := []int{dominant}
			if kl >= 1 && ku >= 1 && n >= 2 {
				kinds = append(kinds, swapped)
			}
			// A triangular band (ku = 0) with a tiny diagonal has a
			// condition number of 1e15 at n = 5 and underflows to an exact
			// zero pivot by n = 100 (gonum's Cond is +Inf there): keep it
			// to n ≤ 5, where it still checks that pivoting fills kl
			// super-diagonals a matrix without any.
			if kl >= 1 && n >= 2 && (ku >= 1 || n <= 5) {
				kinds = append(kinds, smallDiag)
			}
			for _, kind := range kinds {
				name := fmt.Sprintf("n=%d/kl=%d,ku=%d/%s", n, kl, ku, kindName[kind])
				t.Run(name, func(t *testing.T) {
					a := randomBand(rng, n, kl, ku, kind)
					checkAgainstGonum(t, rng, a, kind)
				})
			}
		}
	}
}

func checkAgainstGonum(t *testing.T, rng *rand.Rand, a *Band, kind int) {
	n, _, _ := a.Dims()
	aIn := slices.Clone(a.data)
	lu, err := FactorBand(a)
	if err != nil {
		t.Fatalf("FactorBand: %v", err)
	}
	if !slices.Equal(a.data, aIn) {
		t.Error("FactorBand modified its input")
	}
	var ref mat.LU
	ref.Factorize(dense(a))
	cond := ref.Cond()

	if kind == swapped {
		// The pair structure forces an interchange at every even step.
		for j := 0; j+1 < n; j += 2 {
			if lu.ipiv[j] != j+1 {
				t.Fatalf("ipiv[%d] = %d, want %d: the factorization did not pivot", j, lu.ipiv[j], j+1)
			}
		}
	}
	if kind == smallDiag {
		interchanged := false
		for j, p := range lu.ipiv {
			interchanged = interchanged || p != j
		}
		if !interchanged {
			t.Error("no row interchange with a diagonal 1e-3 times smaller than the rest")
		}
	}

	for _, trans := range []bool{false, true} {
		b := randomVector(rng, n)
		x := slices.Clone(b)
		if trans {
			lu.SolveT(x)
		} else {
			lu.Solve(x)
		}
		if be := backwardError(a, trans, x, b); !(be <= backwardTol) {
			t.Errorf("trans=%v: backward error %.3g > %.3g", trans, be, backwardTol)
		}
		if cond > maxCond {
			continue
		}
		checkForwardError(t, &ref, trans, x, b, cond)
	}

	wantLog, _ := ref.LogDet()
	if got := lu.LogAbsDet(); !(math.Abs(got-wantLog) <= logDetTol*float64(1+n)) {
		t.Errorf("LogAbsDet = %v, gonum %v", got, wantLog)
	}
}

// TestFactorBandZeroDiagonal factorizes band matrices whose diagonal is
// exactly zero: without interchanges the first pivot is 0, so success
// shows that pivoting happened.
func TestFactorBandZeroDiagonal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, bw := range [][2]int{{1, 1}, {2, 3}, {3, 1}} {
		for _, n := range []int{2, 6, 101} {
			a := randomBand(rng, n, bw[0], bw[1], swapped)
			for i := 0; i < n; i++ {
				if i != n-1 || n%2 == 0 { // the unpaired last row keeps its diagonal
					a.Set(i, i, 0)
				}
			}
			t.Run(fmt.Sprintf("n=%d/kl=%d,ku=%d", n, bw[0], bw[1]), func(t *testing.T) {
				checkAgainstGonum(t, rng, a, swapped)
			})
		}
	}
}

// TestTridiagonalThomas compares FactorBand+Solve on diagonally dominant
// tridiagonal matrices with the Thomas algorithm (helpers_test.go), which
// shares no code with it.
func TestTridiagonalThomas(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 2, 3, 1000} {
		sub, diag, sup, a := tridiagonal(rng, n)
		rhs := randomVector(rng, n)
		want, cp := make([]float64, n), make([]float64, n)
		thomas(want, cp, sub, diag, sup, rhs)

		lu, err := FactorBand(a)
		if err != nil {
			t.Fatalf("n=%d: FactorBand: %v", n, err)
		}
		got := slices.Clone(rhs)
		lu.Solve(got)
		// |diag| ≥ 2 > |sub|+|sup|: the condition number is below 3, so
		// both solutions agree to a few ε; 16ε relative is the bound.
		tol := 16 * eps * normInf(want)
		for i := range got {
			if d := math.Abs(got[i] - want[i]); !(d <= tol) {
				t.Fatalf("n=%d: x[%d] = %v, Thomas %v", n, i, got[i], want[i])
			}
		}
	}
}

// TestFactorBandSingular zeroes a column or a row of a random band matrix:
// FactorBand must return a *SingularError and no factor.
func TestFactorBandSingular(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, bw := range [][2]int{{0, 0}, {1, 1}, {2, 3}, {5, 0}, {0, 5}} {
		kl, ku := bw[0], bw[1]
		const n = 40
		for _, zero := range []int{0, 17, n - 1} {
			for _, what := range []string{"column", "row"} {
				name := fmt.Sprintf("kl=%d,ku=%d/%s=%d", kl, ku, what, zero)
				t.Run(name, func(t *testing.T) {
					kind := dominant
					if kl >= 1 && ku >= 1 {
						kind = swapped // pivoting on the way to the zero
					}
					a := randomBand(rng, n, kl, ku, kind)
					for k := 0; k < n; k++ {
						i, j := k, zero
						if what == "row" {
							i, j = zero, k
						}
						if i-j <= kl && j-i <= ku {
							a.Set(i, j, 0)
						}
					}
					lu, err := FactorBand(a)
					if lu != nil {
						t.Error("FactorBand returned a factor with its error")
					}
					var se *SingularError
					if !errors.As(err, &se) {
						t.Fatalf("FactorBand error %v, want *SingularError", err)
					}
					if !errors.Is(err, ErrSingular) {
						t.Error("errors.Is(err, ErrSingular) is false")
					}
					if se.Pivot != 0 {
						t.Errorf("Pivot = %v, want 0", se.Pivot)
					}
					// A zero column j: columns 0..j−1 are independent (the
					// rest of the matrix is generic) and column j is zero,
					// so step j is the first with no pivot. A zero row stops
					// at some step; the test only asks for a valid one.
					if what == "column" && se.Row != zero {
						t.Errorf("Row = %d, want the zero column %d", se.Row, zero)
					}
					if se.Row < 0 || se.Row >= n {
						t.Errorf("Row = %d outside [0, %d)", se.Row, n)
					}
				})
			}
		}
	}
}

func TestFactorBandNotFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		a := randomBand(rng, 10, 2, 1, dominant)
		a.Set(6, 4, v)
		lu, err := FactorBand(a)
		var ne *NotFiniteError
		if lu != nil || !errors.As(err, &ne) {
			t.Fatalf("value %v: FactorBand = %v, %v; want nil, *NotFiniteError", v, lu, err)
		}
		if ne.Row != 6 || ne.Col != 4 || !(ne.Value == v || math.IsNaN(v) && math.IsNaN(ne.Value)) {
			t.Errorf("value %v: error names (%d, %d) = %v, want (6, 4)", v, ne.Row, ne.Col, ne.Value)
		}
	}
}

func TestBandAtSet(t *testing.T) {
	const n, kl, ku = 6, 2, 1
	b := NewBand(n, kl, ku)
	for i := 0; i < n; i++ {
		for j := max(0, i-kl); j <= min(n-1, i+ku); j++ {
			b.Set(i, j, float64(10*i+j+1))
		}
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			want := 0.0
			if i-j <= kl && j-i <= ku {
				want = float64(10*i + j + 1)
			}
			if got := b.At(i, j); got != want {
				t.Errorf("At(%d, %d) = %v, want %v", i, j, got, want)
			}
		}
	}
	// The dgbmv layout: A(i, j) at data[j·(kl+ku+1) + ku + i − j].
	if got, want := b.data[3*(kl+ku+1)+ku+5-3], float64(10*5+3+1); got != want {
		t.Errorf("A(5, 3) stored as %v, want %v", got, want)
	}
}

func TestNewBandCSR(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, bw := range [][2]int{{0, 0}, {1, 1}, {2, 3}, {5, 0}, {0, 5}} {
		const n = 30
		kl, ku := bw[0], bw[1]
		// A sparse pattern inside the band, not the full band.
		a := make([][]float64, n)
		for i := range a {
			a[i] = make([]float64, n)
			for j := max(0, i-kl); j <= min(n-1, i+ku); j++ {
				if i == j || rng.Float64() < 0.5 {
					a[i][j] = nonzero(rng)
				}
			}
		}
		p := patternOf(a)
		var vals []float64
		for i := 0; i < n; i++ {
			for _, j := range p.Col[p.RowPtr[i]:p.RowPtr[i+1]] {
				vals = append(vals, a[i][j])
			}
		}
		pkl, pku := p.Bandwidth()
		b, err := NewBandCSR(p, vals, pkl, pku)
		if err != nil {
			t.Fatalf("kl=%d ku=%d: NewBandCSR: %v", kl, ku, err)
		}
		got := make([][]float64, n)
		for i := range got {
			got[i] = make([]float64, n)
			for j := range got[i] {
				got[i][j] = b.At(i, j)
			}
		}
		if diff := cmp.Diff(a, got); diff != "" {
			t.Errorf("kl=%d ku=%d: band (-want +got):\n%s", kl, ku, diff)
		}

		// One diagonal narrower on a side that has entries: an error.
		if pkl > 0 {
			_, err := NewBandCSR(p, vals, pkl-1, pku)
			var oe *OutsideBandError
			if !errors.As(err, &oe) || oe.Row-oe.Col != pkl || oe.KL != pkl-1 {
				t.Errorf("kl=%d ku=%d: narrower kl gave %v, want *OutsideBandError on diagonal -%d", kl, ku, err, pkl)
			}
		}
		if pku > 0 {
			_, err := NewBandCSR(p, vals, pkl, pku-1)
			var oe *OutsideBandError
			if !errors.As(err, &oe) || oe.Col-oe.Row != pku || oe.KU != pku-1 {
				t.Errorf("kl=%d ku=%d: narrower ku gave %v, want *OutsideBandError on diagonal +%d", kl, ku, err, pku)
			}
		}
	}
}

// TestSparsePipeline runs the whole path of design section 8 on a random
// band matrix: color, JVP-style products, Recover, NewBandCSR, FactorBand,
// and checks a solve against the original matrix.
func TestSparsePipeline(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, kl, ku = 200, 2, 3
	orig := randomBand(rng, n, kl, ku, swapped)
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, n)
		for j := range a[i] {
			a[i][j] = orig.At(i, j)
		}
	}
	p := bandPattern(n, kl, ku)
	color, k := ColorColumns(p)
	if k != kl+ku+1 {
		t.Errorf("%d colors, want kl+ku+1 = %d", k, kl+ku+1)
	}
	b, err := NewBandCSR(p, Recover(p, color, products(a, color, k)), kl, ku)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.data, orig.data) {
		t.Fatal("the recovered band differs from the original")
	}
	lu, err := FactorBand(b)
	if err != nil {
		t.Fatal(err)
	}
	rhs := randomVector(rng, n)
	x := slices.Clone(rhs)
	lu.Solve(x)
	if be := backwardError(orig, false, x, rhs); !(be <= backwardTol) {
		t.Errorf("backward error %.3g > %.3g", be, backwardTol)
	}
}

func TestSolveAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	lu, err := FactorBand(randomBand(rng, 300, 3, 2, swapped))
	if err != nil {
		t.Fatal(err)
	}
	x := randomVector(rng, 300)
	if got := testing.AllocsPerRun(10, func() { lu.Solve(x) }); got != 0 {
		t.Errorf("Solve allocates %v times per call, want 0", got)
	}
	if got := testing.AllocsPerRun(10, func() { lu.SolveT(x) }); got != 0 {
		t.Errorf("SolveT allocates %v times per call, want 0", got)
	}
}

func TestZeroSize(t *testing.T) {
	lu, err := FactorBand(NewBand(0, 2, 1))
	if err != nil {
		t.Fatal(err)
	}
	lu.Solve(nil)
	lu.SolveT(nil)
	if got := lu.LogAbsDet(); got != 0 {
		t.Errorf("LogAbsDet of a 0×0 matrix = %v, want 0", got)
	}
}

func TestBandLUBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range [][3]int{{0, 0, 0}, {1, 0, 0}, {7, 1, 1}, {50, 2, 3}, {3, 5, 0}} {
		n, kl, ku := c[0], c[1], c[2]
		lu, err := FactorBand(randomBand(rng, n, kl, ku, dominant))
		if err != nil {
			t.Fatal(err)
		}
		// What FactorBand actually allocated; 8 bytes per float64 and int.
		alloc := int64(8 * (cap(lu.ab) + cap(lu.ipiv)))
		if got := BandLUBytes(n, kl, ku); got != alloc {
			t.Errorf("BandLUBytes(%d, %d, %d) = %d, FactorBand allocated %d", n, kl, ku, got, alloc)
		}
	}
	// The 5-point stencil on a 1000×1000 grid as a band: 24 GB.
	if got, want := BandLUBytes(1000*1000, 1000, 1000), int64(8*1000*1000*3002); got != want {
		t.Errorf("grid: BandLUBytes = %d, want %d", got, want)
	}
	if got := BandLUBytes(math.MaxInt, math.MaxInt, 1); got != math.MaxInt64 {
		t.Errorf("overflowing size gave %d, want math.MaxInt64", got)
	}
}

func TestBandPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	lu, err := FactorBand(randomBand(rng, 5, 1, 1, dominant))
	if err != nil {
		t.Fatal(err)
	}
	b := NewBand(5, 1, 1)
	checkPanics(t, []panicCase{
		{"negative n", func() { NewBand(-1, 0, 0) }},
		{"negative kl", func() { NewBand(3, -1, 0) }},
		{"negative bytes", func() { BandLUBytes(3, 0, -1) }},
		{"Set outside band", func() { b.Set(0, 2, 1) }},
		{"Set out of range", func() { b.Set(5, 5, 1) }},
		{"At out of range", func() { b.At(-1, 0) }},
		{"nil band", func() { FactorBand(nil) }},
		{"Solve length", func() { lu.Solve(make([]float64, 4)) }},
		{"SolveT length", func() { lu.SolveT(make([]float64, 6)) }},
		{"NewBandCSR values", func() { NewBandCSR(bandPattern(5, 1, 1), make([]float64, 3), 1, 1) }},
	})
}

// TestFactorBandTo refactorizes into one BandLU across sizes and
// bandwidths, after errors too, and checks every result against a fresh
// FactorBand bit for bit: stale fill or pivots from the previous factor
// would change the bits.
func TestFactorBandTo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var lu BandLU // the zero value is a valid dst
	for step, c := range [][3]int{{50, 2, 3}, {50, 2, 3}, {10, 1, 1}, {80, 3, 2}, {0, 1, 1}, {7, 0, 2}, {60, 4, 4}} {
		n, kl, ku := c[0], c[1], c[2]
		kind := dominant
		if kl >= 1 && ku >= 1 {
			kind = swapped
		}
		a := randomBand(rng, n, kl, ku, kind)
		if step == 3 {
			// A failed refactorization in the middle: dst holds no factor.
			bad := randomBand(rng, n, kl, ku, kind)
			bad.Set(1, 1, math.NaN())
			if err := FactorBandTo(&lu, bad); err == nil {
				t.Fatal("FactorBandTo accepted a NaN")
			}
			func() {
				defer func() {
					if recover() == nil {
						t.Error("Solve after a failed FactorBandTo did not panic")
					}
				}()
				lu.Solve(make([]float64, n))
			}()
		}
		if err := FactorBandTo(&lu, a); err != nil {
			t.Fatalf("step %d: FactorBandTo: %v", step, err)
		}
		fresh, err := FactorBand(a)
		if err != nil {
			t.Fatalf("step %d: FactorBand: %v", step, err)
		}
		if !slices.Equal(lu.ab, fresh.ab) || !slices.Equal(lu.ipiv, fresh.ipiv) {
			t.Fatalf("step %d (n=%d kl=%d ku=%d): reused factor differs from a fresh one", step, n, kl, ku)
		}
		rhs := randomVector(rng, n)
		x, y := slices.Clone(rhs), slices.Clone(rhs)
		lu.SolveT(x)
		fresh.SolveT(y)
		if !slices.Equal(x, y) {
			t.Errorf("step %d: SolveT differs after reuse", step)
		}
		if lu.LogAbsDet() != fresh.LogAbsDet() {
			t.Errorf("step %d: LogAbsDet differs after reuse", step)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("LogAbsDet of a zero BandLU did not panic")
			}
		}()
		var zero BandLU
		zero.LogAbsDet()
	}()
}
