package cpu

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

// eps is the unit roundoff of float64.
const eps = 0x1p-53

// batchOrders are the block orders under test: the specialised kernels (1 to
// 4), the generic one at its smallest (5), at a power of two, at an odd size
// and at the largest order the design asks for.
var batchOrders = []int{1, 2, 3, 4, 5, 8, 16, 33, 64}

// randBatch returns m random k×k blocks in batch-minor layout, entries
// uniform in [-1, 1).
func randBatch(rng *rand.Rand, k, m int) []float64 {
	a := make([]float64, k*k*m)
	for i := range a {
		a[i] = 2*rng.Float64() - 1
	}
	return a
}

// blockOf copies block b out of the batch-minor a.
func blockOf(a []float64, k, m, b int) *mat.Dense {
	d := mat.NewDense(k, k, nil)
	for i := range k {
		for j := range k {
			d.Set(i, j, a[(i*k+j)*m+b])
		}
	}
	return d
}

// vecOf copies the k elements of block b out of the batch-minor v.
func vecOf(v []float64, k, m, b int) *mat.VecDense {
	x := mat.NewVecDense(k, nil)
	for i := range k {
		x.SetVec(i, v[i*m+b])
	}
	return x
}

// setBlock writes the row-major k×k block blk into block b of a.
func setBlock(a []float64, k, m, b int, blk []float64) {
	for e, x := range blk {
		a[e*m+b] = x
	}
}

// nanSlice returns n NaNs: an output element that a kernel forgets to write
// stays NaN and fails every comparison.
func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// neumaier is a compensated sum (Neumaier's variant of Kahan's).
type neumaier struct{ s, c float64 }

func (n *neumaier) add(x float64) {
	t := n.s + x
	if math.Abs(n.s) >= math.Abs(x) {
		n.c += (n.s - t) + x
	} else {
		n.c += (x - t) + n.s
	}
	n.s = t
}

func (n *neumaier) sum() float64 { return n.s + n.c }

func maxAbs(x []float64) float64 {
	r := 0.0
	for _, v := range x {
		r = max(r, math.Abs(v))
	}
	return r
}

// batchSizes returns the batch sizes to test at order k: a single block, a few
// blocks, and a batch large enough that For splits it across goroutines
// (FactorBatch counts about k³/3 operations a block, For splits from Grain).
func batchSizes(k int) []int {
	switch {
	case k <= 4:
		return []int{1, 7, 50, 2*Grain/(k*k) + 1}
	case k <= 16:
		return []int{1, 7, 300}
	default:
		return []int{1, 3, 20}
	}
}

func TestFactorBatchMatchesGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, k := range batchOrders {
		for _, m := range batchSizes(k) {
			t.Run(fmt.Sprintf("k=%d/m=%d", k, m), func(t *testing.T) {
				a := randBatch(rng, k, m)
				a0 := slices.Clone(a)
				v := randBatch(rng, 1, k*m)
				v0 := slices.Clone(v)
				f, sing := FactorBatch(a, k, m)
				if sing != nil {
					t.Fatalf("FactorBatch refused a random batch: %v", sing)
				}
				if f.K() != k || f.M() != m {
					t.Fatalf("K, M = %d, %d, want %d, %d", f.K(), f.M(), k, m)
				}
				x, xt, lds := nanSlice(k*m), nanSlice(k*m), nanSlice(m)
				f.Solve(x, v)
				f.SolveT(xt, v)
				f.LogAbsDets(lds)
				if !slices.Equal(a, a0) || !slices.Equal(v, v0) {
					t.Fatal("FactorBatch or a solve modified its input")
				}
				checkAgainstGonum(t, f, a, v, x, xt, lds)
			})
		}
	}
}

