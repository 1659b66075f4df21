package cuda

import (
	"fmt"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// The device rules of the ops along an axis (Permute, SliceAxis,
// ConcatAxis, SumAxis and MeanAxis: strided copies and sums of
// kernels/gather.cu) and of BatchMatMul (Gemm on the stacked samples for a
// 2-D right operand, GemmBatched for a 3-D one). As everywhere, geometry comes from the
// operands' shapes: dst, tangents and cotangents may be flat views.

func init() {
	register(&ops.PermuteOp{}, func(op tape.Op) (devOp, bool) { return permuteRule{op: op.(*ops.PermuteOp)}, true })
	register(&ops.SliceAxisOp{}, func(op tape.Op) (devOp, bool) { return sliceAxisRule{op: op.(*ops.SliceAxisOp)}, true })
	register(&ops.ConcatAxisOp{}, func(op tape.Op) (devOp, bool) { return concatAxisRule{axis: op.(*ops.ConcatAxisOp).Axis}, true })
	register(&ops.SumAxisOp{}, func(op tape.Op) (devOp, bool) { return sumAxisRule{op: op.(*ops.SumAxisOp)}, true })
	register(ops.BatchMatMulOp, func(tape.Op) (devOp, bool) { return bmmRule{}, true })
}

// axisDims splits shape around axis: the product of the dimensions before
// it, its own, and the product of those after it.
func axisDims(shape []int, axis int) (outer, size, inner int) {
	return tensor.SizeOf(shape[:axis]), shape[axis], tensor.SizeOf(shape[axis+1:])
}

// ---- Permute ----

type permuteRule struct {
	notView
	op *ops.PermuteOp
}

// geometry returns the output's shape and the input's strides along the
// output's axes.
func (o permuteRule) geometry(in []int) (out, st []int) {
	out = o.op.Shape([][]int{in})
	rm := tensor.Strides(in)
	st = make([]int, len(out))
	for d, p := range o.op.Perm {
		st[d] = rm[p]
	}
	return out, st
}

// permute writes x, of the input's shape in, permuted into dst.
func (o permuteRule) permute(e *seq, dst, x *Tensor, in []int) {
	out, st := o.geometry(in)
	e.stridedCopy(dst, x, strided{dims: out, dst: tensor.Strides(out), src: st}, 1, false)
}

// back writes (add false) or adds v, of the output's shape, permuted back
// into dst.
func (o permuteRule) back(e *seq, dst, v *Tensor, in []int, add bool) {
	out, st := o.geometry(in)
	e.stridedCopy(dst, v, strided{dims: out, dst: st, src: tensor.Strides(out)}, 1, add)
}

func (o permuteRule) forward(e *seq, dst *Tensor, in []*Tensor) {
	o.permute(e, dst, in[0], in[0].Shape())
}

func (o permuteRule) jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	o.permute(e, dst, t[0], in[0].Shape())
}

func (o permuteRule) vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	if dst[0] != nil {
		o.back(e, dst[0], c, in[0].Shape(), true)
	}
}

// factor: the identity where the permutation keeps the flat order (the
// op's structure says so), else the inverse permutation.
func (o permuteRule) factor(e *seq, nd *tape.Node, p int, in []*Tensor, out *Tensor) (devFactor, error) {
	if o.op.Structure(0, [][]int{in[0].Shape()}, []bool{true}).Kind == tape.Identity {
		return identityDev{}, nil
	}
	return permDev{rule: o, in: in[0].Shape()}, nil
}

// permDev is a permutation block P: solve applies Pᵀ, solveT applies P.
type permDev struct {
	rule permuteRule
	in   []int
}

func (f permDev) solve(e *seq, dst, v *Tensor)  { f.rule.back(e, dst, v, f.in, false) }
func (f permDev) solveT(e *seq, dst, v *Tensor) { f.rule.permute(e, dst, v, f.in) }
func (permDev) logAbsDet() float64              { return 0 }
func (permDev) free()                           {}
func (f permDev) describe() string {
	return fmt.Sprintf("axis permutation %v (strided copies)", f.rule.op.Perm)
}
func (permDev) bytes() int64 { return 0 }

// ---- SliceAxis ----

type sliceAxisRule struct {
	notView
	identity
	op *ops.SliceAxisOp
}

