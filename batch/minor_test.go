package batch_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/batch"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// seeded returns a tensor of the shape with entries in [lo, hi).
func seeded(rng *rand.Rand, lo, hi float64, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = lo + (hi-lo)*rng.Float64()
	}
	return t
}

// residual is X + tanh(X W1 + b) W2 on X of shape [B, d], hidden width h,
// with b a constant of shape [B, h] (one bias row per sample) and a
// rank-0 scale: the row-major residual block of a batched network.
func residual(b, d, h int, seed uint64) func(x *tape.Var) *tape.Var {
	rng := rand.New(rand.NewPCG(seed, 1))
	// Weights of norm well below 1 keep J = I + ... far from singular.
	w1 := seeded(rng, -0.5, 0.5, d, h)
	w2 := seeded(rng, -0.5, 0.5, h, d)
	bias := seeded(rng, -1, 1, b, h)
	return func(x *tape.Var) *tape.Var {
		z := ops.Add(ops.MatMul(x, ops.Const(x, w1)), ops.Const(x, bias))
		g := ops.MatMul(ops.Tanh(z), ops.Const(x, w2))
		return ops.Add(x, ops.Mul(g, ops.Const(x, tensor.Scalar(0.8))))
	}
}

func record(f func(*tape.Var) *tape.Var, x *tensor.Tensor) *tape.Program {
	tp := tape.NewTape()
	in := tp.Input(x)
	return tp.Finish(in, f(in))
}

// TestMinorComputesTheSameFunction: the batch-minor program's output and
// Jacobian (by JVPs through it) are the recorded program's, within
// rounding (the products sum in another order).
func TestMinorComputesTheSameFunction(t *testing.T) {
	const b, d, h = 5, 3, 4
	rng := rand.New(rand.NewPCG(2, 2))
	x := seeded(rng, -1, 1, b, d)
	f := residual(b, d, h, 1)
	p := record(f, x)
	if !batch.Gains(p) {
		t.Fatal("Gains: false for a program with X·W")
	}
	q, err := batch.Minor(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := q.Output.Shape(), p.Output.Shape(); !slices.Equal(got, want) {
		t.Fatalf("output shape %v, want %v", got, want)
	}
	if e := maxDiff(q.Output.Value().Data(), p.Output.Value().Data()); e > 1e-14 {
		t.Errorf("outputs differ by %g", e)
	}
	// The Jacobians, each by n JVPs through its own program.
	as, err := inverse.Linearize(f, x, inverse.AsRecorded())
	if err != nil {
		t.Fatal(err)
	}
	mv, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	if mv.Program().Nodes[0].Op.Name() != "reshape" && mv.Program().Nodes[0].Op.Name() != "transpose" {
		t.Fatalf("default Linearize did not move the samples: first op %s", mv.Program().Nodes[0].Op.Name())
	}
	ja, _ := as.Jacobian()
	jm, _ := mv.Jacobian()
	if e := maxDiff(ja.Data(), jm.Data()); e > 1e-14 {
		t.Errorf("Jacobians differ by %g", e)
	}
}

// TestBatchMinorLumps: the row-major residual block is one batch lump of B
// blocks d×d (plus the two transposes), not a dense lump of width B·d, and
// its inverse products and log|det| are those of gonum's LU of the dense
// J of the program as recorded.
func TestBatchMinorLumps(t *testing.T) {
	const b, d, h = 6, 3, 5
	rng := rand.New(rand.NewPCG(3, 3))
	x := seeded(rng, -1, 1, b, d)
	f := residual(b, d, h, 2)
	as, err := inverse.Linearize(f, x, inverse.AsRecorded())
	if err != nil {
		t.Fatal(err)
	}
	ls, err := as.Lumps()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0].Kind != lump.DenseLump || ls[0].Width != b*d || ls[0].Block != b*d {
		t.Errorf("as recorded: lumps %+v, want one dense lump of width %d", ls, b*d)
	}
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	ls, err = lin.Lumps()
	if err != nil {
		t.Fatal(err)
	}
	batches := 0
	for _, l := range ls {
		switch l.Kind {
		case lump.Batch:
			batches++
			if want := "6 blocks 3×3"; !strings.HasPrefix(l.Structure, want) {
				t.Errorf("batch lump %q, want %q", l.Structure, want)
			}
		case lump.DenseLump:
			t.Errorf("a dense lump of width %d: %+v", l.Width, l)
		}
	}
	if batches != 1 {
		t.Errorf("%d batch lumps, want 1: %+v", batches, ls)
	}
	// The reference: J of the recorded program (JVPs through it), LU.
	j, err := as.Jacobian()
	if err != nil {
		t.Fatal(err)
	}
	n := b * d
	var lu mat.LU
	lu.Factorize(mat.NewDense(n, n, j.Data()))
	v := seeded(rng, -1, 1, b, d)
	var want mat.VecDense
	if err := lu.SolveVecTo(&want, false, mat.NewVecDense(n, v.Data())); err != nil {
		t.Fatal(err)
	}
	got, err := lin.IJVP(v)
	if err != nil {
		t.Fatal(err)
	}
	if e := maxDiff(got.Data(), want.RawVector().Data); e > 1e-12 {
		t.Errorf("IJVP differs from gonum's LU solve by %g", e)
	}
	if err := lu.SolveVecTo(&want, true, mat.NewVecDense(n, v.Data())); err != nil {
		t.Fatal(err)
	}
	got, err = lin.VIJP(v)
	if err != nil {
		t.Fatal(err)
	}
	if e := maxDiff(got.Data(), want.RawVector().Data); e > 1e-12 {
		t.Errorf("VIJP differs from gonum's LU solve by %g", e)
	}
	ld, err := lin.LogAbsDet()
	if err != nil {
		t.Fatal(err)
	}
	if wantLD, _ := lu.LogDet(); math.Abs(ld-wantLD) > 1e-12*math.Max(1, math.Abs(wantLD)) {
		t.Errorf("LogAbsDet %g, gonum %g", ld, wantLD)
	}
}

