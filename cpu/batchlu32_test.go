package cpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// eps32 is the unit roundoff of float32.
const eps32 = 0x1p-24

// batchOrders32 are the block orders under test in float32: the specialised
// kernels (1 to 4), the generic one at its smallest (5), at an odd size, at a
// power of two and at an odd size past two tiles' worth of rows.
var batchOrders32 = []int{1, 2, 3, 4, 5, 7, 16, 33}

// randBatch32 returns m random k×k blocks in batch-minor layout, entries
// uniform in [-1, 1) rounded to float32.
func randBatch32(rng *rand.Rand, k, m int) []float32 {
	a := make([]float32, k*k*m)
	for i := range a {
		a[i] = float32(2*rng.Float64() - 1)
	}
	return a
}

// widen returns x in float64: exactly the same values.
func widen(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// nanSlice32 returns n float32 NaNs, as nanSlice.
func nanSlice32(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}

func TestFactorBatch32MatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, k := range batchOrders32 {
		sizes := batchSizes(k)
		if k >= 5 {
			// Two full tiles and a partial one.
			sizes = append(sizes, 2*genericTile(k)+7)
		}
		for _, m := range sizes {
			t.Run(fmt.Sprintf("k=%d/m=%d", k, m), func(t *testing.T) {
				a := randBatch32(rng, k, m)
				a0 := slices.Clone(a)
				v := randBatch32(rng, 1, k*m)
				v0 := slices.Clone(v)
				f, sing := FactorBatch32(a, k, m)
				if sing != nil {
					t.Fatalf("FactorBatch32 refused a random batch: %v", sing)
				}
				if f.K() != k || f.M() != m {
					t.Fatalf("K, M = %d, %d, want %d, %d", f.K(), f.M(), k, m)
				}
				x, xt, lds := nanSlice32(k*m), nanSlice32(k*m), nanSlice(m)
				f.Solve(x, v)
				f.SolveT(xt, v)
				f.LogAbsDets(lds)
				if !slices.Equal(a, a0) || !slices.Equal(v, v0) {
					t.Fatal("FactorBatch32 or a solve modified its input")
				}
				checkAgainstFloat64(t, f, widen(a), widen(v), x, xt, lds)
			})
		}
	}
}

