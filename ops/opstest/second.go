package opstest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// CheckSecondOrder runs the second-order checks of the package
// documentation on c and returns every failure, each a *Failure (Check
// "second" for a wrong rule or a missing one, and "unchanged", "guard",
// "panic" and "case" as Check reports them). It returns nil when the op's
// rule conforms. It is separate from Check so that a backend that runs an
// op's first-order rules elsewhere (package cuda wraps each op) can check
// those alone.
func CheckSecondOrder(c Case) []error { return newChecker(c).do((*checker).runSecond) }

// RunSecondOrder checks c's second-order rule and reports every failure as
// an error on t.
func RunSecondOrder(t testing.TB, c Case) {
	t.Helper()
	for _, err := range CheckSecondOrder(c) {
		t.Error(err)
	}
}

func (k *checker) runSecond() {
	if !k.validate() || !k.checkShape() {
		return
	}
	so, ok := k.c.Op.(tape.SecondOrder)
	if !ok {
		k.fail("second", -1, "op %T does not implement tape.SecondOrder", k.c.Op)
		return
	}
	in := draw(k.rng, k.c.Inputs, nil)
	k.checkSecond(so, in, k.forward(in))
	k.checkSecondAlias(so, in)
}

func (k *checker) second(so tape.SecondOrder, dst, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
	k.call("SecondVJP", func() { so.SecondVJP(dst, in, out, t, c) },
		watch("input", in...), watch("out", out), watch("tangent", t...), watch("cotangent", c))
}

// checkSecond checks SecondVJP, for every tangent set at once and for each
// varying input's tangent alone, against central differences of
// ⟨c, JVP(in; t)⟩ with respect to each varying input; the accumulators of
// the constant inputs are nil. Each input's accumulator alone starts at
// zero; all of them at once, pre-filled with random values, must end as
// prefill + the single results (SecondVJP adds).
func (k *checker) checkSecond(so tape.SecondOrder, in []*tensor.Tensor, out *tensor.Tensor) {
	n := len(in)
	cot := guarded(&k.guards, "cotangent", k.outShape, k.random)
	ts := make([]*tensor.Tensor, n)
	var vary []int
	for i := range in {
		if k.varying[i] {
			ts[i] = guarded(&k.guards, "tangent", k.shapes[i], k.random)
			vary = append(vary, i)
		}
	}
	type config struct {
		what string
		t    []*tensor.Tensor
	}
	configs := []config{{"every tangent set", ts}}
	if len(vary) > 1 {
		for _, i := range vary {
			configs = append(configs, config{fmt.Sprintf("only input %d's tangent set", i), only(n, i, ts[i])})
		}
	}
	for _, cf := range configs {
		single := make([][]float64, n)
		for _, i := range vary {
			g := guarded(&k.guards, "SecondVJP dst", k.shapes[i], zero)
			k.second(so, only(n, i, g), in, out, cf.t, cot)
			single[i] = slices.Clone(g.Data())
			want := k.secondDiff(in, []int{i}, cf.t, cot)
			if m := mismatch(single[i], want, k.fdTol); m != "" {
				k.fail("second", i, "%s: SecondVJP against central differences of <c, JVP> along input %d: %s", cf.what, i, m)
			}
			if lo, ok := so.(tape.Linear); ok && lo.Linear() {
				// Declared linear: callers skip its SecondVJP, so the
				// differences must vanish and SecondVJP add nothing.
				if m := mismatch(make([]float64, len(want)), want, k.fdTol); m != "" {
					k.fail("second", i, "%s: declared tape.Linear, but the central differences of <c, JVP> along input %d do not vanish: %s", cf.what, i, m)
				}
				if m := mismatch(single[i], make([]float64, len(want)), 0); m != "" {
					k.fail("second", i, "%s: declared tape.Linear, but SecondVJP adds to input %d: %s", cf.what, i, m)
				}
			}
		}
		dst := make([]*tensor.Tensor, n)
		want := make([][]float64, n)
		for _, i := range vary {
			dst[i] = guarded(&k.guards, "SecondVJP dst", k.shapes[i], k.random)
			want[i] = addSlices(dst[i].Data(), single[i])
		}
		k.second(so, dst, in, out, cf.t, cot)
		for _, i := range vary {
			if m := mismatch(dst[i].Data(), want[i], k.tol); m != "" {
				k.fail("second", i, "%s: SecondVJP into every pre-filled accumulator at once against prefill + the single-input results: %s", cf.what, m)
			}
		}
	}
}

// secondDiff returns the central differences of g(u) = ⟨c, JVP(u; t)⟩,
// the JVP taken by the op's own rule at u with out = Forward(u), with
// respect to each element of the input at (every position in at: one
// tensor passed as several inputs moves at all of them).
func (k *checker) secondDiff(in []*tensor.Tensor, at []int, t []*tensor.Tensor, c *tensor.Tensor) []float64 {
	cs := c.Data()
	fd := make([]float64, in[at[0]].Len())
	g := func(e int, sign float64) []float64 {
		x := slices.Clone(in)
		v := in[at[0]].Clone()
		v.Data()[e] += sign * fdStep
		for _, i := range at {
			x[i] = v
		}
		return k.jvp(x, k.forward(x), t)
	}
	for e := range fd {
		jp, jm := g(e, 1), g(e, -1)
		s := 0.0
		for r, cr := range cs {
			s += cr * (jp[r] - jm[r])
		}
		fd[e] = s / (2 * fdStep)
	}
	return fd
}

// checkSecondAlias passes one tensor as two varying inputs of the same
// shape, with one tangent at both places (as checkAlias does), and checks
// that one accumulator passed at both places receives both contributions,
// and that their sum is the derivative of ⟨c, JVP⟩ with respect to the
// shared tensor (central differences moving both places at once).
func (k *checker) checkSecondAlias(so tape.SecondOrder, in []*tensor.Tensor) {
	n := len(in)
	k.aliasPairs(in, func(i, j int, ain []*tensor.Tensor, out *tensor.Tensor) {
		t := guarded(&k.guards, "tangent", k.shapes[i], k.random)
		ts := only(n, i, t)
		ts[j] = t
		cot := guarded(&k.guards, "cotangent", k.outShape, k.random)
		gi := guarded(&k.guards, "SecondVJP dst", k.shapes[i], zero)
		gj := guarded(&k.guards, "SecondVJP dst", k.shapes[j], zero)
		k.second(so, only(n, i, gi), ain, out, ts, cot)
		k.second(so, only(n, j, gj), ain, out, ts, cot)
		both := addSlices(gi.Data(), gj.Data())
		if m := mismatch(both, k.secondDiff(ain, []int{i, j}, ts, cot), k.fdTol); m != "" {
			k.fail("second", -1, "inputs %d and %d the same tensor, the sum of both SecondVJP contributions against central differences of <c, JVP>: %s", i, j, m)
		}
		g := guarded(&k.guards, "SecondVJP dst", k.shapes[i], k.random)
		want := addSlices(g.Data(), both)
		dst := only(n, i, g)
		dst[j] = g
		k.second(so, dst, ain, out, ts, cot)
		if m := mismatch(g.Data(), want, k.tol); m != "" {
			k.fail("second", -1, "inputs %d and %d the same tensor, SecondVJP with one accumulator at both against prefill plus both contributions: %s", i, j, m)
		}
	})
}
