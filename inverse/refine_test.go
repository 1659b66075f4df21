package inverse_test

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/inverse/inversetest"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

var (
	bigSolve   = inversetest.BigSolve
	bigSolveOf = inversetest.BigSolveOf
	relErrTo   = inversetest.ForwardError
)

const bigPrec = inversetest.BigPrec

// TestRefineAccuracy compares, on ill-conditioned programs, the forward
// error of IJVP, of IJVP with Refine(2), and of gonum's pivoted LU on the
// dense J, all against a 256-bit solve of the same J and dy, and logs
// them. On these programs IJVP already matches LU's accuracy (its lumps
// are solved by pivoted LUs and exact reciprocals), so refinement has
// little to gain: the test bounds it, within 20× of the better of IJVP and
// LU, far below the κ·ε bound.
func TestRefineAccuracy(t *testing.T) {
	hilbert := func(n int) *tensor.Tensor {
		h := tensor.Zeros(n, n)
		for i := range n {
			for j := range n {
				h.Data()[i*n+j] = 1 / float64(i+j+1)
			}
		}
		return h
	}
	w := tensor.New([]int{2, 2}, []float64{1, 1, 0, 1e-4})
	for _, c := range []struct {
		name string
		f    func(*tape.Var) *tape.Var
		x    *tensor.Tensor
	}{
		{"three steps W·(W·(W·x)), κ ≈ 1e12", func(x *tape.Var) *tape.Var {
			c := ops.Const(x, w)
			return ops.MatMul(c, ops.MatMul(c, ops.MatMul(c, x)))
		}, tensor.New([]int{2, 3}, []float64{1, -2, 3, 0.5, 0.25, -1})},
		{"Hilbert(8)·x + 1e-3·tanh x", func(x *tape.Var) *tape.Var {
			return ops.Add(ops.MatMul(ops.Const(x, hilbert(8)), x), ops.Scale(ops.Tanh(x), 1e-3))
		}, tensor.New([]int{8}, []float64{0.3, -0.1, 0.7, 0.2, -0.5, 0.9, -0.8, 0.4})},
		{"exp(x)·Hilbert(7)·x (a dense lump)", func(x *tape.Var) *tape.Var {
			return ops.Mul(ops.Exp(x), ops.MatMul(ops.Const(x, hilbert(7)), x))
		}, tensor.New([]int{7}, []float64{0.3, -0.1, 0.7, 0.2, -0.5, 0.9, -0.8})},
	} {
		lin, err := inverse.Linearize(c.f, c.x)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := inverse.Linearize(c.f, c.x, inverse.Refine(2))
		if err != nil {
			t.Fatal(err)
		}
		n := c.x.Len()
		dy := tensor.Zeros(lin.Output().Shape()...)
		for i := range dy.Data() {
			dy.Data()[i] = math.Cos(float64(3*i + 1))
		}
		J, err := lin.Jacobian()
		if err != nil {
			t.Fatal(err)
		}
		want := bigSolve(J.Data(), dy.Data(), n)
		plain, err := lin.IJVP(dy)
		if err != nil {
			t.Fatal(err)
		}
		refined, err := ref.IJVP(dy)
		if err != nil {
			t.Fatal(err)
		}
		var lu mat.LU
		lu.Factorize(mat.NewDense(n, n, J.Data()))
		var xv mat.VecDense
		if err := lu.SolveVecTo(&xv, false, mat.NewVecDense(n, dy.Data())); err != nil {
			t.Logf("%s: gonum LU: %v", c.name, err)
		}
		cond, _ := lin.Cond()
		ePlain, eRef, eLU := relErrTo(plain.Data(), want), relErrTo(refined.Data(), want), relErrTo(xv.RawVector().Data, want)
		t.Logf("%s: Cond %.2g; forward error IJVP %.2g, IJVP + Refine(2) %.2g, gonum LU %.2g", c.name, cond, ePlain, eRef, eLU)
		if eRef > 20*math.Max(ePlain, eLU)+1e-16 {
			t.Errorf("%s: refined error %.3g (plain %.3g, LU %.3g)", c.name, eRef, ePlain, eLU)
		}
	}
	mustPanic(t, "inverse: Refine(-1)", func() { inverse.Refine(-1) })
}

// ---- refinement on programs where IJVP is less accurate than LU ----

// refineProgram is one program of TestRefineOnProgramsWorseThanLU's
// search; its name says how to build it again (family and seed).
type refineProgram struct {
	name string
	f    func(*tape.Var) *tape.Var
	x    *tensor.Tensor
}

