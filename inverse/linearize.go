package inverse

import (
	"context"
	"fmt"
	"github.com/invad/invad/internal/adcore"
	"math"
	"sync"
	"time"

	"github.com/invad/invad/batch"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/sweep"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Linearization is a program recorded at a point, ready for its Jacobian
// products. Build it with Linearize.
type Linearization struct {
	prog *tape.Program
	x    *tensor.Tensor
	n    int
	ad   *adcore.Sweeps // JVP, VJP and dense Jacobians

	vars     []*tape.Var // per var id, the program's values
	consts   [][]float64 // the data of the constants the ops read (dst must not overlap them)
	maxWidth int
	maxBytes int64
	refine   int // iterative refinement steps of IJVP and VIJP
	progress func(Progress)
	// asRecorded: AsRecorded's; else a program with samples along axis 0
	// of x is analyzed batch-minor (package batch).
	asRecorded bool
	minor      bool           // prog is batch.Minor's: samples innermost between x and y
	reuse      *Linearization // Reuse's: whose plan to take if the program is the same
	invMu      sync.Mutex     // held while the lumps are analyzed and factorized
	invDone    bool           // inv or invErr final
	inv        *cpuExec
	invErr     error
	invIdle    adcore.Idle[*sweep.Workspace[*tensor.Tensor]]
	released   bool // Release's: only the plan and the idle workspaces are left

	// Invert's options (Linearize ignores them).
	start      *tensor.Tensor
	invTol     float64
	invMaxIter int
	invTrace   *[]InvertLump
}

// Option configures Linearize.
type Option func(*Linearization)

// MaxLumpWidth bounds the width of a dense lump and the block order of a
// batch lump (default lump.DefaultMaxWidth, 4096). A program with a wider
// lump makes the inverse products return *lump.LumpTooLargeError naming its
// ops, before anything is factorized.
//
// It panics if w is not positive: that is a caller mistake, not a request
// for the default.
func MaxLumpWidth(w int) Option {
	if w <= 0 {
		panic(fmt.Sprintf("inverse: MaxLumpWidth(%d): the width limit must be positive", w))
	}
	return func(l *Linearization) { l.maxWidth = w }
}

// Refine makes IJVP and VIJP (and the ...To forms) take k steps of
// iterative refinement: the residual b − J x by one JVP (VJP for VIJP),
// corrected by one more inverse product, each step, at about 2k more
// products' cost. It helps where a lump's own factorization is less stable
// than partial pivoting on the whole J (a step's LU of a constant W with
// large pivot growth, a batch block with a tiny pivot): one step brings the
// products to a pivoted dense LU's accuracy there. Where the products are
// already backward stable for the factored J, it changes nothing: on
// ill-conditioned chains of well-behaved lumps the products are more
// accurate than an LU of the dense J, whose rounding κ amplifies (see
// TestRefineOnProgramsWorseThanLU). It panics if k is negative.
func Refine(k int) Option {
	if k < 0 {
		panic(fmt.Sprintf("inverse: Refine(%d): the number of steps must not be negative", k))
	}
	return func(l *Linearization) { l.refine = k }
}

// Reuse makes the Linearization take prev's analysis and plan instead of
// building its own when f records the same program as prev's up to values
// (tape.Program.SameStructure: the same ops with the same parameters and
// shapes, reading the same values) under the same limits: only the lumps'
// factorizations are redone. Newton's method, whose every iteration records
// the same program at a new point, uses it. Otherwise, or if prev has no
// plan (not prepared, or failed), it changes nothing. The plan keeps the
// program it was built on reachable while the new Linearization is: its
// structure alone once the Linearization that built it is Released.
func Reuse(prev *Linearization) Option {
	return func(l *Linearization) { l.reuse = prev }
}

// AsRecorded makes the Linearization analyze the program as f recorded
// it. By default a program whose samples are stored as rows (x of shape
// [B, d...]) and go through a row-batched product X·W is recorded again
// with every value's sample axis moved last (package batch), where the
// lump finder sees B per-sample blocks instead of one dense lump of width
// B·d; J and every product are the same.
func AsRecorded() Option {
	return func(l *Linearization) { l.asRecorded = true }
}

// MaxLumpBytes is the memory budget of one lump's factorization (default
// lump.DefaultMaxBytes, 1 GiB), estimated from shapes before anything is
// allocated, for every kind of lump: a batch's blocks, a dense block, a
// step's cached LU of a matrix factor W. A lump over it makes the inverse
// products return *lump.LumpTooLargeError naming its ops and the bytes. It
// panics if b is not positive.
func MaxLumpBytes(b int64) Option {
	if b <= 0 {
		panic(fmt.Sprintf("inverse: MaxLumpBytes(%d): the budget must be positive", b))
	}
	return func(l *Linearization) { l.maxBytes = b }
}

// Progress is what an OnProgress callback sees: the stage of the first
// inverse product's work ("analysis", then "factorization"), how much of
// it is done (lumps, for the factorization) and the time since it began.
type Progress struct {
	Stage       string
	Done, Total int
	Elapsed     time.Duration
}

// OnProgress makes the analysis and factorization behind the first inverse
// product (or Prepare, LogAbsDet, Lumps) call f as they go: at the start
// and end of the analysis and after factorized lumps, at most about ten
// times a second, and always at the end. f runs on the goroutine doing the
// work and should return quickly; cancel through Prepare's context.
func OnProgress(f func(Progress)) Option {
	return func(l *Linearization) { l.progress = f }
}

// Linearize records f at x. f must build its result from x with invad ops
// (package ops) and return a value with as many elements as x.
//
// Linearize panics if f or x is nil, or f returns nil or a value from another
// tape. It returns *SizeError if f(x) does not have x.Len() elements and
// *NonFiniteError if x or f(x) holds NaN or ±Inf (naming the first op whose
// value is non-finite).
func Linearize(f func(x *tape.Var) *tape.Var, x *tensor.Tensor, opts ...Option) (*Linearization, error) {
	if f == nil {
		panic("inverse: f is nil")
	}
	if x == nil {
		panic("inverse: Linearize with a nil x")
	}
	if bad, i := x.HasNonFinite(); bad {
		return nil, &NonFiniteError{Where: "input x", Pos: -1, Index: i, Value: x.Data()[i]}
	}
	l := &Linearization{x: x, n: x.Len()}
	for _, o := range opts {
		if o == nil {
			panic("inverse: a nil Option")
		}
		o(l)
	}
	var prog *tape.Program
	if !l.asRecorded {
		prog = recordMinor(f, x)
		l.minor = prog != nil
	}
	if prog == nil {
		tp := tape.NewTape()
		in := tp.Input(x)
		out := f(in)
		if err := checkOutput(tp, x, out); err != nil {
			return nil, err
		}
		prog = tp.Finish(in, out)
		if bad, _ := out.Value().HasNonFinite(); bad {
			return nil, tape.FirstNonFinite(prog, "")
		}
	}
	l.prog = prog
	l.vars = make([]*tape.Var, prog.NumVars)
	l.vars[prog.Input.ID()] = prog.Input
	for _, nd := range prog.Nodes {
		l.vars[nd.Out.ID()] = nd.Out
	}
	seen := map[*tape.Var]bool{}
	for _, nd := range prog.Nodes {
		for _, v := range nd.In {
			if v.IsConst() && !seen[v] {
				seen[v] = true
				l.consts = append(l.consts, v.Value().Data())
			}
		}
	}
	l.ad = adcore.New(prog, []*tape.Var{prog.Input})
	return l, nil
}

// LinearizeArg records f, a function of several inputs (package ad's
// form: a model's x and its parameters, say), at xs and linearizes it with
// respect to input i, the others held fixed as constants: the inverse
// products, log|det ∂f/∂xᵢ| and the lumps are those of xᵢ ↦ f(…, xᵢ, …).
// f(xs) must have as many elements as xs[i]. Gradients with respect to
// every input are package ad's. It panics as Linearize does, or if xs is
// empty, holds nil or i is out of range, and returns Linearize's errors.
func LinearizeArg(f func(xs ...*tape.Var) *tape.Var, xs []*tensor.Tensor, i int, opts ...Option) (*Linearization, error) {
	checkArgs("LinearizeArg", f, xs, i)
	return Linearize(argFunc(f, xs, i), xs[i], opts...)
}

// checkArgs panics unless f is set, i names one of xs and none is nil.
func checkArgs(name string, f func(xs ...*tape.Var) *tape.Var, xs []*tensor.Tensor, i int) {
	if f == nil {
		panic("inverse: f is nil")
	}
	if i < 0 || i >= len(xs) {
		panic(fmt.Sprintf("inverse: %s with respect to input %d of %d", name, i, len(xs)))
	}
	for j, x := range xs {
		if x == nil {
			panic(fmt.Sprintf("inverse: %s input %d is nil", name, j))
		}
	}
}

// argFunc is f as a function of input i alone, the others constants.
func argFunc(f func(xs ...*tape.Var) *tape.Var, xs []*tensor.Tensor, i int) func(x *tape.Var) *tape.Var {
	return func(x *tape.Var) *tape.Var {
		in := make([]*tape.Var, len(xs))
		for j, v := range xs {
			if j == i {
				in[j] = x
			} else {
				in[j] = ops.Const(x, v)
			}
		}
		return f(in...)
	}
}

// recordMinor returns f recorded at x batch-minor (package batch) where
// that pays, samples stored as rows through X·W (batch.Gains), else nil.
// It decides on a shape tape, which computes nothing, and records once:
// the batch-minor program, whose values are those of f. Where the shape
// run fails (f reads a varying value, or returns the wrong size) or the
// values are not finite, it returns nil, and Linearize records f as it is
// and reports the error there.
func recordMinor(f func(x *tape.Var) *tape.Var, x *tensor.Tensor) *tape.Program {
	sp, err := recordShapes(f, x)
	if err != nil || !batch.Gains(sp) {
		return nil
	}
	g, err := batch.MinorFunc(sp)
	if err != nil {
		return nil
	}
	tp := tape.NewTape()
	in := tp.Input(x)
	out := g(in)
	if bad, _ := out.Value().HasNonFinite(); bad {
		return nil
	}
	return tp.Finish(in, out)
}

// checkOutput panics if f returned nil or a value from another tape, and
// returns *SizeError if f(x) does not have x's number of elements.
func checkOutput(tp *tape.Tape, x *tensor.Tensor, out *tape.Var) error {
	if out == nil {
		panic("inverse: f returned nil")
	}
	if out.Tape() != tp {
		panic("inverse: f returned a value from another tape")
	}
	if out.Len() != x.Len() {
		return &SizeError{In: x.Shape(), Out: out.Shape()}
	}
	return nil
}

// Output returns f(x). It is the tape's value: do not modify it.
func (l *Linearization) Output() *tensor.Tensor { return l.prog.Output.Value() }

// Input returns x.
func (l *Linearization) Input() *tensor.Tensor { return l.x }

// Program returns the recorded program (pruned, with liveness), or the
// batch-minor program the Linearization analyzes in its place (see
// AsRecorded): the same function of x, whose tape positions the lump
// report and errors name.
func (l *Linearization) Program() *tape.Program { return l.prog }

// Len returns n, the number of elements of x and of f(x).
func (l *Linearization) Len() int { return l.n }

// TapeBytes returns the bytes of the values the Linearization holds.
func (l *Linearization) TapeBytes() int64 { return l.prog.Bytes() }

// Release drops what the Linearization holds for its own products: the
// values of its tape (x and f's constants are the caller's: only the
// references go), its lumps' factors and its JVP and VJP sweeps. It keeps
// what Reuse takes, the plan (the program's structure) and the idle
// product buffers, so that a Linearization of the same program at another
// point reuses them while this one's values are collected, and a plan that
// Linearizations after it share holds no values. Newton's method calls it
// on each iteration's Linearization before recording the next.
//
// Release is the one method that must not run concurrently with another
// on the same Linearization. Afterwards the Linearization serves only as
// Reuse's argument: Input and Output return nil, and a product, Prepare, LogAbsDet,
// Lumps or Cond panics. Releasing twice does nothing.
func (l *Linearization) Release() {
	l.invMu.Lock()
	defer l.invMu.Unlock()
	if l.released {
		return
	}
	l.released = true
	l.prog.ReleaseValues()
	if l.inv != nil {
		// The plan alone, no factors and no engine over the values; the
		// idle workspaces point to it instead of the Exec they served.
		l.inv = &cpuExec{P: l.inv.P}
		var idle []*sweep.Workspace[*tensor.Tensor]
		for {
			w, ok := l.invIdle.Get()
			if !ok {
				break
			}
			w.Adopt(l.inv)
			idle = append(idle, w)
		}
		for _, w := range idle {
			l.invIdle.Put(w)
		}
	}
	l.x, l.ad, l.vars, l.consts, l.reuse = nil, nil, nil, nil, nil
}

// live panics if the Linearization was released.
func (l *Linearization) live(name string) {
	if l.released {
		panic("inverse: " + name + " on a released Linearization")
	}
}

// checkArg panics on a shape mistake and reports a non-finite argument.
func (l *Linearization) checkArg(name string, v *tensor.Tensor, shape []int) error {
	return checkArg(name, v, shape)
}

// checkDst panics unless dst can take a product's result: not nil, shaped
// like shape, and sharing no memory with the argument, x or f(x).
func (l *Linearization) checkDst(name string, dst, arg *tensor.Tensor, shape []int) {
	l.live(name)
	checkDst(name, dst, arg, shape, l.x, l.prog.Output.Value(), l.consts)
}

// checkArg panics on a shape mistake and reports a non-finite argument.
func checkArg[T tensor.Float](name string, v *tensor.Dense[T], shape []int) error {
	if v == nil {
		panic("inverse: " + name + " with a nil argument")
	}
	if !tensor.SameShape(v.Shape(), shape) {
		panic(fmt.Sprintf("inverse: %s argument has shape %v, want %v", name, v.Shape(), shape))
	}
	if bad, i := v.HasNonFinite(); bad {
		return &NonFiniteError{Where: "argument of " + name, Pos: -1, Index: i, Value: float64(v.Data()[i])}
	}
	return nil
}

// checkDst panics unless dst can take a product's result: not nil, shaped
// like shape, and sharing no memory with arg, x, y = f(x) or a constant.
func checkDst[T tensor.Float](name string, dst, arg *tensor.Dense[T], shape []int, x, y *tensor.Dense[T], consts [][]float64) {
	if dst == nil {
		panic("inverse: " + name + " with a nil dst")
	}
	if !tensor.SameShape(dst.Shape(), shape) {
		panic(fmt.Sprintf("inverse: %s dst has shape %v, want %v", name, dst.Shape(), shape))
	}
	d := dst.Data()
	if (arg != nil && tensor.Overlap(d, arg.Data())) || tensor.Overlap(d, x.Data()) || tensor.Overlap(d, y.Data()) {
		panic("inverse: " + name + " dst shares memory with its argument, x or f(x)")
	}
	for _, c := range consts {
		if tensor.Overlap(d, c) {
			panic("inverse: " + name + " dst shares memory with a constant of f (ops.Const's data is not copied)")
		}
	}
}

// ---- ordinary modes ----

// JVP returns J·dx, dx shaped like x. It panics if dx has the wrong shape and
// returns *NonFiniteError if dx or the result holds NaN or ±Inf.
func (l *Linearization) JVP(dx *tensor.Tensor) (*tensor.Tensor, error) {
	res := tensor.Zeros(l.prog.Output.Shape()...)
	if err := l.JVPTo(res, dx); err != nil {
		return nil, err
	}
	return res, nil
}

// JVPTo writes J·dx into dst, shaped like f(x), and allocates nothing once
// its scratch buffers are pooled: the form for hot loops. Besides JVP's
// panics, it panics if dst is nil, has the wrong shape, or shares memory with
// dx, x or f(x). On an error dst's contents are unspecified.
func (l *Linearization) JVPTo(dst, dx *tensor.Tensor) error {
	l.checkDst("JVPTo", dst, dx, l.prog.Output.Shape())
	if err := l.checkArg("JVP", dx, l.x.Shape()); err != nil {
		return err
	}
	l.ad.JVPInto(dst, dx)
	return checkResult("JVP", dst)
}

// VJP returns Jᵀ·cy (the cotangent of x), cy shaped like f(x). It panics if
// cy has the wrong shape and returns *NonFiniteError for NaN or ±Inf.
func (l *Linearization) VJP(cy *tensor.Tensor) (*tensor.Tensor, error) {
	res := tensor.Zeros(l.prog.Input.Shape()...)
	if err := l.VJPTo(res, cy); err != nil {
		return nil, err
	}
	return res, nil
}

// VJPTo writes Jᵀ·cy into dst, shaped like x; panics and errors as for
// JVPTo.
func (l *Linearization) VJPTo(dst, cy *tensor.Tensor) error {
	l.live("VJPTo")
	l.checkDst("VJPTo", dst, cy, l.x.Shape())
	if err := l.checkArg("VJP", cy, l.prog.Output.Shape()); err != nil {
		return err
	}
	l.ad.VJPInto([]*tensor.Tensor{dst}, cy)
	return checkResult("VJP", dst)
}

// MaxDenseElements bounds the dense matrices Jacobian and JacobianRev will
// build: 2³⁰ float64 elements, 8 GiB. Past it they return ErrTooLarge
// instead of trying to allocate.
var MaxDenseElements int64 = 1 << 30

// Jacobian returns the dense n×n Jacobian (row i = output i), built from n
// JVPs with unit tangents, in parallel. It needs n² numbers of memory and
// returns ErrTooLarge past MaxDenseElements.
func (l *Linearization) Jacobian() (*tensor.Tensor, error) {
	return l.dense(true)
}

// JacobianRev returns the same dense Jacobian built from n VJPs.
func (l *Linearization) JacobianRev() (*tensor.Tensor, error) {
	return l.dense(false)
}

func (l *Linearization) dense(fwd bool) (*tensor.Tensor, error) {
	l.live("Jacobian")
	if err := checkDense(l.n, 8, "Jacobian"); err != nil {
		return nil, err
	}
	J := l.ad.Dense(0, fwd)
	return J, checkResult("Jacobian", J)
}

// checkDense returns ErrTooLarge for a dense n×n matrix (what) over
// MaxDenseElements, of elements of size bytes.
func checkDense(n, size int, what string) error {
	if int64(n)*int64(n) > MaxDenseElements {
		return fmt.Errorf("inverse: a dense %d×%d %s needs %.3g GB, over the MaxDenseElements limit of %d elements: %w",
			n, n, what, float64(n)*float64(n)*float64(size)/1e9, MaxDenseElements, ErrTooLarge)
	}
	return nil
}

// ---- inverse products ----

// cpuExec is the sweep executor on the CPU engine.
type cpuExec = sweep.Exec[*tensor.Tensor]

// prepare analyzes the program, compiles its plan and factorizes every
// lump, once.
func (l *Linearization) prepare() (*cpuExec, error) { return l.prepareContext(context.Background()) }

// Prepare analyzes the program and factorizes its lumps now, the work the
// first inverse product (IJVP, VIJP, LogAbsDet, Lumps, Cond,
// InverseJacobian) would otherwise do, and returns that product's errors.
// It stops soon after ctx is done and returns ctx.Err(): the analysis checks
// ctx as it goes, the factorization before each lump. A cancelled Prepare
// leaves nothing behind, and the next call or product starts over; once the
// work is done, later calls return at once.
func (l *Linearization) Prepare(ctx context.Context) error {
	if ctx == nil {
		panic("inverse: Prepare with a nil context")
	}
	_, err := l.prepareContext(ctx)
	return err
}

func (l *Linearization) prepareContext(ctx context.Context) (*cpuExec, error) {
	l.invMu.Lock()
	defer l.invMu.Unlock()
	l.live("an inverse product")
	if l.invDone {
		return l.inv, l.invErr
	}
	engine := sweep.Engine[*tensor.Tensor](newCPUEngine(l.prog))
	var x *cpuExec
	var err error
	if prev := l.reusableExec(); prev != nil {
		x = sweep.New(prev.P, engine)
		if pf := l.progressFunc(); pf != nil {
			x.Progress = func(done, total int) { pf("factorization", done, total) }
		}
		// Take the previous Linearization's idle sweep buffers: the
		// factorization takes its scratch from one, and a Newton iteration
		// then allocates no new product buffers.
		var idle []*sweep.Workspace[*tensor.Tensor]
		for {
			w, ok := l.reuse.invIdle.Get()
			if !ok {
				break
			}
			if w.Adopt(x) {
				idle = append(idle, w)
			}
		}
		if len(idle) > 0 {
			err = x.FactorizeWith(ctx, idle[0])
		} else {
			err = x.FactorizeContext(ctx)
		}
		x.Progress = nil
		for _, w := range idle {
			if err == nil {
				l.putInvWS(w)
			} else if w.Adopt(prev) { // back, for the next try
				l.reuse.invIdle.Put(w)
			}
		}
	} else {
		x, err = sweep.BuildProgress(ctx, l.prog, lump.Limits{Width: l.maxWidth, Bytes: l.maxBytes}, engine, l.progressFunc())
	}
	if sweep.Cancelled(ctx, err) {
		return nil, err // not final
	}
	l.invDone, l.reuse = true, nil
	if err != nil {
		l.invErr = err
		return nil, err
	}
	l.inv = x
	return x, nil
}

// progressFunc adapts OnProgress's callback to the sweep's, with the
// elapsed time and at most ten calls a second (the first and last of each
// stage always); nil without one.
func (l *Linearization) progressFunc() func(stage string, done, total int) {
	if l.progress == nil {
		return nil
	}
	t0 := time.Now()
	var last time.Time
	return func(stage string, done, total int) {
		now := time.Now()
		if done > 0 && done < total && now.Sub(last) < 100*time.Millisecond {
			return
		}
		last = now
		l.progress(Progress{Stage: stage, Done: done, Total: total, Elapsed: now.Sub(t0)})
	}
}

// reusableExec returns Reuse's Exec if its plan fits this program and
// limits.
func (l *Linearization) reusableExec() *cpuExec {
	p := l.reuse
	if p == nil || p == l || p.maxWidth != l.maxWidth || p.maxBytes != l.maxBytes {
		return nil
	}
	p.invMu.Lock()
	x := p.inv
	p.invMu.Unlock()
	if x == nil || !x.P.An.Prog.SameStructure(l.prog) {
		return nil
	}
	return x
}

func (l *Linearization) getInvWS(x *cpuExec) *sweep.Workspace[*tensor.Tensor] {
	w, ok := l.invIdle.Get()
	if !ok {
		w = x.NewWorkspace()
	}
	return w
}

func (l *Linearization) putInvWS(w *sweep.Workspace[*tensor.Tensor]) { l.invIdle.Put(w) }

// IJVP solves J·dx = dy for dx (dy shaped like f(x)) by a reverse sweep over
// the program's lumps. The first inverse product analyzes the program and
// factorizes its lumps; every later one reuses them.
//
// It panics if dy has the wrong shape. It returns
// *lump.StructurallySingularError when J is singular whatever its values
// (the width of the program drops below n), *tape.SingularError or
// *lump.SingularBlockError (both errors.Is(err, tape.ErrSingular)) for a
// numerically singular lump, *lump.LumpTooLargeError for a dense lump over
// the width limit, and *NonFiniteError for NaN or ±Inf in dy or the result.
func (l *Linearization) IJVP(dy *tensor.Tensor) (*tensor.Tensor, error) {
	res := tensor.Zeros(l.prog.Input.Shape()...)
	if err := l.IJVPTo(res, dy); err != nil {
		return nil, err
	}
	return res, nil
}

// IJVPTo writes J⁻¹·dy into dst, shaped like x, and allocates nothing once
// the lumps are factorized and its scratch buffers pooled: the form for a
// Newton loop. Besides IJVP's panics and errors, it panics if dst is nil, has
// the wrong shape, or shares memory with dy, x or f(x). On an error dst's
// contents are unspecified.
func (l *Linearization) IJVPTo(dst, dy *tensor.Tensor) error {
	l.live("IJVPTo")
	l.checkDst("IJVPTo", dst, dy, l.x.Shape())
	if err := l.checkArg("IJVP", dy, l.prog.Output.Shape()); err != nil {
		return err
	}
	s, err := l.prepare()
	if err != nil {
		return err
	}
	w := l.getInvWS(s)
	err = s.IJVP(w, dst, dy)
	if err == nil && l.refine > 0 {
		err = l.refineSolve(w, dst, dy, true)
	}
	l.putInvWS(w)
	if err != nil {
		return err
	}
	return checkResult("IJVP", dst)
}

// refineSolve takes l.refine steps of iterative refinement of the solution
// x of J x = b (IJVP, trans false: r = b − J x by a JVP) or Jᵀ x = b (VIJP:
// r = b − Jᵀ x by a VJP), each adding the inverse product of r to x. It
// stops early when the residual is zero.
func (l *Linearization) refineSolve(w *sweep.Workspace[*tensor.Tensor], x, b *tensor.Tensor, ijvp bool) error {
	return refine(l.refine, l.ad, l.inv, w, x, b, ijvp)
}

// refine takes steps of iterative refinement of the float64 solution x of
// J x = b (ijvp; else Jᵀ x = b): each step's residual r = b − J x (or
// b − Jᵀ x) by a float64 JVP (VJP) of ad, rounded to the executor's
// element type T, its correction by s's inverse product (IJVP or VIJP) in
// T, added to x in float64. It stops early when the residual is zero. With
// T float64 it is plain iterative refinement; with float32 it is mixed
// precision.
func refine[T tensor.Float](steps int, ad *adcore.Sweeps, s *sweep.Exec[*tensor.Dense[T]], w *sweep.Workspace[*tensor.Dense[T]], x, b *tensor.Tensor, ijvp bool) error {
	r64 := tensor.Zeros(b.Shape()...)
	r, ok := any(r64).(*tensor.Dense[T]) // float64: the residual in place
	if !ok {
		r = tensor.ZerosOf[T](b.Shape()...)
	}
	c := tensor.ZerosOf[T](x.Shape()...)
	for range steps {
		if ijvp {
			ad.JVPInto(r64, x)
		} else {
			ad.VJPInto([]*tensor.Tensor{r64}, x)
		}
		zero := true
		rd := r.Data()
		for i, v := range b.Data() {
			d := v - r64.Data()[i]
			rd[i] = T(d)
			zero = zero && d == 0
		}
		if zero {
			return nil
		}
		var err error
		if ijvp {
			err = s.IJVP(w, c, r)
		} else {
			err = s.VIJP(w, c, r)
		}
		if err != nil {
			return err
		}
		if c64, ok := any(c.Data()).([]float64); ok {
			vaxpy(x.Data(), 1, c64)
			continue
		}
		xd := x.Data()
		for i, v := range c.Data() {
			xd[i] += float64(v)
		}
	}
	return nil
}

// VIJP solves Jᵀ·cy = cx for cy (cx shaped like x, cy like f(x)) by a
// forward sweep over the lumps: cy = cxᵀ·J⁻¹ written as a column. Panics and
// errors as for IJVP.
func (l *Linearization) VIJP(cx *tensor.Tensor) (*tensor.Tensor, error) {
	res := tensor.Zeros(l.prog.Output.Shape()...)
	if err := l.VIJPTo(res, cx); err != nil {
		return nil, err
	}
	return res, nil
}

// VIJPTo writes J⁻ᵀ·cx into dst, shaped like f(x); panics and errors as
// for IJVPTo.
func (l *Linearization) VIJPTo(dst, cx *tensor.Tensor) error {
	l.checkDst("VIJPTo", dst, cx, l.prog.Output.Shape())
	if err := l.checkArg("VIJP", cx, l.x.Shape()); err != nil {
		return err
	}
	s, err := l.prepare()
	if err != nil {
		return err
	}
	w := l.getInvWS(s)
	err = s.VIJP(w, dst, cx)
	if err == nil && l.refine > 0 {
		err = l.refineSolve(w, dst, cx, false)
	}
	l.putInvWS(w)
	if err != nil {
		return err
	}
	return checkResult("VIJP", dst)
}

// LogAbsDetAlong returns one log|det| per index of axis of x (per sample of
// a batch along it): J is then block diagonal over those indices, and entry
// i is log|det| of sample i's block, the sum of the log|det| of sample i's
// blocks of every lump, read from the lumps' factorizations. Their sum is
// LogAbsDet. The axis must be x's first (samples stored as rows) or last
// (samples innermost, as in a feature-major [d, B] program); a value the
// lumps read must hold the samples along the same axis.
//
// It panics if axis is not an axis of x. It returns *CouplingError
// (ErrCouplesSamples) naming the first lump that couples two samples, and
// the errors of LogAbsDet.
func (l *Linearization) LogAbsDetAlong(axis int) (*tensor.Tensor, error) {
	b, group, err := l.samples(axis)
	if err != nil {
		return nil, err
	}
	s, err := l.prepare()
	if err != nil {
		return nil, err
	}
	return sampleLogDets(s, axis, b, group)
}

// sampleLogDets returns the log|det| of each of b samples (grouped by
// group, along axis) summed over x's factorized lumps, or a *CouplingError
// naming the first lump that couples two samples.
func sampleLogDets[V comparable](x *sweep.Exec[V], axis, b int, group func(v, off int, dst []int) bool) (*tensor.Tensor, error) {
	out := tensor.Zeros(b)
	if li := x.LogAbsDetParts(out.Data(), group); li >= 0 {
		return nil, &CouplingError{Axis: axis, Lump: li, Ops: x.P.An.LumpOps(li)}
	}
	return out, nil
}

// samples returns the number of samples along axis of x and the grouping
// of the program's elements into them that LogAbsDetAlong hands to the
// executor; it panics and errs as LogAbsDetAlong does on a bad axis.
func (l *Linearization) samples(axis int) (int, func(v, off int, dst []int) bool, error) {
	xs := l.prog.Input.Shape()
	if axis < 0 || axis >= len(xs) {
		panic(fmt.Sprintf("inverse: LogAbsDetAlong(%d): x has shape %v", axis, xs))
	}
	if axis != 0 && axis != len(xs)-1 {
		return 0, nil, fmt.Errorf("inverse: LogAbsDetAlong(%d): the samples must lie along the first or last axis of x (shape %v)", axis, xs)
	}
	b := xs[axis]
	p := l.prog
	leading := map[int]bool{}
	trailing := axis == len(xs)-1 && axis > 0
	if l.minor {
		// x and y hold the samples as rows, the values between last.
		y := p.Output
		for y.Node() != nil {
			if _, ok := y.Node().Op.(*ops.ReshapeOp); !ok {
				break
			}
			y = y.Node().In[0]
		}
		leading[p.Input.ID()], leading[y.ID()] = true, true
		trailing = true
	}
	// Element off of value v is in sample (off / div[v]) % b: div is the
	// length of a sample's row where v holds the samples along its first
	// axis, 1 where along its last; 0 where along neither.
	div := make([]int, len(l.vars))
	for v, val := range l.vars {
		if val == nil {
			continue
		}
		sh := val.Shape()
		switch {
		case len(sh) == 0:
		case leading[v] || !trailing:
			if sh[0] == b {
				div[v] = val.Len() / b
			}
		case sh[len(sh)-1] == b:
			div[v] = 1
		}
	}
	group := func(v, off int, dst []int) bool {
		d := div[v]
		if d == 0 {
			return false
		}
		// Counters instead of a division per element: element off+j is in
		// row q = (off+j)/d, at r within it; its sample is q mod b.
		q, r := off/d, off%d
		qm := q % b
		for j := range dst {
			dst[j] = qm
			if r++; r == d {
				r = 0
				if qm++; qm == b {
					qm = 0
				}
			}
		}
		return true
	}
	return b, group, nil
}

// LogAbsDet returns log|det J|, the sum of log|det A| over the lumps. Errors
// as for IJVP.
func (l *Linearization) LogAbsDet() (float64, error) {
	s, err := l.prepare()
	if err != nil {
		return math.NaN(), err
	}
	return s.LogDet, nil
}

// InverseJacobian returns the dense J⁻¹ (row i = input i), built from n
// IJVPs with unit vectors. Errors as for IJVP, and ErrTooLarge past
// MaxDenseElements.
func (l *Linearization) InverseJacobian() (*tensor.Tensor, error) {
	if err := checkDense(l.n, 8, "inverse Jacobian"); err != nil {
		return nil, err
	}
	s, err := l.prepare()
	if err != nil {
		return nil, err
	}
	K := denseInverse(s, &l.invIdle, l.n, l.x.Shape(), l.prog.Output.Shape())
	return K, checkResult("InverseJacobian", K)
}

// denseInverse builds the dense J⁻¹ (row i = input i) of an executor from
// n IJVPs with unit vectors, split over the cores, each taking a workspace
// from idle.
func denseInverse[T tensor.Float](s *sweep.Exec[*tensor.Dense[T]], idle *adcore.Idle[*sweep.Workspace[*tensor.Dense[T]]], n int, inShape, outShape []int) *tensor.Dense[T] {
	K := tensor.ZerosOf[T](n, n)
	kd := K.Data()
	adcore.ParallelCols(n, func(lo, hi int) {
		w, ok := idle.Get()
		if !ok {
			w = s.NewWorkspace()
		}
		defer idle.Put(w)
		e := tensor.ZerosOf[T](outShape...)
		r := tensor.ZerosOf[T](inShape...)
		for c := lo; c < hi; c++ {
			e.Data()[c] = 1
			s.IJVP(w, r, e) // the CPU engines and their factors do not fail
			for i, v := range r.Data() {
				kd[i*n+c] = v
			}
			e.Data()[c] = 0
		}
	})
	return K
}

// Cond estimates the 1-norm condition number κ₁(J) = ‖J‖₁·‖J⁻¹‖₁ of the
// whole Jacobian from the products alone (sweep.NormEst1: Hager's and
// Higham's estimator, as LAPACK's dgecon, about five JVP/VJP pairs and
// five IJVP/VIJP pairs): a lower bound, usually within a factor 3.
// Per-lump checks cannot see ill-conditioning spread over several lumps
// (three well-conditioned 2×2 products of κ₂ 2.9e16 together, say); Cond
// can. As a rule, IJVP and VIJP lose about log₁₀ κ digits of the 16 of
// float64: above 1e12 expect at most 4 correct digits, and above 1/ε ≈
// 4.5e15 none. Errors are IJVP's.
func (l *Linearization) Cond() (float64, error) {
	if _, err := l.prepare(); err != nil {
		return math.NaN(), err
	}
	return sweep.Cond1(l.n, l.x.Shape(), l.prog.Output.Shape(), l.JVPTo, l.VJPTo, l.IJVPTo, l.VIJPTo)
}

// checkResult reports a non-finite product.
func checkResult(name string, r *tensor.Tensor) error { return tape.CheckFinite("", name, r) }
