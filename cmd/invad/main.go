// Command invad runs invad's main jobs.
//
//	invad demo [flags]     solve an embedded default problem by Newton through IJVP, time every product
//	invad explain [flags]  print the lumps of an example program
//	invad bench [flags]    compare with dense LU, Newton–Krylov GMRES and PyTorch; write docs/bench.md and plots
//	invad version          print the version
//	invad help             list the subcommands
//
// Every subcommand takes --help. No command, an unknown one or a bad flag
// prints the usage to standard error and exits with status 2; a failure of
// the job itself exits with status 1.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

type command struct {
	name, summary string
	run           func(args []string, out io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "linearize the embedded default problem, time its products, check them", runDemo},
		{"explain", "print the lumps inverse mode finds in an example program", runExplain},
		{"bench", "compare inverse products with dense LU, GMRES and PyTorch; write bench.md and plots", runBench},
		{"version", "print the version of invad and of Go", runVersion},
	}
}

// usageError is a mistake in a command line: main prints it once, with the
// command's usage, to standard error and exits with status 2.
type usageError struct {
	err error
	fs  *flag.FlagSet
}

func (e *usageError) Error() string { return e.err.Error() }

// parseFlags parses args into fs: --help prints the usage to out and
// returns flag.ErrHelp; a bad flag or a stray argument is a *usageError.
// fs.Usage must print to fs.Output().
func parseFlags(fs *flag.FlagSet, args []string, out io.Writer) error {
	fs.SetOutput(io.Discard) // main reports the error, once
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(out)
		fs.Usage()
		return flag.ErrHelp
	case err != nil:
		return &usageError{err: err, fs: fs}
	case fs.NArg() > 0:
		return &usageError{err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), fs: fs}
	}
	return nil
}

// runVersion prints the module's version (from the build information:
// "(devel)" for a build from a checkout, with its commit where Go recorded
// one) and Go's.
func runVersion(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: invad version\n\nPrints the version of invad and of the Go toolchain that built it.")
	}
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	version, rev, goVersion := "(unknown)", "", "(unknown)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version, goVersion = bi.Main.Version, bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if rev != "" {
		version += " " + rev
	}
	fmt.Fprintf(out, "invad %s, %s\n", version, goVersion)
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: invad <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'invad <command> --help' for a command's flags.")
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run runs the command line args (without the program name) and returns
// the exit status: 0, 1 for a job that failed, 2 for a usage mistake.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout)
		var ue *usageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "invad %s: %v\n\n", c.name, ue.err)
			ue.fs.SetOutput(stderr)
			ue.fs.Usage()
			return 2
		}
		fmt.Fprintln(stderr, "invad "+c.name+":", err)
		return 1
	}
	fmt.Fprintf(stderr, "invad: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}