// refineFamilies are the searched families of ill-conditioned programs,
// each a deterministic function of a seed, with what the search must show
// on the cases it finds in them. The bounds are set from a search of 3000
// programs per family (120 of growth's; INVAD_REFINE_PROGRAMS=3000, 10 s
// on 2 cores), whose figures are quoted as "measured", and the default
// search (400 per family, 16 of growth's, 1.1 s).
var refineFamilies = []struct {
	name, reason string
	make         func(seed uint64) refineProgram
	// every: the family searches one program for every `every` of the
	// search's count (growth's have n up to 30 and cost about 30 times
	// more than the others').
	every int
	// minFound is the least number of cases (programs × directions) the
	// default search must find.
	minFound int
	// ownError says whether IJVP's error is its own (a lump's
	// factorization) rather than the dense J's rounding: then the median
	// of IJVP's dense error over the distance between the dense J's
	// solution and the exact J's is at least 10, else within [0.5, 2].
	ownError bool
	// denseMedian bounds the median, over the found cases, of Refine(k)'s
	// dense error over LU's, for k = 1 and 2.
	denseMedian float64
	// exactMedian bounds the medians, over the found cases, of IJVP's,
	// Refine(1)'s and Refine(2)'s error against the exact J over LU's.
	exactMedian [3]float64
}{
	{name: "generator", reason: "1-5 regular generator steps and 1-2 genChain steps (products of 2-4 constants of cond 1e3-1e5 each)",
		make: refineGenProgram, every: 1,
		// Default search: 55 cases of 2×167 in range; measured 534 of
		// 2×1342. Medians measured: dense 22 for Refine(1) and (2), as
		// for IJVP; exact 1.1e-7, 2e-7, 2e-7.
		minFound: 25, denseMedian: 50, exactMedian: [3]float64{1e-4, 1e-4, 1e-4}},
	{name: "cancelling", reason: "A·(w + s·sin w), w = B·x, A's large singular directions meeting B's small ones (κ(J) ≪ κ(A)·κ(B))",
		make: refineCancelProgram, every: 1,
		// Default: 120 of 2×132; measured 713 of 2×901. Medians: dense
		// 58-62, as for IJVP; exact 1e-3, 1.6e-3, 1.4e-3.
		minFound: 60, denseMedian: 150, exactMedian: [3]float64{2e-2, 2e-2, 2e-2}},
	{name: "lumps", reason: "a dense lump exp(u)⊙(H·u), or a batch lump of 2×2 blocks with a first pivot of 1e-2 to 1e-10, between ill-conditioned constants",
		make: refineLumpProgram, every: 1,
		// Default: 93 of 2×364; measured 701 of 2×2709. Medians: dense 19,
		// as for IJVP; exact 1.5e-4, 2.4e-4, 2.9e-4.
		minFound: 45, denseMedian: 50, exactMedian: [3]float64{1e-2, 1e-2, 1e-2}},
	{name: "growth", reason: "M·tanh(G·(d⊙x)), G Wilkinson's matrix of order 16-30: the LU of G's step has pivot growth 2^(n-1), the LU of J none",
		make: refineGrowthProgram, every: 25, ownError: true,
		// Default: 31 of 2×16; measured 237 of 2×120. Medians: dense
		// 1.3-1.4 (IJVP 7.6e3-8.8e3); exact 0.33 and 0.31 for Refine(1)
		// and (2): one step recovers LU's accuracy. IJVP's exact median
		// (4.4e3-5.3e3) is its own error, not bounded.
		minFound: 15, denseMedian: 5, exactMedian: [3]float64{math.Inf(1), 3, 3}},
}

// refinePoint is a point in [-1, 1)^shape drawn from rng.
func refinePoint(rng *rand.Rand, shape ...int) *tensor.Tensor {
	x := tensor.Zeros(shape...)
	for i := range x.Data() {
		x.Data()[i] = 2*rng.Float64() - 1
	}
	return x
}

// refineGenProgram is a generator program (property_test.go) on 2 to 8
// inputs with 1 to 5 regular steps and 1 or 2 genChain steps put in at
// random places.
func refineGenProgram(seed uint64) refineProgram {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	g := genProgram{n: 2 + rng.IntN(7), twoD: rng.IntN(2) == 0}
	for range 1 + rng.IntN(5) {
		g.steps = append(g.steps, genStep{kind: genStepKind(rng.IntN(int(genFirstRare))), u: rng.Float64(), seed: rng.Uint64()})
	}
	for range 1 + rng.IntN(2) {
		at := rng.IntN(len(g.steps) + 1)
		g.steps = slices.Insert(g.steps, at, genStep{kind: genChain, u: rng.Float64(), seed: rng.Uint64()})
	}
	return refineProgram{fmt.Sprintf("generator %d", seed), g.f, refinePoint(rng, g.shape()...)}
}

