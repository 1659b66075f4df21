package cuda

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 2*rng.Float64() - 1
	}
	return s
}

// checkGemm compares Gemm with gonum's Dgemm on shapes that are and are not
// multiples of the 16×16 tile, every transpose combination, padded leading
// dimensions, beta 0 over a NaN-filled dst (which must not leak) and beta 1.
func checkGemm(t *testing.T, b *Backend) {
	rng := rand.New(rand.NewPCG(11, 11))
	shapes := [][3]int{{1, 1, 1}, {16, 16, 16}, {17, 5, 33}, {3, 40, 7}, {64, 48, 1}}
	if !emulated(b) {
		shapes = append(shapes, [3]int{300, 257, 129})
	}
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, beta := range []float64{0, 1} {
					ar, ac := m, k
					if ta {
						ar, ac = k, m
					}
					br, bc := k, n
					if tb {
						br, bc = n, k
					}
					lda, ldb, ldc := ac+2, bc+1, n+3 // padded rows
					av, bv := randSlice(rng, span(ar, ac, lda)), randSlice(rng, span(br, bc, ldb))
					cv := randSlice(rng, span(m, n, ldc))
					if beta == 0 {
						cv = nans(len(cv))
					}
					want := append([]float64(nil), cv...)
					if beta == 0 {
						clear(want) // Dgemm with beta 0 does not read C; make that explicit
					}
					tr := func(x bool) blas.Transpose {
						if x {
							return blas.Trans
						}
						return blas.NoTrans
					}
					blas64.Gemm(tr(ta), tr(tb), 0.75,
						blas64.General{Rows: ar, Cols: ac, Stride: lda, Data: av},
						blas64.General{Rows: br, Cols: bc, Stride: ldb, Data: bv},
						beta, blas64.General{Rows: m, Cols: n, Stride: ldc, Data: want})
					da, db, dc := upload(t, b, av), upload(t, b, bv), upload(t, b, cv)
					if err := b.Gemm(m, n, k, 0.75, GemmOperand{da, lda, ta}, GemmOperand{db, ldb, tb}, beta, dc, ldc); err != nil {
						t.Fatal(err)
					}
					got := download(t, dc)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							g, w := got[i*ldc+j], want[i*ldc+j]
							// k products of numbers below 1 in magnitude:
							// rounding is below k·1e-16; 1e-13 leaves room.
							if !closeTo(g, w, 1e-13, 1e-13) {
								t.Fatalf("gemm %d×%d×%d ta=%v tb=%v beta=%v: C[%d,%d] = %v, gonum %v", m, n, k, ta, tb, beta, i, j, g, w)
							}
						}
					}
					// The padding between rows is not written.
					for i := 0; i+1 < m; i++ {
						for j := n; j < ldc; j++ {
							if g, w := got[i*ldc+j], cv[i*ldc+j]; !(g == w || math.IsNaN(g) && math.IsNaN(w)) {
								t.Fatalf("gemm wrote the padding C[%d,%d]", i, j)
							}
						}
					}
				}
			}
		}
	}
	// Caller mistakes panic with a "cuda: " message.
	d := upload(t, b, make([]float64, 6))
	for name, f := range map[string]func(){
		"short a": func() {
			b.Gemm(3, 2, 2, 1, GemmOperand{upload(t, b, make([]float64, 5)), 2, false}, GemmOperand{d, 2, false}, 0, d, 2)
		},
		"dst is a": func() { b.Gemm(2, 2, 2, 1, GemmOperand{d, 2, false}, GemmOperand{d, 2, false}, 0, d, 2) },
		"small ld": func() {
			b.Gemm(2, 2, 2, 1, GemmOperand{d, 1, false}, GemmOperand{d, 2, false}, 0, upload(t, b, make([]float64, 4)), 2)
		},
		"batched short b": func() { // the second 2×2 b would end at element 7 of 6
			b.GemmBatched(2, 2, 2, 2, 1, GemmOperand{d, 2, false}, 0, GemmOperand{d, 2, false}, 3, 0, upload(t, b, make([]float64, 8)), 2, 4)
		},
		"batched overlapping dst": func() { // 2×2 results 2 elements apart
			b.GemmBatched(2, 2, 2, 2, 1, GemmOperand{d, 2, false}, 0, GemmOperand{d, 2, false}, 0, 0, upload(t, b, make([]float64, 8)), 2, 2)
		},
	} {
		func() {
			defer func() {
				if r, _ := recover().(string); !strings.HasPrefix(r, "cuda: ") {
					t.Errorf("%s: panic %q, want a \"cuda: \" message", name, r)
				}
			}()
			f()
		}()
	}
}

