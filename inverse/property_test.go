package inverse_test

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
	"pgregory.net/rapid"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// This file generates random invertible programs f: Rⁿ → Rⁿ from the op set
// and checks the inverse products on them against a dense LU of the
// Jacobian: by property tests (rapid draws the program and the point) and by
// a fuzz target (a byte string decodes to a program).
//
// Every step of a generated program is a bijection whose Jacobian is well
// conditioned on the values it meets: a step whose derivative vanishes
// somewhere (tanh, sigmoid, softplus, exp, cube, square, log, ...) first
// scales its input into a box where the derivative is bounded away from 0
// (the scale is read off the recorded value, so it is a constant of the
// program), and the linear maps are diagonally dominant or small
// perturbations of I. The rare kinds (genFirstRare on) are the exceptions,
// drawn now and then: long products of ill-conditioned constants, checked
// against a κ-scaled bound, and steps that make J singular, whose programs
// must be refused with a typed error (degenerate_test.go).

// genStepKind is one kind of generator step.
type genStepKind int

const (
	genTanh        genStepKind = iota // tanh on |v| ≤ 1.5: f' ≥ 0.18
	genExp                            // exp on |v| ≤ 1: f' ∈ [0.37, 2.7]
	genSigmoid                        // sigmoid on |v| ≤ 2: f' ≥ 0.1
	genSoftplus                       // softplus on |v| ≤ 2: f' ≥ 0.12
	genLeakyReLU                      // leaky ReLU, α ∈ [0.1, 0.5]
	genScale                          // c·v, |c| ∈ [0.5, 2]
	genAddScalar                      // v + c, c ∈ [-1, 1]
	genCube                           // (v ± 1.5)³ on |v| ≤ 1: |v ± 1.5| ≥ 0.5
	genSquare                         // (v ± 1.5)·(v ± 1.5): Mul of a value by itself
	genPositive                       // log, sqrt, recip or log1p of v + 2 on |v| ≤ 1
	genMisc                           // −v, expm1(v) or sin(v) on |v| ≤ 1
	genSinRes                         // v + c·sin v or v + c·cos v, |c| < 0.45: one lump of two ops
	genSigmoidRes                     // v − 0.5·sigmoid(v): f' ≥ 0.875, through Sub
	genCoupling                       // (a, b) → (a, b·exp(s(a)) + t(a)) with an MLP, halves maybe swapped
	genDivCoupling                    // (a, b) → (a, b / (1 + tanh²(W a)))
	genLinear                         // W·v, or W·V / V·W on a matrix, W diagonally dominant
	genCumsum                         // running sum along axis 0
	genSwap                           // split along axis 0, concat the pieces swapped
	genResidual                       // v + 0.3·tanh(W v), ‖W‖_F ≤ 0.9
	genRotation                       // rotate (a, b) by θ = W·rest, rest passed through
	genBroadcast                      // v + c·Σ sin v (a rank-0 value broadcast), |c| ≤ 0.4/n
	genReshape                        // toggle between [n] and [r, n/r]
	genRoll                           // v + c·roll(v) or v + c·roll(sin v), |c| ∈ [0.1, 0.8]: a cyclic stencil
	genShift                          // v + c·shift(v), zero-filled, |c| ∈ [0.1, 0.8]: unit triangular

	// The rare kinds (genDraw draws them in about 3% of the steps, see
	// genKindOf). A program with genChain may be ill-conditioned
	// and is checked against a κ-scaled bound (propCheckKappa); one with a
	// singular kind has a singular J and must be refused (propCheckSingular).

	genChain     // W_m···W₁·v (or v·W₁···W_m), m ∈ [2, 4] constants of cond 10^(3+2u) each
	genConstPart // singular: some rows of v (or all of it) replaced by a constant
	genDropPart  // singular: (a, b) → (a, sin a[:len b]), so y does not depend on b
	genZeroMap   // singular: (a, b) → (a, W·b), W = 0 or with two equal rows
	numGenSteps
)

// genFirstRare is the first rare kind; the kinds before it are regular.
const genFirstRare = genChain

var genNames = [...]string{"tanh", "exp", "sigmoid", "softplus", "leaky_relu", "scale", "add_scalar", "cube",
	"square", "positive", "misc", "sin_res", "sigmoid_res", "coupling", "div_coupling", "linear", "cumsum",
	"swap", "residual", "rotation", "broadcast", "reshape", "roll", "shift", "chain", "const_part",
	"drop_part", "zero_map"}

func (k genStepKind) String() string { return genNames[k] }

// genSingularity is how a step (or a program) is singular.
type genSingularity int

const (
	genInvertible genSingularity = iota
	// genNumericallySingular: J has a zero row or two equal ones, but
	// only the values say so (a constant matrix that is singular):
	// lump.ErrStructurallySingular or tape.ErrSingular.
	genNumericallySingular
	// genStructurallySingular: fewer than n disjoint scalar paths lead from
	// x to y: lump.ErrStructurallySingular.
	genStructurallySingular
)

func (k genStepKind) singularity() genSingularity {
	switch k {
	case genConstPart, genDropPart:
		return genStructurallySingular
	case genZeroMap:
		return genNumericallySingular
	}
	return genInvertible
}

