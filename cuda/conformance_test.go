package cuda

import (
	"errors"
	"slices"
	"testing"

	"github.com/invad/invad/ops/opstest"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// onDevice is an op of package ops whose rules run on a Backend: each call
// uploads its operands, runs the op's device rule (the one a device
// Linearization runs) and downloads the result. Name, Shape and Structure
// are the op's own. It lets the conformance suite of package ops
// (ops/opstest) check the device rules exactly as it checks the CPU's.
type onDevice struct {
	tape.Op
	be *Backend
	o  devOp
}

func (d *onDevice) up(e *seq, ts []*tensor.Tensor) []*Tensor {
	out := make([]*Tensor, len(ts))
	for i, t := range ts {
		if t == nil {
			continue
		}
		if j := slices.Index(ts[:i], t); j >= 0 {
			out[i] = out[j] // one tensor in two slots stays one
			continue
		}
		out[i] = e.upload(t.Data(), t.Shape()...)
	}
	return out
}

func (d *onDevice) down(e *seq, dst *tensor.Tensor, t *Tensor) {
	if e.err == nil {
		e.ok(t.Download(dst.Data()))
	}
}

// must panics on a device error: the suite sees it as a failed check.
func must(e *seq) {
	if e.err != nil {
		panic("cuda: device error in a conformance rule: " + e.err.Error())
	}
}

func (d *onDevice) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	e := &seq{b: d.be}
	ins := d.up(e, in)
	r := e.alloc(dst.Shape()...)
	e.forward(d.o, r, ins)
	d.down(e, dst, r)
	e.free(append(ins, r)...)
	must(e)
}

func (d *onDevice) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	e := &seq{b: d.be}
	ins, ts := d.up(e, in), d.up(e, t)
	y := e.upload(out.Data(), out.Shape()...)
	r := e.alloc(dst.Shape()...)
	e.jvp(d.o, r, ins, y, ts)
	d.down(e, dst, r)
	e.free(append(append(ins, ts...), y, r)...)
	must(e)
}

func (d *onDevice) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	e := &seq{b: d.be}
	ins, ds := d.up(e, in), d.up(e, dst) // VJP adds into dst: its contents go up
	y := e.upload(out.Data(), out.Shape()...)
	ct := e.upload(c.Data(), c.Shape()...)
	e.vjp(d.o, ds, ins, y, ct)
	for i, g := range ds {
		if g != nil && slices.Index(dst[:i], dst[i]) < 0 {
			d.down(e, dst[i], g)
		}
	}
	e.free(append(append(ins, ds...), y, ct)...)
	must(e)
}

func (d *onDevice) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	e := &seq{b: d.be}
	ins := d.up(e, in)
	y := e.upload(out.Data(), out.Shape()...)
	// The node gives the factor the inputs' host values where they are
	// constants (a matmul's W); here every operand is handed over as a
	// varying one, so W is read back from the device.
	nd := &tape.Node{Op: d.Op, Pos: -1}
	tp := tape.NewShapeTape()
	for _, t := range in {
		nd.In = append(nd.In, tp.Input(t))
	}
	must(e)
	f, err := e.factor(d.o, nd, p, ins, y)
	e.free(append(ins, y)...)
	if err != nil {
		if errors.Is(err, tape.ErrNotSquare) || errors.Is(err, tape.ErrSingular) {
			return nil, err
		}
		panic(err)
	}
	return &factorOnDevice{be: d.be, f: f, n: out.Len()}, nil
}

// factorOnDevice is a device factor seen as a tape.Factor.
type factorOnDevice struct {
	be *Backend
	f  devFactor
	n  int
}

func (f *factorOnDevice) Size() int          { return f.n }
func (f *factorOnDevice) LogAbsDet() float64 { return f.f.logAbsDet() }
func (f *factorOnDevice) Solve(dst, v []float64) {
	f.solve(dst, v, false)
}
func (f *factorOnDevice) SolveT(dst, v []float64) { f.solve(dst, v, true) }
func (f *factorOnDevice) solve(dst, v []float64, trans bool) {
	e := &seq{b: f.be}
	a := e.upload(v, len(v))
	r := e.alloc(len(dst))
	if e.err == nil {
		if trans {
			f.f.solveT(e, r, a)
		} else {
			f.f.solve(e, r, a)
		}
	}
	if e.err == nil {
		e.ok(r.Download(dst))
	}
	e.free(a, r)
	must(e)
}

// checkConformance runs the conformance rows of package ops with every
// op's rules on the device.
func checkConformance(t *testing.T, b *Backend) {
	for _, r := range opstest.Rows() {
		t.Run(r.Case.Name, func(t *testing.T) {
			c := r.Case
			nd := &tape.Node{Op: c.Op, Pos: 0}
			o, err := deviceOp(nd)
			if err != nil {
				t.Fatal(err)
			}
			c.Op = &onDevice{Op: c.Op, be: b, o: o}
			opstest.Run(t, c)
		})
	}
}
