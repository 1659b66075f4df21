package cpu

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// RCondMin is the reciprocal condition number (1-norm estimate) below which a
// matrix counts as numerically singular: past 1/eps a solve has no correct digits.
const RCondMin = 1e-15

// LU is the LU factorization with partial pivoting of an n×n row-major
// matrix. Its solve methods are safe for concurrent use.
type LU struct {
	n      int
	lu     blas64.General
	piv    []int
	logdet float64
	rcond  float64
}

// Singular describes why FactorLU refused a matrix.
type Singular struct {
	Index int     // the row of the zero or tiny pivot, -1 for a condition failure
	Pivot float64 // the pivot, or the reciprocal condition estimate
	Why   string
}

// Figure names what Pivot is: "pivot", or "reciprocal condition
// estimate" for a condition failure.
func (s *Singular) Figure() string {
	if s.Index < 0 {
		return "reciprocal condition estimate"
	}
	return "pivot"
}

// FactorLUColumns is FactorLU of the n×n matrix given column-major in at
// (column c at c·n, not modified): the layout in which a matrix built from
// JVP columns arrives.
func FactorLUColumns(at []float64, n int) (*LU, *Singular) {
	a := make([]float64, n*n)
	for c := range n {
		for r := range n {
			a[r*n+c] = at[c*n+r]
		}
	}
	return FactorLU(a, n)
}

// FactorLU factorizes the n×n row-major matrix a (not modified). A matrix with
// a zero pivot, or whose reciprocal condition estimate is below RCondMin,
// gives a nil LU and a non-nil *Singular.
func FactorLU(a []float64, n int) (*LU, *Singular) {
	if len(a) != n*n {
		panic(fmt.Sprintf("cpu: FactorLU of %d elements as %d×%d", len(a), n, n))
	}
	g := blas64.General{Rows: n, Cols: n, Stride: max(n, 1), Data: append([]float64(nil), a...)}
	if n == 0 {
		return &LU{lu: g}, nil
	}
	anorm := lapack64.Lange(lapack.MaxColumnSum, g, make([]float64, n))
	piv := make([]int, n)
	lapack64.Getrf(g, piv) // a zero pivot is found below, with its row
	l := &LU{n: n, lu: g, piv: piv}
	for i := 0; i < n; i++ {
		u := g.Data[i*g.Stride+i]
		if u == 0 {
			return nil, &Singular{Index: i, Pivot: u, Why: "zero pivot"}
		}
		l.logdet += math.Log(math.Abs(u))
	}
	work := make([]float64, 4*n)
	iwork := make([]int, n)
	l.rcond = lapack64.Gecon(lapack.MaxColumnSum, g, anorm, work, iwork)
	if !(l.rcond >= RCondMin) {
		return nil, &Singular{Index: -1, Pivot: l.rcond, Why: fmt.Sprintf("reciprocal condition estimate %.3g", l.rcond)}
	}
	return l, nil
}

// Size returns n.
func (l *LU) Size() int { return l.n }

// LogAbsDet returns log|det A|.
func (l *LU) LogAbsDet() float64 { return l.logdet }

// Inverse returns A⁻¹, row-major n×n, solved from the LU with the
// identity's columns: for a backend that applies A⁻¹ as a matrix product
// (the CUDA backend's W⁻¹ and dense lumps).
func (l *LU) Inverse() []float64 {
	eye := make([]float64, l.n*l.n)
	for i := range l.n {
		eye[i*l.n+i] = 1
	}
	inv := make([]float64, l.n*l.n)
	l.SolveMany(inv, eye, l.n)
	return inv
}

// RCond returns the 1-norm reciprocal condition estimate.
func (l *LU) RCond() float64 { return l.rcond }

// Solve writes A⁻¹ v into dst (they may alias).
func (l *LU) Solve(dst, v []float64) { l.solve(blas.NoTrans, dst, v, 1) }

// SolveT writes A⁻ᵀ v into dst (they may alias).
func (l *LU) SolveT(dst, v []float64) { l.solve(blas.Trans, dst, v, 1) }

// SolveMany solves A X = V for an n×nrhs row-major V, writing X into dst.
func (l *LU) SolveMany(dst, v []float64, nrhs int) { l.solve(blas.NoTrans, dst, v, nrhs) }

// SolveTMany solves Aᵀ X = V for an n×nrhs row-major V, writing X into dst.
func (l *LU) SolveTMany(dst, v []float64, nrhs int) { l.solve(blas.Trans, dst, v, nrhs) }

func (l *LU) solve(t blas.Transpose, dst, v []float64, nrhs int) {
	if len(dst) != l.n*nrhs || len(v) != l.n*nrhs {
		panic(fmt.Sprintf("cpu: LU solve of order %d with %d right-hand sides given %d and %d elements", l.n, nrhs, len(v), len(dst)))
	}
	if l.n == 0 {
		return
	}
	copy(dst, v)
	if nrhs == 1 {
		l.solveVec(t, dst)
		return
	}
	lapack64.Getrs(t, l.lu, blas64.General{Rows: l.n, Cols: nrhs, Stride: nrhs, Data: dst}, l.piv)
}

// solveVec solves with one right-hand side in place by two triangular
// solves (Trsv), several times faster than Getrs's one-column Trsm.
func (l *LU) solveVec(t blas.Transpose, x []float64) {
	lower := blas64.Triangular{Uplo: blas.Lower, Diag: blas.Unit, N: l.n, Stride: l.lu.Stride, Data: l.lu.Data}
	upper := blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: l.n, Stride: l.lu.Stride, Data: l.lu.Data}
	vec := blas64.Vector{N: l.n, Inc: 1, Data: x}
	if t == blas.NoTrans {
		// A = P L U: x ← P⁻¹ x (the row swaps in order), L⁻¹, U⁻¹.
		for i, p := range l.piv {
			if p != i {
				x[i], x[p] = x[p], x[i]
			}
		}
		blas64.Trsv(blas.NoTrans, lower, vec)
		blas64.Trsv(blas.NoTrans, upper, vec)
		return
	}
	// Aᵀ = Uᵀ Lᵀ Pᵀ: Uᵀ⁻¹, Lᵀ⁻¹, then the swaps in reverse order.
	blas64.Trsv(blas.Trans, upper, vec)
	blas64.Trsv(blas.Trans, lower, vec)
	for i := l.n - 1; i >= 0; i-- {
		if p := l.piv[i]; p != i {
			x[i], x[p] = x[p], x[i]
		}
	}
}
