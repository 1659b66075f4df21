package ops

import (
	"fmt"
	"slices"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// The ops along an axis other than 0 that batched networks need: Permute
// (and Transpose), SliceAxis, SplitAxis, ConcatAxis, SumAxis and MeanAxis.
// Along axis 0 the slicing ops record Slice and Concat, whose blocks the
// lump analysis sees as selections.

// axisDims splits shape around axis: the product of the dimensions before
// it, its own, and the product of those after it.
func axisDims(shape []int, axis int) (outer, size, inner int) {
	return tensor.SizeOf(shape[:axis]), shape[axis], tensor.SizeOf(shape[axis+1:])
}

// checkAxis panics unless 0 ≤ axis < len(shape).
func checkAxis(name string, shape []int, axis int) {
	if axis < 0 || axis >= len(shape) {
		panic(fmt.Sprintf("ops: %s: axis %d out of range for shape %v", name, axis, shape))
	}
}

// ---- Permute ----

// PermuteOp reorders the axes of its input: output axis d is input axis
// Perm[d] (NumPy's transpose(v, Perm)).
type PermuteOp struct{ Perm []int }

// Transpose returns the transpose of the 2-D value v ([m,n] → [n,m]): the
// op Permute(v, 1, 0) records. It panics unless v is 2-D.
func Transpose(v *tape.Var) *tape.Var {
	if len(v.Shape()) != 2 {
		panic(fmt.Sprintf("ops: transpose: needs a 2-D value, got shape %v", v.Shape()))
	}
	return Permute(v, 1, 0)
}

// Permute returns v with its axes reordered: axis d of the result is axis
// perm[d] of v, so Permute(v, 1, 0) transposes a matrix and Permute(v, 0,
// 2, 1) transposes each sample of a batch. It panics unless perm is a
// permutation of v's axes.
func Permute(v *tape.Var, perm ...int) *tape.Var {
	return tape.Apply(&PermuteOp{Perm: slices.Clone(perm)}, v)
}

func (o *PermuteOp) Name() string { return "permute" }

// Shape panics unless Perm is a permutation of the input's axes.
func (o *PermuteOp) Shape(in [][]int) []int {
	arity("permute", in, 1)
	sh := in[0]
	seen := make([]bool, len(sh))
	ok := len(o.Perm) == len(sh)
	for _, p := range o.Perm {
		if !ok || p < 0 || p >= len(sh) || seen[p] {
			panic(fmt.Sprintf("ops: permute: %v is not a permutation of the %d axes of %v", o.Perm, len(sh), sh))
		}
		seen[p] = true
	}
	out := make([]int, len(sh))
	for d, p := range o.Perm {
		out[d] = sh[p]
	}
	return out
}

// strides returns the input's strides along the output's axes.
func (o *PermuteOp) strides(in []int) []int {
	st, out := tensor.Strides(in), make([]int, len(in))
	for d, p := range o.Perm {
		out[d] = st[p]
	}
	return out
}

// keepsOrder reports whether the permutation moves only axes of size 1, so
// that the flat order of the elements is unchanged.
func (o *PermuteOp) keepsOrder(in []int) bool {
	last := -1
	for _, p := range o.Perm {
		if in[p] == 1 {
			continue
		}
		if p < last {
			return false
		}
		last = p
	}
	return true
}

// permute writes x, of the input's shape sh, permuted into dst.
func (o *PermuteOp) permute(dst, x []float64, sh []int) { permuteTo(o, dst, x, sh) }

// permuteTo is PermuteOp.permute for either dtype.
func permuteTo[T tensor.Float](o *PermuteOp, dst, x []T, sh []int) {
	out := o.Shape([][]int{sh})
	if len(sh) == 2 && !o.keepsOrder(sh) {
		cpu.Transpose(dst, x, sh[0], sh[1])
		return
	}
	stridedCopy(dst, tensor.Strides(out), x, o.strides(sh), out, false)
}

func (o *PermuteOp) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	o.permute(dst.Data(), in[0].Data(), in[0].Shape())
}

func (o *PermuteOp) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	o.permute(dst.Data(), t[0].Data(), in[0].Shape())
}

// VJP adds c, permuted back, into dst[0].
func (o *PermuteOp) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	permuteVJP(o, dst, in, out, c)
}

// JVP32 is JVP in float32.
func (o *PermuteOp) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	permuteTo(o, dst.Data(), t[0].Data(), in[0].Shape())
}

