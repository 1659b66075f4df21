package bench

import (
	"math"
	"math/rand/v2"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Shape of the coupling layer: rows of CouplingHalf features go through a
// CouplingHalf×CouplingHidden MLP.
const (
	CouplingHalf   = 8
	CouplingHidden = 16
)

// CouplingRows returns the number of batch rows of a coupling layer on n
// elements; n must be a multiple of 2·CouplingHalf.
func CouplingRows(n int) int {
	if n <= 0 || n%(2*CouplingHalf) != 0 {
		panic("bench: a coupling layer needs n a positive multiple of 2·CouplingHalf")
	}
	return n / (2 * CouplingHalf)
}

// Coupling returns an affine coupling layer f: Rⁿ → Rⁿ over a batch: x is
// reshaped to (2·rows, 8) and split into halves a, b of rows×8;
// h = tanh(a·W1), s = h·Ws, t = h·Wt, y = concat(a, b⊙exp(s) + t) reshaped
// back to n. W1 (8×16), Ws and Wt (16×8) are fixed constants; Ws is scaled
// down so that exp(s) stays moderate. J is block lower triangular with the
// diagonal exp(s) on b, so J is invertible and log|det J| = Σ s.
func Coupling(n int) func(x *tape.Var) *tape.Var {
	rows := CouplingRows(n)
	w1, ws, wt := couplingWeights()
	return func(x *tape.Var) *tape.Var {
		x2 := ops.Reshape(x, 2*rows, CouplingHalf)
		ab := ops.Split(x2, rows, rows)
		a, b := ab[0], ab[1]
		h := ops.Tanh(ops.MatMul(a, ops.Const(x, w1)))
		s := ops.MatMul(h, ops.Const(x, ws))
		t := ops.MatMul(h, ops.Const(x, wt))
		y := ops.Concat(a, ops.Add(ops.Mul(b, ops.Exp(s)), t))
		return ops.Reshape(y, n)
	}
}

// couplingWeights draws the coupling layer's constants, the same on every
// call.
func couplingWeights() (w1, ws, wt *tensor.Tensor) {
	rng := rand.New(rand.NewPCG(2026, 11))
	mat := func(r, c int, scale float64) *tensor.Tensor {
		d := make([]float64, r*c)
		for i := range d {
			d[i] = scale * rng.NormFloat64() / math.Sqrt(float64(r))
		}
		return tensor.New([]int{r, c}, d)
	}
	return mat(CouplingHalf, CouplingHidden, 1), mat(CouplingHidden, CouplingHalf, 0.3), mat(CouplingHidden, CouplingHalf, 1)
}

// CouplingPlain is Coupling written as plain Go loops, for the tests: it
// returns y and log|det J| = Σ s.
func CouplingPlain(x []float64) (y []float64, logdet float64) {
	n := len(x)
	rows := CouplingRows(n)
	w1, ws, wt := couplingWeights()
	W1, Ws, Wt := w1.Data(), ws.Data(), wt.Data()
	y = make([]float64, n)
	copy(y, x[:n/2])
	h := make([]float64, CouplingHidden)
	for r := range rows {
		a := x[r*CouplingHalf : (r+1)*CouplingHalf]
		b := x[n/2+r*CouplingHalf : n/2+(r+1)*CouplingHalf]
		for j := range h {
			acc := 0.0
			for k, av := range a {
				acc += av * W1[k*CouplingHidden+j]
			}
			h[j] = math.Tanh(acc)
		}
		for j := range CouplingHalf {
			s, t := 0.0, 0.0
			for k, hv := range h {
				s += hv * Ws[k*CouplingHalf+j]
				t += hv * Wt[k*CouplingHalf+j]
			}
			y[n/2+r*CouplingHalf+j] = b[j]*math.Exp(s) + t
			logdet += s
		}
	}
	return y, logdet
}
