package opstest_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/ops/opstest"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Test the tester: every deliberately wrong op below must make Check fail,
// with a failure of the check meant to catch it, while the correct ops they
// wrap pass.

var shape = []int{2, 3}

func expRef(in [][]float64) []float64 {
	out := make([]float64, len(in[0]))
	for i, x := range in[0] {
		out[i] = math.Exp(x)
	}
	return out
}

func mulRef(in [][]float64) []float64 {
	out := make([]float64, len(in[0]))
	for i := range out {
		out[i] = in[0][i] * in[1][i]
	}
	return out
}

func sumRef(in [][]float64) []float64 {
	s := 0.0
	for _, v := range in[0] {
		s += v
	}
	return []float64{s}
}

// expCase, mulCase and sumCase are correct rows the wrong ops replace the op
// of. mulCase has a singular point so that the singular check runs.
func expCase(op tape.Op) opstest.Case {
	return opstest.Case{Name: "exp", Op: op, Inputs: []opstest.Input{{Shape: shape}}, Out: shape, Ref: expRef,
		BadShapes: [][][]int{{{2}, {2}}}}
}

func mulCase(op tape.Op) opstest.Case {
	return opstest.Case{Name: "mul", Op: op, Inputs: []opstest.Input{{Shape: shape}, {Shape: shape}}, Out: shape, Ref: mulRef,
		SingularAt: []opstest.Singular{{Input: 0, Values: [][]float64{{1, 1, 1, 1, 1, 1}, {1, 2, 0, 1, 1, 1}}}}}
}

func mulConstCase(op tape.Op) opstest.Case {
	c := mulCase(op)
	c.Inputs[1].Const = true
	return c
}

func sumCase(op tape.Op) opstest.Case {
	return opstest.Case{Name: "sum", Op: op, Inputs: []opstest.Input{{Shape: shape}}, Out: nil, Ref: sumRef}
}

// jvpScaled's JVP is off by a factor.
type jvpScaled struct{ tape.Op }

func (o jvpScaled) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	o.Op.JVP(dst, in, out, t)
	for i := range dst.Data() {
		dst.Data()[i] *= 1.01
	}
}

// jvpFirstOnly ignores every tangent but the first one set.
type jvpFirstOnly struct{ tape.Op }

func (o jvpFirstOnly) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	t = slices.Clone(t)
	if t[0] != nil {
		t[1] = nil
	}
	o.Op.JVP(dst, in, out, t)
}

// vjpWrites overwrites its accumulators instead of adding into them.
type vjpWrites struct{ tape.Op }

func (o vjpWrites) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	for _, d := range dst {
		if d != nil {
			d.Fill(0)
		}
	}
	o.Op.VJP(dst, in, out, c)
}

// vjpScaled's VJP is off by a factor (its JVP is right).
type vjpScaled struct{ tape.Op }

func (o vjpScaled) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	c2 := c.Clone()
	for i := range c2.Data() {
		c2.Data()[i] *= 1.01
	}
	o.Op.VJP(dst, in, out, c2)
}

// vjpNoAlias drops the second contribution when both accumulators are the
// same tensor.
type vjpNoAlias struct{ tape.Op }

func (o vjpNoAlias) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	if dst[0] != nil && dst[0] == dst[1] {
		dst = []*tensor.Tensor{dst[0], nil}
	}
	o.Op.VJP(dst, in, out, c)
}

// declares returns a fixed Structure (or edits the op's) for every input.
type declares struct {
	tape.Op
	edit func(s tape.Structure) tape.Structure
}

func (o declares) Structure(i int, in [][]int, varying []bool) tape.Structure {
	return o.edit(o.Op.Structure(i, in, varying))
}

// factorOf replaces the op's factor.
type factorOf struct {
	tape.Op
	wrap func(f tape.Factor) tape.Factor
}

func (o factorOf) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	f, err := o.Op.Inverse(p, in, out)
	if err != nil {
		return f, err
	}
	return o.wrap(f), nil
}

// multiplies solves the wrong system: it multiplies by the diagonal block
// (diag(eˣ) for exp) instead of dividing.
type multiplies struct {
	tape.Factor
	d []float64
}

