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
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/invad/invad/cuda"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/sweep"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Linearization is what every backend's Linearization offers: the four
// products (with their ...To forms), log|det J|, the lumps, the dense J and
// J⁻¹, f(x), Prepare (analysis and factorization ahead of time, cancellable
// by a context), and Close (a no-op on the CPU, where the garbage collector
// frees the tape; on the GPU it frees device memory).
type Linearization interface {
	newton.Linear
	JVP(*tensor.Tensor) (*tensor.Tensor, error)
	VJP(*tensor.Tensor) (*tensor.Tensor, error)
	IJVP(*tensor.Tensor) (*tensor.Tensor, error)
	VIJP(*tensor.Tensor) (*tensor.Tensor, error)
	JVPTo(dst, dx *tensor.Tensor) error
	VJPTo(dst, cy *tensor.Tensor) error
	VIJPTo(dst, cx *tensor.Tensor) error
	Lumps() ([]sweep.LumpInfo, error)
	Cond() (float64, error)
	Prepare(ctx context.Context) error
	Jacobian() (*tensor.Tensor, error)
	InverseJacobian() (*tensor.Tensor, error)
	Input() *tensor.Tensor
	Len() int
	Program() *tape.Program
	TapeBytes() int64
	Close()
}

// Backend is where invad runs: the CPU (CPU) or one GPU (CUDA).
type Backend interface {
	// Linearize records f at x on the backend. Errors are those of
	// inverse.Linearize (the CPU) or cuda.Linearize (the GPU, whose f must
	// not read values while it records).
	Linearize(f func(*tape.Var) *tape.Var, x *tensor.Tensor) (Linearization, error)
	// Eval returns f(x), computed on the backend.
	Eval(f func(*tape.Var) *tape.Var, x *tensor.Tensor) (*tensor.Tensor, error)
	// Newton returns opts with what makes newton.Solve run on the backend
	// appended, after opts so that it wins: newton.Linearizer and
	// newton.Eval on the GPU, nothing on the CPU.
	//
	//	res, err := newton.Solve(F, x0, be.Newton(newton.Tol(1e-12))...)
	Newton(opts ...newton.Option) []newton.Option
	// GPU returns the CUDA device, or nil on the CPU.
	GPU() *cuda.Backend
	// String names the backend: "CPU" or "CUDA (the GPU)".
	String() string
	// Close releases the backend's device; on the CPU it does nothing.
	Close() error
}

// Open returns the backend named: "cpu"; "cuda", the first GPU, or an
// error saying whether the driver or the device is missing; "auto", the GPU
// if there is one, else the CPU after writing one line to notice (nil: no
// notice) saying why.
func Open(name string, notice io.Writer) (Backend, error) {
	switch name {
	case "cpu":
		return CPU{}, nil
	case "auto", "cuda":
	default:
		return nil, fmt.Errorf("backend %q: want auto, cpu or cuda", name)
	}
	gpu, err := cuda.New(0)
	if err == nil {
		return CUDA{Dev: gpu}, nil
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
	return CPU{}, nil
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

// CPU is the CPU backend: package inverse.
type CPU struct{}

// cpuLin is a CPU Linearization with Close.
type cpuLin struct{ *inverse.Linearization }

func (cpuLin) Close() {}

// Linearize is inverse.Linearize.
func (CPU) Linearize(f func(*tape.Var) *tape.Var, x *tensor.Tensor) (Linearization, error) {
	l, err := inverse.Linearize(f, x)
	if err != nil {
		return nil, err
	}
	return cpuLin{l}, nil
}

// Eval runs f on a tape that records nothing.
func (CPU) Eval(f func(*tape.Var) *tape.Var, x *tensor.Tensor) (*tensor.Tensor, error) {
	return f(tape.NewStreamTape(nil).Input(x)).Value(), nil
}

// Newton returns opts as they are: newton.Solve's defaults run on the CPU.
func (CPU) Newton(opts ...newton.Option) []newton.Option { return opts }

func (CPU) GPU() *cuda.Backend { return nil }
func (CPU) String() string     { return "CPU" }
func (CPU) Close() error       { return nil }

// CUDA is one GPU: package cuda.
type CUDA struct{ Dev *cuda.Backend }

// Linearize is cuda.Linearize.
func (b CUDA) Linearize(f func(*tape.Var) *tape.Var, x *tensor.Tensor) (Linearization, error) {
	l, err := cuda.Linearize(b.Dev, f, x)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Eval is cuda.Eval.
func (b CUDA) Eval(f func(*tape.Var) *tape.Var, x *tensor.Tensor) (*tensor.Tensor, error) {
	return cuda.Eval(b.Dev, f, x)
}

// Newton makes every linearization and evaluation of newton.Solve run on
// the GPU: it returns opts (not modified) with newton.Linearizer and
// newton.Eval appended.
func (b CUDA) Newton(opts ...newton.Option) []newton.Option {
	return append(opts[:len(opts):len(opts)],
		newton.Linearizer(func(F func(*tape.Var) *tape.Var, x *tensor.Tensor) (newton.Linear, error) { return b.Linearize(F, x) }),
		newton.Eval(b.Eval))
}

func (b CUDA) GPU() *cuda.Backend { return b.Dev }
func (b CUDA) String() string     { return "CUDA (" + b.Dev.String() + ")" }
func (b CUDA) Close() error       { return b.Dev.Close() }
