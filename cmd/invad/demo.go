package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"text/tabwriter"
	"time"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// couplingProblem is the embedded default problem: an affine coupling layer
// over a batch of rows, y = [a, b·exp(s(a)) + t(a)], with s and t one-hidden-
// layer MLPs applied row-wise (X W products), followed by a running sum.
func couplingProblem(rows, half, hidden int) func(x *tape.Var) *tape.Var {
	rng := rand.New(rand.NewPCG(2026, 11))
	mat := func(r, c int, scale float64) *tensor.Tensor {
		d := make([]float64, r*c)
		for i := range d {
			d[i] = scale * rng.NormFloat64() / math.Sqrt(float64(r))
		}
		return tensor.New([]int{r, c}, d)
	}
	w1, ws, wt := mat(half, hidden, 1), mat(hidden, half, 0.5), mat(hidden, half, 1)
	return func(x *tape.Var) *tape.Var {
		x2 := ops.Reshape(x, 2*rows, half)
		ab := ops.Split(x2, rows, rows)
		a, b := ab[0], ab[1]
		h := ops.Tanh(ops.MatMul(a, ops.Const(x, w1)))
		s := ops.MatMul(h, ops.Const(x, ws))
		t := ops.MatMul(h, ops.Const(x, wt))
		y := ops.Concat(a, ops.Add(ops.Mul(b, ops.Exp(s)), t))
		return ops.Reshape(ops.Cumsum(y), 2*rows*half)
	}
}

func runDemo(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	rows := fs.Int("rows", 50_000, "batch rows of the coupling layer (n = 2·rows·8)")
	check := fs.Int("check", 64, "rows of a small copy checked against central finite differences")
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: invad demo [flags]\n\nLinearizes an embedded affine coupling layer and times its products against the primal.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rows < 1 || *check < 1 {
		return fmt.Errorf("-rows and -check must be positive")
	}
	const half, hidden = 8, 16
	n := 2 * *rows * half
	rng := rand.New(rand.NewPCG(1, 1))
	x := tensor.Zeros(n)
	for i := range x.Data() {
		x.Data()[i] = rng.NormFloat64()
	}
	f := couplingProblem(*rows, half, hidden)

	fmt.Fprintf(out, "invad demo: affine coupling layer + cumsum, n = %d (%d rows × 2 × %d), CPU backend\n\n", n, *rows, half)
	t0 := time.Now()
	tp := tape.NewTape()
	f(tp.Input(x))
	primal := time.Since(t0)

	t0 = time.Now()
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		return err
	}
	record := time.Since(t0)
	v := tensor.Zeros(n)
	for i := range v.Data() {
		v.Data()[i] = rng.NormFloat64()
	}
	t0 = time.Now()
	jv, err := lin.JVP(v)
	if err != nil {
		return err
	}
	jvp := time.Since(t0)
	t0 = time.Now()
	vj, err := lin.VJP(v)
	if err != nil {
		return err
	}
	vjp := time.Since(t0)
	// Adjointness: <J v, v> = <v, Jᵀ v>.
	dot := func(a, b []float64) float64 {
		s := 0.0
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	l, r := dot(jv.Data(), v.Data()), dot(v.Data(), vj.Data())

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\ttime\t× primal\t")
	for _, row := range []struct {
		name string
		d    time.Duration
	}{{"primal (plain run)", primal}, {"Linearize (record)", record}, {"JVP", jvp}, {"VJP", vjp}} {
		fmt.Fprintf(tw, "%s\t%v\t%.2f\t\n", row.name, row.d.Round(time.Microsecond), row.d.Seconds()/primal.Seconds())
	}
	tw.Flush()
	prog := lin.Program()
	fmt.Fprintf(out, "\ntape: %d ops, %d pruned, %.1f MB held (%.1f values of n)\n", len(prog.Nodes), prog.Pruned,
		float64(lin.TapeBytes())/1e6, float64(lin.TapeBytes())/float64(8*n))
	fmt.Fprintf(out, "adjoint check |<Jv,v> - <v,Jᵀv>| / |<Jv,v>| = %.2e\n", math.Abs(l-r)/math.Abs(l))

	// A small copy against central finite differences.
	ns := 2 * *check * half
	fs2 := couplingProblem(*check, half, hidden)
	xs := tensor.New([]int{ns}, append([]float64(nil), x.Data()[:ns]...))
	ls, err := inverse.Linearize(fs2, xs)
	if err != nil {
		return err
	}
	J, err := ls.Jacobian()
	if err != nil {
		return err
	}
	worst := 0.0
	for j := 0; j < ns; j++ {
		h := math.Cbrt(2.2e-16) * math.Max(1, math.Abs(xs.Data()[j]))
		xp, xm := xs.Clone(), xs.Clone()
		xp.Data()[j] += h
		xm.Data()[j] -= h
		fp := fs2(tape.NewTape().Input(xp)).Value().Data()
		fm := fs2(tape.NewTape().Input(xm)).Value().Data()
		for i := 0; i < ns; i++ {
			worst = math.Max(worst, math.Abs((fp[i]-fm[i])/(2*h)-J.Data()[i*ns+j]))
		}
	}
	fmt.Fprintf(out, "dense Jacobian (n = %d) vs central differences: max abs error %.2e\n", ns, worst)
	fmt.Fprintln(out, "\ninverse products (IJVP, VIJP, log|det J|): not available yet")
	return nil
}