// TestMinorMixErrors: ops that mix samples are named.
func TestMinorMixErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	w := seeded(rng, -1, 1, 4, 4)
	cases := []struct {
		name, op string
		f        func(x *tape.Var) *tape.Var
	}{
		{"W·X mixes rows", "matmul", func(x *tape.Var) *tape.Var { return ops.MatMul(ops.Const(x, w), x) }},
		{"a sum over every element", "sum", func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Sum(x)) }},
		{"cumsum down the samples", "cumsum", func(x *tape.Var) *tape.Var { return ops.Cumsum(x) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := batch.Minor(record(c.f, seeded(rng, -1, 1, 4, 2)))
			var me *batch.MixError
			if !errors.As(err, &me) || !errors.Is(err, batch.ErrMixes) {
				t.Fatalf("Minor: %v, want a *MixError", err)
			}
			if me.Op != c.op || me.Pos < 0 {
				t.Errorf("MixError names %s@%d, want %s", me.Op, me.Pos, c.op)
			}
		})
	}
	_, err := batch.Minor(record(ops.Tanh, seeded(rng, -1, 1, 6)))
	if !errors.Is(err, batch.ErrMixes) {
		t.Errorf("a 1-D x: %v, want ErrMixes", err)
	}
}

func maxDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// TestTapelessVIJPMinor: the tapeless VIJP streams the row-major residual
// block batch-minor: under a width limit of one sample (d) it solves what
// the program as recorded (one dense lump of width B·d) refuses, and its
// result is gonum's LU solve of Jᵀ.
func TestTapelessVIJPMinor(t *testing.T) {
	const b, d, h = 6, 3, 5
	rng := rand.New(rand.NewPCG(13, 13))
	x := seeded(rng, -1, 1, b, d)
	cx := seeded(rng, -1, 1, b, d)
	f := residual(b, d, h, 9)
	if _, err := inverse.VIJP(f, x, cx, inverse.MaxLumpWidth(d), inverse.AsRecorded()); err == nil {
		t.Fatal("as recorded under a width limit of d: no error, want the dense lump refused")
	}
	got, err := inverse.VIJP(f, x, cx, inverse.MaxLumpWidth(d))
	if err != nil {
		t.Fatal(err)
	}
	n := b * d
	lu := recordedLU(t, f, x)
	var want mat.VecDense
	if err := lu.SolveVecTo(&want, true, mat.NewVecDense(n, cx.Data())); err != nil {
		t.Fatal(err)
	}
	if e := maxDiff(got.Data(), want.RawVector().Data); e > 1e-12 {
		t.Errorf("tapeless VIJP differs from gonum's LU solve of Jᵀ by %g", e)
	}
}

