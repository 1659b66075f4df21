package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/invad/invad/cuda"
)

// resolveBackend turns a --backend value into the backend used. The CUDA
// driver is looked for at run time. The products run on the CPU backend in
// this build: the CUDA package has the driver binding and the kernels
// (elementwise rules, batched LU) but no device tape yet. So auto uses the
// CPU with a one-line notice saying what was found, and cuda is an error
// saying whether the driver or the device is missing, or that the GPU
// backend does not run the products yet.
func resolveBackend(name string, out io.Writer) (string, error) {
	switch name {
	case "cpu":
		return "cpu", nil
	case "auto", "cuda":
	default:
		return "", fmt.Errorf("--backend %q: want auto, cpu or cuda", name)
	}
	err := cuda.Available()
	var why string
	switch {
	case errors.Is(err, cuda.ErrNoDriver):
		why = "no CUDA driver (libcuda.so.1 not found)"
	case errors.Is(err, cuda.ErrNoDevice):
		why = "a CUDA driver but no CUDA device"
	case err != nil:
		why = fmt.Sprintf("the CUDA driver failed: %v", err)
	default:
		why = "a CUDA GPU, but this build's CUDA backend does not run the products yet"
	}
	if name == "auto" {
		fmt.Fprintf(out, "backend auto: %s; using the CPU\n", why)
		return "cpu", nil
	}
	return "", fmt.Errorf("--backend cuda: %s; use --backend cpu or auto", why)
}
