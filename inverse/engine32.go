package inverse

import (
	"sync"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/internal/adcore"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/sweep"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// cpuEngine32 is the float32 CPU engine of the sweep executor: the
// program's values rounded to float32 once, every op's float32 rules
// (tape.Op32; adcore.JVP32 widens for an op without them), float32
// vectors throughout. Blocks the engine builds (batch, dense and sparse
// lumps) are float32; how each is factorized is in Factor.
type cpuEngine32 struct {
	nodes []*tape.Node
	ins   [][]*tensor.Tensor32 // per node, its input values
	outs  []*tensor.Tensor32
}

// newCPUEngine32 returns the float32 engine of a recorded program, whose
// values val gives (per var id).
func newCPUEngine32(p *tape.Program, val []*tensor.Tensor32) *cpuEngine32 {
	e := &cpuEngine32{nodes: p.Nodes, ins: make([][]*tensor.Tensor32, len(p.Nodes)), outs: make([]*tensor.Tensor32, len(p.Nodes))}
	for i, nd := range p.Nodes {
		e.ins[i] = make([]*tensor.Tensor32, len(nd.In))
		for j, v := range nd.In {
			e.ins[i][j] = val[v.ID()]
		}
		e.outs[i] = val[nd.Out.ID()]
	}
	return e
}

func (e *cpuEngine32) Alloc(n int) *tensor.Tensor32 {
	return tensor.NewOf([]int{n}, make([]float32, n))
}
func (e *cpuEngine32) Free(*tensor.Tensor32) {}
func (e *cpuEngine32) Err() error            { return nil }

func (e *cpuEngine32) Shaped(v *tensor.Tensor32, off int, shape []int) *tensor.Tensor32 {
	return tensor.NewOf(shape, v.Data()[off:off+tensor.SizeOf(shape)])
}

func (e *cpuEngine32) Upload(v *tensor.Tensor32, host []float64) {
	d := v.Data()
	for i, x := range host {
		d[i] = float32(x)
	}
}

func (e *cpuEngine32) Zero(v *tensor.Tensor32, off, n int) { clear(v.Data()[off : off+n]) }

func (e *cpuEngine32) Copy(dst *tensor.Tensor32, doff int, src *tensor.Tensor32, soff, n int) {
	copy(dst.Data()[doff:doff+n], src.Data()[soff:soff+n])
}

func (e *cpuEngine32) Scale(dst *tensor.Tensor32, doff int, a float64, src *tensor.Tensor32, soff, n int) {
	d, s, a32 := dst.Data()[doff:doff+n], src.Data()[soff:soff+n], float32(a)
	for i, v := range s {
		d[i] = a32 * v
	}
}

func (e *cpuEngine32) Axpy(dst *tensor.Tensor32, doff int, a float64, src *tensor.Tensor32, soff, n int) {
	d, s, a32 := dst.Data()[doff:doff+n], src.Data()[soff:soff+n], float32(a)
	for i, v := range s {
		d[i] += a32 * v
	}
}

func (e *cpuEngine32) SubFrom(r *tensor.Tensor32, roff int, b *tensor.Tensor32, boff, n int) {
	d, s := r.Data()[roff:roff+n], b.Data()[boff:boff+n]
	for i, v := range s {
		d[i] = v - d[i]
	}
}

func (e *cpuEngine32) JVP(node int, dst *tensor.Tensor32, t []*tensor.Tensor32) {
	adcore.JVP32(e.nodes[node], dst, e.ins[node], e.outs[node], t)
}

func (e *cpuEngine32) VJP(node int, dst []*tensor.Tensor32, c *tensor.Tensor32) {
	adcore.VJP32(e.nodes[node], dst, e.ins[node], e.outs[node], c)
}

// Factor factorizes a lump's block. Batch lumps: the batched LU in
// float32. Steps: the op's inverse rule at the recorded float64 values,
// solving float32 vectors itself (tape.Factor32: diagonals, running sums)
// or in float64 on each vector widened (a matrix factor's cached LU).
// Dense and sparse lumps: the float32 block widened and factorized as the
// float64 engine does (gonum has no float32 LAPACK, and these lumps are
// the rare unstructured ones), solves widened the same way.
func (e *cpuEngine32) Factor(b sweep.Block[*tensor.Tensor32]) (sweep.Factor[*tensor.Tensor32], error) {
	lp := b.Lump
	var h hostFactor
	switch lp.Kind {
	case lump.Step:
		// At the recorded float64 values, which Linearization32 releases
		// only once every lump is factorized.
		nd := e.nodes[b.Node]
		in := make([]*tensor.Tensor, len(nd.In))
		for i, v := range nd.In {
			in[i] = v.Value()
		}
		f, err := nd.Op.Inverse(lp.Input, in, nd.Out.Value())
		if err != nil {
			return nil, err
		}
		h = hostFactor{f: f, how: "op rule"}
		if d, ok := f.(Describer); ok {
			h.how = d.Describe()
		}
		if f32, ok := f.(tape.Factor32); ok {
			return factor32{h, f32}, nil
		}
	case lump.Sparse:
		f, err := sweep.HostSparseFactor(lp, widen32(b.A.Data()))
		if err != nil {
			return nil, err
		}
		h = hostFactor{f: f, how: f.Describe(), bytes: f.Bytes()}
	case lump.Batch:
		f, sing := cpu.FactorBatch32(b.A.Data(), lp.K, lp.M)
		if sing != nil {
			return nil, &sweep.Singular{Pivot: sing.Pivot, Figure: sing.Figure, Why: sing.Error()}
		}
		how := "batched LU"
		if f.K() == 1 {
			how = "reciprocals"
		}
		return batch32{f, how}, nil
	default:
		f, sing := cpu.FactorLUColumns(widen32(b.A.Data()), lp.Width)
		if sing != nil {
			return nil, &sweep.Singular{Pivot: sing.Pivot, Figure: sing.Figure(), Why: sing.Why}
		}
		h = hostFactor{f: f, how: "dense LU", bytes: int64(f.Size()*f.Size()) * 8}
		if rc := f.RCond(); rc > 0 {
			h.growth = 1 / rc
		}
	}
	return &wideFactor{hostFactor: h}, nil
}

// batch32 is a batch lump's float32 batched LU.
type batch32 struct {
	f   *cpu.BatchLU32
	how string
}

func (b batch32) Solve(dst, v *tensor.Tensor32) error  { b.f.Solve(dst.Data(), v.Data()); return nil }
func (b batch32) SolveT(dst, v *tensor.Tensor32) error { b.f.SolveT(dst.Data(), v.Data()); return nil }
func (b batch32) LogAbsDet() float64                   { return b.f.LogAbsDet() }
func (b batch32) Describe() (string, float64)          { return b.how, b.f.MaxGrowth() }
func (b batch32) Bytes() int64                         { return b.f.Bytes() }
func (b batch32) Free()                                {}

// LogAbsDetParts adds each block's log|det| to its sample's part.
func (b batch32) LogAbsDetParts(dst []float64, group func(int) int) bool {
	addBlockParts(dst, b.f.M(), b.f.LogAbsDets, group)
	return true
}

// factor32 is an op rule's factor that solves float32 vectors itself.
type factor32 struct {
	hostFactor
	f32 tape.Factor32
}

func (f factor32) Solve(dst, v *tensor.Tensor32) error {
	f.f32.Solve32(dst.Data(), v.Data())
	return nil
}
func (f factor32) SolveT(dst, v *tensor.Tensor32) error {
	f.f32.SolveT32(dst.Data(), v.Data())
	return nil
}

// wideFactor applies a float64 factorization to float32 vectors: each
// solve widens its right-hand side, solves, and rounds the result. Its
// float64 buffers are pooled: concurrent solves take one each.
type wideFactor struct {
	hostFactor
	bufs sync.Pool // *[]float64
}

func (w *wideFactor) solve(dst, v *tensor.Tensor32, trans bool) error {
	p, _ := w.bufs.Get().(*[]float64)
	if p == nil {
		p = new([]float64)
	}
	vd := v.Data()
	if cap(*p) < len(vd) {
		*p = make([]float64, len(vd))
	}
	b := (*p)[:len(vd)]
	for i, x := range vd {
		b[i] = float64(x)
	}
	if trans {
		w.f.SolveT(b, b)
	} else {
		w.f.Solve(b, b)
	}
	dd := dst.Data()
	for i, x := range b {
		dd[i] = float32(x)
	}
	w.bufs.Put(p)
	return nil
}

func (w *wideFactor) Solve(dst, v *tensor.Tensor32) error  { return w.solve(dst, v, false) }
func (w *wideFactor) SolveT(dst, v *tensor.Tensor32) error { return w.solve(dst, v, true) }

// widen32 returns a float64 copy of s.
func widen32(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}
