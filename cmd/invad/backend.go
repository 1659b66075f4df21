package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/invad/invad/cuda"
)

// noGPU says why there is no GPU to run on, from cuda.Available's error.
func noGPU(err error) string {
	switch {
	case errors.Is(err, cuda.ErrNoDriver):
		return "no CUDA driver (libcuda.so.1 not found)"
	case errors.Is(err, cuda.ErrNoDevice):
		return "a CUDA driver but no CUDA device"
	default:
		return fmt.Sprintf("the CUDA driver failed: %v", err)
	}
}

// resolveBackend turns a --backend value into the backend used: nil for the
// CPU, or the first GPU. The CUDA driver is looked for at run time: auto
// takes the GPU when there is one, else the CPU with a one-line notice
// saying what was found; cuda without a GPU is an error saying whether the
// driver or the device is missing. The caller closes the Backend.
func resolveBackend(name string, out io.Writer) (*cuda.Backend, error) {
	switch name {
	case "cpu":
		return nil, nil
	case "auto", "cuda":
	default:
		return nil, fmt.Errorf("--backend %q: want auto, cpu or cuda", name)
	}
	be, err := cuda.New(0)
	if err == nil {
		return be, nil
	}
	why := noGPU(err)
	if cuda.Available() == nil {
		why = fmt.Sprintf("a CUDA GPU that could not be opened: %v", err)
	}
	if name == "auto" {
		fmt.Fprintf(out, "backend auto: %s; using the CPU\n", why)
		return nil, nil
	}
	return nil, fmt.Errorf("--backend cuda: %s; use --backend cpu or auto", why)
}

// backendName names the backend for reports.
func backendName(be *cuda.Backend) string {
	if be == nil {
		return "CPU"
	}
	return "CUDA (" + be.String() + ")"
}
