package bench

import (
	"math/rand/v2"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// The batched-network families: row-major programs on X of shape [B, d]
// (rows are samples, the layout of ML code), which inverse.Linearize
// analyzes batch-minor into per-sample lumps of d×d blocks.

// Shapes of the batched families: the residual block's sample width and
// hidden width, the flow's sample width, hidden width and layer count.
const (
	ResidualD      = 16
	ResidualHidden = 32
	FlowD          = 8
	FlowHidden     = 32
	FlowLayers     = 4
)

// residualScale is the 0.8 on the residual branch: with weights uniform in
// [-0.5, 0.5] it keeps J = I + 0.8·(…) far from singular.
const residualScale = 0.8

// uniform returns a tensor of the shape with entries uniform in [lo, hi).
func uniform(rng *rand.Rand, lo, hi float64, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = lo + (hi-lo)*rng.Float64()
	}
	return t
}

// batchedSize rounds n to the nearest positive multiple of d, the sample
// width: n = B·d.
func batchedSize(d int) func(n int) int {
	return func(n int) int { return d * max(1, (n+d/2)/d) }
}

// ResidualWeights are the constants of the residual block
// X + 0.8·tanh(X W1 + b1) W2.
type ResidualWeights struct {
	W1, B1, W2 *tensor.Tensor // [d, h], [h], [h, d]
}

// NewResidualWeights draws the residual block's constants, the same on
// every call: W1, W2 uniform in [-0.5, 0.5], b1 uniform in [-1, 1].
func NewResidualWeights() ResidualWeights {
	rng := rand.New(rand.NewPCG(16, 1))
	return ResidualWeights{
		W1: uniform(rng, -0.5, 0.5, ResidualD, ResidualHidden),
		B1: uniform(rng, -1, 1, ResidualHidden),
		W2: uniform(rng, -0.5, 0.5, ResidualHidden, ResidualD),
	}
}

// Residual returns the row-major residual block f(X) = X + 0.8·tanh(X W1 +
// b1) W2 on X of shape [B, ResidualD], b1 broadcast over the rows.
func Residual(w ResidualWeights) func(x *tape.Var) *tape.Var {
	return func(x *tape.Var) *tape.Var {
		z := ops.Add(ops.MatMul(x, ops.Const(x, w.W1)), ops.Const(x, w.B1))
		g := ops.MatMul(ops.Tanh(z), ops.Const(x, w.W2))
		return ops.Add(x, ops.Mul(g, ops.Const(x, tensor.Scalar(residualScale))))
	}
}

// FlowWeights are the constants of the flow, per layer l: the coupling's
// W1[l] [d/2, h], b1[l] [h], Ws[l] [h, d/2], bs[l] [d/2], Wt[l] [h, d/2],
// the scale[l] [d] and the mixing Wm[l] [d, d].
type FlowWeights struct {
	W1, B1, Ws, Bs, Wt, Scale, Wm []*tensor.Tensor
}

// NewFlowWeights draws the flow's constants as the row-major flow of
// package batch's tests does, the same on every call: W1, Wt uniform in
// [-0.5, 0.5], Ws in [-0.3, 0.3], b1 in [-0.5, 0.5], bs in [-0.2, 0.2], the
// scale in [0.6, 1.4], and Wm = 1.5 I + noise uniform in [-0.3, 0.3] (well
// conditioned).
func NewFlowWeights() FlowWeights {
	const d, h = FlowD, FlowHidden
	const k = d / 2
	rng := rand.New(rand.NewPCG(8, 11))
	var w FlowWeights
	for range FlowLayers {
		w.W1 = append(w.W1, uniform(rng, -0.5, 0.5, k, h))
		w.Ws = append(w.Ws, uniform(rng, -0.3, 0.3, h, d-k))
		w.Wt = append(w.Wt, uniform(rng, -0.5, 0.5, h, d-k))
		wm := uniform(rng, -0.3, 0.3, d, d)
		for i := range d {
			wm.Data()[i*d+i] += 1.5
		}
		w.Wm = append(w.Wm, wm)
		w.B1 = append(w.B1, uniform(rng, -0.5, 0.5, h))
		w.Bs = append(w.Bs, uniform(rng, -0.2, 0.2, d-k))
		w.Scale = append(w.Scale, uniform(rng, 0.6, 1.4, d))
	}
	return w
}

