package catalog

import (
	"math"
	"math/rand/v2"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// benchPrograms are the benchmark programs, sized (package bench's
// families and inverse-mode benchmarks; bench/torch_bench.py rebuilds them
// from the constants that Problem spells out).
var benchPrograms = []Program{
	{Name: "elementwise10", About: "the 10-op elementwise chain Elementwise10, log(1 + sigmoid(tanh(e^{sin(x)/2}·x) + x)²): J is diagonal",
		Shape: []int{16}, Lo: -1, Hi: 1, Sets: []Set{Bench},
		Build: func(int) func(*tape.Var) *tape.Var { return Elementwise10 }},
	{Name: "coupling-layer", About: "an affine coupling layer over a batch of rows of 8 (MLP 8→16→8 as X·W products): y = [a, b·exp(s(a)) + t(a)]",
		Shape: []int{32}, Lo: -1, Hi: 1, Sets: []Set{Bench},
		Build: Coupling},
	{Name: "coupling-net", About: "a two-layer affine coupling network on rows of 8 (MLPs 8→16→8 as X·W products): b' = b·exp(s₁(a)) + t₁(a), a' = a·exp(s₂(b')) + t₂(b')",
		Shape: []int{32}, Lo: -1, Hi: 1, Sets: []Set{Bench},
		Build: func(n int) func(*tape.Var) *tape.Var { return CouplingNet(n, NewCouplingNetWeights()) }},
	{Name: "robertson", About: "implicit Euler residual of Robertson's 3-species kinetics over n/3 cells (h = 0.01, rate constants varied per cell): J block diagonal, 3×3 blocks",
		Shape: []int{12}, Lo: 0.1, Hi: 1, Sets: []Set{Bench},
		Build: func(n int) func(*tape.Var) *tape.Var { return Kinetics(n).F }},
	{Name: "bratu-1d", About: "the residual of the 1-D Bratu problem, (u[i−1] − 2u[i] + u[i+1])/h² + exp(u[i]) with u = 0 outside, the neighbours as shifts (Slice and Concat): one sparse lump, tridiagonal",
		Shape: []int{16}, Lo: 0, Hi: 0.2, Sets: []Set{Bench, Explain},
		Build: func(int) func(*tape.Var) *tape.Var { return Bratu1D(1) }},
	{Name: "wx-dense", About: "a dense layer y = W x with a constant W = G/√n + 3I (G standard normal): one lump as wide as n, the LU of W",
		Shape: []int{8}, Lo: -1, Hi: 1, Sets: []Set{Bench},
		Build: func(n int) func(*tape.Var) *tape.Var { return DenseWx(n).F }},
}

// Problem is a sized program at one n with the point the benchmarks
// linearize it at and its constants by name (as bench/torch_bench.py
// rebuilds the problem).
type Problem struct {
	F      func(x *tape.Var) *tape.Var
	X      *tensor.Tensor
	Arrays map[string][]float64
}

// ---- elementwise chain ----

// Elementwise10 is a 10-op elementwise program f: Rⁿ → Rⁿ:
// log(1 + sigmoid(tanh(e^{sin(x)/2}·x) + x)²).
func Elementwise10(x *tape.Var) *tape.Var {
	a := ops.Sin(x)
	b := ops.Scale(a, 0.5)
	c := ops.Exp(b)
	d := ops.Mul(c, x)
	e := ops.Tanh(d)
	f := ops.Add(e, x)
	g := ops.Sigmoid(f)
	h := ops.Square(g)
	i := ops.AddScalar(h, 1)
	return ops.Log(i)
}

// Elementwise10Plain is Elementwise10 written as plain Go loops over slices,
// one new slice per step, as a user would write it without invad.
func Elementwise10Plain(x []float64) []float64 {
	n := len(x)
	step := func(f func(i int) float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	a := step(func(i int) float64 { return math.Sin(x[i]) })
	b := step(func(i int) float64 { return 0.5 * a[i] })
	c := step(func(i int) float64 { return math.Exp(b[i]) })
	d := step(func(i int) float64 { return c[i] * x[i] })
	e := step(func(i int) float64 { return math.Tanh(d[i]) })
	f := step(func(i int) float64 { return e[i] + x[i] })
	g := step(func(i int) float64 { return 1 / (1 + math.Exp(-f[i])) })
	h := step(func(i int) float64 { return g[i] * g[i] })
	j := step(func(i int) float64 { return h[i] + 1 })
	return step(func(i int) float64 { return math.Log(j[i]) })
}

// ---- coupling layer ----

// Shape of the coupling layer: rows of CouplingHalf features go through a
// CouplingHalf×CouplingHidden MLP.
const (
	CouplingHalf   = 8
	CouplingHidden = 16
)

// CouplingRows returns the number of batch rows of a coupling layer on n
// elements; n must be a multiple of 2·CouplingHalf.
func CouplingRows(n int) int {
	if n <= 0 || n%(2*CouplingHalf) != 0 {
		panic("catalog: a coupling layer needs n a positive multiple of 2·CouplingHalf")
	}
	return n / (2 * CouplingHalf)
}

// Coupling returns an affine coupling layer f: Rⁿ → Rⁿ over a batch: x is
// reshaped to (2·rows, 8) and split into halves a, b of rows×8;
// h = tanh(a·W1), s = h·Ws, t = h·Wt, y = concat(a, b⊙exp(s) + t) reshaped
// back to n. W1 (8×16), Ws and Wt (16×8) are fixed constants; Ws is scaled
// down so that exp(s) stays moderate. J is block lower triangular with the
// diagonal exp(s) on b, so J is invertible and log|det J| = Σ s.
func Coupling(n int) func(x *tape.Var) *tape.Var {
	rows := CouplingRows(n)
	w1, ws, wt := couplingWeights()
	return func(x *tape.Var) *tape.Var {
		x2 := ops.Reshape(x, 2*rows, CouplingHalf)
		ab := ops.Split(x2, rows, rows)
		a, b := ab[0], ab[1]
		h := ops.Tanh(ops.MatMul(a, ops.Const(x, w1)))
		s := ops.MatMul(h, ops.Const(x, ws))
		t := ops.MatMul(h, ops.Const(x, wt))
		y := ops.Concat(a, ops.Add(ops.Mul(b, ops.Exp(s)), t))
		return ops.Reshape(y, n)
	}
}

// CouplingCumsum is the demo's program (`invad demo`, `invad explain
// -program coupling`): the coupling layer Coupling(n) followed by a running
// sum. n must be a multiple of 2·CouplingHalf.
func CouplingCumsum(n int) func(x *tape.Var) *tape.Var {
	layer := Coupling(n)
	return func(x *tape.Var) *tape.Var { return ops.Cumsum(layer(x)) }
}

// couplingWeights draws the coupling layer's constants, the same on every
// call.
func couplingWeights() (w1, ws, wt *tensor.Tensor) {
	rng := rand.New(rand.NewPCG(2026, 11))
	return normalMatrix(rng, CouplingHalf, CouplingHidden, 1, 0), normalMatrix(rng, CouplingHidden, CouplingHalf, 0.3, 0), normalMatrix(rng, CouplingHidden, CouplingHalf, 1, 0)
}

// CouplingPlain is Coupling written as plain Go loops, for the tests: it
// returns y and log|det J| = Σ s.
func CouplingPlain(x []float64) (y []float64, logdet float64) {
	n := len(x)
	rows := CouplingRows(n)
	w1, ws, wt := couplingWeights()
	W1, Ws, Wt := w1.Data(), ws.Data(), wt.Data()
	y = make([]float64, n)
	copy(y, x[:n/2])
	h := make([]float64, CouplingHidden)
	for r := range rows {
		a := x[r*CouplingHalf : (r+1)*CouplingHalf]
		b := x[n/2+r*CouplingHalf : n/2+(r+1)*CouplingHalf]
		for j := range h {
			acc := 0.0
			for k, av := range a {
				acc += av * W1[k*CouplingHidden+j]
			}
			h[j] = math.Tanh(acc)
		}
		for j := range CouplingHalf {
			s, t := 0.0, 0.0
			for k, hv := range h {
				s += hv * Ws[k*CouplingHalf+j]
				t += hv * Wt[k*CouplingHalf+j]
			}
			y[n/2+r*CouplingHalf+j] = b[j]*math.Exp(s) + t
			logdet += s
		}
	}
	return y, logdet
}

// ---- coupling network ----

// Shape of the coupling network: rows of CouplingNetHalf features through
// CouplingNetHalf×CouplingNetHidden MLPs.
const (
	CouplingNetHalf   = 8
	CouplingNetHidden = 16
)

// CouplingNetWeights are the constants of the two layers of CouplingNet:
// W1 (8×16), Ws and Wt (16×8) for the first, W2, Ws2, Wt2 for the second.
type CouplingNetWeights struct {
	W1, Ws1, Wt1, W2, Ws2, Wt2 *tensor.Tensor
}

// NewCouplingNetWeights draws the coupling network's constants, the same on
// every call. The Ws are scaled down so that exp(s) stays moderate.
func NewCouplingNetWeights() CouplingNetWeights {
	rng := rand.New(rand.NewPCG(2026, 12))
	m := func(r, c int, scale float64) *tensor.Tensor { return normalMatrix(rng, r, c, scale, 0) }
	const h, k = CouplingNetHalf, CouplingNetHidden
	return CouplingNetWeights{
		W1: m(h, k, 1), Ws1: m(k, h, 0.3), Wt1: m(k, h, 1),
		W2: m(h, k, 1), Ws2: m(k, h, 0.3), Wt2: m(k, h, 1),
	}
}

// CouplingNet returns a two-layer affine coupling network on n elements
// (n a multiple of 16): x is reshaped to (2·rows, 8) and split into halves
// a, b of rows×8; then
//
//	b' = b ⊙ exp(s1(a)) + t1(a),   a' = a ⊙ exp(s2(b')) + t2(b'),   y = [a', b']
//
// with s(u) = tanh(u·W)·Ws and t(u) = tanh(u·W)·Wt row by row. J is the
// product of two block triangular factors with diagonals exp(s), so
// log|det J| = Σ s1 + Σ s2. It panics if n is not a positive multiple of 16.
func CouplingNet(n int, w CouplingNetWeights) func(x *tape.Var) *tape.Var {
	if n <= 0 || n%(2*CouplingNetHalf) != 0 {
		panic("catalog: CouplingNet needs n a positive multiple of 16")
	}
	rows := n / (2 * CouplingNetHalf)
	return func(x *tape.Var) *tape.Var {
		ab := ops.Split(ops.Reshape(x, 2*rows, CouplingNetHalf), rows, rows)
		a, b := ab[0], ab[1]
		layer := func(u, v *tape.Var, W, Ws, Wt *tensor.Tensor) *tape.Var {
			h := ops.Tanh(ops.MatMul(u, ops.Const(x, W)))
			s := ops.MatMul(h, ops.Const(x, Ws))
			t := ops.MatMul(h, ops.Const(x, Wt))
			return ops.Add(ops.Mul(v, ops.Exp(s)), t)
		}
		b2 := layer(a, b, w.W1, w.Ws1, w.Wt1)
		a2 := layer(b2, a, w.W2, w.Ws2, w.Wt2)
		return ops.Reshape(ops.Concat(a2, b2), n)
	}
}

// ---- batched Robertson kinetics ----

// RobertsonStep is the time step h of the implicit Euler residual.
const RobertsonStep = 0.01

// Robertson is the implicit Euler residual of Robertson's three-species
// kinetics over m independent cells: x = concat(y1, y2, y3) (n = 3m) and
//
//	F(y) = y − yn − h f(y),  f1 = −k1 y1 + k2 y2 y3,  f2 = k1 y1 − k2 y2 y3 − k3 y2²,  f3 = k3 y2²
//
// with yn the previous state and k1, k2, k3 per-cell rate constants (each of
// length m; yn of length 3m). J is block diagonal with one 3×3 block per
// cell. It panics if the lengths do not fit.
func Robertson(h float64, k1, k2, k3, yn []float64) func(x *tape.Var) *tape.Var {
	m := len(k1)
	if m == 0 || len(k2) != m || len(k3) != m || len(yn) != 3*m {
		panic("catalog: Robertson needs k1, k2, k3 of one length m > 0 and yn of length 3m")
	}
	vec := func(d []float64) *tensor.Tensor { return tensor.New([]int{len(d)}, d) }
	return func(x *tape.Var) *tape.Var {
		y := ops.Split(x, m, m, m)
		K1, K2, K3 := ops.Const(x, vec(k1)), ops.Const(x, vec(k2)), ops.Const(x, vec(k3))
		a := ops.Mul(K1, y[0])                // k1 y1
		b := ops.Mul(K2, ops.Mul(y[1], y[2])) // k2 y2 y3
		c := ops.Mul(K3, ops.Square(y[1]))    // k3 y2²
		f := []*tape.Var{ops.Sub(b, a), ops.Sub(ops.Sub(a, b), c), c}
		F := make([]*tape.Var, 3)
		for i := range F {
			prev := ops.Const(x, vec(yn[i*m:(i+1)*m]))
			F[i] = ops.Sub(ops.Sub(y[i], prev), ops.Scale(f[i], h))
		}
		return ops.Concat(F...)
	}
}

// Kinetics is the kinetics benchmark problem on n = 3m elements (m cells,
// n a positive multiple of 3): Robertson(RobertsonStep, k1, k2, k3, yn)
// with Robertson's constants 0.04, 10⁴, 3·10⁷ each varied per cell by a
// factor up to 2 either way, yn a previous state (y1 in [0.5, 1), y2 ≈ 10⁻⁵,
// y3 = 1 − y1 − y2), and X the Newton iterate yn slightly moved, all seeded.
// Arrays holds k1, k2, k3 and yn.
func Kinetics(n int) Problem {
	if n <= 0 || n%3 != 0 {
		panic("catalog: Kinetics needs n a positive multiple of 3")
	}
	m := n / 3
	rng := rand.New(rand.NewPCG(3, 3))
	k1, k2, k3 := make([]float64, m), make([]float64, m), make([]float64, m)
	yn, x := make([]float64, n), tensor.Zeros(n)
	for i := range m {
		k1[i] = 0.04 * math.Exp2(2*rng.Float64()-1)
		k2[i] = 1e4 * math.Exp2(2*rng.Float64()-1)
		k3[i] = 3e7 * math.Exp2(2*rng.Float64()-1)
		y1 := 0.5 + 0.5*rng.Float64()
		y2 := 1e-5 + 3e-5*rng.Float64()
		yn[i], yn[m+i], yn[2*m+i] = y1, y2, 1-y1-y2
	}
	// The Newton iterate: the previous state, slightly moved.
	for i := range x.Data() {
		x.Data()[i] = yn[i] * (1 + 0.01*rng.NormFloat64())
	}
	return Problem{F: Robertson(RobertsonStep, k1, k2, k3, yn), X: x,
		Arrays: map[string][]float64{"k1": k1, "k2": k2, "k3": k3, "yn": yn}}
}

// ---- dense W x ----

// DenseWx is the dense-layer benchmark problem y = W x on n elements, with
// the constant W = G/√n + 3I (G standard normal) and X standard normal,
// both seeded. Arrays holds W (n×n, row-major).
func DenseWx(n int) Problem {
	rng := rand.New(rand.NewPCG(4, 4))
	w := make([]float64, n*n)
	s := 1 / math.Sqrt(float64(n))
	for i := range w {
		w[i] = s * rng.NormFloat64()
	}
	for i := range n {
		w[i*n+i] += 3
	}
	W := tensor.New([]int{n, n}, w)
	x := tensor.Zeros(n)
	for i := range x.Data() {
		x.Data()[i] = rng.NormFloat64()
	}
	f := func(x *tape.Var) *tape.Var { return ops.MatMul(ops.Const(x, W), x) }
	return Problem{F: f, X: x, Arrays: map[string][]float64{"W": w}}
}

// ---- 1-D Bratu (a stencil written with shifts) ----

// Bratu2D is the residual of the 2-D Bratu problem Δu + λ·eᵘ = 0 on the
// m×m interior points of the unit square, u = 0 outside, h = 1/(m+1), u
// stored row by row in one vector: the 5-point Laplacian, the neighbours
// along a row shifts by ±1 (with the values that would wrap around a row
// masked out), along a column shifts by ±m. Its Jacobian is the 5-point
// stencil plus a diagonal, band m.
func Bratu2D(lambda float64, m int) func(u *tape.Var) *tape.Var {
	first, last := tensor.Zeros(m*m), tensor.Zeros(m*m)
	for i := range m * m {
		if i%m != 0 {
			first.Data()[i] = 1 // has a left neighbour
		}
		if i%m != m-1 {
			last.Data()[i] = 1 // has a right neighbour
		}
	}
	// shift moves v by k places (v[i−k] at i), zeros shifted in.
	shift := func(v *tape.Var, k int) *tape.Var {
		n := v.Len()
		if k > 0 {
			return ops.Concat(ops.Const(v, tensor.Zeros(k)), ops.Slice(v, 0, n-k))
		}
		return ops.Concat(ops.Slice(v, -k, n), ops.Const(v, tensor.Zeros(-k)))
	}
	h2 := float64((m + 1) * (m + 1))
	return func(u *tape.Var) *tape.Var {
		left := ops.Mul(ops.Const(u, first), shift(u, 1))
		right := ops.Mul(ops.Const(u, last), shift(u, -1))
		lap := ops.Add(ops.Add(left, right), ops.Add(shift(u, m), shift(u, -m)))
		lap = ops.Sub(lap, ops.Scale(u, 4))
		return ops.Add(ops.Scale(lap, h2), ops.Scale(ops.Exp(u), lambda))
	}
}

// Bratu1D is the residual of the 1-D Bratu problem Δu + λ·eᵘ = 0 on the n
// interior points of (0, 1), u = 0 outside, h = 1/(n+1):
// F(u)_i = (u[i−1] − 2u[i] + u[i+1])/h² + λ·exp(u[i]), the neighbours
// written as shifts with Slice and Concat. Its Jacobian is tridiagonal.
func Bratu1D(lambda float64) func(u *tape.Var) *tape.Var {
	return func(u *tape.Var) *tape.Var {
		n := u.Len()
		zero := ops.Const(u, tensor.Zeros(1))
		left := ops.Concat(zero, ops.Slice(u, 0, n-1))
		right := ops.Concat(ops.Slice(u, 1, n), zero)
		h2 := float64((n + 1) * (n + 1))
		lap := ops.Sub(ops.Add(left, right), ops.Scale(u, 2))
		return ops.Add(ops.Scale(lap, h2), ops.Scale(ops.Exp(u), lambda))
	}
}
