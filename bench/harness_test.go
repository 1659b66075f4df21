package bench

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// denseMatVec is A v for a row-major n×n A.
func denseMatVec(a []float64, n int) func(dst, v []float64) {
	return func(dst, v []float64) {
		for i := range n {
			s := 0.0
			for j, x := range v {
				s += a[i*n+j] * x
			}
			dst[i] = s
		}
	}
}

// TestGMRESMatchesLU solves a small nonsymmetric system by GMRES with
// restarts and compares with gonum's LU solve.
func TestGMRESMatchesLU(t *testing.T) {
	const n = 60
	rng := rand.New(rand.NewPCG(1, 1))
	a := make([]float64, n*n)
	for i := range a {
		a[i] = rng.NormFloat64() / math.Sqrt(n)
	}
	for i := range n {
		a[i*n+i] += 2 // eigenvalues in a disc of radius about 1 around 2
	}
	b := make([]float64, n)
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	orig := slices.Clone(b)
	// Restart 8 < n forces several cycles.
	x, st := GMRES(denseMatVec(a, n), b, GMRESOptions{Restart: 8, Tol: 1e-12, MaxIter: 500})
	if !st.Converged || st.Residual > 1e-12 {
		t.Fatalf("GMRES did not converge: %+v", st)
	}
	if st.Restarts < 2 {
		t.Errorf("GMRES(8) on n = %d finished in %d cycle(s); the test means to exercise restarts", n, st.Restarts)
	}
	if !slices.Equal(b, orig) {
		t.Error("GMRES modified b")
	}
	var lu mat.LU
	lu.Factorize(mat.NewDense(n, n, a))
	var want mat.VecDense
	if err := lu.SolveVecTo(&want, false, mat.NewVecDense(n, slices.Clone(b))); err != nil {
		t.Fatal(err)
	}
	// κ(A) is about 3, so a 1e-12 residual bounds the error near 1e-11.
	if d := relResidual(x, want.RawVector().Data); d > 1e-10 {
		t.Errorf("GMRES vs LU solve: relative difference %.3g", d)
	}
}

// TestGMRESFewEigenvalues: on a diagonal matrix with three distinct values
// the Krylov space is exhausted after three steps, so GMRES converges in
// exactly three iterations.
func TestGMRESFewEigenvalues(t *testing.T) {
	const n = 50
	d := make([]float64, n)
	for i := range d {
		d[i] = []float64{1, 2, 5}[i%3]
	}
	b := make([]float64, n)
	for i := range b {
		b[i] = float64(i%7) - 3
	}
	mv := func(dst, v []float64) {
		for i := range v {
			dst[i] = d[i] * v[i]
		}
	}
	x, st := GMRES(mv, b, GMRESOptions{Tol: 1e-12})
	if !st.Converged || st.Iters != 3 {
		t.Fatalf("got %+v, want convergence in 3 iterations", st)
	}
	for i := range x {
		if math.Abs(x[i]-b[i]/d[i]) > 1e-12 {
			t.Fatalf("x[%d] = %v, want %v", i, x[i], b[i]/d[i])
		}
	}
}

func TestGMRESStops(t *testing.T) {
	const n = 40
	// A cyclic shift: GMRES makes no progress until the n-th step.
	shift := func(dst, v []float64) {
		for i := range v {
			dst[(i+1)%n] = v[i]
		}
	}
	b := make([]float64, n)
	b[0] = 1
	_, st := GMRES(shift, b, GMRESOptions{Restart: 10, MaxIter: 25, Tol: 1e-10})
	if st.Converged || st.Stopped == "" || st.Iters > 25 {
		t.Errorf("GMRES(10) on a shift: %+v, want a stop before convergence within 25 iterations", st)
	}
	x, st := GMRES(shift, make([]float64, n), GMRESOptions{})
	if !st.Converged || st.MatVecs != 0 || slices.ContainsFunc(x, func(v float64) bool { return v != 0 }) {
		t.Errorf("b = 0: got %+v and x %v, want x = 0 at once", st, x)
	}
}

func TestSizes(t *testing.T) {
	el, wx := elementwiseFamily(), wxFamily()
	for _, tc := range []struct {
		name   string
		cfg    Config
		fam    Family
		want   []int
		reason string
	}{
		{"decades", Config{MaxN: 100_000}, el, []int{1000, 10_000, 100_000}, "powers of ten up to MaxN"},
		{"half decades", Config{MaxN: 100_000, PerDecade: 2}, el, []int{1000, 3000, 10_000, 30_000, 100_000}, "10^3.5 rounds to 3000"},
		{"quick", Config{Quick: true}, el, []int{1000, 10_000}, "quick stops at 10⁴"},
		{"memory", Config{MemoryBudget: 1e9}, el, []int{1000, 10_000, 100_000, 1_000_000}, "8·(22 + 43)·n bytes: 10⁷ is over 1 GB"},
		{"wx memory", Config{MaxN: 100_000, PerDecade: 2}, wx, []int{1000, 3000, 10_000}, "W and its LU are 16n² bytes: 3·10⁴ is over 8 GB"},
		{"wx limit", Config{MaxN: 100_000, PerDecade: 2, MemoryBudget: 1e12}, wx, []int{1000, 3000, 10_000, 30_000}, "10⁵ is past the family's limit whatever the budget"},
		{"per family", Config{MaxN: 100_000, MaxNFor: map[string]int{"wx": 3000}, PerDecade: 2}, wx, []int{1000, 3000}, "MaxNFor overrides MaxN"},
		{"explicit", Config{Sizes: []int{10, 100, 100}}, couplingFamily(), []int{16, 96}, "rounded to multiples of 16, deduplicated"},
		{"explicit per family", Config{Sizes: []int{10}, SizesFor: map[string][]int{"flow": {100, 1000}}}, flowFamily(), []int{104, 1000}, "SizesFor overrides Sizes; rounded to multiples of 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.defaults()
			h := &harness{cfg: tc.cfg, rep: &Report{}}
			if got := h.sizes(tc.fam); !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.reason, got, tc.want)
			}
		})
	}
}

