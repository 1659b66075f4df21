// Command gpu runs inverse accumulation mode on the GPU when there is one,
// and on the CPU otherwise (package backend, "auto"): the pattern of a
// program that should run everywhere. On a GPU it also runs the CPU backend
// and prints how far the two backends' products are apart.
//
//	go run ./examples/gpu [-n 1048576]
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/invad/invad/backend"
	"github.com/invad/invad/bench"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tensor"
)

func main() {
	n := flag.Int("n", 1<<20, "elements of x (a multiple of 16)")
	flag.Parse()
	if err := run(os.Stdout, *n); err != nil {
		fmt.Fprintln(os.Stderr, "gpu:", err)
		os.Exit(1)
	}
}

func run(out io.Writer, n int) error {
	if n <= 0 || n%16 != 0 {
		return fmt.Errorf("-n must be a positive multiple of 16, got %d", n)
	}
	f := bench.Coupling(n) // an affine coupling layer over n/16 rows
	rng := rand.New(rand.NewPCG(1, 2))
	x, v := tensor.Zeros(n), tensor.Zeros(n)
	for i := range n {
		x.Data()[i], v.Data()[i] = rng.NormFloat64(), rng.NormFloat64()
	}

	// The CPU backend always works: it is the reference.
	cpu, err := inverse.Linearize(f, x)
	if err != nil {
		return err
	}
	// auto: the GPU if a driver and a device exist, else the CPU after a
	// one-line notice saying what is missing.
	be, err := backend.Open("auto", out)
	if err != nil {
		return err
	}
	defer be.Close()
	fmt.Fprintf(out, "running on: %v\n", be)
	lin, err := be.Linearize(f, x)
	if err != nil {
		return err
	}
	defer lin.Close()

	t0 := time.Now()
	jv, err := lin.JVP(v)
	if err != nil {
		return err
	}
	ld, err := lin.LogAbsDet() // analyzes and factorizes the lumps
	if err != nil {
		return err
	}
	t1 := time.Now()
	back, err := lin.IJVP(jv)
	if err != nil {
		return err
	}
	t2 := time.Now()
	fmt.Fprintf(out, "n = %d: JVP + factorization %v, IJVP %v\n", n, t1.Sub(t0).Round(time.Microsecond), t2.Sub(t1).Round(time.Microsecond))
	fmt.Fprintf(out, "log|det J| = %.10g\n", ld)
	fmt.Fprintf(out, "round trip |IJVP(JVP(v)) − v|∞ = %.2e\n", maxDiff(back.Data(), v.Data()))
	if be.GPU() != nil {
		want, err := cpu.IJVP(jv)
		if err != nil {
			return err
		}
		cl, _ := cpu.LogAbsDet()
		fmt.Fprintf(out, "GPU vs CPU: IJVP differ by %.2e, log|det J| by %.2e\n", maxDiff(back.Data(), want.Data()), math.Abs(ld-cl))
	}
	return nil
}

func maxDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}