// singularity is the strongest singularity of g's steps: no later step
// restores a width or a rank once lost.
func (g genProgram) singularity() genSingularity {
	s := genInvertible
	for _, st := range g.steps {
		s = max(s, st.kind.singularity())
	}
	return s
}

// illConditioned reports whether g has a step that may make J
// ill-conditioned past maxPropCond.
func (g genProgram) illConditioned() bool {
	return slices.ContainsFunc(g.steps, func(s genStep) bool { return s.kind == genChain })
}

// genStep is one step: its kind, a parameter u ∈ [0, 1) and a seed for its
// constant matrices and discrete choices.
type genStep struct {
	kind genStepKind
	u    float64
	seed uint64
}

// genProgram is a generated program on n inputs; x is a matrix [r, n/r]
// when twoD is set and n has such a factorization with r, n/r ≥ 2.
type genProgram struct {
	n     int
	twoD  bool
	steps []genStep
}

// maxGenSteps bounds the steps of a generated program.
const maxGenSteps = 8

func (g genProgram) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "x%v", g.shape())
	for _, s := range g.steps {
		fmt.Fprintf(&b, " → %v(u=%.4g, seed=%#x)", s.kind, s.u, s.seed)
	}
	return b.String()
}

// genRows returns the number of rows of the 2-D form of n elements (0 if
// there is none).
func genRows(n int) int {
	for r := 2; r*2 <= n; r++ {
		if n%r == 0 {
			return r
		}
	}
	return 0
}

func (g genProgram) shape() []int {
	if r := genRows(g.n); g.twoD && r > 0 {
		return []int{r, g.n / r}
	}
	return []int{g.n}
}

// genPick maps u ∈ [0, 1] to an integer in [lo, hi].
func genPick(u float64, lo, hi int) int {
	return lo + min(int(u*float64(hi-lo+1)), hi-lo)
}

// genMatrix returns a seeded r×c constant with entries in [-scale, scale)
// plus diag on the diagonal, on v's tape.
func genMatrix(v *tape.Var, seed uint64, r, c int, scale, diag float64) *tape.Var {
	rng := rand.New(rand.NewPCG(seed, 17))
	d := make([]float64, r*c)
	for i := range d {
		d[i] = scale * (2*rng.Float64() - 1)
	}
	for i := range min(r, c) {
		d[i*c+i] += diag
	}
	return ops.Const(v, tensor.New([]int{r, c}, d))
}

// genCondMatrix returns a k×k matrix U·Σ·Vᵀ with U and V orthogonal (the
// Q of the QR of a Gaussian matrix) and Σ = diag(cond^(−i/(k−1))): its
// 2-norm is 1 and its condition number cond.
func genCondMatrix(rng *rand.Rand, k int, cond float64) *tensor.Tensor {
	orth := func() *mat.Dense {
		g := mat.NewDense(k, k, nil)
		for i := range k {
			for j := range k {
				g.Set(i, j, rng.NormFloat64())
			}
		}
		var qr mat.QR
		qr.Factorize(g)
		var q mat.Dense
		qr.QTo(&q)
		return &q
	}
	u, vt := orth(), orth()
	for i := range k {
		s := 1.0
		if k > 1 {
			s = math.Pow(cond, -float64(i)/float64(k-1))
		}
		for r := range k {
			u.Set(r, i, u.At(r, i)*s)
		}
	}
	var w mat.Dense
	w.Mul(u, vt.T())
	return tensor.New([]int{k, k}, w.RawMatrix().Data)
}

// genBound scales v into |v| ≤ lim if it is not there already. The factor is
// read off the recorded value and is a constant of the program.
func genBound(v *tape.Var, lim float64) *tape.Var {
	m := 0.0
	for _, e := range v.Value().Data() {
		m = math.Max(m, math.Abs(e))
	}
	if m > lim {
		return ops.Scale(v, lim/m)
	}
	return v
}

// genSign is ±1 from a seed bit.
func genSign(seed uint64, bit uint) float64 {
	if seed>>bit&1 == 1 {
		return -1
	}
	return 1
}

// f is the program: the steps applied in order.
func (g genProgram) f(x *tape.Var) *tape.Var {
	v := x
	for _, s := range g.steps {
		v = s.apply(v, g.n)
	}
	return v
}