// checkAgainstFloat64 checks every block of f (the float32 factors of a, here
// widened to float64) against FactorBatch of the same values: the solutions
// x = A⁻¹v and xt = A⁻ᵀv by their residuals and by their distance to the
// float64 ones, log|det| per block and in total, and the growth. gonum's LU
// gives each block's condition number.
func checkAgainstFloat64(t *testing.T, f *BatchLU32, a, v []float64, x, xt []float32, lds []float64) {
	t.Helper()
	k, m := f.K(), f.M()
	kf := float64(k)
	f64, sing := FactorBatch(a, k, m)
	if sing != nil {
		t.Fatalf("FactorBatch refused the widened batch: %v", sing)
	}
	x64, xt64, lds64 := nanSlice(k*m), nanSlice(k*m), nanSlice(m)
	f64.Solve(x64, v)
	f64.SolveT(xt64, v)
	f64.LogAbsDets(lds64)
	rho := f.MaxGrowth() // at least each block's growth
	xw, xtw := widen(x), widen(xt)
	var (
		lu                    mat.LU
		u                     mat.TriDense
		res                   mat.VecDense
		sumLdTol, sumAbsLd    float64
		worstFwd, worstLdRel  float64
		worstFwdBlock, worstB int
	)
	for b := range m {
		A := blockOf(a, k, m, b)
		vb := vecOf(v, k, m, b)
		amax := maxAbs(A.RawMatrix().Data)
		lu.Factorize(A)
		cond := lu.Cond()
		for _, trans := range []bool{false, true} {
			got, ref, name, op := vecOf(xw, k, m, b), vecOf(x64, k, m, b), "Solve", mat.Matrix(A)
			if trans {
				got, ref, name, op = vecOf(xtw, k, m, b), vecOf(xt64, k, m, b), "SolveT", A.T()
			}
			gx := maxAbs(got.RawVector().Data)
			// Residual, evaluated in float64 (whose own error is the
			// second term): the float32 solve is backward stable with
			// |ΔA| ≤ γ_3k|L||U|, as in checkAgainstGonum with ε of float32.
			res.MulVec(op, got)
			res.SubVec(&res, vb)
			resTol := 3*kf*eps32*kf*kf*rho*amax*gx + kf*eps*(kf*amax*gx+maxAbs(vb.RawVector().Data))
			if r := maxAbs(res.RawVector().Data); !(r <= resTol) {
				t.Errorf("block %d: %s residual %.3g, tolerance %.3g", b, name, r, resTol)
			}
			// Distance to the float64 solution: κ times the float32
			// backward error, about kε32 in practice; 8 as in
			// checkAgainstGonum. The float64 solution's own error is
			// 2⁻²⁹ times smaller.
			fwdTol := 8 * kf * eps32 * cond * maxAbs(ref.RawVector().Data)
			diff := 0.0
			for i := range k {
				diff = max(diff, math.Abs(got.AtVec(i)-ref.AtVec(i)))
			}
			if !(diff <= fwdTol) {
				t.Errorf("block %d: %s differs from float64 by %.3g, tolerance %.3g", b, name, diff, fwdTol)
			}
			if r := diff / fwdTol; r > worstFwd {
				worstFwd, worstFwdBlock = r, b
			}
		}
		// log|det A| moves by at most k·κ·kε32 under the float32 backward
		// error, 2 for slack as in checkAgainstGonum; the pivots' products
		// and logarithms are float64 in both.
		u.Reset()
		lu.UTo(&u)
		sumAbsLogPiv := 0.0
		for i := range k {
			sumAbsLogPiv += math.Abs(math.Log(math.Abs(u.At(i, i))))
		}
		ldTol := 2*kf*kf*eps32*cond + 2*eps*(kf+sumAbsLogPiv)
		if d := math.Abs(lds[b] - lds64[b]); !(d <= ldTol) {
			t.Errorf("block %d: log|det| %v, float64 %v, difference %.3g, tolerance %.3g", b, lds[b], lds64[b], d, ldTol)
		}
		if r := math.Abs(lds[b]-lds64[b]) / max(1, math.Abs(lds64[b])); r > worstLdRel {
			worstLdRel, worstB = r, b
		}
		sumLdTol += ldTol
		sumAbsLd += math.Abs(lds64[b])
	}
	// The sums: the blocks' tolerances, and the rounding of two float64
	// accumulations of m·k pivots each (see checkAgainstGonum).
	if d, tol := math.Abs(f.LogAbsDet()-f64.LogAbsDet()), sumLdTol+4*eps*(float64(m*k)+2*sumAbsLd); !(d <= tol) {
		t.Errorf("LogAbsDet %v, float64 %v, difference %.3g, tolerance %.3g", f.LogAbsDet(), f64.LogAbsDet(), d, tol)
	}
	// Both take the same pivots (barring a near tie) in the same order; the
	// float32 U differs by rounding, an ulp of float32 per update carried
	// over at most k steps, as in checkAgainstGonum.
	growthTol := 16 * kf * eps32 * f64.MaxGrowth()
	if d := math.Abs(f.MaxGrowth() - f64.MaxGrowth()); !(d <= growthTol) {
		t.Errorf("MaxGrowth %v, float64 %v, difference %.3g, tolerance %.3g", f.MaxGrowth(), f64.MaxGrowth(), d, growthTol)
	}
	if testing.Verbose() {
		t.Logf("worst forward error at %.2g of its tolerance (block %d); worst log|det| difference %.2g relative (block %d)", worstFwd, worstFwdBlock, worstLdRel, worstB)
	}
}

func TestBatchLU32Aliasing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, k := range batchOrders32 {
		const m = 9 // a few blocks: aliasing is per block
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			a := randBatch32(rng, k, m)
			v := randBatch32(rng, 1, k*m)
			f, sing := FactorBatch32(a, k, m)
			if sing != nil {
				t.Fatal(sing)
			}
			for _, trans := range []bool{false, true} {
				solve, name := f.Solve, "Solve"
				if trans {
					solve, name = f.SolveT, "SolveT"
				}
				want := nanSlice32(k * m)
				solve(want, v)
				got := slices.Clone(v)
				solve(got, got)
				// The same operations on the same values: bit for bit.
				if !slices.Equal(got, want) {
					t.Errorf("%s with dst == v:\n got %v\nwant %v", name, got, want)
				}
			}
		})
	}
}

