package catalog

import (
	"math"
	"math/rand/v2"

	"github.com/invad/invad/tensor"
)

// Matrix returns a seeded r×c matrix with entries in [-1, 1), plus diag on
// the diagonal so square ones are well conditioned: the constants of the
// Inverse and Scalar tables (inversetest.Matrix).
func Matrix(seed uint64, r, c int, diag float64) *tensor.Tensor {
	return uniformMatrix(seed, 7, r, c, diag)
}

// OracleMatrix is Matrix drawn from another stream: the constants of the
// oracle's own programs and of its random programs.
func OracleMatrix(seed uint64, r, c int, diag float64) *tensor.Tensor {
	return uniformMatrix(seed, 13, r, c, diag)
}

func uniformMatrix(seed, stream uint64, r, c int, diag float64) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, stream))
	d := make([]float64, r*c)
	for i := range d {
		d[i] = 2*rng.Float64() - 1
	}
	for i := range min(r, c) {
		d[i*c+i] += diag
	}
	return tensor.New([]int{r, c}, d)
}

// normalMatrix draws an r×c matrix scale·g/√r with g standard normal from
// rng, plus diag on the diagonal (none added when diag is 0).
func normalMatrix(rng *rand.Rand, r, c int, scale, diag float64) *tensor.Tensor {
	d := make([]float64, r*c)
	for i := range d {
		d[i] = scale * rng.NormFloat64() / math.Sqrt(float64(r))
	}
	if diag != 0 {
		for i := range min(r, c) {
			d[i*c+i] += diag
		}
	}
	return tensor.New([]int{r, c}, d)
}
