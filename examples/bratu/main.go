// Command bratu solves the Bratu problem Δu + λ·eᵘ = 0 with u = 0 on the
// boundary, in 1-D on (0, 1) and in 2-D on the unit square, by Newton's
// method whose steps are invad's IJVP. The residual is written as a user
// would write it, with shifts (Slice and Concat) for the neighbours: invad
// finds one sparse lump whose block is the discrete Laplacian plus a
// diagonal, extracts it with a few JVPs (one per column color: 3 in 1-D),
// and factorizes it by a banded LU.
//
//	go run ./examples/bratu -n 100000
//	go run ./examples/bratu -dim 2 -n 100
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/invad/invad/catalog"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// shift returns v moved by k places along its only axis (v[i−k] at i),
// zero where nothing moves in.
func shift(v *tape.Var, k int) *tape.Var {
	n := v.Len()
	zero := ops.Const(v, tensor.Zeros(abs(k)))
	if k > 0 {
		return ops.Concat(zero, ops.Slice(v, 0, n-k))
	}
	return ops.Concat(ops.Slice(v, -k, n), zero)
}

func abs(k int) int { return max(k, -k) }

// residual1D is F(u)_i = (u[i−1] − 2u[i] + u[i+1])/h² + λ·exp(u[i]) on the
// n interior points of (0, 1), h = 1/(n+1).
func residual1D(lambda float64) func(u *tape.Var) *tape.Var {
	return func(u *tape.Var) *tape.Var {
		n := u.Len()
		h2 := float64((n + 1) * (n + 1))
		lap := ops.Sub(ops.Add(shift(u, 1), shift(u, -1)), ops.Scale(u, 2))
		return ops.Add(ops.Scale(lap, h2), ops.Scale(ops.Exp(u), lambda))
	}
}

// tolerance is the residual Newton stops at: 1e-9, or a few times the
// rounding floor of a residual divided by h² (measured about ε/(2h²)) where
// that is larger: at n = 10⁶ points in 1-D, F(u) cannot be evaluated
// closer to 0 than about 1e-4.
func tolerance(h2 float64) float64 {
	return max(1e-9, 8*0x1p-52*h2)
}

type config struct {
	dim, n int
	lambda float64
}

type result struct {
	u        *tensor.Tensor
	mid      float64 // u at the centre (the middle point, or the mean of the middle ones)
	iters    int
	residual float64
	lump     string
	elapsed  time.Duration
}

func solve(cfg config, w io.Writer) (*result, error) {
	var f func(*tape.Var) *tape.Var
	size := cfg.n
	switch cfg.dim {
	case 1:
		f = residual1D(cfg.lambda)
	case 2:
		f = catalog.Bratu2D(cfg.lambda, cfg.n)
		size = cfg.n * cfg.n
	default:
		return nil, fmt.Errorf("bratu: -dim %d: 1 or 2", cfg.dim)
	}
	t0 := time.Now()
	res, err := newtonSolve(f, size, float64((cfg.n+1)*(cfg.n+1)), true, w)
	if err != nil {
		return nil, err
	}
	out := &result{u: res.X, iters: res.Iters, residual: res.Residual, elapsed: time.Since(t0)}
	lin, err := inverse.Linearize(f, res.X)
	if err != nil {
		return nil, err
	}
	lumps, err := lin.Lumps()
	if err != nil {
		return nil, err
	}
	for _, l := range lumps {
		if l.Width > 1 {
			out.lump = fmt.Sprintf("%s: %s; %s", l.Kind, l.Structure, l.Factorization)
		}
	}
	u := res.X.Data()
	switch {
	case cfg.dim == 1 && cfg.n%2 == 1:
		out.mid = u[cfg.n/2]
	case cfg.dim == 1:
		out.mid = (u[cfg.n/2-1] + u[cfg.n/2]) / 2
	case cfg.n%2 == 1:
		out.mid = u[(cfg.n/2)*cfg.n+cfg.n/2]
	default:
		m := cfg.n
		out.mid = (u[(m/2-1)*m+m/2-1] + u[(m/2-1)*m+m/2] + u[(m/2)*m+m/2-1] + u[(m/2)*m+m/2]) / 4
	}
	return out, nil
}

// newtonSolve solves F(u) = 0 from u = 0 by Newton with IJVP steps, to
// tolerance(h2) and, with untilStall, on while the steps still shrink
// quadratically, printing each iteration to w with its time split into
// Linearize (recording + refactorization), the IJVP and the line search.
func newtonSolve(f func(*tape.Var) *tape.Var, size int, h2 float64, untilStall bool, w io.Writer) (*newton.Result, error) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", d.Seconds()*1e3) }
	opts := []newton.Option{newton.Tol(tolerance(h2)), newton.Callback(func(it newton.Iter) error {
		fmt.Fprintf(w, "iteration %d: ‖F‖∞ = %.3g, step %.3g, %s (linearize %s, IJVP %s, line search %s)\n",
			it.K, it.Residual, it.Step, ms(it.Time), ms(it.Linearize), ms(it.Solve), ms(it.LineSearch))
		return nil
	})}
	if untilStall {
		opts = append(opts, newton.UntilStall())
	}
	return newton.Solve(f, tensor.Zeros(size), opts...)
}

func main() {
	var cfg config
	flag.IntVar(&cfg.dim, "dim", 1, "1 (the interval) or 2 (the unit square)")
	flag.IntVar(&cfg.n, "n", 100000, "interior points (per side in 2-D)")
	flag.Float64Var(&cfg.lambda, "lambda", 1, "λ (below 3.51 in 1-D and 6.81 in 2-D a solution exists)")
	flag.Parse()
	r, err := solve(cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("lump: %s\n", r.lump)
	fmt.Printf("%d Newton iterations in %v, ‖F‖∞ = %.3g, u at the centre %.10f\n", r.iters, r.elapsed.Round(time.Millisecond), r.residual, r.mid)
	if cfg.dim == 1 {
		fmt.Printf("exact solution of the continuous problem at x = 1/2: %.10f\n", exactMid(cfg.lambda))
	}
}

// exactMid is u(1/2) of the lower solution of u” + λ eᵘ = 0 on (0, 1),
// u(0) = u(1) = 0: u(x) = −2 ln(cosh((x − ½)θ/2) / cosh(θ/4)), with θ the
// smaller root of θ = √(2λ) cosh(θ/4), so u(½) = 2 ln cosh(θ/4).
func exactMid(lambda float64) float64 {
	theta := 0.0
	for range 200 { // a contraction for λ below the turning point
		theta = math.Sqrt(2*lambda) * math.Cosh(theta/4)
	}
	return 2 * math.Log(math.Cosh(theta/4))
}