// to32 rounds x to float32.
func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// setBlock32 writes the row-major k×k block blk into block b of a.
func setBlock32(a []float32, k, m, b int, blk []float64) {
	for e, x := range blk {
		a[e*m+b] = float32(x)
	}
}

func TestBatchLU32Pivoting(t *testing.T) {
	// Permutation matrices, as in TestBatchLUPivoting: exact in float32 too.
	rng := rand.New(rand.NewPCG(1, 1))
	for _, k := range []int{2, 3, 4, 5, 8} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			reverse := make([]int, k)
			shift := make([]int, k)
			for i := range k {
				reverse[i] = k - 1 - i
				shift[i] = (i + 1) % k
			}
			perms := [][]int{reverse, shift, rng.Perm(k), rng.Perm(k)}
			m := len(perms)
			a := make([]float32, k*k*m)
			for b, s := range perms {
				setBlock32(a, k, m, b, permBlock(s))
			}
			f, sing := FactorBatch32(a, k, m)
			if sing != nil {
				t.Fatal(sing)
			}
			v := randBatch32(rng, 1, k*m)
			x, xt := nanSlice32(k*m), nanSlice32(k*m)
			f.Solve(x, v)
			f.SolveT(xt, v)
			for b, s := range perms {
				for i, j := range s {
					if got, want := x[j*m+b], v[i*m+b]; got != want {
						t.Errorf("block %d (%v): Solve x[%d] = %v, want %v", b, s, j, got, want)
					}
					if got, want := xt[i*m+b], v[j*m+b]; got != want {
						t.Errorf("block %d (%v): SolveT x[%d] = %v, want %v", b, s, i, got, want)
					}
				}
			}
			lds := nanSlice(m)
			f.LogAbsDets(lds)
			for b, ld := range lds {
				if ld != 0 {
					t.Errorf("block %d: log|det| = %v, want 0", b, ld)
				}
			}
			if f.LogAbsDet() != 0 || f.MaxGrowth() != 1 {
				t.Errorf("LogAbsDet, MaxGrowth = %v, %v, want 0, 1", f.LogAbsDet(), f.MaxGrowth())
			}
		})
	}
	t.Run("k=2/dense", func(t *testing.T) {
		// [[1, 2], [4, 3]]: det = -5, A⁻¹ (1, 1) = (-0.2, 0.6).
		f, sing := FactorBatch32([]float32{1, 2, 4, 3}, 2, 1)
		if sing != nil {
			t.Fatal(sing)
		}
		x := nanSlice32(2)
		f.Solve(x, []float32{1, 1})
		// A few roundings of numbers of order 1 in float32; log|det| from
		// exact float32 pivots 4 and 1.25 in float64.
		const tol = 4 * eps32
		if math.Abs(float64(x[0])+0.2) > tol || math.Abs(float64(x[1])-0.6) > tol || math.Abs(f.LogAbsDet()-math.Log(5)) > 4*eps {
			t.Errorf("x = %v, log|det| = %v, want [-0.2 0.6], %v", x, f.LogAbsDet(), math.Log(5))
		}
	})
}

func TestBatchLU32Growth(t *testing.T) {
	for _, k := range []int{2, 3, 4, 8, 13} {
		// Up to 13 the growth 2^(k-1) stays within BatchGrowthMax32 = 2^12.
		const m = 3
		a := make([]float32, k*k*m)
		for b := range m {
			setBlock32(a, k, m, b, wilkinson(k))
		}
		f, sing := FactorBatch32(a, k, m)
		if sing != nil {
			t.Fatalf("k=%d: %v", k, sing)
		}
		// Every step adds powers of two: the growth is exact in float32.
		if got, want := f.MaxGrowth(), math.Ldexp(1, k-1); got != want {
			t.Errorf("k=%d: MaxGrowth = %v, want %v", k, got, want)
		}
	}
}

