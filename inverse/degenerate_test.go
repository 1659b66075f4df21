package inverse_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
	"pgregory.net/rapid"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// This file holds the checks of the generator's rare programs (see
// genFirstRare): the ill-conditioned ones, made with genChain, and the
// singular ones, made with genConstPart, genDropPart and genZeroMap.

// propKappaC is the constant of the κ-scaled bound C·κ·ε on the relative
// error of an ill-conditioned program's inverse products against the dense
// LU solve. Both sides solve a system within a small backward error of J:
// the LU of the dense J has ‖δJ‖ ≲ n·ε·‖J‖, and the lumps compose to
// ‖δJ‖ ≲ m·ε·∏‖A_i‖ over the lumps A_i, where the chain's constants have
// ‖W‖₂ = 1 and every other lump cond ≤ 10. So each side's relative error
// is a modest multiple of κ·ε: at n ≤ 8 the measured ratio
// relative error / (κ·ε) of IJVP stayed below 4 over 6000 solves of
// random chains (below 0.7 over 5000 programs drawn by genDraw), and 1e3
// leaves a margin of 250.
const propKappaC = 1e3

// propEps is ε = 2⁻⁵², the spacing of float64 at 1.
const propEps = 0x1p-52

// propSingularCond is the least condition number (gonum's LU estimate) of
// the dense J of a generated singular program without a genChain step: J
// has exactly zero rows or columns, or a rank lost in exact arithmetic,
// and rounding leaves σ_min ≲ n·ε·σ_max: the least measured over 20000
// drawn programs was 1.2e16, and 1e12 leaves room.
const propSingularCond = 1e12

// propSingularErr reports whether err is the refusal a program of
// singularity s owes: lump.ErrStructurallySingular, or for a numerically
// singular program also tape.ErrSingular (a lump whose LU meets a zero
// or tiny pivot).
func propSingularErr(s genSingularity, err error) bool {
	if errors.Is(err, lump.ErrStructurallySingular) {
		return true
	}
	return s == genNumericallySingular && errors.Is(err, tape.ErrSingular)
}

func (s genSingularity) String() string {
	switch s {
	case genStructurallySingular:
		return "lump.ErrStructurallySingular"
	case genNumericallySingular:
		return "lump.ErrStructurallySingular or tape.ErrSingular"
	}
	return "no error"
}

// propCheckSingular checks that every inverse product of lin, whose J is
// singular, is refused with the error propSingularErr expects, never a
// silent answer; with checkJ it first checks that J (n×n, row-major) is
// singular to rounding, which tests the generator.
func propCheckSingular(t propT, g fmt.Stringer, lin *inverse.Linearization, J []float64, s genSingularity, checkJ bool) {
	n := lin.Len()
	if checkJ {
		var lu mat.LU
		lu.Factorize(mat.NewDense(n, n, slices.Clone(J)))
		if c := lu.Cond(); c < propSingularCond {
			t.Errorf("%v\nthe generator's singular program has cond J = %.3g, below %g", g, c, propSingularCond)
		}
	}
	check := func(what string, err error) {
		switch {
		case err == nil:
			t.Errorf("%v\n%s: an answer for a singular J, want %v", g, what, s)
		case !propSingularErr(s, err):
			t.Errorf("%v\n%s: err = %v, want %v", g, what, err, s)
		}
	}
	inShape, outShape := lin.Input().Shape(), lin.Output().Shape()
	ones := func(shape []int) *tensor.Tensor {
		v := tensor.Zeros(shape...)
		v.Fill(1)
		return v
	}
	_, err := lin.IJVP(ones(outShape))
	check("IJVP", err)
	_, err = lin.VIJP(ones(inShape))
	check("VIJP", err)
	_, err = lin.LogAbsDet()
	check("LogAbsDet", err)
	_, err = lin.InverseJacobian()
	check("InverseJacobian", err)
	_, err = lin.Lumps()
	check("Lumps", err)
	_, err = lin.Cond()
	check("Cond", err)
}

// propRefusal reports whether err is a refusal an invertible but
// ill-conditioned program may get: a lump too singular to solve
// (tape.ErrSingular) or too large (lump.ErrLumpTooLarge). Such a program
// has full width, so lump.ErrStructurallySingular is not one.
func propRefusal(err error) bool {
	return errors.Is(err, tape.ErrSingular) || errors.Is(err, lump.ErrLumpTooLarge)
}

