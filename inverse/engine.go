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
		how := "op rule"
		if d, ok := f.(Describer); ok {
			how = d.Describe()
		}
		return hostFactor{f: f, how: how}, nil
	case lump.Sparse:
		f, err := sweep.HostSparseFactor(lp, b.A.Data())
		if err != nil {
			return nil, err
		}
		return hostFactor{f: f, how: f.Describe(), bytes: f.Bytes()}, nil
	case lump.Batch:
		f, sing := cpu.FactorBatch(b.A.Data(), lp.K, lp.M)
		if sing != nil {
			return nil, &sweep.Singular{Pivot: sing.Pivot, Figure: sing.Figure, Why: sing.Error()}
		}
		how := "batched LU"
		if f.K() == 1 {
			how = "reciprocals"
		}
		return hostFactor{f: f, how: how, growth: f.MaxGrowth(), bytes: f.Bytes()}, nil
	default:
		f, sing := cpu.FactorLUColumns(b.A.Data(), lp.Width)
		if sing != nil {
			return nil, &sweep.Singular{Pivot: sing.Pivot, Figure: sing.Figure(), Why: sing.Why}
		}
		h := hostFactor{f: f, how: "dense LU", bytes: int64(f.Size()*f.Size()) * 8}
		if rc := f.RCond(); rc > 0 {
			h.growth = 1 / rc
		}
		return h, nil
	}
}

// hostFactor is a factorization on host slices (an op's own inverse rule,
// a batch lump's batched LU, a dense lump's gonum LU) with what it says of
// itself.
type hostFactor struct {
	f interface {
		Solve(dst, v []float64)
		SolveT(dst, v []float64)
		LogAbsDet() float64
	}
	how    string
	growth float64 // a batched LU's largest pivot growth, a dense LU's condition estimate
	bytes  int64
}

func (h hostFactor) Solve(dst, v *tensor.Tensor) error  { h.f.Solve(dst.Data(), v.Data()); return nil }
func (h hostFactor) SolveT(dst, v *tensor.Tensor) error { h.f.SolveT(dst.Data(), v.Data()); return nil }
func (h hostFactor) LogAbsDet() float64                 { return h.f.LogAbsDet() }

// SolveTMany solves for every right-hand side at once where the
// factorization can (a batched LU: sweep.ManySolverT), else one by one.
func (h hostFactor) SolveTMany(dst, v []*tensor.Tensor) error {
	m, ok := h.f.(interface{ SolveTMany(dst, v [][]float64) })
	if !ok {
		for r := range dst {
			h.f.SolveT(dst[r].Data(), v[r].Data())
		}
		return nil
	}
	d, s := make([][]float64, len(dst)), make([][]float64, len(v))
	for r := range dst {
		d[r], s[r] = dst[r].Data(), v[r].Data()
	}
	m.SolveTMany(d, s)
	return nil
}
func (h hostFactor) Describe() (string, float64) { return h.how, h.growth }
func (h hostFactor) Bytes() int64                { return h.bytes }
func (h hostFactor) Free()                       {}

// LogAbsDetParts: a batched LU's blocks, or the op rule's own split.
func (h hostFactor) LogAbsDetParts(dst []float64, group func(int) int) bool {
	switch f := h.f.(type) {
	case *cpu.BatchLU:
		addBlockParts(dst, f.M(), f.LogAbsDets, group)
		return true
	case tape.LogDetParter:
		return f.LogAbsDetParts(dst, group)
	}
	return false
}

// addBlockParts adds the log|det| of each of m blocks (logdets writes
// them) to its group's part.
func addBlockParts(dst []float64, m int, logdets func([]float64), group func(int) int) {
	ld := make([]float64, m)
	logdets(ld)
	for b, v := range ld {
		dst[group(b)] += v
	}
}