// VJP32 is VJP in float32.
func (o *PermuteOp) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	permuteVJP(o, dst, in, out, c)
}

// permuteVJP adds c, permuted back, into dst[0].
func permuteVJP[T tensor.Float](o *PermuteOp, dst, in []*tensor.Dense[T], out, c *tensor.Dense[T]) {
	if dst[0] != nil {
		stridedCopy(dst[0].Data(), o.strides(in[0].Shape()), c.Data(), tensor.Strides(out.Shape()), out.Shape(), true)
	}
}

// Linear: the JVP reads no input (tape.Linear).
func (o *PermuteOp) Linear() bool { return true }

// SecondVJP adds nothing: the JVP is linear and reads no input (see the
// package documentation, Second order).
func (o *PermuteOp) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
}

// Structure: the block is a permutation matrix. The analysis has no
// permutation kind yet, so it is declared dense (constant) unless the
// permutation keeps the flat order (the identity, or moves of size-1
// axes), which is the identity.
func (o *PermuteOp) Structure(i int, in [][]int, varying []bool) tape.Structure {
	n := tensor.SizeOf(in[0])
	s := tape.Structure{Rows: n, Cols: n}
	switch {
	case !varying[0]:
		s.Kind = tape.Zero
	case o.keepsOrder(in[0]):
		s.Kind, s.Constant = tape.Identity, true
	default:
		s.Kind, s.Constant = tape.Dense, true
	}
	return s
}

// FactorBytes: the factor keeps the shapes only.
func (o *PermuteOp) FactorBytes(p int, in [][]int) int64 { return 0 }

// Inverse: the inverse permutation, with log|det| = 0 (a permutation's det
// is ±1, and only |det| counts).
func (o *PermuteOp) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	if o.keepsOrder(in[0].Shape()) {
		return identityFactor(out.Len()), nil
	}
	return &permFactor{op: o, in: slices.Clone(in[0].Shape())}, nil
}

// permFactor is the block of a permutation P of the axes of a value of
// shape in: Solve applies P⁻¹ = Pᵀ, SolveT applies P.
type permFactor struct {
	op *PermuteOp
	in []int
}

func (f *permFactor) Size() int { return tensor.SizeOf(f.in) }
func (f *permFactor) Describe() string {
	return fmt.Sprintf("axis permutation %v (no arithmetic)", f.op.Perm)
}
func (f *permFactor) LogAbsDet() float64 { return 0 }

// LogAbsDetParts: every part is 0 (a permutation's |det| is 1). For the
// transpose of a matrix, the move of the samples of a batch between its
// first and its last axis (package batch's programs, at their two ends),
// it reports true when every row of the input, or every column, lies in
// one group; false for any other permutation.
func (f *permFactor) LogAbsDetParts(dst []float64, group func(int) int) bool {
	if len(f.in) != 2 || !slices.Equal(f.op.Perm, []int{1, 0}) {
		return false
	}
	r, c := f.in[0], f.in[1]
	uniform := func(n, m, stride, step int) bool { // n lines of m elements
		for i := 0; i < n; i++ {
			g := group(i * stride)
			for j := 1; j < m; j++ {
				if group(i*stride+j*step) != g {
					return false
				}
			}
		}
		return true
	}
	return uniform(r, c, c, 1) || uniform(c, r, 1, c)
}

// Solve writes Pᵀ v: v, of the output's shape, permuted back.
func (f *permFactor) Solve(dst, v []float64) {
	checkLen(f.Size(), dst, v)
	v = unaliased(dst, v)
	out := f.op.Shape([][]int{f.in})
	if len(out) == 2 && !f.op.keepsOrder(f.in) { // a matrix transpose: its own inverse
		cpu.Transpose(dst, v, out[0], out[1])
		return
	}
	stridedCopy(dst, f.op.strides(f.in), v, tensor.Strides(out), out, false)
}

// SolveT writes P v: v, of the input's shape, permuted as the op does.
func (f *permFactor) SolveT(dst, v []float64) {
	checkLen(f.Size(), dst, v)
	f.op.permute(dst, unaliased(dst, v), f.in)
}

// unaliased returns v, or a copy of it if it shares memory with dst.
func unaliased(dst, v []float64) []float64 {
	if len(v) > 0 && len(dst) > 0 && &dst[0] == &v[0] {
		return slices.Clone(v)
	}
	return v
}

// ---- SliceAxis, SplitAxis ----

// SliceAxisOp takes indices [Lo, Hi) of its input along Axis > 0 (axis 0
// is SliceOp): a strided copy.
type SliceAxisOp struct{ Axis, Lo, Hi int }

