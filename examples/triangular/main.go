// Command triangular solves a large nonlinear system whose Jacobian is
// lower triangular times diagonal — a running sum of a leaky nonlinearity —
// by Newton through invad's IJVP, at n = 10⁷ by default:
//
//	F(x) = cumsum(leaky_relu(x + 0.5·sin x, 0.1)) − b
//
// invad finds three lumps: the running sum (inverted by differences in
// O(n)), the leaky nonlinearity (reciprocals) and x + 0.5·sin x (a lump of
// two ops with diagonal A = 1 + 0.5·cos x). No n×n matrix is ever formed.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

func g(x *tape.Var) *tape.Var {
	return ops.Cumsum(ops.LeakyReLU(ops.Add(x, ops.Scale(ops.Sin(x), 0.5)), 0.1))
}

type summary struct {
	residual, xErr float64
	iters          int
	lumps          []inverse.LumpInfo
}

func run(n int, out io.Writer) (*summary, error) {
	rng := rand.New(rand.NewPCG(5, 6))
	xTrue := tensor.Zeros(n)
	for i := range xTrue.Data() {
		xTrue.Data()[i] = rng.NormFloat64()
	}
	b := g(tape.NewTape().Input(xTrue)).Value().Clone()
	F := func(x *tape.Var) *tape.Var { return ops.Sub(g(x), ops.Const(x, b)) }
	fmt.Fprintf(out, "F(x) = cumsum(leaky_relu(x + 0.5 sin x, 0.1)) − b, n = %d\n\n", n)
	fmt.Fprintf(out, "%5s %12s %12s %10s\n", "iter", "‖F‖∞", "‖step‖∞", "time")
	start := time.Now()
	res, err := newton.Solve(F, tensor.Zeros(n), newton.Tol(1e-9*math.Sqrt(float64(n))), newton.Callback(func(it newton.Iter) error {
		fmt.Fprintf(out, "%5d %12.3e %12.3e %10v\n", it.K, it.Residual, it.Step, it.Time.Round(time.Millisecond))
		return nil
	}))
	if err != nil {
		return nil, err
	}
	s := &summary{residual: res.Residual, iters: res.Iters}
	for i, v := range res.X.Data() {
		s.xErr = math.Max(s.xErr, math.Abs(v-xTrue.Data()[i]))
	}
	lin, err := inverse.Linearize(F, res.X)
	if err != nil {
		return nil, err
	}
	if s.lumps, err = lin.Lumps(); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\nsolved in %v: max |x − x_true| = %.2e\n\nlumps:\n", time.Since(start).Round(time.Millisecond), s.xErr)
	inverse.WriteLumps(out, s.lumps)
	return s, nil
}

func main() {
	n := flag.Int("n", 10_000_000, "number of unknowns")
	flag.Parse()
	if *n < 1 {
		fmt.Fprintln(os.Stderr, "triangular: -n must be positive")
		os.Exit(2)
	}
	if _, err := run(*n, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "triangular:", err)
		os.Exit(1)
	}
}
