package bench

import (
	"github.com/invad/invad/catalog"
	"github.com/invad/invad/tape"
)

// The benchmark programs live in package catalog; these are their names in
// package bench.

// Elementwise10 is a 10-op elementwise program f: Rⁿ → Rⁿ:
// log(1 + sigmoid(tanh(e^{sin(x)/2}·x) + x)²) (catalog.Elementwise10).
func Elementwise10(x *tape.Var) *tape.Var { return catalog.Elementwise10(x) }

// Elementwise10Plain is Elementwise10 written as plain Go loops over slices,
// one new slice per step, as a user would write it without invad
// (catalog.Elementwise10Plain).
func Elementwise10Plain(x []float64) []float64 { return catalog.Elementwise10Plain(x) }

// Shape of the coupling layer: rows of CouplingHalf features go through a
// CouplingHalf×CouplingHidden MLP.
const (
	CouplingHalf   = catalog.CouplingHalf
	CouplingHidden = catalog.CouplingHidden
)

// CouplingRows returns the number of batch rows of a coupling layer on n
// elements; n must be a multiple of 2·CouplingHalf.
func CouplingRows(n int) int { return catalog.CouplingRows(n) }

// Coupling returns an affine coupling layer f: Rⁿ → Rⁿ over a batch of
// rows of 8 (catalog.Coupling): y = concat(a, b⊙exp(s) + t) with s and t
// one-hidden-layer MLPs of a applied row-wise, log|det J| = Σ s.
func Coupling(n int) func(x *tape.Var) *tape.Var { return catalog.Coupling(n) }

// CouplingPlain is Coupling written as plain Go loops, for the tests: it
// returns y and log|det J| = Σ s (catalog.CouplingPlain).
func CouplingPlain(x []float64) (y []float64, logdet float64) { return catalog.CouplingPlain(x) }

// Shape of the coupling network: rows of CouplingNetHalf features through
// CouplingNetHalf×CouplingNetHidden MLPs.
const (
	CouplingNetHalf   = catalog.CouplingNetHalf
	CouplingNetHidden = catalog.CouplingNetHidden
)

// CouplingNetWeights are the constants of the two layers of CouplingNet.
type CouplingNetWeights = catalog.CouplingNetWeights

// NewCouplingNetWeights draws the coupling network's constants, the same on
// every call (catalog.NewCouplingNetWeights).
func NewCouplingNetWeights() CouplingNetWeights { return catalog.NewCouplingNetWeights() }

// CouplingNet returns a two-layer affine coupling network on n elements, n
// a positive multiple of 16 (catalog.CouplingNet).
func CouplingNet(n int, w CouplingNetWeights) func(x *tape.Var) *tape.Var {
	return catalog.CouplingNet(n, w)
}

// RobertsonStep is the time step h of the implicit Euler residual.
const RobertsonStep = catalog.RobertsonStep

// Robertson is the implicit Euler residual of Robertson's three-species
// kinetics over m independent cells, x = concat(y1, y2, y3), with per-cell
// rate constants k1, k2, k3 and previous state yn (catalog.Robertson).
func Robertson(h float64, k1, k2, k3, yn []float64) func(x *tape.Var) *tape.Var {
	return catalog.Robertson(h, k1, k2, k3, yn)
}
