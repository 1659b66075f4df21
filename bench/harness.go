package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Method names a timed method of the comparison.
type Method string

// The methods of the comparison, in table order.
const (
	MethodPrimal         Method = "primal"
	MethodLinearize      Method = "Linearize"
	MethodFactorize      Method = "factorize"
	MethodIJVP           Method = "IJVP"
	MethodVIJP           Method = "VIJP"
	MethodTapeless       Method = "tapeless VIJP"
	MethodLogAbsDet      Method = "LogAbsDet"
	MethodLogAbsDetAlong Method = "LogAbsDetAlong"
	MethodSolveTotal     Method = "invad solve"
	MethodDense          Method = "dense J + LU"
	MethodGMRES          Method = "GMRES on JVPs"
	MethodTorchJac       Method = "torch jacobian + solve"
	MethodTorchFwd       Method = "torch jacfwd + solve"
	MethodTorchPrimal    Method = "torch primal"
	MethodTorchVmap      Method = "torch vmap(jacrev) + slogdet"
)

// MethodInfo describes a method for the report.
type MethodInfo struct {
	Method Method
	// Group is who provides it: invad, dense, Newton–Krylov or PyTorch.
	Group string
	// About says what is timed; Accuracy what its accuracy column measures.
	About, Accuracy string
	// Plot is false for methods left out of the plots (LogAbsDet's cached
	// value takes nanoseconds and would only stretch the axis).
	Plot bool
}

const (
	accSolve = "|J dx − dy| / |dy|, J dx by invad's JVP"
	accTrans = "|Jᵀ cy − cx| / |cx|, Jᵀ cy by invad's VJP"
	accAlong = "max over samples of |log|det J_i| − PyTorch's slogdet| when PyTorch ran; else |Σ − dense LU's log|det J|| / max(1, |…|)"
)

// Methods lists the methods of the comparison in table order.
func Methods() []MethodInfo {
	return []MethodInfo{
		{MethodPrimal, "invad", "f(x) on a streaming tape: values only, nothing recorded", "—", true},
		{MethodLinearize, "invad", "inverse.Linearize: run f and record the tape", "—", true},
		{MethodFactorize, "invad", "the first LogAbsDet on a fresh Linearization: lump analysis + factorization of every lump", "—", true},
		{MethodIJVP, "invad", "dx = J⁻¹ dy by a reverse sweep over the lumps (factorization reused)", accSolve, true},
		{MethodVIJP, "invad", "cy = J⁻ᵀ cx by a forward sweep over the lumps (factorization reused)", accTrans, true},
		{MethodTapeless, "invad", "inverse.VIJP(f, x, cx) with no tape: shape pass, lump analysis, streamed run and solve, all included", accTrans, true},
		{MethodLogAbsDet, "invad", "log|det J| once factorized (a cached sum)", "relative to the dense LU's log|det J|", false},
		{MethodLogAbsDetAlong, "invad", "LogAbsDetAlong(0): one log|det| per sample (row of x) from the cached factors; batched families only", accAlong, true},
		{MethodSolveTotal, "invad", "Linearize + factorize + IJVP: a Newton step from scratch", accSolve + " (the IJVP's)", true},
		{MethodDense, "dense", "J from n JVPs (inverse.Jacobian, 2 cores) + gonum LU + solve, on the same Linearization", accSolve, true},
		{MethodGMRES, "Newton–Krylov", "restarted GMRES with one JVP per iteration, to invad's IJVP accuracy (floor 1e-13), on the same Linearization", accSolve, true},
		{MethodTorchJac, "PyTorch", "torch.autograd.functional.jacobian (vectorized reverse mode) + torch.linalg.solve, float64 on the CPU", accSolve, true},
		{MethodTorchFwd, "PyTorch", "functorch / torch.func jacfwd + torch.linalg.solve, float64 on the CPU", accSolve, true},
		{MethodTorchPrimal, "PyTorch", "f(X) in torch under no_grad, float64 on the CPU; batched families only", "—", true},
		{MethodTorchVmap, "PyTorch", "per-sample Jacobians vmap(jacrev(f_sample))(X) → [B, d, d], torch.linalg.slogdet and the batched torch.linalg.solve of dx, all timed; batched families only, at every n", accSolve, true},
	}
}