// geometry: the output's rows (one per index before the axis) of w·inner
// elements, read from the input's rows of size·inner from lo·inner on.
func (o sliceAxisRule) geometry(in []int) strided {
	outer, size, inner := axisDims(in, o.op.Axis)
	w := (o.op.Hi - o.op.Lo) * inner
	return strided{dims: []int{outer, w}, dst: []int{w, 1}, src: []int{size * inner, 1}, srcOff: o.op.Lo * inner}
}

func (o sliceAxisRule) forward(e *seq, dst *Tensor, in []*Tensor) {
	e.stridedCopy(dst, in[0], o.geometry(in[0].Shape()), 1, false)
}

func (o sliceAxisRule) jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	e.stridedCopy(dst, t[0], o.geometry(in[0].Shape()), 1, false)
}

func (o sliceAxisRule) vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	if dst[0] != nil {
		s := o.geometry(in[0].Shape())
		s.dst, s.src, s.dstOff, s.srcOff = s.src, s.dst, s.srcOff, 0
		e.stridedCopy(dst[0], c, s, 1, true)
	}
}

// ---- ConcatAxis ----

type concatAxisRule struct {
	notView
	identity
	axis int
}

// pieces returns, for each input, where its rows go in the output.
func (o concatAxisRule) pieces(in []*Tensor) []strided {
	total := 0
	for _, x := range in {
		total += x.Shape()[o.axis]
	}
	out := make([]strided, len(in))
	off := 0
	for k, x := range in {
		outer, size, inner := axisDims(x.Shape(), o.axis)
		w := size * inner
		out[k] = strided{dims: []int{outer, w}, dst: []int{total * inner, 1}, src: []int{w, 1}, dstOff: off * inner}
		off += size
	}
	return out
}

func (o concatAxisRule) forward(e *seq, dst *Tensor, in []*Tensor) {
	for k, s := range o.pieces(in) {
		e.stridedCopy(dst, in[k], s, 1, false)
	}
}

func (o concatAxisRule) jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	for _, tk := range t {
		if tk == nil {
			e.zero(dst) // the pieces of zero tangents
			break
		}
	}
	for k, s := range o.pieces(in) {
		if t[k] != nil {
			e.stridedCopy(dst, t[k], s, 1, false)
		}
	}
}

func (o concatAxisRule) vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	for k, s := range o.pieces(in) {
		if dst[k] != nil {
			s.dst, s.src, s.dstOff, s.srcOff = s.src, s.dst, 0, s.dstOff
			e.stridedCopy(dst[k], c, s, 1, true)
		}
	}
}

// ---- SumAxis, MeanAxis ----

type sumAxisRule struct {
	notView
	identity
	op *ops.SumAxisOp
}

// scale is the factor of each term: 1, or 1/size for a mean.
func (o sumAxisRule) scale(size int) float64 {
	if o.op.Mean {
		return 1 / float64(size)
	}
	return 1
}

func (o sumAxisRule) reduce(e *seq, dst, x *Tensor, in []int) {
	outer, size, inner := axisDims(in, o.op.Axis)
	e.stridedSum(dst, x, strided{dims: []int{outer, inner}, src: []int{size * inner, 1}}, []int{size}, []int{inner}, o.scale(size), false)
}

func (o sumAxisRule) forward(e *seq, dst *Tensor, in []*Tensor) {
	o.reduce(e, dst, in[0], in[0].Shape())
}

func (o sumAxisRule) jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	o.reduce(e, dst, t[0], in[0].Shape())
}

// vjp adds c (times the mean's 1/size) to every element along the axis.
func (o sumAxisRule) vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	if dst[0] == nil {
		return
	}
	outer, size, inner := axisDims(in[0].Shape(), o.op.Axis)
	e.stridedCopy(dst[0], c, strided{dims: []int{outer, size, inner}, dst: []int{size * inner, inner, 1}, src: []int{inner, 0, 1}},
		o.scale(size), true)
}

// ---- BatchMatMul ----

type bmmRule struct{ notView }

// bmmDims are B samples of [n,m]×[m,k]; shared says the right operand is
// 2-D, one [m,k] for every sample.
type bmmDims struct {
	B, n, m, k int
	shared     bool
}

