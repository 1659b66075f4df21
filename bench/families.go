package bench

import (
	"math"
	"math/rand/v2"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Family is a problem family of the comparison run by Run: programs
// f: Rⁿ → Rⁿ of any size, each with a point x to linearize at.
type Family struct {
	// Name is short and used in file names; About describes f; Note, if
	// set, is a remark the report adds to the family's reading.
	Name, About, Note string
	// Size rounds a requested n to the nearest n the family takes.
	Size func(n int) int
	// Limit is the largest n the family can take at all (0: none), and
	// LimitWhy says why.
	Limit    int
	LimitWhy string
	// Words estimates the float64 values one run at n keeps alive at once
	// beyond the comparison's fixed vectors: the recorded program and its
	// constants, the factorization, the dense matrices of the dense methods
	// when they run.
	Words func(n int) float64
	// New builds the problem at n, an n Size returned.
	New func(n int) *Problem
}

// Problem is one member of a family: f, the point x, and the same problem
// spelled out for the PyTorch script (its kind, scalars and constant arrays).
type Problem struct {
	F      func(x *tape.Var) *tape.Var
	X      *tensor.Tensor
	Kind   string
	Params map[string]float64
	Arrays map[string][]float64
}

// Families returns the four problem families of the comparison:
// elementwise, coupling, kinetics and wx.
func Families() []Family {
	return []Family{elementwiseFamily(), couplingFamily(), kineticsFamily(), wxFamily()}
}

// ---- elementwise chain ----

func elementwiseFamily() Family {
	return Family{
		Name:  "elementwise",
		About: "the 10-op elementwise chain Elementwise10, log(1 + sigmoid(tanh(e^{sin(x)/2}·x) + x)²): J is diagonal",
		Size:  func(n int) int { return max(n, 1) },
		// x and ten op values; the inverse holds one step factor per op.
		Words: func(n int) float64 { return 22 * float64(n) },
		New: func(n int) *Problem {
			rng := rand.New(rand.NewPCG(1, 1))
			x := tensor.Zeros(n)
			for i := range x.Data() {
				x.Data()[i] = 2*rng.Float64() - 1
			}
			return &Problem{F: Elementwise10, X: x, Kind: "elementwise"}
		},
	}
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
	m := func(r, c int, scale float64) *tensor.Tensor {
		d := make([]float64, r*c)
		for i := range d {
			d[i] = scale * rng.NormFloat64() / math.Sqrt(float64(r))
		}
		return tensor.New([]int{r, c}, d)
	}
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
		panic("bench: CouplingNet needs n a positive multiple of 16")
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

func couplingFamily() Family {
	const m = 2 * CouplingNetHalf
	return Family{
		Name:  "coupling",
		About: "a two-layer affine coupling network on rows of 8 (MLPs 8→16→8 as X·W products): b' = b·exp(s₁(a)) + t₁(a), a' = a·exp(s₂(b')) + t₂(b')",
		Size:  func(n int) int { return max(m, (n+m/2)/m*m) },
		// The tape holds about 19 words an element (x, per layer 8 n of op
		// values, the concat); the factors and sweep buffers as many again.
		Words: func(n int) float64 { return 40 * float64(n) },
		New: func(n int) *Problem {
			rng := rand.New(rand.NewPCG(1, 2))
			x := tensor.Zeros(n)
			for i := range x.Data() {
				x.Data()[i] = rng.NormFloat64()
			}
			w := NewCouplingNetWeights()
			return &Problem{F: CouplingNet(n, w), X: x, Kind: "coupling",
				Params: map[string]float64{"rows": float64(n / m)},
				Arrays: map[string][]float64{
					"W1": w.W1.Data(), "Ws1": w.Ws1.Data(), "Wt1": w.Wt1.Data(),
					"W2": w.W2.Data(), "Ws2": w.Ws2.Data(), "Wt2": w.Wt2.Data(),
				}}
		},
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
		panic("bench: Robertson needs k1, k2, k3 of one length m > 0 and yn of length 3m")
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

func kineticsFamily() Family {
	return Family{
		Name:  "kinetics",
		About: "implicit Euler residual of Robertson's 3-species kinetics over n/3 cells (h = 0.01, rate constants varied per cell): J block diagonal, 3×3 blocks",
		Size:  func(n int) int { return 3 * max(1, (n+1)/3) },
		// The tape holds about 10 words an element (x, the cells' op values
		// and constants); the batched LU and sweep buffers as many again.
		Words: func(n int) float64 { return 20 * float64(n) },
		New: func(n int) *Problem {
			m := n / 3
			rng := rand.New(rand.NewPCG(3, 3))
			k1, k2, k3 := make([]float64, m), make([]float64, m), make([]float64, m)
			yn, x := make([]float64, n), tensor.Zeros(n)
			for i := range m {
				// Robertson's constants 0.04, 10⁴, 3·10⁷, each varied by a
				// factor up to 2 either way.
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
			return &Problem{F: Robertson(RobertsonStep, k1, k2, k3, yn), X: x, Kind: "kinetics",
				Params: map[string]float64{"h": RobertsonStep, "m": float64(m)},
				Arrays: map[string][]float64{"k1": k1, "k2": k2, "k3": k3, "yn": yn}}
		},
	}
}

// ---- dense W x ----

// wxLimit is the largest n of the wx family: W alone is 8n² bytes, and the
// run holds W, its LU and the tape's copy of neither, so 3·10⁴ is 7.2 GB.
const wxLimit = 30_000

func wxFamily() Family {
	return Family{
		Name:  "wx",
		About: "a dense layer y = W x with a constant W = G/√n + 3I (G standard normal): one lump as wide as n, the LU of W",
		Note: "Here the lump is as wide as n: invad's factorize is a dense LU of W, O(n³), the same work as a dense solve, " +
			"and what invad adds is reuse: every later IJVP or VIJP costs O(n²), like one JVP. " +
			"GMRES needs O(n²) per iteration and few iterations, since W's eigenvalues cluster around 3, " +
			"so for a single solve it does far less work than any LU.",
		Size:     func(n int) int { return max(n, 1) },
		Limit:    wxLimit,
		LimitWhy: "W alone needs 8n² bytes",
		// W, its LU factor, and x-sized values.
		Words: func(n int) float64 { return 2*float64(n)*float64(n) + 8*float64(n) },
		New: func(n int) *Problem {
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
			return &Problem{F: f, X: x, Kind: "wx", Arrays: map[string][]float64{"W": w}}
		},
	}
}
