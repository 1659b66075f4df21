package batch_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/batch"
	"github.com/invad/invad/catalog"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

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

// flowLogDet is fl's closed form at x, one value per row, from the layers'
// s (each evaluated on its own small tape) and constant terms.
func flowLogDet(fl *catalog.RowFlow, x *tensor.Tensor) []float64 {
	b, k := x.Shape()[0], fl.D/2
	out := make([]float64, b)
	tp := tape.NewTape()
	v := tp.Input(x)
	for l := range fl.W1 {
		parts := ops.SplitAxis(v, 1, k, fl.D-k)
		s, t := fl.ST(l, parts[0])
		sd := s.Value().Data()
		for i := range b {
			for j := range fl.D - k {
				out[i] += sd[i*(fl.D-k)+j]
			}
		}
		var lu mat.LU
		lu.Factorize(mat.NewDense(fl.D, fl.D, fl.Wm[l].Data()))
		ldw, _ := lu.LogDet()
		lda := 0.0
		for _, a := range fl.Scale[l].Data() {
			lda += math.Log(math.Abs(a))
		}
		for i := range b {
			out[i] += ldw + lda
		}
		y2 := ops.Add(ops.Mul(parts[1], ops.Exp(s)), t)
		v = ops.MatMul(ops.Mul(ops.ConcatAxis(1, parts[0], y2), ops.Const(v, fl.Scale[l])), ops.Const(v, fl.Wm[l]))
	}
	return out
}

// TestRowMajorFlow: the row-major flow moved batch-minor computes the same
// function; its lumps are no wider than a sample (d); its per-sample
// log|det| are the closed form's and the per-sample LU blocks of J's; its
// inverse products are gonum's LU solves of the dense J.
func TestRowMajorFlow(t *testing.T) {
	const b, d, h = 5, 4, 3
	fl := catalog.NewRowFlow(2, d, h, 1)
	rng := rand.New(rand.NewPCG(12, 12))
	x := seeded(rng, -1, 1, b, d)
	p := record(fl.F, x)
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
	if e := maxDiff(transpose2(record(fl.Columns, transpose2(x)).Output.Value()).Data(), p.Output.Value().Data()); e > 1e-13 {
		t.Errorf("the feature-major flow differs by %g", e)
	}
	lin, err := inverse.Linearize(fl.F, x)
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
		if l.Kind == lump.Batch {
			var blocks, k, k2 int
			if _, err := fmt.Sscanf(l.Structure, "%d blocks %d×%d", &blocks, &k, &k2); err != nil || k > d || blocks*k != l.Width || l.Block != k {
				t.Errorf("batch lump %q of width %d: want blocks no wider than d = %d", l.Structure, l.Width, d)
			}
			continue
		}
		if l.Kind == lump.DenseLump && w > d {
			t.Errorf("a dense lump of width %d > d = %d: %+v", w, d, l)
		}
	}
	want := sampleLogDets(t, fl.F, x, b, func(i int) []int { return []int{i * d, i*d + 1, i*d + 2, i*d + 3} })
	if e := maxDiff(want, flowLogDet(fl, x)); e > 1e-12 {
		t.Fatalf("the references differ: per-sample LU %v, closed form %v", want, flowLogDet(fl, x))
	}
	checkAlong(t, lin, 0, want)

	n := b * d
	lu := recordedLU(t, fl.F, x)
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