func (f multiplies) Solve(dst, v []float64) {
	for i := range v {
		dst[i] = v[i] * f.d[i]
	}
}

// wrongLogDet reports the log-determinant with the wrong sign.
type wrongLogDet struct{ tape.Factor }

func (f wrongLogDet) LogAbsDet() float64 { return -f.Factor.LogAbsDet() }

// notInPlace gives a wrong answer when dst and v share storage.
type notInPlace struct{ tape.Factor }

func (f notInPlace) Solve(dst, v []float64) {
	f.Factor.Solve(dst, v)
	if len(v) > 0 && &dst[0] == &v[0] {
		dst[0] = 0
	}
}

// wrongSize reports the wrong order.
type wrongSize struct{ tape.Factor }

func (f wrongSize) Size() int { return f.Factor.Size() + 1 }

// inverse replaces the op's Inverse.
type inverse struct {
	tape.Op
	inv func(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error)
}

func (o inverse) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	return o.inv(p, in, out)
}

// mutatesInput writes into its input in Forward.
type mutatesInput struct{ tape.Op }

func (o mutatesInput) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	o.Op.Forward(dst, in)
	in[0].Data()[0] += 1
}

// mutatesTangent writes into its tangent in JVP.
type mutatesTangent struct{ tape.Op }

func (o mutatesTangent) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	o.Op.JVP(dst, in, out, t)
	t[0].Data()[0] = 7
}

// strayWrite writes one element past len, within the buffer's capacity.
type strayWrite struct{ tape.Op }

func (o strayWrite) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	o.Op.Forward(dst, in)
	d := dst.Data()
	d[:cap(d)][len(d)] = 0
}

// skipsLast leaves the last output element unwritten.
type skipsLast struct{ tape.Op }

func (o skipsLast) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	d := dst.Data()
	keep := d[len(d)-1]
	o.Op.Forward(dst, in)
	d[len(d)-1] = keep
}

// shapeNoPanic accepts any shapes.
type shapeNoPanic struct{ tape.Op }

func (o shapeNoPanic) Shape(in [][]int) []int { return append([]int(nil), in[0]...) }

// shapeBadPanic panics with an error value, not an "ops: " string.
type shapeBadPanic struct{ tape.Op }

func (o shapeBadPanic) Shape(in [][]int) []int {
	if len(in) != 1 {
		panic(errors.New("wrong arity"))
	}
	return o.Op.Shape(in)
}

// panicsInVJP panics.
type panicsInVJP struct{ tape.Op }

func (o panicsInVJP) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	panic("boom")
}

func diagExp(in []*tensor.Tensor) []float64 {
	d := make([]float64, in[0].Len())
	for i, x := range in[0].Data() {
		d[i] = math.Exp(x)
	}
	return d
}