// propCheckKappa checks lin's inverse products against the LU of J (n×n,
// row-major), which may be ill-conditioned: with κ = cond₂(J) from its
// SVD, every product is within the relative error propKappaC·κ·ε of the
// dense solve (IJVP, VIJP, InverseJacobian; the residuals of the round
// trips JVP(IJVP(dy)) = dy and VJP(VIJP(cx)) = cx; LogAbsDet absolutely,
// within n times that), or refused (propRefusal). Where the bound reaches
// 1 no digit is owed, and only a finite answer or a refusal is checked; a
// refusal of a J with κ ≤ maxPropCond, which the regular programs show the
// products solve to propTol, is a failure.
func propCheckKappa(t propT, g fmt.Stringer, lin *inverse.Linearization, J []float64, seed uint64) {
	n := lin.Len()
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(n, n, slices.Clone(J)), mat.SVDNone) {
		t.Fatalf("%v\nthe SVD of J did not converge", g)
	}
	kappa := svd.Cond()
	bound := propKappaC * kappa * propEps
	var lu mat.LU
	lu.Factorize(mat.NewDense(n, n, slices.Clone(J)))
	rng := rand.New(rand.NewPCG(seed, 37))
	inShape, outShape := lin.Input().Shape(), lin.Output().Shape()

	// ok reports whether a product answered; it fails on an error that is
	// not a refusal, or one at κ ≤ maxPropCond.
	ok := func(what string, err error) bool {
		switch {
		case err == nil:
			return true
		case !propRefusal(err):
			t.Errorf("%v\n%s at κ = %.3g: err = %v, want an answer or a typed refusal", g, what, kappa, err)
		case kappa <= maxPropCond:
			t.Errorf("%v\n%s at κ = %.3g ≤ %g: refused (%v)", g, what, kappa, maxPropCond, err)
		}
		return false
	}
	cmp := func(what string, got, want []float64) {
		if bound >= 1 {
			// The reference may be as far off: only got is checked.
			if slices.ContainsFunc(got, func(v float64) bool { return math.IsInf(v, 0) || math.IsNaN(v) }) {
				t.Errorf("%v\n%s at κ = %.3g: not finite\n got %v", g, what, kappa, got)
			}
			return
		}
		if e := propRelErr(got, want); !(e <= bound) {
			t.Errorf("%v\n%s: relative error %.3g > C·κ·ε = %.3g (κ = %.3g)\n got %v\nwant %v", g, what, e, bound, kappa, got, want)
		}
	}
	solve := func(trans bool, b []float64) []float64 {
		var x mat.VecDense
		if err := lu.SolveVecTo(&x, trans, mat.NewVecDense(n, slices.Clone(b))); err != nil && bound < 1 {
			t.Fatalf("%v\ndense LU solve at κ = %.3g: %v", g, kappa, err)
		}
		return x.RawVector().Data
	}
	// fwd runs a forward product, JVP or VJP, which never fails on a
	// program that linearized.
	fwd := func(f func(*tensor.Tensor) (*tensor.Tensor, error), shape []int, v []float64) []float64 {
		r, err := f(tensor.New(shape, v))
		if err != nil {
			t.Fatalf("%v\n%v", g, err)
		}
		return r.Data()
	}

	dy := genGaussian(rng, outShape)
	if dx, err := lin.IJVP(dy); ok("IJVP", err) {
		cmp("IJVP(dy) against the LU solve of J dx = dy", dx.Data(), solve(false, dy.Data()))
		cmp("JVP(IJVP(dy)) = dy", fwd(lin.JVP, inShape, dx.Data()), dy.Data())
	}
	cx := genGaussian(rng, inShape)
	if cy, err := lin.VIJP(cx); ok("VIJP", err) {
		cmp("VIJP(cx) against the LU solve of Jᵀ cy = cx", cy.Data(), solve(true, cx.Data()))
		cmp("VJP(VIJP(cx)) = cx", fwd(lin.VJP, outShape, cy.Data()), cx.Data())
	}
	if K, err := lin.InverseJacobian(); ok("InverseJacobian", err) && bound < 1 {
		// Row i of K is input i: column j of K is the solve of J x = e_j.
		want := make([]float64, n*n)
		for j := range n {
			e := make([]float64, n)
			e[j] = 1
			for i, v := range solve(false, e) {
				want[i*n+j] = v
			}
		}
		cmp("InverseJacobian against the LU inverse", K.Data(), want)
	}
	if ld, err := lin.LogAbsDet(); ok("LogAbsDet", err) {
		// log|det| moves by |tr(J⁻¹ δJ)| ≤ n·κ·‖δJ‖/‖J‖ under either side's
		// backward error.
		want, _ := lu.LogDet()
		if d := math.Abs(ld - want); bound < 1 && !(d <= float64(n)*bound) || math.IsNaN(ld) || math.IsInf(ld, 0) {
			t.Errorf("%v\nLogAbsDet = %.15g, log|det J| from the LU = %.15g: off by %.3g > n·C·κ·ε = %.3g (κ = %.3g)",
				g, ld, want, d, float64(n)*bound, kappa)
		}
	}
}

