package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/mat"

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
	type timing struct {
		name string
		d    time.Duration
	}
	var times []timing
	timed := func(name string, run func() error) error {
		t0 := time.Now()
		err := run()
		times = append(times, timing{name, time.Since(t0)})
		return err
	}
	timed("primal (plain run)", func() error { f(tape.NewTape().Input(x)); return nil })
	var lin *inverse.Linearization
	if err := timed("Linearize (record)", func() (err error) { lin, err = inverse.Linearize(f, x); return err }); err != nil {
		return err
	}
	var logdet float64
	if err := timed("lumps + factorize", func() (err error) { logdet, err = lin.LogAbsDet(); return err }); err != nil {
		return err
	}
	randn := func() *tensor.Tensor {
		v := tensor.Zeros(n)
		for i := range v.Data() {
			v.Data()[i] = rng.NormFloat64()
		}
		return v
	}
	v, c := randn(), randn()
	var jv, vj, ij, vij *tensor.Tensor
	for _, p := range []struct {
		name string
		dst  **tensor.Tensor
		run  func(*tensor.Tensor) (*tensor.Tensor, error)
		arg  *tensor.Tensor
	}{{"JVP", &jv, lin.JVP, v}, {"VJP", &vj, lin.VJP, c}, {"IJVP", &ij, lin.IJVP, nil}, {"VIJP", &vij, lin.VIJP, nil}} {
		arg := p.arg
		switch p.name {
		case "IJVP":
			arg = jv
		case "VIJP":
			arg = vj
		}
		if err := timed(p.name, func() (err error) { *p.dst, err = p.run(arg); return err }); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\ttime\t× primal\t")
	for _, row := range times {
		fmt.Fprintf(tw, "%s\t%v\t%.2f\t\n", row.name, row.d.Round(time.Microsecond), row.d.Seconds()/times[0].d.Seconds())
	}
	tw.Flush()

	lumps, err := lin.Lumps()
	if err != nil {
		return err
	}
	kinds := map[string]int{}
	for _, l := range lumps {
		kinds[l.Kind]++
	}
	prog := lin.Program()
	fmt.Fprintf(out, "\ntape: %d ops, %.1f MB held; %d lumps: %d steps, %d batched, %d dense, %d copies, %d expansions\n",
		len(prog.Nodes), float64(lin.TapeBytes())/1e6, len(lumps), kinds["step"], kinds["batch"], kinds["dense"], kinds["copy"], kinds["expansion"])
	fmt.Fprintf(out, "log|det J| = %.10g\n", logdet)
	fmt.Fprintf(out, "round trips: |IJVP(JVP(v)) − v|/|v| = %.2e   |VIJP(VJP(c)) − c|/|c| = %.2e\n",
		relDiff(ij.Data(), v.Data()), relDiff(vij.Data(), c.Data()))

	// A small copy against independent references: central differences for
	// J, a dense LU solve for J⁻¹ and log|det J|.
	ns := 2 * *check * half
	fs2 := couplingProblem(*check, half, hidden)
	xs := tensor.New([]int{ns}, append([]float64(nil), x.Data()[:ns]...))
	ls, err := inverse.Linearize(fs2, xs)
	if err != nil {
		return err
	}
	t0 := time.Now()
	J, err := ls.Jacobian()
	if err != nil {
		return err
	}
	Jm := mat.NewDense(ns, ns, J.Data())
	var lu mat.LU
	lu.Factorize(Jm)
	dys := tensor.New([]int{ns}, append([]float64(nil), v.Data()[:ns]...))
	var ref mat.VecDense
	if err := lu.SolveVecTo(&ref, false, mat.NewVecDense(ns, append([]float64(nil), dys.Data()...))); err != nil {
		return err
	}
	dense := time.Since(t0)
	t0 = time.Now()
	got, err := ls.IJVP(dys)
	if err != nil {
		return err
	}
	inv := time.Since(t0)
	refLD, _ := lu.LogDet()
	gotLD, err := ls.LogAbsDet()
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
	fmt.Fprintf(out, "\nsmall copy, n = %d, against dense references:\n", ns)
	fmt.Fprintf(out, "  J from JVPs vs central differences: max abs error %.2e\n", worst)
	fmt.Fprintf(out, "  IJVP vs LU solve of dense J: relative error %.2e; log|det J| %.12g vs %.12g\n", relDiff(got.Data(), ref.RawVector().Data), gotLD, refLD)
	fmt.Fprintf(out, "  time: dense J (n JVPs) + LU + solve %v, IJVP (lumps + factorize + solve) %v: %.0f× faster\n",
		dense.Round(time.Microsecond), inv.Round(time.Microsecond), dense.Seconds()/inv.Seconds())
	return nil
}

// relDiff returns |a − b|₂ / |b|₂.
func relDiff(a, b []float64) float64 {
	num, den := 0.0, 0.0
	for i := range a {
		num += (a[i] - b[i]) * (a[i] - b[i])
		den += b[i] * b[i]
	}
	return math.Sqrt(num / den)
}