func (s genStep) apply(v *tape.Var, n int) *tape.Var {
	sh := v.Shape()
	u, seed := s.u, s.seed
	switch s.kind {
	case genTanh:
		return ops.Tanh(genBound(v, 1.5))
	case genExp:
		return ops.Exp(genBound(v, 1))
	case genSigmoid:
		return ops.Sigmoid(genBound(v, 2))
	case genSoftplus:
		return ops.Softplus(genBound(v, 2))
	case genLeakyReLU:
		return ops.LeakyReLU(v, 0.1+0.4*u)
	case genScale:
		return ops.Scale(v, genSign(seed, 0)*(0.5+1.5*u))
	case genAddScalar:
		return ops.AddScalar(v, 2*u-1)
	case genCube:
		return ops.Cube(ops.AddScalar(genBound(v, 1), 1.5*genSign(seed, 0)))
	case genSquare:
		w := ops.AddScalar(genBound(v, 1), 1.5*genSign(seed, 0))
		return ops.Mul(w, w)
	case genPositive:
		w := ops.AddScalar(genBound(v, 1), 2) // in [1, 3]
		switch seed % 4 {
		case 0:
			return ops.Log(w) // f' ∈ [1/3, 1]
		case 1:
			return ops.Sqrt(w) // f' ∈ [0.29, 0.5]
		case 2:
			return ops.Recip(w) // f' ∈ [-1, -1/9]
		default:
			return ops.Log1p(w) // f' ∈ [1/4, 1/2]
		}
	case genMisc:
		switch seed % 3 {
		case 0:
			return ops.Neg(v)
		case 1:
			return ops.Expm1(genBound(v, 1))
		default:
			return ops.Sin(genBound(v, 1)) // f' = cos ≥ 0.54
		}
	case genSinRes:
		c := 0.9 * (u - 0.5) // |c| < 0.45, so 1 ± c·(sin or cos)' ≥ 0.55
		if seed&1 == 0 {
			return ops.Add(v, ops.Scale(ops.Sin(v), c))
		}
		return ops.Add(v, ops.Scale(ops.Cos(v), c))
	case genSigmoidRes:
		return ops.Sub(v, ops.Scale(ops.Sigmoid(v), 0.5))
	case genCoupling, genDivCoupling:
		k := genPick(u, 1, sh[0]-1)
		p := ops.Split(v, k, sh[0]-k)
		a, b := p[0], p[1]
		af := ops.Reshape(a, a.Len())
		var nb *tape.Var
		if s.kind == genCoupling {
			hidden := 2 + int(seed%4)
			h := ops.Tanh(ops.MatMul(genMatrix(v, seed, hidden, a.Len(), 1, 0), af))
			sc := ops.Scale(ops.Tanh(ops.MatMul(genMatrix(v, seed+1, b.Len(), hidden, 1, 0), h)), 0.5) // |s| ≤ 0.5
			t := ops.MatMul(genMatrix(v, seed+2, b.Len(), hidden, 1, 0), h)
			nb = ops.Add(ops.Mul(b, ops.Exp(ops.Reshape(sc, b.Shape()...))), ops.Reshape(t, b.Shape()...))
		} else {
			w := ops.Tanh(ops.MatMul(genMatrix(v, seed, b.Len(), a.Len(), 1, 0), af))
			nb = ops.Div(b, ops.Reshape(ops.AddScalar(ops.Square(w), 1), b.Shape()...)) // A = 1/(1 + tanh²) ∈ [0.5, 1]
		}
		if seed>>8&1 == 1 {
			return ops.Concat(nb, a)
		}
		return ops.Concat(a, nb)
	case genLinear:
		// Unit diagonal of random genSign plus off-diagonal entries below 0.6/size
		// in magnitude: ‖W − D‖∞ < 0.6, so cond W < 1.6/0.4 = 4.
		mk := func(m int) *tape.Var {
			w := genMatrix(v, seed, m, m, 0.6/float64(m), 0)
			d := w.Value().Data()
			for i := range m {
				d[i*m+i] += genSign(seed, uint(i%60))
			}
			return w
		}
		switch {
		case len(sh) == 1:
			return ops.MatMul(mk(sh[0]), v)
		case u < 0.5:
			return ops.MatMul(mk(sh[0]), v) // W·V: dense over rows
		default:
			return ops.MatMul(v, mk(sh[1])) // V·W: block diagonal over rows
		}
	case genCumsum:
		return ops.Cumsum(v)
	case genSwap:
		k := genPick(u, 1, sh[0]-1)
		p := ops.Split(v, k, sh[0]-k)
		return ops.Concat(p[1], p[0])
	case genResidual:
		// ‖W‖₂ ≤ ‖W‖_F ≤ 0.9, so ‖0.3·diag(tanh')·W‖ ≤ 0.27 and cond J ≤ 1.27/0.73.
		if len(sh) == 1 {
			w := genMatrix(v, seed, n, n, 0.9/float64(n), 0)
			return ops.Add(v, ops.Scale(ops.Tanh(ops.MatMul(w, v)), 0.3))
		}
		w := genMatrix(v, seed, sh[1], sh[1], 0.9/float64(sh[1]), 0)
		return ops.Add(v, ops.Scale(ops.Tanh(ops.MatMul(v, w)), 0.3))
	case genRotation:
		if n < 3 {
			return ops.Add(v, ops.Scale(ops.Sin(v), 0.3))
		}
		k := genPick(u, 1, (n-1)/2)
		p := ops.Split(ops.Reshape(v, n), k, k, n-2*k)
		a, b, rest := p[0], p[1], p[2]
		th := ops.MatMul(genMatrix(v, seed, k, n-2*k, 1, 0), rest)
		c, d := ops.Cos(th), ops.Sin(th)
		y := ops.Concat(ops.Sub(ops.Mul(a, c), ops.Mul(b, d)), ops.Add(ops.Mul(a, d), ops.Mul(b, c)), rest)
		return ops.Reshape(y, sh...)
	case genBroadcast:
		// J = I + c·1·cos(v)ᵀ, det J = 1 + c·Σ cos v ≥ 0.6.
		c := (2*u - 1) * 0.4 / float64(n)
		return ops.Add(v, ops.Scale(ops.Sum(ops.Sin(v)), c))
	case genReshape:
		if r := genRows(n); len(sh) == 1 && r > 0 {
			return ops.Reshape(v, r, n/r)
		}
		return ops.Reshape(v, n)
	case genRoll:
		// J = I + c·P(·diag cos v) with P a cyclic permutation (of rows):
		// ‖c·P·D‖₂ ≤ |c| ≤ 0.8, so cond J ≤ 1.8/0.2 = 9.
		c := genSign(seed, 0) * (0.1 + 0.7*u)
		k := 1 + int(seed>>4%uint64(sh[0]-1))
		w := v
		if seed>>1&1 == 1 {
			w = ops.Sin(v)
		}
		return ops.Add(v, ops.Scale(ops.Concat(ops.Slice(w, k, sh[0]), ops.Slice(w, 0, k)), c))
	case genShift:
		// J = I + c·S with S a shift by k rows: unit triangular, and
		// ‖J⁻¹‖ ≤ Σ|c|ʲ ≤ 5, so cond J ≤ 1.8·5 = 9.
		c := genSign(seed, 0) * (0.1 + 0.7*u)
		k := 1 + int(seed>>4%uint64(sh[0]-1))
		zero := ops.Const(v, tensor.Zeros(append([]int{k}, sh[1:]...)...))
		if seed>>1&1 == 1 {
			return ops.Add(v, ops.Scale(ops.Concat(ops.Slice(v, k, sh[0]), zero), c))
		}
		return ops.Add(v, ops.Scale(ops.Concat(zero, ops.Slice(v, 0, sh[0]-k)), c))
	case genChain:
		// Each W has singular values from 1 down to 1/cond, log-spaced, so
		// ‖W‖₂ = 1 and the chain's κ can reach cond^m (1e6 to 1e20).
		m := 2 + int(seed%3)
		cond := math.Pow(10, 3+2*u)
		rng := rand.New(rand.NewPCG(seed, 31))
		left := len(sh) == 1 || seed>>2&1 == 0
		for range m {
			if left {
				v = ops.MatMul(ops.Const(v, genCondMatrix(rng, sh[0], cond)), v)
			} else {
				v = ops.MatMul(v, ops.Const(v, genCondMatrix(rng, sh[1], cond)))
			}
		}
		return v
	case genConstPart:
		k := genPick(u, 0, sh[0]-1) // rows kept; 0: the whole output is constant
		c := genMatrix(v, seed, sh[0]-k, tensor.SizeOf(sh[1:]), 1, 0)
		c = ops.Reshape(c, append([]int{sh[0] - k}, sh[1:]...)...)
		if seed>>1&1 == 1 {
			c = ops.Exp(c) // an op of constants is a constant too
		}
		switch {
		case k == 0:
			return c
		case seed>>2&1 == 1:
			return ops.Concat(c, ops.Slice(v, sh[0]-k, sh[0]))
		default:
			return ops.Concat(ops.Slice(v, 0, k), c)
		}
	case genDropPart:
		h := (sh[0] + 1) / 2
		k := genPick(u, h, sh[0]-1) // the rows of a, at least as many as b's
		a := ops.Slice(v, 0, k)
		d := ops.Sin(ops.Slice(a, 0, sh[0]-k))
		if seed>>1&1 == 1 {
			return ops.Concat(d, a)
		}
		return ops.Concat(a, d)
	case genZeroMap:
		k := genPick(u, 0, sh[0]-1) // the rows of a, passed through
		m := sh[0] - k
		var w *tape.Var
		if seed>>1&1 == 1 && m >= 2 {
			// Diagonally dominant but for row 1, a copy of row 0: LU
			// eliminates it to an exact zero.
			w = genMatrix(v, seed, m, m, 0.5, 2)
			d := w.Value().Data()
			copy(d[m:2*m], d[:m])
		} else {
			w = ops.Const(v, tensor.Zeros(m, m))
		}
		wb := ops.MatMul(w, ops.Slice(v, k, sh[0]))
		if k == 0 {
			return wb
		}
		return ops.Concat(ops.Slice(v, 0, k), wb)
	}
	panic(fmt.Sprintf("unknown step kind %d", s.kind))
}