// SliceAxis returns indices [lo, hi) of v along axis. Along axis 0 it
// records Slice (a view of v); along another axis it copies. It panics if
// axis is not one of v's axes or the range does not fit in it.
func SliceAxis(v *tape.Var, axis, lo, hi int) *tape.Var {
	if axis == 0 {
		return Slice(v, lo, hi)
	}
	return tape.Apply(&SliceAxisOp{Axis: axis, Lo: lo, Hi: hi}, v)
}

// SplitAxis cuts v along axis into pieces of the given sizes, which must add
// up to v's dimension there. Along axis 0 it is Split (views of v); along
// another axis each piece is a SliceAxis. It panics if axis is not one of
// v's axes, or for a negative size or sizes of the wrong sum.
func SplitAxis(v *tape.Var, axis int, sizes ...int) []*tape.Var {
	if axis == 0 {
		return Split(v, sizes...)
	}
	sh := v.Shape()
	checkAxis("split_axis", sh, axis)
	total := 0
	for _, s := range sizes {
		if s < 0 {
			panic(fmt.Sprintf("ops: split_axis: negative size in %v", sizes))
		}
		total += s
	}
	if total != sh[axis] {
		panic(fmt.Sprintf("ops: split_axis: sizes %v add up to %d, axis %d of %v has %d", sizes, total, axis, sh, sh[axis]))
	}
	out := make([]*tape.Var, len(sizes))
	lo := 0
	for i, s := range sizes {
		out[i] = SliceAxis(v, axis, lo, lo+s)
		lo += s
	}
	return out
}

func (o *SliceAxisOp) Name() string { return "slice_axis" }

// Shape panics unless Axis ≥ 1 is one of the input's axes and
// 0 ≤ Lo ≤ Hi ≤ its size.
func (o *SliceAxisOp) Shape(in [][]int) []int {
	arity("slice_axis", in, 1)
	sh := in[0]
	if o.Axis < 1 {
		panic(fmt.Sprintf("ops: slice_axis: axis %d: SliceOp slices along axis 0", o.Axis))
	}
	checkAxis("slice_axis", sh, o.Axis)
	if o.Lo < 0 || o.Hi < o.Lo || o.Hi > sh[o.Axis] {
		panic(fmt.Sprintf("ops: slice_axis: [%d, %d) out of range along axis %d of %v", o.Lo, o.Hi, o.Axis, sh))
	}
	out := slices.Clone(sh)
	out[o.Axis] = o.Hi - o.Lo
	return out
}

// chunks calls f(o, i, n) for each index o before the axis: the output's
// elements [o·n, (o+1)·n) are the input's [i, i+n).
func (o *SliceAxisOp) chunks(in []int, f func(out, in, n int)) {
	outer, size, inner := axisDims(in, o.Axis)
	n := (o.Hi - o.Lo) * inner
	cpu.For(outer, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			f(r*n, (r*size+o.Lo)*inner, n)
		}
	})
}

func (o *SliceAxisOp) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	d, x := dst.Data(), in[0].Data()
	o.chunks(in[0].Shape(), func(i, j, n int) { copy(d[i:i+n], x[j:j+n]) })
}

func (o *SliceAxisOp) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	sliceAxisJVP(o, dst, in, t)
}

func (o *SliceAxisOp) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	sliceAxisVJP(o, dst, in, c)
}

// JVP32 is JVP in float32.
func (o *SliceAxisOp) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	sliceAxisJVP(o, dst, in, t)
}

// VJP32 is VJP in float32.
func (o *SliceAxisOp) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	sliceAxisVJP(o, dst, in, c)
}

// sliceAxisJVP writes the slice of t[0] into dst.
func sliceAxisJVP[T tensor.Float](o *SliceAxisOp, dst *tensor.Dense[T], in, t []*tensor.Dense[T]) {
	d, x := dst.Data(), t[0].Data()
	o.chunks(in[0].Shape(), func(i, j, n int) { copy(d[i:i+n], x[j:j+n]) })
}

// sliceAxisVJP adds c into the slice of dst[0].
func sliceAxisVJP[T tensor.Float](o *SliceAxisOp, dst, in []*tensor.Dense[T], c *tensor.Dense[T]) {
	if dst[0] == nil {
		return
	}
	g, cs := dst[0].Data(), c.Data()
	o.chunks(in[0].Shape(), func(i, j, n int) { addTo(g[j:j+n], cs[i:i+n]) })
}

