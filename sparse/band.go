package sparse

import (
	"github.com/invad/invad/internal/logprod"
	"math"
	"math/bits"
)

// Band is an n×n band matrix with kl sub-diagonals and ku super-diagonals,
// stored column-major as in LAPACK's dgbmv: A(i, j), for −kl ≤ j−i ≤ ku, is
// data[j·(kl+ku+1) + ku + i − j]. Entries outside the band are zero and
// cannot be set. kl and ku may exceed n−1 (the extra diagonals are empty).
type Band struct {
	n, kl, ku int
	data      []float64
}

// NewBand returns an n×n zero band matrix with kl sub- and ku
// super-diagonals. It panics if n, kl or ku is negative or the storage size
// overflows an int.
func NewBand(n, kl, ku int) *Band {
	if n < 0 || kl < 0 || ku < 0 {
		panic("sparse: negative band dimension")
	}
	ld := kl + ku + 1
	return &Band{n: n, kl: kl, ku: ku, data: make([]float64, bandLen(n, ld))}
}

// NewBandCSR returns the n×n band matrix with kl sub- and ku super-diagonals
// whose nonzeros are given by the pattern p and the CSR values vals (aligned
// with p.Col, as from Recover). Usually kl, ku = p.Bandwidth(). If a nonzero
// of p lies outside the band it returns a *OutsideBandError naming the first
// one in row order. Explicit zeros in vals are stored as zeros.
//
// NewBandCSR panics if p is nil or malformed, len(vals) != p.NNZ(), or kl or
// ku is negative.
func NewBandCSR(p *Pattern, vals []float64, kl, ku int) (*Band, error) {
	checkPattern(p)
	if len(vals) != p.NNZ() {
		panic("sparse: value array length differs from the pattern's nonzeros")
	}
	b := NewBand(p.N, kl, ku)
	ld := kl + ku + 1
	for i := 0; i < p.N; i++ {
		for k := p.RowPtr[i]; k < p.RowPtr[i+1]; k++ {
			j := p.Col[k]
			if i-j > kl || j-i > ku {
				return nil, &OutsideBandError{Row: i, Col: j, KL: kl, KU: ku}
			}
			b.data[j*ld+ku+i-j] = vals[k]
		}
	}
	return b, nil
}

// Dims returns the size and the bandwidths of b.
func (b *Band) Dims() (n, kl, ku int) { return b.n, b.kl, b.ku }

// At returns A(i, j), which is zero outside the band. It panics if i or j is
// outside [0, n).
func (b *Band) At(i, j int) float64 {
	if uint(i) >= uint(b.n) || uint(j) >= uint(b.n) {
		panic("sparse: index out of range")
	}
	if i-j > b.kl || j-i > b.ku {
		return 0
	}
	return b.data[j*(b.kl+b.ku+1)+b.ku+i-j]
}

// Set sets A(i, j) to v. It panics if i or j is outside [0, n) or (i, j) is
// outside the band.
func (b *Band) Set(i, j int, v float64) {
	if uint(i) >= uint(b.n) || uint(j) >= uint(b.n) {
		panic("sparse: index out of range")
	}
	if i-j > b.kl || j-i > b.ku {
		panic("sparse: Set outside the band")
	}
	b.data[j*(b.kl+b.ku+1)+b.ku+i-j] = v
}

// BandLU is the LU factorization with partial pivoting of a band matrix,
// A = P₀L₀ P₁L₁ … U, in LAPACK's dgbtrf layout: column-major with leading
// dimension ldab = 2kl+ku+1. U(i, j) is ab[j·ldab + kl+ku + i − j] with up
// to kl+ku super-diagonals (ku of A plus kl of fill from the interchanges);
// the multipliers of column j are the kl entries below its diagonal; step j
// interchanged rows j and ipiv[j].
type BandLU struct {
	n, kl, ku int
	ab        []float64
	ipiv      []int
	ok        bool // ab and ipiv hold a factor
}

// BandLUBytes returns the bytes that FactorBand (or FactorBandTo into a
// smaller factor) allocates for an n×n band
// matrix with kl sub- and ku super-diagonals: the factor, n·(2kl+ku+1)
// float64s, and n pivot indices, so 8·n·(2kl+ku+2) on a 64-bit machine. The
// input Band (8·n·(kl+ku+1) bytes) is not counted. Call it before building
// or factorizing the block to enforce a memory limit. It saturates at
// math.MaxInt64 instead of overflowing, and panics if an argument is
// negative.
func BandLUBytes(n, kl, ku int) int64 {
	if n < 0 || kl < 0 || ku < 0 {
		panic("sparse: negative band dimension")
	}
	const word = 8 // bytes in a float64 and in an int on 64-bit machines
	ld := uint64(2)*uint64(kl) + uint64(ku) + 2
	hi, lo := bits.Mul64(uint64(n), ld)
	if hi != 0 || lo > math.MaxInt64/word {
		return math.MaxInt64
	}
	return int64(lo) * word
}

