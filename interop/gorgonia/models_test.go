package gorgonia_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// The parameters of the models, drawn once from a seeded generator. Scales:
// weights of size ~0.5 keep tanh away from saturation and J well
// conditioned (the harness checks cond(J) < 1e3).
var (
	rng = rand.New(rand.NewPCG(1, 1))

	// MLP 4 → 6 → 4 on a batch of 3.
	mlpW1, mlpB1 = uniform(rng, 4*6, -0.8, 0.8), uniform(rng, 6, -0.3, 0.3)
	mlpW2, mlpB2 = uniform(rng, 6*4, -0.8, 0.8), uniform(rng, 4, -0.3, 0.3)
	mlpX         = uniform(rng, 3*4, -1, 1)

	// Coupling layer on a batch of 4 rows of 6 features: halves of 3, a
	// hidden layer of 5.
	cpW, cpB   = uniform(rng, 3*5, -0.7, 0.7), uniform(rng, 5, -0.2, 0.2)
	cpWs, cpBs = uniform(rng, 5*3, -0.7, 0.7), uniform(rng, 3, -0.2, 0.2)
	cpWt, cpBt = uniform(rng, 5*3, -0.7, 0.7), uniform(rng, 3, -0.2, 0.2)
	cpX        = uniform(rng, 4*6, -1, 1)

	// Residual block on a vector of 6, hidden 8; weights of 0.25 keep the
	// residual a contraction, so I + ∂r/∂x is invertible.
	resW1, resB1 = uniform(rng, 8*6, -0.25, 0.25), uniform(rng, 8, -0.3, 0.3)
	resW2        = uniform(rng, 6*8, -0.25, 0.25)
	resX         = uniform(rng, 6, -1, 1)

	// Glow 1×1 mixing of 3 channels at 5 positions: W = I + small.
	glowW, glowB = addIdentity(uniform(rng, 3*3, -0.4, 0.4), 3), uniform(rng, 3, -0.2, 0.2)
	glowX        = uniform(rng, 5*3, -1, 1)

	// Elementwise: a positive domain, for ln, sqrt, inv and the rest.
	ewX = uniform(rng, 2*4, 0.5, 1.5)

	// Structural ops on a 2×3 value and a vector of 3.
	stX        = uniform(rng, 2*3, -1, 1)
	vecX, vecC = uniform(rng, 3, -1, 1), uniform(rng, 3, -1, 1)
	vecW       = uniform(rng, 3*3, -0.5, 0.5)

	// Batched products: 2 matrices of 2×2.
	bmX, bmW = uniform(rng, 2*2*2, -1, 1), uniform(rng, 2*2*2, -0.5, 0.5)
)

func addIdentity(w []float64, n int) []float64 {
	for i := 0; i < n; i++ {
		w[i*n+i]++
	}
	return w
}

// The model builders, shared by the float64 and float32 variants.

// mlp is softplus(tanh(x W1 + b1) W2 + b2), biases broadcast along the batch.
func mlp(b *builder, x *G.Node) *G.Node {
	w1, b1 := b.param("W1", mlpW1, 4, 6), b.param("b1", mlpB1, 6)
	w2, b2 := b.param("W2", mlpW2, 6, 4), b.param("b2", mlpB2, 4)
	h := G.Must(G.Tanh(G.Must(G.BroadcastAdd(G.Must(G.Mul(x, w1)), b1, nil, []byte{0}))))
	return G.Must(G.Softplus(G.Must(G.BroadcastAdd(G.Must(G.Mul(h, w2)), b2, nil, []byte{0}))))
}