// checkGemmBatched compares GemmBatched with gonum's Dgemm per product:
// padded rows, gaps between the matrices (which must stay unwritten), a
// stride-0 operand read for every product, every transpose. (Not part of
// checkGemm, which also runs on the fake cuBLAS: GemmBatched always runs
// the package's kernel.)
func checkGemmBatched(t *testing.T, b *Backend) {
	rng := rand.New(rand.NewPCG(14, 14))
	const batch = 3
	for _, sh := range [][3]int{{5, 7, 4}, {17, 3, 9}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				ar, ac, br, bc := m, k, k, n
				if ta {
					ar, ac = k, m
				}
				if tb {
					br, bc = n, k
				}
				lda, ldb, ldc := ac+1, bc, n+2
				sa, sb, sc := span(ar, ac, lda)+3, 0, span(m, n, ldc)+2 // b: one matrix for all
				av, bv := randSlice(rng, (batch-1)*sa+span(ar, ac, lda)), randSlice(rng, span(br, bc, ldb))
				cv := randSlice(rng, (batch-1)*sc+span(m, n, ldc))
				want := slices.Clone(cv)
				for s := 0; s < batch; s++ {
					blas64.Gemm(transOf(ta), transOf(tb), -0.5,
						blas64.General{Rows: ar, Cols: ac, Stride: lda, Data: av[s*sa:]},
						blas64.General{Rows: br, Cols: bc, Stride: ldb, Data: bv},
						1, blas64.General{Rows: m, Cols: n, Stride: ldc, Data: want[s*sc:]})
				}
				dc := upload(t, b, cv)
				if err := b.GemmBatched(batch, m, n, k, -0.5, GemmOperand{upload(t, b, av), lda, ta}, sa,
					GemmOperand{upload(t, b, bv), ldb, tb}, sb, 1, dc, ldc, sc); err != nil {
					t.Fatal(err)
				}
				got := download(t, dc)
				for i := range got {
					// As Gemm: k products of numbers below 1, rounding below
					// k·1e-16; gaps and padding must be exactly as uploaded.
					if !closeTo(got[i], want[i], 1e-13, 1e-13) {
						t.Fatalf("gemm_batched %d×%d×%d ta=%v tb=%v: element %d = %v, gonum %v", m, n, k, ta, tb, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func transOf(x bool) blas.Transpose {
	if x {
		return blas.Trans
	}
	return blas.NoTrans
}

// checkSum compares Sum with a compensated (Kahan–Neumaier) host sum, and
// AddScalar with a plain loop.
func checkSum(t *testing.T, b *Backend) {
	rng := rand.New(rand.NewPCG(12, 12))
	sizes := []int{1, 255, 10007}
	if !emulated(b) {
		sizes = append(sizes, 3_000_001)
	}
	for _, n := range sizes {
		x := randSlice(rng, n)
		var s, comp float64
		for _, v := range x {
			u := s + v
			if math.Abs(s) >= math.Abs(v) {
				comp += (s - u) + v
			} else {
				comp += (v - u) + s
			}
			s = u
		}
		want := s + comp
		dy := upload(t, b, nans(1))
		if err := b.Sum(dy, upload(t, b, x)); err != nil {
			t.Fatal(err)
		}
		// A pairwise-by-block sum of n terms below 1: error below n·1e-16.
		if got := download(t, dy)[0]; !closeTo(got, want, 0, float64(n)*1e-16+1e-15) {
			t.Errorf("Sum of %d: %v, compensated host sum %v", n, got, want)
		}
		g := randSlice(rng, n)
		dg := upload(t, b, g)
		if err := b.AddScalar(dg, upload(t, b, []float64{0.25})); err != nil {
			t.Fatal(err)
		}
		for i, v := range download(t, dg) {
			if v != g[i]+0.25 {
				t.Fatalf("AddScalar: g[%d] = %v, want %v", i, v, g[i]+0.25)
			}
		}
	}
}

// checkCumsum compares Cumsum, forward and reverse, with running sums on the
// host, for one and several columns and row counts around the chunk length;
// and checks that CumsumDiff inverts it (both transposes) to rounding.
func checkCumsum(t *testing.T, b *Backend) {
	rng := rand.New(rand.NewPCG(13, 13))
	shapes := [][2]int{{1, 1}, {63, 1}, {64, 1}, {65, 3}, {1000, 1}, {257, 7}}
	if !emulated(b) {
		shapes = append(shapes, [2]int{10_000_000, 1}, [2]int{100_000, 33})
	}
	for _, sh := range shapes {
		r, c := sh[0], sh[1]
		x := randSlice(rng, r*c)
		dx := upload(t, b, x)
		for _, rev := range []bool{false, true} {
			want := make([]float64, r*c)
			for j := 0; j < c; j++ {
				s := 0.0
				for u := 0; u < r; u++ {
					i := u
					if rev {
						i = r - 1 - u
					}
					s += x[i*c+j]
					want[i*c+j] = s
				}
			}
			dy := upload(t, b, nans(r*c))
			if err := b.Cumsum(dy, dx, c, rev); err != nil {
				t.Fatal(err)
			}
			got := download(t, dy)
			for i := range want {
				// Sums of up to r terms below 1, in another order:
				// error below r·1e-16.
				if !closeTo(got[i], want[i], 0, float64(r)*1e-16+1e-15) {
					t.Fatalf("Cumsum %d×%d rev=%v: y[%d] = %v, host %v", r, c, rev, i, got[i], want[i])
				}
			}
			// The difference undoes the scan: J⁻¹ after J (rev: J⁻ᵀ after Jᵀ).
			back := upload(t, b, nans(r*c))
			if err := b.CumsumDiff(back, dy, c, rev); err != nil {
				t.Fatal(err)
			}
			for i, v := range download(t, back) {
				if !closeTo(v, x[i], 0, float64(r)*1e-16+1e-15) {
					t.Fatalf("CumsumDiff(Cumsum(x)) %d×%d rev=%v: [%d] = %v, x %v", r, c, rev, i, v, x[i])
				}
			}
		}
		// In place.
		in := upload(t, b, x)
		if err := b.Cumsum(in, in, c, false); err != nil {
			t.Fatal(err)
		}
		if got := download(t, in); r*c > 0 && !closeTo(got[r*c-1], sumColumnLast(x, r, c), 0, float64(r)*1e-16+1e-15) {
			t.Errorf("Cumsum in place %d×%d: last %v", r, c, got[r*c-1])
		}
	}
}

// sumColumnLast is the sum of the last column of x, r rows of c columns.
func sumColumnLast(x []float64, r, c int) float64 {
	s := 0.0
	for i := 0; i < r; i++ {
		s += x[i*c+c-1]
	}
	return s
}

// checkDiagCheck: Σ log|d| against the host's, and the first entry that
// cannot be inverted (zero, subnormal with an overflowing reciprocal, NaN,
// Inf), found wherever it lies among 3·10⁴ entries (several blocks).
func checkDiagCheck(t *testing.T, b *Backend) {
	const n = 30_000
	rng := rand.New(rand.NewPCG(5, 5))
	d := make([]float64, n)
	want := 0.0
	for i := range d {
		d[i] = (0.5 + rng.Float64()) * math.Pow(10, float64(rng.IntN(41)-20))
		if rng.IntN(2) == 0 {
			d[i] = -d[i]
		}
		want += math.Log(math.Abs(d[i]))
	}
	dt := upload(t, b, d)
	ld, bad, err := b.diagCheck(dt)
	if err != nil {
		t.Fatal(err)
	}
	if bad != n || math.Abs(ld-want) > 1e-12*math.Abs(want) {
		t.Errorf("no bad entry: got log|det| %.17g (want %.17g), first bad %d (want %d)", ld, want, bad, n)
	}
	for _, c := range []struct {
		at []int
		v  float64
	}{{[]int{27_777}, 0}, {[]int{29_999, 3}, math.NaN()}, {[]int{15_000, 20_000}, math.Inf(-1)}, {[]int{12_345}, 1e-310}} {
		e := append([]float64(nil), d...)
		for _, i := range c.at {
			e[i] = c.v
		}
		et := upload(t, b, e)
		_, bad, err := b.diagCheck(et)
		if err != nil {
			t.Fatal(err)
		}
		if want := slices.Min(c.at); bad != want {
			t.Errorf("%g at %v: first bad %d, want %d", c.v, c.at, bad, want)
		}
	}
}
