package sparse

import (
	"errors"
	"math"
	"slices"
	"sync"
)

// BandFactor is the band LU factorization of a symmetrically permuted
// sparse matrix: B = P A Pᵀ, B(i, j) = A(perm[i], perm[j]), factorized by
// FactorBand. It solves with A itself: the permutations happen inside
// Solve and SolveT.
//
// A BandFactor is not changed after FactorBandPermuted returns it, so
// several goroutines may call its methods at once. Each solve in a
// non-natural order borrows an n-vector of scratch from a sync.Pool inside
// the factor; the pool allocates one on first use, per goroutine solving
// at the same time, and again after garbage collections empty it.
// A BandFactor must not be copied.
type BandFactor struct {
	lu       *BandLU
	perm     []int
	identity bool      // perm[i] == i: no permutation, no scratch
	scratch  sync.Pool // of *[]float64 of length n
}

// EstimateBandFactorBytes returns the bytes that FactorBandPermuted keeps
// in the BandFactor of an n×n matrix whose permuted bandwidths are kl and
// ku (see PermutedBandwidth): BandLUBytes(n, kl, ku) for the factor and 8·n
// for the permutation. It equals the factor's Bytes. While
// FactorBandPermuted runs it also holds the permuted Band, 8·n·(kl+ku+1)
// bytes, and an inverse permutation, 8·n bytes; a solve in a non-natural
// order borrows 8·n bytes of scratch per goroutine solving at once. It
// saturates at math.MaxInt64 and panics if an argument is negative.
func EstimateBandFactorBytes(n, kl, ku int) int64 {
	lu := BandLUBytes(n, kl, ku) // panics on a negative argument
	const word = 8               // bytes in an int
	if uint64(n) > math.MaxInt64/word || lu > math.MaxInt64-int64(n)*word {
		return math.MaxInt64
	}
	return lu + int64(n)*word
}

// FactorBandPermuted factorizes the n×n sparse matrix A with pattern p and
// CSR values vals (aligned with p.Col, as from Recover) in the order perm:
// it builds B = P A Pᵀ, B(i, j) = A(perm[i], perm[j]), as a Band with B's
// bandwidths (PermutedBandwidth) and factorizes it with FactorBand. A nil
// perm is the natural order; RCM(p) usually gives a far smaller band.
// Check EstimateBandFactorBytes(n, kl, ku) first where memory is limited.
// The factor keeps its own copy of perm; p, vals and perm are not
// modified.
//
// It returns, with a nil factor:
//   - a *SingularError (errors.Is(err, ErrSingular)) at the first zero
//     pivot. Its Row is an ORIGINAL index: perm[k] for the failed
//     elimination step k of B, that is column perm[k] of A, the unknown
//     that depends linearly on the unknowns perm[0..k−1] eliminated before
//     it (not on 0..k−1, as the error's message would suggest).
//   - a *NotFiniteError if vals holds a NaN or an infinity; its Row and
//     Col are A's indices.
//
// FactorBandPermuted panics if p is nil or malformed, len(vals) is not
// p.NNZ(), or perm is neither nil nor a permutation of 0..n−1.
func FactorBandPermuted(p *Pattern, vals []float64, perm []int) (*BandFactor, error) {
	checkPattern(p)
	if len(vals) != p.NNZ() {
		panic("sparse: value array length differs from the pattern's nonzeros")
	}
	return factorBandPermuted(p, perm, func(_, k int) float64 { return vals[k] })
}

// FactorBandColored is FactorBandPermuted with A's values read off the
// products of A with the color seeds, as RecoverTo reads them (see there
// for color and products), written straight into the factor's storage:
// no CSR values, no Band in between. A(i, j) = products[color[j]][i].
//
// It panics where RecoverTo or FactorBandPermuted panics.
func FactorBandColored(p *Pattern, color []int, products [][]float64, perm []int) (*BandFactor, error) {
	checkPattern(p)
	n := p.N
	if len(color) != n {
		panic("sparse: coloring length differs from the number of columns")
	}
	for _, c := range color {
		if uint(c) >= uint(len(products)) {
			panic("sparse: color without a product")
		}
	}
	for _, y := range products {
		if len(y) != n {
			panic("sparse: product length differs from the pattern size")
		}
	}
	// lastRow[c] == a marks color c as seen in row a.
	lastRow := make([]int, len(products))
	for c := range lastRow {
		lastRow[c] = -1
	}
	return factorBandPermuted(p, perm, func(a, k int) float64 {
		c := color[p.Col[k]]
		if lastRow[c] == a {
			panic("sparse: two columns of one color share a row")
		}
		lastRow[c] = a
		return products[c][a]
	})
}