// bandLen returns n·ld, panicking if it overflows an int.
func bandLen(n, ld int) int {
	hi, lo := bits.Mul64(uint64(n), uint64(ld))
	if hi != 0 || lo > math.MaxInt {
		panic("sparse: band storage size overflows")
	}
	return int(lo)
}

// FactorBand computes the LU factorization with partial pivoting (row
// interchanges inside the band) of the band matrix a, as LAPACK's dgbtf2:
// unblocked, O(n·kl·(kl+ku)) flops. It allocates BandLUBytes(n, kl, ku)
// bytes and does not modify a; FactorBandTo reuses a factor's memory.
//
// It returns a *NotFiniteError if a holds a NaN or an infinity, and a
// *SingularError (errors.Is(err, ErrSingular)) at the first zero pivot; the
// caller maps the error's Row to its op. The BandLU is nil with an error.
// No pivot threshold is applied: a tiny nonzero pivot is accepted, and
// LogAbsDet shows it.
//
// FactorBand panics if a is nil.
func FactorBand(a *Band) (*BandLU, error) {
	lu := &BandLU{}
	if err := FactorBandTo(lu, a); err != nil {
		return nil, err
	}
	return lu, nil
}

// FactorBandTo is FactorBand writing the factor into dst, whose memory it
// reuses when its capacity suffices, as for a refactorization in a Newton
// iteration. dst may be the zero BandLU or a factor of any size. On error
// dst holds no factor, and its Solve, SolveT and LogAbsDet panic until a
// later FactorBandTo succeeds.
//
// FactorBandTo panics if dst or a is nil.
func FactorBandTo(dst *BandLU, a *Band) error {
	if dst == nil {
		panic("sparse: nil factor")
	}
	if a == nil {
		panic("sparse: nil band matrix")
	}
	n, kl, ku := a.n, a.kl, a.ku
	lda, ld := kl+ku+1, 2*kl+ku+1
	dst.ok = false

	// One pass over a's storage; its entries outside the matrix are zero.
	for k, v := range a.data {
		if v-v != 0 { // NaN or ±Inf
			j := k / lda
			return &NotFiniteError{Row: j - ku + k%lda, Col: j, Value: v}
		}
	}

	size := bandLen(n, ld)
	fresh := cap(dst.ab) < size // new memory is zero: no fill to clear
	if fresh {
		dst.ab = make([]float64, size)
	}
	if cap(dst.ipiv) < n {
		dst.ipiv = make([]int, n)
	}
	dst.n, dst.kl, dst.ku = n, kl, ku
	dst.ab, dst.ipiv = dst.ab[:size], dst.ipiv[:n]

	// Column j of A goes to rows kl..ldab−1 of column j of the factor;
	// rows 0..kl−1 are the fill, zeroed.
	if kl == 0 {
		copy(dst.ab, a.data)
	} else {
		ab := dst.ab
		for j := 0; j < n; j++ {
			col := ab[j*ld : j*ld+ld]
			if !fresh {
				clear(col[:kl])
			}
			copy(col[kl:], a.data[j*lda:j*lda+lda])
		}
	}
	if err := dst.factor(); err != nil {
		return err
	}
	dst.ok = true
	return nil
}

// minNormal is the smallest positive normal float64: 1/x is finite for
// |x| ≥ minNormal (LAPACK's sfmin).
const minNormal = 0x1p-1022

// factor runs dgbtf2 on lu.ab in place.
func (lu *BandLU) factor() error {
	n, kl, ku := lu.n, lu.kl, lu.ku
	ld := 2*kl + ku + 1
	kv := kl + ku
	s := ld - 1 // stride along a row of the band storage
	ab, ipiv := lu.ab, lu.ipiv
	ju := 0 // the last column touched by the interchanges so far
	for j := 0; j < n; j++ {
		km := min(kl, n-1-j)
		dj := j*ld + kv // (j, j)
		col := ab[dj : dj+km+1]

		// Pivot: the first entry of largest magnitude on or below the
		// diagonal.
		jp, amax := 0, math.Abs(col[0])
		for r := 1; r < len(col); r++ {
			if v := math.Abs(col[r]); v > amax {
				jp, amax = r, v
			}
		}
		ipiv[j] = j + jp
		piv := col[jp]
		if !(amax > 0) || math.IsInf(piv, 0) {
			return &SingularError{Row: j, Pivot: piv}
		}
		ju = max(ju, min(j+ku+jp, n-1))

		// Interchange rows j and j+jp in columns j..ju.
		if jp != 0 {
			for p, c := dj, j; c <= ju; c++ {
				ab[p], ab[p+jp] = ab[p+jp], ab[p]
				p += s
			}
		}
		if km == 0 {
			continue
		}

		// Multipliers, then the rank-1 update of rows j+1..j+km in columns
		// j+1..ju.
		l := col[1:]
		if math.Abs(piv) >= minNormal {
			inv := 1 / piv
			for r := range l {
				l[r] *= inv
			}
		} else {
			for r := range l {
				l[r] /= piv
			}
		}
		for p, c := dj+s, j+1; c <= ju; c++ {
			if u := ab[p]; u != 0 {
				t := ab[p+1 : p+1+len(l)]
				for r, lv := range l {
					t[r] -= lv * u
				}
			}
			p += s
		}
	}
	return nil
}