// coupling is an affine coupling layer split along the feature axis:
// y = concat(x1, x2 ⊙ exp(s(x1)) + t(x1)), log|det J| = Σ s.
func coupling(b *builder, x *G.Node) *G.Node {
	x1 := G.Must(G.Slice(x, nil, G.S(0, 3)))
	x2 := G.Must(G.Slice(x, nil, G.S(3, 6)))
	w, bb := b.param("W", cpW, 3, 5), b.param("b", cpB, 5)
	ws, bs := b.param("Ws", cpWs, 5, 3), b.param("bs", cpBs, 3)
	wt, bt := b.param("Wt", cpWt, 5, 3), b.param("bt", cpBt, 3)
	h := G.Must(G.Tanh(G.Must(G.BroadcastAdd(G.Must(G.Mul(x1, w)), bb, nil, []byte{0}))))
	s := b.keep("s", G.Must(G.Tanh(G.Must(G.BroadcastAdd(G.Must(G.Mul(h, ws)), bs, nil, []byte{0})))))
	t := G.Must(G.BroadcastAdd(G.Must(G.Mul(h, wt)), bt, nil, []byte{0}))
	y2 := G.Must(G.Add(G.Must(G.HadamardProd(x2, G.Must(G.Exp(s)))), t))
	return G.Must(G.Concat(1, x1, y2))
}

// sumOf is the closed form Σ s of a coupling layer, from the forward run.
func sumOf(name string) func(b *builder) float64 {
	return func(b *builder) float64 {
		s := 0.0
		for _, v := range toF64(b.named[name].Value()) {
			s += v
		}
		return s
	}
}

func toF64(v G.Value) []float64 {
	switch d := v.Data().(type) {
	case []float64:
		return d
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	}
	panic("toF64: not a float tensor")
}

// residual is x + W2 relu(W1 x + b1) on a vector (matrix × vector
// products, Gorgonia's Rectify).
func residual(b *builder, x *G.Node) *G.Node {
	w1, b1, w2 := b.param("W1", resW1, 8, 6), b.param("b1", resB1, 8), b.param("W2", resW2, 6, 8)
	h := G.Must(G.Rectify(G.Must(G.Add(G.Must(G.Mul(w1, x)), b1))))
	return G.Must(G.Add(x, G.Must(G.Mul(w2, h))))
}

// residualLeaky is x + 0.5 LeakyRelu(x W1ᵀ… ) on a batch: x [2,3] through
// Gorgonia's LeakyRelu and a constant transpose.
func residualLeaky(b *builder, x *G.Node) *G.Node {
	w := b.param("W", resW2[:9], 3, 3)
	h := G.Must(G.LeakyRelu(G.Must(G.Mul(x, G.Must(G.Transpose(w)))), 0.1))
	return G.Must(G.Add(x, G.Must(G.HadamardProd(b.scalar(0.5), h))))
}

// glow is the 1×1 invertible mixing x Wᵀ + b at 5 positions: log|det J| =
// 5 log|det W|.
func glow(b *builder, x *G.Node) *G.Node {
	w, bias := b.keep("W", b.param("W", glowW, 3, 3)), b.param("b", glowB, 3)
	return G.Must(G.BroadcastAdd(G.Must(G.Mul(x, G.Must(G.Transpose(w)))), bias, nil, []byte{0}))
}

func glowLogDet(b *builder) float64 {
	w := toF64(b.named["W"].Value())
	return 5 * math.Log(math.Abs(mat.Det(mat.NewDense(3, 3, w))))
}

// elementwise sums every unary op with an invad counterpart, and the
// arithmetic ops with scalars on either side, as x + 0.05 Σ terms. Log2 and
// InverseSqrt are left out: Gorgonia's own gradients of them are wrong
// (TestGorgoniaGradientBugs).
func elementwise(b *builder, x *G.Node) *G.Node {
	type un func(*G.Node) (*G.Node, error)
	var terms []*G.Node
	for _, f := range []un{G.Sin, G.Cos, G.Exp, G.Log, G.Neg, G.Square, G.Sqrt, G.Inverse,
		G.Cube, G.Tanh, G.Sigmoid, G.Log1p, G.Expm1, G.Softplus} {
		terms = append(terms, G.Must(f(x)))
	}
	two, half := b.scalar(2), b.scalar(0.5)
	terms = append(terms,
		G.Must(G.Add(two, x)), G.Must(G.Add(x, two)), G.Must(G.Sub(two, x)), G.Must(G.Sub(x, half)),
		G.Must(G.HadamardProd(two, x)), G.Must(G.HadamardDiv(x, two)), G.Must(G.HadamardDiv(half, x)),
		G.Must(G.Pow(x, b.scalar(2))), G.Must(G.Pow(x, b.scalar(3))), G.Must(G.Pow(x, b.scalar(-1))), G.Must(G.Pow(x, b.scalar(0.5))),
		G.Must(G.HadamardProd(x, G.Must(G.Sin(x)))), G.Must(G.HadamardDiv(G.Must(G.Exp(x)), G.Must(G.Add(x, two)))),
		G.Must(G.Sub(G.Must(G.Cos(x)), G.Must(G.Square(x)))),
	)
	s := G.Must(G.ReduceAdd(terms))
	return G.Must(G.Add(x, G.Must(G.HadamardProd(b.scalar(0.05), s))))
}