// Linear: the JVP reads no input (tape.Linear).
func (o *SliceAxisOp) Linear() bool { return true }

// SecondVJP adds nothing: the JVP is linear and reads no input (see the
// package documentation, Second order).
func (o *SliceAxisOp) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
}

// Structure: a selection where the slice is contiguous (every dimension
// before the axis is 1), the identity where it takes the whole axis, else
// dense (each output element is one input element, at a stride).
func (o *SliceAxisOp) Structure(i int, in [][]int, varying []bool) tape.Structure {
	outer, _, inner := axisDims(in[0], o.Axis)
	s := tape.Structure{Rows: outer * (o.Hi - o.Lo) * inner, Cols: tensor.SizeOf(in[0])}
	switch {
	case !varying[0]:
		s.Kind = tape.Zero
	case s.Rows == s.Cols:
		s.Kind, s.Constant = tape.Identity, true
	case outer == 1:
		s.Kind, s.Constant = tape.Selection, true
		s.InOff, s.Len = o.Lo*inner, s.Rows
	default:
		s.Kind, s.Constant = tape.Dense, true
	}
	return s
}

// FactorBytes: the only square block is the identity.
func (o *SliceAxisOp) FactorBytes(p int, in [][]int) int64 { return 0 }

// Inverse: the identity when the slice takes the whole axis, else not
// square (tape.ErrNotSquare).
func (o *SliceAxisOp) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	if in[0].Len() != out.Len() {
		return nil, notSquare("slice_axis", p, [][]int{in[0].Shape()}, out.Shape())
	}
	return identityFactor(out.Len()), nil
}

// ---- ConcatAxis ----

// ConcatAxisOp joins its inputs along Axis > 0 (axis 0 is ConcatOp).
type ConcatAxisOp struct{ Axis int }

// ConcatAxis joins values along axis; their other dimensions must agree.
// Along axis 0 it records Concat. It panics for no values, values of
// different ranks or other dimensions, or an axis that is not one of
// theirs.
func ConcatAxis(axis int, vs ...*tape.Var) *tape.Var {
	if len(vs) == 0 {
		panic("ops: concat_axis: no inputs")
	}
	if axis == 0 {
		return Concat(vs...)
	}
	return tape.Apply(&ConcatAxisOp{Axis: axis}, vs...)
}

func (o *ConcatAxisOp) Name() string { return "concat_axis" }

// Shape panics unless every input has Axis ≥ 1 and the same other
// dimensions.
func (o *ConcatAxisOp) Shape(in [][]int) []int {
	if len(in) == 0 {
		panic("ops: concat_axis: no inputs")
	}
	if o.Axis < 1 {
		panic(fmt.Sprintf("ops: concat_axis: axis %d: ConcatOp joins along axis 0", o.Axis))
	}
	checkAxis("concat_axis", in[0], o.Axis)
	total := 0
	for _, sh := range in {
		if len(sh) != len(in[0]) || !tensor.SameShape(sh[:o.Axis], in[0][:o.Axis]) || !tensor.SameShape(sh[o.Axis+1:], in[0][o.Axis+1:]) {
			panic(fmt.Sprintf("ops: concat_axis: shapes %v do not agree beyond axis %d", in, o.Axis))
		}
		total += sh[o.Axis]
	}
	out := slices.Clone(in[0])
	out[o.Axis] = total
	return out
}

// concatPieces calls f(r, k, at, n) for each index r before the axis and each
// input k: the output's elements [at, at+n) are input k's [r·n, (r+1)·n).
func concatPieces[T tensor.Float](o *ConcatAxisOp, in []*tensor.Dense[T], f func(k, at, from, n int)) {
	outer, _, inner := axisDims(in[0].Shape(), o.Axis)
	total := 0
	for _, x := range in {
		total += x.Shape()[o.Axis]
	}
	cpu.For(outer, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			off := 0
			for k, x := range in {
				n := x.Shape()[o.Axis] * inner
				f(k, (r*total+off)*inner, r*n, n)
				off += x.Shape()[o.Axis]
			}
		}
	})
}

func (o *ConcatAxisOp) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	d := dst.Data()
	concatPieces(o, in, func(k, at, from, n int) { copy(d[at:at+n], in[k].Data()[from:from+n]) })
}

func (o *ConcatAxisOp) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	concatAxisJVP(o, dst, in, t)
}

func (o *ConcatAxisOp) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	concatAxisVJP(o, dst, in, c)
}