// propT is what the checks need of *testing.T and *rapid.T.
type propT interface {
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Logf(format string, args ...any)
}

// maxPropCond is the largest condition number of J at which the products
// are compared. The generator keeps J far better conditioned (most
// programs stay below 1e3); a rare worse one is skipped, not compared with
// a looser tolerance.
const maxPropCond = 1e6

// propTol is the relative tolerance of every comparison: both sides are
// backward stable solves, so their relative difference is of order
// cond(J)·n·ε ≤ 1e6·8·2.2e-16 ≈ 2e-9 at maxPropCond.
const propTol = 1e-8

// propRelErr is ‖got − want‖∞ / ‖want‖∞ (want ≠ 0: the vectors drawn below
// are Gaussian).
func propRelErr(got, want []float64) float64 {
	num, den := 0.0, 0.0
	for i := range want {
		num = math.Max(num, math.Abs(got[i]-want[i]))
		den = math.Max(den, math.Abs(want[i]))
	}
	if math.IsNaN(num) {
		return math.Inf(1)
	}
	return num / den
}

func genGaussian(rng *rand.Rand, shape []int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = rng.NormFloat64()
	}
	return t
}

// propCheckProgram linearizes g at x and checks the inverse products against
// the dense LU of its Jacobian: a singular g must be refused with a typed
// error (propCheckSingular), an ill-conditioned one must answer within a
// κ-scaled bound or be refused (propCheckKappa), and every other one must
// answer to propTol (propCheckAgainst).
func propCheckProgram(t propT, g genProgram, x *tensor.Tensor, seed uint64) {
	sing := g.singularity()
	lin, err := inverse.Linearize(g.f, x)
	if err != nil {
		if sing != genInvertible && propSingularErr(sing, err) {
			return
		}
		t.Fatalf("%v\nLinearize: %v", g, err)
	}
	J, err := lin.Jacobian()
	if err != nil {
		t.Fatalf("%v\nJacobian: %v", g, err)
	}
	switch {
	case sing != genInvertible:
		propCheckSingular(t, g, lin, J.Data(), sing, !g.illConditioned())
	case g.illConditioned():
		propCheckKappa(t, g, lin, J.Data(), seed)
	default:
		propCheckAgainst(t, g, lin, J.Data(), seed)
	}
}

