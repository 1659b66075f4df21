package ops

import (
	"fmt"

	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Const puts the constant t on like's tape. t is not copied and must not be
// modified while the tape is in use. Constants carry no tangent.
func Const(like *tape.Var, t *tensor.Tensor) *tape.Var {
	if like == nil {
		panic("ops: Const needs a value on the target tape")
	}
	return like.Tape().Const(t)
}

// ReshapeOp gives its input a new shape with the same elements.
type ReshapeOp struct{ To []int }

// Reshape returns v with a new shape; one dimension may be -1 and is then
// inferred. The result shares v's storage.
func Reshape(v *tape.Var, shape ...int) *tape.Var {
	return tape.Apply(&ReshapeOp{To: inferShape(v.Shape(), shape)}, v)
}

func inferShape(from, to []int) []int {
	n, free, prod := tensor.SizeOf(from), -1, 1
	out := append([]int(nil), to...)
	for i, d := range out {
		switch {
		case d == -1 && free < 0:
			free = i
		case d < 0:
			panic(fmt.Sprintf("ops: reshape: bad target shape %v", to))
		default:
			prod *= d
		}
	}
	if free >= 0 {
		if prod == 0 || n%prod != 0 {
			panic(fmt.Sprintf("ops: reshape: cannot infer -1 in %v for %d elements", to, n))
		}
		out[free] = n / prod
	}
	return out
}

func (o *ReshapeOp) Name() string { return "reshape" }
func (o *ReshapeOp) Shape(in [][]int) []int {
	arity("reshape", in, 1)
	if tensor.SizeOf(in[0]) != tensor.SizeOf(o.To) {
		panic(fmt.Sprintf("ops: reshape: cannot reshape %v to %v", in[0], o.To))
	}
	return append([]int(nil), o.To...)
}
func (o *ReshapeOp) View(in []*tensor.Tensor) *tensor.Tensor { return in[0].Reshape(o.To...) }
func (o *ReshapeOp) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	copy(dst.Data(), in[0].Data())
}
func (o *ReshapeOp) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	copy(dst.Data(), t[0].Data())
}
func (o *ReshapeOp) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	if dst[0] != nil {
		addTo(dst[0].Data(), c.Data())
	}
}

// JVP32 is JVP in float32.
func (o *ReshapeOp) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	copy(dst.Data(), t[0].Data())
}

// VJP32 is VJP in float32.
func (o *ReshapeOp) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	if dst[0] != nil {
		addTo(dst[0].Data(), c.Data())
	}
}

// Linear: the JVP reads no input (tape.Linear).
func (o *ReshapeOp) Linear() bool { return true }

// SecondVJP adds nothing: the JVP is linear and reads no input (see the
// package documentation, Second order).
func (o *ReshapeOp) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
}

func (o *ReshapeOp) Structure(i int, in [][]int, varying []bool) tape.Structure {
	n := tensor.SizeOf(in[0])
	if !varying[0] {
		return tape.Structure{Kind: tape.Zero, Rows: n, Cols: n}
	}
	return tape.Structure{Kind: tape.Identity, Rows: n, Cols: n, Constant: true}
}
func (o *ReshapeOp) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	return identityFactor(out.Len()), nil
}

// addTo adds src into dst.
func addTo[T tensor.Float](dst, src []T) {
	for i, v := range src {
		dst[i] += v
	}
}

// SliceOp takes rows [Lo, Hi) of its input along axis 0.
type SliceOp struct{ Lo, Hi int }

// Slice returns rows [lo, hi) of v along axis 0, sharing v's storage.
func Slice(v *tape.Var, lo, hi int) *tape.Var { return tape.Apply(&SliceOp{Lo: lo, Hi: hi}, v) }