// JVP32 is JVP in float32.
func (o *ConcatAxisOp) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	concatAxisJVP(o, dst, in, t)
}

// VJP32 is VJP in float32.
func (o *ConcatAxisOp) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	concatAxisVJP(o, dst, in, c)
}

// concatAxisJVP writes the tangents' pieces into dst, zeros for a nil one.
func concatAxisJVP[T tensor.Float](o *ConcatAxisOp, dst *tensor.Dense[T], in, t []*tensor.Dense[T]) {
	d := dst.Data()
	concatPieces(o, in, func(k, at, from, n int) {
		if t[k] != nil {
			copy(d[at:at+n], t[k].Data()[from:from+n])
		} else {
			clear(d[at : at+n])
		}
	})
}

// concatAxisVJP adds each input's pieces of c into its accumulator.
func concatAxisVJP[T tensor.Float](o *ConcatAxisOp, dst, in []*tensor.Dense[T], c *tensor.Dense[T]) {
	cs := c.Data()
	// Inputs are handled one at a time: two entries of dst may be the
	// same tensor, whose pieces the goroutines of concatPieces would share.
	for k := range in {
		if dst[k] == nil {
			continue
		}
		g := dst[k].Data()
		concatPieces(o, in, func(j, at, from, n int) {
			if j == k {
				addTo(g[from:from+n], cs[at:at+n])
			}
		})
	}
}

// Linear: the JVP reads no input (tape.Linear).
func (o *ConcatAxisOp) Linear() bool { return true }

// SecondVJP adds nothing: the JVP is linear and reads no input (see the
// package documentation, Second order).
func (o *ConcatAxisOp) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
}

// Structure of input i: the identity if it is the whole output, a selection
// where its part is contiguous (every dimension before the axis is 1), else
// dense (each of its elements is one output element, at a stride).
func (o *ConcatAxisOp) Structure(i int, in [][]int, varying []bool) tape.Structure {
	outer, _, inner := axisDims(in[i], o.Axis)
	off, total := 0, 0
	for j, sh := range in {
		if j < i {
			off += sh[o.Axis]
		}
		total += sh[o.Axis]
	}
	s := tape.Structure{Rows: outer * total * inner, Cols: tensor.SizeOf(in[i])}
	switch {
	case !varying[i]:
		s.Kind = tape.Zero
	case s.Rows == s.Cols:
		s.Kind, s.Constant = tape.Identity, true
	case outer == 1:
		s.Kind, s.Constant = tape.Selection, true
		s.OutOff, s.Len = off*inner, s.Cols
	default:
		s.Kind, s.Constant = tape.Dense, true
	}
	return s
}

// FactorBytes: the only square block is the identity.
func (o *ConcatAxisOp) FactorBytes(p int, in [][]int) int64 { return 0 }

// Inverse: with respect to one input the block is not square
// (tape.ErrNotSquare) unless that input is the whole output (the only
// input, or the others empty), where it is the identity.
func (o *ConcatAxisOp) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	if in[p].Len() != out.Len() {
		shapes := make([][]int, len(in))
		for i, t := range in {
			shapes[i] = t.Shape()
		}
		return nil, notSquare("concat_axis", p, shapes, out.Shape())
	}
	return identityFactor(out.Len()), nil
}

// ---- SumAxis, MeanAxis ----

// SumAxisOp sums its input along Axis, which leaves the shape; with Mean
// it divides by the axis's size.
type SumAxisOp struct {
	Axis int
	Mean bool
}

// SumAxis returns the sum of v along axis, the axis removed from the
// shape ([B,h] summed along 1 is [B]). It panics if axis is not one of v's
// axes.
func SumAxis(v *tape.Var, axis int) *tape.Var {
	return tape.Apply(&SumAxisOp{Axis: axis}, v)
}

// MeanAxis returns the mean of v along axis, the axis removed from the
// shape. It panics if axis is not one of v's axes or has size 0.
func MeanAxis(v *tape.Var, axis int) *tape.Var {
	return tape.Apply(&SumAxisOp{Axis: axis, Mean: true}, v)
}

func (o *SumAxisOp) Name() string {
	if o.Mean {
		return "mean_axis"
	}
	return "sum_axis"
}

