package cuda

import (
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// The device rules of the structural ops: Sum, Cumsum, Concat, and the
// views Reshape and Slice.

func init() {
	register(ops.SumOp, func(tape.Op) (devOp, bool) { return sumRule{}, true })
	register(ops.CumsumOp, func(tape.Op) (devOp, bool) { return cumsumRule{}, true })
	register(ops.ConcatOp, func(tape.Op) (devOp, bool) { return concatRule{}, true })
	register(&ops.ReshapeOp{}, func(tape.Op) (devOp, bool) { return viewRule{}, true })
	register(&ops.SliceOp{}, func(op tape.Op) (devOp, bool) { return viewRule{slice: op.(*ops.SliceOp)}, true })
}

// identity is the factor of the structural ops whose block can be square
// only as an identity: one input of the output's size (Sum: n = 1).
type identity struct{}

func (identity) factor(*seq, *tape.Node, int, []*Tensor, *Tensor) (devFactor, error) {
	return identityDev{}, nil
}

type sumRule struct {
	notView
	identity
}

func (sumRule) forward(e *seq, dst *Tensor, in []*Tensor) { e.ok(e.b.Sum(dst, in[0])) }

func (sumRule) jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	e.ok(e.b.Sum(dst, t[0]))
}

func (sumRule) vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	if dst[0] != nil {
		e.ok(e.b.AddScalar(dst[0], c))
	}
}

type cumsumRule struct{ notView }

func (cumsumRule) forward(e *seq, dst *Tensor, in []*Tensor) {
	e.ok(e.b.Cumsum(dst, in[0], cols(in[0].Shape()), false))
}

func (cumsumRule) jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	e.ok(e.b.Cumsum(dst, t[0], cols(in[0].Shape()), false))
}

func (cumsumRule) vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	if dst[0] != nil {
		tmp := e.alloc(c.Shape()...)
		e.run(func() error { return e.b.Cumsum(tmp, c, cols(c.Shape()), true) })
		e.axpy(dst[0], 1, tmp)
		e.free(tmp)
	}
}

// factor: Cumsum's unit lower triangular block, solved by differences.
func (cumsumRule) factor(e *seq, nd *tape.Node, p int, in []*Tensor, out *Tensor) (devFactor, error) {
	return cumsumDev{cols: cols(out.Shape())}, nil
}

type concatRule struct {
	notView
	identity
}

func (concatRule) forward(e *seq, dst *Tensor, in []*Tensor) {
	off := 0
	for _, x := range in {
		e.copy(dst.View(off, x.Len()), x)
		off += x.Len()
	}
}

func (concatRule) jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	off := 0
	for i, x := range in {
		seg := dst.View(off, x.Len())
		if t[i] != nil {
			e.copy(seg, t[i])
		} else {
			e.zero(seg)
		}
		off += x.Len()
	}
}

func (concatRule) vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	off := 0
	for i, x := range in {
		if dst[i] != nil {
			e.axpy(dst[i], 1, c.View(off, x.Len()))
		}
		off += x.Len()
	}
}

// viewRule is Reshape (slice nil) or an axis-0 Slice: the value is a view
// of the input's memory.
type viewRule struct {
	identity
	slice *ops.SliceOp
}

func (o viewRule) isView() bool { return true }

// view returns the value of the op on x, sharing x's memory.
func (o viewRule) view(x *Tensor, shape []int) *Tensor {
	off := 0
	if o.slice != nil {
		off = o.slice.Lo * tensor.SizeOf(x.Shape()[1:])
	}
	return x.View(off, shape...)
}

func (o viewRule) forward(e *seq, dst *Tensor, in []*Tensor) { e.copy(dst, o.view(in[0], dst.Shape())) }

func (o viewRule) jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	e.copy(dst, o.view(t[0], dst.Shape()))
}

func (o viewRule) vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	if dst[0] != nil {
		e.axpy(o.view(dst[0], c.Shape()), 1, c)
	}
}
