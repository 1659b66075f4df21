package sweep

import (
	"math"

	"github.com/invad/invad/tensor"
)

// Cond1 estimates the 1-norm condition number κ₁(J) = ‖J‖₁·‖J⁻¹‖₁ of an
// n×n Jacobian from its four products on host tensors (x shaped in, y
// shaped out): NormEst1 on JVP/VJP and on IJVP/VIJP. Both backends'
// Linearization.Cond are this. Errors are the products'.
func Cond1(n int, in, out []int, jvp, vjp, ijvp, vijp func(dst, v *tensor.Tensor) error) (float64, error) {
	prod := func(p func(dst, v *tensor.Tensor) error, argShape, resShape []int) func(dst, v []float64) error {
		return func(dst, v []float64) error { return p(tensor.New(resShape, dst), tensor.New(argShape, v)) }
	}
	nj, err := NormEst1(n, prod(jvp, in, out), prod(vjp, out, in))
	if err != nil {
		return math.NaN(), err
	}
	ni, err := NormEst1(n, prod(ijvp, out, in), prod(vijp, in, out))
	if err != nil {
		return math.NaN(), err
	}
	return nj * ni, nil
}

// NormEst1 estimates ‖A‖₁ of an n×n operator known only by its products
// (apply: dst = A v, applyT: dst = Aᵀ v) by Hager's method with Higham's
// refinements, as LAPACK's dlacon: at most five pairs of products plus one
// extra product on Higham's alternating vector. The estimate is a lower
// bound of ‖A‖₁, usually within a factor 3 of it and often exact.
func NormEst1(n int, apply, applyT func(dst, v []float64) error) (float64, error) {
	if n == 0 {
		return 0, nil
	}
	x, y, z := make([]float64, n), make([]float64, n), make([]float64, n)
	xi, sgn := make([]float64, n), make([]float64, n)
	sign := func(dst, v []float64) {
		for i, a := range v {
			if a >= 0 {
				dst[i] = 1
			} else {
				dst[i] = -1
			}
		}
	}
	argmax := func(v []float64) int {
		j, m := 0, -1.0
		for i, a := range v {
			if math.Abs(a) > m {
				j, m = i, math.Abs(a)
			}
		}
		return j
	}
	for i := range x {
		x[i] = 1 / float64(n)
	}
	if err := apply(y, x); err != nil {
		return 0, err
	}
	est := norm1(y)
	sign(xi, y)
	if err := applyT(z, xi); err != nil {
		return 0, err
	}
	j := argmax(z)
	for iter := 2; iter <= 5; iter++ {
		clear(x)
		x[j] = 1
		if err := apply(y, x); err != nil {
			return 0, err
		}
		old := est
		est = math.Max(est, norm1(y))
		sign(sgn, y)
		if slicesEqual(sgn, xi) || norm1(y) <= old {
			break // the sign pattern repeats, or no increase: converged
		}
		copy(xi, sgn)
		if err := applyT(z, xi); err != nil {
			return 0, err
		}
		last := j
		j = argmax(z)
		if math.Abs(z[last]) == math.Abs(z[j]) {
			break
		}
	}
	// Higham's alternating vector catches what the search above misses.
	for i := range x {
		s := 1.0
		if i%2 == 1 {
			s = -1
		}
		x[i] = s * (1 + float64(i)/float64(max(n-1, 1)))
	}
	if err := apply(y, x); err != nil {
		return 0, err
	}
	return math.Max(est, 2*norm1(y)/float64(3*n)), nil
}

func slicesEqual(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func norm1(v []float64) float64 {
	s := 0.0
	for _, a := range v {
		s += math.Abs(a)
	}
	return s
}
