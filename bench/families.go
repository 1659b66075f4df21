package bench

import (
	"math"
	"math/rand/v2"

	"github.com/invad/invad/catalog"
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
	// Sample is the width d of one sample when x has shape [B, d] and f
	// maps each row on its own (J block diagonal, B blocks d×d); 0 for a
	// family without that batch structure.
	Sample int
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

// Families returns the eight problem families of the comparison:
// elementwise, coupling, kinetics, stencil, stencil2d and wx on x of shape
// [n], and the batched networks residual and flow on x of shape [B, d].
func Families() []Family {
	return []Family{elementwiseFamily(), couplingFamily(), kineticsFamily(), stencilFamily(), stencil2DFamily(), wxFamily(),
		residualFamily(), flowFamily()}
}

// ---- 1-D Bratu residual (catalog program "bratu-1d") ----

func stencilFamily() Family {
	return Family{
		Name:  "stencil",
		About: catalog.MustGet("bratu-1d").About,
		Note: "The sparse lump's block is tridiagonal: invad forms it with 3 JVPs (one per column color) and a banded LU. " +
			"The dense methods form all n columns; GMRES without a preconditioner needs about n iterations " +
			"on this Laplacian (its condition number grows as n²).",
		Size: func(n int) int { return max(n, 3) },
		// u, eleven op values; the pattern, colored products and band LU
		// about as many again.
		Words: func(n int) float64 { return 30 * float64(n) },
		New: func(n int) *Problem {
			x := tensor.Zeros(n)
			for i := range x.Data() {
				t := float64(i+1) / float64(n+1)
				x.Data()[i] = 0.5 * t * (1 - t) // near the solution for λ = 1
			}
			return &Problem{F: catalog.Bratu1D(1), X: x, Kind: "bratu", Params: map[string]float64{"lambda": 1}}
		},
	}
}

// ---- 2-D Bratu residual, 5-point stencil (catalog.Bratu2D) ----

func stencil2DFamily() Family {
	side := func(n int) int { return max(2, int(math.Round(math.Sqrt(float64(n))))) }
	return Family{
		Name: "stencil2d",
		About: "2-D Bratu residual: the 5-point Laplacian on an m×m interior grid of the unit square (n = m²) " +
			"plus λ·exp(u), λ = 1, neighbours written as shifts with Slice and Concat (catalog.Bratu2D)",
		Note: "The sparse lump's block is the 5-point stencil plus a diagonal: invad forms it with 6 JVPs (one per column color) " +
			"and factorizes it by its sparse LU in nested dissection order. GMRES without a preconditioner needs " +
			"about m iterations per digit on this Laplacian (its condition number grows as m²).",
		Size: func(n int) int { m := side(n); return m * m },
		// u, about fifteen op values; the pattern, colored products and the
		// sparse LU's fill (about 10× the 5 nonzeros a row) on top.
		Words: func(n int) float64 { return 120 * float64(n) },
		New: func(n int) *Problem {
			m := side(n)
			x := tensor.Zeros(m * m)
			for i := range m {
				for j := range m {
					s, t := float64(i+1)/float64(m+1), float64(j+1)/float64(m+1)
					x.Data()[i*m+j] = s * (1 - s) * t * (1 - t) // near the solution for λ = 1
				}
			}
			return &Problem{F: catalog.Bratu2D(1, m), X: x, Kind: "bratu2d", Params: map[string]float64{"lambda": 1, "m": float64(m)}}
		},
	}
}

// ---- elementwise chain (catalog program "elementwise10") ----

func elementwiseFamily() Family {
	return Family{
		Name:  "elementwise",
		About: catalog.MustGet("elementwise10").About,
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

// ---- coupling network (catalog program "coupling-net") ----

func couplingFamily() Family {
	const m = 2 * CouplingNetHalf
	return Family{
		Name:  "coupling",
		About: catalog.MustGet("coupling-net").About,
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

// ---- batched Robertson kinetics (catalog program "robertson") ----

func kineticsFamily() Family {
	return Family{
		Name:  "kinetics",
		About: catalog.MustGet("robertson").About,
		Size:  func(n int) int { return 3 * max(1, (n+1)/3) },
		// The tape holds about 10 words an element (x, the cells' op values
		// and constants); the batched LU and sweep buffers as many again.
		Words: func(n int) float64 { return 20 * float64(n) },
		New: func(n int) *Problem {
			p := catalog.Kinetics(n)
			return &Problem{F: p.F, X: p.X, Kind: "kinetics",
				Params: map[string]float64{"h": RobertsonStep, "m": float64(n / 3)},
				Arrays: p.Arrays}
		},
	}
}

// ---- dense W x (catalog program "wx-dense") ----

// wxLimit is the largest n of the wx family: W alone is 8n² bytes, and the
// run holds W, its LU and the tape's copy of neither, so 3·10⁴ is 7.2 GB.
const wxLimit = 30_000

func wxFamily() Family {
	return Family{
		Name:  "wx",
		About: catalog.MustGet("wx-dense").About,
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
			p := catalog.DenseWx(n)
			return &Problem{F: p.F, X: p.X, Kind: "wx", Arrays: p.Arrays}
		},
	}
}
