package batch_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/batch"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// rowFlow is a RealNVP/Glow-style flow on X of shape [B, d], the layout of
// ML code: per layer, an affine coupling (x1 kept, x2·exp(s(x1)) + t(x1),
// s and t from a tanh layer with broadcast biases), a per-feature scale
// and a 1×1 mixing X·W. logDet is its closed-form per-sample log|det J|:
// Σ s over each sample's coupled features, plus log|det W| and Σ log|a|
// of the scale, per layer.
type rowFlow struct {
	d, h   int
	w1, ws []*tensor.Tensor // [d/2, h], [h, d/2]
	wt, wm []*tensor.Tensor // [h, d/2], [d, d]
	b1, bs []*tensor.Tensor // [h], [d/2]
	scale  []*tensor.Tensor // [d]
}

func newRowFlow(layers, d, h int, seed uint64) *rowFlow {
	rng := rand.New(rand.NewPCG(seed, 11))
	fl := &rowFlow{d: d, h: h}
	k := d / 2
	for range layers {
		fl.w1 = append(fl.w1, seeded(rng, -0.5, 0.5, k, h))
		fl.ws = append(fl.ws, seeded(rng, -0.3, 0.3, h, d-k))
		fl.wt = append(fl.wt, seeded(rng, -0.5, 0.5, h, d-k))
		wm := seeded(rng, -0.3, 0.3, d, d)
		for i := range d {
			wm.Data()[i*d+i] += 1.5
		}
		fl.wm = append(fl.wm, wm)
		fl.b1 = append(fl.b1, seeded(rng, -0.5, 0.5, h))
		fl.bs = append(fl.bs, seeded(rng, -0.2, 0.2, d-k))
		fl.scale = append(fl.scale, seeded(rng, 0.6, 1.4, d))
	}
	return fl
}

// coupling returns s and t of one layer from x1 [B, d/2].
func (fl *rowFlow) st(l int, x1 *tape.Var) (s, t *tape.Var) {
	c := func(t *tensor.Tensor) *tape.Var { return ops.Const(x1, t) }
	hid := ops.Tanh(ops.Add(ops.MatMul(x1, c(fl.w1[l])), c(fl.b1[l])))
	s = ops.Tanh(ops.Add(ops.MatMul(hid, c(fl.ws[l])), c(fl.bs[l])))
	t = ops.MatMul(hid, c(fl.wt[l]))
	return s, t
}

func (fl *rowFlow) f(x *tape.Var) *tape.Var {
	k := fl.d / 2
	for l := range fl.w1 {
		parts := ops.SplitAxis(x, 1, k, fl.d-k)
		s, t := fl.st(l, parts[0])
		y2 := ops.Add(ops.Mul(parts[1], ops.Exp(s)), t)
		x = ops.ConcatAxis(1, parts[0], y2)
		x = ops.Mul(x, ops.Const(x, fl.scale[l]))
		x = ops.MatMul(x, ops.Const(x, fl.wm[l]))
	}
	return x
}

// columns is f on the feature-major layout, x of shape [d, B]: the same
// flow with W·X products, Split/Concat along axis 0 and [h, 1] biases.
func (fl *rowFlow) columns(x *tape.Var) *tape.Var {
	k := fl.d / 2
	col := func(t *tensor.Tensor) *tape.Var { return ops.Const(x, tensor.New([]int{t.Len(), 1}, t.Data())) }
	tr := func(t *tensor.Tensor) *tape.Var { return ops.Const(x, transpose2(t)) }
	for l := range fl.w1 {
		parts := ops.Split(x, k, fl.d-k)
		hid := ops.Tanh(ops.Add(ops.MatMul(tr(fl.w1[l]), parts[0]), col(fl.b1[l])))
		s := ops.Tanh(ops.Add(ops.MatMul(tr(fl.ws[l]), hid), col(fl.bs[l])))
		t := ops.MatMul(tr(fl.wt[l]), hid)
		x = ops.Concat(parts[0], ops.Add(ops.Mul(parts[1], ops.Exp(s)), t))
		x = ops.Mul(x, col(fl.scale[l]))
		x = ops.MatMul(tr(fl.wm[l]), x)
	}
	return x
}

// transpose2 returns the transpose of a 2-D tensor.
func transpose2(t *tensor.Tensor) *tensor.Tensor {
	r, c := t.Shape()[0], t.Shape()[1]
	out := tensor.Zeros(c, r)
	for i := range r {
		for j := range c {
			out.Data()[j*r+i] = t.Data()[i*c+j]
		}
	}
	return out
}

