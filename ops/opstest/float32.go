package opstest

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tensor"
)

// Kernels32 are the float32 rules of an elementwise unary op, as a backend
// provides them. Each writes (Forward, JVP) or adds (VJP) every element of
// dst; y is the op's value at x.
type Kernels32 struct {
	Forward func(dst, x *tensor.Tensor32)
	JVP     func(dst, x, y, t *tensor.Tensor32)
	VJP     func(dst, x, y, c *tensor.Tensor32)
}

// CPU32 returns the CPU float32 kernels of e: ops.ForwardOf, ops.JVPOf and
// ops.VJPOf at float32.
func CPU32(e *ops.Elementwise) Kernels32 {
	return Kernels32{
		Forward: func(dst, x *tensor.Tensor32) { ops.ForwardOf(e, dst, x) },
		JVP:     func(dst, x, y, t *tensor.Tensor32) { ops.JVPOf(e, dst, x, y, t) },
		VJP:     func(dst, x, y, c *tensor.Tensor32) { ops.VJPOf(e, dst, x, y, c) },
	}
}

// Check32 checks the float32 kernels k of the one-input elementwise op
// described by c, at c's point rounded to float32, and returns every failure
// (each a *Failure with a Check starting with "32/"):
//
//   - 32/primal: Forward, into NaN, against c.Ref at the rounded point;
//   - 32/jvp: JVP against central differences of c.Ref taken in float64;
//   - 32/vjp: the dot test <J t, c> = <t, Jᵀ c> (sums in float64), and VJP
//     into a pre-filled accumulator gives prefill + Jᵀ c;
//   - 32/unchanged and 32/guard as in Check.
//
// Values are compared with c.Tol32 (DefaultTol32 if zero). Check32 does not
// panic; c.Op is not used.
func Check32(c Case, k Kernels32) (errs []error) {
	var guards []guard
	seen := map[string]bool{}
	fail := func(check string, format string, a ...any) {
		errs = append(errs, &Failure{Case: c.Name, Check: check, Input: -1, Msg: fmt.Sprintf(format, a...)})
	}
	// failOnce reports a failure the first time its key is seen.
	failOnce := func(key, check string, format string, a ...any) {
		if !seen[key] {
			seen[key] = true
			fail(check, format, a...)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			fail("panic", "%v (remaining checks skipped)", r)
		}
		for _, g := range guards {
			if i := g.bad(); i >= 0 {
				failOnce(g.what, "32/guard", "%s: element len+%d of its spare capacity was written", g.what, i)
			}
		}
	}()
	if len(c.Inputs) != 1 || c.Ref == nil || k.Forward == nil || k.JVP == nil || k.VJP == nil {
		fail("case", "Check32 needs one input, a Ref and three kernels")
		return errs
	}
	if msg := c.Inputs[0].invalid(); msg != "" {
		fail("case", "input 0: %s", msg)
		return errs
	}
	tol := c.Tol32
	if tol == 0 {
		tol = DefaultTol32
	}
	r := newRand()
	x := tensor.To32(draw(r, c.Inputs, nil)[0])
	shape := x.Shape()
	xr := to64(x.Data()) // the rounded point, exactly, in float64
	n := len(xr)
	call := func(rule string, fn func(), ts ...*tensor.Tensor32) {
		w := watch("argument", ts...)
		fn()
		for _, m := range changed(w) {
			failOnce(rule+"/"+strings.SplitN(m, " ", 2)[0], "32/unchanged", "%s: %s", rule, m)
		}
	}
	rand32 := func(int) float32 { return float32(uniform(r)) }

	ref := c.Ref([][]float64{slices.Clone(xr)})
	if len(ref) != n {
		fail("case", "Ref returned %d values for %d inputs", len(ref), n)
		return errs
	}
	y := guarded(&guards, "Forward dst", shape, func(int) float32 { return float32(math.NaN()) })
	call("Forward", func() { k.Forward(y, x) }, x)
	if m := mismatch(to64(y.Data()), ref, tol); m != "" {
		fail("32/primal", "Forward against Ref: %s", m)
	}

	t := guarded(&guards, "tangent", shape, rand32)
	tr := to64(t.Data())
	step := func(sign float64) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = xr[i] + sign*fdStep*tr[i]
		}
		return c.Ref([][]float64{s})
	}
	fp, fm := step(1), step(-1)
	fd := make([]float64, n)
	for i := range fd {
		fd[i] = (fp[i] - fm[i]) / (2 * fdStep)
	}
	jv := guarded(&guards, "JVP dst", shape, func(int) float32 { return float32(math.NaN()) })
	call("JVP", func() { k.JVP(jv, x, y, t) }, x, y, t)
	if m := mismatch(to64(jv.Data()), fd, tol); m != "" {
		fail("32/jvp", "JVP against float64 central differences of Ref: %s", m)
	}

	cot := guarded(&guards, "cotangent", shape, rand32)
	g := guarded(&guards, "VJP dst", shape, func(int) float32 { return 0 })
	call("VJP", func() { k.VJP(g, x, y, cot) }, x, y, cot)
	v0 := to64(g.Data())
	lhs, la := dot(to64(jv.Data()), to64(cot.Data()))
	rhs, ra := dot(tr, v0)
	if !(math.Abs(lhs-rhs) <= tol*(1+la+ra)) {
		fail("32/vjp", "dot test: <J t, c> = %.9g, <t, Jᵀ c> = %.9g", lhs, rhs)
	}
	pre := guarded(&guards, "VJP dst", shape, rand32)
	want := addSlices(to64(pre.Data()), v0)
	call("VJP", func() { k.VJP(pre, x, y, cot) }, x, y, cot)
	if m := mismatch(to64(pre.Data()), want, tol); m != "" {
		fail("32/vjp", "VJP into a pre-filled accumulator against prefill + Jᵀ c: %s", m)
	}
	return errs
}