func TestCheckCatchesWrongOps(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		c            opstest.Case
		want         string // the Check that must fail
	}{
		{"jvp-scaled", "a JVP off by 1% disagrees with central differences",
			expCase(jvpScaled{ops.ExpOp}), "jvp"},
		{"jvp-first-only", "the JVP with every tangent set is not the sum",
			mulCase(jvpFirstOnly{ops.MulOp}), "jvp"},
		{"vjp-writes", "a VJP that writes instead of adding loses the prefill",
			expCase(vjpWrites{ops.ExpOp}), "vjp"},
		{"vjp-scaled", "a VJP off by 1% fails the dot test",
			mulCase(vjpScaled{ops.MulOp}), "vjp"},
		{"vjp-no-alias", "Mul(x, x) with one accumulator must receive both contributions",
			mulCase(vjpNoAlias{ops.MulOp}), "alias"},
		{"structure-identity", "Mul's block is diag(b), not I",
			mulCase(declares{ops.MulOp, func(s tape.Structure) tape.Structure { s.Kind = tape.Identity; return s }}), "structure"},
		{"structure-constant", "Mul's block w.r.t. a depends on the varying b",
			mulCase(declares{ops.MulOp, func(s tape.Structure) tape.Structure { s.Constant = true; return s }}), "structure"},
		{"structure-const-input", "a constant input must be declared Zero",
			mulConstCase(declares{ops.MulOp, func(s tape.Structure) tape.Structure { s.Kind = tape.Diagonal; return s }}), "structure"},
		{"structure-rows", "Rows must be the output size",
			expCase(declares{ops.ExpOp, func(s tape.Structure) tape.Structure { s.Rows++; return s }}), "structure"},
		{"structure-lower", "Sum's 1×6 block declared lower triangular",
			sumCase(declares{ops.SumOp, func(s tape.Structure) tape.Structure { s.Kind = tape.LowerTriangular; return s }}), "structure"},
		{"structure-selection", "exp's block is not a selection",
			expCase(declares{ops.ExpOp, func(s tape.Structure) tape.Structure { s.Kind, s.Len = tape.Selection, 6; return s }}), "structure"},
		{"structure-selection-offset", "Slice(1, 3) of a 4×3 value selects from input offset 3, not 0",
			opstest.Case{Name: "slice", Op: declares{&ops.SliceOp{Lo: 1, Hi: 3}, func(s tape.Structure) tape.Structure { s.InOff = 0; return s }},
				Inputs: []opstest.Input{{Shape: []int{4, 3}}}, Out: []int{2, 3},
				Ref: func(in [][]float64) []float64 { return slices.Clone(in[0][3:9]) }}, "structure"},
		{"structure-shared", "MatMul's blocks w.r.t. a are bᵀ, declared Shared, but not block-diagonal here",
			opstest.Case{Name: "matmul", Op: declares{ops.MatMulOp, func(s tape.Structure) tape.Structure {
				if s.Kind == tape.Kron {
					s.Kind, s.Blocks, s.Shared = tape.BlockDiagonal, 2, true
				}
				return s
			}}, Inputs: []opstest.Input{{Shape: []int{2, 2}}, {Shape: []int{2, 2}}}, Out: []int{2, 2}, Ref: mm22}, "structure"},
		{"structure-kron", "MatMul's block w.r.t. a reads whole rows of a: declared a ⊗ I2 it is not",
			opstest.Case{Name: "matmul", Op: declares{ops.MatMulOp, func(s tape.Structure) tape.Structure {
				if s.Kind == tape.BlockDiagonal {
					s.Kind, s.Blocks, s.Shared, s.Inner = tape.Kron, 0, false, 2
				}
				return s
			}}, Inputs: []opstest.Input{{Shape: []int{2, 2}}, {Shape: []int{2, 2}}}, Out: []int{2, 2}, Ref: mm22}, "structure"},
		{"factor-multiplies", "a factor solving A·v instead of A⁻¹v",
			expCase(inverse{ops.ExpOp, func(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
				f, err := ops.ExpOp.Inverse(p, in, out)
				return multiplies{f, diagExp(in)}, err
			}}), "inverse"},
		{"factor-logdet", "log|det| with the wrong sign",
			expCase(factorOf{ops.ExpOp, func(f tape.Factor) tape.Factor { return wrongLogDet{f} }}), "inverse"},
		{"factor-not-in-place", "Solve must allow dst to alias v",
			mulCase(factorOf{ops.MulOp, func(f tape.Factor) tape.Factor { return notInPlace{f} }}), "inverse"},
		{"factor-size", "Size must be the block's order",
			expCase(factorOf{ops.ExpOp, func(f tape.Factor) tape.Factor { return wrongSize{f} }}), "inverse"},
		{"inverse-not-square", "Sum of 6 elements has a 1×6 block: Inverse must return ErrNotSquare",
			sumCase(inverse{ops.SumOp, func(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
				return ops.SumOp.Inverse(p, []*tensor.Tensor{tensor.Zeros(1)}, out)
			}}), "inverse"},
		{"inverse-fails-regular", "an error at a regular point",
			expCase(inverse{ops.ExpOp, func(int, []*tensor.Tensor, *tensor.Tensor) (tape.Factor, error) {
				return nil, errors.New("no")
			}}), "inverse"},
		{"singular-plain-error", "a singular block reported by a plain error, not a *tape.SingularError",
			mulCase(inverse{ops.MulOp, func(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
				f, err := ops.MulOp.Inverse(p, in, out)
				if err != nil {
					return nil, errors.New("singular")
				}
				return f, nil
			}}), "singular"},
		{"singular-missed", "a singular block inverted anyway",
			mulCase(inverse{ops.MulOp, func(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
				f, err := ops.MulOp.Inverse(p, in, out)
				if err != nil {
					return ops.MulOp.Inverse(p, []*tensor.Tensor{in[0], tensor.New(shape, []float64{1, 1, 1, 1, 1, 1})}, out)
				}
				return f, nil
			}}), "singular"},
		{"mutates-input", "Forward must not write into its input",
			expCase(mutatesInput{ops.ExpOp}), "unchanged"},
		{"mutates-tangent", "JVP must not write into its tangent",
			expCase(mutatesTangent{ops.ExpOp}), "unchanged"},
		{"stray-write", "a write past len into the buffer's capacity",
			expCase(strayWrite{ops.ExpOp}), "guard"},
		{"skips-last", "Forward must write every element (the NaN prefill shows)",
			expCase(skipsLast{ops.ExpOp}), "primal"},
		{"wrong-ref", "the primal is compared with the reference",
			func() opstest.Case {
				c := expCase(ops.ExpOp)
				c.Ref = func(in [][]float64) []float64 { return expRef([][]float64{{in[0][0] + 1e-3, 0, 0, 0, 0, 0}}) }
				return c
			}(), "primal"},
		{"shape-accepts-bad", "Shape must reject a BadShapes entry",
			expCase(shapeNoPanic{ops.ExpOp}), "shape"},
		{"shape-bad-panic", "Shape must panic with an \"ops: \" string",
			expCase(shapeBadPanic{ops.ExpOp}), "shape"},
		{"wrong-out", "Out must be what Shape gives",
			func() opstest.Case { c := expCase(ops.ExpOp); c.Out = []int{3, 2}; return c }(), "shape"},
		{"panics", "a panicking rule is reported, not propagated",
			expCase(panicsInVJP{ops.ExpOp}), "panic"},
		{"bad-case", "a Case without Ref",
			func() opstest.Case { c := expCase(ops.ExpOp); c.Ref = nil; return c }(), "case"},
		{"bad-domain", "a domain inside its gap",
			func() opstest.Case { c := expCase(ops.ExpOp); c.Inputs[0].Lo, c.Inputs[0].Gap = 0.5, 2; return c }(), "case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := opstest.Check(tc.c)
			if !hasCheck(errs, tc.want) {
				t.Errorf("%s: Check gave %d failures %v, want one of check %q", tc.reason, len(errs), errs, tc.want)
			}
		})
	}
}

