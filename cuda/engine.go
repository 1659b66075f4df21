package cuda

import (
	"errors"
	"fmt"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/sweep"
)

// devEngine is the CUDA engine of the sweep executor (package sweep): the
// vectors are device tensors, the op rules and the factors run by the
// kernels. It keeps the first error of the operations of a product (the
// seq): a Linearization runs one product at a time.
type devEngine struct {
	l *Linearization
	e *seq
}

func (d *devEngine) Alloc(n int) *Tensor { return d.e.zeros(n) }
func (d *devEngine) Free(v *Tensor)      { freeAll(v) }

func (d *devEngine) Shaped(v *Tensor, off int, shape []int) *Tensor {
	if shape == nil {
		shape = []int{} // a scalar: View takes no shape as "the rest"
	}
	return v.View(off, shape...)
}

func (d *devEngine) Upload(v *Tensor, host []float64) {
	d.e.run(func() error { return d.e.b.UploadTo(v, host) })
}

func (d *devEngine) Zero(v *Tensor, off, n int) { d.e.zero(v.View(off, n)) }

func (d *devEngine) Copy(dst *Tensor, doff int, src *Tensor, soff, n int) {
	d.e.copy(dst.View(doff, n), src.View(soff, n))
}

func (d *devEngine) Scale(dst *Tensor, doff int, a float64, src *Tensor, soff, n int) {
	d.e.scale(dst.View(doff, n), a, src.View(soff, n))
}

func (d *devEngine) Axpy(dst *Tensor, doff int, a float64, src *Tensor, soff, n int) {
	d.e.axpy(dst.View(doff, n), a, src.View(soff, n))
}

func (d *devEngine) SubFrom(r *Tensor, roff int, b *Tensor, boff, n int) {
	d.e.subFrom(r.View(roff, n), b.View(boff, n))
}

func (d *devEngine) JVP(node int, dst *Tensor, t []*Tensor) {
	l, nd := d.l, d.l.prog.Nodes[node]
	d.e.jvp(l.ops[node], dst, l.values(d.e, nd.In), l.val[nd.Out.ID()], t)
}

func (d *devEngine) VJP(node int, dst []*Tensor, c *Tensor) {
	l, nd := d.l, d.l.prog.Nodes[node]
	d.e.vjp(l.ops[node], dst, l.values(d.e, nd.In), l.val[nd.Out.ID()], c)
}

func (d *devEngine) Err() error {
	err := d.e.err
	d.e.err = nil
	return err
}

// deviceErr marks the engine's own failure, which the executor passes on
// as it is.
func (d *devEngine) deviceErr() error {
	err := d.Err()
	if err == nil {
		return nil
	}
	return &sweep.DeviceError{Err: err}
}

