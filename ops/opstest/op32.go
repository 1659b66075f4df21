package opstest

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// checkOp32 checks the float32 rules of an op that is a tape.Op32 (and
// does nothing for one that is not) at the point in rounded to float32,
// against the op's float64 rules at that point widened back (exactly) to
// float64, with the same tangents and cotangents (float32 values, widened):
//
//   - 32/jvp: JVP32 with each varying input's tangent alone (the others,
//     and every constant's, nil) and with every tangent set at once;
//   - 32/vjp: VJP32 into a pre-filled accumulator of each varying input
//     alone (the others nil), and into all of them at once, against
//     prefill + the float64 VJP;
//   - 32/alias: two varying inputs of one shape passed as the same tensor,
//     with one tangent at both places and one accumulator at both;
//   - 32/unchanged, 32/guard and 32/panic, as Check's checks without the
//     prefix.
//
// The values the rules receive as out are the float64 value rounded to
// float32, as the float32 engine records them.
func (k *checker) checkOp32(in []*tensor.Tensor) {
	op, ok := k.c.Op.(tape.Op32)
	if !ok {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			k.fail("32/panic", -1, "%v (remaining float32 checks skipped)", r)
		}
	}()
	k32 := &checker32{checker: k, op: op, tol: k.c.Tol32}
	if k32.tol == 0 {
		k32.tol = DefaultTol32
	}
	n := len(in)
	in32, inW := make([]*tensor.Tensor32, n), make([]*tensor.Tensor, n)
	for i, x := range in {
		in32[i] = guarded(&k.guards, "32/input", k.shapes[i], func(e int) float32 { return float32(x.Data()[e]) })
		inW[i] = tensor.To64(in32[i])
	}
	k32.checkJVP(in32, inW)
	k32.checkVJP(in32, inW)
	k32.checkAlias(in32, inW)
}

// checker32 holds the float32 checks of one Check run.
type checker32 struct {
	*checker
	op  tape.Op32
	tol float64
}

func (k *checker32) random32(int) float32 { return float32(k.random(0)) }

// outOf returns the float64 value of the op at the widened point inW, and
// that value rounded to float32 (in a guarded buffer).
func (k *checker32) outOf(inW []*tensor.Tensor) (*tensor.Tensor, *tensor.Tensor32) {
	outW := k.forward(inW)
	return outW, guarded(&k.guards, "32/out", k.outShape, func(e int) float32 { return float32(outW.Data()[e]) })
}

// call32 runs one float32 rule and reports every watched tensor it changed.
func (k *checker32) call32(rule string, fn func(), ws ...[]watched[float32]) {
	fn()
	for _, w := range ws {
		for _, m := range changed(w) {
			k.failOnce("32/unchanged/"+rule+"/"+strings.SplitN(m, " ", 2)[0], "32/unchanged", -1, "%s: %s", rule, m)
		}
	}
}

func (k *checker32) jvp32(in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) []float64 {
	dst := guarded(&k.guards, "32/JVP32 dst", k.outShape, func(int) float32 { return float32(math.NaN()) })
	k.call32("JVP32", func() { k.op.JVP32(dst, in, out, t) }, watch("input", in...), watch("out", out), watch("tangent", t...))
	return to64(dst.Data())
}

func (k *checker32) vjp32(dst, in []*tensor.Tensor32, out, c *tensor.Tensor32) {
	k.call32("VJP32", func() { k.op.VJP32(dst, in, out, c) }, watch("input", in...), watch("out", out), watch("cotangent", c))
}

// widen returns the float64 copies of ts (nil stays nil).
func widen(ts []*tensor.Tensor32) []*tensor.Tensor {
	w := make([]*tensor.Tensor, len(ts))
	for i, t := range ts {
		if t != nil {
			w[i] = tensor.To64(t)
		}
	}
	return w
}

// only32 returns a slice of n nil tensors but for t at i.
func only32(n, i int, t *tensor.Tensor32) []*tensor.Tensor32 {
	s := make([]*tensor.Tensor32, n)
	s[i] = t
	return s
}

// mismatch32 compares a float32 result got with its float64 reference want
// and describes the first element off and their number, or returns "".
//
// The criterion is norm-wise: |got_r - want_r| ≤ tol·(1 + ‖want‖∞) for
// every r. A float32 rule sums terms (a matrix product's inner dimension, a
// broadcast operand's reduction, f'(x)·t with f' read from the rounded y),
// and each sum's rounding error is about u₃₂ = 2⁻²⁴ times the sum of the
// terms' magnitudes, not times the sum itself: an element where the terms
// cancel would fail a per-element relative test however right the rule.
// The terms are the products of the case's O(1) values, so their
// magnitudes are of the order of the largest output, ‖want‖∞, and the
// suite's few-term sums stay far below tol = 1e-5 ≈ 170·u₃₂ times it; the
// 1 keeps an all-zero reference (x - x) meaningful. A wrong rule (a wrong
// sign, a term left out, a transposed factor) is off by O(‖want‖∞) and
// fails.
func mismatch32(got, want []float64, tol float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d elements, want %d", len(got), len(want))
	}
	bound := tol * (1 + maxAbs(want))
	bad, first := 0, -1
	for i := range got {
		if !(math.Abs(got[i]-want[i]) <= bound) {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d elements off (bound %.3g = tol·(1 + ‖want‖∞)); first at %d: got %.9g, want %.9g",
		bad, len(got), bound, first, got[first], want[first])
}

