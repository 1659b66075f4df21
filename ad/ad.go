// Package ad is invad's forward and reverse mode for any program: f of one
// or several inputs (a model's x and its parameters θ, say) to an output of
// any size, a scalar loss included. It records f on a tape, as package
// inverse does, and offers
//
//   - JVP: J·dx, the forward mode, one tangent per input (nil: zero);
//   - VJP: Jᵀ·cy, the reverse mode, the cotangent of every input at once;
//   - Jacobian: the dense m×nᵢ Jacobian with respect to one input, by nᵢ
//     JVPs or m VJPs, whichever are fewer;
//   - Grad: a scalar f's value and its gradient with respect to every input,
//     by one reverse sweep (a few times the cost of f);
//   - GradJVP and HVP: second order, reverse mode over forward mode with
//     each op's second-order rule (tape.SecondOrder): the gradient of
//     ⟨c, J·dx⟩, and for a scalar f the Hessian-vector product.
//
// Linearize32 and Grad32 are the first-order modes in float32: float32
// inputs, tangents, cotangents and results, every op's float32 rules
// (tape.Op32), f recorded in float64 and its values rounded once.
//
// The inverse products (J⁻¹v, vᵀJ⁻¹, log|det J|) need a square map of one
// input: inverse.Linearize, or inverse.LinearizeArg for f of several inputs
// taken with respect to one of them while the others stay fixed.
//
// The sweeps are those package inverse runs for its own JVP and VJP
// (internal/adcore): each op's JVP and VJP rule, over the values the tape
// kept, with buffers shared by values whose lifetimes do not overlap.
//
// Shape mistakes (a tangent of the wrong shape, a non-scalar f given to
// Grad) panic with a message starting "ad: "; a NaN or ±Inf in an input, a
// value or a product is a *tape.NonFiniteError (errors.Is(err,
// tape.ErrNonFinite)) naming where it is.
package ad