// recordedLU is the reference of the inverse products: gonum's LU of J of
// f at x as recorded (n JVPs through the program, no lumps).
func recordedLU(t *testing.T, f func(*tape.Var) *tape.Var, x *tensor.Tensor) *mat.LU {
	t.Helper()
	as, err := inverse.Linearize(f, x, inverse.AsRecorded())
	if err != nil {
		t.Fatal(err)
	}
	j, err := as.Jacobian()
	if err != nil {
		t.Fatal(err)
	}
	n := x.Len()
	var lu mat.LU
	lu.Factorize(mat.NewDense(n, n, j.Data()))
	return &lu
}

// TestMinorConcatConstants: a constant piece of a concatenation along the
// features moves with the samples (ConcatAxis itself refuses a piece that
// does not hold every sample).
func TestMinorConcatConstants(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	w := seeded(rng, -1, 1, 3, 2)
	piece := seeded(rng, -1, 1, 4, 1)
	f := func(x *tape.Var) *tape.Var { // [4, 3] → [4, 2] ++ [4, 1]
		return ops.ConcatAxis(1, ops.Tanh(ops.MatMul(x, ops.Const(x, w))), ops.Const(x, piece))
	}
	p := record(f, seeded(rng, -1, 1, 4, 3))
	q, err := batch.Minor(p)
	if err != nil {
		t.Fatal(err)
	}
	if e := maxDiff(q.Output.Value().Data(), p.Output.Value().Data()); e > 1e-15 {
		t.Errorf("outputs differ by %g", e)
	}
}

// TestMinorFuncTrace: every value of the batch-minor program with a
// recorded origin holds that source value's elements, moved back by
// Origin.Back to the source's layout exactly (the same numbers: products
// may sum in another order, so within rounding), on a residual block with
// a per-sample bias and a coupling layer with a feature concatenation and
// a 1×1 mixing; and the output and moved node values have origins.
func TestMinorFuncTrace(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	w := seeded(rng, -0.5, 0.5, 4, 4)
	coupling := func(x *tape.Var) *tape.Var {
		a, b := ops.SliceAxis(x, 1, 0, 2), ops.SliceAxis(x, 1, 2, 4)
		s := ops.Tanh(ops.MatMul(a, ops.Const(x, seeded(rng, -1, 1, 2, 2))))
		y := ops.ConcatAxis(1, a, ops.Add(ops.Mul(b, ops.Exp(s)), ops.Const(x, seeded(rng, -1, 1, 2))))
		return ops.MatMul(y, ops.Const(x, w))
	}
	for name, c := range map[string]struct {
		f func(*tape.Var) *tape.Var
		x *tensor.Tensor
	}{
		"residual": {residual(6, 3, 4, 3), seeded(rng, -1, 1, 6, 3)},
		"coupling": {coupling, seeded(rng, -1, 1, 7, 4)},
	} {
		p := record(c.f, c.x)
		src := map[int]*tape.Var{p.Input.ID(): p.Input}
		for _, nd := range p.Nodes {
			src[nd.Out.ID()] = nd.Out
			for _, v := range nd.In {
				src[v.ID()] = v
			}
		}
		mf, err := batch.MinorFuncTrace(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tp := tape.NewTape()
		in := tp.Input(c.x)
		y, tr := mf(in)
		q := tp.Finish(in, y)
		seen, moved := 0, 0
		check := func(v *tape.Var) {
			o, ok := tr.Src[v.ID()]
			if !ok {
				return
			}
			s := src[o.Var]
			if s == nil {
				t.Fatalf("%s: value %d's origin %d is no value of the source", name, v.ID(), o.Var)
			}
			seen++
			if o.Layout == batch.Moved {
				moved++
			}
			back := o.Back(v.Value(), s.Shape())
			if e := maxDiff(back.Data(), s.Value().Data()); e > 1e-14 {
				t.Errorf("%s: value %d (%v of %d) differs from its source by %g", name, v.ID(), o.Layout, o.Var, e)
			}
		}
		for _, nd := range q.Nodes {
			check(nd.Out)
			for _, v := range nd.In {
				check(v)
			}
		}
		if moved < len(p.Nodes) || seen <= moved {
			t.Errorf("%s: %d values traced, %d moved, for %d source ops", name, seen, moved, len(p.Nodes))
		}
	}
}