// Split cuts v along axis 0 into pieces of the given numbers of rows, which
// must add up to v's first dimension. The pieces share v's storage.
func Split(v *tape.Var, sizes ...int) []*tape.Var {
	sh := v.Shape()
	if len(sh) == 0 {
		panic("ops: split: cannot split a rank-0 value")
	}
	total := 0
	for _, s := range sizes {
		if s < 0 {
			panic(fmt.Sprintf("ops: split: negative size in %v", sizes))
		}
		total += s
	}
	if total != sh[0] {
		panic(fmt.Sprintf("ops: split: sizes %v add up to %d, axis 0 of %v has %d", sizes, total, sh, sh[0]))
	}
	out := make([]*tape.Var, len(sizes))
	lo := 0
	for i, s := range sizes {
		out[i] = Slice(v, lo, lo+s)
		lo += s
	}
	return out
}

func (o *SliceOp) Name() string { return "slice" }
func (o *SliceOp) Shape(in [][]int) []int {
	arity("slice", in, 1)
	sh := in[0]
	if len(sh) == 0 || o.Lo < 0 || o.Hi < o.Lo || o.Hi > sh[0] {
		panic(fmt.Sprintf("ops: slice: rows [%d, %d) out of range for shape %v", o.Lo, o.Hi, sh))
	}
	return append([]int{o.Hi - o.Lo}, sh[1:]...)
}
func (o *SliceOp) inner(sh []int) int { return tensor.SizeOf(sh[1:]) }
func (o *SliceOp) View(in []*tensor.Tensor) *tensor.Tensor {
	return in[0].RowRange(o.Lo, o.Hi)
}
func (o *SliceOp) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	copy(dst.Data(), in[0].RowRange(o.Lo, o.Hi).Data())
}
func (o *SliceOp) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	copy(dst.Data(), t[0].RowRange(o.Lo, o.Hi).Data())
}
func (o *SliceOp) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	if dst[0] != nil {
		addTo(dst[0].RowRange(o.Lo, o.Hi).Data(), c.Data())
	}
}

// JVP32 is JVP in float32.
func (o *SliceOp) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	copy(dst.Data(), t[0].RowRange(o.Lo, o.Hi).Data())
}

// VJP32 is VJP in float32.
func (o *SliceOp) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	if dst[0] != nil {
		addTo(dst[0].RowRange(o.Lo, o.Hi).Data(), c.Data())
	}
}

// Linear: the JVP reads no input (tape.Linear).
func (o *SliceOp) Linear() bool { return true }

// SecondVJP adds nothing: the JVP is linear and reads no input (see the
// package documentation, Second order).
func (o *SliceOp) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
}

func (o *SliceOp) Structure(i int, in [][]int, varying []bool) tape.Structure {
	inner := o.inner(in[0])
	s := tape.Structure{Rows: (o.Hi - o.Lo) * inner, Cols: tensor.SizeOf(in[0])}
	switch {
	case !varying[0]:
		s.Kind = tape.Zero
	case s.Rows == s.Cols:
		s.Kind, s.Constant = tape.Identity, true
	default:
		s.Kind, s.Constant = tape.Selection, true
		s.InOff, s.Len = o.Lo*inner, s.Rows
	}
	return s
}
func (o *SliceOp) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	if in[0].Len() != out.Len() {
		return nil, notSquare("slice", p, [][]int{in[0].Shape()}, out.Shape())
	}
	return identityFactor(out.Len()), nil
}

// ConcatOp joins its inputs along axis 0.
var ConcatOp = concat{}

type concat struct{}

// Concat joins values along axis 0; their other dimensions must agree.
func Concat(vs ...*tape.Var) *tape.Var { return tape.Apply(ConcatOp, vs...) }

func (concat) Name() string { return "concat" }
func (concat) Shape(in [][]int) []int {
	if len(in) == 0 {
		panic("ops: concat: no inputs")
	}
	rows := 0
	for _, sh := range in {
		if len(sh) == 0 || len(sh) != len(in[0]) || !tensor.SameShape(sh[1:], in[0][1:]) {
			panic(fmt.Sprintf("ops: concat: shapes %v do not agree beyond axis 0", in))
		}
		rows += sh[0]
	}
	return append([]int{rows}, in[0][1:]...)
}
func (concat) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	off := 0
	for _, t := range in {
		off += copy(dst.Data()[off:], t.Data())
	}
}
func (concat) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	concatJVP(dst, in, t)
}
func (concat) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	concatVJP(dst, in, c)
}