// TestDegeneratePrograms is the property test of the rare kinds: a random
// program (genDraw) with one rare step put in at a random place is refused
// with a typed error if singular, and answers within the κ-scaled bound or
// is refused if ill-conditioned.
func TestDegeneratePrograms(t *testing.T) {
	rare := rapid.IntRange(genRareLo, genRareHi-1)
	rapid.Check(t, func(t *rapid.T) {
		g, x := genDraw(t)
		at := rapid.IntRange(0, len(g.steps)).Draw(t, "at")
		g.steps = slices.Insert(g.steps, at, genDrawStep(t, len(g.steps), rare))
		propCheckProgram(t, g, x, rapid.Uint64().Draw(t, "vectors"))
	})
}

// TestDegenerateKinds pins the rare kinds: genKindOf reaches each of them
// (and each regular one), and genChain reaches the condition numbers it is
// there for.
func TestDegenerateKinds(t *testing.T) {
	seen := map[genStepKind]bool{}
	for d := range genKindDraws {
		seen[genKindOf(d)] = true
	}
	if len(seen) != int(numGenSteps) {
		t.Errorf("genKindOf reaches %d kinds of %d", len(seen), numGenSteps)
	}
	if len(genNames) != int(numGenSteps) {
		t.Errorf("%d names for %d kinds", len(genNames), numGenSteps)
	}
	// A chain of four constants of cond 1e5 (u = 1, seed%3 = 2): κ = 1e20
	// in exact arithmetic, far past 1e12 in floating point.
	g := genProgram{n: 6, steps: []genStep{{kind: genChain, u: 1, seed: 5}}}
	x := tensor.New(g.shape(), []float64{0.3, -0.7, 0.1, 0.9, -0.2, 0.5})
	lin, err := inverse.Linearize(g.f, x)
	if err != nil {
		t.Fatal(err)
	}
	J, err := lin.Jacobian()
	if err != nil {
		t.Fatal(err)
	}
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(6, 6, J.Data()), mat.SVDNone) || !(svd.Cond() >= 1e12) {
		t.Errorf("%v: κ = %.3g, want at least 1e12", g, svd.Cond())
	}
}

// TestDegenerateLargeStencils runs the shift and roll steps at n = 128
// against the dense LU: on x ∈ Rⁿ a roll by k rows is gcd(k, n) cycles,
// here one n×n block coupling every element (k = 3 and 81), on
// x ∈ R^{2×64} 64 blocks of 2×2 (the analysis is quadratic in the number
// of cuts: n stays at a few hundred).
func TestDegenerateLargeStencils(t *testing.T) {
	const n = 128 // InverseJacobian (n IJVPs) dominates, at about 0.1 s
	for _, c := range []struct {
		g     genProgram
		block string // the roll's lump's structure (sweep.LumpInfo.Structure)
	}{
		{genProgram{n: n, steps: []genStep{{kind: genRoll, u: 0.9, seed: 0x21}, {kind: genTanh}, {kind: genShift, u: 0.5, seed: 0x73}}}, "1 blocks 128×128"},
		{genProgram{n: n, steps: []genStep{{kind: genShift, u: 1, seed: 0x10}, {kind: genRoll, u: 0.4, seed: 0x502}}}, "1 blocks 128×128"},
		{genProgram{n: n, twoD: true, steps: []genStep{{kind: genRoll, u: 0.7, seed: 0x12}, {kind: genTanh}}}, "64 blocks 2×2"},
	} {
		x := tensor.Zeros(c.g.shape()...)
		for i := range x.Data() {
			x.Data()[i] = math.Sin(float64(i))
		}
		propCheckProgram(t, c.g, x, 1)
		lin, err := inverse.Linearize(c.g.f, x)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := lin.Lumps()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(ls, func(l inverse.LumpInfo) bool { return strings.HasPrefix(l.Structure, c.block) }) {
			t.Errorf("%v: no lump of %s: %+v", c.g, c.block, ls)
		}
	}
}