func TestFactorBatch32Refuses(t *testing.T) {
	type tc struct {
		name, reason string
		k, m         int
		bad          map[int][]float64 // block index → row-major block, rounded to float32
		block, row   int
		pivot        float64 // NaN for NaN; a float32 value
		why          string  // a substring of Why
	}
	diag := func(d ...float64) []float64 {
		k := len(d)
		a := make([]float64, k*k)
		for i, x := range d {
			a[i*k+i] = x
		}
		return a
	}
	ones := func(k int) []float64 { // identity, to be spoiled
		d := make([]float64, k)
		for i := range d {
			d[i] = 1
		}
		return diag(d...)
	}
	zeroCol := func(k, j int) []float64 {
		a := ones(k)
		for i := range k {
			a[i*k+j] = 0
		}
		return a
	}
	zeroRow := func(k int) []float64 { // rows 0, e_0, ..., e_(k-2)
		a := make([]float64, k*k)
		for i := 1; i < k; i++ {
			a[i*k+i-1] = 1
		}
		return a
	}
	withEntry := func(k, i, j int, x float64) []float64 {
		a := ones(k)
		a[i*k+j] = x
		return a
	}
	const tinyPivot = 1e-9 // below RCondMin32/k ≈ 5.4e-7/k for every k ≤ 64
	tiny := func(k int) []float64 {
		a := ones(k)
		a[k*k-1] = tinyPivot
		return a
	}
	var cases []tc
	for _, k := range []int{1, 2, 3, 4, 5, 8} {
		cases = append(cases,
			tc{name: fmt.Sprintf("k=%d/zero column", k), reason: "a zero column stays zero under elimination: zero pivot at its step",
				k: k, m: 10, bad: map[int][]float64{6: zeroCol(k, k/2)}, block: 6, row: k / 2, pivot: 0, why: "zero pivot"},
			tc{name: fmt.Sprintf("k=%d/zero block", k), reason: "max|A| = 0 makes the threshold 0 itself: the zero pivot must still be refused",
				k: k, m: 10, bad: map[int][]float64{5: make([]float64, k*k)}, block: 5, row: 0, pivot: 0, why: "zero pivot"},
			tc{name: fmt.Sprintf("k=%d/zero row", k), reason: "the zero row is never a pivot row while e_j is there for column j: zero pivot at the last step",
				k: k, m: 10, bad: map[int][]float64{3: zeroRow(k)}, block: 3, row: k - 1, pivot: 0, why: "zero pivot"},
			tc{name: fmt.Sprintf("k=%d/NaN", k), reason: "a NaN entry is reported with its row before any elimination",
				k: k, m: 10, bad: map[int][]float64{9: withEntry(k, k-1, 0, math.NaN())}, block: 9, row: k - 1, pivot: math.NaN(), why: "non-finite entry"},
			tc{name: fmt.Sprintf("k=%d/Inf", k), reason: "so is an infinite entry",
				k: k, m: 10, bad: map[int][]float64{0: withEntry(k, k/2, k-1, math.Inf(-1))}, block: 0, row: k / 2, pivot: math.Inf(-1), why: "non-finite entry"},
			tc{name: fmt.Sprintf("k=%d/first of two", k), reason: "the lowest refused block is reported",
				k: k, m: 10, bad: map[int][]float64{8: zeroCol(k, 0), 2: withEntry(k, 0, 0, math.NaN())}, block: 2, row: 0, pivot: math.NaN(), why: "non-finite"},
		)
	}
	for _, k := range []int{2, 3, 4, 5, 8} {
		cases = append(cases, tc{name: fmt.Sprintf("k=%d/tiny pivot", k), reason: "a pivot below RCondMin32/k·max|A| proves κ∞ > 1/RCondMin32",
			k: k, m: 10, bad: map[int][]float64{4: tiny(k)}, block: 4, row: k - 1, pivot: float64(float32(tinyPivot)), why: "RCondMin32"})
	}
	for _, k := range []int{2, 4, 8} {
		// m·work ≥ 2·Grain: For splits the batch, and the refusals sit in
		// different chunks.
		m := 2 * Grain
		cases = append(cases,
			tc{name: fmt.Sprintf("k=%d/first across chunks", k), reason: "the second chunk's refusal must not hide the first chunk's",
				k: k, m: m, bad: map[int][]float64{m - 2: zeroCol(k, 0), m/2 - 1: zeroCol(k, k-1)}, block: m/2 - 1, row: k - 1, pivot: 0, why: "zero pivot"},
			tc{name: fmt.Sprintf("k=%d/late in last chunk", k), reason: "a refusal in the last chunk only is still found",
				k: k, m: m, bad: map[int][]float64{m - 1: zeroRow(k)}, block: m - 1, row: k - 1, pivot: 0, why: "zero pivot"},
		)
	}
	cases = append(cases,
		tc{name: "k=2/dependent rows", reason: "[[1, 2], [2, 4]]: row 0 is half row 1; the elimination is exact",
			k: 2, m: 5, bad: map[int][]float64{1: {1, 2, 2, 4}}, block: 1, row: 1, pivot: 0, why: "zero pivot"},
		tc{name: "k=2/diag(1, 1e-7)", reason: "κ = 1e7 > 1/RCondMin32 ≈ 1.9e6, which FactorBatch accepts (TestRCondMin32Boundary)",
			k: 2, m: 5, bad: map[int][]float64{2: diag(1, 1e-7)}, block: 2, row: 1, pivot: float64(float32(1e-7)), why: "condition number above 1/RCondMin32"},
		tc{name: "k=2/overflow", reason: "u11 = 3e38 + 3e38 overflows float32: infinite growth",
			k: 2, m: 5, bad: map[int][]float64{3: {3e38, 3e38, -3e38, 3e38}}, block: 3, row: -1, pivot: math.Inf(1), why: "BatchGrowthMax32"},
		tc{name: "k=14/Wilkinson", reason: "growth 2^13 is past BatchGrowthMax32 = 2^12",
			k: 14, m: 2, bad: map[int][]float64{1: wilkinson(14)}, block: 1, row: -1, pivot: 0x1p13, why: "growth"},
		tc{name: "k=28/Wilkinson", reason: "and so is 2^27, past BatchGrowthMax too",
			k: 28, m: 2, bad: map[int][]float64{0: wilkinson(28)}, block: 0, row: -1, pivot: 0x1p27, why: "growth"},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := make([]float32, c.k*c.k*c.m)
			for b := range c.m {
				if blk, ok := c.bad[b]; ok {
					setBlock32(a, c.k, c.m, b, blk)
				} else {
					setBlock32(a, c.k, c.m, b, ones(c.k))
				}
			}
			f, sing := FactorBatch32(a, c.k, c.m)
			if sing == nil {
				t.Fatalf("FactorBatch32 accepted the batch (%s)", c.reason)
			}
			if f != nil {
				t.Errorf("FactorBatch32 returned factors with a refusal")
			}
			samePivot := sing.Pivot == c.pivot || math.IsNaN(sing.Pivot) && math.IsNaN(c.pivot)
			if sing.Block != c.block || sing.Row != c.row || !samePivot || !strings.Contains(sing.Why, c.why) {
				t.Errorf("got block %d, row %d, pivot %v, why %q; want block %d, row %d, pivot %v, why containing %q (%s)",
					sing.Block, sing.Row, sing.Pivot, sing.Why, c.block, c.row, c.pivot, c.why, c.reason)
			}
			var err error = sing
			var target *BatchSingular
			if !errors.As(err, &target) || target != sing || !strings.HasPrefix(err.Error(), "cpu: ") {
				t.Errorf("*BatchSingular as an error: As %v, message %q", errors.As(err, &target), err.Error())
			}
		})
	}
}

