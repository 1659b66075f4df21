package inverse

import (
	"context"
	"math"
	"sync"

	"github.com/invad/invad/internal/adcore"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/sweep"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Linearization32 is a Linearization whose products run in float32: the
// tangents, cotangents, sweeps and batch lumps' factors are float32, half
// the memory and bandwidth of float64. Build it with Linearize32.
//
// f is recorded in float64, as Linearize records it, and every value is
// rounded to float32 once; the float64 values are dropped once the lumps
// are factorized (Prepare, or the first inverse product). The products
// are those of the Jacobian at the rounded values, in float32 arithmetic:
// expect about log₁₀ κ fewer than float32's 7 significant digits, κ the
// condition number of J (Cond). Lumps factorized by an op's own inverse
// rule (a diagonal, a matrix factor's LU) and the rare dense and sparse
// lumps are factorized in float64; batch lumps by the float32 batched LU
// of package cpu. Refine(k) refines in mixed precision: residuals in
// float64, corrections in float32, for float64's results rounded.
type Linearization32 struct {
	l   *Linearization // the recording's structure; its float64 values are released
	x   *tensor.Tensor32
	val []*tensor.Tensor32 // per var id, its value rounded to float32
	ad  *adcore.Sweeps32

	// Float64's: f recorded again in float64 at x, on first use.
	rerecord func() (*Linearization, error)
	f64Once  sync.Once
	f64      *Linearization
	f64Err   error

	mu      sync.Mutex // held while the lumps are analyzed and factorized
	done    bool
	inv     *sweep.Exec[*tensor.Tensor32]
	invErr  error
	invIdle adcore.Idle[*sweep.Workspace[*tensor.Tensor32]]
}

// Linearize32 records f at x, as Linearize does at x widened to float64,
// and makes the products float32 (Linearization32). It takes Linearize's
// options (Reuse, whose plan is a float64 Linearization's, is ignored),
// panics as it does, and returns its errors, and a *NonFiniteError if a
// value of f overflows float32 (naming its op).
func Linearize32(f func(x *tape.Var) *tape.Var, x *tensor.Tensor32, opts ...Option) (*Linearization32, error) {
	if x == nil {
		panic("inverse: Linearize32 with a nil x")
	}
	l, err := Linearize(f, tensor.To64(x), opts...)
	if err != nil {
		return nil, err
	}
	val, err := adcore.Values32(l.prog, "")
	if err != nil {
		return nil, err
	}
	l32 := &Linearization32{l: l, x: x, val: val}
	l32.ad = l.ad.Float32(func(v *tape.Var) *tensor.Tensor32 { return val[v.ID()] })
	l32.rerecord = func() (*Linearization, error) { return Linearize(f, tensor.To64(x), opts...) }
	return l32, nil
}

// LinearizeArg32 is LinearizeArg for float32 inputs: f linearized with
// respect to input i, the others held fixed, the products in float32.
// It panics and errs as LinearizeArg and Linearize32 do.
func LinearizeArg32(f func(xs ...*tape.Var) *tape.Var, xs []*tensor.Tensor32, i int, opts ...Option) (*Linearization32, error) {
	x64 := make([]*tensor.Tensor, len(xs))
	for j, x := range xs {
		if x != nil {
			x64[j] = tensor.To64(x)
		}
	}
	checkArgs("LinearizeArg32", f, x64, i)
	return Linearize32(argFunc(f, x64, i), xs[i], opts...)
}

// Float64 returns the float64 Linearization of f at x (widened): f
// recorded again in float64 on the first call (the float32 Linearization
// keeps only float32 values), the same Linearization after. Its products
// share nothing with the float32 ones. The error is Linearize's.
func (l *Linearization32) Float64() (*Linearization, error) {
	l.f64Once.Do(func() { l.f64, l.f64Err = l.rerecord() })
	return l.f64, l.f64Err
}

// Output returns f(x) rounded to float32: do not modify it.
func (l *Linearization32) Output() *tensor.Tensor32 { return l.val[l.l.prog.Output.ID()] }

// Input returns x, as given to Linearize32.
func (l *Linearization32) Input() *tensor.Tensor32 { return l.x }

// Len returns n, the number of elements of x and f(x).
func (l *Linearization32) Len() int { return l.l.n }

// Bytes returns the bytes of the program's values in float32 (half those
// of the float64 recording; the factors come on top once prepared).
func (l *Linearization32) Bytes() int64 { return l.l.prog.Bytes() / 2 }

// checkArg panics on a shape mistake and reports a non-finite argument.
func (l *Linearization32) checkArg(name string, v *tensor.Tensor32, shape []int) error {
	return checkArg(name, v, shape)
}

// checkDst panics unless dst can take a product's result: not nil, shaped
// like shape, and sharing no memory with the argument, x, f(x) or a
// constant.
func (l *Linearization32) checkDst(name string, dst, arg *tensor.Tensor32, shape []int) {
	checkDst(name, dst, arg, shape, l.x, l.Output(), l.l.consts)
}

// JVP returns J·dx in float32; panics and errors as Linearization.JVP.
func (l *Linearization32) JVP(dx *tensor.Tensor32) (*tensor.Tensor32, error) {
	res := tensor.ZerosOf[float32](l.l.prog.Output.Shape()...)
	if err := l.JVPTo(res, dx); err != nil {
		return nil, err
	}
	return res, nil
}

// JVPTo writes J·dx into dst; panics and errors as Linearization.JVPTo.
func (l *Linearization32) JVPTo(dst, dx *tensor.Tensor32) error {
	l.checkDst("JVPTo", dst, dx, l.l.prog.Output.Shape())
	if err := l.checkArg("JVP", dx, l.x.Shape()); err != nil {
		return err
	}
	l.ad.JVPInto(dst, dx)
	return tape.CheckFinite("", "JVP", dst)
}

// VJP returns Jᵀ·cy in float32; panics and errors as Linearization.VJP.
func (l *Linearization32) VJP(cy *tensor.Tensor32) (*tensor.Tensor32, error) {
	res := tensor.ZerosOf[float32](l.x.Shape()...)
	if err := l.VJPTo(res, cy); err != nil {
		return nil, err
	}
	return res, nil
}

// VJPTo writes Jᵀ·cy into dst; panics and errors as Linearization.VJPTo.
func (l *Linearization32) VJPTo(dst, cy *tensor.Tensor32) error {
	l.checkDst("VJPTo", dst, cy, l.x.Shape())
	if err := l.checkArg("VJP", cy, l.l.prog.Output.Shape()); err != nil {
		return err
	}
	l.ad.VJPInto([]*tensor.Tensor32{dst}, cy)
	return tape.CheckFinite("", "VJP", dst)
}

// Jacobian returns the dense n×n Jacobian in float32, from n JVPs; errors
// as Linearization.Jacobian.
func (l *Linearization32) Jacobian() (*tensor.Tensor32, error) { return l.dense(true) }

// JacobianRev returns the same dense Jacobian from n VJPs.
func (l *Linearization32) JacobianRev() (*tensor.Tensor32, error) { return l.dense(false) }

func (l *Linearization32) dense(fwd bool) (*tensor.Tensor32, error) {
	if err := checkDense(l.l.n, 4, "Jacobian"); err != nil {
		return nil, err
	}
	J := l.ad.Dense(0, fwd)
	return J, tape.CheckFinite("", "Jacobian", J)
}

// InverseJacobian returns the dense J⁻¹ in float32, from n IJVPs; errors
// as Linearization.InverseJacobian.
func (l *Linearization32) InverseJacobian() (*tensor.Tensor32, error) {
	if err := checkDense(l.l.n, 4, "inverse Jacobian"); err != nil {
		return nil, err
	}
	s, err := l.prepare(context.Background())
	if err != nil {
		return nil, err
	}
	K := denseInverse(s, &l.invIdle, l.l.n, l.x.Shape(), l.l.prog.Output.Shape())
	return K, tape.CheckFinite("", "InverseJacobian", K)
}

// Cond estimates κ₁(J) as Linearization.Cond does, from the float32
// products: float32 loses about log₁₀ κ of its 7 digits.
func (l *Linearization32) Cond() (float64, error) {
	if _, err := l.prepare(context.Background()); err != nil {
		return math.NaN(), err
	}
	in, out := l.x.Shape(), l.l.prog.Output.Shape()
	// Cond1 works in float64: each product rounds its argument to float32.
	wrap := func(p func(dst, v *tensor.Tensor32) error, dshape, vshape []int) func(dst, v *tensor.Tensor) error {
		d32, v32 := tensor.ZerosOf[float32](dshape...), tensor.ZerosOf[float32](vshape...)
		return func(dst, v *tensor.Tensor) error {
			for i, x := range v.Data() {
				v32.Data()[i] = float32(x)
			}
			if err := p(d32, v32); err != nil {
				return err
			}
			for i, x := range d32.Data() {
				dst.Data()[i] = float64(x)
			}
			return nil
		}
	}
	return sweep.Cond1(l.l.n, in, out, wrap(l.JVPTo, out, in), wrap(l.VJPTo, in, out), wrap(l.IJVPTo, in, out), wrap(l.VIJPTo, out, in))
}

// Prepare analyzes the program and factorizes its lumps in float32 now;
// see Linearization.Prepare.
func (l *Linearization32) Prepare(ctx context.Context) error {
	if ctx == nil {
		panic("inverse: Prepare with a nil context")
	}
	_, err := l.prepare(ctx)
	return err
}

func (l *Linearization32) prepare(ctx context.Context) (*sweep.Exec[*tensor.Tensor32], error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return l.inv, l.invErr
	}
	ll := l.l
	engine := sweep.Engine[*tensor.Tensor32](newCPUEngine32(ll.prog, l.val))
	x, err := sweep.BuildProgress(ctx, ll.prog, lump.Limits{Width: ll.maxWidth, Bytes: ll.maxBytes}, engine, ll.progressFunc())
	if sweep.Cancelled(ctx, err) {
		return nil, err // not final
	}
	l.done = true
	l.inv, l.invErr = x, err
	// The float32 copies replace the float64 values from now on: the
	// products and Output read val alone.
	ll.prog.ReleaseValues()
	ll.x = nil
	return x, err
}