// propCheckAgainst checks lin's inverse products against the LU of J (n×n,
// row-major): IJVP and VIJP against LU solves of J and Jᵀ, the round trips
// IJVP(JVP(t)) = t, JVP(IJVP(v)) = v, VIJP(VJP(c)) = c, VJP(VIJP(c)) = c,
// J·InverseJacobian() = I, and LogAbsDet against log|det J|.
func propCheckAgainst(t propT, g fmt.Stringer, lin *inverse.Linearization, J []float64, seed uint64) {
	n := lin.Len()
	var lu mat.LU
	lu.Factorize(mat.NewDense(n, n, slices.Clone(J)))
	if c := lu.Cond(); !(c <= maxPropCond) {
		t.Skipf("%v: cond J = %g, over %g", g, c, maxPropCond)
	}
	rng := rand.New(rand.NewPCG(seed, 23))
	inShape, outShape := lin.Input().Shape(), lin.Output().Shape()
	cmp := func(what string, got, want []float64) {
		if e := propRelErr(got, want); !(e <= propTol) {
			t.Errorf("%v\n%s: relative error %.3g > %g\n got %v\nwant %v", g, what, e, propTol, got, want)
		}
	}
	solve := func(trans bool, b []float64) []float64 {
		var x mat.VecDense
		if err := lu.SolveVecTo(&x, trans, mat.NewVecDense(n, slices.Clone(b))); err != nil {
			t.Fatalf("%v\ndense LU solve: %v", g, err)
		}
		return x.RawVector().Data
	}
	// must unwraps a product; the errors of package inverse name the product.
	must := func(r *tensor.Tensor, err error) []float64 {
		if err != nil {
			t.Fatalf("%v\n%v", g, err)
		}
		return r.Data()
	}

	dy := genGaussian(rng, outShape)
	dx := must(lin.IJVP(dy))
	cmp("IJVP(dy) against the LU solve of J dx = dy", dx, solve(false, dy.Data()))
	cmp("JVP(IJVP(dy)) = dy", must(lin.JVP(tensor.New(inShape, dx))), dy.Data())

	tv := genGaussian(rng, inShape)
	cmp("IJVP(JVP(t)) = t", must(lin.IJVP(tensor.New(outShape, must(lin.JVP(tv))))), tv.Data())

	{
		cx := genGaussian(rng, inShape)
		cy := must(lin.VIJP(cx))
		cmp("VIJP(cx) against the LU solve of Jᵀ cy = cx", cy, solve(true, cx.Data()))
		cmp("VJP(VIJP(cx)) = cx", must(lin.VJP(tensor.New(outShape, cy))), cx.Data())
		cv := genGaussian(rng, outShape)
		cmp("VIJP(VJP(c)) = c", must(lin.VIJP(tensor.New(inShape, must(lin.VJP(cv))))), cv.Data())
	}

	// J·InverseJacobian() = I: the residual of backward-stable solves is
	// of order cond(J)·ε, far below propTol.
	K := must(lin.InverseJacobian())
	var prod mat.Dense
	prod.Mul(mat.NewDense(n, n, slices.Clone(J)), mat.NewDense(n, n, K))
	for i := range n {
		for j := range n {
			want := 0.0
			if i == j {
				want = 1
			}
			if d := prod.At(i, j) - want; !(math.Abs(d) <= propTol) {
				t.Errorf("%v\n(J·InverseJacobian())[%d,%d] = %.15g, want %g", g, i, j, prod.At(i, j), want)
			}
		}
	}

	ld, err := lin.LogAbsDet()
	if err != nil {
		t.Fatalf("%v\nLogAbsDet: %v", g, err)
	}
	// log|det| moves by at most tr(J⁻¹ δJ) ≲ n·cond·ε under the solves'
	// backward errors: the same 1e-8, absolute for |log det| ≤ 1.
	want, _ := lu.LogDet()
	if !(math.Abs(ld-want) <= propTol*math.Max(1, math.Abs(want))) {
		t.Errorf("%v\nLogAbsDet = %.15g, log|det J| from the LU = %.15g", g, ld, want)
	}
}