// Flow returns the row-major RealNVP/Glow-style flow on X of shape
// [B, FlowD]: per layer, (a, b) = split(X) along the features, z =
// tanh(a W1 + b1), s = tanh(z Ws + bs), t = z Wt, X = concat(a, b·exp(s) +
// t), then X·diag(scale) and the 1×1 mixing X·Wm.
func Flow(w FlowWeights) func(x *tape.Var) *tape.Var {
	const k = FlowD / 2
	return func(x *tape.Var) *tape.Var {
		for l := range w.W1 {
			c := func(t *tensor.Tensor) *tape.Var { return ops.Const(x, t) }
			parts := ops.SplitAxis(x, 1, k, FlowD-k)
			hid := ops.Tanh(ops.Add(ops.MatMul(parts[0], c(w.W1[l])), c(w.B1[l])))
			s := ops.Tanh(ops.Add(ops.MatMul(hid, c(w.Ws[l])), c(w.Bs[l])))
			t := ops.MatMul(hid, c(w.Wt[l]))
			y2 := ops.Add(ops.Mul(parts[1], ops.Exp(s)), t)
			x = ops.ConcatAxis(1, parts[0], y2)
			x = ops.Mul(x, c(w.Scale[l]))
			x = ops.MatMul(x, c(w.Wm[l]))
		}
		return x
	}
}

// stack concatenates the layers' tensors into one array for the PyTorch
// script, layer-major.
func stack(ts []*tensor.Tensor) []float64 {
	var out []float64
	for _, t := range ts {
		out = append(out, t.Data()...)
	}
	return out
}

// batchedPoint is X of shape [B, d], entries uniform in [-1, 1].
func batchedPoint(n, d int, seed uint64) *tensor.Tensor {
	return uniform(rand.New(rand.NewPCG(seed, uint64(n))), -1, 1, n/d, d)
}

// ---- the residual block of a batched network ----

func residualFamily() Family {
	const d = ResidualD
	return Family{
		Name: "residual",
		About: "A row-major residual block X + 0.8·tanh(X W1 + b1) W2 on X of shape [B, 16] (rows are samples), " +
			"hidden width 32, b1 of shape [32] broadcast over the rows; n = 16 B",
		Note: "Linearize moves the samples innermost (package batch): J is block diagonal, B blocks 16×16, " +
			"factorized as one batch lump. LogAbsDetAlong reads one log|det| per sample off those factors. " +
			"Restarted GMRES(30) on JVPs, without a preconditioner, stagnates on this J (seen from n = 160 on).",
		Sample: d,
		Size:   batchedSize(d),
		// The tape holds about 10 words an element (x, X W1 + b1 and its
		// tanh at hidden 32, the branch), the batch-minor program as many
		// again, the factors d = 16 words an element, sweep buffers more.
		Words: func(n int) float64 { return 60 * float64(n) },
		New: func(n int) *Problem {
			w := NewResidualWeights()
			return &Problem{F: Residual(w), X: batchedPoint(n, d, 16), Kind: "residual",
				Params: map[string]float64{"rows": float64(n / d), "d": d, "hidden": ResidualHidden, "scale": residualScale},
				Arrays: map[string][]float64{"W1": w.W1.Data(), "b1": w.B1.Data(), "W2": w.W2.Data()}}
		},
	}
}

// ---- a RealNVP/Glow-style flow, row-major ----

func flowFamily() Family {
	const d = FlowD
	return Family{
		Name: "flow",
		About: "A row-major RealNVP/Glow-style flow on X of shape [B, 8], 4 layers, each an affine coupling " +
			"(split the features 4 + 4, z = tanh(a W1 + b1) at hidden 32, s = tanh(z Ws + bs), t = z Wt, b·exp(s) + t), " +
			"a per-feature scale and a 1×1 mixing X·Wm; n = 8 B",
		Note: "Linearize moves the samples innermost (package batch): every lump is no wider than a sample. " +
			"LogAbsDetAlong gives each sample's log|det J|, the flow's log-density correction. " +
			"Restarted GMRES(30) on JVPs, without a preconditioner, stagnates on this J (seen from n = 160 on).",
		Sample: d,
		Size:   batchedSize(d),
		// Per layer about 40 words an element on the tape (hidden 32 over
		// 8 features, three times), four layers, the batch-minor copy and
		// the factors as much again.
		Words: func(n int) float64 { return 400 * float64(n) },
		New: func(n int) *Problem {
			w := NewFlowWeights()
			return &Problem{F: Flow(w), X: batchedPoint(n, d, 17), Kind: "flow",
				Params: map[string]float64{"rows": float64(n / d), "d": d, "hidden": FlowHidden, "layers": FlowLayers},
				Arrays: map[string][]float64{
					"W1": stack(w.W1), "b1": stack(w.B1), "Ws": stack(w.Ws), "bs": stack(w.Bs),
					"Wt": stack(w.Wt), "scale": stack(w.Scale), "Wm": stack(w.Wm),
				}}
		},
	}
}