// IJVP solves J·dx = dy for dx in float32; panics and errors as
// Linearization.IJVP.
func (l *Linearization32) IJVP(dy *tensor.Tensor32) (*tensor.Tensor32, error) {
	res := tensor.ZerosOf[float32](l.x.Shape()...)
	if err := l.IJVPTo(res, dy); err != nil {
		return nil, err
	}
	return res, nil
}

// IJVPTo writes J⁻¹·dy into dst; panics and errors as
// Linearization.IJVPTo.
func (l *Linearization32) IJVPTo(dst, dy *tensor.Tensor32) error {
	return l.solve("IJVP", dst, dy, l.x.Shape(), l.l.prog.Output.Shape(), true)
}

// VIJP solves Jᵀ·cy = cx for cy in float32; panics and errors as
// Linearization.VIJP.
func (l *Linearization32) VIJP(cx *tensor.Tensor32) (*tensor.Tensor32, error) {
	res := tensor.ZerosOf[float32](l.l.prog.Output.Shape()...)
	if err := l.VIJPTo(res, cx); err != nil {
		return nil, err
	}
	return res, nil
}

// VIJPTo writes J⁻ᵀ·cx into dst; panics and errors as
// Linearization.VIJPTo.
func (l *Linearization32) VIJPTo(dst, cx *tensor.Tensor32) error {
	return l.solve("VIJP", dst, cx, l.l.prog.Output.Shape(), l.x.Shape(), false)
}