// TestDegenerateChecksCanFail tests the checks of the rare programs:
// propCheckSingular fails on an invertible program and on a refusal of the
// wrong kind, and passes on a singular one; propCheckKappa passes on an
// ill-conditioned program against its own Jacobian, and fails against
// another one's, on a refusal of a well-conditioned J and on a
// structurally singular error.
func TestDegenerateChecksCanFail(t *testing.T) {
	x := tensor.New([]int{6}, []float64{0.3, -0.7, 0.1, 0.9, -0.2, 0.5})
	linJ := func(g genProgram) (*inverse.Linearization, []float64) {
		t.Helper()
		lin, err := inverse.Linearize(g.f, x)
		if err != nil {
			t.Fatal(err)
		}
		J, err := lin.Jacobian()
		if err != nil {
			t.Fatal(err)
		}
		return lin, J.Data()
	}
	has := func(r *propRecorder, want string) bool {
		return slices.ContainsFunc(r.errs, func(e string) bool { return strings.Contains(e, want) })
	}
	clean := func(what string, r *propRecorder) {
		t.Helper()
		if len(r.errs)+len(r.fatals)+len(r.skips) > 0 {
			t.Errorf("%s: %v %v %v", what, r.errs, r.fatals, r.skips)
		}
	}

	regular := genProgram{n: 6, steps: []genStep{{kind: genCoupling, u: 0.4, seed: 11}, {kind: genRoll, u: 0.9, seed: 2}}}
	zero := genProgram{n: 6, steps: []genStep{{kind: genSinRes, u: 0.9, seed: 2}, {kind: genZeroMap, u: 0.5, seed: 0}}}
	drop := genProgram{n: 6, steps: []genStep{{kind: genDropPart, u: 0.2, seed: 0}, {kind: genResidual, u: 0.5, seed: 3}}}
	chain := genProgram{n: 6, steps: []genStep{{kind: genChain, u: 0.2, seed: 4}, {kind: genSinRes, u: 0.1, seed: 1}}}
	chain2 := genProgram{n: 6, steps: []genStep{{kind: genChain, u: 0.2, seed: 7}, {kind: genSinRes, u: 0.1, seed: 1}}}

	linR, JR := linJ(regular)
	var r propRecorder
	r.run(func() { propCheckSingular(&r, regular, linR, JR, genStructurallySingular, true) })
	for _, want := range []string{"below", "IJVP: an answer", "VIJP: an answer", "LogAbsDet: an answer", "InverseJacobian: an answer"} {
		if !has(&r, want) {
			t.Errorf("propCheckSingular on an invertible program: no failure %q:\n%s", want, strings.Join(r.errs, "\n"))
		}
	}

	linZ, JZ := linJ(zero)
	var wrong, right propRecorder
	wrong.run(func() { propCheckSingular(&wrong, zero, linZ, JZ, genStructurallySingular, true) })
	if !has(&wrong, "IJVP: err = ") {
		t.Errorf("a tape.ErrSingular passed for lump.ErrStructurallySingular: %v", wrong.errs)
	}
	right.run(func() { propCheckSingular(&right, zero, linZ, JZ, genNumericallySingular, true) })
	clean("propCheckSingular on W = 0", &right)
	linD, JD := linJ(drop)
	var d propRecorder
	d.run(func() { propCheckSingular(&d, drop, linD, JD, genStructurallySingular, true) })
	clean("propCheckSingular on a dropped part", &d)

	linC, JC := linJ(chain)
	_, JC2 := linJ(chain2)
	var own, other propRecorder
	own.run(func() { propCheckKappa(&own, chain, linC, JC, 1) })
	clean("propCheckKappa against its own Jacobian", &own)
	other.run(func() { propCheckKappa(&other, chain, linC, JC2, 1) })
	for _, want := range []string{"IJVP(dy) against", "VIJP(cx) against", "InverseJacobian against", "LogAbsDet"} {
		if !has(&other, want) {
			t.Errorf("propCheckKappa against another chain's Jacobian: no failure %q:\n%s", want, strings.Join(other.errs, "\n"))
		}
	}
	var refused, structural propRecorder
	refused.run(func() { propCheckKappa(&refused, zero, linZ, JR, 1) }) // tape.ErrSingular with κ(JR) < 10
	if !has(&refused, "refused") {
		t.Errorf("propCheckKappa passed a refusal of a well-conditioned J: %v", refused.errs)
	}
	structural.run(func() { propCheckKappa(&structural, drop, linD, JC, 1) })
	if !has(&structural, "want an answer or a typed refusal") {
		t.Errorf("propCheckKappa passed lump.ErrStructurallySingular: %v", structural.errs)
	}
}