// mm22 is the product of two 2×2 matrices, written out.
func mm22(in [][]float64) []float64 {
	a, b := in[0], in[1]
	return []float64{a[0]*b[0] + a[1]*b[2], a[0]*b[1] + a[1]*b[3], a[2]*b[0] + a[3]*b[2], a[2]*b[1] + a[3]*b[3]}
}

// hasCheck reports whether some error is a *opstest.Failure of that check.
func hasCheck(errs []error, check string) bool {
	for _, err := range errs {
		var f *opstest.Failure
		if errors.As(err, &f) && f.Check == check {
			return true
		}
	}
	return false
}

// TestCheckPassesCorrectOps is the control of TestCheckCatchesWrongOps: the
// ops the wrong ones wrap pass at the same points, so the failures above come
// from the wrongs.
func TestCheckPassesCorrectOps(t *testing.T) {
	for _, c := range []opstest.Case{expCase(ops.ExpOp), mulCase(ops.MulOp), mulConstCase(ops.MulOp), sumCase(ops.SumOp)} {
		if errs := opstest.Check(c); len(errs) != 0 {
			t.Errorf("%s: %v", c.Name, errs)
		}
	}
	if errs := opstest.Check32(expCase(ops.ExpOp), opstest.CPU32(ops.ExpOp)); len(errs) != 0 {
		t.Errorf("exp float32: %v", errs)
	}
}