// Shape panics unless Axis is one of the input's axes (of size > 0 for a
// mean).
func (o *SumAxisOp) Shape(in [][]int) []int {
	arity(o.Name(), in, 1)
	sh := in[0]
	checkAxis(o.Name(), sh, o.Axis)
	if o.Mean && sh[o.Axis] == 0 {
		panic(fmt.Sprintf("ops: mean_axis: axis %d of %v is empty", o.Axis, sh))
	}
	return slices.Delete(slices.Clone(sh), o.Axis, o.Axis+1)
}

// scale is the factor of each term: 1, or 1/size for a mean.
func (o *SumAxisOp) scale(size int) float64 {
	if o.Mean {
		return 1 / float64(size)
	}
	return 1
}

// reduce writes the sum (or mean) of x along the axis into d.
func (o *SumAxisOp) reduce(d, x []float64, sh []int) { sumAxisTo(o, d, x, sh) }

// sumAxisTo is SumAxisOp.reduce for either dtype.
func sumAxisTo[T tensor.Float](o *SumAxisOp, d, x []T, sh []int) {
	outer, size, inner := axisDims(sh, o.Axis)
	sc := T(o.scale(size))
	cpu.For(outer, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := d[r*inner : (r+1)*inner]
			if inner == 1 {
				var s T
				for _, v := range x[r*size : (r+1)*size] {
					s += v
				}
				row[0] = s * sc
				continue
			}
			clear(row)
			for k := 0; k < size; k++ {
				addTo(row, x[(r*size+k)*inner:(r*size+k+1)*inner])
			}
			if o.Mean {
				for j := range row {
					row[j] *= sc
				}
			}
		}
	})
}

func (o *SumAxisOp) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	o.reduce(dst.Data(), in[0].Data(), in[0].Shape())
}

func (o *SumAxisOp) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	o.reduce(dst.Data(), t[0].Data(), in[0].Shape())
}

// VJP adds c (over the mean's size) to every element along the axis.
func (o *SumAxisOp) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	sumAxisVJP(o, dst, in, c)
}

// JVP32 is JVP in float32 (summed in float32).
func (o *SumAxisOp) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	sumAxisTo(o, dst.Data(), t[0].Data(), in[0].Shape())
}

// VJP32 is VJP in float32.
func (o *SumAxisOp) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	sumAxisVJP(o, dst, in, c)
}

// sumAxisVJP adds c (over the mean's size) to every element of dst[0]
// along the axis.
func sumAxisVJP[T tensor.Float](o *SumAxisOp, dst, in []*tensor.Dense[T], c *tensor.Dense[T]) {
	if dst[0] == nil {
		return
	}
	g, cs := dst[0].Data(), c.Data()
	outer, size, inner := axisDims(in[0].Shape(), o.Axis)
	sc := T(o.scale(size))
	cpu.For(outer, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := cs[r*inner : (r+1)*inner]
			for k := 0; k < size; k++ {
				gk := g[(r*size+k)*inner : (r*size+k+1)*inner]
				for j, v := range row {
					gk[j] += sc * v
				}
			}
		}
	})
}

// Linear: the JVP reads no input (tape.Linear).
func (o *SumAxisOp) Linear() bool { return true }

// SecondVJP adds nothing: the JVP is linear and reads no input (see the
// package documentation, Second order).
func (o *SumAxisOp) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
}

// Structure: the identity for an axis of size 1. Along the last axis each
// output element reads one contiguous row of the input: block diagonal,
// one 1×size block per output element, all the same (ones, or 1/size).
// Along another axis the rows interleave: dense. Always constant.
func (o *SumAxisOp) Structure(i int, in [][]int, varying []bool) tape.Structure {
	outer, size, inner := axisDims(in[0], o.Axis)
	s := tape.Structure{Rows: outer * inner, Cols: tensor.SizeOf(in[0])}
	switch {
	case !varying[0]:
		s.Kind = tape.Zero
	case size == 1:
		s.Kind, s.Constant = tape.Identity, true
	case inner == 1 && outer > 0:
		s.Kind, s.Blocks, s.Constant, s.Shared = tape.BlockDiagonal, outer, true, true
	default:
		s.Kind, s.Constant = tape.Dense, true
	}
	return s
}

// FactorBytes: the only square block is the identity.
func (o *SumAxisOp) FactorBytes(p int, in [][]int) int64 { return 0 }

// Inverse: the identity when the axis has size 1, else not square
// (tape.ErrNotSquare).
func (o *SumAxisOp) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	if in[0].Len() != out.Len() {
		return nil, notSquare(o.Name(), p, [][]int{in[0].Shape()}, out.Shape())
	}
	return identityFactor(out.Len()), nil
}
