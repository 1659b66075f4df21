package cuda

import (
	"fmt"
	"reflect"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// The rules of the ops on device tensors: what a device Linearization runs
// for each node of its tape. Each mirrors the op's host rule (tape.Op):
// forward writes the value, jvp writes Σ J_i t_i (a nil t_i is zero, at
// least one is set), vjp adds J_iᵀ c into every non-nil dst[i] (two entries
// may be the same tensor, an input read twice: the contributions add up),
// factor factorizes the block with respect to input p. Every op family
// registers its rule by the op's Go type (rules_*.go, one file a family):
// nothing here switches over ops, and a new op is one registration.

// devOp is an op's rule on the device. The seq's first error stops the
// calls: a rule runs only while e.err is nil.
type devOp interface {
	forward(e *seq, dst *Tensor, in []*Tensor)
	jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor)
	vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor)
	// factor factorizes the block of node nd's output with respect to
	// input p at the values in (device) and out; a constant's host value is
	// read from nd's inputs where the factor needs it. Errors are those of
	// the op's host inverse rule (*tape.SingularError, tape.ErrNotSquare),
	// with the position left to the caller, or a device error (in e.err).
	factor(e *seq, nd *tape.Node, p int, in []*Tensor, out *Tensor) (devFactor, error)
	// isView reports whether the op's value is a view of its input's
	// memory (Reshape, Slice); view then returns it.
	isView() bool
	view(x *Tensor, shape []int) *Tensor
}

// notView is embedded by the rules whose value has its own memory.
type notView struct{}

func (notView) isView() bool                { return false }
func (notView) view(*Tensor, []int) *Tensor { panic("cuda: view of an op that is not a view") }

// rules maps an op's Go type to the function making its device rule; the
// function reports false for an op of the type it has no kernels for.
var rules = map[reflect.Type]func(tape.Op) (devOp, bool){}

// register makes op's type run on the device by rule.
func register(op tape.Op, rule func(tape.Op) (devOp, bool)) { rules[reflect.TypeOf(op)] = rule }

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

// deviceOp returns a node's device rule, or *UnsupportedError.
func deviceOp(nd *tape.Node) (devOp, error) {
	if rule, ok := rules[reflect.TypeOf(nd.Op)]; ok {
		if o, ok := rule(nd.Op); ok {
			return o, nil
		}
	}
	return nil, &UnsupportedError{Op: nd.Op.Name(), Pos: nd.Pos, What: "no device kernels for this op"}
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
	if e.err == nil {
		o.forward(e, dst, in)
	}
}

func (e *seq) jvp(o devOp, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	if e.err == nil {
		o.jvp(e, dst, in, out, t)
	}
}

func (e *seq) vjp(o devOp, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	if e.err == nil {
		o.vjp(e, dst, in, out, c)
	}
}

// factor checks the block is square and factorizes it by the op's rule.
func (e *seq) factor(o devOp, nd *tape.Node, p int, in []*Tensor, out *Tensor) (devFactor, error) {
	if in[p].Len() != out.Len() {
		return nil, fmt.Errorf("op %s, input %d of %d elements for %d outputs: %w", nd.Op.Name(), p, in[p].Len(), out.Len(), tape.ErrNotSquare)
	}
	return o.factor(e, nd, p, in, out)
}

// diagFactor checks the diagonal block d (a fresh tensor, taken over) and
// returns its factor, or the CPU's error for its first bad entry.
func (e *seq) diagFactor(nd *tape.Node, p int, d *Tensor) (devFactor, error) {
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
// computed once on the host from W's LU. With samples > 1 (BatchMatMul's
// per-sample W) winv holds one W⁻¹ per sample and the block is block
// diagonal, one product per sample.
type kronDev struct {
	winv    *Tensor
	k       int // W's order
	c       int // columns of X (left) or rows of X (right), per sample
	left    bool
	samples int // W's samples; 0 or 1: one W
	logdet  float64
	how     string // "dense LU", or W's description
}

func (f *kronDev) product(e *seq, dst, v *Tensor, trans bool) {
	w := GemmOperand{T: f.winv, LD: f.k, Trans: trans}
	if f.samples > 1 { // one product per sample, in one launch
		kk, kc := f.k*f.k, f.k*f.c
		e.run(func() error {
			if f.left {
				return e.b.GemmBatched(f.samples, f.k, f.c, f.k, 1, w, kk, GemmOperand{T: v, LD: f.c}, kc, 0, dst, f.c, kc)
			}
			return e.b.GemmBatched(f.samples, f.c, f.k, f.k, 1, GemmOperand{T: v, LD: f.k}, kc, w, kk, 0, dst, f.k, kc)
		})
		return
	}
	e.run(func() error {
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

func (f *diagDev) free()  { f.d.Free() }
func (f *kronDev) free()  { f.winv.Free() }
func (identityDev) free() {}
func (cumsumDev) free()   {}

func (f *diagDev) describe() string  { return "reciprocals (diagonal)" }
func (f *kronDev) describe() string  { return f.how }
func (identityDev) describe() string { return "identity" }
func (cumsumDev) describe() string   { return "differences (unit lower triangular, O(n))" }
func (f *diagDev) bytes() int64      { return int64(f.d.Len()) * 8 }
func (f *kronDev) bytes() int64      { return int64(f.k*f.k*max(f.samples, 1)) * 8 }
func (identityDev) bytes() int64     { return 0 }
func (cumsumDev) bytes() int64       { return 0 }