// JVP32 is JVP in float32.
func (concat) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	concatJVP(dst, in, t)
}

// VJP32 is VJP in float32.
func (concat) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	concatVJP(dst, in, c)
}

// concatJVP writes the tangents one after the other into dst, zeros for a
// nil one.
func concatJVP[T tensor.Float](dst *tensor.Dense[T], in, t []*tensor.Dense[T]) {
	d, off := dst.Data(), 0
	for i, x := range in {
		seg := d[off : off+x.Len()]
		if t[i] != nil {
			copy(seg, t[i].Data())
		} else {
			clear(seg)
		}
		off += x.Len()
	}
}

// concatVJP adds each input's segment of c into its accumulator.
func concatVJP[T tensor.Float](dst, in []*tensor.Dense[T], c *tensor.Dense[T]) {
	cs, off := c.Data(), 0
	for i, x := range in {
		if dst[i] != nil {
			addTo(dst[i].Data(), cs[off:off+x.Len()])
		}
		off += x.Len()
	}
}

// Linear: the JVP reads no input (tape.Linear).
func (concat) Linear() bool { return true }

// SecondVJP adds nothing: the JVP is linear and reads no input (see the
// package documentation, Second order).
func (concat) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
}

func (c concat) Structure(i int, in [][]int, varying []bool) tape.Structure {
	sz := sizes(in)
	off, total := 0, 0
	for j, s := range sz {
		if j < i {
			off += s
		}
		total += s
	}
	return concatStructure(off, sz[i], total, varying[i])
}

// Structures lists every input's structure with running offsets: O(n) for
// n inputs, where n calls of Structure cost O(n²).
func (concat) Structures(in [][]int, varying []bool) []tape.Structure {
	sz := sizes(in)
	total := 0
	for _, s := range sz {
		total += s
	}
	out := make([]tape.Structure, len(in))
	off := 0
	for i, s := range sz {
		out[i] = concatStructure(off, s, total, varying[i])
		off += s
	}
	return out
}

// concatStructure is the block of an input of size n at offset off of an
// output of total elements.
func concatStructure(off, n, total int, varying bool) tape.Structure {
	s := tape.Structure{Rows: total, Cols: n}
	switch {
	case !varying:
		s.Kind = tape.Zero
	case total == n:
		s.Kind, s.Constant = tape.Identity, true
	default:
		s.Kind, s.Constant = tape.Selection, true
		s.OutOff, s.Len = off, n
	}
	return s
}
func (concat) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	if in[p].Len() != out.Len() {
		shapes := make([][]int, len(in))
		for i, t := range in {
			shapes[i] = t.Shape()
		}
		return nil, notSquare("concat", p, shapes, out.Shape())
	}
	return identityFactor(out.Len()), nil
}

// CumsumOp is the running sum along axis 0.
var CumsumOp = cumsum{}

type cumsum struct{}

// Cumsum returns the running sum of v along axis 0 (v must have rank ≥ 1).
// Its Jacobian is unit lower triangular; the inverse rule is a difference, O(n).
func Cumsum(v *tape.Var) *tape.Var { return tape.Apply(CumsumOp, v) }

func (cumsum) Name() string { return "cumsum" }
func (cumsum) Shape(in [][]int) []int {
	arity("cumsum", in, 1)
	if len(in[0]) == 0 {
		panic("ops: cumsum: needs rank ≥ 1, got a rank-0 value")
	}
	return append([]int(nil), in[0]...)
}

// scan writes the running sum of src along axis 0 into dst.
func scan[T tensor.Float](dst, src []T, inner int) {
	if len(src) == 0 {
		return
	}
	copy(dst[:inner], src[:inner])
	for i := inner; i < len(src); i++ {
		dst[i] = dst[i-inner] + src[i]
	}
}

func innerOf[T tensor.Float](t *tensor.Dense[T]) int { return tensor.SizeOf(t.Shape()[1:]) }