func TestCheck32CatchesWrongKernels(t *testing.T) {
	good := opstest.CPU32(ops.ExpOp)
	for _, tc := range []struct {
		name, reason string
		k            opstest.Kernels32
		want         string
	}{
		{"forward", "a Forward off by 1%", opstest.Kernels32{
			Forward: func(dst, x *tensor.Tensor32) {
				good.Forward(dst, x)
				for i := range dst.Data() {
					dst.Data()[i] *= 1.01
				}
			}, JVP: good.JVP, VJP: good.VJP}, "32/primal"},
		{"jvp", "a JVP off by 1%", opstest.Kernels32{Forward: good.Forward,
			JVP: func(dst, x, y, t *tensor.Tensor32) {
				good.JVP(dst, x, y, t)
				for i := range dst.Data() {
					dst.Data()[i] *= 1.01
				}
			}, VJP: good.VJP}, "32/jvp"},
		{"vjp-writes", "a VJP that writes instead of adding", opstest.Kernels32{Forward: good.Forward, JVP: good.JVP,
			VJP: func(dst, x, y, c *tensor.Tensor32) {
				dst.Fill(0)
				good.VJP(dst, x, y, c)
			}}, "32/vjp"},
		{"vjp-scaled", "a VJP off by 1% fails the dot test", opstest.Kernels32{Forward: good.Forward, JVP: good.JVP,
			VJP: func(dst, x, y, c *tensor.Tensor32) {
				c2 := c.Clone()
				for i := range c2.Data() {
					c2.Data()[i] *= 1.01
				}
				good.VJP(dst, x, y, c2)
			}}, "32/vjp"},
		{"mutates", "Forward writing into x", opstest.Kernels32{
			Forward: func(dst, x *tensor.Tensor32) {
				good.Forward(dst, x)
				x.Data()[0] = 9
			}, JVP: good.JVP, VJP: good.VJP}, "32/unchanged"},
		{"stray", "a write past len", opstest.Kernels32{
			Forward: func(dst, x *tensor.Tensor32) {
				good.Forward(dst, x)
				d := dst.Data()
				d[:cap(d)][len(d)] = 0
			}, JVP: good.JVP, VJP: good.VJP}, "32/guard"},
		{"missing", "no kernels", opstest.Kernels32{}, "case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := opstest.Check32(expCase(ops.ExpOp), tc.k)
			if !hasCheck(errs, tc.want) {
				t.Errorf("%s: Check32 gave %v, want a failure of check %q", tc.reason, errs, tc.want)
			}
		})
	}
}

// TestInputs checks that Inputs is the seeded point of the domains.
func TestInputs(t *testing.T) {
	c := opstest.Case{Inputs: []opstest.Input{
		{Shape: []int{50}, Lo: -2, Hi: 2, Gap: 0.5},
		{Shape: []int{2}, Value: []float64{3, 4}},
		{Shape: nil, Lo: 1, Hi: 1.5},
	}}
	a, b := opstest.Inputs(c), opstest.Inputs(c)
	for i := range a {
		if !slices.Equal(a[i].Data(), b[i].Data()) {
			t.Errorf("input %d differs between two calls: not seeded", i)
		}
	}
	for _, x := range a[0].Data() {
		if x < -2 || x > 2 || math.Abs(x) < 0.5 {
			t.Errorf("input 0 value %g outside [-2, 2] \\ (-0.5, 0.5)", x)
		}
	}
	if !slices.Equal(a[1].Data(), []float64{3, 4}) {
		t.Errorf("input 1 = %v, want the fixed Value [3 4]", a[1].Data())
	}
	if x := a[2].Data(); a[2].Rank() != 0 || len(x) != 1 || x[0] < 1 || x[0] > 1.5 {
		t.Errorf("input 2 = %v, want one value in [1, 1.5] of rank 0", a[2])
	}
	msg := func() (msg string) {
		defer func() { msg, _ = recover().(string) }()
		opstest.Inputs(opstest.Case{Inputs: []opstest.Input{{Shape: []int{2}, Value: []float64{1}}}})
		return ""
	}()
	if !strings.HasPrefix(msg, "opstest: ") {
		t.Errorf("Inputs with a short Value panicked with %q, want a message starting with \"opstest: \"", msg)
	}
}

