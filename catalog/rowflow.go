package catalog

import (
	"math/rand/v2"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// RowFlow is a RealNVP/Glow-style flow on a batch stored as rows, x of
// shape [B, D], the layout of ML code. Each layer splits the features into
// x1 (the first D/2) and x2, keeps x1, maps x2 ↦ x2·exp(s) + t with
// s = tanh(h Ws + bs), t = h Wt, h = tanh(x1 W1 + b1) (biases broadcast
// over the rows), joins them, scales each feature by Scale and mixes the
// features by x ↦ x·Wm (a 1×1 mixing, Wm = 1.5 I + noise). Its log|det J|
// per sample is Σ s + Σ log|Scale| + log|det Wm| over the layers.
type RowFlow struct {
	D, H   int
	W1, Ws []*tensor.Tensor // per layer: [D/2, H], [H, D−D/2]
	Wt, Wm []*tensor.Tensor // [H, D−D/2], [D, D]
	B1, Bs []*tensor.Tensor // [H], [D−D/2]
	Scale  []*tensor.Tensor // [D]
}

// NewRowFlow draws a flow of the given layers, features d and hidden width
// h from a seeded generator.
func NewRowFlow(layers, d, h int, seed uint64) *RowFlow {
	rng := rand.New(rand.NewPCG(seed, 11))
	draw := func(lo, hi float64, shape ...int) *tensor.Tensor {
		t := tensor.Zeros(shape...)
		for i := range t.Data() {
			t.Data()[i] = lo + (hi-lo)*rng.Float64()
		}
		return t
	}
	fl := &RowFlow{D: d, H: h}
	k := d / 2
	for range layers {
		fl.W1 = append(fl.W1, draw(-0.5, 0.5, k, h))
		fl.Ws = append(fl.Ws, draw(-0.3, 0.3, h, d-k))
		fl.Wt = append(fl.Wt, draw(-0.5, 0.5, h, d-k))
		wm := draw(-0.3, 0.3, d, d)
		for i := range d {
			wm.Data()[i*d+i] += 1.5
		}
		fl.Wm = append(fl.Wm, wm)
		fl.B1 = append(fl.B1, draw(-0.5, 0.5, h))
		fl.Bs = append(fl.Bs, draw(-0.2, 0.2, d-k))
		fl.Scale = append(fl.Scale, draw(0.6, 1.4, d))
	}
	return fl
}

// ST returns layer l's s and t from x1 of shape [B, D/2].
func (fl *RowFlow) ST(l int, x1 *tape.Var) (s, t *tape.Var) {
	c := func(t *tensor.Tensor) *tape.Var { return ops.Const(x1, t) }
	hid := ops.Tanh(ops.Add(ops.MatMul(x1, c(fl.W1[l])), c(fl.B1[l])))
	s = ops.Tanh(ops.Add(ops.MatMul(hid, c(fl.Ws[l])), c(fl.Bs[l])))
	t = ops.MatMul(hid, c(fl.Wt[l]))
	return s, t
}

// F is the flow on x of shape [B, D].
func (fl *RowFlow) F(x *tape.Var) *tape.Var {
	k := fl.D / 2
	for l := range fl.W1 {
		parts := ops.SplitAxis(x, 1, k, fl.D-k)
		s, t := fl.ST(l, parts[0])
		y2 := ops.Add(ops.Mul(parts[1], ops.Exp(s)), t)
		x = ops.ConcatAxis(1, parts[0], y2)
		x = ops.Mul(x, ops.Const(x, fl.Scale[l]))
		x = ops.MatMul(x, ops.Const(x, fl.Wm[l]))
	}
	return x
}

// Columns is the same flow on the feature-major layout, x of shape [D, B]
// (F's x transposed): W·X products, Split and Concat along axis 0, biases
// and scales of shape [·, 1].
func (fl *RowFlow) Columns(x *tape.Var) *tape.Var {
	k := fl.D / 2
	col := func(t *tensor.Tensor) *tape.Var { return ops.Const(x, tensor.New([]int{t.Len(), 1}, t.Data())) }
	tr := func(t *tensor.Tensor) *tape.Var {
		s := t.Shape()
		out := tensor.Zeros(s[1], s[0])
		cpu.Transpose(out.Data(), t.Data(), s[0], s[1])
		return ops.Const(x, out)
	}
	for l := range fl.W1 {
		parts := ops.Split(x, k, fl.D-k)
		hid := ops.Tanh(ops.Add(ops.MatMul(tr(fl.W1[l]), parts[0]), col(fl.B1[l])))
		s := ops.Tanh(ops.Add(ops.MatMul(tr(fl.Ws[l]), hid), col(fl.Bs[l])))
		t := ops.MatMul(tr(fl.Wt[l]), hid)
		x = ops.Concat(parts[0], ops.Add(ops.Mul(parts[1], ops.Exp(s)), t))
		x = ops.Mul(x, col(fl.Scale[l]))
		x = ops.MatMul(tr(fl.Wm[l]), x)
	}
	return x
}