// checkAgainstGonum checks every block of f (the factors of a) against gonum's
// mat.LU: the solutions x = A⁻¹v and xt = A⁻ᵀv by their residuals and by
// their distance to gonum's, log|det| per block and in total, and the growth.
func checkAgainstGonum(t *testing.T, f *BatchLU, a, v, x, xt, lds []float64) {
	t.Helper()
	k, m := f.K(), f.M()
	kf := float64(k)
	maxGrowth, sumAbsLd := 0.0, 0.0
	var sumLd neumaier
	var (
		lu            mat.LU
		u             mat.TriDense
		ref, res      mat.VecDense
		worstFwd      float64
		worstFwdBlock int
	)
	for b := range m {
		A := blockOf(a, k, m, b)
		vb := vecOf(v, k, m, b)
		amax := maxAbs(A.RawMatrix().Data)
		lu.Factorize(A)
		cond := lu.Cond()
		u.Reset()
		lu.UTo(&u)
		rho := maxAbs(u.RawTriangular().Data) / amax
		maxGrowth = max(maxGrowth, rho)
		for _, trans := range []bool{false, true} {
			got, name, op := vecOf(x, k, m, b), "Solve", mat.Matrix(A)
			if trans {
				got, name, op = vecOf(xt, k, m, b), "SolveT", A.T()
			}
			gx := maxAbs(got.RawVector().Data)
			// Residual. An LU solve is backward stable (Higham, Thm 9.4):
			// (A+ΔA)x = v with |ΔA| ≤ γ_3k|L||U|, and |L| ≤ 1, |U| ≤ ρ·max|A|
			// bound each row of |ΔA||x| by 3kε·k²ρ·max|A|·‖x‖∞. Evaluating
			// A x − v adds at most kε(k·max|A|·‖x‖∞ + ‖v‖∞).
			res.MulVec(op, got)
			res.SubVec(&res, vb)
			resTol := 3*kf*eps*kf*kf*rho*amax*gx + kf*eps*(kf*amax*gx+maxAbs(vb.RawVector().Data))
			if r := maxAbs(res.RawVector().Data); !(r <= resTol) {
				t.Errorf("block %d: %s residual %.3g, tolerance %.3g", b, name, r, resTol)
			}
			// Distance to gonum. Each solution has a forward error of about
			// κ times its backward error, which is about kε in practice
			// (the bound above is for the worst case); 8 covers the two
			// solutions and the 1-norm estimate of κ.
			if err := lu.SolveVecTo(&ref, trans, vb); err != nil {
				t.Fatalf("block %d: gonum: %v", b, err)
			}
			fwdTol := 8 * kf * eps * cond * maxAbs(ref.RawVector().Data)
			diff := 0.0
			for i := range k {
				diff = max(diff, math.Abs(got.AtVec(i)-ref.AtVec(i)))
			}
			if !(diff <= fwdTol) {
				t.Errorf("block %d: %s differs from gonum by %.3g, tolerance %.3g", b, name, diff, fwdTol)
			}
			if r := diff / fwdTol; r > worstFwd {
				worstFwd, worstFwdBlock = r, b
			}
		}
		// log|det A| moves by tr(A⁻¹ΔA), at most k·κ·‖ΔA‖/‖A‖ ≈ k·κ·kε for
		// the backward error ΔA of either factorization; 2 for the two.
		// Then gonum rounds each log|u_ii| and their sum, this package
		// each product of pivots and one logarithm: 2ε·(k + Σ|log|u_ii||).
		wantLd, _ := lu.LogDet()
		sumAbsLogPiv := 0.0
		for i := range k {
			sumAbsLogPiv += math.Abs(math.Log(math.Abs(u.At(i, i))))
		}
		ldTol := 2*kf*kf*eps*cond + 2*eps*(kf+sumAbsLogPiv)
		if d := math.Abs(lds[b] - wantLd); !(d <= ldTol) {
			t.Errorf("block %d: log|det| %v, gonum %v, difference %.3g, tolerance %.3g", b, lds[b], wantLd, d, ldTol)
		}
		sumLd.add(lds[b])
		sumAbsLd += math.Abs(lds[b])
	}
	// LogAbsDet accumulates the m·k pivots as one product, LogAbsDets one
	// product per block: each multiplication rounds by ε relative, which is ε
	// absolute in the logarithm, and each logarithm by ε relative. The sum
	// of the LogAbsDets is compensated: its own error is 2ε·Σ|ld_b| at most.
	sumTol := 2 * eps * (float64(m*k) + 2*sumAbsLd)
	if d := math.Abs(f.LogAbsDet() - sumLd.sum()); !(d <= sumTol) {
		t.Errorf("LogAbsDet %v, sum of LogAbsDets %v, difference %.3g, tolerance %.3g", f.LogAbsDet(), sumLd.sum(), d, sumTol)
	}
	// Both factorizations take the same pivots in the same update order; they
	// differ only in dividing by a pivot (here, for k ≤ 4) or multiplying by
	// its reciprocal (gonum, and here for k ≥ 5): an ulp per multiplier,
	// carried over at most k steps.
	growthTol := 16 * kf * eps * maxGrowth
	if d := math.Abs(f.MaxGrowth() - maxGrowth); !(d <= growthTol) {
		t.Errorf("MaxGrowth %v, gonum %v, difference %.3g, tolerance %.3g", f.MaxGrowth(), maxGrowth, d, growthTol)
	}
	if testing.Verbose() {
		t.Logf("worst forward error at %.2g of its tolerance (block %d)", worstFwd, worstFwdBlock)
	}
}

