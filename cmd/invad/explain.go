package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tensor"
)

func runExplain(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	prog := fs.String("program", "coupling", "the example program: "+exampleNames())
	n := fs.Int("n", 48, "number of elements of x")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: invad explain [flags]\n\nPrints the lumps inverse mode finds in an example program: their ops, the\nstructure of each block A, how it is factorized, and log|det A|.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	ex, err := lookup(*prog)
	if err != nil {
		return err
	}
	if *n < 2 || *n%2 != 0 {
		return fmt.Errorf("-n must be even and at least 2")
	}
	if *prog == "coupling" && *n%16 != 0 {
		return fmt.Errorf("-n must be a multiple of 16 for the coupling program (rows of 2 × 8)")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	x := tensor.Zeros(*n)
	for i := range x.Data() {
		x.Data()[i] = 0.5 * rng.NormFloat64()
	}
	// Past a second of analysis and factorization, a progress line on
	// stderr (the report goes to out).
	progress := inverse.OnProgress(func(p inverse.Progress) {
		if p.Elapsed > time.Second {
			fmt.Fprintf(os.Stderr, "invad explain: %s %d/%d (%v)\n", p.Stage, p.Done, p.Total, p.Elapsed.Round(100*time.Millisecond))
		}
	})
	lin, err := inverse.Linearize(ex.Build(*n), x, progress)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "program %s, n = %d: %s\n%d ops on the tape (%d pruned)\n\n", *prog, *n, ex.About, len(lin.Program().Nodes), lin.Program().Pruned)
	lumps, err := lin.Lumps()
	if err != nil {
		return fmt.Errorf("program %s has no inverse: %w", *prog, err)
	}
	inverse.WriteLumps(out, lumps)
	return nil
}