func TestRCondMin32Boundary(t *testing.T) {
	// diag(1, d) has κ = 1/d: refused by the float32 factorization when
	// d ≤ RCondMin32/2, by the float64 one only when d ≤ RCondMin/2.
	for _, c := range []struct {
		d          float64
		ok32, ok64 bool
	}{
		{1e-6, true, true},    // κ = 1e6 < 1/RCondMin32
		{1e-7, false, true},   // κ = 1e7: too large for float32 only
		{1e-16, false, false}, // κ = 1e16: too large for both
	} {
		blk := []float64{1, 0, 0, c.d}
		_, sing32 := FactorBatch32(to32(blk), 2, 1)
		_, sing64 := FactorBatch(blk, 2, 1)
		if (sing32 == nil) != c.ok32 || (sing64 == nil) != c.ok64 {
			t.Errorf("diag(1, %g): float32 refusal %v, float64 refusal %v; want accepted %v, %v", c.d, sing32, sing64, c.ok32, c.ok64)
		}
	}
}

func TestBatchLU32ExtremeDeterminants(t *testing.T) {
	// diag(s, ..., s) for s = 1e±30: at k = 16 the product of the pivots
	// over- or underflows float64 too, the logarithm does not.
	for _, k := range []int{1, 4, 8, 16} {
		for _, s := range []float64{1e30, 1e-30} {
			const m = 3
			a := make([]float32, k*k*m)
			for b := range m {
				for i := range k {
					a[(i*k+i)*m+b] = float32(s)
				}
			}
			f, sing := FactorBatch32(a, k, m)
			if sing != nil {
				t.Fatalf("k=%d, s=%g: %v", k, s, sing)
			}
			lds := nanSlice(m)
			f.LogAbsDets(lds)
			want := float64(k) * math.Log(float64(float32(s)))
			// A few float64 roundings of a logarithm of magnitude up to 1110.
			tol := 8 * eps * math.Abs(want) * m
			for b, ld := range lds {
				if math.Abs(ld-want) > tol {
					t.Errorf("k=%d, s=%g: block %d log|det| = %v, want %v", k, s, b, ld, want)
				}
			}
			if got := f.LogAbsDet(); math.Abs(got-m*want) > tol {
				t.Errorf("k=%d, s=%g: LogAbsDet = %v, want %v", k, s, got, m*want)
			}
		}
	}
}