// logDet is the closed form at x, one value per row, from the layers'
// s (each evaluated on its own small tape) and constant terms.
func (fl *rowFlow) logDet(x *tensor.Tensor) []float64 {
	b, k := x.Shape()[0], fl.d/2
	out := make([]float64, b)
	tp := tape.NewTape()
	v := tp.Input(x)
	for l := range fl.w1 {
		parts := ops.SplitAxis(v, 1, k, fl.d-k)
		s, t := fl.st(l, parts[0])
		sd := s.Value().Data()
		for i := range b {
			for j := range fl.d - k {
				out[i] += sd[i*(fl.d-k)+j]
			}
		}
		var lu mat.LU
		lu.Factorize(mat.NewDense(fl.d, fl.d, fl.wm[l].Data()))
		ldw, _ := lu.LogDet()
		lda := 0.0
		for _, a := range fl.scale[l].Data() {
			lda += math.Log(math.Abs(a))
		}
		for i := range b {
			out[i] += ldw + lda
		}
		y2 := ops.Add(ops.Mul(parts[1], ops.Exp(s)), t)
		v = ops.MatMul(ops.Mul(ops.ConcatAxis(1, parts[0], y2), ops.Const(v, fl.scale[l])), ops.Const(v, fl.wm[l]))
	}
	return out
}

// TestRowMajorFlow: the row-major flow moved batch-minor computes the same
// function; its lumps are no wider than a sample (d); its per-sample
// log|det| are the closed form's and the per-sample LU blocks of J's; its
// inverse products are gonum's LU solves of the dense J.
func TestRowMajorFlow(t *testing.T) {
	const b, d, h = 5, 4, 3
	fl := newRowFlow(2, d, h, 1)
	rng := rand.New(rand.NewPCG(12, 12))
	x := seeded(rng, -1, 1, b, d)
	p := record(fl.f, x)
	if !batch.Gains(p) {
		t.Fatal("Gains: false")
	}
	q, err := batch.Minor(p)
	if err != nil {
		t.Fatal(err)
	}
	if e := maxDiff(q.Output.Value().Data(), p.Output.Value().Data()); e > 1e-13 {
		t.Errorf("outputs differ by %g", e)
	}
	if e := maxDiff(transpose2(record(fl.columns, transpose2(x)).Output.Value()).Data(), p.Output.Value().Data()); e > 1e-13 {
		t.Errorf("the feature-major flow differs by %g", e)
	}
	lin, err := inverse.Linearize(fl.f, x)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := lin.Lumps()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		w := l.Width
		t.Logf("%s width %d: %s", l.Kind, l.Width, l.Structure)
		if l.Kind == "batch" {
			var blocks, k, k2 int
			if _, err := fmt.Sscanf(l.Structure, "%d blocks %d×%d", &blocks, &k, &k2); err != nil || k > d || blocks*k != l.Width {
				t.Errorf("batch lump %q of width %d: want blocks no wider than d = %d", l.Structure, l.Width, d)
			}
			continue
		}
		if l.Kind == "dense" && w > d {
			t.Errorf("a dense lump of width %d > d = %d: %+v", w, d, l)
		}
	}
	want := sampleLogDets(t, fl.f, x, b, func(i int) []int { return []int{i * d, i*d + 1, i*d + 2, i*d + 3} })
	if e := maxDiff(want, fl.logDet(x)); e > 1e-12 {
		t.Fatalf("the references differ: per-sample LU %v, closed form %v", want, fl.logDet(x))
	}
	checkAlong(t, lin, 0, want)

	as, err := inverse.Linearize(fl.f, x, inverse.AsRecorded())
	if err != nil {
		t.Fatal(err)
	}
	j, err := as.Jacobian()
	if err != nil {
		t.Fatal(err)
	}
	n := b * d
	var lu mat.LU
	lu.Factorize(mat.NewDense(n, n, j.Data()))
	v := seeded(rng, -1, 1, b, d)
	for _, trans := range []bool{false, true} {
		var ref mat.VecDense
		if err := lu.SolveVecTo(&ref, trans, mat.NewVecDense(n, v.Data())); err != nil {
			t.Fatal(err)
		}
		got, err := lin.IJVP(v)
		if trans {
			got, err = lin.VIJP(v)
		}
		if err != nil {
			t.Fatal(err)
		}
		if e := maxDiff(got.Data(), ref.RawVector().Data); e > 1e-12 {
			t.Errorf("transposed %v: differs from gonum's LU solve by %g", trans, e)
		}
	}
}