// refineSVDMatrix returns U·diag(σ)·Vᵀ, σᵢ = cond^(−i/(k−1)) (reversed:
// σ₀ smallest), for k×k orthogonal U and V.
func refineSVDMatrix(u, v *mat.Dense, cond float64, reversed bool) *tensor.Tensor {
	k, _ := u.Dims()
	us := mat.DenseCopyOf(u)
	for i := range k {
		e := float64(i) / float64(k-1)
		if reversed {
			e = 1 - e
		}
		for r := range k {
			us.Set(r, i, us.At(r, i)*math.Pow(cond, -e))
		}
	}
	var w mat.Dense
	w.Mul(us, v.T())
	return tensor.New([]int{k, k}, w.RawMatrix().Data)
}

// refineCancelProgram is A·(w + s·sin w), w = B·x, on 3 to 8 inputs: A =
// U·Σ_A·Vᵀ and B = R·Σ_B·Qᵀ with log-spaced singular values of cond 1e3 to
// 1e7 each, Σ_B in reverse order, and R = V moved by θ ∈ {0, 1e-6, 1e-4,
// 1e-2, 1}: at θ = 0 B's large singular directions feed A's small ones and
// κ(J) ≪ κ(A)·κ(B), the case where a product of solves loses to one LU of
// the product; s ≤ 0.05 keeps the middle step near I.
func refineCancelProgram(seed uint64) refineProgram {
	rng := rand.New(rand.NewPCG(seed, 0xca4ce1))
	n := 3 + rng.IntN(6)
	ca, cb := math.Pow(10, 3+4*rng.Float64()), math.Pow(10, 3+4*rng.Float64())
	theta := []float64{0, 1e-6, 1e-4, 1e-2, 1}[rng.IntN(5)]
	s := 0.05 * rng.Float64()
	orth := func() *mat.Dense { return mat.NewDense(n, n, genCondMatrix(rng, n, 1).Data()) }
	u, v, q := orth(), orth(), orth()
	g := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			g.Set(i, j, v.At(i, j)+theta*rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var r mat.Dense
	qr.QTo(&r)
	A, B := refineSVDMatrix(u, v, ca, false), refineSVDMatrix(&r, q, cb, true)
	f := func(x *tape.Var) *tape.Var {
		w := ops.MatMul(ops.Const(x, B), x)
		return ops.MatMul(ops.Const(x, A), ops.Add(w, ops.Scale(ops.Sin(w), s)))
	}
	return refineProgram{fmt.Sprintf("cancelling %d (n=%d, cond A %.0e, B %.0e, θ=%g)", seed, n, ca, cb, theta), f, refinePoint(rng, n)}
}

// refineLumpProgram puts a lump whose own factorization could be the weak
// point between ill-conditioned constants: for an even seed the dense
// lump exp(u)⊙(H·u), u = B·x, followed by A (n = 3 to 8, cond H 1e3-1e6,
// cond A and B 1e2-1e5); for an odd seed the batch lump (a, b) →
// (c·a·e^(βb) + b, a + t·b²) of m 2×2 blocks, whose (1, 1) entry c·e^(βb)
// (c 1e-2 to 1e-10, |βb| ≤ 1) is a tiny first pivot the blocks' LU must
// pivot past, on x·W (x of shape [2, m], cond W 1e3-1e6) and followed by
// L (2×2, cond 1e2-1e5).
func refineLumpProgram(seed uint64) refineProgram {
	rng := rand.New(rand.NewPCG(seed, 0x10b))
	cond := func(lo, hi float64) float64 { return math.Pow(10, lo+(hi-lo)*rng.Float64()) }
	if seed%2 == 0 {
		n := 3 + rng.IntN(6)
		A, B, H := genCondMatrix(rng, n, cond(2, 5)), genCondMatrix(rng, n, cond(2, 5)), genCondMatrix(rng, n, cond(3, 6))
		f := func(x *tape.Var) *tape.Var {
			u := ops.MatMul(ops.Const(x, B), x)
			return ops.MatMul(ops.Const(x, A), ops.Mul(ops.Exp(genBound(u, 1)), ops.MatMul(ops.Const(x, H), u)))
		}
		return refineProgram{fmt.Sprintf("dense lump %d (n=%d)", seed, n), f, refinePoint(rng, n)}
	}
	m := 2 + rng.IntN(3)
	c, tt := math.Pow(10, -2-8*rng.Float64()), 2*rng.Float64()-1
	W, L := genCondMatrix(rng, m, cond(3, 6)), genCondMatrix(rng, 2, cond(2, 5))
	f := func(x *tape.Var) *tape.Var {
		p := ops.Split(ops.MatMul(x, ops.Const(x, W)), 1, 1)
		a, b := p[0], p[1]
		y := ops.Concat(ops.Add(ops.Scale(ops.Mul(a, ops.Exp(genBound(b, 1))), c), b), ops.Add(a, ops.Scale(ops.Mul(b, b), tt)))
		return ops.MatMul(ops.Const(x, L), y)
	}
	return refineProgram{fmt.Sprintf("batch lump %d (m=%d, pivot %.0e)", seed, m, c), f, refinePoint(rng, 2, m)}
}

// refineGrowthProgram is M·tanh(G·(d⊙x)) on n = 16 to 30 inputs, G
// Wilkinson's matrix (1 on the diagonal and in the last column, −1 below
// the diagonal): partial pivoting meets no larger entry, so the LU of G,
// which IJVP uses for G's step, has pivot growth 2^(n−1) and a backward
// error to match; the LU of the whole J does not, M (cond 10-1e3, random
// singular vectors) mixing G's rows. d, cond 1e6 to 1e10 with random
// signs, brings κ(J) into the searched range.
func refineGrowthProgram(seed uint64) refineProgram {
	rng := rand.New(rand.NewPCG(seed, 0x9a0))
	n := 16 + rng.IntN(15)
	g := tensor.Zeros(n, n)
	for i := range n {
		for j := range n {
			switch {
			case i == j || j == n-1:
				g.Data()[i*n+j] = 1
			case i > j:
				g.Data()[i*n+j] = -1
			}
		}
	}
	M := genCondMatrix(rng, n, math.Pow(10, 1+2*rng.Float64()))
	cd := math.Pow(10, 6+4*rng.Float64())
	d := tensor.Zeros(n)
	for i := range n {
		d.Data()[i] = genSign(rng.Uint64(), 0) * math.Pow(cd, -float64(i)/float64(n-1))
	}
	f := func(x *tape.Var) *tape.Var {
		v := ops.MatMul(ops.Const(x, g), ops.Mul(x, ops.Const(x, d)))
		return ops.MatMul(ops.Const(x, M), ops.Tanh(genBound(v, 1.5)))
	}
	return refineProgram{fmt.Sprintf("growth %d (n=%d, cond d %.0e)", seed, n, cd), f, refinePoint(rng, n)}
}

// roundedPartials reports whether op's local partial derivatives are
// rounded values (f'(v) of a nonlinear elementwise op, those of div)
// rather than exact ones (a constant matrix, ±1, a scale factor, a
// recorded value as mul's partial).
func roundedPartials(op tape.Op) bool {
	if e, ok := op.(*ops.Elementwise); ok {
		return !slices.Contains([]string{"scale", "add_scalar", "neg"}, e.Name())
	}
	return op.Name() == "div"
}

// bigJacobian returns lin's Jacobian composed exactly, in bigPrec bits,
// from the ops' local partial derivatives (each one JVP of one op with a
// unit tangent, so a float64 value: exact for the linear ops, rounded once
// for the others) by forward mode over the tape: the linearization that
// IJVP and the dense J both approximate, without the rounding of the
// products that forms the dense J. With perturb set, each rounded partial
// (roundedPartials) is multiplied by 1 + 4ε·u, u uniform in [-1, 1): a
// different rounding of the same derivative, to measure how well the
// reference is defined. It calls t.Fatal on a tape it cannot follow.
func bigJacobian(t *testing.T, lin *inverse.Linearization, perturb *rand.Rand) [][]*big.Float {
	t.Helper()
	p, n := lin.Program(), lin.Len()
	zeros := func(rows int) [][]*big.Float {
		m := make([][]*big.Float, rows)
		for i := range m {
			m[i] = make([]*big.Float, n)
			for j := range m[i] {
				m[i][j] = new(big.Float).SetPrec(bigPrec)
			}
		}
		return m
	}
	tan := map[int][][]*big.Float{} // var id → its derivative, rows of n
	id := zeros(n)
	for i := range n {
		id[i][i].SetInt64(1)
	}
	tan[p.Input.ID()] = id
	for _, nd := range p.Nodes {
		ins := make([]*tensor.Tensor, len(nd.In))
		for i, v := range nd.In {
			ins[i] = v.Value()
		}
		acc := zeros(nd.Out.Len())
		dst := tensor.Zeros(nd.Out.Shape()...)
		for k, v := range nd.In {
			if v.IsConst() {
				continue
			}
			tin, ok := tan[v.ID()]
			if !ok {
				t.Fatalf("bigJacobian: %s reads a varying value that is neither x nor an op's output", nd.Op.Name())
			}
			ts := make([]*tensor.Tensor, len(nd.In))
			e := tensor.Zeros(v.Shape()...)
			ts[k] = e
			for c := range v.Len() {
				e.Data()[c] = 1
				nd.Op.JVP(dst, ins, nd.Out.Value(), ts)
				e.Data()[c] = 0
				for r, d := range dst.Data() {
					if d == 0 {
						continue
					}
					l := new(big.Float).SetPrec(bigPrec).SetFloat64(d)
					if perturb != nil && roundedPartials(nd.Op) {
						l.Mul(l, new(big.Float).SetPrec(bigPrec).SetFloat64(1+4*propEps*(2*perturb.Float64()-1)))
					}
					for j := range n {
						acc[r][j].Add(acc[r][j], new(big.Float).SetPrec(bigPrec).Mul(l, tin[c][j]))
					}
				}
			}
		}
		tan[nd.Out.ID()] = acc
	}
	return tan[p.Output.ID()]
}

// refineCase is one direction (IJVP: J dx = dy, or VIJP: Jᵀ cy = cx) of
// one searched program, with the relative errors (relErrTo) of the four
// solvers, indexed by refineLU, refinePlain, refineR1 and refineR2.
type refineCase struct {
	fam, prog, dir string
	kappa          float64    // κ₂ of the dense J, from its SVD
	dense          [4]float64 // against the 256-bit solve of the dense J
	// found: IJVP's (VIJP's) dense error is at least refineFoundRatio times
	// LU's. Only then are the next figures measured.
	found  bool
	exact  [4]float64 // against the 256-bit solve of bigJacobian's exact J
	gap    float64    // the dense J's 256-bit solution against the exact J's
	wobble float64    // the exact J's solution against that of a perturbed bigJacobian
	jDiff  float64    // max |dense J − exact J rounded| / max |J|
}

const (
	refineLU = iota
	refinePlain
	refineR1
	refineR2
)

// refineRatio is e/lu with both floored at ε, so that two solutions exact
// to rounding compare as equal.
func refineRatio(e, lu float64) float64 { return math.Max(e, propEps) / math.Max(lu, propEps) }

// refineMeasure linearizes p three times (plain, Refine(1), Refine(2)) and
// measures both directions with Gaussian right-hand sides drawn from seed,
// adding the exact-J figures to the found cases. It returns inRange false
// if κ₂(J) is outside [lo, hi], and no cases if a product refuses the
// program with a typed refusal (propRefusal; the caller counts them); it
// calls t.Fatal on any other error.
func refineMeasure(t *testing.T, p refineProgram, seed uint64, lo, hi float64) (cases []refineCase, inRange bool) {
	t.Helper()
	var lins [3]*inverse.Linearization
	for k := range lins {
		lin, err := inverse.Linearize(p.f, p.x, inverse.Refine(k))
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		lins[k] = lin
	}
	lin, n := lins[0], lins[0].Len()
	J, err := lin.Jacobian()
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(n, n, slices.Clone(J.Data())), mat.SVDNone) {
		t.Fatalf("%s: the SVD of J did not converge", p.name)
	}
	kappa := svd.Cond()
	if !(kappa >= lo && kappa <= hi) {
		return nil, false
	}
	var lu mat.LU
	lu.Factorize(mat.NewDense(n, n, slices.Clone(J.Data())))
	bigJ := make([][]*big.Float, n)
	for i := range n {
		bigJ[i] = make([]*big.Float, n)
		for j := range n {
			bigJ[i][j] = new(big.Float).SetPrec(bigPrec).SetFloat64(J.Data()[i*n+j])
		}
	}
	rng := rand.New(rand.NewPCG(seed, 41))
	var exactJ, wobbleJ [][]*big.Float
	for _, dir := range []string{"IJVP", "VIJP"} {
		trans := dir == "VIJP"
		shape := lin.Output().Shape()
		if trans {
			shape = p.x.Shape()
		}
		b := genGaussian(rng, shape)
		c := refineCase{prog: p.name, dir: dir, kappa: kappa}
		var xv mat.VecDense
		if err := lu.SolveVecTo(&xv, trans, mat.NewVecDense(n, slices.Clone(b.Data()))); err != nil {
			// gonum's condition warning: the solution is still computed.
			if !errors.As(err, new(mat.Condition)) {
				t.Fatalf("%s: gonum LU: %v", p.name, err)
			}
		}
		sols := [4][]float64{refineLU: xv.RawVector().Data}
		for k, l := range lins {
			var r *tensor.Tensor
			if trans {
				r, err = l.VIJP(b)
			} else {
				r, err = l.IJVP(b)
			}
			if err != nil {
				if !propRefusal(err) {
					t.Fatalf("%s: %s with Refine(%d): %v", p.name, dir, k, err)
				}
				return nil, true
			}
			sols[refinePlain+k] = r.Data()
		}
		want := bigSolveOf(bigJ, b.Data(), trans)
		for k, s := range sols {
			c.dense[k] = relErrTo(s, want)
		}
		if c.found = refineRatio(c.dense[refinePlain], c.dense[refineLU]) >= refineFoundRatio; c.found {
			if exactJ == nil {
				exactJ = bigJacobian(t, lin, nil)
				wobbleJ = bigJacobian(t, lin, rand.New(rand.NewPCG(seed, 43)))
			}
			exact := bigSolveOf(exactJ, b.Data(), trans)
			for k, s := range sols {
				c.exact[k] = relErrTo(s, exact)
			}
			c.gap = relErrTo(want, exact)
			c.wobble = relErrTo(bigSolveOf(wobbleJ, b.Data(), trans), exact)
			d, m := 0.0, 0.0
			for i := range n {
				for j := range n {
					e, _ := exactJ[i][j].Float64()
					d = math.Max(d, math.Abs(J.Data()[i*n+j]-e))
					m = math.Max(m, math.Abs(e))
				}
			}
			c.jDiff = d / m
		}
		cases = append(cases, c)
	}
	return cases, true
}