// genDrawStep draws a step's kind as an integer d ∈ [0, genKindDraws) that
// genKindOf maps to a kind: genRegularWeight values per regular kind, then
// genRareWeight per rare kind, then one more regular value. rapid draws
// small integers and the maximum more often than the others (from 11% of
// the steps for d = 0 down to 0.4% near d = 100, and 3% for the maximum),
// so the last value is a regular kind's and the rare kinds each come in
// about 0.8% of the steps: about one program in seven (4.5 steps on
// average) has a rare step, and the property test keeps most of its draws
// for invertible programs.
const (
	genRegularWeight = 4
	genRareWeight    = 2
	genRareLo        = genRegularWeight * int(genFirstRare)                    // the first rare value
	genRareHi        = genRareLo + genRareWeight*int(numGenSteps-genFirstRare) // past the last one
	genKindDraws     = genRareHi + 1
)

// genKindOf maps a draw in [0, genKindDraws) to a kind. Draw 0 (rapid's
// shrink target) is tanh.
func genKindOf(d int) genStepKind {
	if d >= genRareLo && d < genRareHi {
		return genFirstRare + genStepKind((d-genRareLo)/genRareWeight)
	}
	return genStepKind(d % int(genFirstRare))
}

// genDrawStep draws step i.
func genDrawStep(t *rapid.T, i int, kinds *rapid.Generator[int]) genStep {
	return genStep{
		kind: genKindOf(kinds.Draw(t, fmt.Sprintf("kind%d", i))),
		u:    rapid.Float64Range(0, 1).Draw(t, fmt.Sprintf("u%d", i)),
		seed: rapid.Uint64().Draw(t, fmt.Sprintf("seed%d", i)),
	}
}

// genDraw draws a program and a point.
func genDraw(t *rapid.T) (genProgram, *tensor.Tensor) {
	g := genProgram{n: rapid.IntRange(2, 8).Draw(t, "n"), twoD: rapid.Bool().Draw(t, "twoD")}
	k := rapid.IntRange(1, maxGenSteps).Draw(t, "steps")
	for i := range k {
		g.steps = append(g.steps, genDrawStep(t, i, rapid.IntRange(0, genKindDraws-1)))
	}
	xs := rapid.SliceOfN(rapid.Float64Range(-1, 1), g.n, g.n).Draw(t, "x")
	return g, tensor.New(g.shape(), xs)
}

// TestInverseProductsOnRandomPrograms is the property test: for random
// invertible programs at random points, the inverse products agree with
// the dense LU of the Jacobian and undo the forward products; for the
// ill-conditioned and singular ones genDraw mixes in now and then, they
// are within a κ-scaled bound or refused with a typed error.
func TestInverseProductsOnRandomPrograms(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g, x := genDraw(t)
		propCheckProgram(t, g, x, rapid.Uint64().Draw(t, "vectors"))
	})
}

// genDecode is the fuzz target's decoder: byte 0 picks n = 2 + (b&0x7f)%7
// and (bit 7) the 2-D form; then each pair of bytes is a step, the first
// picking its kind (b % numGenSteps: the rare kinds as often as the
// others, and a byte below numGenSteps is that kind) and the second its parameter
// u = b/256; the seed of a step's constants is made of both bytes and its
// position. At most maxGenSteps steps are read; a trailing odd byte is
// ignored. x is drawn in [-1, 1)ⁿ from a hash of the whole string.
func genDecode(data []byte) (genProgram, *tensor.Tensor, uint64) {
	h := fnv.New64a()
	h.Write(data)
	hash := h.Sum64()
	var g genProgram
	if len(data) == 0 {
		g.n = 2
	} else {
		g.n, g.twoD = 2+int(data[0]&0x7f)%7, data[0]&0x80 != 0
		data = data[1:]
	}
	for i := 0; len(data) >= 2 && i < maxGenSteps; i++ {
		var b [8]byte
		b[0], b[1], b[2] = data[0], data[1], byte(i)
		g.steps = append(g.steps, genStep{
			kind: genStepKind(int(data[0]) % int(numGenSteps)),
			u:    float64(data[1]) / 256,
			seed: binary.LittleEndian.Uint64(b[:]) * 0x9e3779b97f4a7c15,
		})
		data = data[2:]
	}
	rng := rand.New(rand.NewPCG(hash, 29))
	x := tensor.Zeros(g.shape()...)
	for i := range x.Data() {
		x.Data()[i] = 2*rng.Float64() - 1
	}
	return g, x, hash
}

