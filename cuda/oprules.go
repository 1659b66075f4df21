package cuda

import (
	"fmt"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// The rules of the ops of package ops on device tensors: what a device
// Linearization runs for each node of its tape. Each mirrors the op's host
// rule (tape.Op): forward writes the value, jvp writes Σ J_i t_i (a nil t_i
// is zero, at least one is set), vjp adds J_iᵀ c into every non-nil dst[i].

type opKind uint8

const (
	opUnary opKind = iota
	opBinary
	opMatMul
	opSum
	opCumsum
	opConcat
	opReshape
	opSlice
)

// devOp is an op as the device runs it.
type devOp struct {
	kind  opKind
	name  string  // the kernels' op name (unary and binary ops)
	p     float64 // a unary op's parameter
	slice *ops.SliceOp
}

// UnsupportedError reports an op that the CUDA backend has no kernels for:
// one defined outside package ops. The CPU backend (package inverse) runs
// every op.
type UnsupportedError struct {
	Op   string // the op's name, or the lump's ops ("mul@3 add@4")
	Pos  int    // the op's tape position, -1 for a lump
	What string // what is missing
}

func (e *UnsupportedError) Error() string {
	if e.Pos >= 0 {
		return fmt.Sprintf("cuda: op %s at tape position %d: %s", e.Op, e.Pos, e.What)
	}
	return fmt.Sprintf("cuda: %s: %s", e.Op, e.What)
}

// deviceOp classifies a node's op, or returns *UnsupportedError.
func deviceOp(nd *tape.Node) (devOp, error) {
	switch op := nd.Op.(type) {
	case *ops.Elementwise:
		for _, u := range unaryOps {
			if u == op.Name() {
				return devOp{kind: opUnary, name: u, p: op.Param()}, nil
			}
		}
	case *ops.Binary:
		for _, u := range binaryOps {
			if u == op.Name() {
				return devOp{kind: opBinary, name: u}, nil
			}
		}
	case *ops.ReshapeOp:
		return devOp{kind: opReshape}, nil
	case *ops.SliceOp:
		return devOp{kind: opSlice, slice: op}, nil
	}
	switch nd.Op {
	case tape.Op(ops.MatMulOp):
		return devOp{kind: opMatMul}, nil
	case tape.Op(ops.SumOp):
		return devOp{kind: opSum}, nil
	case tape.Op(ops.CumsumOp):
		return devOp{kind: opCumsum}, nil
	case tape.Op(ops.ConcatOp):
		return devOp{kind: opConcat}, nil
	}
	return devOp{}, &UnsupportedError{Op: nd.Op.Name(), Pos: nd.Pos, What: "no device kernels for this op"}
}

// isView reports whether the op's value is a view of its input's memory.
func (o devOp) isView() bool { return o.kind == opReshape || o.kind == opSlice }

// view returns the value of a Reshape or Slice of x, sharing x's memory.
func (o devOp) view(x *Tensor, shape []int) *Tensor {
	off := 0
	if o.kind == opSlice {
		off = o.slice.Lo * tensor.SizeOf(x.Shape()[1:])
	}
	return x.View(off, shape...)
}

// mmDims returns m, k, c of a·b (c = 1 for a vector b).
func mmDims(a, b []int) (m, k, c int) {
	m, k, c = a[0], a[1], 1
	if len(b) == 2 {
		c = b[1]
	}
	return
}

func cols(shape []int) int {
	if len(shape) <= 1 {
		return 1
	}
	return tensor.SizeOf(shape[1:])
}

func (e *seq) forward(o devOp, dst *Tensor, in []*Tensor) {
	if e.err != nil {
		return
	}
	b := e.b
	switch o.kind {
	case opUnary:
		e.ok(b.Unary(o.name, Forward, o.p, dst, in[0], nil, nil))
	case opBinary:
		e.ok(b.BinaryForward(o.name, dst, in[0], in[1]))
	case opMatMul:
		m, k, c := mmDims(in[0].Shape(), in[1].Shape())
		e.ok(b.Gemm(m, c, k, 1, GemmOperand{T: in[0], LD: k}, GemmOperand{T: in[1], LD: c}, 0, dst, c))
	case opSum:
		e.ok(b.Sum(dst, in[0]))
	case opCumsum:
		e.ok(b.Cumsum(dst, in[0], cols(in[0].Shape()), false))
	case opConcat:
		off := 0
		for _, x := range in {
			e.copy(dst.View(off, x.Len()), x)
			off += x.Len()
		}
	case opReshape, opSlice:
		e.copy(dst, o.view(in[0], dst.Shape()))
	}
}

func (e *seq) jvp(o devOp, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	if e.err != nil {
		return
	}
	b := e.b
	switch o.kind {
	case opUnary:
		e.ok(b.Unary(o.name, JVP, o.p, dst, in[0], out, t[0]))
	case opBinary:
		e.ok(b.BinaryJVP(o.name, dst, in[0], in[1], out, t[0], t[1]))
	case opMatMul:
		m, k, c := mmDims(in[0].Shape(), in[1].Shape())
		beta := 0.0
		if t[0] != nil {
			e.ok(b.Gemm(m, c, k, 1, GemmOperand{T: t[0], LD: k}, GemmOperand{T: in[1], LD: c}, 0, dst, c))
			beta = 1
		}
		if t[1] != nil && e.err == nil {
			e.ok(b.Gemm(m, c, k, 1, GemmOperand{T: in[0], LD: k}, GemmOperand{T: t[1], LD: c}, beta, dst, c))
		}
	case opSum:
		e.ok(b.Sum(dst, t[0]))
	case opCumsum:
		e.ok(b.Cumsum(dst, t[0], cols(in[0].Shape()), false))
	case opConcat:
		off := 0
		for i, x := range in {
			seg := dst.View(off, x.Len())
			if t[i] != nil {
				e.copy(seg, t[i])
			} else {
				e.zero(seg)
			}
			off += x.Len()
		}
	case opReshape, opSlice:
		e.copy(dst, o.view(t[0], dst.Shape()))
	}
}

// vjp adds J_iᵀ c into dst[i] for every non-nil dst[i]. Two entries may be
// the same tensor (an input read twice): the contributions add up.
func (e *seq) vjp(o devOp, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	if e.err != nil {
		return
	}
	b := e.b
	switch o.kind {
	case opUnary:
		if dst[0] != nil {
			e.ok(b.Unary(o.name, VJP, o.p, dst[0], in[0], out, c))
		}
	case opBinary:
		for k := range 2 {
			if dst[k] != nil {
				e.run(func() error { return b.BinaryVJP(o.name, k, dst[k], in[0], in[1], out, c) })
			}
		}
	case opMatMul:
		m, k, cc := mmDims(in[0].Shape(), in[1].Shape())
		if dst[0] != nil { // ga += c·bᵀ
			e.run(func() error {
				return b.Gemm(m, k, cc, 1, GemmOperand{T: c, LD: cc}, GemmOperand{T: in[1], LD: cc, Trans: true}, 1, dst[0], k)
			})
		}
		if dst[1] != nil { // gb += aᵀ·c
			e.run(func() error {
				return b.Gemm(k, cc, m, 1, GemmOperand{T: in[0], LD: k, Trans: true}, GemmOperand{T: c, LD: cc}, 1, dst[1], cc)
			})
		}
	case opSum:
		if dst[0] != nil {
			e.ok(b.AddScalar(dst[0], c))
		}
	case opCumsum:
		if dst[0] != nil {
			tmp := e.alloc(c.Shape()...)
			e.run(func() error { return b.Cumsum(tmp, c, cols(c.Shape()), true) })
			e.axpy(dst[0], 1, tmp)
			e.free(tmp)
		}
	case opConcat:
		off := 0
		for i, x := range in {
			if dst[i] != nil {
				e.axpy(dst[i], 1, c.View(off, x.Len()))
			}
			off += x.Len()
		}
	case opReshape, opSlice:
		if dst[0] != nil {
			e.axpy(o.view(dst[0], c.Shape()), 1, c)
		}
	}
}

// devFactor is a factorization of a square Jacobian block on the device.
// dst and v of solve and solveT must not be the same tensor.
type devFactor interface {
	solve(e *seq, dst, v *Tensor)
	solveT(e *seq, dst, v *Tensor)
	logAbsDet() float64
	free() // gives its device memory back
	describe() string
	bytes() int64
}

// diagDev is a diagonal block diag(d), solved by division.
type diagDev struct {
	d      *Tensor
	logdet float64
}

func (f *diagDev) solve(e *seq, dst, v *Tensor) {
	e.run(func() error { return e.b.BinaryForward("div", dst, v, f.d) })
}
func (f *diagDev) solveT(e *seq, dst, v *Tensor) { f.solve(e, dst, v) }
func (f *diagDev) logAbsDet() float64            { return f.logdet }

// identityDev is an identity block.
type identityDev struct{}

func (identityDev) solve(e *seq, dst, v *Tensor)  { e.copy(dst, v) }
func (identityDev) solveT(e *seq, dst, v *Tensor) { e.copy(dst, v) }
func (identityDev) logAbsDet() float64            { return 0 }

// cumsumDev is Cumsum's unit lower triangular block: differences of rows.
type cumsumDev struct{ cols int }

func (f cumsumDev) solve(e *seq, dst, v *Tensor) {
	e.run(func() error { return e.b.CumsumDiff(dst, v, f.cols, false) })
}
func (f cumsumDev) solveT(e *seq, dst, v *Tensor) {
	e.run(func() error { return e.b.CumsumDiff(dst, v, f.cols, true) })
}
func (cumsumDev) logAbsDet() float64 { return 0 }

// kronDev is MatMul's block with respect to one operand, the other (W,
// k×k) square: W·X (left) or X·W (right), solved by a product with W⁻¹,
// computed once on the host from W's LU.
type kronDev struct {
	winv   *Tensor
	k      int // W's order
	c      int // columns of X (left) or rows of X (right)
	left   bool
	logdet float64
	how    string // "dense LU", or W's description
}

func (f *kronDev) product(e *seq, dst, v *Tensor, trans bool) {
	e.run(func() error {
		w := GemmOperand{T: f.winv, LD: f.k, Trans: trans}
		if f.left { // X = W⁻¹ V, V k×c; transposed: W⁻ᵀ V
			return e.b.Gemm(f.k, f.c, f.k, 1, w, GemmOperand{T: v, LD: f.c}, 0, dst, f.c)
		}
		// X = V W⁻¹, V c×k; transposed: V W⁻ᵀ
		return e.b.Gemm(f.c, f.k, f.k, 1, GemmOperand{T: v, LD: f.k}, w, 0, dst, f.k)
	})
}
func (f *kronDev) solve(e *seq, dst, v *Tensor)  { f.product(e, dst, v, false) }
func (f *kronDev) solveT(e *seq, dst, v *Tensor) { f.product(e, dst, v, true) }
func (f *kronDev) logAbsDet() float64            { return f.logdet }

// factor factorizes the block of node nd's output with respect to input p
// at the values in (device) and out (a constant's host value is read from
// nd's inputs where the factor needs it). Errors are those of the op's host
// inverse rule
// (*tape.SingularError, tape.ErrNotSquare), with the position left to the
// caller, or a device error.
func (e *seq) factor(o devOp, nd *tape.Node, p int, in []*Tensor, out *Tensor) (devFactor, error) {
	if in[p].Len() != out.Len() {
		return nil, fmt.Errorf("op %s, input %d of %d elements for %d outputs: %w", nd.Op.Name(), p, in[p].Len(), out.Len(), tape.ErrNotSquare)
	}
	switch o.kind {
	case opUnary, opBinary:
		d := e.alloc(out.Shape()...)
		if o.kind == opUnary {
			e.run(func() error { return e.b.Unary(o.name, Deriv, o.p, d, in[0], out, nil) })
		} else {
			e.run(func() error { return e.b.BinaryDeriv(o.name, p, d, in[0], in[1], out) })
		}
		var logdet float64
		bad := -1
		e.run(func() (err error) { logdet, bad, err = e.b.diagCheck(d); return err })
		if e.err == nil && bad < d.Len() {
			// The CPU's error for the first bad entry, at its index.
			v := e.download(d.View(bad, 1))
			if e.err == nil {
				_, err := ops.DiagFactor(nd.Op.Name(), p, v)
				if se, ok := err.(*tape.SingularError); ok {
					se.Index = bad
				}
				e.free(d)
				return nil, err
			}
		}
		if e.err != nil {
			e.free(d)
			return nil, e.err
		}
		return &diagDev{d: d, logdet: logdet}, nil
	case opCumsum:
		return cumsumDev{cols: cols(out.Shape())}, nil
	case opConcat, opReshape, opSlice, opSum: // square only with one input of one element (Sum: n = 1)
		return identityDev{}, nil
	case opMatMul:
		// The other operand is W: its host value (a constant), or a copy of
		// the device's, factorized as the CPU's rule does (the same LU,
		// errors and log|det|).
		w := nd.In[1-p].Value()
		if w == nil {
			w = tensor.New(in[1-p].Shape(), e.download(in[1-p]))
			if e.err != nil {
				return nil, e.err
			}
		}
		lu, err := ops.MatMulLU(p, w)
		if err != nil {
			return nil, err
		}
		k := lu.Size()
		times := in[p].Len() / max(k, 1) // W's copies in the block: rows of X·W, columns of W·X
		f := &kronDev{k: k, left: p == 1, c: times, logdet: float64(times) * lu.LogAbsDet(),
			how: fmt.Sprintf("LU of the %d×%d W, once for %d copies (rcond %.2g), solved by W⁻¹ products", k, k, times, lu.RCond())}
		f.winv = e.upload(lu.Inverse(), k, k)
		if e.err != nil {
			return nil, e.err
		}
		return f, nil
	}
	panic(fmt.Sprintf("cuda: no factor for op kind %d", o.kind)) // deviceOp admits no other kind
}

func (f *diagDev) free()  { f.d.Free() }
func (f *kronDev) free()  { f.winv.Free() }
func (identityDev) free() {}
func (cumsumDev) free()   {}

func (f *diagDev) describe() string  { return "reciprocals (diagonal)" }
func (f *kronDev) describe() string  { return f.how }
func (identityDev) describe() string { return "identity" }
func (cumsumDev) describe() string   { return "differences (unit lower triangular, O(n))" }
func (f *diagDev) bytes() int64      { return int64(f.d.Len()) * 8 }
func (f *kronDev) bytes() int64      { return int64(f.k*f.k) * 8 }
func (identityDev) bytes() int64     { return 0 }
func (cumsumDev) bytes() int64       { return 0 }