func (l *Linearization32) solve(name string, dst, arg *tensor.Tensor32, dshape, ashape []int, ijvp bool) error {
	l.checkDst(name+"To", dst, arg, dshape)
	if err := l.checkArg(name, arg, ashape); err != nil {
		return err
	}
	s, err := l.prepare(context.Background())
	if err != nil {
		return err
	}
	w, ok := l.invIdle.Get()
	if !ok {
		w = s.NewWorkspace()
	}
	if ijvp {
		err = s.IJVP(w, dst, arg)
	} else {
		err = s.VIJP(w, dst, arg)
	}
	if err == nil && l.l.refine > 0 {
		err = l.refineSolve(s, w, dst, arg, ijvp)
	}
	l.invIdle.Put(w)
	if err != nil {
		return err
	}
	return tape.CheckFinite("", name, dst)
}

// refineSolve takes Refine's steps in mixed precision (refine): the
// residual b − J x in float64 (the JVP, or VJP for VIJP, of Float64,
// recorded on the first refinement, at x widened), its correction by the
// float32 sweep, added in float64 and rounded once at the end. It removes
// the condition number's amplification of float32 rounding: the result is
// float64's solution rounded to float32, up to about κ·ε₃₂ of the
// correction.
func (l *Linearization32) refineSolve(s *sweep.Exec[*tensor.Tensor32], w *sweep.Workspace[*tensor.Tensor32], x, b *tensor.Tensor32, ijvp bool) error {
	ll, err := l.Float64()
	if err != nil {
		return err
	}
	x64 := tensor.To64(x)
	if err := refine(ll.refine, ll.ad, s, w, x64, tensor.To64(b), ijvp); err != nil {
		return err
	}
	for i, v := range x64.Data() {
		x.Data()[i] = float32(v)
	}
	return nil
}

// LogAbsDet returns log|det J| of the float32 factors (summed in float64);
// errors as for IJVP.
func (l *Linearization32) LogAbsDet() (float64, error) {
	s, err := l.prepare(context.Background())
	if err != nil {
		return math.NaN(), err
	}
	return s.LogDet, nil
}

// LogAbsDetAlong returns one log|det| per sample along axis of x, of the
// float32 factors; see Linearization.LogAbsDetAlong.
func (l *Linearization32) LogAbsDetAlong(axis int) (*tensor.Tensor, error) {
	b, group, err := l.l.samples(axis)
	if err != nil {
		return nil, err
	}
	s, err := l.prepare(context.Background())
	if err != nil {
		return nil, err
	}
	return sampleLogDets(s, axis, b, group)
}

// Lumps reports every lump and how its float32 products factorize it.
func (l *Linearization32) Lumps() ([]LumpInfo, error) {
	x, err := l.prepare(context.Background())
	if err != nil {
		return nil, err
	}
	return x.Lumps(), nil
}