func TestBatchLUAliasing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, k := range batchOrders {
		const m = 9 // a few blocks: aliasing is per block
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			a := randBatch(rng, k, m)
			v := randBatch(rng, 1, k*m)
			f, sing := FactorBatch(a, k, m)
			if sing != nil {
				t.Fatal(sing)
			}
			for _, trans := range []bool{false, true} {
				solve, name := f.Solve, "Solve"
				if trans {
					solve, name = f.SolveT, "SolveT"
				}
				want := nanSlice(k * m)
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

// permBlock returns the row-major k×k permutation matrix Q with Q[i][s[i]] = 1.
func permBlock(s []int) []float64 {
	k := len(s)
	q := make([]float64, k*k)
	for i, j := range s {
		q[i*k+j] = 1
	}
	return q
}

func TestBatchLUPivoting(t *testing.T) {
	// Permutation matrices have zeros on the diagonal (but for fixed points),
	// so every one needs row exchanges; their factors and solves are exact:
	// multipliers are 0, pivots are 1.
	rng := rand.New(rand.NewPCG(1, 1))
	for _, k := range []int{2, 3, 4, 5, 8} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			reverse := make([]int, k) // the anti-diagonal; [[0,1],[1,0]] for k = 2
			shift := make([]int, k)   // a cycle: no fixed point
			for i := range k {
				reverse[i] = k - 1 - i
				shift[i] = (i + 1) % k
			}
			perms := [][]int{reverse, shift, rng.Perm(k), rng.Perm(k)}
			m := len(perms)
			a := make([]float64, k*k*m)
			for b, s := range perms {
				setBlock(a, k, m, b, permBlock(s))
			}
			f, sing := FactorBatch(a, k, m)
			if sing != nil {
				t.Fatal(sing)
			}
			v := randBatch(rng, 1, k*m)
			x, xt := nanSlice(k*m), nanSlice(k*m)
			f.Solve(x, v)
			f.SolveT(xt, v)
			for b, s := range perms {
				for i, j := range s {
					// Q x = v: x[s[i]] = v[i]. Qᵀ x = v: x[i] = v[s[i]].
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
		// [[1, 2], [4, 3]] takes row 1 as the pivot row although a00 ≠ 0:
		// det = -5, A⁻¹ = [[-3, 2], [4, -1]]/5, applied to (1, 1).
		a := []float64{1, 2, 4, 3}
		f, sing := FactorBatch(a, 2, 1)
		if sing != nil {
			t.Fatal(sing)
		}
		x := nanSlice(2)
		f.Solve(x, []float64{1, 1})
		// A few roundings of numbers of order 1.
		const tol = 4 * eps
		if math.Abs(x[0]-(-0.2)) > tol || math.Abs(x[1]-0.6) > tol || math.Abs(f.LogAbsDet()-math.Log(5)) > tol {
			t.Errorf("x = %v, log|det| = %v, want [-0.2 0.6], %v", x, f.LogAbsDet(), math.Log(5))
		}
	})
}

// wilkinson returns Wilkinson's matrix of order k, the worst case of partial
// pivoting: 1 on the diagonal and in the last column, -1 below the diagonal.
// No row exchanges happen and u_(k-1)(k-1) = 2^(k-1), all other |u| ≤ 1.
func wilkinson(k int) []float64 {
	w := make([]float64, k*k)
	for i := range k {
		for j := range i {
			w[i*k+j] = -1
		}
		w[i*k+i] = 1
		w[i*k+k-1] = 1
	}
	return w
}

func TestBatchLUGrowth(t *testing.T) {
	for _, k := range []int{2, 3, 4, 8, 27} {
		// Up to 27 the growth 2^(k-1) stays within BatchGrowthMax = 2^26.
		const m = 3
		a := make([]float64, k*k*m)
		for b := range m {
			setBlock(a, k, m, b, wilkinson(k))
		}
		f, sing := FactorBatch(a, k, m)
		if sing != nil {
			t.Fatalf("k=%d: %v", k, sing)
		}
		// Every step adds powers of two: the growth is exact.
		if got, want := f.MaxGrowth(), math.Ldexp(1, k-1); got != want {
			t.Errorf("k=%d: MaxGrowth = %v, want %v", k, got, want)
		}
	}
}

func TestFactorBatchRefuses(t *testing.T) {
	type tc struct {
		name, reason string
		k, m         int
		bad          map[int][]float64 // block index → row-major block
		block, row   int
		pivot        float64 // NaN for NaN
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
	tiny := func(k int) []float64 {
		a := ones(k)
		a[k*k-1] = 1e-17 // below RCondMin/k = 1e-15/k for every k ≤ 64
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
		// A 1×1 block has condition number 1 whatever its size: only k ≥ 2.
		cases = append(cases, tc{name: fmt.Sprintf("k=%d/tiny pivot", k), reason: "a pivot below RCondMin/k·max|A| proves κ∞ > 1/RCondMin",
			k: k, m: 10, bad: map[int][]float64{4: tiny(k)}, block: 4, row: k - 1, pivot: 1e-17, why: "condition number"})
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
		tc{name: "k=2/diag(1, 1e-16)", reason: "κ = 1e16 > 1/RCondMin although the pivot is not zero",
			k: 2, m: 5, bad: map[int][]float64{2: diag(1, 1e-16)}, block: 2, row: 1, pivot: 1e-16, why: "condition number"},
		tc{name: "k=2/overflow", reason: "u11 = 1e308 + 1e308 overflows: infinite growth",
			k: 2, m: 5, bad: map[int][]float64{3: {1e308, 1e308, -1e308, 1e308}}, block: 3, row: -1, pivot: math.Inf(1), why: "growth"},
		tc{name: "k=28/Wilkinson", reason: "growth 2^27 is past BatchGrowthMax = 2^26",
			k: 28, m: 2, bad: map[int][]float64{1: wilkinson(28)}, block: 1, row: -1, pivot: 0x1p27, why: "growth"},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := make([]float64, c.k*c.k*c.m)
			for b := range c.m {
				if blk, ok := c.bad[b]; ok {
					setBlock(a, c.k, c.m, b, blk)
				} else {
					setBlock(a, c.k, c.m, b, ones(c.k))
				}
			}
			f, sing := FactorBatch(a, c.k, c.m)
			if sing == nil {
				t.Fatalf("FactorBatch accepted the batch (%s)", c.reason)
			}
			if f != nil {
				t.Errorf("FactorBatch returned factors with a refusal")
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

func TestBatchLUExtremeDeterminants(t *testing.T) {
	// diag(s, s, s, s) for s = 1e±200: the product of the pivots of a block
	// over- or underflows, the logarithm does not.
	for _, k := range []int{1, 4, 8} {
		for _, s := range []float64{1e200, 1e-200} {
			const m = 3
			a := make([]float64, k*k*m)
			for b := range m {
				for i := range k {
					a[(i*k+i)*m+b] = s
				}
			}
			f, sing := FactorBatch(a, k, m)
			if sing != nil {
				t.Fatalf("k=%d, s=%g: %v", k, s, sing)
			}
			lds := nanSlice(m)
			f.LogAbsDets(lds)
			want := float64(k) * math.Log(s)
			// A few roundings of a logarithm of magnitude up to 3700.
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

func TestBatchLUEmpty(t *testing.T) {
	for _, c := range []struct{ k, m int }{{0, 0}, {0, 5}, {3, 0}, {5, 0}} {
		f, sing := FactorBatch(nil, c.k, c.m)
		if sing != nil || f == nil {
			t.Fatalf("k=%d, m=%d: %v", c.k, c.m, sing)
		}
		f.Solve(nil, nil)
		f.SolveT(nil, nil)
		lds := nanSlice(c.m)
		f.LogAbsDets(lds) // blocks of order 0 have det 1
		if f.LogAbsDet() != 0 || slices.ContainsFunc(lds, func(x float64) bool { return x != 0 }) {
			t.Errorf("k=%d, m=%d: LogAbsDet %v, LogAbsDets %v, want zeros", c.k, c.m, f.LogAbsDet(), lds)
		}
	}
}

func TestBatchLUPanics(t *testing.T) {
	f, sing := FactorBatch(make([]float64, 2*2*3), 2, 3)
	if sing == nil {
		t.Fatal("a batch of zero blocks was accepted")
	}
	f, sing = FactorBatch([]float64{1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1}, 2, 3)
	if sing != nil {
		t.Fatal(sing)
	}
	for _, c := range []struct {
		name, reason string
		fn           func()
	}{
		{"short a", "len(a) must be k*k*m", func() { FactorBatch(make([]float64, 11), 2, 3) }},
		{"long a", "len(a) must be k*k*m", func() { FactorBatch(make([]float64, 13), 2, 3) }},
		{"negative k", "orders are non-negative", func() { FactorBatch(nil, -1, 0) }},
		{"negative m", "counts are non-negative", func() { FactorBatch(nil, 0, -1) }},
		{"huge k", "k*k*m overflows int", func() { FactorBatch(nil, 1<<32, 1<<32) }},
		{"short v", "len(v) must be k*m", func() { f.Solve(make([]float64, 6), make([]float64, 5)) }},
		{"short dst", "len(dst) must be k*m", func() { f.Solve(make([]float64, 5), make([]float64, 6)) }},
		{"SolveT short v", "len(v) must be k*m", func() { f.SolveT(make([]float64, 6), make([]float64, 7)) }},
		{"SolveTMany counts", "as many dst as v", func() { f.SolveTMany(make([][]float64, 1), make([][]float64, 2)) }},
		{"LogAbsDets", "len(dst) must be m", func() { f.LogAbsDets(make([]float64, 2)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "cpu: ") {
					t.Errorf("recovered %#v, want a string starting with \"cpu: \" (%s)", r, c.reason)
				}
			}()
			c.fn()
		})
	}
}

// TestSolveTMany: several right-hand sides at once give what SolveT gives
// each (bit for bit: the same kernel, tile by tile), and the first one
// passes the checks against gonum's LU; for orders below 5 (one SolveT
// each) and above, with partial tiles, and one or several right-hand
// sides.
func TestSolveTMany(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, k := range []int{3, 5, 16} {
		for _, m := range []int{1, 70, 301} {
			for _, r := range []int{1, 4} {
				a := randBatch(rng, k, m)
				f, sing := FactorBatch(a, k, m)
				if sing != nil {
					t.Fatalf("k=%d m=%d: FactorBatch refused a random batch: %v", k, m, sing)
				}
				vs, dst := make([][]float64, r), make([][]float64, r)
				for j := range vs {
					vs[j], dst[j] = randBatch(rng, 1, k*m), nanSlice(k*m)
				}
				f.SolveTMany(dst, vs)
				for j := range vs {
					want := nanSlice(k * m)
					f.SolveT(want, vs[j])
					if !slices.Equal(dst[j], want) {
						t.Fatalf("k=%d m=%d r=%d: right-hand side %d differs from SolveT", k, m, r, j)
					}
				}
				x, lds := nanSlice(k*m), nanSlice(m)
				f.Solve(x, vs[0])
				f.LogAbsDets(lds)
				checkAgainstGonum(t, f, a, vs[0], x, dst[0], lds)
			}
		}
	}
}
