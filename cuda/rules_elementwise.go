package cuda

import (
	"slices"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// The device rules of the elementwise ops: every unary op declared in
// ops.UnaryDecls (its kernels are generated from the declaration) and the
// binary ops with kernels, NumPy broadcasting included.

func init() {
	register(ops.NegOp, func(op tape.Op) (devOp, bool) {
		e := op.(*ops.Elementwise)
		return unaryRule{name: e.Name(), p: e.Param()}, slices.Contains(unaryOps, e.Name())
	})
	register(ops.AddOp, func(op tape.Op) (devOp, bool) {
		return binaryRule{name: op.Name(), op: op}, slices.Contains(binaryOps, op.Name())
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

// binaryRule is an elementwise binary op: its kernels by name. A full
// operand or a one-element one (read with stride 0) goes to the kernels as
// it is; an operand broadcast along some axes is first expanded to the
// output's shape by a strided copy, and its VJP summed back over the
// broadcast axes by a strided sum.
type binaryRule struct {
	notView
	name string
	op   tape.Op
}

// outShape is the output's shape, from the operands' shapes (the rules'
// dst, tangents and cotangents may be flat views).
func (o binaryRule) outShape(in []*Tensor) []int {
	return o.op.Shape([][]int{in[0].Shape(), in[1].Shape()})
}

// broadcast reports whether an operand of n elements for out needs
// expanding: neither full nor of one element.
func broadcast(n int, out []int) bool {
	m := tensor.SizeOf(out)
	return n != m && n != 1
}

// expand returns x read as an operand of shape shape broadcast to out: x
// itself where the kernels read it as it is, else a new tensor of out's
// shape (the caller frees it; see temps).
func (o binaryRule) expand(e *seq, x *Tensor, shape, out []int, temps *[]*Tensor) *Tensor {
	if x == nil || !broadcast(x.Len(), out) {
		return x
	}
	t := e.alloc(out...)
	*temps = append(*temps, t)
	e.stridedCopy(t, x, strided{dims: out, dst: tensor.Strides(out), src: bcastStrides(shape, out)}, 1, false)
	return t
}

func (o binaryRule) forward(e *seq, dst *Tensor, in []*Tensor) {
	var temps []*Tensor
	out := o.outShape(in)
	a := o.expand(e, in[0], in[0].Shape(), out, &temps)
	b := o.expand(e, in[1], in[1].Shape(), out, &temps)
	e.run(func() error { return e.b.BinaryForward(o.name, dst, a, b) })
	e.free(temps...)
}

func (o binaryRule) jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	var temps []*Tensor
	sh := o.outShape(in)
	a := o.expand(e, in[0], in[0].Shape(), sh, &temps)
	b := o.expand(e, in[1], in[1].Shape(), sh, &temps)
	ta := o.expand(e, t[0], in[0].Shape(), sh, &temps)
	tb := o.expand(e, t[1], in[1].Shape(), sh, &temps)
	e.run(func() error { return e.b.BinaryJVP(o.name, dst, a, b, out, ta, tb) })
	e.free(temps...)
}

func (o binaryRule) vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	var temps []*Tensor
	sh := o.outShape(in)
	full := [2]*Tensor{o.expand(e, in[0], in[0].Shape(), sh, &temps), o.expand(e, in[1], in[1].Shape(), sh, &temps)}
	for k := range 2 {
		if dst[k] == nil {
			continue
		}
		if !broadcast(in[k].Len(), sh) {
			xs := full
			xs[k] = in[k] // a one-element operand's VJP sums in the kernels
			e.run(func() error { return e.b.BinaryVJP(o.name, k, dst[k], xs[0], xs[1], out, c) })
			continue
		}
		// The contributions in the output's shape, summed over the axes
		// along which input k is broadcast.
		g := e.zeros(sh...)
		temps = append(temps, g)
		e.run(func() error { return e.b.BinaryVJP(o.name, k, g, full[0], full[1], out, c) })
		s, rdims, rsrc := reduceTo(in[k].Shape(), sh)
		e.stridedSum(dst[k], g, s, rdims, rsrc, 1, true)
	}
	e.free(temps...)
}

func (o binaryRule) factor(e *seq, nd *tape.Node, p int, in []*Tensor, out *Tensor) (devFactor, error) {
	var temps []*Tensor
	sh := o.outShape(in)
	a := o.expand(e, in[0], in[0].Shape(), sh, &temps)
	b := o.expand(e, in[1], in[1].Shape(), sh, &temps)
	d := e.alloc(out.Shape()...)
	e.run(func() error { return e.b.BinaryDeriv(o.name, p, d, a, b, out) })
	e.free(temps...)
	return e.diagFactor(nd, p, d)
}

// bcastStrides returns, for each axis of out, the step in the flat index
// of an operand of shape s broadcast to out (aligned on the last axes): 0
// along axes where s has size 1 or lacks the axis.
func bcastStrides(s, out []int) []int {
	st := make([]int, len(out))
	acc := 1
	for k := 1; k <= len(s); k++ {
		if d := s[len(s)-k]; d != 1 {
			st[len(out)-k] = acc
		}
		acc *= s[len(s)-k]
	}
	return st
}

// reduceTo returns the strided sum that adds a value of shape out into an
// operand of shape s broadcast to out: one output element per element of
// s (its axes, in order), summing over the axes of out along which s is
// broadcast.
func reduceTo(s, out []int) (keep strided, rdims, rsrc []int) {
	st := tensor.Strides(out)
	lead := len(out) - len(s)
	for i, d := range out {
		if i >= lead && s[i-lead] == d {
			keep.dims = append(keep.dims, d)
			keep.src = append(keep.src, st[i])
		} else {
			rdims = append(rdims, d)
			rsrc = append(rsrc, st[i])
		}
	}
	return keep, rdims, rsrc
}