func bmmOf(a, b []int) bmmDims {
	return bmmDims{B: a[0], n: a[1], m: a[2], k: b[len(b)-1], shared: len(b) == 2}
}

// prod computes z = x·y + beta·z for every sample in one launch: with a
// shared y, the samples of x and z stacked as [B·n, m] and [B·n, k].
func (d bmmDims) prod(e *seq, x, y, z *Tensor, beta float64) {
	e.run(func() error {
		if d.shared {
			return e.b.Gemm(d.B*d.n, d.k, d.m, 1, GemmOperand{T: x, LD: d.m}, GemmOperand{T: y, LD: d.k}, beta, z, d.k)
		}
		return e.b.GemmBatched(d.B, d.n, d.k, d.m, 1, GemmOperand{T: x, LD: d.m}, d.n*d.m,
			GemmOperand{T: y, LD: d.k}, d.m*d.k, beta, z, d.k, d.n*d.k)
	})
}

func (bmmRule) forward(e *seq, dst *Tensor, in []*Tensor) {
	bmmOf(in[0].Shape(), in[1].Shape()).prod(e, in[0], in[1], dst, 0)
}

func (bmmRule) jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	d := bmmOf(in[0].Shape(), in[1].Shape())
	beta := 0.0
	if t[0] != nil {
		d.prod(e, t[0], in[1], dst, 0)
		beta = 1
	}
	if t[1] != nil {
		d.prod(e, in[0], t[1], dst, beta)
	}
}

func (bmmRule) vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	d := bmmOf(in[0].Shape(), in[1].Shape())
	sb := d.m * d.k // b's samples; a shared b is one matrix
	if d.shared {
		sb = 0
	}
	if dst[0] != nil { // ga += c·bᵀ per sample
		e.run(func() error {
			return e.b.GemmBatched(d.B, d.n, d.m, d.k, 1, GemmOperand{T: c, LD: d.k}, d.n*d.k,
				GemmOperand{T: in[1], LD: d.k, Trans: true}, sb, 1, dst[0], d.m, d.n*d.m)
		})
	}
	if dst[1] == nil {
		return
	}
	e.run(func() error { // gb += aᵀ·c per sample; a shared b sums over every sample's rows
		if d.shared {
			return e.b.Gemm(d.m, d.k, d.B*d.n, 1, GemmOperand{T: in[0], LD: d.m, Trans: true}, GemmOperand{T: c, LD: d.k}, 1, dst[1], d.k)
		}
		return e.b.GemmBatched(d.B, d.m, d.k, d.n, 1, GemmOperand{T: in[0], LD: d.m, Trans: true}, d.n*d.m,
			GemmOperand{T: c, LD: d.k}, d.n*d.k, 1, dst[1], d.k, d.m*d.k)
	})
}

// factor: the other operand's square matrices (one, or one per sample),
// factorized on the host as the CPU's rule does (ops.BatchMatMulLUs: the
// same LUs, errors and log|det|), solved by products with their inverses.
func (bmmRule) factor(e *seq, nd *tape.Node, p int, in []*Tensor, out *Tensor) (devFactor, error) {
	d := bmmOf(in[0].Shape(), in[1].Shape())
	w := nd.In[1-p].Value()
	if w == nil {
		w = tensor.New(in[1-p].Shape(), e.download(in[1-p]))
		if e.err != nil {
			return nil, e.err
		}
	}
	samples := d.B
	if d.shared {
		samples = 1
	}
	lus, err := ops.BatchMatMulLUs(p, w, samples)
	if err != nil {
		return nil, err
	}
	k := lus[0].Size()
	times := d.k // W·X: X's columns
	if p == 0 {
		times = d.n // X·W: X's rows, per sample or stacked
		if d.shared {
			times = d.B * d.n
		}
	}
	f := &kronDev{k: k, left: p == 1, c: times, samples: samples,
		how: fmt.Sprintf("%d LU of %d×%d, each for %d copies, solved by W⁻¹ products", samples, k, k, times)}
	inv := make([]float64, 0, samples*k*k)
	for _, lu := range lus {
		f.logdet += float64(times) * lu.LogAbsDet()
		inv = append(inv, lu.Inverse()...)
	}
	f.winv = e.upload(inv, samples, k, k)
	if e.err != nil {
		return nil, e.err
	}
	return f, nil
}
