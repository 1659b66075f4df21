// Package backend picks where invad runs: the CPU (package inverse) or a
// CUDA GPU (package cuda), by the names of the command line's --backend:
// "cpu", "cuda", or "auto", which takes the GPU when a driver and a device
// exist and otherwise the CPU, with a one-line notice saying what was
// found. Code written against it runs on either.
//
//	be, err := backend.Open("auto", os.Stderr)
//	if err != nil { ... }  // only for "cuda" without a GPU, or a bad name
//	defer be.Close()
//	lin, err := be.Linearize(f, x)
//	defer lin.Close()
//	dx, err := lin.IJVP(dy)
package backend

import (
	"errors"
	"fmt"
	"io"

	"github.com/invad/invad/cuda"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Linearization is what both backends' Linearizations offer: the four
// products (with their ...To forms), log|det J|, f(x), and Close (a no-op
// on the CPU, where the garbage collector frees the tape; on the GPU it
// frees device memory).
type Linearization interface {
	newton.Linear
	JVP(*tensor.Tensor) (*tensor.Tensor, error)
	VJP(*tensor.Tensor) (*tensor.Tensor, error)
	IJVP(*tensor.Tensor) (*tensor.Tensor, error)
	VIJP(*tensor.Tensor) (*tensor.Tensor, error)
	JVPTo(dst, dx *tensor.Tensor) error
	VJPTo(dst, cy *tensor.Tensor) error
	VIJPTo(dst, cx *tensor.Tensor) error
	Input() *tensor.Tensor
	Len() int
	Program() *tape.Program
	TapeBytes() int64
	Close()
}

// Backend is the CPU or one GPU.
type Backend struct {
	gpu *cuda.Backend // nil: the CPU
}

// Open returns the backend named: "cpu"; "cuda", the first GPU, or an
// error saying whether the driver or the device is missing; "auto", the GPU
// if there is one, else the CPU after writing one line to notice (nil: no
// notice) saying why.
func Open(name string, notice io.Writer) (*Backend, error) {
	switch name {
	case "cpu":
		return &Backend{}, nil
	case "auto", "cuda":
	default:
		return nil, fmt.Errorf("backend %q: want auto, cpu or cuda", name)
	}
	gpu, err := cuda.New(0)
	if err == nil {
		return &Backend{gpu: gpu}, nil
	}
	why := NoGPU(err)
	if cuda.Available() == nil {
		why = fmt.Sprintf("a CUDA GPU that could not be opened: %v", err)
	}
	if name == "cuda" {
		return nil, fmt.Errorf("backend cuda: %s", why)
	}
	if notice != nil {
		fmt.Fprintf(notice, "backend auto: %s; using the CPU\n", why)
	}
	return &Backend{}, nil
}

// NoGPU says in a few words why there is no GPU, from cuda.New's or
// cuda.Available's error.
func NoGPU(err error) string {
	switch {
	case errors.Is(err, cuda.ErrNoDriver):
		return "no CUDA driver (libcuda.so.1 not found)"
	case errors.Is(err, cuda.ErrNoDevice):
		return "a CUDA driver but no CUDA device"
	default:
		return fmt.Sprintf("the CUDA driver failed: %v", err)
	}
}

// GPU returns the CUDA backend, or nil on the CPU.
func (b *Backend) GPU() *cuda.Backend { return b.gpu }

// String names the backend: "CPU" or "CUDA (the GPU)".
func (b *Backend) String() string {
	if b.gpu == nil {
		return "CPU"
	}
	return "CUDA (" + b.gpu.String() + ")"
}

// Close releases the GPU; on the CPU it does nothing.
func (b *Backend) Close() error {
	if b.gpu == nil {
		return nil
	}
	return b.gpu.Close()
}

// cpuLin is a CPU Linearization with Close.
type cpuLin struct{ *inverse.Linearization }

func (cpuLin) Close() {}

// Linearize records f at x: inverse.Linearize on the CPU, cuda.Linearize on
// the GPU (whose f must not read values while it records). Errors are
// theirs.
func (b *Backend) Linearize(f func(*tape.Var) *tape.Var, x *tensor.Tensor) (Linearization, error) {
	if b.gpu == nil {
		l, err := inverse.Linearize(f, x)
		if err != nil {
			return nil, err
		}
		return cpuLin{l}, nil
	}
	l, err := cuda.Linearize(b.gpu, f, x)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Eval returns f(x), computed on the backend.
func (b *Backend) Eval(f func(*tape.Var) *tape.Var, x *tensor.Tensor) (*tensor.Tensor, error) {
	if b.gpu == nil {
		return f(tape.NewStreamTape(nil).Input(x)).Value(), nil
	}
	return cuda.Eval(b.gpu, f, x)
}

// Newton sets opt's Linearizer and Eval to the backend's (on the CPU it
// leaves them nil: newton.Solve's defaults) and returns it.
func (b *Backend) Newton(opt newton.Options) newton.Options {
	if b.gpu != nil {
		opt.Linearizer = func(F func(*tape.Var) *tape.Var, x *tensor.Tensor) (newton.Linear, error) { return b.Linearize(F, x) }
		opt.Eval = b.Eval
	}
	return opt
}