// factorBandPermuted builds B = P A Pᵀ in the factor's own storage, value
// giving A's nonzero k (of row a), and factorizes it in place.
func factorBandPermuted(p *Pattern, perm []int, value func(a, k int) float64) (*BandFactor, error) {
	n := p.N
	// The natural order (nil perm) keeps no permutation: own and pos stay
	// nil, and an index is its own position.
	var own, pos []int
	if perm != nil {
		own = make([]int, n) // exactly n: Bytes counts the capacity
		copy(own, perm)
		pos = inversePerm(own, n) // panics unless own is a permutation
	}
	at := func(a int) int {
		if pos == nil {
			return a
		}
		return pos[a]
	}

	var kl, ku int
	for a := 0; a < n; a++ {
		i := at(a)
		for _, c := range p.Col[p.RowPtr[a]:p.RowPtr[a+1]] {
			d := i - at(c)
			kl = max(kl, d)
			ku = max(ku, -d)
		}
	}
	// B(i, j) sits at ab[j·ld + kl+ku + i − j] of the factor (FactorBandTo's
	// layout); the fill rows start zero.
	ld := 2*kl + ku + 1
	lu := &BandLU{n: n, kl: kl, ku: ku, ab: make([]float64, bandLen(n, ld)), ipiv: make([]int, n)}
	ab := lu.ab
	for a := 0; a < n; a++ {
		i := at(a)
		for k := p.RowPtr[a]; k < p.RowPtr[a+1]; k++ {
			j := at(p.Col[k])
			v := value(a, k)
			if v-v != 0 { // NaN or ±Inf
				return nil, &NotFiniteError{Row: a, Col: p.Col[k], Value: v}
			}
			ab[j*ld+kl+ku+i-j] = v
		}
	}
	if err := lu.factor(); err != nil {
		var se *SingularError
		if errors.As(err, &se) && own != nil {
			return nil, &SingularError{Row: own[se.Row], Pivot: se.Pivot}
		}
		return nil, err
	}
	lu.ok = true
	f := &BandFactor{lu: lu, perm: own, identity: true}
	for i, v := range own {
		if v != i {
			f.identity = false
			break
		}
	}
	f.scratch.New = func() any {
		s := make([]float64, n)
		return &s
	}
	return f, nil
}

func (f *BandFactor) mustHold() {
	if f.lu == nil {
		panic("sparse: BandFactor holds no factor")
	}
}

// Solve writes into dst the solution x of A x = b, with A the matrix given
// to FactorBandPermuted. dst may be b itself or overlap it in any way: b is
// read in full before dst is written, and is not modified unless it shares
// memory with dst. Solve allocates nothing in steady state (see
// BandFactor) and may run concurrently with other Solve and SolveT calls
// on f that write distinct dst.
//
// Solve panics if len(dst) or len(b) is not n, or f is the zero BandFactor.
func (f *BandFactor) Solve(dst, b []float64) { f.solve(dst, b, false) }

// SolveT writes into dst the solution x of Aᵀ x = b. As for Solve, dst may
// overlap b, it allocates nothing in steady state and it may run
// concurrently with other calls on f that write distinct dst.
//
// SolveT panics if len(dst) or len(b) is not n, or f is the zero
// BandFactor.
func (f *BandFactor) SolveT(dst, b []float64) { f.solve(dst, b, true) }

// solve permutes, solves with B or Bᵀ and permutes back. A x = b is
// B y = c with y[i] = x[perm[i]] and c[i] = b[perm[i]]; likewise Aᵀ x = b
// is Bᵀ y = c, since Bᵀ = P Aᵀ Pᵀ.
func (f *BandFactor) solve(dst, b []float64, trans bool) {
	f.mustHold()
	perm := f.perm
	if len(dst) != f.lu.n || len(b) != f.lu.n {
		panic("sparse: BandFactor solve with a vector of the wrong length")
	}
	y := dst
	var sp *[]float64
	if f.identity {
		copy(dst, b) // a memmove: any overlap is fine
	} else {
		sp = f.scratch.Get().(*[]float64)
		y = *sp
		for i, v := range perm {
			y[i] = b[v]
		}
	}
	if trans {
		f.lu.SolveT(y)
	} else {
		f.lu.Solve(y)
	}
	if sp != nil {
		for i, v := range perm {
			dst[v] = y[i]
		}
		f.scratch.Put(sp)
	}
}

// LogAbsDet returns log|det A|, which equals log|det B|: a symmetric
// permutation keeps the determinant. It is 0 for n = 0 and panics if f is
// the zero BandFactor.
func (f *BandFactor) LogAbsDet() float64 {
	f.mustHold()
	return f.lu.LogAbsDet()
}

// Bandwidth returns the lower and upper bandwidths of B = P A Pᵀ, the
// band that was factorized (U has up to kl+ku super-diagonals). It panics
// if f is the zero BandFactor.
func (f *BandFactor) Bandwidth() (kl, ku int) {
	f.mustHold()
	return f.lu.kl, f.lu.ku
}

// Perm returns a copy of the ordering: B(i, j) = A(perm[i], perm[j]). For
// the natural order it is the identity. It panics if f is the zero
// BandFactor.
func (f *BandFactor) Perm() []int {
	f.mustHold()
	if f.perm == nil {
		id := make([]int, f.lu.n)
		for i := range id {
			id[i] = i
		}
		return id
	}
	return slices.Clone(f.perm)
}

// Bytes returns the memory f holds: its BandLU (BandLUBytes) and the
// permutation, not the scratch that solves borrow. It equals
// EstimateBandFactorBytes for f's size and bandwidths, less the 8·n bytes
// of a permutation in the natural order (a nil perm), which is not kept,
// and is 0 for the zero BandFactor.
func (f *BandFactor) Bytes() int64 {
	if f.lu == nil {
		return 0
	}
	const word = 8 // bytes in a float64 and an int
	return word * int64(cap(f.lu.ab)+cap(f.lu.ipiv)+cap(f.perm))
}