// Config configures Run. Zero fields take the defaults noted.
type Config struct {
	// Families picks families by name (default all of Families()).
	Families []string
	// Sizes, if set, replaces the powers of ten: the n to run (each rounded
	// by the family's Size and dropped past its Limit). SizesFor overrides
	// it per family name.
	Sizes    []int
	SizesFor map[string][]int
	// MaxN bounds n; MaxNFor overrides it per family name. Sizes run from
	// 10³ up to it, and in any case only while a size's estimated memory
	// fits in MemoryBudget.
	MaxN    int
	MaxNFor map[string]int
	// PerDecade is the number of sizes per power of ten (default 1: 10³,
	// 10⁴, ...; 2 adds 3·10³, 3·10⁴, ...).
	PerDecade int
	// MemoryBudget is the memory one size may use (default 8 GB).
	MemoryBudget int64
	// Quick caps n at 10⁴, Reps at 2 and GMRES at 300 iterations, for CI.
	Quick bool
	// Reps is the most repetitions of a method (default 3); a method stops
	// repeating once it has used RepBudget (default 2 s). Times are medians.
	Reps      int
	RepBudget time.Duration
	// DenseMax is the largest n of the dense methods (dense J + LU and
	// PyTorch's): they need n² memory and n³ time (default 4000).
	DenseMax int
	// GMRES settings: restart (default 30), most iterations (default 2000,
	// quick 300) and a time limit per solve (default 120 s, quick 10 s).
	GMRESRestart   int
	GMRESMaxIter   int
	GMRESTimeLimit time.Duration
	// GMRESMaxN, if positive, is the largest n GMRES runs at.
	GMRESMaxN int
	// Torch: "auto" (default) runs the PyTorch script when a Python with
	// torch is found (Python, else python3, else /usr/bin/python3); "off"
	// skips it.
	Torch  string
	Python string
	// Progress receives one line per method as it runs (default none).
	Progress io.Writer `json:"-"`
	// Command is the command line quoted in the report.
	Command string
	// Note is a line added to the report's header.
	Note string
}

// Result is one method's outcome at one family and n.
type Result struct {
	Family string
	N      int
	Method Method
	// Times of the repetitions; Median their median. Zero when skipped.
	Times  []time.Duration
	Median time.Duration
	// Accuracy as the method's MethodInfo says; NaN where none applies.
	Accuracy float64
	// Iters is GMRES's iteration count (0 for the others).
	Iters int
	// Skipped, if not empty, says why the method did not run.
	Skipped string
	// Note adds detail: sub-times, why GMRES stopped.
	Note string
}

// Report is the outcome of Run.
type Report struct {
	Config   Config
	Families []Family
	Results  []Result
	// Notes are lines about the run as a whole (sizes a family cannot take).
	Notes []string
	// Torch describes the PyTorch used, or why it was skipped.
	Torch string
	// Machine describes the machine of the run: OS/arch, CPU model and
	// logical CPUs, as "linux/amd64, AMD EPYC, 2 logical CPUs".
	Machine string
	// Load averages at the start and end of the run ("" if unknown), and
	// the range of the 1-minute load average sampled after every method
	// (NaN if unknown).
	LoadStart, LoadEnd string
	LoadMin, LoadMax   float64
	Started            time.Time
	Elapsed            time.Duration
}

// Result returns the result of a method at a family and n.
func (r *Report) Result(family string, n int, m Method) (Result, bool) {
	for _, res := range r.Results {
		if res.Family == family && res.N == n && res.Method == m {
			return res, true
		}
	}
	return Result{}, false
}

// Sizes returns the sizes run for a family, ascending.
func (r *Report) Sizes(family string) []int {
	var ns []int
	for _, res := range r.Results {
		if res.Family == family && !slices.Contains(ns, res.N) {
			ns = append(ns, res.N)
		}
	}
	slices.Sort(ns)
	return ns
}

