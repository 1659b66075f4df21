package bench

import (
	"math"
	"time"

	"gonum.org/v1/gonum/floats"
)

// GMRESOptions configures GMRES. Zero fields take the defaults noted.
type GMRESOptions struct {
	// Restart is the Krylov dimension m of GMRES(m) (default 50).
	Restart int
	// Tol is the target relative residual |A x − b| / |b| (default 1e-10).
	Tol float64
	// MaxIter bounds the Arnoldi steps, that is the products with A
	// besides one residual check per restart (default 1000).
	MaxIter int
	// Deadline, if not zero, stops the solve at the first restart past it.
	Deadline time.Time
}

// GMRESStats describes a GMRES solve.
type GMRESStats struct {
	Iters     int     // Arnoldi steps (products with A in the Krylov basis)
	MatVecs   int     // all products with A, residual checks included
	Restarts  int     // completed restart cycles
	Residual  float64 // the true relative residual |A x − b| / |b| at the end
	Converged bool    // Residual ≤ Tol
	// Stopped says why an unconverged solve stopped: "iterations",
	// "deadline" or "stagnation"; empty when it converged.
	Stopped string
}

// GMRES solves A x = b by restarted GMRES(m) with modified Gram–Schmidt
// Arnoldi and Givens rotations, from x = 0, with A given only through
// matvec(dst, v), which must set dst = A v. It returns x and its stats.
// Convergence is decided on the true residual, recomputed with one extra
// product at the end of every cycle, not on the recurrence alone. b is not
// modified.
//
// GMRES panics if b is empty or opts has a negative field.
func GMRES(matvec func(dst, v []float64), b []float64, opts GMRESOptions) ([]float64, GMRESStats) {
	n := len(b)
	if n == 0 {
		panic("bench: GMRES with an empty right-hand side")
	}
	if opts.Restart < 0 || opts.Tol < 0 || opts.MaxIter < 0 {
		panic("bench: GMRES with a negative option")
	}
	m := opts.Restart
	if m == 0 {
		m = 50
	}
	m = min(m, n)
	tol := opts.Tol
	if tol == 0 {
		tol = 1e-10
	}
	maxIter := opts.MaxIter
	if maxIter == 0 {
		maxIter = 1000
	}
	var st GMRESStats
	x := make([]float64, n)
	bnorm := floats.Norm(b, 2)
	if bnorm == 0 {
		st.Converged = true
		return x, st
	}
	// V holds the Krylov basis, H the Hessenberg matrix (column j has j+2
	// entries), cs/sn the Givens rotations, g the rotated residual.
	V := make([][]float64, m+1)
	for i := range V {
		V[i] = make([]float64, n)
	}
	H := make([][]float64, m)
	for j := range H {
		H[j] = make([]float64, m+1)
	}
	cs, sn, g, y := make([]float64, m), make([]float64, m), make([]float64, m+1), make([]float64, m)
	r := make([]float64, n)
	Ax := make([]float64, n)
	residual := func() float64 { // r = b − A x; returns |r| / |b|
		matvec(Ax, x)
		st.MatVecs++
		floats.SubTo(r, b, Ax)
		return floats.Norm(r, 2) / bnorm
	}
	copy(r, b) // x = 0
	rel := 1.0
	for {
		beta := rel * bnorm
		floats.ScaleTo(V[0], 1/beta, r)
		clear(g)
		g[0] = beta
		k := 0 // basis vectors built this cycle
		for k < m && st.Iters < maxIter {
			w := V[k+1]
			matvec(w, V[k])
			st.Iters++
			st.MatVecs++
			h := H[k]
			for i := 0; i <= k; i++ {
				h[i] = floats.Dot(w, V[i])
				floats.AddScaled(w, -h[i], V[i])
			}
			hn := floats.Norm(w, 2)
			h[k+1] = hn
			for i := 0; i < k; i++ { // earlier rotations
				h[i], h[i+1] = cs[i]*h[i]+sn[i]*h[i+1], -sn[i]*h[i]+cs[i]*h[i+1]
			}
			d := math.Hypot(h[k], h[k+1])
			if d == 0 { // A is singular on the basis: end the cycle without it
				break
			}
			cs[k], sn[k] = h[k]/d, h[k+1]/d
			h[k], h[k+1] = d, 0
			g[k], g[k+1] = cs[k]*g[k], -sn[k]*g[k]
			k++
			// The recurrence's residual |g[k]| is a cheap estimate: stop the
			// cycle a little below the target, then check the true one.
			if math.Abs(g[k]) <= 0.5*tol*bnorm || hn == 0 {
				break
			}
			floats.Scale(1/hn, w)
		}
		// Solve the k×k triangular system H y = g and update x.
		for i := k - 1; i >= 0; i-- {
			s := g[i]
			for j := i + 1; j < k; j++ {
				s -= H[j][i] * y[j]
			}
			y[i] = s / H[i][i]
		}
		for j := 0; j < k; j++ {
			floats.AddScaled(x, y[j], V[j])
		}
		st.Restarts++
		prev := rel
		rel = residual()
		st.Residual = rel
		switch {
		case rel <= tol:
			st.Converged = true
			return x, st
		case st.Iters >= maxIter:
			st.Stopped = "iterations"
			return x, st
		case !opts.Deadline.IsZero() && time.Now().After(opts.Deadline):
			st.Stopped = "deadline"
			return x, st
		case k == 0 || rel >= prev:
			// A full cycle that does not lower the true residual will not
			// lower it on the next one either: the same basis comes back.
			st.Stopped = "stagnation"
			return x, st
		}
	}
}
