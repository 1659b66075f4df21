// Command invad runs invad's main jobs.
//
//	invad demo [flags]     solve an embedded default problem by Newton through IJVP, time every product
//	invad explain [flags]  print the lumps of an example program
//	invad bench [flags]    compare with dense LU, Newton–Krylov GMRES and PyTorch; write docs/bench.md and plots
//	invad help             list the subcommands
//
// Every subcommand takes --help.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

type command struct {
	name, summary string
	run           func(args []string, out io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "linearize the embedded default problem, time its products, check them", runDemo},
		{"explain", "print the lumps inverse mode finds in an example program", runExplain},
		{"bench", "compare inverse products with dense LU, GMRES and PyTorch; write docs/bench.md and plots", runBench},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: invad <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'invad <command> --help' for a command's flags.")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "help" || os.Args[1] == "-h" || os.Args[1] == "--help" {
		usage(os.Stdout)
		return
	}
	for _, c := range commands() {
		if c.name == os.Args[1] {
			if err := c.run(os.Args[2:], os.Stdout); err != nil {
				if err == flag.ErrHelp {
					return
				}
				fmt.Fprintln(os.Stderr, "invad "+c.name+":", err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "invad: unknown command %q\n\n", os.Args[1])
	usage(os.Stderr)
	os.Exit(2)
}