// refineFoundRatio: a case is found when IJVP's (VIJP's) error against the
// dense J's 256-bit solve is at least 10 times gonum LU's.
const refineFoundRatio = 10

// The search: programs per family (divided by the family's every), and the
// range of κ₂(J) kept. Below maxPropCond the property test holds the
// products to propTol of the LU already; above 1e14 κ·ε > 0.02 and LU's
// own error nears 1, so ratios of errors say nothing.
// INVAD_REFINE_PROGRAMS=N searches N per family instead, and
// INVAD_REFINE_LIST=1 with -v lists every case found with its errors.
const (
	refinePrograms      = 400
	refineProgramsShort = 100
	refineKappaLo       = maxPropCond
	refineKappaHi       = 1e14
)

const (
	// refineMaxWorse bounds, over every case in range (found or not), the
	// dense error of Refine(k), k = 1, 2, over max(IJVP's, LU's): measured
	// at most 5.2 over 10144 cases (3.6 over the default search's 1358).
	refineMaxWorse = 10
	// refineWobbleMax bounds, for every found case, how far the exact J's
	// solution moves when the rounded local partials change by up to 4
	// ulps, over the larger of IJVP's and LU's errors against it: measured
	// at most 0.031, so the exact J tells which of the two is more
	// accurate.
	refineWobbleMax = 0.1
	// refineJDiffMax bounds max|dense J − exact J| / max|J|, a check of
	// bigJacobian (a missed path would make it O(1)): measured at most
	// 2.6e-13.
	refineJDiffMax = 1e-9
)