// FuzzInverseProgram decodes a byte string into a program (genDecode)
// and checks the inverse products as the property test does. The seed
// corpus has one program per step kind, on 1-D and 2-D inputs, and a few
// longer chains.
func FuzzInverseProgram(f *testing.F) {
	for k := range int(numGenSteps) {
		f.Add([]byte{6, byte(k), 100})           // n = 8, one step
		f.Add([]byte{0x80 | 4, byte(k), 200, 5}) // n = 6 as [2, 3], one step
	}
	f.Add([]byte{})
	f.Add([]byte{3, byte(genCoupling), 17, byte(genRotation), 99, byte(genSwap), 1, byte(genSinRes), 250})
	f.Add([]byte{0x80 | 6, byte(genReshape), 0, byte(genLinear), 200, byte(genCumsum), 3, byte(genBroadcast), 77,
		byte(genDivCoupling), 128, byte(genResidual), 9, byte(genSquare), 1, byte(genCube), 2})
	f.Add([]byte{0, byte(genRotation), 0, byte(genCoupling), 255, byte(genTanh), 255})
	f.Add([]byte{6, byte(genRoll), 200, byte(genCoupling), 40, byte(genShift), 90, byte(genRoll), 7})
	f.Add([]byte{0x80 | 6, byte(genChain), 255, byte(genResidual), 50, byte(genChain), 128})
	f.Add([]byte{5, byte(genChain), 200, byte(genConstPart), 30, byte(genCumsum), 0})
	f.Add([]byte{0x80 | 2, byte(genZeroMap), 10, byte(genRoll), 100})
	f.Add([]byte{6, byte(genSinRes), 60, byte(genDropPart), 250, byte(genLinear), 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		g, x, seed := genDecode(data)
		propCheckProgram(t, g, x, seed)
	})
}

// propRecorder is a propT that records failures instead of failing, to test
// the checks themselves.
type propRecorder struct{ errs, fatals, skips []string }

type propStop struct{}

func (r *propRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *propRecorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	panic(propStop{})
}
func (r *propRecorder) Skipf(format string, args ...any) {
	r.skips = append(r.skips, fmt.Sprintf(format, args...))
	panic(propStop{})
}
func (r *propRecorder) Logf(string, ...any) {}

func (r *propRecorder) run(f func()) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(propStop); !ok {
				panic(p)
			}
		}
	}()
	f()
}

// TestPropertyChecksCanFail tests the tester: the checks pass on a program
// against its own Jacobian, and fail against the Jacobian of a slightly
// different program (one step's parameter moved) and against an
// ill-conditioned matrix they must refuse to compare with.
func TestPropertyChecksCanFail(t *testing.T) {
	g := genProgram{n: 6, steps: []genStep{
		{kind: genCoupling, u: 0.4, seed: 11}, {kind: genSinRes, u: 0.9, seed: 2}, {kind: genLinear, u: 0.2, seed: 5},
	}}
	x := tensor.New(g.shape(), []float64{0.3, -0.7, 0.1, 0.9, -0.2, 0.5})
	lin, err := inverse.Linearize(g.f, x)
	if err != nil {
		t.Fatal(err)
	}
	own, err := lin.Jacobian()
	if err != nil {
		t.Fatal(err)
	}
	var ok propRecorder
	ok.run(func() { propCheckAgainst(&ok, g, lin, own.Data(), 1) })
	if len(ok.errs)+len(ok.fatals)+len(ok.skips) > 0 {
		t.Fatalf("checks fail on a correct program: %v %v %v", ok.errs, ok.fatals, ok.skips)
	}

	other := g
	other.steps = slices.Clone(g.steps)
	other.steps[1].u = 0.8 // c moves from 0.36 to 0.27 in v + c·sin v
	lin2, err := inverse.Linearize(other.f, x)
	if err != nil {
		t.Fatal(err)
	}
	J2, err := lin2.Jacobian()
	if err != nil {
		t.Fatal(err)
	}
	var bad propRecorder
	bad.run(func() { propCheckAgainst(&bad, g, lin, J2.Data(), 1) })
	// The products are right for g, so every comparison with the other
	// Jacobian fails and every round trip passes.
	for _, want := range []string{"IJVP(dy) against", "VIJP(cx) against", "InverseJacobian", "LogAbsDet"} {
		if !slices.ContainsFunc(bad.errs, func(e string) bool { return strings.Contains(e, want) }) {
			t.Errorf("against another program's Jacobian, no failure of %q:\n%s", want, strings.Join(bad.errs, "\n"))
		}
	}
	for _, e := range bad.errs {
		if strings.Contains(e, ") = ") && !strings.Contains(e, "InverseJacobian") {
			t.Errorf("a round trip failed on a correct program: %s", e)
		}
	}

	sing := slices.Clone(own.Data())
	for j := range 6 {
		sing[6+j] = sing[j] * (1 + 1e-12) // row 1 ≈ row 0
	}
	var skip propRecorder
	skip.run(func() { propCheckAgainst(&skip, g, lin, sing, 1) })
	if len(skip.skips) != 1 {
		t.Errorf("an ill-conditioned reference was not refused: %v %v", skip.errs, skip.skips)
	}
}