// TestHarnessQuick runs the whole comparison on tiny sizes and checks the
// report: every family, size and method present, invad and the dense solve
// accurate, the files written.
func TestHarnessQuick(t *testing.T) {
	sizes := []int{48, 160}
	rep, err := Run(Config{Quick: true, Sizes: sizes, Reps: 1, Torch: "off", Command: "invad bench --test"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths, err := rep.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2+len(Families()) {
		t.Errorf("wrote %v, want bench.md, bench.json and a plot per family", paths)
	}
	md, err := os.ReadFile(filepath.Join(dir, "bench.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range Families() {
		if !bytes.Contains(md, []byte("## "+fam.Name+"\n")) {
			t.Errorf("bench.md has no section for %s", fam.Name)
		}
		ns := rep.Sizes(fam.Name)
		if len(ns) != len(sizes) {
			t.Errorf("%s ran sizes %v, want %d sizes", fam.Name, ns, len(sizes))
		}
		for _, n := range ns {
			for _, m := range Methods() {
				res, ok := rep.Result(fam.Name, n, m.Method)
				if !ok {
					t.Errorf("%s n=%d: no result for %s", fam.Name, n, m.Method)
					continue
				}
				switch m.Group {
				case "PyTorch":
					if res.Skipped == "" {
						t.Errorf("%s n=%d %s ran with Torch off", fam.Name, n, m.Method)
					}
					continue
				}
				if m.Method == MethodLogAbsDetAlong && fam.Sample == 0 {
					if res.Skipped == "" {
						t.Errorf("%s n=%d %s ran on a family without samples", fam.Name, n, m.Method)
					}
					continue
				}
				if res.Skipped != "" || res.Median <= 0 {
					t.Errorf("%s n=%d %s: skipped %q, median %v", fam.Name, n, m.Method, res.Skipped, res.Median)
					continue
				}
				// invad and the dense LU solve to rounding; GMRES to its
				// floor of 1e-13 at these sizes, except on the stencil's
				// Laplacian and the batched networks' Jacobians, where
				// restarted GMRES stagnates (the families' notes say so)
				// and must say that it did.
				if m.Method == MethodGMRES && (fam.Name == "stencil" || fam.Sample > 0) && strings.Contains(res.Note, "did not reach") {
					continue
				}
				if hasAccuracy(m.Method) && !(res.Accuracy < 1e-8) {
					t.Errorf("%s n=%d %s: accuracy %v, want below 1e-8", fam.Name, n, m.Method, res.Accuracy)
				}
			}
		}
		svg, err := os.ReadFile(filepath.Join(dir, PlotName(fam.Name)))
		if err != nil {
			t.Fatal(err)
		}
		lines := 0
		for _, e := range parseSVG(t, string(svg)) {
			if e.name == "polyline" {
				lines++
			}
		}
		if lines < 5 {
			t.Errorf("%s has %d lines, want one per method that ran (5 at least)", PlotName(fam.Name), lines)
		}
	}
	for _, m := range Methods() {
		if !strings.Contains(string(md), "| "+string(m.Method)+" |") {
			t.Errorf("bench.md has no row for %s", m.Method)
		}
	}
	if c := strings.Count(string(md), "**Reading.**"); c != len(Families()) {
		t.Errorf("bench.md has %d readings, want one per family", c)
	}
	if !strings.Contains(string(md), "invad bench --test") {
		t.Error("bench.md does not quote the command")
	}
}

// TestTorchScript runs the PyTorch side on the smallest sizes when a Python
// with torch is installed, and checks its solves with invad's JVP.
func TestTorchScript(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Python")
	}
	if _, err := FindTorchPython(""); err != nil {
		t.Skip(err)
	}
	rep, err := Run(Config{Sizes: []int{48}, Reps: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range Families() {
		n := fam.Size(48) // stencil2d takes squares only: 49
		ms := []Method{MethodTorchJac, MethodTorchFwd}
		if fam.Sample > 0 {
			ms = append(ms, MethodTorchVmap)
			// PyTorch's slogdet against invad's LogAbsDetAlong, sample by
			// sample, each to rounding of a d×d LU.
			if res, ok := rep.Result(fam.Name, n, MethodLogAbsDetAlong); !ok || !(res.Accuracy < 1e-10) || !strings.Contains(res.Note, "PyTorch") {
				t.Errorf("%s LogAbsDetAlong against PyTorch: %+v", fam.Name, res)
			}
		}
		for _, m := range ms {
			res, ok := rep.Result(fam.Name, n, m)
			if m == MethodTorchFwd && strings.HasPrefix(res.Skipped, "no torch.func") {
				continue // PyTorch before 1.13 has no jacfwd
			}
			if !ok || res.Skipped != "" || !(res.Accuracy < 1e-8) {
				t.Errorf("%s %s: %+v", fam.Name, m, res)
			}
		}
	}
}

func TestFormatRatio(t *testing.T) {
	for _, tc := range []struct {
		r    float64
		want string
	}{{99.7, "×100"}, {12.4, "×12"}, {2.345, "×2.3"}, {0.5, "×0.5"}, {0.0012, "×1.2e-03"}} {
		if got := FormatRatio(tc.r); got != tc.want {
			t.Errorf("FormatRatio(%v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}
