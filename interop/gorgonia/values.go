package gorgonia

import (
	"errors"
	"fmt"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/invad/invad/interop/gtensor"
	"github.com/invad/invad/tensor"
)

// ValueOf returns the current value of a Gorgonia node as a float64 invad
// tensor with the node's shape. A float64 tensor value is shared, not copied,
// when its layout allows (see package gtensor); a float32 value, a scalar
// (*gorgonia.F64, *gorgonia.F32) or a transposed or strided tensor is copied
// and converted.
//
// It panics if n is nil. It returns a *NodeError wrapping ErrNoValue if n has
// no value, ErrDtype if the value is not float64 or float32 (or its memory
// cannot be read from Go), and ErrShape if its number of elements differs
// from the node's shape.
func ValueOf(n *G.Node) (*tensor.Tensor, error) {
	if n == nil {
		panic("gorgonia: ValueOf(nil)")
	}
	fail := func(reason error, format string, args ...any) (*tensor.Tensor, error) {
		return nil, nodeError(n, reason, fmt.Sprintf(format, args...))
	}
	shape := shapeOf(n)
	var t *tensor.Tensor
	switch v := n.Value().(type) {
	case nil:
		return fail(ErrNoValue, "bind one with gorgonia.WithValue, gorgonia.WithInit or gorgonia.Let, or run a machine first")
	case *G.F64:
		t = tensor.Scalar(float64(*v))
	case *G.F32:
		t = tensor.Scalar(float64(*v))
	case *gt.Dense:
		var err error
		switch v.Dtype() {
		case gt.Float64:
			t, err = gtensor.FromDense(v)
			if errors.Is(err, gtensor.ErrLayout) {
				t, err = gtensor.CopyFromDense(v)
			}
		case gt.Float32:
			var t32 *tensor.Tensor32
			t32, err = gtensor.FromDense32(v)
			if errors.Is(err, gtensor.ErrLayout) {
				t32, err = gtensor.CopyFromDense32(v)
			}
			if err == nil {
				t = tensor.To64(t32)
			}
		default:
			return fail(ErrDtype, "value of dtype %v; only float64 and float32 are imported", v.Dtype())
		}
		if err != nil {
			return fail(ErrDtype, "%v", err)
		}
	default:
		return fail(ErrDtype, "value of type %T; only float64 and float32 scalars and *tensor.Dense are imported", v)
	}
	if t.Len() != tensor.SizeOf(shape) {
		return fail(ErrShape, "value has shape %v, the node %v", t.Shape(), shape)
	}
	if !tensor.SameShape(t.Shape(), shape) {
		t = t.Reshape(shape...)
	}
	return t, nil
}

// shapeOf returns the node's shape as an invad shape: a scalar is rank 0.
func shapeOf(n *G.Node) []int {
	s := n.Shape()
	out := make([]int, len(s))
	copy(out, s)
	return out
}

func nodeError(n *G.Node, reason error, detail string) *NodeError {
	e := &NodeError{ID: n.ID(), Name: n.Name(), Reason: reason, Detail: detail}
	if op := n.Op(); op != nil {
		e.Op, e.Form = typeOf(op), formOf(op)
	}
	return e
}

// typeOf and formOf are the two strings an op is identified by.
func typeOf(op G.Op) string { return fmt.Sprintf("%T", op) }
func formOf(op G.Op) string { return fmt.Sprint(op) }
