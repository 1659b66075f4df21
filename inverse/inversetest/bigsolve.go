package inversetest

import (
	"math"
	"math/big"
)

// BigPrec is the precision of the reference solves, in bits.
const BigPrec = 256

// BigSolve solves a x = b (a row-major n×n) by Gaussian elimination with
// partial pivoting in BigPrec-bit floating point, rounded to float64: the
// reference the refinement tests of package inverse and package cuda
// measure errors against.
func BigSolve(a, b []float64, n int) []float64 {
	m := make([][]*big.Float, n)
	for i := range m {
		m[i] = make([]*big.Float, n)
		for j := range n {
			m[i][j] = new(big.Float).SetPrec(BigPrec).SetFloat64(a[i*n+j])
		}
	}
	return BigSolveOf(m, b, false)
}

// BigSolveOf solves a x = b, or aᵀ x = b with trans, for a big-float
// matrix a (rows of n), by Gaussian elimination with partial pivoting in
// BigPrec bits; a is not modified. The answer is rounded to float64.
func BigSolveOf(a [][]*big.Float, b []float64, trans bool) []float64 {
	n := len(b)
	m := make([][]*big.Float, n)
	for i := range m {
		m[i] = make([]*big.Float, n+1)
		for j := range n {
			e := a[i][j]
			if trans {
				e = a[j][i]
			}
			m[i][j] = new(big.Float).SetPrec(BigPrec).Set(e)
		}
		m[i][n] = new(big.Float).SetPrec(BigPrec).SetFloat64(b[i])
	}
	for k := range n {
		p := k
		for i := k + 1; i < n; i++ {
			if new(big.Float).Abs(m[i][k]).Cmp(new(big.Float).Abs(m[p][k])) > 0 {
				p = i
			}
		}
		m[k], m[p] = m[p], m[k]
		for i := k + 1; i < n; i++ {
			f := new(big.Float).SetPrec(BigPrec).Quo(m[i][k], m[k][k])
			for j := k; j <= n; j++ {
				m[i][j].Sub(m[i][j], new(big.Float).SetPrec(BigPrec).Mul(f, m[k][j]))
			}
		}
	}
	x := make([]*big.Float, n)
	for i := n - 1; i >= 0; i-- {
		s := new(big.Float).SetPrec(BigPrec).Set(m[i][n])
		for j := i + 1; j < n; j++ {
			s.Sub(s, new(big.Float).SetPrec(BigPrec).Mul(m[i][j], x[j]))
		}
		x[i] = s.Quo(s, m[i][i])
	}
	out := make([]float64, n)
	for i, v := range x {
		out[i], _ = v.Float64()
	}
	return out
}

// ForwardError is ‖got − want‖∞ / ‖want‖∞ (+Inf if got holds NaN).
func ForwardError(got, want []float64) float64 {
	d, m := 0.0, 0.0
	for i, w := range want {
		d = math.Max(d, math.Abs(got[i]-w))
		m = math.Max(m, math.Abs(w))
	}
	if math.IsNaN(d) {
		return math.Inf(1)
	}
	return d / m
}
