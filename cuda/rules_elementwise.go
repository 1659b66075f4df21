package cuda

import (
	"slices"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
)

// The device rules of the elementwise ops: every unary op declared in
// ops.UnaryDecls (its kernels are generated from the declaration) and the
// binary ops with kernels.

func init() {
	register(ops.NegOp, func(op tape.Op) (devOp, bool) {
		e := op.(*ops.Elementwise)
		return unaryRule{name: e.Name(), p: e.Param()}, slices.Contains(unaryOps, e.Name())
	})
	register(ops.AddOp, func(op tape.Op) (devOp, bool) {
		return binaryRule{name: op.Name()}, slices.Contains(binaryOps, op.Name())
	})
}

// unaryRule is an elementwise unary op: its kernels by name, with its
// parameter.
type unaryRule struct {
	notView
	name string
	p    float64
}

func (o unaryRule) forward(e *seq, dst *Tensor, in []*Tensor) {
	e.ok(e.b.Unary(o.name, Forward, o.p, dst, in[0], nil, nil))
}

func (o unaryRule) jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	e.ok(e.b.Unary(o.name, JVP, o.p, dst, in[0], out, t[0]))
}

func (o unaryRule) vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	if dst[0] != nil {
		e.ok(e.b.Unary(o.name, VJP, o.p, dst[0], in[0], out, c))
	}
}

func (o unaryRule) factor(e *seq, nd *tape.Node, p int, in []*Tensor, out *Tensor) (devFactor, error) {
	d := e.alloc(out.Shape()...)
	e.run(func() error { return e.b.Unary(o.name, Deriv, o.p, d, in[0], out, nil) })
	return e.diagFactor(nd, p, d)
}

// binaryRule is an elementwise binary op (a broadcast scalar operand
// included): its kernels by name.
type binaryRule struct {
	notView
	name string
}

func (o binaryRule) forward(e *seq, dst *Tensor, in []*Tensor) {
	e.ok(e.b.BinaryForward(o.name, dst, in[0], in[1]))
}

func (o binaryRule) jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	e.ok(e.b.BinaryJVP(o.name, dst, in[0], in[1], out, t[0], t[1]))
}

func (o binaryRule) vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	for k := range 2 {
		if dst[k] != nil {
			e.run(func() error { return e.b.BinaryVJP(o.name, k, dst[k], in[0], in[1], out, c) })
		}
	}
}

func (o binaryRule) factor(e *seq, nd *tape.Node, p int, in []*Tensor, out *Tensor) (devFactor, error) {
	d := e.alloc(out.Shape()...)
	e.run(func() error { return e.b.BinaryDeriv(o.name, p, d, in[0], in[1], out) })
	return e.diagFactor(nd, p, d)
}