func TestFactorBatch32ToReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct{ k, m int }{{2, 5000}, {4, 2000}, {16, 200}} {
		t.Run(fmt.Sprintf("k=%d/m=%d", c.k, c.m), func(t *testing.T) {
			k, m := c.k, c.m
			a := randBatch32(rng, k, m)
			var f BatchLU32
			if sing := FactorBatch32To(&f, a, k, m); sing != nil {
				t.Fatal(sing)
			}
			// The factors, the permutation codes (k ≤ 4) or the pivots.
			want := int64(4 * k * k * m)
			if k <= 4 {
				want += int64(m)
			} else {
				want += int64(4 * k * m)
			}
			if got := f.Bytes(); got != want {
				t.Errorf("Bytes = %d, want %d", got, want)
			}
			lu0 := &f.lu[0]
			// The second time, FactorBatch32To keeps every slice: what it
			// allocates is a few small bookkeeping objects (closures, the
			// chunks' list, a tile's scratch), independent of m.
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			allocs := testing.AllocsPerRun(10, func() {
				if sing := FactorBatch32To(&f, a, k, m); sing != nil {
					t.Fatal(sing)
				}
			})
			runtime.ReadMemStats(&after)
			perRun := float64(after.TotalAlloc-before.TotalAlloc) / 11 // AllocsPerRun runs once more to warm up
			if &f.lu[0] != lu0 || f.Bytes() != want {
				t.Errorf("FactorBatch32To did not reuse its storage: Bytes %d, want %d", f.Bytes(), want)
			}
			// 4 KiB: a tile's scratch is at most 64·(2·4+4+8) bytes.
			if allocs > 16 || perRun > 4096 {
				t.Errorf("FactorBatch32To allocated %v times, %.0f bytes a run, reusing %d bytes", allocs, perRun, want)
			}
			t.Logf("the second FactorBatch32To allocated %v times, %.0f bytes a run, reusing %d bytes", allocs, perRun, want)
			// A refusal keeps the storage too, and a smaller batch reuses it.
			bad := slices.Clone(a)
			for e := range k {
				bad[e*k*m] = 0 // column 0 of block 0
			}
			if sing := FactorBatch32To(&f, bad, k, m); sing == nil || f.K() != 0 || f.M() != 0 {
				t.Fatalf("zero column accepted, or f not empty: %v, K %d, M %d", sing, f.K(), f.M())
			}
			if sing := FactorBatch32To(&f, a[:k*k*(m/2)], k, m/2); sing != nil {
				t.Fatal(sing)
			}
			if &f.lu[0] != lu0 || f.Bytes() != want {
				t.Errorf("FactorBatch32To of a smaller batch after a refusal did not reuse the storage: Bytes %d, want %d", f.Bytes(), want)
			}
			var f64 BatchLU
			if sing := FactorBatchTo(&f64, widen(a), k, m); sing != nil {
				t.Fatal(sing)
			}
			if got, want64 := f64.Bytes(), want+int64(4*k*k*m); got != want64 {
				t.Errorf("BatchLU.Bytes = %d, want %d", got, want64)
			}
		})
	}
}