// Wrong second-order rules. first embeds the op, whose SecondVJP it hides:
// an op without a second-order rule.
type first struct{ tape.Op }

// secondOf gives an op the second-order rule so.
type secondOf struct {
	tape.Op
	so func(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor)
}

func (o secondOf) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
	o.so(dst, in, out, t, c)
}

// secondRule returns op's own SecondVJP.
func secondRule(op tape.Op) func(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
	return op.(tape.SecondOrder).SecondVJP
}

func TestCheckSecondOrderCatchesWrongOps(t *testing.T) {
	exp, mul := secondRule(ops.ExpOp), secondRule(ops.MulOp)
	for _, tc := range []struct {
		name, reason string
		c            opstest.Case
		want         string // the check that must fail
	}{
		{"missing", "an op that is not a tape.SecondOrder",
			expCase(first{ops.ExpOp}), "second"},
		{"empty", "exp's rule adding nothing, as if exp were linear",
			expCase(secondOf{ops.ExpOp, func([]*tensor.Tensor, []*tensor.Tensor, *tensor.Tensor, []*tensor.Tensor, *tensor.Tensor) {}}), "second"},
		{"scaled", "a rule off by 1% disagrees with central differences of the JVP",
			expCase(secondOf{ops.ExpOp, func(dst, in []*tensor.Tensor, out *tensor.Tensor, ts []*tensor.Tensor, c *tensor.Tensor) {
				c2 := c.Clone()
				for i := range c2.Data() {
					c2.Data()[i] *= 1.01
				}
				exp(dst, in, out, ts, c2)
			}}), "second"},
		{"sign", "exp's f″ with the wrong sign",
			expCase(secondOf{ops.ExpOp, func(dst, in []*tensor.Tensor, out *tensor.Tensor, ts []*tensor.Tensor, c *tensor.Tensor) {
				neg := make([]*tensor.Tensor, len(dst))
				for i, d := range dst {
					if d != nil {
						neg[i] = tensor.Zeros(d.Shape()...)
					}
				}
				exp(neg, in, out, ts, c)
				for i, d := range dst {
					if d != nil {
						for e, v := range neg[i].Data() {
							d.Data()[e] -= v
						}
					}
				}
			}}), "second"},
		{"writes", "a rule that writes instead of adding loses the prefill",
			expCase(secondOf{ops.ExpOp, func(dst, in []*tensor.Tensor, out *tensor.Tensor, ts []*tensor.Tensor, c *tensor.Tensor) {
				for _, d := range dst {
					if d != nil {
						d.Fill(0)
					}
				}
				exp(dst, in, out, ts, c)
			}}), "second"},
		{"first-tangent-only", "Mul's rule must read both tangents: with both set, a receives c ⊙ t_b",
			mulCase(secondOf{ops.MulOp, func(dst, in []*tensor.Tensor, out *tensor.Tensor, ts []*tensor.Tensor, c *tensor.Tensor) {
				ts = slices.Clone(ts)
				if ts[0] != nil {
					ts[1] = nil
				}
				mul(dst, in, out, ts, c)
			}}), "second"},
		{"no-alias", "Mul(x, x) with one accumulator must receive both contributions",
			mulCase(secondOf{ops.MulOp, func(dst, in []*tensor.Tensor, out *tensor.Tensor, ts []*tensor.Tensor, c *tensor.Tensor) {
				if dst[0] != nil && dst[0] == dst[1] {
					dst = []*tensor.Tensor{dst[0], nil}
				}
				mul(dst, in, out, ts, c)
			}}), "second"},
		{"writes-constant", "the accumulator of a constant input is nil: writing into it panics",
			mulConstCase(secondOf{ops.MulOp, func(dst, in []*tensor.Tensor, out *tensor.Tensor, ts []*tensor.Tensor, c *tensor.Tensor) {
				mul(dst, in, out, ts, c)
				dst[1].Data()[0] += 0
			}}), "panic"},
		{"mutates-tangent", "SecondVJP must not write into its tangents",
			expCase(secondOf{ops.ExpOp, func(dst, in []*tensor.Tensor, out *tensor.Tensor, ts []*tensor.Tensor, c *tensor.Tensor) {
				exp(dst, in, out, ts, c)
				ts[0].Data()[0] = 7
			}}), "unchanged"},
		{"stray-write", "a write past len into an accumulator's capacity",
			expCase(secondOf{ops.ExpOp, func(dst, in []*tensor.Tensor, out *tensor.Tensor, ts []*tensor.Tensor, c *tensor.Tensor) {
				exp(dst, in, out, ts, c)
				d := dst[0].Data()
				d[:cap(d)][len(d)] = 0
			}}), "guard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := opstest.CheckSecondOrder(tc.c)
			if !hasCheck(errs, tc.want) {
				t.Errorf("%s: CheckSecondOrder gave %d failures %v, want one of check %q", tc.reason, len(errs), errs, tc.want)
			}
		})
	}
}

