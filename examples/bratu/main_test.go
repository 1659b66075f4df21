package main

import (
	"io"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// thomasNewton solves the 1-D discrete Bratu problem by a plain Newton
// iteration whose tridiagonal systems are solved by the Thomas algorithm,
// stopping at solve's tolerance: the reference, independent of invad.
func thomasNewton(n int, lambda float64) []float64 {
	h2 := float64((n + 1) * (n + 1))
	u := make([]float64, n)
	f := make([]float64, n)
	diag, c, d := make([]float64, n), make([]float64, n), make([]float64, n)
	for range 50 {
		norm := 0.0
		for i := range n {
			l, r := 0.0, 0.0
			if i > 0 {
				l = u[i-1]
			}
			if i < n-1 {
				r = u[i+1]
			}
			f[i] = (l-2*u[i]+r)*h2 + lambda*math.Exp(u[i])
			norm = math.Max(norm, math.Abs(f[i]))
			diag[i] = -2*h2 + lambda*math.Exp(u[i])
		}
		if norm <= tolerance(h2) {
			break
		}
		// J = tridiag(h2, diag, h2); solve J·du = f, u −= du.
		c[0], d[0] = h2/diag[0], f[0]/diag[0]
		for i := 1; i < n; i++ {
			m := diag[i] - h2*c[i-1]
			c[i], d[i] = h2/m, (f[i]-h2*d[i-1])/m
		}
		for i := n - 1; i >= 0; i-- {
			if i < n-1 {
				d[i] -= c[i] * d[i+1]
			}
			u[i] -= d[i]
		}
	}
	return u
}

func TestBratu1D(t *testing.T) {
	const n = 999 // odd: the middle point is x = 1/2
	r, err := solve(config{dim: 1, n: n, lambda: 1}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ref := thomasNewton(n, 1)
	for i, v := range r.u.Data() {
		if math.Abs(v-ref[i]) > 1e-10 {
			t.Fatalf("u[%d] = %.15g, Thomas-Newton %.15g", i, v, ref[i])
		}
	}
	// The discrete solution is within O(h²) of the continuous one:
	// u(1/2) = 0.1405392...
	if d := math.Abs(r.mid - exactMid(1)); d > 1e-6 {
		t.Errorf("u(1/2) = %.10f, exact %.10f", r.mid, exactMid(1))
	}
	// Finer: at n = 10⁵ ‖F‖∞ cannot fall much below ε·h² ≈ 2e-6, which
	// a u off by 1e-7 already meets; Newton goes on until its steps
	// stall (UntilStall), and u(1/2) is the continuous value to O(h²).
	fine, err := solve(config{dim: 1, n: 99_999, lambda: 1}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(fine.mid - exactMid(1)); d > 1e-9 {
		t.Errorf("n = 99999: u(1/2) = %.12f, exact %.12f (off by %.2g)", fine.mid, exactMid(1), d)
	}
	if math.Abs(exactMid(1)-0.1405392) > 1e-7 {
		t.Errorf("exactMid(1) = %.10f, want 0.1405392...", exactMid(1))
	}
	if !strings.HasPrefix(r.lump, "sparse") || !strings.Contains(r.lump, "3 colors") || !strings.Contains(r.lump, "banded LU") {
		t.Errorf("lump %q, want one sparse lump with 3 colors, banded LU", r.lump)
	}
}

// denseNewton solves the 2-D discrete Bratu problem on an m×m grid by
// Newton with the 5-point Jacobian assembled densely and gonum's LU.
func denseNewton(m int, lambda float64) []float64 {
	n := m * m
	h2 := float64((m + 1) * (m + 1))
	u := make([]float64, n)
	at := func(i, j int) float64 {
		if i < 0 || j < 0 || i >= m || j >= m {
			return 0
		}
		return u[i*m+j]
	}
	for range 30 {
		f := make([]float64, n)
		J := mat.NewDense(n, n, nil)
		norm := 0.0
		for i := range m {
			for j := range m {
				k := i*m + j
				f[k] = (at(i-1, j)+at(i+1, j)+at(i, j-1)+at(i, j+1)-4*u[k])*h2 + lambda*math.Exp(u[k])
				norm = math.Max(norm, math.Abs(f[k]))
				J.Set(k, k, -4*h2+lambda*math.Exp(u[k]))
				for _, nb := range [][2]int{{i - 1, j}, {i + 1, j}, {i, j - 1}, {i, j + 1}} {
					if nb[0] >= 0 && nb[1] >= 0 && nb[0] < m && nb[1] < m {
						J.Set(k, nb[0]*m+nb[1], h2)
					}
				}
			}
		}
		if norm < 1e-10 {
			break
		}
		var du mat.VecDense
		if err := du.SolveVec(J, mat.NewVecDense(n, f)); err != nil {
			panic(err)
		}
		for k := range u {
			u[k] -= du.AtVec(k)
		}
	}
	return u
}

func TestBratu2D(t *testing.T) {
	const m = 15
	r, err := solve(config{dim: 2, n: m, lambda: 6}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ref := denseNewton(m, 6)
	for i, v := range r.u.Data() {
		if math.Abs(v-ref[i]) > 1e-9 {
			t.Fatalf("u[%d] = %.15g, dense Newton %.15g", i, v, ref[i])
		}
	}
	if !strings.HasPrefix(r.lump, "sparse") || !strings.Contains(r.lump, "banded LU") {
		t.Errorf("lump %q, want one sparse lump, banded LU", r.lump)
	}
}