// checkJVP compares JVP32 with the float64 JVP, each varying input's
// tangent alone and all at once.
func (k *checker32) checkJVP(in32 []*tensor.Tensor32, inW []*tensor.Tensor) {
	n := len(in32)
	outW, out32 := k.outOf(inW)
	ts := make([]*tensor.Tensor32, n)
	nv := 0
	for i := range in32 {
		if !k.varying[i] {
			continue
		}
		nv++
		ts[i] = guarded(&k.guards, "32/tangent", k.shapes[i], k.random32)
		want := k.jvp(inW, outW, widen(only32(n, i, ts[i])))
		if m := mismatch32(k.jvp32(in32, out32, only32(n, i, ts[i])), want, k.tol); m != "" {
			k.fail("32/jvp", i, "JVP32 against the float64 JVP at the rounded point: %s", m)
		}
	}
	if nv > 1 {
		want := k.jvp(inW, outW, widen(ts))
		if m := mismatch32(k.jvp32(in32, out32, ts), want, k.tol); m != "" {
			k.fail("32/jvp", -1, "JVP32 with every tangent set against the float64 JVP: %s", m)
		}
	}
}

// vjp64 returns the float64 VJP of input i alone into zeros.
func (k *checker32) vjp64(i int, inW []*tensor.Tensor, outW, cW *tensor.Tensor) []float64 {
	g := guarded(&k.guards, "VJP dst", k.shapes[i], zero)
	k.vjp(only(len(inW), i, g), inW, outW, cW)
	return g.Data()
}

// checkVJP compares VJP32 into pre-filled accumulators with prefill + the
// float64 VJP, each varying input alone and all at once.
func (k *checker32) checkVJP(in32 []*tensor.Tensor32, inW []*tensor.Tensor) {
	n := len(in32)
	outW, out32 := k.outOf(inW)
	cot := guarded(&k.guards, "32/cotangent", k.outShape, k.random32)
	cW := tensor.To64(cot)
	v0 := make([][]float64, n)
	nv := 0
	for i := range in32 {
		if !k.varying[i] {
			continue
		}
		nv++
		v0[i] = k.vjp64(i, inW, outW, cW)
		pre := guarded(&k.guards, "32/VJP32 dst", k.shapes[i], k.random32)
		want := addSlices(to64(pre.Data()), v0[i])
		k.vjp32(only32(n, i, pre), in32, out32, cot)
		if m := mismatch32(to64(pre.Data()), want, k.tol); m != "" {
			k.fail("32/vjp", i, "VJP32 into a pre-filled accumulator against prefill + the float64 VJP: %s", m)
		}
	}
	if nv > 1 {
		dst := make([]*tensor.Tensor32, n)
		want := make([][]float64, n)
		for i := range in32 {
			if k.varying[i] {
				dst[i] = guarded(&k.guards, "32/VJP32 dst", k.shapes[i], k.random32)
				want[i] = addSlices(to64(dst[i].Data()), v0[i])
			}
		}
		k.vjp32(dst, in32, out32, cot)
		for i, d := range dst {
			if d == nil {
				continue
			}
			if m := mismatch32(to64(d.Data()), want[i], k.tol); m != "" {
				k.fail("32/vjp", i, "VJP32 into every accumulator at once against prefill + the float64 VJPs: %s", m)
			}
		}
	}
}

// checkAlias passes one float32 tensor as two varying inputs of the same
// shape (as Check's alias check does) and compares JVP32 with one tangent
// at both places, and VJP32 with one accumulator at both, against the
// float64 rules.
func (k *checker32) checkAlias(in32 []*tensor.Tensor32, inW []*tensor.Tensor) {
	n := len(in32)
	k.aliasPairs(inW, func(i, j int, ainW []*tensor.Tensor, outW *tensor.Tensor) {
		ain32 := slices.Clone(in32)
		ain32[i] = in32[j]
		out32 := guarded(&k.guards, "32/out", k.outShape, func(e int) float32 { return float32(outW.Data()[e]) })

		t := guarded(&k.guards, "32/tangent", k.shapes[i], k.random32)
		both := only32(n, i, t)
		both[j] = t
		want := k.jvp(ainW, outW, widen(both))
		if m := mismatch32(k.jvp32(ain32, out32, both), want, k.tol); m != "" {
			k.fail("32/alias", -1, "inputs %d and %d the same tensor, JVP32 with one tangent at both against the float64 JVP: %s", i, j, m)
		}

		cot := guarded(&k.guards, "32/cotangent", k.outShape, k.random32)
		cW := tensor.To64(cot)
		g := guarded(&k.guards, "32/VJP32 dst", k.shapes[i], k.random32)
		wantG := addSlices(addSlices(to64(g.Data()), k.vjp64(i, ainW, outW, cW)), k.vjp64(j, ainW, outW, cW))
		dst := only32(n, i, g)
		dst[j] = g
		k.vjp32(dst, ain32, out32, cot)
		if m := mismatch32(to64(g.Data()), wantG, k.tol); m != "" {
			k.fail("32/alias", -1, "inputs %d and %d the same tensor, VJP32 with one accumulator at both against prefill plus both float64 contributions: %s", i, j, m)
		}
	})
}
