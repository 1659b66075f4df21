// Package logprod accumulates log|Π xᵢ| of many factors (the pivots of an
// LU) without a logarithm per factor and without overflow or underflow:
// the product is kept as a mantissa in [1, 2) and a sum of binary
// exponents, and one logarithm is taken at the end. The CPU batched LU
// and the sparse factorizations share it.
package logprod

import "math"

// Acc is a product of absolute values, mant·2^exp with mant in [1, 2).
// The zero Acc is not ready: start from New().
type Acc struct {
	mant float64
	exp  int
}

// New returns the empty product, 1.
func New() Acc { return Acc{mant: 1} }

// Mul multiplies the accumulator by |x|; x must be finite and non-zero.
func (a *Acc) Mul(x float64) {
	x = math.Abs(x)
	y := a.mant * x
	e := int(math.Float64bits(y) >> 52)
	if uint(e-1) >= 0x7fe { // y is zero, subnormal or infinite: rescale x first
		fr, fe := math.Frexp(x)
		a.exp += fe
		y = a.mant * fr // in [0.5, 2): normal
		e = int(math.Float64bits(y) >> 52)
	}
	a.exp += e - 1023
	a.mant = math.Float64frombits(math.Float64bits(y)&(1<<52-1) | 1023<<52)
}

// MulProd multiplies by |p| where p is the product of the factors us, each
// finite and non-zero; p is used directly unless it under- or overflowed.
func (a *Acc) MulProd(p float64, us ...float64) {
	if e := math.Float64bits(p) >> 52 & 0x7ff; e != 0 && e != 0x7ff {
		a.Mul(p)
		return
	}
	for _, u := range us {
		a.Mul(u)
	}
}

// Log returns the natural logarithm of the product.
func (a Acc) Log() float64 { return math.Log(a.mant) + float64(a.exp)*math.Ln2 }