func (d *devEngine) Factor(b sweep.Block[*Tensor]) (sweep.Factor[*Tensor], error) {
	lp, e := b.Lump, d.e
	switch lp.Kind {
	case lump.Step:
		nd := d.l.prog.Nodes[b.Node]
		f, err := e.factor(d.l.ops[b.Node], nd, lp.Input, d.l.values(e, nd.In), d.l.val[nd.Out.ID()])
		if derr := d.deviceErr(); derr != nil {
			return nil, derr
		}
		if err != nil {
			return nil, err
		}
		return devFac{f: f, e: e}, nil
	case lump.Batch:
		lu, err := d.l.be.FactorBatch(b.A, lp.K, lp.M)
		if err != nil {
			var bs *BatchSingular
			if errors.As(err, &bs) {
				return nil, &sweep.Singular{Pivot: bs.Pivot, Figure: bs.Figure, Why: bs.Error()}
			}
			return nil, &sweep.DeviceError{Err: err}
		}
		ld, err := lu.LogAbsDet()
		if err != nil {
			lu.Free()
			return nil, &sweep.DeviceError{Err: err}
		}
		return devFac{f: &batchDev{lu: lu, logdet: ld}, e: e}, nil
	case lump.DenseLump:
		// The block is small (at most the width limit): its LU is the
		// host's, and the solves are products with A⁻¹ on the device.
		n := lp.Width
		at := e.download(b.A) // column-major: column c at c·n
		if derr := d.deviceErr(); derr != nil {
			return nil, derr
		}
		lu, sing := cpu.FactorLUColumns(at, n)
		if sing != nil {
			return nil, &sweep.Singular{Pivot: sing.Pivot, Figure: sing.Figure(), Why: sing.Why}
		}
		f := &kronDev{k: n, c: 1, left: true, logdet: lu.LogAbsDet(), how: "dense LU"}
		f.winv = e.upload(lu.Inverse(), n, n)
		if derr := d.deviceErr(); derr != nil {
			return nil, derr
		}
		return devFac{f: f, e: e}, nil
	case lump.Sparse:
		// The banded LU stays on the host: each solve copies its vector
		// there and back (a device banded or sparse LU is not built yet).
		f, err := sweep.HostSparseFactor(lp, e.download(b.A))
		if derr := d.deviceErr(); derr != nil {
			return nil, derr
		}
		if err != nil {
			return nil, err
		}
		return devFac{f: &hostSparseDev{f: f}, e: e}, nil
	}
	panic(fmt.Sprintf("cuda: no factor for a %v lump", lp.Kind))
}

// hostSparseDev is a sparse lump's factorization (banded or sparse LU), held
// on the host.
type hostSparseDev struct{ f sweep.SparseFactor }

func (f *hostSparseDev) solve(e *seq, dst, v *Tensor)  { f.apply(e, dst, v, f.f.Solve) }
func (f *hostSparseDev) solveT(e *seq, dst, v *Tensor) { f.apply(e, dst, v, f.f.SolveT) }

func (f *hostSparseDev) apply(e *seq, dst, v *Tensor, solve func(dst, b []float64)) {
	b := e.download(v)
	x := make([]float64, len(b))
	solve(x, b)
	e.run(func() error { return e.b.UploadTo(dst, x) })
}

func (f *hostSparseDev) logAbsDet() float64 { return f.f.LogAbsDet() }
func (f *hostSparseDev) free()              {}
func (f *hostSparseDev) bytes() int64       { return f.f.Bytes() }
func (f *hostSparseDev) describe() string   { return f.f.Describe() + ", on the host" }

// devFac adapts a device factor to the executor's Factor: errors go to the
// engine's seq, which the executor reads at the end of the product.
type devFac struct {
	f devFactor
	e *seq
}

func (f devFac) Solve(dst, v *Tensor) error  { f.f.solve(f.e, dst, v); return nil }
func (f devFac) SolveT(dst, v *Tensor) error { f.f.solveT(f.e, dst, v); return nil }
func (f devFac) LogAbsDet() float64          { return f.f.logAbsDet() }
func (f devFac) Describe() (string, float64) { return f.f.describe(), 0 }
func (f devFac) Bytes() int64                { return f.f.bytes() }
func (f devFac) Free()                       { f.f.free() }

// batchDev is a batch lump's M independent K×K blocks, LU-factorized on
// the device.
type batchDev struct {
	lu     *BatchLU
	logdet float64
}

func (f *batchDev) solve(e *seq, dst, v *Tensor)  { e.run(func() error { return f.lu.Solve(dst, v) }) }
func (f *batchDev) solveT(e *seq, dst, v *Tensor) { e.run(func() error { return f.lu.SolveT(dst, v) }) }
func (f *batchDev) logAbsDet() float64            { return f.logdet }
func (f *batchDev) free()                         { f.lu.Free() }
func (f *batchDev) bytes() int64                  { return int64(f.lu.K()*f.lu.K()*f.lu.M()) * 8 }
func (f *batchDev) describe() string {
	if f.lu.K() == 1 {
		return "reciprocals"
	}
	return "batched LU"
}