func TestBatchLU32Empty(t *testing.T) {
	for _, c := range []struct{ k, m int }{{0, 0}, {0, 5}, {3, 0}, {5, 0}} {
		f, sing := FactorBatch32(nil, c.k, c.m)
		if sing != nil || f == nil {
			t.Fatalf("k=%d, m=%d: %v", c.k, c.m, sing)
		}
		f.Solve(nil, nil)
		f.SolveT(nil, nil)
		lds := nanSlice(c.m)
		f.LogAbsDets(lds)
		if f.LogAbsDet() != 0 || slices.ContainsFunc(lds, func(x float64) bool { return x != 0 }) {
			t.Errorf("k=%d, m=%d: LogAbsDet %v, LogAbsDets %v, want zeros", c.k, c.m, f.LogAbsDet(), lds)
		}
	}
}

func TestBatchLU32Panics(t *testing.T) {
	f, sing := FactorBatch32([]float32{1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1}, 2, 3)
	if sing != nil {
		t.Fatal(sing)
	}
	for _, c := range []struct {
		name, reason string
		fn           func()
	}{
		{"short a", "len(a) must be k*k*m", func() { FactorBatch32(make([]float32, 11), 2, 3) }},
		{"long a", "len(a) must be k*k*m", func() { FactorBatch32(make([]float32, 13), 2, 3) }},
		{"negative k", "orders are non-negative", func() { FactorBatch32(nil, -1, 0) }},
		{"negative m", "counts are non-negative", func() { FactorBatch32(nil, 0, -1) }},
		{"huge k", "k*k*m overflows int", func() { FactorBatch32(nil, 1<<32, 1<<32) }},
		{"short v", "len(v) must be k*m", func() { f.Solve(make([]float32, 6), make([]float32, 5)) }},
		{"short dst", "len(dst) must be k*m", func() { f.Solve(make([]float32, 5), make([]float32, 6)) }},
		{"SolveT short v", "len(v) must be k*m", func() { f.SolveT(make([]float32, 6), make([]float32, 7)) }},
		{"LogAbsDets", "len(dst) must be m", func() { f.LogAbsDets(make([]float64, 2)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "cpu: ") || !strings.Contains(s, "32") {
					t.Errorf("recovered %#v, want a string starting with \"cpu: \" naming the float32 type (%s)", r, c.reason)
				}
			}()
			c.fn()
		})
	}
}

func TestBatchLU32HugePivot(t *testing.T) {
	// A pivot p = 3·2^125 above 2^126 has a subnormal reciprocal in float32:
	// the tiled kernel must divide by it rather than multiply by 1/p, else
	// the multiplier 2^125/p = 1/3 loses bits. The block is 2^125 times the
	// identity of order 5 but for p at (0, 0) and 2^125 at (1, 0).
	const k = 5
	blk := make([]float64, k*k)
	for i := range k {
		blk[i*k+i] = 0x1p125
	}
	blk[0], blk[k] = 3*0x1p125, 0x1p125
	var f BatchLU32
	if sing := FactorBatch32To(&f, to32(blk), k, 1); sing != nil {
		t.Fatal(sing)
	}
	// One block, one lane: entry (1, 0) of the tile is lu[1*k+0].
	if got, want := f.lu[k], float32(1.0/3); got != want {
		t.Errorf("multiplier %v (%#x), want %v (%#x)", got, math.Float32bits(got), want, math.Float32bits(want))
	}
}