func (cumsum) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	scan(dst.Data(), in[0].Data(), innerOf(in[0]))
}
func (cumsum) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	scan(dst.Data(), t[0].Data(), innerOf(in[0]))
}

// VJP adds the reverse running sum of c.
func (cumsum) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	cumsumVJP(dst, in, c)
}

// JVP32 is JVP in float32.
func (cumsum) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	scan(dst.Data(), t[0].Data(), innerOf(in[0]))
}

// VJP32 is VJP in float32.
func (cumsum) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	cumsumVJP(dst, in, c)
}

// cumsumVJP adds the reverse running sum of c into dst[0].
func cumsumVJP[T tensor.Float](dst, in []*tensor.Dense[T], c *tensor.Dense[T]) {
	if dst[0] == nil {
		return
	}
	g, cs, inner := dst[0].Data(), c.Data(), innerOf(in[0])
	n := len(cs)
	rows := n / max(inner, 1)
	if inner == 0 {
		return
	}
	acc := make([]T, inner)
	for r := rows - 1; r >= 0; r-- {
		for j := 0; j < inner; j++ {
			acc[j] += cs[r*inner+j]
			g[r*inner+j] += acc[j]
		}
	}
}

// Linear: the JVP reads no input (tape.Linear).
func (cumsum) Linear() bool { return true }

// SecondVJP adds nothing: the JVP is linear and reads no input (see the
// package documentation, Second order).
func (cumsum) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
}

func (cumsum) Structure(i int, in [][]int, varying []bool) tape.Structure {
	n := tensor.SizeOf(in[0])
	if !varying[0] {
		return tape.Structure{Kind: tape.Zero, Rows: n, Cols: n}
	}
	return tape.Structure{Kind: tape.LowerTriangular, Rows: n, Cols: n, Constant: true}
}
func (cumsum) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	inner := innerOf(in[0])
	return cumsumFactor{rows: in[0].Shape()[0], inner: inner}, nil
}

// SumOp adds all elements into a rank-0 value.
var SumOp = sum{}

type sum struct{}

// Sum returns the sum of all elements of v as a rank-0 value.
func Sum(v *tape.Var) *tape.Var { return tape.Apply(SumOp, v) }

func (sum) Name() string { return "sum" }
func (sum) Shape(in [][]int) []int {
	arity("sum", in, 1)
	return []int{}
}
func (sum) Forward(dst *tensor.Tensor, in []*tensor.Tensor) { dst.Data()[0] = total(in[0].Data()) }
func (sum) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	dst.Data()[0] = total(t[0].Data())
}
func (sum) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	sumVJP(dst, c)
}

// JVP32 is JVP in float32 (summed in float32).
func (sum) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	dst.Data()[0] = total(t[0].Data())
}

// VJP32 is VJP in float32.
func (sum) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	sumVJP(dst, c)
}

// sumVJP adds the scalar c to every element of dst[0].
func sumVJP[T tensor.Float](dst []*tensor.Dense[T], c *tensor.Dense[T]) {
	if dst[0] == nil {
		return
	}
	g, cv := dst[0].Data(), c.Data()[0]
	for i := range g {
		g[i] += cv
	}
}

// Linear: the JVP reads no input (tape.Linear).
func (sum) Linear() bool { return true }

// SecondVJP adds nothing: the JVP is linear and reads no input (see the
// package documentation, Second order).
func (sum) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
}

func (sum) Structure(i int, in [][]int, varying []bool) tape.Structure {
	n := tensor.SizeOf(in[0])
	s := tape.Structure{Kind: tape.Dense, Rows: 1, Cols: n, Constant: true}
	switch {
	case !varying[0]:
		s.Kind, s.Constant = tape.Zero, false
	case n == 1:
		s.Kind = tape.Identity
	}
	return s
}
func (sum) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	if in[0].Len() != 1 {
		return nil, notSquare("sum", p, [][]int{in[0].Shape()}, out.Shape())
	}
	return identityFactor(1), nil
}

func total[T tensor.Float](s []T) T {
	var t T
	for _, v := range s {
		t += v
	}
	return t
}