// TestCheckSecondOrderPassesCorrectOps is the control of
// TestCheckSecondOrderCatchesWrongOps.
func TestCheckSecondOrderPassesCorrectOps(t *testing.T) {
	for _, c := range []opstest.Case{expCase(ops.ExpOp), mulCase(ops.MulOp), mulConstCase(ops.MulOp), sumCase(ops.SumOp)} {
		if errs := opstest.CheckSecondOrder(c); len(errs) != 0 {
			t.Errorf("%s: %v", c.Name, errs)
		}
	}
}

// Wrong float32 rules. with32 gives an op the float32 rules jvp and vjp;
// a nil one is the op's own.
type with32 struct {
	tape.Op
	jvp func(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32)
	vjp func(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32)
}

func (o with32) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	if o.jvp == nil {
		o.Op.(tape.Op32).JVP32(dst, in, out, t)
		return
	}
	o.jvp(dst, in, out, t)
}

func (o with32) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	if o.vjp == nil {
		o.Op.(tape.Op32).VJP32(dst, in, out, c)
		return
	}
	o.vjp(dst, in, out, c)
}

// biasCase is X [3,2] + b [2]: b is broadcast over the rows.
func biasCase(op tape.Op) opstest.Case {
	return opstest.Case{Name: "add-bias", Op: op, Inputs: []opstest.Input{{Shape: []int{3, 2}}, {Shape: []int{2}}}, Out: []int{3, 2},
		Ref: func(in [][]float64) []float64 {
			out := make([]float64, 6)
			for i := range out {
				out[i] = in[0][i] + in[1][i%2]
			}
			return out
		}}
}

// mmCase is the product of two varying 2×2 matrices.
func mmCase(op tape.Op) opstest.Case {
	return opstest.Case{Name: "matmul", Op: op, Inputs: []opstest.Input{{Shape: []int{2, 2}}, {Shape: []int{2, 2}}}, Out: []int{2, 2}, Ref: mm22}
}

// transposed32 returns a float32 copy of the 2×2 matrix a transposed.
func transposed32(a *tensor.Tensor32) *tensor.Tensor32 {
	d := a.Data()
	return tensor.NewOf([]int{2, 2}, []float32{d[0], d[2], d[1], d[3]})
}