// structural uses the ops that only move elements, on a value that
// depends on the input: a transpose, slices along both axes (one that drops
// an axis), concatenations along both axes, sums along each axis
// broadcast back (repeats of varying values), Mean and Reshape.
func structural(b *builder, x *G.Node) *G.Node {
	tx := G.Must(G.Tanh(x))
	t := G.Must(G.Reshape(G.Must(G.Transpose(tx)), gt.Shape{2, 3}))                                      // [2,3] from a [3,2] transpose
	row := func(i int) *G.Node { return G.Must(G.Reshape(G.Must(G.Slice(tx, G.S(i))), gt.Shape{1, 3})) } // S(i) drops the axis
	rows := G.Must(G.Concat(0, row(1), row(0)))                                                          // rows swapped
	cols := G.Must(G.Concat(1, G.Must(G.Slice(tx, nil, G.S(1, 3))), G.Must(G.Reshape(G.Must(G.Slice(tx, nil, G.S(0))), gt.Shape{2, 1}))))
	rs := G.Must(G.BroadcastHadamardProd(x, G.Must(G.Sum(tx, 1)), nil, []byte{1}))          // x ⊙ row sums
	cs := G.Must(G.BroadcastAdd(G.Must(G.Square(x)), G.Must(G.Sum(tx, 0)), nil, []byte{0})) // x² + column sums
	col := G.Must(G.Slice(tx, nil, G.S(1)))                                                 // column 1, shape [2]
	colb := G.Must(G.BroadcastHadamardProd(x, col, nil, []byte{1}))
	mean := G.Must(G.HadamardProd(G.Must(G.Mean(tx)), x))
	s := G.Must(G.ReduceAdd([]*G.Node{t, rows, cols, rs, cs, colb, mean}))
	return G.Must(G.Add(x, G.Must(G.HadamardProd(b.scalar(0.1), s))))
}

// vector uses the products of vectors and matrices that Gorgonia
// differentiates correctly: a dot product, matrix × vector and vector ×
// matrix with a constant and with a varying matrix, and a varying scalar
// times a varying vector.
func vector(b *builder, x *G.Node) *G.Node {
	w := b.param("W", vecW, 3, 3)
	a := G.Must(G.Tanh(G.Must(G.BroadcastAdd(w, x, nil, []byte{0})))) // a varying matrix
	dot := G.Must(G.HadamardProd(G.Must(G.Mul(x, x)), x))             // a ⋅ b
	vw := G.Must(G.Mul(x, w))                                         // Aᵀ × b, A constant
	av := G.Must(G.Mul(a, x))                                         // A × b, both varying
	va := G.Must(G.Mul(x, a))                                         // Aᵀ × b, both varying
	tot := G.Must(G.HadamardProd(G.Must(G.Sum(G.Must(G.Tanh(x)))), x))
	s := G.Must(G.ReduceAdd([]*G.Node{dot, vw, av, va, tot}))
	return G.Must(G.Add(x, G.Must(G.HadamardProd(b.scalar(0.1), s))))
}

