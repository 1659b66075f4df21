package cuda

import (
	"fmt"

	"github.com/invad/invad/tensor"
)

// Vector operations on device tensors, built on the elementwise kernels (the
// scale op's forward is a copy or a scaling, its VJP an axpy) and the
// driver's memset: no kernels of their own. dst may be the same tensor as an
// operand (each element is read before it is written), but must not
// partially overlap one.

// Zero sets every element of t to +0.
func (b *Backend) Zero(t *Tensor) error {
	b.same(t)
	if t.n == 0 {
		return nil
	}
	return b.do(func() error { return b.dev.memsetD32(t.ptr, 0, 2*t.n) })
}

// Copy writes src into dst; both have the same length.
func (b *Backend) Copy(dst, src *Tensor) error {
	return b.Unary("scale", Forward, 1, dst, src, nil, nil)
}

// ScaleTo writes a·x into dst.
func (b *Backend) ScaleTo(dst *Tensor, a float64, x *Tensor) error {
	return b.Unary("scale", Forward, a, dst, x, nil, nil)
}

// Axpy adds a·x into dst.
func (b *Backend) Axpy(dst *Tensor, a float64, x *Tensor) error {
	return b.Unary("scale", VJP, a, dst, x, x, x)
}

// SubFrom writes v − r into r.
func (b *Backend) SubFrom(r, v *Tensor) error { return b.BinaryForward("sub", r, v, r) }

// seq runs a sequence of Backend calls and keeps the first error: once
// one call failed, the later ones are skipped. It makes device code read
// like the host code it mirrors.
type seq struct {
	b   *Backend
	err error
}

func (e *seq) ok(err error) {
	if e.err == nil && err != nil {
		e.err = err
	}
}

// alloc returns a device tensor of the shape, uninitialized. After an error
// (this allocation's or an earlier one) it returns a placeholder of the
// shape that owns no memory: views of it can be taken, and no later call of
// the sequence touches it, since they are all skipped.
func (e *seq) alloc(shape ...int) *Tensor {
	if e.err == nil {
		t, err := e.b.Alloc(shape...)
		if e.ok(err); err == nil {
			return t
		}
	}
	return &Tensor{be: e.b, class: -1, shape: append([]int(nil), shape...), n: tensor.SizeOf(shape)}
}

// zeros returns a device tensor of the shape, zeroed.
func (e *seq) zeros(shape ...int) *Tensor {
	t := e.alloc(shape...)
	e.zero(t)
	return t
}

func (e *seq) zero(t *Tensor) {
	if e.err == nil {
		e.ok(e.b.Zero(t))
	}
}

func (e *seq) copy(dst, src *Tensor) {
	if e.err == nil {
		e.ok(e.b.Copy(dst, src))
	}
}

func (e *seq) scale(dst *Tensor, a float64, x *Tensor) {
	if e.err == nil {
		e.ok(e.b.ScaleTo(dst, a, x))
	}
}

func (e *seq) axpy(dst *Tensor, a float64, x *Tensor) {
	if e.err == nil {
		e.ok(e.b.Axpy(dst, a, x))
	}
}

func (e *seq) subFrom(r, v *Tensor) {
	if e.err == nil {
		e.ok(e.b.SubFrom(r, v))
	}
}

func (e *seq) upload(data []float64, shape ...int) *Tensor {
	if e.err != nil {
		return nil
	}
	t, err := e.b.UploadData(shape, data)
	e.ok(err)
	return t
}

func (e *seq) download(t *Tensor) []float64 {
	out := make([]float64, t.Len())
	if e.err == nil {
		e.ok(t.Download(out))
	}
	return out
}

// run calls f unless an earlier call failed.
func (e *seq) run(f func() error) {
	if e.err == nil {
		e.ok(f())
	}
}

func (e *seq) free(ts ...*Tensor) { freeAll(ts...) }

// freeAll frees the tensors that own memory and are not freed yet; nil
// entries, views and placeholders are skipped.
func freeAll(ts ...*Tensor) {
	for _, t := range ts {
		if t != nil && t.be != nil && t.class >= 0 {
			t.Free()
		}
	}
}

func mustLen(what string, t *Tensor, n int) {
	if t.n != n {
		panic(fmt.Sprintf("cuda: %s: %d elements, want %d", what, t.n, n))
	}
}