func TestCheckOp32CatchesWrongRules(t *testing.T) {
	exp, mul, add, mm := ops.ExpOp, ops.MulOp, ops.AddOp, tape.Op32(ops.MatMulOp)
	for _, tc := range []struct {
		name, reason string
		c            opstest.Case
		want         string // the check that must fail
	}{
		{"jvp-sign", "exp's float32 JVP with the wrong sign",
			expCase(with32{Op: exp, jvp: func(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
				exp.JVP32(dst, in, out, t)
				for i, v := range dst.Data() {
					dst.Data()[i] = -v
				}
			}}), "32/jvp"},
		{"jvp-scaled", "a float32 JVP off by 0.1%, above float32 rounding",
			expCase(with32{Op: exp, jvp: func(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
				exp.JVP32(dst, in, out, t)
				for i, v := range dst.Data() {
					dst.Data()[i] = 1.001 * v
				}
			}}), "32/jvp"},
		{"vjp-writes", "a float32 VJP that overwrites its accumulator instead of adding",
			expCase(with32{Op: exp, vjp: func(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
				dst[0].Fill(0)
				exp.VJP32(dst, in, out, c)
			}}), "32/vjp"},
		{"jvp-first-tangent-only", "Mul's float32 JVP ignoring the second tangent when the first is set",
			mulCase(with32{Op: mul, jvp: func(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
				if t[0] != nil {
					t = []*tensor.Tensor32{t[0], nil}
				}
				mul.JVP32(dst, in, out, t)
			}}), "32/jvp"},
		{"vjp-no-broadcast-sum", "Add's float32 VJP giving the broadcast bias the first row's cotangent, not the sum over the rows",
			biasCase(with32{Op: add, vjp: func(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
				add.VJP32([]*tensor.Tensor32{dst[0], nil}, in, out, c)
				if dst[1] != nil {
					for j, v := range c.Data()[:2] {
						dst[1].Data()[j] += v
					}
				}
			}}), "32/vjp"},
		{"vjp-transposed", "MatMul's float32 VJP adding a·c into b's accumulator instead of aᵀ·c",
			mmCase(with32{Op: ops.MatMulOp, vjp: func(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
				mm.VJP32([]*tensor.Tensor32{dst[0], nil}, in, out, c)
				if dst[1] != nil {
					mm.VJP32([]*tensor.Tensor32{nil, dst[1]}, []*tensor.Tensor32{transposed32(in[0]), in[1]}, out, c)
				}
			}}), "32/vjp"},
		{"vjp-no-alias", "Mul(x, x) with one float32 accumulator must receive both contributions",
			mulCase(with32{Op: mul, vjp: func(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
				if dst[0] != nil && dst[0] == dst[1] {
					dst = []*tensor.Tensor32{dst[0], nil}
				}
				mul.VJP32(dst, in, out, c)
			}}), "32/alias"},
		{"mutates-tangent", "a float32 JVP writing into its tangent",
			expCase(with32{Op: exp, jvp: func(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
				exp.JVP32(dst, in, out, t)
				t[0].Data()[0] = 7
			}}), "32/unchanged"},
		{"stray-write", "a float32 VJP writing past len into its accumulator's capacity",
			expCase(with32{Op: exp, vjp: func(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
				exp.VJP32(dst, in, out, c)
				d := dst[0].Data()
				d[:cap(d)][len(d)] = 0
			}}), "32/guard"},
		{"writes-constant", "the accumulator of a constant input is nil: a float32 VJP writing into it panics",
			mulConstCase(with32{Op: mul, vjp: func(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
				mul.VJP32(dst, in, out, c)
				dst[1].Data()[0] += 0
			}}), "32/panic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := opstest.Check(tc.c)
			if !hasCheck(errs, tc.want) {
				t.Errorf("%s: Check gave %d failures %v, want one of check %q", tc.reason, len(errs), errs, tc.want)
			}
			for _, err := range errs {
				var f *opstest.Failure
				if errors.As(err, &f) && !strings.HasPrefix(f.Check, "32/") {
					t.Errorf("%s: a float32 rule made a float64 check fail: %v", tc.reason, err)
				}
			}
		})
	}
}

// TestCheckOp32PassesCorrectRules is the control of
// TestCheckOp32CatchesWrongRules: with32 without rules passes on every case
// above, so the failures there come from the wrong rules.
func TestCheckOp32PassesCorrectRules(t *testing.T) {
	for _, c := range []opstest.Case{expCase(with32{Op: ops.ExpOp}), mulCase(with32{Op: ops.MulOp}), mulConstCase(with32{Op: ops.MulOp}),
		biasCase(with32{Op: ops.AddOp}), mmCase(with32{Op: ops.MatMulOp})} {
		if errs := opstest.Check(c); len(errs) != 0 {
			t.Errorf("%s: %v", c.Name, errs)
		}
	}
}