// outer uses an outer product and a varying scalar times a constant
// vector, whose gradients Gorgonia gets wrong.
func outer(b *builder, x *G.Node) *G.Node {
	c := b.param("c", vecC, 3)
	o := G.Must(G.OuterProd(G.Must(G.Sin(x)), c))                     // a ⊗ b
	sc := G.Must(G.HadamardProd(c, G.Must(G.Sum(G.Must(G.Tanh(x)))))) // constant ⊙ varying scalar
	s := G.Must(G.ReduceAdd([]*G.Node{G.Must(G.Mul(o, c)), G.Must(G.Mul(c, o)), sc}))
	return G.Must(G.Add(x, G.Must(G.HadamardProd(b.scalar(0.1), s))))
}

// batchedMM is x + 0.2 (tanh(x) ××× W + x ××× Wᵀ) on two 2×2 matrices.
func batchedMM(b *builder, x *G.Node) *G.Node {
	w := b.param("W", bmW, 2, 2, 2)
	p := G.Must(G.BatchedMatMul(G.Must(G.Tanh(x)), w))
	q := G.Must(G.BatchedMatMul(x, w, false, true))
	return G.Must(G.Add(x, G.Must(G.HadamardProd(b.scalar(0.2), G.Must(G.Add(p, q))))))
}

func models() []model {
	f64, f32 := gt.Float64, gt.Float32
	return []model{
		{name: "mlp", reason: "an MLP: matmuls, broadcast biases (repeats of constants), tanh, softplus", dt: f64, in: []int{3, 4}, x: mlpX, build: mlp},
		{name: "coupling", reason: "an affine coupling layer split along axis 1: slices and a concat that the lump finder must see through",
			dt: f64, in: []int{4, 6}, x: cpX, build: coupling, logDet: sumOf("s")},
		{name: "residual", reason: "a residual block on a vector: matrix × vector, Rectify recognized as relu", dt: f64, in: []int{6}, x: resX, build: residual},
		{name: "residual-leaky", reason: "LeakyRelu recognized as leaky_relu, x · Wᵀ with a constant transpose", dt: f64, in: []int{2, 3}, x: stX, build: residualLeaky},
		{name: "glow-1x1", reason: "Glow's 1×1 mixing x Wᵀ + b with W square", dt: f64, in: []int{5, 3}, x: glowX, build: glow, logDet: glowLogDet},
		{name: "elementwise", reason: "every unary op, scalar broadcasting on both sides, Pow by constants", dt: f64, in: []int{2, 4}, x: ewX, build: elementwise},
		{name: "structural", reason: "transposes, slices, concats, sums and repeats of varying values", dt: f64, in: []int{2, 3}, x: stX, build: structural},
		{name: "vector", reason: "dot, matrix × vector and vector × matrix products", dt: f64, in: []int{3}, x: vecX, build: vector},
		{name: "outer", reason: "an outer product and a varying scalar broadcast over a constant", dt: f64, in: []int{3}, x: vecX, build: outer,
			gradBug: "gorgonia.Grad of OuterProd and of constant ⊙ varying scalar"},
		{name: "batched", reason: "BatchedMatMul with and without a transposed operand", dt: f64, in: []int{2, 2, 2}, x: bmX, build: batchedMM},
		{name: "mlp/float32", reason: "float32 values, converted to float64", dt: f32, in: []int{3, 4}, x: mlpX, build: mlp},
		{name: "coupling/float32", reason: "float32 coupling layer", dt: f32, in: []int{4, 6}, x: cpX, build: coupling, logDet: sumOf("s")},
		{name: "glow-1x1/float32", reason: "float32 1×1 mixing", dt: f32, in: []int{5, 3}, x: glowX, build: glow, logDet: glowLogDet},
		{name: "elementwise/float32", reason: "float32 elementwise ops", dt: f32, in: []int{2, 4}, x: ewX, build: elementwise},
	}
}

// TestModels imports every model and checks the output against Gorgonia's
// TapeMachine, JVP, VJP and the Jacobian against Gorgonia's gradients, and
// IJVP, VIJP and LogAbsDet against a dense LU.
func TestModels(t *testing.T) {
	for _, m := range models() {
		t.Run(m.name, func(t *testing.T) {
			runModel(t, m)
		})
	}
}