func (lu *BandLU) mustHold() {
	if !lu.ok {
		panic("sparse: BandLU holds no factor")
	}
}

// Dims returns the size and the bandwidths of the factorized matrix.
func (lu *BandLU) Dims() (n, kl, ku int) { return lu.n, lu.kl, lu.ku }

// Solve overwrites b with the solution x of A x = b. It allocates nothing.
// It panics if len(b) is not n or lu holds no factor.
func (lu *BandLU) Solve(b []float64) {
	lu.mustHold()
	n, kl := lu.n, lu.kl
	if len(b) != n {
		panic("sparse: Solve with a vector of the wrong length")
	}
	ld := 2*kl + lu.ku + 1
	kv := kl + lu.ku
	ab, ipiv := lu.ab, lu.ipiv

	// L: apply each step's interchange, then its multipliers.
	if kl > 0 {
		for j := 0; j < n-1; j++ {
			if p := ipiv[j]; p != j {
				b[j], b[p] = b[p], b[j]
			}
			bj := b[j]
			if bj == 0 {
				continue
			}
			lm := min(kl, n-1-j)
			l := ab[j*ld+kv+1 : j*ld+kv+1+lm]
			t := b[j+1 : j+1+lm]
			t = t[:len(l)]
			for r, lv := range l {
				t[r] -= lv * bj
			}
		}
	}

	// U: back substitution by columns, kl+ku super-diagonals.
	for j := n - 1; j >= 0; j-- {
		bj := b[j]
		if bj == 0 {
			continue
		}
		dj := j*ld + kv
		bj /= ab[dj]
		b[j] = bj
		i0 := max(0, j-kv)
		u := ab[dj-(j-i0) : dj]
		t := b[i0:j]
		t = t[:len(u)]
		for r, uv := range u {
			t[r] -= uv * bj
		}
	}
}

// SolveT overwrites b with the solution x of Aᵀ x = b. It allocates
// nothing. It panics if len(b) is not n or lu holds no factor.
func (lu *BandLU) SolveT(b []float64) {
	lu.mustHold()
	n, kl := lu.n, lu.kl
	if len(b) != n {
		panic("sparse: SolveT with a vector of the wrong length")
	}
	ld := 2*kl + lu.ku + 1
	kv := kl + lu.ku
	ab, ipiv := lu.ab, lu.ipiv

	// Uᵀ: forward substitution by dot products down the columns of U.
	for j := 0; j < n; j++ {
		dj := j*ld + kv
		i0 := max(0, j-kv)
		u := ab[dj-(j-i0) : dj]
		t := b[i0:j]
		t = t[:len(u)]
		sum := b[j]
		for r, uv := range u {
			sum -= uv * t[r]
		}
		b[j] = sum / ab[dj]
	}

	// Lᵀ: the steps in reverse, multipliers then interchange.
	if kl > 0 {
		for j := n - 2; j >= 0; j-- {
			lm := min(kl, n-1-j)
			l := ab[j*ld+kv+1 : j*ld+kv+1+lm]
			t := b[j+1 : j+1+lm]
			t = t[:len(l)]
			sum := b[j]
			for r, lv := range l {
				sum -= lv * t[r]
			}
			b[j] = sum
			if p := ipiv[j]; p != j {
				b[j], b[p] = b[p], b[j]
			}
		}
	}
}

// LogAbsDet returns log|det A|, the sum of log|U(j, j)|. It is finite: a
// zero pivot made FactorBand fail. It is 0 for n = 0. It panics if lu
// holds no factor.
func (lu *BandLU) LogAbsDet() float64 {
	lu.mustHold()
	ld := 2*lu.kl + lu.ku + 1
	kv := lu.kl + lu.ku
	acc := logprod.New()
	for j := 0; j < lu.n; j++ {
		acc.Mul(lu.ab[j*ld+kv]) // a factor holds no zero pivot
	}
	return acc.Log()
}
