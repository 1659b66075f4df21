package tape

import "github.com/invad/invad/tensor"

// Op32 is an Op with float32 rules: the contracts of JVP and VJP on float32
// tensors (the values in and out are the recorded ones rounded to float32).
type Op32 interface {
	JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32)
	VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32)
}

// Factor32 is a Factor that solves float32 vectors itself (a diagonal's
// reciprocals, a running sum's differences): the float32 engine of
// package inverse calls it instead of widening each vector to float64.
// dst and v may be the same slice.
type Factor32 interface {
	Solve32(dst, v []float32)
	SolveT32(dst, v []float32)
}
