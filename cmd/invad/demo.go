package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/backend"
	"github.com/invad/invad/catalog"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// couplingProblem is the embedded default problem, the catalogue's
// "coupling" (catalog.CouplingCumsum): the affine coupling layer of the
// benchmarks (catalog.Coupling: rows of 8 features, s and t
// one-hidden-layer MLPs applied row-wise as X·W products) over a batch of
// rows, followed by a running sum.
func couplingProblem(rows int) func(x *tape.Var) *tape.Var {
	return catalog.MustGet("coupling").Build(2 * rows * catalog.CouplingHalf)
}

// demoReps is the number of timed runs of each product in the demo's table.
const demoReps = 5

func runDemo(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	rows := fs.Int("rows", 50_000, "batch rows of the coupling layer (n = 2·rows·8)")
	check := fs.Int("check", 64, "rows of a small copy solved the dense way for comparison")
	backendFlag := fs.String("backend", "auto", "where to run: auto, cpu or cuda")
	useBLAS := fs.Bool("cublas", false, "on the GPU, route the matrix products to cuBLAS (found at run time; $INVAD_CUBLAS names it)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: invad demo [flags]

Solves f(x) = y for an embedded program — an affine coupling layer over a
batch of rows followed by a running sum — by Newton's method through
inverse accumulation mode, printing the residual per iteration, the lumps
found, the time of every product against the primal, and the same Newton
step computed the dense way on a small copy.

flags:`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if *rows < 1 || *check < 1 {
		return fmt.Errorf("-rows and -check must be positive")
	}
	be, err := resolveBackend(*backendFlag, out)
	if err != nil {
		return err
	}
	defer be.Close()
	switch gpu := be.GPU(); {
	case *useBLAS && gpu == nil:
		fmt.Fprintln(out, "-cublas ignored: the CPU backend runs")
	case *useBLAS:
		if err := gpu.EnableCuBLAS(); err != nil {
			fmt.Fprintf(out, "cuBLAS not used: %v\n", err)
		} else {
			fmt.Fprintf(out, "matrix products by cuBLAS (%s)\n", gpu.CuBLAS())
		}
	}
	const half = catalog.CouplingHalf
	n := 2 * *rows * half
	rng := rand.New(rand.NewPCG(1, 1))
	randn := func(n int) *tensor.Tensor {
		v := tensor.Zeros(n)
		for i := range v.Data() {
			v.Data()[i] = rng.NormFloat64()
		}
		return v
	}
	f := couplingProblem(*rows)
	xTrue := randn(n)
	y := f(tape.NewTape().Input(xTrue)).Value().Clone()
	F := func(x *tape.Var) *tape.Var { return ops.Sub(f(x), ops.Const(x, y)) }

	fmt.Fprintf(out, "invad demo: solve f(x) = y, f = cumsum ∘ affine coupling layer, n = %d (%d rows × 2 × %d), %s backend\n\n", n, *rows, half, be)
	fmt.Fprintf(out, "Newton's method, each step dx = IJVP(F(x)):\n%5s %12s %12s %6s %9s %11s %9s %12s\n",
		"iter", "‖F(x)‖∞", "‖step‖∞", "α", "time", "linearize", "IJVP", "line search")
	opts := be.Newton(newton.Tol(1e-10), newton.Callback(func(it newton.Iter) error {
		ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
		fmt.Fprintf(out, "%5d %12.3e %12.3e %6.3g %9v %11v %9v %12v\n", it.K, it.Residual, it.Step, it.Alpha, ms(it.Time), ms(it.Linearize), ms(it.Solve), ms(it.LineSearch))
		return nil
	})) // linearizations and line-search runs on the chosen backend
	res, err := newton.Solve(F, tensor.Zeros(n), opts...)
	if err != nil {
		return err
	}
	xerr := 0.0
	for i, v := range res.X.Data() {
		xerr = math.Max(xerr, math.Abs(v-xTrue.Data()[i]))
	}
	fmt.Fprintf(out, "converged: ‖F(x)‖∞ = %.2e after %d iterations, max |x − x_true| = %.2e\n\n", res.Residual, res.Iters, xerr)

	// Time every product at the solution: one warm-up run, then the median
	// of demoReps runs (the machine may be shared; one cold run says little).
	type timing struct {
		name string
		d    time.Duration
	}
	var times []timing
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	timed := func(name string, run func() error) error {
		if err := run(); err != nil { // warm-up
			return err
		}
		ds := make([]time.Duration, demoReps)
		for i := range ds {
			t0 := time.Now()
			if err := run(); err != nil {
				return err
			}
			ds[i] = time.Since(t0)
		}
		times = append(times, timing{name, median(ds)})
		return nil
	}
	x := res.X
	if err := timed("primal (plain run)", func() error { _, err := be.Eval(F, x); return err }); err != nil {
		return err
	}
	// Linearize and the first LogAbsDet (analysis + factorization) on a
	// fresh Linearization each run; the last one serves the products.
	var lin backend.Linearization
	var logdet float64
	var recT, facT []time.Duration
	for i := 0; i <= demoReps; i++ { // run 0 warms up
		if lin != nil {
			lin.Close()
		}
		t0 := time.Now()
		if lin, err = be.Linearize(F, x); err != nil {
			return err
		}
		t1 := time.Now()
		if logdet, err = lin.LogAbsDet(); err != nil {
			lin.Close()
			return err
		}
		if i > 0 {
			recT, facT = append(recT, t1.Sub(t0)), append(facT, time.Since(t1))
		}
	}
	defer lin.Close()
	times = append(times, timing{"Linearize (record)", median(recT)}, timing{"lumps + factorize", median(facT)})
	v, c := randn(n), randn(n)
	var jv, vj, ij, vij, tl *tensor.Tensor
	steps := []struct {
		name string
		run  func() (*tensor.Tensor, error)
		dst  **tensor.Tensor
	}{
		{"JVP", func() (*tensor.Tensor, error) { return lin.JVP(v) }, &jv},
		{"VJP", func() (*tensor.Tensor, error) { return lin.VJP(c) }, &vj},
		{"IJVP", func() (*tensor.Tensor, error) { return lin.IJVP(jv) }, &ij},
		{"VIJP", func() (*tensor.Tensor, error) { return lin.VIJP(vj) }, &vij},
	}
	if be.GPU() == nil { // the tapeless VIJP runs on the CPU only
		steps = append(steps, struct {
			name string
			run  func() (*tensor.Tensor, error)
			dst  **tensor.Tensor
		}{"tapeless VIJP (2 runs of f)", func() (*tensor.Tensor, error) { return inverse.VIJP(F, x, vj) }, &tl})
	}
	for _, st := range steps {
		if err := timed(st.name, func() (err error) { *st.dst, err = st.run(); return err }); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "at the solution (median of %d runs after a warm-up)\ttime\t× primal\t\n", demoReps)
	for _, row := range times {
		fmt.Fprintf(tw, "%s\t%v\t%.2f\t\n", row.name, row.d.Round(time.Microsecond), row.d.Seconds()/times[0].d.Seconds())
	}
	tw.Flush()

	prog := lin.Program()
	lumps, err := lin.Lumps()
	if err != nil {
		return err
	}
	kinds := map[string]int{}
	for _, l := range lumps {
		kinds[l.Kind.String()]++
	}
	fmt.Fprintf(out, "\ntape: %d ops, %.1f MB; %d lumps: %d steps, %d batched, %d dense, %d copies, %d expansions (invad explain shows them)\n",
		len(prog.Nodes), float64(lin.TapeBytes())/1e6, len(lumps), kinds["step"], kinds["batch"], kinds["dense"], kinds["copy"], kinds["expansion"])
	fmt.Fprintf(out, "log|det J| = %.10g\n", logdet)
	fmt.Fprintf(out, "round trips: |IJVP(JVP(v)) − v|/|v| = %.2e, |VIJP(VJP(c)) − c|/|c| = %.2e", relDiff(ij.Data(), v.Data()), relDiff(vij.Data(), c.Data()))
	if tl != nil {
		fmt.Fprintf(out, ", tapeless vs taped VIJP %.2e", relDiff(tl.Data(), vij.Data()))
	}
	fmt.Fprintln(out)

	// The same Newton step, the dense way, on a small copy (on the CPU).
	ns := 2 * *check * half
	fs2 := couplingProblem(*check)
	xs := tensor.New([]int{ns}, append([]float64(nil), xTrue.Data()[:ns]...))
	ys := fs2(tape.NewTape().Input(randn(ns))).Value().Clone()
	Fs := func(x *tape.Var) *tape.Var { return ops.Sub(fs2(x), ops.Const(x, ys)) }
	ls, err := inverse.Linearize(Fs, xs)
	if err != nil {
		return err
	}
	t0 := time.Now()
	J, err := ls.Jacobian()
	if err != nil {
		return err
	}
	var lu mat.LU
	lu.Factorize(mat.NewDense(ns, ns, J.Data()))
	var ref mat.VecDense
	if err := lu.SolveVecTo(&ref, false, mat.NewVecDense(ns, append([]float64(nil), ls.Output().Data()...))); err != nil {
		return err
	}
	dense := time.Since(t0)
	t0 = time.Now()
	ls2, err := inverse.Linearize(Fs, xs)
	if err != nil {
		return err
	}
	got, err := ls2.IJVP(ls2.Output())
	if err != nil {
		return err
	}
	inv := time.Since(t0)
	refLD, _ := lu.LogDet()
	gotLD, err := ls2.LogAbsDet()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\none Newton step on a small copy (n = %d, on the CPU), the dense way vs invad:\n", ns)
	fmt.Fprintf(out, "  dense: J from %d JVPs + LU + solve  %v\n", ns, dense.Round(time.Microsecond))
	fmt.Fprintf(out, "  invad: Linearize + lumps + IJVP     %v  (%.0f× faster)\n", inv.Round(time.Microsecond), dense.Seconds()/inv.Seconds())
	fmt.Fprintf(out, "  steps agree to %.2e (relative); log|det J| %.12g vs %.12g\n", relDiff(got.Data(), ref.RawVector().Data), gotLD, refLD)
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