import (
	"fmt"
	"unsafe"

	"github.com/invad/invad/internal/adcore"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// MaxDenseElements bounds the dense Jacobians Jacobian builds: 2³⁰ float64
// elements, 8 GiB. Past it Jacobian returns an error matching
// tape.ErrTooLarge instead of trying to allocate.
var MaxDenseElements int64 = 1 << 30

// Linearization is f recorded at its inputs, ready for Jacobian products.
// Its methods may be called from several goroutines at once.
type Linearization struct {
	c core[float64]
	s *adcore.Sweeps
}

// core holds what the first-order products need, in float64
// (Linearization) or float32 (Linearization32): the program, the inputs,
// f's value and the sweeps of that element type.
type core[T tensor.Float] struct {
	p      *tape.Program
	xs     []*tensor.Dense[T]
	out    *tensor.Dense[T]
	consts [][]float64 // the data of the constants the ops read (dst must not overlap them)
	jvp    func(*tensor.Dense[T], ...*tensor.Dense[T])
	vjp    func([]*tensor.Dense[T], *tensor.Dense[T])
	dense  func(i int, fwd bool) *tensor.Dense[T]
}

// Linearize records f at the inputs xs (as many tensors as f takes, in
// the order f reads them; they are not copied and must not change while
// the Linearization is used). f must build its result from its arguments
// with invad ops (package ops).
//
// It panics if f is nil, xs is empty or holds nil, f returns nil or a value
// from another tape. It returns a *tape.NonFiniteError if an input or f's
// result holds NaN or ±Inf (naming the first op whose value is not
// finite).
func Linearize(f func(xs ...*tape.Var) *tape.Var, xs ...*tensor.Tensor) (*Linearization, error) {
	p, ins, err := record(f, xs)
	if err != nil {
		return nil, err
	}
	s := adcore.New(p, ins)
	return &Linearization{s: s, c: core[float64]{p: p, xs: xs, out: p.Output.Value(), consts: constants(p),
		jvp: s.JVPInto, vjp: s.VJPInto, dense: s.Dense}}, nil
}

// record records f at xs and returns the program and its inputs, with
// Linearize's panics and errors.
func record(f func(xs ...*tape.Var) *tape.Var, xs []*tensor.Tensor) (*tape.Program, []*tape.Var, error) {
	if f == nil {
		panic("ad: f is nil")
	}
	if len(xs) == 0 {
		panic("ad: Linearize with no input")
	}
	for i, x := range xs {
		if x == nil {
			panic(fmt.Sprintf("ad: input %d is nil", i))
		}
		if bad, k := x.HasNonFinite(); bad {
			return nil, nil, &tape.NonFiniteError{Where: fmt.Sprintf("input %d", i), Pos: -1, Index: k, Value: x.Data()[k], Pkg: "ad"}
		}
	}
	tp := tape.NewTape()
	ins := make([]*tape.Var, len(xs))
	for i, x := range xs {
		ins[i] = tp.Input(x)
	}
	out := f(ins...)
	if out == nil {
		panic("ad: f returned nil")
	}
	if out.Tape() != tp {
		panic("ad: f returned a value from another tape")
	}
	p := tp.Finish(ins[0], out)
	if bad, _ := out.Value().HasNonFinite(); bad {
		return nil, nil, tape.FirstNonFinite(p, "ad")
	}
	return p, ins, nil
}

// constants returns the data of the constants p's ops read.
func constants(p *tape.Program) [][]float64 {
	var out [][]float64
	seen := map[*tape.Var]bool{}
	for _, nd := range p.Nodes {
		for _, v := range nd.In {
			if v.IsConst() && !seen[v] {
				seen[v] = true
				out = append(out, v.Value().Data())
			}
		}
	}
	return out
}

// Output returns f(xs). It is the tape's value: do not modify it.
func (l *Linearization) Output() *tensor.Tensor { return l.c.out }

// NumInputs returns the number of inputs f takes.
func (l *Linearization) NumInputs() int { return len(l.c.xs) }

// Input returns input i, as given to Linearize.
func (l *Linearization) Input(i int) *tensor.Tensor { return l.c.xs[i] }

// Program returns the recorded program: the ops f's result depends on.
func (l *Linearization) Program() *tape.Program { return l.s.P }

// JVP returns J·dx = Σᵢ Jᵢ·dxs[i], shaped like f's result: one tangent per
// input, each shaped like its input, nil for a zero tangent (the ops
// reached by no tangent are skipped). It panics on a wrong number of
// tangents or a wrong shape, and returns a *tape.NonFiniteError for NaN or
// ±Inf in a tangent or the result.
func (l *Linearization) JVP(dxs ...*tensor.Tensor) (*tensor.Tensor, error) { return l.c.jvpNew(dxs) }

func (l *core[T]) jvpNew(dxs []*tensor.Dense[T]) (*tensor.Dense[T], error) {
	res := tensor.ZerosOf[T](l.p.Output.Shape()...)
	if err := l.jvpTo(res, dxs...); err != nil {
		return nil, err
	}
	return res, nil
}

// JVPTo writes J·dx into dst, shaped like f's result, and allocates
// nothing once its buffers are pooled: the form for hot loops. Besides
// JVP's panics, it panics if dst is nil, has the wrong shape or shares
// memory with a tangent, an input, f's result or a constant of f.
func (l *Linearization) JVPTo(dst *tensor.Tensor, dxs ...*tensor.Tensor) error {
	return l.c.jvpTo(dst, dxs...)
}

func (l *core[T]) jvpTo(dst *tensor.Dense[T], dxs ...*tensor.Dense[T]) error {
	if len(dxs) != len(l.xs) {
		panic(fmt.Sprintf("ad: JVP with %d tangents for %d inputs", len(dxs), len(l.xs)))
	}
	l.checkDst("JVPTo", dst, l.p.Output.Shape(), dxs)
	for i, dx := range dxs {
		if dx == nil {
			continue
		}
		if err := checkArg(fmt.Sprintf("tangent %d of JVP", i), dx, l.xs[i].Shape()); err != nil {
			return err
		}
	}
	l.jvp(dst, dxs...)
	return checkResult("JVP", dst)
}

// VJP returns Jᵢᵀ·cy for every input i (each shaped like its input), cy
// shaped like f's result: the reverse mode, all inputs' cotangents from one
// sweep. It panics if cy has the wrong shape and returns a
// *tape.NonFiniteError for NaN or ±Inf in cy or a result.
func (l *Linearization) VJP(cy *tensor.Tensor) ([]*tensor.Tensor, error) { return l.c.vjpNew(cy) }

func (l *core[T]) vjpNew(cy *tensor.Dense[T]) ([]*tensor.Dense[T], error) {
	res := make([]*tensor.Dense[T], len(l.xs))
	for i, x := range l.xs {
		res[i] = tensor.ZerosOf[T](x.Shape()...)
	}
	if err := l.vjpTo(res, cy); err != nil {
		return nil, err
	}
	return res, nil
}

// VJPTo writes Jᵢᵀ·cy into dst[i] for every dst[i] != nil (nil: not
// wanted, and the sweep skips what only it needs), allocating nothing once
// its buffers are pooled. Besides VJP's panics, it panics if len(dst) is
// not the number of inputs, a dst[i] has the wrong shape, or two of them,
// or one and cy, an input, f's result or a constant of f share memory.
func (l *Linearization) VJPTo(dst []*tensor.Tensor, cy *tensor.Tensor) error {
	return l.c.vjpTo(dst, cy)
}

func (l *core[T]) vjpTo(dst []*tensor.Dense[T], cy *tensor.Dense[T]) error {
	if len(dst) != len(l.xs) {
		panic(fmt.Sprintf("ad: VJPTo with %d destinations for %d inputs", len(dst), len(l.xs)))
	}
	for i, d := range dst {
		if d == nil {
			continue
		}
		l.checkDst(fmt.Sprintf("VJPTo dst[%d]", i), d, l.xs[i].Shape(), []*tensor.Dense[T]{cy})
		for _, e := range dst[:i] {
			if e != nil && tensor.Overlap(d.Data(), e.Data()) {
				panic(fmt.Sprintf("ad: VJPTo dst[%d] shares memory with another dst", i))
			}
		}
	}
	if err := checkArg("cotangent of VJP", cy, l.p.Output.Shape()); err != nil {
		return err
	}
	l.vjp(dst, cy)
	for _, d := range dst {
		if d != nil {
			if err := checkResult("VJP", d); err != nil {
				return err
			}
		}
	}
	return nil
}

// Jacobian returns the dense Jacobian of f with respect to input i as an
// m×nᵢ matrix (row r: output element r, column c: element c of input i,
// both in row-major order), from nᵢ JVPs or m VJPs, whichever are fewer,
// split over the cores. It returns an error matching tape.ErrTooLarge past
// MaxDenseElements, and a *tape.NonFiniteError for NaN or ±Inf. It panics
// if i is not an input's index.
func (l *Linearization) Jacobian(i int) (*tensor.Tensor, error) { return l.c.jacobian(i) }

func (l *core[T]) jacobian(i int) (*tensor.Dense[T], error) {
	if i < 0 || i >= len(l.xs) {
		panic(fmt.Sprintf("ad: Jacobian of input %d of %d", i, len(l.xs)))
	}
	m, n := l.p.Output.Len(), l.xs[i].Len()
	if int64(m)*int64(n) > MaxDenseElements {
		return nil, fmt.Errorf("ad: a dense %d×%d Jacobian needs %.3g GB, over the MaxDenseElements limit of %d elements: %w",
			m, n, float64(m)*float64(n)*float64(unsafe.Sizeof(T(0)))/1e9, MaxDenseElements, tape.ErrTooLarge)
	}
	J := l.dense(i, n <= m)
	return J, checkResult("Jacobian", J)
}

// Grad returns f(xs) and the gradient of f with respect to every input
// (each shaped like its input), f a scalar: a result of one element, a loss.
// It records f and runs one reverse sweep. It panics, besides as Linearize
// does, if f's result has more than one element (ad: Grad needs a scalar f),
// and returns Linearize's errors and a *tape.NonFiniteError for a
// non-finite gradient.
func Grad(f func(xs ...*tape.Var) *tape.Var, xs ...*tensor.Tensor) (float64, []*tensor.Tensor, error) {
	l, err := Linearize(f, xs...)
	if err != nil {
		return 0, nil, err
	}
	out := l.Output()
	if out.Len() != 1 {
		panic(fmt.Sprintf("ad: Grad needs a scalar f; f returned shape %v (take VJP for a vector result)", out.Shape()))
	}
	one := tensor.Zeros(out.Shape()...)
	one.Data()[0] = 1
	g, err := l.VJP(one)
	if err != nil {
		return 0, nil, err
	}
	return out.Data()[0], g, nil
}

// GradJVP returns, for every input i, the gradient with respect to input i
// of ⟨c, J·dx⟩, J·dx = Σₖ Jₖ·dxs[k] (one tangent per input, nil for zero;
// c shaped like f's result): reverse mode over forward mode, with each
// op's second-order rule (tape.SecondOrder). For a scalar f and c = 1 it
// is the Hessian of f times dx (HVP). It panics on shape mistakes as JVP
// and VJP do, and returns an error naming the op if an op of f has no
// second-order rule, and a *tape.NonFiniteError for NaN or ±Inf.
func (l *Linearization) GradJVP(c *tensor.Tensor, dxs ...*tensor.Tensor) ([]*tensor.Tensor, error) {
	xs := l.c.xs
	if len(dxs) != len(xs) {
		panic(fmt.Sprintf("ad: GradJVP with %d tangents for %d inputs", len(dxs), len(xs)))
	}
	for i, dx := range dxs {
		if dx == nil {
			continue
		}
		if err := checkArg(fmt.Sprintf("tangent %d of GradJVP", i), dx, xs[i].Shape()); err != nil {
			return nil, err
		}
	}
	if err := checkArg("cotangent of GradJVP", c, l.s.P.Output.Shape()); err != nil {
		return nil, err
	}
	res := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		res[i] = tensor.Zeros(x.Shape()...)
	}
	if nd, ok := l.s.GradJVPInto(res, c, dxs...); !ok {
		return nil, fmt.Errorf("ad: op %s at tape position %d has no second-order rule", nd.Op.Name(), nd.Pos)
	}
	for _, r := range res {
		if err := checkResult("GradJVP", r); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// HVP returns the Hessian of a scalar f times v, ∇²f·v, as one tensor per
// input (shaped like it): vs holds one direction per input, nil for zero.
// It is GradJVP with c = 1 and panics if f's result has more than one
// element.
func (l *Linearization) HVP(vs ...*tensor.Tensor) ([]*tensor.Tensor, error) {
	out := l.Output()
	if out.Len() != 1 {
		panic(fmt.Sprintf("ad: HVP needs a scalar f; f returned shape %v (take GradJVP)", out.Shape()))
	}
	one := tensor.Zeros(out.Shape()...)
	one.Data()[0] = 1
	return l.GradJVP(one, vs...)
}

// checkArg panics on a shape mistake and reports a non-finite argument.
func checkArg[T tensor.Float](name string, v *tensor.Dense[T], shape []int) error {
	if v == nil {
		panic("ad: " + name + " is nil")
	}
	if !tensor.SameShape(v.Shape(), shape) {
		panic(fmt.Sprintf("ad: %s has shape %v, want %v", name, v.Shape(), shape))
	}
	if bad, i := v.HasNonFinite(); bad {
		return &tape.NonFiniteError{Where: name, Pos: -1, Index: i, Value: float64(v.Data()[i]), Pkg: "ad"}
	}
	return nil
}

// checkDst panics unless dst can take a product's result: not nil, shaped
// like shape, and sharing no memory with the arguments, an input, f's
// result or a constant.
func (l *core[T]) checkDst(name string, dst *tensor.Dense[T], shape []int, args []*tensor.Dense[T]) {
	if dst == nil {
		panic("ad: " + name + " is nil")
	}
	if !tensor.SameShape(dst.Shape(), shape) {
		panic(fmt.Sprintf("ad: %s has shape %v, want %v", name, dst.Shape(), shape))
	}
	d := dst.Data()
	for _, a := range args {
		if a != nil && tensor.Overlap(d, a.Data()) {
			panic("ad: " + name + " shares memory with an argument")
		}
	}
	for _, x := range l.xs {
		if tensor.Overlap(d, x.Data()) {
			panic("ad: " + name + " shares memory with an input")
		}
	}
	if tensor.Overlap(d, l.out.Data()) {
		panic("ad: " + name + " shares memory with f's result")
	}
	for _, c := range l.consts {
		if tensor.Overlap(d, c) {
			panic("ad: " + name + " shares memory with a constant of f (ops.Const's data is not copied)")
		}
	}
}

// checkResult reports a non-finite product.
func checkResult[T tensor.Float](name string, r *tensor.Dense[T]) error {
	return tape.CheckFinite("ad", name, r)
}
