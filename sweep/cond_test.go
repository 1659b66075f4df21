package sweep_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/sweep"
)

// TestNormEst1 checks the estimate against the exact 1-norm of explicit
// matrices: never above it (to rounding), within a factor 3 on random
// matrices, exact on the identity, a diagonal and a matrix whose largest
// column is hidden from the all-ones start.
func TestNormEst1(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	check := func(name string, a *mat.Dense, exactWithin float64) {
		t.Helper()
		n, _ := a.Dims()
		apply := func(trans bool) func(dst, v []float64) error {
			return func(dst, v []float64) error {
				d := mat.NewVecDense(n, dst)
				if trans {
					d.MulVec(a.T(), mat.NewVecDense(n, v))
				} else {
					d.MulVec(a, mat.NewVecDense(n, v))
				}
				return nil
			}
		}
		est, err := sweep.NormEst1(n, apply(false), apply(true))
		if err != nil {
			t.Fatal(err)
		}
		want := mat.Norm(a, 1)
		if est > want*(1+1e-12) || est < want/exactWithin {
			t.Errorf("%s: estimate %.6g, ‖A‖₁ = %.6g", name, est, want)
		}
	}
	for _, n := range []int{1, 2, 5, 17, 64} {
		d := make([]float64, n*n)
		for i := range d {
			d[i] = rng.NormFloat64()
		}
		check("random", mat.NewDense(n, n, d), 3)
	}
	id := mat.NewDense(4, 4, nil)
	for i := range 4 {
		id.Set(i, i, 1)
	}
	check("identity", id, 1)
	diag := mat.NewDense(3, 3, []float64{1, 0, 0, 0, -7, 0, 0, 0, 2})
	check("diagonal", diag, 1)
	// Column 2 is the largest, and its entries cancel on the ones vector.
	hidden := mat.NewDense(3, 3, []float64{1, 0, 5, 0, 1, -5, 0, 0, 0})
	check("cancelling column", hidden, 1)
	if est, _ := sweep.NormEst1(0, nil, nil); est != 0 || math.IsNaN(est) {
		t.Errorf("n = 0: %g", est)
	}
}
