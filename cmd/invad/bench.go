package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/invad/invad/bench"
)

// benchProgress receives invad bench's progress lines; tests silence it.
var benchProgress io.Writer = os.Stderr

func runBench(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	dir := fs.String("out", "", "folder for bench.md, bench.json and the plots bench-<family>.svg (default: a new folder invad-bench-DATE-TIME here; --out docs updates the repository's report)")
	families := fs.String("families", strings.Join(bench.FamilyNames(), ","), "comma-separated problem families")
	maxN := fs.String("max-n", "", "largest n, and per family as family=N: \"1000000,wx=3000\" (default: per family, the largest power of ten estimated to fit in --memory)")
	perDecade := fs.Int("per-decade", 1, "sizes per power of ten from 10³ (1: 10³, 10⁴, ...; 2 adds 3·10³, 3·10⁴, ...)")
	sizes := fs.String("sizes", "", "comma-separated sizes to run instead of the powers of ten, and per family as family=N: \"1000,flow=80000,flow=800000\"")
	quick := fs.Bool("quick", false, "a short run for CI: n ≤ 10⁴, 2 repetitions, GMRES capped at 300 iterations")
	backend := fs.String("backend", "auto", "auto or cpu: the harness times the CPU backend (cuda: see the GPU benchmarks of package cuda)")
	reps := fs.Int("reps", 0, "most repetitions of a method; times are medians (0: 3, or 2 with --quick)")
	repBudget := fs.Duration("rep-budget", 0, "a method stops repeating once it has used this much time (0: 2s)")
	memory := fs.Float64("memory", 8, "memory budget of one size, in GB: sizes estimated over it are skipped")
	denseMax := fs.Int("dense-max", 4000, "largest n of the dense methods (dense J + LU, PyTorch)")
	restart := fs.Int("gmres-restart", 30, "GMRES restart length")
	gmresIter := fs.Int("gmres-max-iter", 0, "most GMRES iterations (0: 2000, or 300 with --quick)")
	gmresTime := fs.Duration("gmres-time", 0, "time limit of one GMRES solve (0: 2m, or 10s with --quick)")
	gmresMaxN := fs.Int("gmres-max-n", 0, "largest n of GMRES (0: no limit)")
	torch := fs.String("torch", "auto", "auto: run bench/torch_bench.py when a Python with torch is found; off: skip PyTorch")
	python := fs.String("python", "", "the Python to run PyTorch with (default: python3, else /usr/bin/python3)")
	note := fs.String("note", "", "a line added to the report's header")
	replot := fs.String("replot", "", "redraw the plots of an earlier run instead of running: a folder (read from its bench.json, else its bench.md) or a Markdown file holding a report; the other flags are ignored")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: invad bench [flags]

Runs the comparison of invad's inverse products with a dense Jacobian and LU,
Newton–Krylov GMRES on JVPs and PyTorch (when a Python with torch is
installed; on Debian: apt-get install -y python3-torch) on eight problem
families, for n from 10³ up, and writes a Markdown table (OUT/bench.md), the
raw results (OUT/bench.json) and one log-log plot of time against n per
family (OUT/bench-<family>.svg). invad bench --replot OUT redraws the plots
of an earlier run from OUT/bench.json, or OUT/bench.md if there is none.
Progress goes to stderr, one line per method. The default run goes up to the
largest n that fits in 8 GB and takes long; --quick or --max-n keep it short.

families: `+strings.Join(bench.FamilyNames(), ", ")+`

flags:`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if *replot != "" {
		paths, err := bench.Replot(*replot)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "invad bench: replotted %s; wrote %s\n", *replot, strings.Join(paths, ", "))
		return nil
	}
	if *perDecade < 1 || *reps < 0 || *memory <= 0 || *denseMax < 1 || *restart < 1 || *gmresIter < 0 || *gmresTime < 0 || *gmresMaxN < 0 || *repBudget < 0 {
		return fmt.Errorf("--reps, --rep-budget, --gmres-max-iter, --gmres-time and --gmres-max-n must not be negative; --per-decade, --memory, --dense-max and --gmres-restart must be positive")
	}
	switch *backend {
	case "cuda":
		return fmt.Errorf("--backend cuda: invad bench times the CPU backend only; the GPU benchmarks are BenchmarkGPU* in package cuda (cuda/gpu-check.sh runs them)")
	case "auto", "cpu":
	default:
		return fmt.Errorf("--backend %q: want auto, cpu or cuda", *backend)
	}
	cfg := bench.Config{
		PerDecade:      *perDecade,
		MemoryBudget:   int64(*memory * 1e9),
		Quick:          *quick,
		Reps:           *reps,
		RepBudget:      *repBudget,
		DenseMax:       *denseMax,
		GMRESRestart:   *restart,
		GMRESMaxIter:   *gmresIter,
		GMRESTimeLimit: *gmresTime,
		GMRESMaxN:      *gmresMaxN,
		Torch:          *torch,
		Python:         *python,
		Progress:       benchProgress,
		Command:        shellCommand(append([]string{"invad", "bench"}, args...)),
		Note:           *note,
	}
	if *families != "" {
		cfg.Families = strings.Split(*families, ",")
	}
	for _, s := range strings.Split(*maxN, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		fam, v, per := strings.Cut(s, "=")
		if !per {
			v = fam
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("--max-n: %q is not N or family=N with a positive N", s)
		}
		if !per {
			cfg.MaxN = n
			continue
		}
		if cfg.MaxNFor == nil {
			cfg.MaxNFor = map[string]int{}
		}
		cfg.MaxNFor[fam] = n
	}
	if *sizes != "" {
		for _, s := range strings.Split(*sizes, ",") {
			fam, v, per := strings.Cut(strings.TrimSpace(s), "=")
			if !per {
				v = fam
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("--sizes: %q is not N or family=N with a positive N", s)
			}
			if !per {
				cfg.Sizes = append(cfg.Sizes, n)
				continue
			}
			if cfg.SizesFor == nil {
				cfg.SizesFor = map[string][]int{}
			}
			cfg.SizesFor[fam] = append(cfg.SizesFor[fam], n)
		}
	}
	t0 := time.Now()
	rep, err := bench.Run(cfg)
	if err != nil {
		return err
	}
	if *dir == "" {
		*dir = t0.Format("invad-bench-20060102-150405")
	}
	paths, err := rep.WriteFiles(*dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "invad bench: %d results in %s; wrote %s\n", len(rep.Results), time.Since(t0).Round(time.Second), strings.Join(paths, ", "))
	return nil
}

// shellCommand joins args as a shell would need them typed: words with
// spaces or shell metacharacters in single quotes.
func shellCommand(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