// TestRefineOnProgramsWorseThanLU answers "on programs where IJVP is less
// accurate than a pivoted LU of the dense J, how much does Refine recover?"
// It searches refineFamilies, deterministically, for cases (a program and
// a direction, IJVP or VIJP) with maxPropCond ≤ κ₂(J) ≤ 1e14 in which
// IJVP's error against a 256-bit solve of the dense J is at least 10
// times gonum LU's, measures Refine(1) and Refine(2) there, and measures
// all of them again against the exact J (bigJacobian).
//
// There are two kinds of cases. In most (the generator's chains, the
// cancelling products, the lumps between constants) the gap is not
// IJVP's error but the dense J's: J, formed by JVPs as columns of a
// product of ill-conditioned factors, carries rounding errors of order
// ε·∏‖factor‖ that κ(J) amplifies, and LU solves that rounded J while
// IJVP solves the factors one by one. There Refine changes nothing,
// since its JVP residual measures the same factored J as IJVP, and
// against the exact J IJVP, refined or not, is far more accurate than LU.
// In the others (growth) a lump's own LU is unstable (pivot growth that
// the LU of the whole J does not meet): there IJVP's error is its own,
// and one step of Refine brings it to LU's.
func TestRefineOnProgramsWorseThanLU(t *testing.T) {
	n := refinePrograms
	if testing.Short() {
		n = refineProgramsShort
	}
	if s := os.Getenv("INVAD_REFINE_PROGRAMS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("INVAD_REFINE_PROGRAMS=%q: want a positive number", s)
		}
	}
	// The lump families exercise the lumps they are there for.
	for _, c := range []struct {
		p                refineProgram
		kind, factorized string
	}{
		{refineLumpProgram(0), "dense", "dense LU"},
		{refineLumpProgram(1), "batch", "batched LU"},
		{refineGrowthProgram(0), "step", "LU of the 27×27 left factor"},
	} {
		lin, err := inverse.Linearize(c.p.f, c.p.x)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := lin.Lumps()
		if err != nil {
			t.Fatalf("%s: %v", c.p.name, err)
		}
		if !slices.ContainsFunc(ls, func(l inverse.LumpInfo) bool {
			return l.Kind.String() == c.kind && strings.HasPrefix(l.Factorization, c.factorized)
		}) {
			t.Errorf("%s: no %s lump factorized by %s: %+v", c.p.name, c.kind, c.factorized, ls)
		}
	}

	start := time.Now()
	var all, found []refineCase
	type famStats struct {
		programs, inRange, refused int
		took                       time.Duration
	}
	stats := map[string]*famStats{}
	for _, fam := range refineFamilies {
		st := &famStats{}
		stats[fam.name] = st
		famStart := time.Now()
		for seed := range uint64(max(1, n/fam.every)) {
			p := fam.make(seed)
			cases, in := refineMeasure(t, p, seed, refineKappaLo, refineKappaHi)
			st.programs++
			if in {
				st.inRange++
				if cases == nil {
					st.refused++
				}
			}
			for _, c := range cases {
				c.fam = fam.name
				all = append(all, c)
				if c.found {
					found = append(found, c)
				}
			}
		}
		st.took = time.Since(famStart)
	}
	elapsed := time.Since(start)

	// medMax returns the median and the largest of f over cs.
	medMax := func(cs []refineCase, f func(refineCase) float64) (float64, float64) {
		if len(cs) == 0 {
			return math.NaN(), math.NaN()
		}
		v := make([]float64, len(cs))
		for i, c := range cs {
			v[i] = f(c)
		}
		slices.Sort(v)
		return v[len(v)/2], v[len(v)-1]
	}
	ratio := func(k int, exact bool) func(refineCase) float64 {
		return func(c refineCase) float64 {
			e := c.dense
			if exact {
				e = c.exact
			}
			return refineRatio(e[k], e[refineLU])
		}
	}
	gap := func(c refineCase) float64 { return refineRatio(c.dense[refinePlain], c.gap) }
	where := func(keep func(refineCase) bool) []refineCase {
		return slices.DeleteFunc(slices.Clone(found), func(c refineCase) bool { return !keep(c) })
	}
	row := func(label string, cs []refineCase) {
		var b strings.Builder
		fmt.Fprintf(&b, "%-16s %5d", label, len(cs))
		for _, exact := range []bool{false, true} {
			b.WriteString(" |")
			for _, k := range []int{refinePlain, refineR1, refineR2} {
				md, mx := medMax(cs, ratio(k, exact))
				fmt.Fprintf(&b, " %7.2g %7.2g", md, mx)
			}
		}
		md, _ := medMax(cs, gap)
		fmt.Fprintf(&b, " | %7.2g", md)
		t.Log(b.String())
	}
	t.Logf("searched in %v; κ₂(J) in [%.0e, %.0e]; a case is found where IJVP (VIJP) is ≥ %d× less accurate than LU against the dense J",
		elapsed.Round(time.Millisecond), refineKappaLo, refineKappaHi, refineFoundRatio)
	for _, fam := range refineFamilies {
		st := stats[fam.name]
		t.Logf("  %-10s %4d programs, %4d in range (%d refused), %v: %s", fam.name, st.programs, st.inRange, st.refused, st.took.Round(time.Millisecond), fam.reason)
	}
	t.Logf("error / LU's error, median and max, against the 256-bit solve of the dense J | of the exact J; last: IJVP's dense error / |x(dense J) − x(exact J)|, median")
	t.Logf("%-16s %5s | %15s %15s %15s | %15s %15s %15s | %7s", "found", "count", "IJVP", "Refine(1)", "Refine(2)", "IJVP", "Refine(1)", "Refine(2)", "gap")
	for _, fam := range refineFamilies {
		for _, dir := range []string{"IJVP", "VIJP"} {
			row(fam.name+" "+dir, where(func(c refineCase) bool { return c.fam == fam.name && c.dir == dir }))
		}
	}
	row("κ ≥ 9e11", where(func(c refineCase) bool { return c.kappa >= 9e11 }))
	wobble := func(c refineCase) float64 {
		return c.wobble / math.Max(math.Max(c.exact[refineLU], c.exact[refinePlain]), propEps)
	}
	_, wobMax := medMax(found, wobble)
	_, jMax := medMax(found, func(c refineCase) float64 { return c.jDiff })
	worst, worstAt := 0.0, ""
	for _, c := range all {
		for _, k := range []int{refineR1, refineR2} {
			if r := refineRatio(c.dense[k], math.Max(c.dense[refinePlain], c.dense[refineLU])); r > worst {
				worst, worstAt = r, fmt.Sprintf("%s %s Refine(%d)", c.prog, c.dir, k-refinePlain)
			}
		}
	}
	t.Logf("%d cases in range; Refine's dense error / max(IJVP's, LU's): at most %.3g (%s)", len(all), worst, worstAt)
	t.Logf("exact J's solution moved by 4-ulp partials / max(IJVP's, LU's) exact error: at most %.2g; max|J − exact J|/max|J| at most %.2g", wobMax, jMax)
	if testing.Verbose() && os.Getenv("INVAD_REFINE_LIST") != "" {
		for _, c := range found {
			t.Logf("  %s %s κ %.2g: dense %.2g %.2g %.2g %.2g exact %.2g %.2g %.2g %.2g", c.prog, c.dir, c.kappa,
				c.dense[0], c.dense[1], c.dense[2], c.dense[3], c.exact[0], c.exact[1], c.exact[2], c.exact[3])
		}
	}

	if worst > refineMaxWorse {
		t.Errorf("Refine made the error %.3g× max(IJVP's, LU's), over %d: %s", worst, refineMaxWorse, worstAt)
	}
	for _, c := range found {
		if w := wobble(c); w > refineWobbleMax {
			t.Errorf("%s %s: the exact J's solution moves by %.3g of the larger error under 4-ulp partials, over %g", c.prog, c.dir, w, refineWobbleMax)
		}
		if c.jDiff > refineJDiffMax {
			t.Errorf("%s: the exact J differs from the dense J by %.3g of max|J|, over %g", c.prog, c.jDiff, refineJDiffMax)
		}
	}
	for _, fam := range refineFamilies {
		cs := where(func(c refineCase) bool { return c.fam == fam.name })
		if n >= refinePrograms && len(cs) < fam.minFound {
			t.Errorf("%s: %d cases found, want at least %d", fam.name, len(cs), fam.minFound)
		}
		if len(cs) == 0 {
			continue
		}
		for _, k := range []int{refineR1, refineR2} {
			if md, _ := medMax(cs, ratio(k, false)); md > fam.denseMedian {
				t.Errorf("%s: Refine(%d)'s dense error / LU's, median %.3g, over %g", fam.name, k-refinePlain, md, fam.denseMedian)
			}
		}
		for i, k := range []int{refinePlain, refineR1, refineR2} {
			if md, _ := medMax(cs, ratio(k, true)); md > fam.exactMedian[i] {
				t.Errorf("%s: %s's error against the exact J / LU's, median %.3g, over %g", fam.name, []string{"IJVP", "Refine(1)", "Refine(2)"}[i], md, fam.exactMedian[i])
			}
		}
		md, _ := medMax(cs, gap)
		if fam.ownError && md < 10 || !fam.ownError && !(md >= 0.5 && md <= 2) {
			t.Errorf("%s: IJVP's dense error / the dense J's solution's distance from the exact J's, median %.3g (own error: %v)", fam.name, md, fam.ownError)
		}
	}
}
