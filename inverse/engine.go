package inverse

import (
	"github.com/invad/invad/cpu"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/sweep"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// cpuEngine is the CPU engine of the sweep executor (package sweep): host
// tensors, the ops' own rules, gonum's LU and the batched LU of package
// cpu. With a recorded tape it is stateless and serves concurrent products;
// the tapeless VIJP's (stream) reads the values as they are streamed and
// serves one sweep.
type cpuEngine struct {
	nodes []*tape.Node
	ins   [][]*tensor.Tensor // per node, its input values (nil: stream)
	outs  []*tensor.Tensor
	val   func(*tape.Var) *tensor.Tensor
	tmp   []*tensor.Tensor
}

// newCPUEngine returns the engine of a recorded program: every value is on
// the tape.
func newCPUEngine(p *tape.Program) *cpuEngine {
	e := &cpuEngine{nodes: p.Nodes, ins: make([][]*tensor.Tensor, len(p.Nodes)), outs: make([]*tensor.Tensor, len(p.Nodes))}
	for i, nd := range p.Nodes {
		e.ins[i] = make([]*tensor.Tensor, len(nd.In))
		for j, v := range nd.In {
			e.ins[i][j] = v.Value()
		}
		e.outs[i] = nd.Out.Value()
	}
	return e
}

// newStreamEngine returns the engine of the tapeless VIJP: val gives the
// values streamed so far.
func newStreamEngine(p *tape.Program, val func(*tape.Var) *tensor.Tensor) *cpuEngine {
	return &cpuEngine{nodes: p.Nodes, val: val}
}

func (e *cpuEngine) values(node int) ([]*tensor.Tensor, *tensor.Tensor) {
	if e.ins != nil {
		return e.ins[node], e.outs[node]
	}
	nd := e.nodes[node]
	e.tmp = e.tmp[:0]
	for _, v := range nd.In {
		e.tmp = append(e.tmp, e.val(v))
	}
	return e.tmp, e.val(nd.Out)
}

func (e *cpuEngine) Alloc(n int) *tensor.Tensor { return tensor.New([]int{n}, make([]float64, n)) }
func (e *cpuEngine) Free(*tensor.Tensor)        {}
func (e *cpuEngine) Err() error                 { return nil }

func (e *cpuEngine) Shaped(v *tensor.Tensor, off int, shape []int) *tensor.Tensor {
	return tensor.New(shape, v.Data()[off:off+tensor.SizeOf(shape)])
}

func (e *cpuEngine) Upload(v *tensor.Tensor, host []float64) { copy(v.Data(), host) }

func (e *cpuEngine) Zero(v *tensor.Tensor, off, n int) { vclear(v.Data()[off : off+n]) }

func (e *cpuEngine) Copy(dst *tensor.Tensor, doff int, src *tensor.Tensor, soff, n int) {
	copy(dst.Data()[doff:doff+n], src.Data()[soff:soff+n])
}

func (e *cpuEngine) Scale(dst *tensor.Tensor, doff int, a float64, src *tensor.Tensor, soff, n int) {
	vscaleTo(dst.Data()[doff:doff+n], a, src.Data()[soff:soff+n])
}

func (e *cpuEngine) Axpy(dst *tensor.Tensor, doff int, a float64, src *tensor.Tensor, soff, n int) {
	vaxpy(dst.Data()[doff:doff+n], a, src.Data()[soff:soff+n])
}

func (e *cpuEngine) SubFrom(r *tensor.Tensor, roff int, b *tensor.Tensor, boff, n int) {
	vsubFrom(r.Data()[roff:roff+n], b.Data()[boff:boff+n])
}

func (e *cpuEngine) JVP(node int, dst *tensor.Tensor, t []*tensor.Tensor) {
	in, out := e.values(node)
	e.nodes[node].Op.JVP(dst, in, out, t)
}

func (e *cpuEngine) VJP(node int, dst []*tensor.Tensor, c *tensor.Tensor) {
	in, out := e.values(node)
	e.nodes[node].Op.VJP(dst, in, out, c)
}

func (e *cpuEngine) Factor(b sweep.Block[*tensor.Tensor]) (sweep.Factor[*tensor.Tensor], error) {
	lp := b.Lump
	switch lp.Kind {
	case lump.Step:
		nd := e.nodes[b.Node]
		in, out := e.values(b.Node)
		f, err := nd.Op.Inverse(lp.Input, in, out)
		if err != nil {
			return nil, err
		}
		return stepFactor{f}, nil
	case lump.Batch:
		f, sing := cpu.FactorBatch(b.A.Data(), lp.K, lp.M)
		if sing != nil {
			return nil, &sweep.Singular{Pivot: sing.Pivot, Figure: sing.Figure, Why: sing.Error()}
		}
		return batchFactor{f}, nil
	default:
		f, sing := cpu.FactorLUColumns(b.A.Data(), lp.Width)
		if sing != nil {
			return nil, &sweep.Singular{Pivot: sing.Pivot, Figure: sing.Figure(), Why: sing.Why}
		}
		return denseFactor{f}, nil
	}
}

// stepFactor is an op's own inverse rule.
type stepFactor struct{ f tape.Factor }

func (s stepFactor) Solve(dst, v *tensor.Tensor) error  { s.f.Solve(dst.Data(), v.Data()); return nil }
func (s stepFactor) SolveT(dst, v *tensor.Tensor) error { s.f.SolveT(dst.Data(), v.Data()); return nil }
func (s stepFactor) LogAbsDet() float64                 { return s.f.LogAbsDet() }
func (s stepFactor) Bytes() int64                       { return 0 }
func (s stepFactor) Free()                              {}
func (s stepFactor) Describe() (string, float64) {
	if d, ok := s.f.(Describer); ok {
		return d.Describe(), 0
	}
	return "op rule", 0
}

// batchFactor is a batch lump's M K×K blocks, batched LU.
type batchFactor struct{ f *cpu.BatchLU }

func (s batchFactor) Solve(dst, v *tensor.Tensor) error { s.f.Solve(dst.Data(), v.Data()); return nil }
func (s batchFactor) SolveT(dst, v *tensor.Tensor) error {
	s.f.SolveT(dst.Data(), v.Data())
	return nil
}
func (s batchFactor) LogAbsDet() float64 { return s.f.LogAbsDet() }
func (s batchFactor) Bytes() int64       { return int64(s.f.K()*s.f.K()*s.f.M()) * 8 }
func (s batchFactor) Free()              {}
func (s batchFactor) Describe() (string, float64) {
	if s.f.K() == 1 {
		return "reciprocals", s.f.MaxGrowth()
	}
	return "batched LU", s.f.MaxGrowth()
}

// denseFactor is a dense lump's LU (gonum).
type denseFactor struct{ f *cpu.LU }

func (s denseFactor) Solve(dst, v *tensor.Tensor) error { s.f.Solve(dst.Data(), v.Data()); return nil }
func (s denseFactor) SolveT(dst, v *tensor.Tensor) error {
	s.f.SolveT(dst.Data(), v.Data())
	return nil
}
func (s denseFactor) LogAbsDet() float64 { return s.f.LogAbsDet() }
func (s denseFactor) Bytes() int64       { return int64(s.f.Size()*s.f.Size()) * 8 }
func (s denseFactor) Free()              {}
func (s denseFactor) Describe() (string, float64) {
	if rc := s.f.RCond(); rc > 0 {
		return "dense LU", 1 / rc
	}
	return "dense LU", 0
}