func (c *Config) defaults() {
	if c.PerDecade <= 0 {
		c.PerDecade = 1
	}
	if c.MemoryBudget <= 0 {
		c.MemoryBudget = 8e9
	}
	if c.Reps <= 0 {
		c.Reps = 3
		if c.Quick {
			c.Reps = 2
		}
	}
	if c.RepBudget <= 0 {
		c.RepBudget = 2 * time.Second
	}
	if c.DenseMax <= 0 {
		c.DenseMax = 4000
	}
	if c.GMRESRestart <= 0 {
		c.GMRESRestart = 30
	}
	if c.GMRESMaxIter <= 0 {
		c.GMRESMaxIter = 2000
		if c.Quick {
			c.GMRESMaxIter = 300
		}
	}
	if c.GMRESTimeLimit <= 0 {
		c.GMRESTimeLimit = 120 * time.Second
		if c.Quick {
			c.GMRESTimeLimit = 10 * time.Second
		}
	}
	if c.Torch == "" {
		c.Torch = "auto"
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// quickMax is the largest n of a quick run.
const quickMax = 10_000

// gmresFloor is the smallest relative residual GMRES is asked for: below
// it restarted GMRES in float64 stagnates on these problems.
const gmresFloor = 1e-13

// Run runs the comparison: for every family and size, every method of
// Methods, one after the other in this process (PyTorch in a Python
// subprocess). It returns an error for an unknown family, a bad Config
// field, or a failure of invad itself (an error from Linearize or an
// inverse product); a baseline that fails is recorded as skipped with the
// reason.
func Run(cfg Config) (*Report, error) {
	cfg.defaults()
	if cfg.Torch != "auto" && cfg.Torch != "off" {
		return nil, fmt.Errorf("bench: Torch is %q, want auto or off", cfg.Torch)
	}
	fams, err := pickFamilies(cfg.Families)
	if err != nil {
		return nil, err
	}
	for name := range cfg.MaxNFor {
		if !slices.Contains(FamilyNames(), name) {
			return nil, fmt.Errorf("bench: MaxNFor names unknown family %q (have %s)", name, strings.Join(FamilyNames(), ", "))
		}
	}
	for name := range cfg.SizesFor {
		if !slices.Contains(FamilyNames(), name) {
			return nil, fmt.Errorf("bench: SizesFor names unknown family %q (have %s)", name, strings.Join(FamilyNames(), ", "))
		}
	}
	rep := &Report{Config: cfg, Families: fams, Machine: thisMachine(), Started: time.Now(), LoadStart: loadAverage(), LoadMin: math.NaN(), LoadMax: math.NaN()}
	h := &harness{cfg: cfg, rep: rep}
	defer h.closeTorch()
	if cfg.Torch == "off" {
		rep.Torch = "skipped (turned off)"
	}
	for _, fam := range fams {
		for _, n := range h.sizes(fam) {
			if err := h.runCase(fam, n); err != nil {
				return rep, err
			}
		}
	}
	rep.LoadEnd = loadAverage()
	rep.Elapsed = time.Since(rep.Started)
	return rep, nil
}

// FamilyNames lists the names of Families().
func FamilyNames() []string {
	var names []string
	for _, f := range Families() {
		names = append(names, f.Name)
	}
	return names
}

func pickFamilies(names []string) ([]Family, error) {
	all := Families()
	if len(names) == 0 {
		return all, nil
	}
	var out []Family
	for _, name := range names {
		i := slices.IndexFunc(all, func(f Family) bool { return f.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("bench: unknown family %q (have %s)", name, strings.Join(FamilyNames(), ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// EstimateBytes is the memory a run of fam at n is estimated to hold: the
// family's own words, and the comparison's vectors (GMRES's basis of
// restart+1 vectors and about a dozen more).
func EstimateBytes(fam Family, n, restart int) int64 {
	return int64(8 * (fam.Words(n) + float64(restart+13)*float64(n)))
}

// sizes returns the sizes of a family, noting those it cannot take: past
// its Limit, or estimated over the memory budget.
func (h *harness) sizes(fam Family) []int {
	cfg := h.cfg
	req := cfg.Sizes
	if v, ok := cfg.SizesFor[fam.Name]; ok {
		req = v
	}
	if len(req) == 0 {
		maxN := cfg.MaxN
		if v, ok := cfg.MaxNFor[fam.Name]; ok {
			maxN = v
		}
		if maxN <= 0 {
			maxN = math.MaxInt
		}
		if cfg.Quick {
			maxN = min(maxN, quickMax)
		}
		for j := 0; ; j++ {
			n := roundSig(math.Pow(10, 3+float64(j)/float64(cfg.PerDecade)))
			if n > maxN {
				break
			}
			req = append(req, n)
			// The first size the family cannot take is kept for its note.
			if m := fam.Size(n); (fam.Limit > 0 && m > fam.Limit) || EstimateBytes(fam, m, cfg.GMRESRestart) > cfg.MemoryBudget {
				break
			}
		}
	}
	var out []int
	for _, r := range req {
		n := fam.Size(r)
		if fam.Limit > 0 && n > fam.Limit {
			h.note(fmt.Sprintf("%s skips n = %d: %s (%.3g GB)", fam.Name, n, fam.LimitWhy, 8*float64(n)*float64(n)/1e9))
			continue
		}
		if b := EstimateBytes(fam, n, cfg.GMRESRestart); b > cfg.MemoryBudget {
			h.note(fmt.Sprintf("%s skips n = %d: its estimated memory, %.3g GB, is over the budget of %.3g GB",
				fam.Name, n, float64(b)/1e9, float64(cfg.MemoryBudget)/1e9))
			continue
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func (h *harness) note(s string) {
	if !slices.Contains(h.rep.Notes, s) {
		h.rep.Notes = append(h.rep.Notes, s)
		fmt.Fprintln(h.cfg.Progress, "bench: note:", s)
	}
}

// roundSig rounds x to one significant digit: 3162 → 3000, 4642 → 5000.
func roundSig(x float64) int {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	return int(math.Round(x/p) * p)
}

type harness struct {
	cfg   Config
	rep   *Report
	torch *torchRunner
	// torchTried is set once the search for a Python with torch has run.
	torchTried bool
}

// errStopReps, returned by a timed body, keeps its time and ends the
// repetitions.
var errStopReps = errors.New("bench: stop repeating")

// timeReps runs body up to cfg.Reps times, stopping once RepBudget is used
// or body returns errStopReps, with a garbage collection before each run
// (not timed).
func (h *harness) timeReps(body func() error) ([]time.Duration, error) {
	var ts []time.Duration
	var total time.Duration
	for range h.cfg.Reps {
		runtime.GC()
		t0 := time.Now()
		err := body()
		d := time.Since(t0)
		if errors.Is(err, errStopReps) {
			return append(ts, d), nil
		}
		if err != nil {
			return ts, err
		}
		ts = append(ts, d)
		total += d
		if total >= h.cfg.RepBudget {
			break
		}
	}
	return ts, nil
}

func medianOf(ts []time.Duration) time.Duration {
	if len(ts) == 0 {
		return 0
	}
	s := slices.Clone(ts)
	slices.Sort(s)
	k := len(s)
	if k%2 == 1 {
		return s[k/2]
	}
	return (s[k/2-1] + s[k/2]) / 2
}

// add records a result and prints its progress line.
func (h *harness) add(r Result, primal time.Duration) {
	if r.Skipped != "" || !hasAccuracy(r.Method) {
		r.Accuracy = math.NaN()
	}
	if len(r.Times) > 0 {
		r.Median = medianOf(r.Times)
	}
	h.rep.Results = append(h.rep.Results, r)
	if l, err := strconv.ParseFloat(strings.SplitN(loadAverage(), " ", 2)[0], 64); err == nil {
		h.rep.LoadMin = minLoad(h.rep.LoadMin, l)
		h.rep.LoadMax = -minLoad(-h.rep.LoadMax, -l)
	}
	var b strings.Builder
	switch {
	case r.Skipped != "":
		fmt.Fprintf(&b, "skipped: %s", r.Skipped)
	default:
		fmt.Fprintf(&b, "%s", FormatDuration(r.Median))
		if primal > 0 && r.Method != MethodPrimal {
			fmt.Fprintf(&b, " (%s primal)", FormatRatio(float64(r.Median)/float64(primal)))
		}
		if len(r.Times) > 1 {
			fmt.Fprintf(&b, ", median of %d", len(r.Times))
		}
		if !math.IsNaN(r.Accuracy) {
			fmt.Fprintf(&b, ", accuracy %.2g", r.Accuracy)
		}
		if r.Iters > 0 {
			fmt.Fprintf(&b, ", %d iterations", r.Iters)
		}
		if r.Note != "" {
			fmt.Fprintf(&b, "; %s", r.Note)
		}
	}
	fmt.Fprintln(h.cfg.Progress, b.String())
}

// minLoad is min with NaN standing for "none yet".
func minLoad(a, b float64) float64 {
	if math.IsNaN(a) || b < a {
		return b
	}
	return a
}

func hasAccuracy(m Method) bool {
	switch m {
	case MethodPrimal, MethodLinearize, MethodFactorize, MethodTorchPrimal:
		return false
	}
	return true
}

// start prints the head of a progress line.
func (h *harness) start(fam string, n int, m Method) {
	fmt.Fprintf(h.cfg.Progress, "bench: %-11s n=%-9d %-22s ", fam, n, m)
}

// caseState is what the methods of one family and n share.
type caseState struct {
	fam    Family
	n      int
	p      *Problem
	lin    *inverse.Linearization
	primal time.Duration
	dy, cx *tensor.Tensor
	accIJ  float64
	// ldRef is the dense LU's log|det J| (NaN when dense did not run).
	ldRef float64
	// along is LogAbsDetAlong(0)'s per-sample log|det| (nil when it did not
	// run); torchAlong PyTorch's slogdet of the per-sample Jacobians (nil
	// when it did not run).
	along, torchAlong []float64
	// torchPrimal is PyTorch's own primal (0 when it did not run).
	torchPrimal time.Duration
}

func randomVector(n int, seed uint64) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	v := tensor.Zeros(n)
	for i := range v.Data() {
		v.Data()[i] = rng.NormFloat64()
	}
	return v
}

// runCase runs every method on one family and n.
func (h *harness) runCase(fam Family, n int) error {
	fmt.Fprintf(h.cfg.Progress, "bench: %-11s n=%-9d building the problem (estimated %.3g GB)\n", fam.Name, n,
		float64(EstimateBytes(fam, n, h.cfg.GMRESRestart))/1e9)
	c := &caseState{fam: fam, n: n, p: fam.New(n), ldRef: math.NaN()}
	x, f := c.p.X, c.p.F
	// dy and cx take x's shape ([n], or [B, d] for a batched family): f maps
	// it to its own shape.
	c.dy, c.cx = tensor.New(x.Shape(), randomVector(n, 7).Data()), tensor.New(x.Shape(), randomVector(n, 8).Data())
	name := fam.Name

	// primal: f on a streaming tape computes every value and keeps none.
	h.start(name, n, MethodPrimal)
	noHook := func(tape.Op, []*tape.Var, *tape.Var) {}
	ts, _ := h.timeReps(func() error { f(tape.NewStreamTape(noHook).Input(x)); return nil })
	c.primal = medianOf(ts)
	h.add(Result{Family: name, N: n, Method: MethodPrimal, Times: ts}, 0)

	// Linearize and the first LogAbsDet, on a fresh Linearization each
	// repetition; the last one serves the products.
	h.start(name, n, MethodLinearize)
	var linT, facT []time.Duration
	for range h.cfg.Reps {
		c.lin = nil
		runtime.GC()
		t0 := time.Now()
		lin, err := inverse.Linearize(f, x)
		t1 := time.Now()
		if err != nil {
			return fmt.Errorf("bench: %s n=%d: Linearize: %w", name, n, err)
		}
		if _, err := lin.LogAbsDet(); err != nil {
			return fmt.Errorf("bench: %s n=%d: first LogAbsDet: %w", name, n, err)
		}
		t2 := time.Now()
		c.lin = lin
		linT, facT = append(linT, t1.Sub(t0)), append(facT, t2.Sub(t1))
		if sum(linT)+sum(facT) >= h.cfg.RepBudget {
			break
		}
	}
	h.add(Result{Family: name, N: n, Method: MethodLinearize, Times: linT,
		Note: fmt.Sprintf("tape holds %.3g MB", float64(c.lin.TapeBytes())/1e6)}, c.primal)
	h.start(name, n, MethodFactorize)
	h.add(Result{Family: name, N: n, Method: MethodFactorize, Times: facT}, c.primal)
	lin := c.lin

	// IJVP and VIJP on the factorized Linearization.
	h.start(name, n, MethodIJVP)
	var dx, cy *tensor.Tensor
	ts, err := h.timeReps(func() (err error) { dx, err = lin.IJVP(c.dy); return err })
	if err != nil {
		return fmt.Errorf("bench: %s n=%d: IJVP: %w", name, n, err)
	}
	c.accIJ = solveResidual(lin, dx.Data(), c.dy.Data())
	h.add(Result{Family: name, N: n, Method: MethodIJVP, Times: ts, Accuracy: c.accIJ}, c.primal)
	ijT := medianOf(ts)

	h.start(name, n, MethodVIJP)
	ts, err = h.timeReps(func() (err error) { cy, err = lin.VIJP(c.cx); return err })
	if err != nil {
		return fmt.Errorf("bench: %s n=%d: VIJP: %w", name, n, err)
	}
	h.add(Result{Family: name, N: n, Method: MethodVIJP, Times: ts, Accuracy: transResidual(lin, cy.Data(), c.cx.Data())}, c.primal)

	h.start(name, n, MethodTapeless)
	if err := h.tapeless(c); err != nil {
		return err
	}

	// The cached LogAbsDet takes nanoseconds: time a batch of calls.
	h.start(name, n, MethodLogAbsDet)
	const ldCalls = 1000
	var ld float64
	ts, _ = h.timeReps(func() (err error) {
		for range ldCalls {
			ld, err = lin.LogAbsDet()
		}
		return err
	})
	for i := range ts {
		ts[i] /= ldCalls
	}
	ldIdx := len(h.rep.Results)
	h.add(Result{Family: name, N: n, Method: MethodLogAbsDet, Times: ts, Accuracy: math.NaN(), Note: fmt.Sprintf("log|det J| = %.10g", ld)}, c.primal)

	alongIdx := h.logAbsDetAlong(c)

	h.start(name, n, MethodSolveTotal)
	total := medianOf(linT) + medianOf(facT) + ijT
	h.add(Result{Family: name, N: n, Method: MethodSolveTotal, Times: []time.Duration{total}, Accuracy: c.accIJ,
		Note: "sum of the medians"}, c.primal)

	h.dense(c)
	if !math.IsNaN(c.ldRef) {
		r := &h.rep.Results[ldIdx]
		r.Accuracy = math.Abs(ld-c.ldRef) / math.Max(1, math.Abs(c.ldRef))
	} else {
		h.rep.Results[ldIdx].Accuracy = math.NaN()
	}
	h.gmres(c)
	h.torchCase(c)
	if alongIdx >= 0 {
		r := &h.rep.Results[alongIdx]
		switch {
		case c.torchAlong != nil:
			r.Accuracy = maxAbsDiff(c.along, c.torchAlong)
			r.Note += "; against PyTorch's per-sample slogdet"
		case !math.IsNaN(c.ldRef):
			s := 0.0
			for _, v := range c.along {
				s += v
			}
			r.Accuracy = math.Abs(s-c.ldRef) / math.Max(1, math.Abs(c.ldRef))
			r.Note += "; the sum against the dense LU's log|det J|"
		}
	}
	c.lin = nil
	runtime.GC()
	return nil
}

// logAbsDetAlong times LogAbsDetAlong(0) on a family with samples and
// returns the index of its result (-1 when skipped); its accuracy is set
// once the references have run.
func (h *harness) logAbsDetAlong(c *caseState) int {
	name, n := c.fam.Name, c.n
	h.start(name, n, MethodLogAbsDetAlong)
	if c.fam.Sample == 0 {
		h.add(Result{Family: name, N: n, Method: MethodLogAbsDetAlong, Skipped: "x is not a batch of samples"}, 0)
		return -1
	}
	var along *tensor.Tensor
	ts, err := h.timeReps(func() (err error) { along, err = c.lin.LogAbsDetAlong(0); return err })
	if err != nil {
		h.add(Result{Family: name, N: n, Method: MethodLogAbsDetAlong, Skipped: "failed: " + err.Error()}, 0)
		return -1
	}
	c.along = along.Data()
	idx := len(h.rep.Results)
	h.add(Result{Family: name, N: n, Method: MethodLogAbsDetAlong, Times: ts, Accuracy: math.NaN(),
		Note: fmt.Sprintf("%d samples, log|det J_0| = %.10g", len(c.along), c.along[0])}, c.primal)
	return idx
}

// maxAbsDiff returns max |a_i − b_i| (+Inf when the lengths differ or a
// NaN appears).
func maxAbsDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		d := math.Abs(a[i] - b[i])
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = max(m, d)
	}
	return m
}

// tapeless times inverse.VIJPStats, f run without a tape.
func (h *harness) tapeless(c *caseState) error {
	name, n := c.fam.Name, c.n
	var cy *tensor.Tensor
	var st inverse.StreamStats
	ts, err := h.timeReps(func() (err error) { cy, st, err = inverse.VIJPStats(c.p.F, c.p.X, c.cx); return err })
	if err != nil {
		return fmt.Errorf("bench: %s n=%d: tapeless VIJP: %w", name, n, err)
	}
	h.add(Result{Family: name, N: n, Method: MethodTapeless, Times: ts, Accuracy: transResidual(c.lin, cy.Data(), c.cx.Data()),
		Note: fmt.Sprintf("peak held %.3g MB", float64(st.PeakHeld)/1e6)}, c.primal)
	return nil
}

func sum(ts []time.Duration) time.Duration {
	var s time.Duration
	for _, t := range ts {
		s += t
	}
	return s
}

// solveResidual returns |J dx − dy| / |dy| with J dx by the JVP.
func solveResidual(lin *inverse.Linearization, dx, dy []float64) float64 {
	jv, err := lin.JVP(tensor.New(lin.Input().Shape(), dx))
	if err != nil {
		return math.Inf(1)
	}
	return relResidual(jv.Data(), dy)
}

// transResidual returns |Jᵀ cy − cx| / |cx| with Jᵀ cy by the VJP.
func transResidual(lin *inverse.Linearization, cy, cx []float64) float64 {
	vj, err := lin.VJP(tensor.New(lin.Output().Shape(), cy))
	if err != nil {
		return math.Inf(1)
	}
	return relResidual(vj.Data(), cx)
}

// relResidual returns |a − b| / |b|.
func relResidual(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	num, den := 0.0, 0.0
	for i := range a {
		d := a[i] - b[i]
		num += d * d
		den += b[i] * b[i]
	}
	if math.IsNaN(num) {
		return math.Inf(1)
	}
	return math.Sqrt(num / den)
}

// dense forms J from n JVPs and solves by gonum's LU.
func (h *harness) dense(c *caseState) {
	name, n := c.fam.Name, c.n
	h.start(name, n, MethodDense)
	if n > h.cfg.DenseMax {
		h.add(Result{Family: name, N: n, Method: MethodDense,
			Skipped: fmt.Sprintf("n² memory, n³ time (n > %d)", h.cfg.DenseMax)}, 0)
		return
	}
	var dx mat.VecDense
	var jT, luT time.Duration
	var lu mat.LU
	ts, err := h.timeReps(func() error {
		t0 := time.Now()
		J, err := c.lin.Jacobian()
		if err != nil {
			return err
		}
		t1 := time.Now()
		lu.Reset()
		lu.Factorize(mat.NewDense(n, n, J.Data()))
		err = lu.SolveVecTo(&dx, false, mat.NewVecDense(n, slices.Clone(c.dy.Data())))
		jT, luT = t1.Sub(t0), time.Since(t1)
		return err
	})
	if err != nil {
		h.add(Result{Family: name, N: n, Method: MethodDense, Skipped: "failed: " + err.Error()}, 0)
		return
	}
	c.ldRef, _ = lu.LogDet()
	h.add(Result{Family: name, N: n, Method: MethodDense, Times: ts, Accuracy: solveResidual(c.lin, dx.RawVector().Data, c.dy.Data()),
		Note: fmt.Sprintf("last run: J %s, LU + solve %s", FormatDuration(jT), FormatDuration(luT))}, c.primal)
}

// gmres solves J dx = dy by restarted GMRES on JVPs.
func (h *harness) gmres(c *caseState) {
	name, n := c.fam.Name, c.n
	h.start(name, n, MethodGMRES)
	if h.cfg.GMRESMaxN > 0 && n > h.cfg.GMRESMaxN {
		h.add(Result{Family: name, N: n, Method: MethodGMRES, Skipped: fmt.Sprintf("n > %d (Config.GMRESMaxN)", h.cfg.GMRESMaxN)}, 0)
		return
	}
	shape := c.lin.Input().Shape()
	var jvpErr error
	matvec := func(dst, v []float64) {
		jv, err := c.lin.JVP(tensor.New(shape, v))
		if err != nil {
			jvpErr = err
			for i := range dst {
				dst[i] = math.NaN()
			}
			return
		}
		copy(dst, jv.Data())
	}
	tol := math.Max(c.accIJ, gmresFloor)
	var dx []float64
	var st GMRESStats
	ts, _ := h.timeReps(func() error {
		dx, st = GMRES(matvec, c.dy.Data(), GMRESOptions{
			Restart: h.cfg.GMRESRestart, Tol: tol, MaxIter: h.cfg.GMRESMaxIter,
			Deadline: time.Now().Add(h.cfg.GMRESTimeLimit),
		})
		if !st.Converged {
			return errStopReps // one unconverged run is enough
		}
		return nil
	})
	if jvpErr != nil {
		h.add(Result{Family: name, N: n, Method: MethodGMRES, Skipped: "failed: " + jvpErr.Error()}, 0)
		return
	}
	note := fmt.Sprintf("GMRES(%d) to %.2g: %d JVPs", h.cfg.GMRESRestart, tol, st.MatVecs)
	if !st.Converged {
		note = fmt.Sprintf("GMRES(%d) did not reach %.2g: stopped by %s after %d JVPs", h.cfg.GMRESRestart, tol, st.Stopped, st.MatVecs)
	}
	h.add(Result{Family: name, N: n, Method: MethodGMRES, Times: ts, Accuracy: solveResidual(c.lin, dx, c.dy.Data()), Iters: st.Iters, Note: note}, c.primal)
}

// loadAverage returns the 1, 5 and 15 minute load averages ("" if unknown).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// FormatDuration prints a duration with three significant digits.
func FormatDuration(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s <= 0:
		return "0"
	case s < 1e-6:
		return fmt.Sprintf("%.3g ns", s*1e9)
	case s < 1e-3:
		return fmt.Sprintf("%.3g µs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.3g ms", s*1e3)
	default:
		return fmt.Sprintf("%.3g s", s)
	}
}

// FormatRatio prints a ratio like ×2.3, ×0.012 or ×1500.
func FormatRatio(r float64) string {
	switch {
	case r >= 9.95: // %.2g would print 99.7 as 1e+02
		return fmt.Sprintf("×%.0f", r)
	case r >= 0.01:
		return fmt.Sprintf("×%.2g", r)
	default:
		return fmt.Sprintf("×%.1e", r)
	}
}