// TestDecodeProgram pins the decoder: every byte string decodes to a valid
// program with at most maxGenSteps steps, deterministically.
func TestDecodeProgram(t *testing.T) {
	g, x, _ := genDecode([]byte{0x80 | 4, byte(genSwap), 128, byte(genTanh), 0, 7})
	if g.n != 6 || !slices.Equal(x.Shape(), []int{2, 3}) || len(g.steps) != 2 ||
		g.steps[0].kind != genSwap || g.steps[0].u != 0.5 || g.steps[1].kind != genTanh {
		t.Errorf("decoded %v with x%v", g, x.Shape())
	}
	g2, x2, _ := genDecode([]byte{0x80 | 4, byte(genSwap), 128, byte(genTanh), 0, 7})
	if g2.String() != g.String() || !slices.Equal(x2.Data(), x.Data()) {
		t.Errorf("decoding is not deterministic: %v, %v", g, g2)
	}
	long := make([]byte, 100)
	for i := range long {
		long[i] = byte(i * 37)
	}
	if g, _, _ := genDecode(long); len(g.steps) != maxGenSteps {
		t.Errorf("%d steps from 100 bytes, want at most %d", len(g.steps), maxGenSteps)
	}
	// Every kind, the rare ones included, is the byte of its number (the
	// seed corpus relies on it) and comes back every numGenSteps bytes.
	for k := range numGenSteps {
		for _, b := range []byte{byte(k), byte(k) + byte(numGenSteps)} {
			if g, _, _ := genDecode([]byte{6, b, 0}); len(g.steps) != 1 || g.steps[0].kind != k {
				t.Errorf("byte %d decoded to %v, want %v", b, g, k)
			}
		}
	}
}

// hasMultiAtomOp reports whether lin's program has the pattern of a fixed
// VIJP bug (TestVIJPKeepsEveryAtomOfAnOp): a lump holding two or more
// equation atoms of one op, a later one of which is an output equation or
// the equation of a value read outside the lump. The regression test uses
// it to make sure its programs still exercise that path.
func hasMultiAtomOp(lin *inverse.Linearization) bool {
	an, err := lump.Analyze(lin.Program(), 0)
	if err != nil {
		return false
	}
	for li, l := range an.Lumps {
		if l.Kind == lump.Step {
			// A step whose pivot is a base value takes a fast path that
			// handles the op's whole output at once (sweep/exec.go, the kStep lumps).
			in := l.Node.In[l.Input]
			if segs := an.Segs(in); len(segs) == 1 && segs[0].Var == in.ID() {
				continue
			}
		}
		seen := map[*tape.Node]bool{}
		for _, q := range l.Eqs {
			eq := an.Eqs[q]
			if eq.Node == nil {
				continue
			}
			if seen[eq.Node] && (eq.Out || eq.Self >= 0 && an.LumpOf[eq.Self] != li) {
				return true
			}
			seen[eq.Node] = true
		}
	}
	return false
}

// TestVIJPKeepsEveryAtomOfAnOp: when an op's output is cut into several
// atoms (a Split reads it, or it is elementwise in a value that is cut)
// and two of its equation atoms land in one lump, VIJP must hand the λ of
// each of them on: to cy for an output equation, to the accumulator of its
// own value otherwise.
func TestVIJPKeepsEveryAtomOfAnOp(t *testing.T) {
	W := tensor.New([]int{3, 3}, []float64{1.5, 0.3, -0.2, -0.2, 1.4, 0.1, 0.3, -0.1, 1.6})
	cases := []struct {
		name, reason string
		f            func(x *tape.Var) *tape.Var
	}{
		{name: "W·concat(b, a), output swapped", reason: "a step lump (its pivot a relabelling, so the general path) holds both atoms of W·v; y pins each",
			f: func(x *tape.Var) *tape.Var {
				p := ops.Split(x, 1, 2)
				q := ops.Split(ops.MatMul(ops.Const(x, W), ops.Concat(p[1], p[0])), 1, 2)
				return ops.Concat(q[1], q[0])
			}},
		{name: "residual on swapped halves", reason: "y = x + 0.3 tanh(W·concat(b, a)) is cut like x; one dense lump holds both atoms of y",
			f: func(x *tape.Var) *tape.Var {
				p := ops.Split(x, 1, 2)
				return ops.Add(x, ops.Scale(ops.Tanh(ops.MatMul(ops.Const(x, W), ops.Concat(p[1], p[0]))), 0.3))
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := tensor.New([]int{3}, []float64{0.4, -0.3, 0.8})
			lin, err := inverse.Linearize(c.f, x)
			if err != nil {
				t.Fatal(err)
			}
			if !hasMultiAtomOp(lin) {
				t.Errorf("hasMultiAtomOp is false: the program no longer exercises several atoms of one op in a lump")
			}
			J, err := lin.Jacobian()
			if err != nil {
				t.Fatal(err)
			}
			var lu mat.LU
			lu.Factorize(mat.NewDense(3, 3, J.Data()))
			cx := tensor.New([]int{3}, []float64{1, -2, 0.5})
			cy, err := lin.VIJP(cx)
			if err != nil {
				t.Fatal(err)
			}
			var want mat.VecDense
			if err := lu.SolveVecTo(&want, true, mat.NewVecDense(3, slices.Clone(cx.Data()))); err != nil {
				t.Fatal(err)
			}
			// cond J < 10 here: 1e-12 is rounding with room to spare.
			if e := propRelErr(cy.Data(), want.RawVector().Data); !(e <= 1e-12) {
				t.Errorf("VIJP = %v, LU solve of Jᵀ cy = cx gives %v (%s)", cy.Data(), want.RawVector().Data, c.reason)
			}
		})
	}
}
