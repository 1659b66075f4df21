package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// PlotName is the file name of a family's plot.
func PlotName(family string) string { return "bench-" + family + ".svg" }

// WriteFiles writes the report as dir/bench.md, its results as
// dir/bench.json (for ReadJSON and Replot) and a plot per family as
// dir/bench-<family>.svg, creating dir. It returns the paths written, and
// the first error creating or writing a file.
func (r *Report) WriteFiles(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	js := filepath.Join(dir, "bench.json")
	if err := writeFile(js, r.WriteJSON); err != nil {
		return nil, err
	}
	md := filepath.Join(dir, "bench.md")
	if err := writeFile(md, func(w io.Writer) error { r.WriteMarkdown(w); return nil }); err != nil {
		return nil, err
	}
	paths := []string{md, js}
	for _, fam := range r.Families {
		if len(r.Sizes(fam.Name)) == 0 {
			continue
		}
		p := filepath.Join(dir, PlotName(fam.Name))
		if err := r.WritePlot(p, fam.Name); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// writeFile creates path and writes it by write, buffered.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := write(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpuModel returns the CPU's model name ("" if unknown).
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// thisMachine describes the machine running this process: OS/arch, CPU
// model and logical CPUs, as "linux/amd64, AMD EPYC, 2 logical CPUs".
func thisMachine() string {
	model := cpuModel()
	if model != "" {
		model = ", " + model
	}
	return fmt.Sprintf("%s/%s%s, %d logical CPUs", runtime.GOOS, runtime.GOARCH, model, runtime.NumCPU())
}

// machine is r.Machine, or this machine's description for a Report made
// without it.
func (r *Report) machine() string {
	if r.Machine != "" {
		return r.Machine
	}
	return thisMachine()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// WriteMarkdown writes the report as Markdown: the set-up, the methods, a
// summary, then per family its plot, a time table and an accuracy table.
func (r *Report) WriteMarkdown(w io.Writer) {
	cfg := r.Config
	fmt.Fprintln(w, "# invad bench: inverse products against dense LU, Newton–Krylov and PyTorch")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Made by `invad bench` in one run, every method on the same machine one after the other:")
	fmt.Fprintln(w)
	cmd := cfg.Command
	if cmd == "" {
		cmd = "invad bench"
	}
	fmt.Fprintf(w, "```sh\n%s\n```\n\n", cmd)
	fmt.Fprintf(w, "- Machine: %s, GOMAXPROCS %d, %s. Started %s; the run took %s.\n",
		r.machine(), runtime.GOMAXPROCS(0), runtime.Version(),
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second))
	if r.LoadStart != "" {
		fmt.Fprintf(w, "- Load average (1, 5, 15 min) %s at the start, %s at the end", r.LoadStart, r.LoadEnd)
		if !math.IsNaN(r.LoadMin) {
			fmt.Fprintf(w, "; the 1-minute load ranged from %.3g to %.3g over the run (on %d CPUs: above %d, other work was competing)", r.LoadMin, r.LoadMax, runtime.NumCPU(), runtime.NumCPU())
		}
		fmt.Fprintln(w, ". Absolute times are noisy on a shared machine; compare the ratios to the primal, measured in the same process a moment apart.")
	}
	torch := r.Torch
	if torch == "" {
		torch = fmt.Sprintf("not started: no size at or below the dense limit n ≤ %d", cfg.DenseMax)
	}
	fmt.Fprintf(w, "- PyTorch: %s.\n", torch)
	fmt.Fprintf(w, "- Times are medians of up to %d repetitions (fewer once a method has used %s); a garbage collection runs before each, untimed. \"×\" is a method's time over the primal's at the same n.\n",
		cfg.Reps, cfg.RepBudget)
	fmt.Fprintf(w, "- The dense methods (dense J + LU, PyTorch's jacobian and jacfwd) run while n ≤ %d; PyTorch's per-sample vmap route runs at every n. GMRES(%d) stops at %d iterations or %s",
		cfg.DenseMax, cfg.GMRESRestart, cfg.GMRESMaxIter, cfg.GMRESTimeLimit)
	if cfg.GMRESMaxN > 0 {
		fmt.Fprintf(w, ", and runs while n ≤ %d", cfg.GMRESMaxN)
	}
	fmt.Fprintln(w, ".")
	if cfg.Note != "" {
		fmt.Fprintf(w, "- %s\n", cfg.Note)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "- %s.\n", n)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "## Methods")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| method | by | what is timed | accuracy column |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, m := range Methods() {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", m.Method, m.Group, mdEscape(m.About), mdEscape(m.Accuracy))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every method after Linearize works on the same Linearization: for a Newton step from scratch add the Linearize time to dense J + LU and to GMRES, as \"invad solve\" does for invad. PyTorch's times include its own forward and backward passes. LogAbsDet is left out of the plots. On the batched families (residual, flow) a table after the reading gives each method over its own library's primal.")
	fmt.Fprintln(w)

	r.writeSummary(w)
	for _, fam := range r.Families {
		r.writeFamily(w, fam)
	}
}

// summaryMethods are the summary's columns.
var summaryMethods = []Method{MethodIJVP, MethodVIJP, MethodSolveTotal, MethodGMRES, MethodDense, MethodTorchJac, MethodTorchFwd}

func (r *Report) writeSummary(w io.Writer) {
	fmt.Fprintln(w, "## Summary")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "At the smallest and the largest n of each family: time, and × primal.")
	fmt.Fprintln(w)
	fmt.Fprint(w, "| family | n | primal |")
	for _, m := range summaryMethods {
		fmt.Fprintf(w, " %s |", m)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "|---|---:|---:|")
	for range summaryMethods {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, fam := range r.Families {
		ns := r.Sizes(fam.Name)
		if len(ns) == 0 {
			continue
		}
		pick := []int{ns[0]}
		if len(ns) > 1 {
			pick = append(pick, ns[len(ns)-1])
		}
		for _, n := range pick {
			fmt.Fprintf(w, "| %s | %d | %s |", fam.Name, n, r.cell(fam.Name, n, MethodPrimal, false))
			for _, m := range summaryMethods {
				fmt.Fprintf(w, " %s |", r.cell(fam.Name, n, m, true))
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w)
}

// cell is a time cell: "1.23 ms ×2.1", "skipped" or "".
func (r *Report) cell(family string, n int, m Method, ratio bool) string {
	res, ok := r.Result(family, n, m)
	if !ok {
		return ""
	}
	if res.Skipped != "" {
		return "skipped"
	}
	s := FormatDuration(res.Median)
	if m == MethodGMRES && res.Iters > 0 {
		s += fmt.Sprintf(" (%d it)", res.Iters)
	}
	if ratio && m != MethodPrimal {
		if p, ok := r.Result(family, n, MethodPrimal); ok && p.Median > 0 {
			s += " " + FormatRatio(float64(res.Median)/float64(p.Median))
		}
	}
	return s
}

func (r *Report) writeFamily(w io.Writer, fam Family) {
	ns := r.Sizes(fam.Name)
	if len(ns) == 0 {
		return
	}
	fmt.Fprintf(w, "## %s\n\n%s.\n\n", fam.Name, mdEscape(fam.About))
	fmt.Fprintf(w, "![%s: time against n, log-log](%s)\n\n", fam.Name, PlotName(fam.Name))
	head := func(title string) {
		fmt.Fprintf(w, "| %s |", title)
		for _, n := range ns {
			fmt.Fprintf(w, " n = %d |", n)
		}
		fmt.Fprint(w, "\n|---|")
		for range ns {
			fmt.Fprint(w, "---:|")
		}
		fmt.Fprintln(w)
	}
	head("time (× primal)")
	for _, m := range Methods() {
		fmt.Fprintf(w, "| %s |", m.Method)
		for _, n := range ns {
			fmt.Fprintf(w, " %s |", r.cell(fam.Name, n, m.Method, true))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	head("accuracy")
	for _, m := range Methods() {
		if !hasAccuracy(m.Method) {
			continue
		}
		fmt.Fprintf(w, "| %s |", m.Method)
		for _, n := range ns {
			res, ok := r.Result(fam.Name, n, m.Method)
			switch {
			case !ok:
				fmt.Fprint(w, "  |")
			case res.Skipped != "":
				fmt.Fprint(w, " skipped |")
			case math.IsNaN(res.Accuracy):
				fmt.Fprint(w, " — |")
			default:
				fmt.Fprintf(w, " %.2g |", res.Accuracy)
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	r.writeReading(w, fam, ns)
	if fam.Sample > 0 {
		r.writeBatched(w, fam, ns)
	}
	// Why methods were skipped, and the notes worth reading.
	type key struct {
		m   Method
		why string
	}
	skipped := map[key][]string{}
	var order []key
	var notes []string
	for _, n := range ns {
		for _, m := range Methods() {
			res, ok := r.Result(fam.Name, n, m.Method)
			if !ok {
				continue
			}
			if res.Skipped != "" {
				k := key{m.Method, res.Skipped}
				if _, seen := skipped[k]; !seen {
					order = append(order, k)
				}
				skipped[k] = append(skipped[k], fmt.Sprint(n))
				continue
			}
			if res.Note != "" && m.Method != MethodSolveTotal {
				notes = append(notes, fmt.Sprintf("n = %d, %s: %s", n, m.Method, res.Note))
			}
		}
	}
	for _, k := range order {
		fmt.Fprintf(w, "- %s skipped at n = %s: %s.\n", k.m, strings.Join(skipped[k], ", "), mdEscape(k.why))
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\n<details><summary>Details per run</summary>")
		fmt.Fprintln(w)
		for _, s := range notes {
			fmt.Fprintf(w, "- %s\n", mdEscape(s))
		}
		fmt.Fprintln(w, "\n</details>")
	}
	fmt.Fprintln(w)
}

// stepTime is a method's time for a Newton step from a recorded
// Linearization's point of view: invad solve as it is, dense and GMRES
// with the Linearize they need, PyTorch as it is (its own passes included).
func (r *Report) stepTime(family string, n int, m Method) (time.Duration, bool) {
	res, ok := r.Result(family, n, m)
	if !ok || res.Skipped != "" || res.Median <= 0 {
		return 0, false
	}
	t := res.Median
	if m == MethodDense || m == MethodGMRES {
		lin, ok := r.Result(family, n, MethodLinearize)
		if !ok {
			return 0, false
		}
		t += lin.Median
	}
	return t, true
}

// otherMethods are the methods a Newton step by invad is compared with.
var otherMethods = []Method{MethodDense, MethodGMRES, MethodTorchJac, MethodTorchFwd, MethodTorchVmap}

// writeReading writes what the family's numbers say: the products against
// the primal at the largest n, and where a Newton step by invad is ahead of
// every other method.
func (r *Report) writeReading(w io.Writer, fam Family, ns []int) {
	big := ns[len(ns)-1]
	ratio := func(m Method) (float64, bool) {
		res, ok1 := r.Result(fam.Name, big, m)
		p, ok2 := r.Result(fam.Name, big, MethodPrimal)
		if !ok1 || !ok2 || res.Skipped != "" || p.Median <= 0 {
			return 0, false
		}
		return float64(res.Median) / float64(p.Median), true
	}
	fmt.Fprint(w, "**Reading.** ")
	if ij, ok := ratio(MethodIJVP); ok {
		vj, _ := ratio(MethodVIJP)
		verdict := "both within"
		switch {
		case ij > 3 && vj > 3:
			verdict = "both over"
		case ij > 3:
			verdict = "IJVP over"
		case vj > 3:
			verdict = "VIJP over"
		}
		fmt.Fprintf(w, "At n = %d, IJVP takes %s and VIJP %s the primal: %s the target of ×3. ", big, FormatRatio(ij), FormatRatio(vj), verdict)
	}
	// Where invad solve beats every other method that ran.
	var ahead, behind []int
	for _, n := range ns {
		inv, ok := r.stepTime(fam.Name, n, MethodSolveTotal)
		if !ok {
			continue
		}
		best, bestM := time.Duration(math.MaxInt64), Method("")
		for _, m := range otherMethods {
			if t, ok := r.stepTime(fam.Name, n, m); ok && t < best {
				best, bestM = t, m
			}
		}
		if bestM == "" {
			continue
		}
		if inv < best {
			ahead = append(ahead, n)
		} else {
			behind = append(behind, n)
		}
		if n == big {
			with := ""
			if bestM == MethodDense || bestM == MethodGMRES {
				with = " with the Linearize it needs"
			}
			fmt.Fprintf(w, "A Newton step from scratch (invad solve) takes %s there; the fastest other method, %s, takes %s%s (%s the invad step). ",
				FormatDuration(inv), bestM, FormatDuration(best), with, FormatRatio(float64(best)/float64(inv)))
		}
	}
	switch {
	case len(behind) == 0 && len(ahead) > 0:
		fmt.Fprintln(w, "invad solve is ahead of every other method at every n run.")
	case len(ahead) == 0:
		fmt.Fprintln(w, "invad solve is behind the fastest other method at every n run.")
	default:
		fmt.Fprintf(w, "invad solve is ahead of every other method at n = %s and behind at n = %s.\n", joinInts(ahead), joinInts(behind))
	}
	if fam.Note != "" {
		fmt.Fprintf(w, "\n%s\n", fam.Note)
	}
	fmt.Fprintln(w)
}

// writeBatched writes, for a family of samples, each method's time over
// its own library's primal (invad's over invad's, PyTorch's over
// PyTorch's) and invad's per-sample route against PyTorch's.
func (r *Report) writeBatched(w io.Writer, fam Family, ns []int) {
	med := func(n int, m Method) (time.Duration, bool) {
		res, ok := r.Result(fam.Name, n, m)
		if !ok || res.Skipped != "" || res.Median <= 0 {
			return 0, false
		}
		return res.Median, true
	}
	ratio := func(a, b time.Duration, ok bool) string {
		if !ok || b <= 0 {
			return "—"
		}
		return FormatRatio(float64(a) / float64(b))
	}
	fmt.Fprintln(w, "**Per library.** Each time over its own library's primal at the same n (invad's over invad's primal, PyTorch's over PyTorch's); "+
		"the last columns set invad's per-sample route from scratch (Linearize + factorize + LogAbsDetAlong + IJVP: the Jacobian's factors, "+
		"the log|det| of every sample and dx) against PyTorch's vmap(jacrev) + slogdet + solve, which computes the same three things.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| n | B | Linearize + factorize | IJVP | VIJP | LogAbsDetAlong | torch primal / invad primal | torch vmap(jacrev) + slogdet / torch primal | invad route | torch vmap route | torch / invad |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range ns {
		p, okP := med(n, MethodPrimal)
		lin, ok1 := med(n, MethodLinearize)
		fac, ok2 := med(n, MethodFactorize)
		ij, ok3 := med(n, MethodIJVP)
		vj, ok4 := med(n, MethodVIJP)
		al, ok5 := med(n, MethodLogAbsDetAlong)
		tp, ok6 := med(n, MethodTorchPrimal)
		tv, ok7 := med(n, MethodTorchVmap)
		route, okR := lin+fac+al+ij, ok1 && ok2 && ok3 && ok5
		cellT := func(t time.Duration, ok bool) string {
			if !ok {
				return "—"
			}
			return FormatDuration(t)
		}
		fmt.Fprintf(w, "| %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", n, n/fam.Sample,
			ratio(lin+fac, p, okP && ok1 && ok2), ratio(ij, p, okP && ok3), ratio(vj, p, okP && ok4), ratio(al, p, okP && ok5),
			ratio(tp, p, okP && ok6), ratio(tv, tp, ok6 && ok7),
			cellT(route, okR), cellT(tv, ok7), ratio(tv, route, okR && ok7))
	}
	fmt.Fprintln(w)
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}
