package gorgonia_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	invadg "github.com/invad/invad/interop/gorgonia"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// A row-major flow, x of shape [B, 6]: two layers of an affine coupling
// split along the feature axis followed by Glow's 1×1 mixing x·Wᵀ + b,
// written in Gorgonia (gFlow) and natively with invad's ops (nativeFlow).
var (
	bfW    = uniform(rng, 2*3*5, -0.7, 0.7)
	bfWs   = uniform(rng, 2*5*3, -0.5, 0.5)
	bfWt   = uniform(rng, 2*5*3, -0.7, 0.7)
	bfB    = uniform(rng, 2*5, -0.2, 0.2)
	bfMix  = addIdentity(uniform(rng, 2*6*6, -0.3, 0.3), 6)
	bfBias = uniform(rng, 2*6, -0.2, 0.2)
)

func gFlow(b *builder, x *G.Node) *G.Node {
	for l := range 2 {
		x1 := G.Must(G.Slice(x, nil, G.S(0, 3)))
		x2 := G.Must(G.Slice(x, nil, G.S(3, 6)))
		w := b.param(fmt.Sprint("W", l), bfW[l*15:(l+1)*15], 3, 5)
		bb := b.param(fmt.Sprint("b", l), bfB[l*5:(l+1)*5], 5)
		ws := b.param(fmt.Sprint("Ws", l), bfWs[l*15:(l+1)*15], 5, 3)
		wt := b.param(fmt.Sprint("Wt", l), bfWt[l*15:(l+1)*15], 5, 3)
		h := G.Must(G.Tanh(G.Must(G.BroadcastAdd(G.Must(G.Mul(x1, w)), bb, nil, []byte{0}))))
		s := G.Must(G.Tanh(G.Must(G.Mul(h, ws))))
		t := G.Must(G.Mul(h, wt))
		y2 := G.Must(G.Add(G.Must(G.HadamardProd(x2, G.Must(G.Exp(s)))), t))
		x = G.Must(G.Concat(1, x1, y2))
		m := b.param(fmt.Sprint("M", l), bfMix[l*36:(l+1)*36], 6, 6)
		bias := b.param(fmt.Sprint("c", l), bfBias[l*6:(l+1)*6], 6)
		x = G.Must(G.BroadcastAdd(G.Must(G.Mul(x, G.Must(G.Transpose(m)))), bias, nil, []byte{0}))
	}
	return x
}

func nativeFlow(x *tape.Var) *tape.Var {
	c := func(d []float64, shape ...int) *tape.Var { return ops.Const(x, tensor.New(shape, d)) }
	for l := range 2 {
		p := ops.SplitAxis(x, 1, 3, 3)
		h := ops.Tanh(ops.Add(ops.MatMul(p[0], c(bfW[l*15:(l+1)*15], 3, 5)), c(bfB[l*5:(l+1)*5], 5)))
		s := ops.Tanh(ops.MatMul(h, c(bfWs[l*15:(l+1)*15], 5, 3)))
		t := ops.MatMul(h, c(bfWt[l*15:(l+1)*15], 5, 3))
		x = ops.ConcatAxis(1, p[0], ops.Add(ops.Mul(p[1], ops.Exp(s)), t))
		m := ops.Transpose(c(bfMix[l*36:(l+1)*36], 6, 6))
		x = ops.Add(ops.MatMul(x, m), c(bfBias[l*6:(l+1)*6], 6))
	}
	return x
}

// lumpKinds lists a Linearization's lumps as "kind: structure", sorted,
// expansions and copies left out (they hold no factor).
func lumpKinds(t *testing.T, lin *inverse.Linearization) []string {
	t.Helper()
	ls, err := lin.Lumps()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		if l.Kind != lump.Expansion && l.Kind != lump.Copy {
			out = append(out, l.Kind.String()+": "+l.Structure)
		}
	}
	slices.Sort(out)
	return out
}

// TestImportRowMajorBatch: a [B, d] flow imported from Gorgonia records as
// many ops at B = 400 as at B = 20 (axis ops, not one slice per row), gets
// the lumps of the same flow written natively (per-sample steps, none
// coupling two samples), and agrees with it in value, IJVP and per-sample
// log|det J|.
func TestImportRowMajorBatch(t *testing.T) {
	var nodes []int
	for _, nb := range []int{20, 400} {
		b := &builder{g: G.NewGraph(), dt: gt.Float64, named: map[string]*G.Node{}}
		r := rand.New(rand.NewPCG(uint64(nb), 3))
		xv := uniform(r, nb*6, -1, 1)
		x := G.NewTensor(b.g, gt.Float64, 2, G.WithShape(nb, 6), G.WithName("x"), G.WithValue(dense(gt.Float64, []int{nb, 6}, xv)))
		y := gFlow(b, x)
		p, err := invadg.Import(b.g, x, y)
		if err != nil {
			t.Fatal(err)
		}
		x0 := tensor.New([]int{nb, 6}, xv)
		tp := tape.NewTape()
		nodes = append(nodes, len(tp.Finish(tp.Input(x0), p.F(tp.Input(x0))).Nodes))
		lin, err := inverse.Linearize(p.F, x0)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := inverse.Linearize(nativeFlow, x0)
		if err != nil {
			t.Fatal(err)
		}
		got, want := lumpKinds(t, lin), lumpKinds(t, ref)
		if !slices.Equal(got, want) {
			t.Errorf("B = %d: imported lumps\n%q\nnative lumps\n%q", nb, got, want)
		}
		if e := maxAbsDiff(lin.Output().Data(), ref.Output().Data()); e > 1e-13 {
			t.Errorf("B = %d: outputs differ by %g", nb, e)
		}
		v := tensor.New([]int{nb, 6}, uniform(r, nb*6, -1, 1))
		dx, err := lin.IJVP(v)
		if err != nil {
			t.Fatal(err)
		}
		dxRef, err := ref.IJVP(v)
		if err != nil {
			t.Fatal(err)
		}
		if e := maxAbsDiff(dx.Data(), dxRef.Data()); e > 1e-12 {
			t.Errorf("B = %d: IJVPs differ by %g", nb, e)
		}
		ld, err := lin.LogAbsDetAlong(0)
		if err != nil {
			t.Fatal(err)
		}
		ldRef, err := ref.LogAbsDetAlong(0)
		if err != nil {
			t.Fatal(err)
		}
		if e := maxAbsDiff(ld.Data(), ldRef.Data()); e > 1e-12 {
			t.Errorf("B = %d: per-sample log|det J| differ by %g", nb, e)
		}
	}
	t.Logf("recorded ops: %v at B = 20 and 400", nodes)
	if nodes[0] != nodes[1] {
		t.Errorf("the imported program records %d ops at B = 20 and %d at B = 400: some op is lowered per row", nodes[0], nodes[1])
	}
}

func maxAbsDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}
