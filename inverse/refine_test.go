package inverse_test

import (
	"math"
	"math/big"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// bigSolve solves a x = b (row-major n×n) by Gaussian elimination with
// partial pivoting in 256-bit floating point: the reference.
func bigSolve(a, b []float64, n int) []float64 {
	const prec = 256
	m := make([][]*big.Float, n)
	for i := range m {
		m[i] = make([]*big.Float, n+1)
		for j := range n {
			m[i][j] = new(big.Float).SetPrec(prec).SetFloat64(a[i*n+j])
		}
		m[i][n] = new(big.Float).SetPrec(prec).SetFloat64(b[i])
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
			f := new(big.Float).SetPrec(prec).Quo(m[i][k], m[k][k])
			for j := k; j <= n; j++ {
				m[i][j].Sub(m[i][j], new(big.Float).SetPrec(prec).Mul(f, m[k][j]))
			}
		}
	}
	x := make([]*big.Float, n)
	for i := n - 1; i >= 0; i-- {
		s := new(big.Float).SetPrec(prec).Set(m[i][n])
		for j := i + 1; j < n; j++ {
			s.Sub(s, new(big.Float).SetPrec(prec).Mul(m[i][j], x[j]))
		}
		x[i] = s.Quo(s, m[i][i])
	}
	out := make([]float64, n)
	for i, v := range x {
		out[i], _ = v.Float64()
	}
	return out
}

func relErrTo(got, want []float64) float64 {
	d, m := 0.0, 0.0
	for i, w := range want {
		d = math.Max(d, math.Abs(got[i]-w))
		m = math.Max(m, math.Abs(w))
	}
	return d / m
}

// TestRefineAccuracy compares, on ill-conditioned programs, the forward
// error of IJVP, of IJVP with Refine(2), and of gonum's pivoted LU on the
// dense J, all against a 256-bit solve of the same J and dy, and logs
// them. On these programs IJVP already matches LU's accuracy (its lumps
// are solved by pivoted LUs and exact reciprocals), so refinement has
// little to gain: the test bounds it, within 20× of the better of IJVP and
// LU, far below the κ·ε bound.
func TestRefineAccuracy(t *testing.T) {
	hilbert := func(n int) *tensor.Tensor {
		h := tensor.Zeros(n, n)
		for i := range n {
			for j := range n {
				h.Data()[i*n+j] = 1 / float64(i+j+1)
			}
		}
		return h
	}
	w := tensor.New([]int{2, 2}, []float64{1, 1, 0, 1e-4})
	for _, c := range []struct {
		name string
		f    func(*tape.Var) *tape.Var
		x    *tensor.Tensor
	}{
		{"three steps W·(W·(W·x)), κ ≈ 1e12", func(x *tape.Var) *tape.Var {
			c := ops.Const(x, w)
			return ops.MatMul(c, ops.MatMul(c, ops.MatMul(c, x)))
		}, tensor.New([]int{2, 3}, []float64{1, -2, 3, 0.5, 0.25, -1})},
		{"Hilbert(8)·x + 1e-3·tanh x", func(x *tape.Var) *tape.Var {
			return ops.Add(ops.MatMul(ops.Const(x, hilbert(8)), x), ops.Scale(ops.Tanh(x), 1e-3))
		}, tensor.New([]int{8}, []float64{0.3, -0.1, 0.7, 0.2, -0.5, 0.9, -0.8, 0.4})},
		{"exp(x)·Hilbert(7)·x (a dense lump)", func(x *tape.Var) *tape.Var {
			return ops.Mul(ops.Exp(x), ops.MatMul(ops.Const(x, hilbert(7)), x))
		}, tensor.New([]int{7}, []float64{0.3, -0.1, 0.7, 0.2, -0.5, 0.9, -0.8})},
	} {
		lin, err := inverse.Linearize(c.f, c.x)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := inverse.Linearize(c.f, c.x, inverse.Refine(2))
		if err != nil {
			t.Fatal(err)
		}
		n := c.x.Len()
		dy := tensor.Zeros(lin.Output().Shape()...)
		for i := range dy.Data() {
			dy.Data()[i] = math.Cos(float64(3*i + 1))
		}
		J, err := lin.Jacobian()
		if err != nil {
			t.Fatal(err)
		}
		want := bigSolve(J.Data(), dy.Data(), n)
		plain, err := lin.IJVP(dy)
		if err != nil {
			t.Fatal(err)
		}
		refined, err := ref.IJVP(dy)
		if err != nil {
			t.Fatal(err)
		}
		var lu mat.LU
		lu.Factorize(mat.NewDense(n, n, J.Data()))
		var xv mat.VecDense
		if err := lu.SolveVecTo(&xv, false, mat.NewVecDense(n, dy.Data())); err != nil {
			t.Logf("%s: gonum LU: %v", c.name, err)
		}
		cond, _ := lin.Cond()
		ePlain, eRef, eLU := relErrTo(plain.Data(), want), relErrTo(refined.Data(), want), relErrTo(xv.RawVector().Data, want)
		t.Logf("%s: Cond %.2g; forward error IJVP %.2g, IJVP + Refine(2) %.2g, gonum LU %.2g", c.name, cond, ePlain, eRef, eLU)
		if eRef > 20*math.Max(ePlain, eLU)+1e-16 {
			t.Errorf("%s: refined error %.3g (plain %.3g, LU %.3g)", c.name, eRef, ePlain, eLU)
		}
	}
	mustPanic(t, "inverse: Refine(-1)", func() { inverse.Refine(-1) })
}
