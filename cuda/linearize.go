package cuda

import (
	"context"
	"fmt"
	"sync"

	"github.com/invad/invad/batch"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/sweep"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Linearization is a program recorded at a point with its values in device
// memory: the CUDA counterpart of inverse.Linearization. Linearize records
// the program's ops on a shape tape (no host arithmetic), uploads x and the
// constants, and runs every op's forward kernel on the device; the products
// then run the ops' JVP, VJP and inverse rules there too. The host sees a
// vector only at the API: the arguments uploaded, the results downloaded
// (the ...Device forms take and return device tensors and copy nothing).
//
// Every op of package ops has device rules, and the inverse products
// (IJVP, VIJP, LogAbsDet) run every lump kind of package lump on the
// device: steps with the op's own factor (division by the derivative,
// cumsum's differences, products with W⁻¹), copies, expansions, batch
// lumps with the batched LU, dense lumps built on the device and
// LU-factorized on the host once (they are at most lump.DefaultMaxWidth
// wide). The factorization happens on the first inverse product and copies
// to the host only scalars (each factor's log|det| and the first entry or
// block it refuses, for the CPU backend's errors), a dense lump's block and
// a non-constant W.
//
// Its methods serialize: products run one at a time, in the Backend's
// stream. Close frees its device memory.
type Linearization struct {
	be   *Backend
	prog *tape.Program
	x    *tensor.Tensor
	y    *tensor.Tensor // f(x), downloaded once
	n    int
	ops  []devOp              // per node
	val  []*Tensor            // per var id: the value on the device (views for Reshape and Slice)
	own  []*Tensor            // what Close frees
	mu   sync.Mutex           // one product at a time
	inv  *sweep.Exec[*Tensor] // the plan and the lumps' factors, built on first use
	ierr error                // the error building inv
	done bool                 // inv built (or failed)
	shut bool                 // closed

	refine     int        // iterative refinement steps of the inverse products
	asRecorded bool       // AsRecorded: no batch-minor recording
	rscr       [3]*Tensor // their scratch (residual, correction, |r|'s sum), on first use
}

// Option configures Linearize.
type Option func(*Linearization)

// Refine makes IJVP and VIJP (the ...To and ...Device forms too) take k
// steps of iterative refinement on the device, as inverse.Refine does on
// the CPU: the residual b − J x by one device JVP (VJP for VIJP), corrected
// by one more inverse product, each step; a residual of exactly zero ends
// them early (the test copies one scalar, Σ|r|, to the host). It brings the
// products close to a pivoted dense LU's accuracy on ill-conditioned
// programs, at about 2k more products' cost, and takes two vectors and a
// scalar of scratch device memory per Linearization, on its first refined
// product, freed by Close (see TestRefine). It panics if k is negative.
func Refine(k int) Option {
	if k < 0 {
		panic(fmt.Sprintf("cuda: Refine(%d): the number of steps must not be negative", k))
	}
	return func(l *Linearization) { l.refine = k }
}

// AsRecorded keeps the program as f records it. By default a batch stored
// as rows (x of shape [B, d...]) going through a row-batched X·W is
// recorded with the samples innermost, as inverse.Linearize does (package
// batch), so that its lumps are per sample.
func AsRecorded() Option {
	return func(l *Linearization) { l.asRecorded = true }
}

// Linearize records f at x and runs it on the backend's device. f must build
// its result from x with the ops of package ops, and must not read values
// while it records (Var.Value is nil for every value that depends on x: the
// program is recorded on a shape tape, tape.NewShapeTape, and its values
// exist only on the device), so its structure cannot depend on x. It panics as
// inverse.Linearize does (nil x, f returning nil or a value from another
// tape) and returns the same errors: *tape.SizeError, and
// *tape.NonFiniteError for NaN or ±Inf in x or f(x), naming the first op
// whose value is not finite; *UnsupportedError for an op without device
// kernels; driver errors. The options (Refine) configure the inverse
// products.
func Linearize(be *Backend, f func(x *tape.Var) *tape.Var, x *tensor.Tensor, opts ...Option) (*Linearization, error) {
	if be == nil {
		panic("cuda: Linearize with a nil Backend")
	}
	if f == nil {
		panic("cuda: f is nil")
	}
	if x == nil {
		panic("cuda: Linearize with a nil x")
	}
	if bad, i := x.HasNonFinite(); bad {
		return nil, &tape.NonFiniteError{Where: "input x", Pos: -1, Index: i, Value: x.Data()[i]}
	}
	var cfg Linearization
	for _, o := range opts {
		o(&cfg)
	}
	l, err := record(be, f, x, !cfg.asRecorded)
	if err != nil {
		return nil, err
	}
	if bad, _ := l.y.HasNonFinite(); bad {
		err := l.firstNonFinite()
		l.Close()
		return nil, err
	}
	for _, o := range opts {
		o(l)
	}
	return l, nil
}

// Eval returns f(x) computed on the backend's device: the primal alone, for
// a line search or a forward pass. Unlike Linearize it accepts NaN and ±Inf
// (they come back in the result); it panics and errors as Linearize does
// otherwise, and frees its device memory before returning.
func Eval(be *Backend, f func(x *tape.Var) *tape.Var, x *tensor.Tensor) (*tensor.Tensor, error) {
	if be == nil || x == nil {
		panic("cuda: Eval with a nil Backend or x")
	}
	l, err := record(be, f, x, false) // the primal alone: no analysis follows
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return l.y, nil
}

// record records f at x on a shape tape and runs it on the device.
func record(be *Backend, f func(x *tape.Var) *tape.Var, x *tensor.Tensor, minor bool) (*Linearization, error) {
	tp := tape.NewShapeTape()
	in := tp.Input(x)
	out := f(in)
	if out == nil {
		panic("cuda: f returned nil")
	}
	if out.Tape() != tp {
		panic("cuda: f returned a value from another tape")
	}
	if out.Len() != x.Len() {
		return nil, &tape.SizeError{In: x.Shape(), Out: out.Shape()}
	}
	prog := tp.Finish(in, out)
	if minor && batch.Gains(prog) {
		// Samples stored as rows through X·W: record them innermost.
		if g, err := batch.MinorFunc(prog); err == nil {
			tp = tape.NewShapeTape()
			in = tp.Input(x)
			out = g(in)
			prog = tp.Finish(in, out)
		}
	}
	l := &Linearization{be: be, prog: prog, x: x, n: x.Len(), val: make([]*Tensor, prog.NumVars), ops: make([]devOp, len(prog.Nodes))}
	for i, nd := range prog.Nodes {
		o, err := deviceOp(nd)
		if err != nil {
			return nil, err
		}
		l.ops[i] = o
	}
	e := &seq{b: be}
	l.val[in.ID()] = l.keep(e.upload(x.Data(), x.Shape()...))
	for i, nd := range prog.Nodes {
		ins := l.values(e, nd.In)
		if e.err != nil {
			break
		}
		o := l.ops[i]
		if o.isView() {
			l.val[nd.Out.ID()] = o.view(ins[0], nd.Out.Shape())
			continue
		}
		v := l.keep(e.alloc(nd.Out.Shape()...))
		l.val[nd.Out.ID()] = v
		e.forward(o, v, ins)
	}
	if e.err == nil {
		l.y = tensor.New(out.Shape(), e.download(l.val[out.ID()]))
	}
	if e.err != nil {
		l.Close()
		return nil, e.err
	}
	return l, nil
}

func (l *Linearization) keep(t *Tensor) *Tensor {
	if t != nil {
		l.own = append(l.own, t)
	}
	return t
}

// values returns the device values of vs, uploading constants on first use.
func (l *Linearization) values(e *seq, vs []*tape.Var) []*Tensor {
	out := make([]*Tensor, len(vs))
	for i, v := range vs {
		if l.val[v.ID()] == nil && v.IsConst() {
			l.val[v.ID()] = l.keep(e.upload(v.Value().Data(), v.Shape()...))
		}
		out[i] = l.val[v.ID()]
	}
	return out
}

// firstNonFinite names the first op whose value holds NaN or ±Inf, copying
// the values back one by one (an error path).
func (l *Linearization) firstNonFinite() error {
	e := &seq{b: l.be}
	for _, nd := range l.prog.Nodes {
		v := tensor.New(nd.Out.Shape(), e.download(l.val[nd.Out.ID()]))
		if e.err != nil {
			return e.err
		}
		if bad, i := v.HasNonFinite(); bad {
			return &tape.NonFiniteError{Where: "value of an op", Op: nd.Op.Name(), Pos: nd.Pos, Index: i, Value: v.Data()[i]}
		}
	}
	_, i := l.y.HasNonFinite()
	return &tape.NonFiniteError{Where: "output", Pos: -1, Index: i, Value: l.y.Data()[i]}
}

// Close frees the Linearization's device memory. It must not be used
// afterwards; closing twice does nothing.
func (l *Linearization) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.shut {
		return
	}
	l.shut = true
	freeAll(l.own...)
	freeAll(l.rscr[:]...)
	if l.inv != nil {
		l.inv.FreeFactors()
	}
	l.own, l.inv, l.val, l.rscr = nil, nil, nil, [3]*Tensor{}
}

// Output returns f(x), copied from the device once by Linearize: do not
// modify it.
func (l *Linearization) Output() *tensor.Tensor { return l.y }

// OutputDevice returns f(x) on the device: do not modify or free it.
func (l *Linearization) OutputDevice() *Tensor {
	l.enter("OutputDevice")
	defer l.mu.Unlock()
	return l.val[l.prog.Output.ID()]
}

// Input returns x.
func (l *Linearization) Input() *tensor.Tensor { return l.x }

// Len returns n, the number of elements of x and of f(x).
func (l *Linearization) Len() int { return l.n }

// Program returns the recorded program.
func (l *Linearization) Program() *tape.Program { return l.prog }

// Backend returns the Backend the values live on.
func (l *Linearization) Backend() *Backend { return l.be }

// TapeBytes returns the bytes of device memory the values take.
func (l *Linearization) TapeBytes() int64 {
	var b int64
	for _, t := range l.own {
		b += 8 * int64(t.Len())
	}
	return b
}

func (l *Linearization) enter(name string) {
	l.mu.Lock()
	if l.shut {
		l.mu.Unlock()
		panic("cuda: " + name + " on a closed Linearization")
	}
}

// ---- host forms ----

// product runs a device product on a host argument: it checks the argument
// as inverse does (a shape mistake panics, NaN or ±Inf is
// *tape.NonFiniteError), uploads it, runs dev and downloads the result
// into dst (a new tensor when dst is nil).
func (l *Linearization) product(name string, dst, arg *tensor.Tensor, argShape, resShape []int, dev func(res, arg *Tensor) error) (*tensor.Tensor, error) {
	if arg == nil {
		panic("cuda: " + name + " with a nil argument")
	}
	if !tensor.SameShape(arg.Shape(), argShape) {
		panic(fmt.Sprintf("cuda: %s argument has shape %v, want %v", name, arg.Shape(), argShape))
	}
	if dst != nil && !tensor.SameShape(dst.Shape(), resShape) {
		panic(fmt.Sprintf("cuda: %s dst has shape %v, want %v", name, dst.Shape(), resShape))
	}
	if bad, i := arg.HasNonFinite(); bad {
		return nil, &tape.NonFiniteError{Where: "argument of " + name, Pos: -1, Index: i, Value: arg.Data()[i]}
	}
	l.enter(name) // panics on a closed Linearization before anything is uploaded
	l.mu.Unlock()
	e := &seq{b: l.be}
	a := e.upload(arg.Data(), argShape...)
	r := e.alloc(resShape...)
	e.run(func() error { return dev(r, a) })
	if dst == nil {
		dst = tensor.Zeros(resShape...)
	}
	if e.err == nil {
		e.ok(r.Download(dst.Data()))
	}
	e.free(a, r)
	if e.err != nil {
		return nil, e.err
	}
	if bad, i := dst.HasNonFinite(); bad {
		return nil, &tape.NonFiniteError{Where: "result of " + name, Pos: -1, Index: i, Value: dst.Data()[i]}
	}
	return dst, nil
}

func (l *Linearization) xShape() []int { return l.prog.Input.Shape() }
func (l *Linearization) yShape() []int { return l.prog.Output.Shape() }

// JVP returns J·dx, dx shaped like x; errors as inverse's.
func (l *Linearization) JVP(dx *tensor.Tensor) (*tensor.Tensor, error) {
	return l.product("JVP", nil, dx, l.xShape(), l.yShape(), l.JVPDevice)
}

// JVPTo writes J·dx into dst, shaped like f(x).
func (l *Linearization) JVPTo(dst, dx *tensor.Tensor) error {
	_, err := l.product("JVP", dst, dx, l.xShape(), l.yShape(), l.JVPDevice)
	return err
}

// VJP returns Jᵀ·cy, cy shaped like f(x).
func (l *Linearization) VJP(cy *tensor.Tensor) (*tensor.Tensor, error) {
	return l.product("VJP", nil, cy, l.yShape(), l.xShape(), l.VJPDevice)
}

// VJPTo writes Jᵀ·cy into dst, shaped like x.
func (l *Linearization) VJPTo(dst, cy *tensor.Tensor) error {
	_, err := l.product("VJP", dst, cy, l.yShape(), l.xShape(), l.VJPDevice)
	return err
}

// IJVP returns J⁻¹·dy, dy shaped like f(x), by a reverse sweep over the
// lumps on the device.
func (l *Linearization) IJVP(dy *tensor.Tensor) (*tensor.Tensor, error) {
	return l.product("IJVP", nil, dy, l.yShape(), l.xShape(), l.IJVPDevice)
}

// IJVPTo writes J⁻¹·dy into dst, shaped like x.
func (l *Linearization) IJVPTo(dst, dy *tensor.Tensor) error {
	_, err := l.product("IJVP", dst, dy, l.yShape(), l.xShape(), l.IJVPDevice)
	return err
}

// VIJP returns J⁻ᵀ·cx, cx shaped like x, by a forward sweep over the lumps
// on the device.
func (l *Linearization) VIJP(cx *tensor.Tensor) (*tensor.Tensor, error) {
	return l.product("VIJP", nil, cx, l.xShape(), l.yShape(), l.VIJPDevice)
}

// VIJPTo writes J⁻ᵀ·cx into dst, shaped like f(x).
func (l *Linearization) VIJPTo(dst, cx *tensor.Tensor) error {
	_, err := l.product("VIJP", dst, cx, l.xShape(), l.yShape(), l.VIJPDevice)
	return err
}

// ---- ordinary modes on the device ----

func checkDev(name string, dst, arg *Tensor, dn, an int) {
	if dst == nil || arg == nil {
		panic("cuda: " + name + " with a nil tensor")
	}
	mustLen(name+" dst", dst, dn)
	mustLen(name+" argument", arg, an)
	if dst.ptr == arg.ptr && dn > 0 {
		panic("cuda: " + name + " dst is its argument")
	}
}

// JVPDevice writes J·dx into dst (device tensors of n elements, not the
// same memory) by a forward sweep on the device. A value's tangent is freed
// after the last op that reads it (a Reshape or Slice view's after its
// last reader too), so the sweep holds the live tangents only.
func (l *Linearization) JVPDevice(dst, dx *Tensor) error {
	checkDev("JVP", dst, dx, l.n, l.n)
	l.enter("JVP")
	defer l.mu.Unlock()
	return l.jvp(dst, dx)
}

// jvp is JVPDevice's sweep; the caller holds l.mu.
func (l *Linearization) jvp(dst, dx *Tensor) error {
	e := &seq{b: l.be}
	nodes := l.prog.Nodes
	t := make([]*Tensor, l.prog.NumVars)
	own := make([]*Tensor, l.prog.NumVars) // the buffer t[id] lives in; nil for dx
	last := map[*Tensor]int{}              // a buffer's last reading node
	lastUse := func(id int) int {
		if id == l.prog.Output.ID() {
			return len(nodes) // the result: kept to the end
		}
		return l.prog.LastUse[id]
	}
	var left []*Tensor // buffers still held at the end
	t[l.prog.Input.ID()] = dx.View(0, l.xShape()...)
	for i, nd := range nodes {
		ts := make([]*Tensor, len(nd.In))
		any := false
		for j, v := range nd.In {
			ts[j] = t[v.ID()]
			any = any || ts[j] != nil
		}
		if any {
			out := nd.Out.ID()
			if o := l.ops[i]; o.isView() {
				t[out] = o.view(ts[0], nd.Out.Shape())
				if r := own[nd.In[0].ID()]; r != nil {
					own[out] = r
					last[r] = max(last[r], lastUse(out), i)
				}
			} else {
				r := e.alloc(nd.Out.Shape()...)
				if e.err != nil {
					break
				}
				e.jvp(o, r, l.values(e, nd.In), l.val[out], ts)
				t[out], own[out] = r, r
				last[r] = max(lastUse(out), i)
				left = append(left, r)
			}
		}
		for _, v := range nd.In {
			if r := own[v.ID()]; r != nil && last[r] == i && r.be != nil {
				r.Free()
			}
		}
	}
	if r := t[l.prog.Output.ID()]; r != nil {
		e.copy(dst, r.View(0))
	} else {
		e.zero(dst)
	}
	for _, r := range left {
		if r.be != nil {
			r.Free()
		}
	}
	return e.err
}

// VJPDevice writes Jᵀ·cy into dst by a reverse sweep on the device.
func (l *Linearization) VJPDevice(dst, cy *Tensor) error {
	checkDev("VJP", dst, cy, l.n, l.n)
	l.enter("VJP")
	defer l.mu.Unlock()
	return l.vjp(dst, cy)
}

// vjp is VJPDevice's sweep; the caller holds l.mu.
func (l *Linearization) vjp(dst, cy *Tensor) error {
	e := &seq{b: l.be}
	g := make([]*Tensor, l.prog.NumVars)
	grad := func(v *tape.Var) *Tensor {
		if g[v.ID()] == nil {
			// A view's cotangent is a view of its base's: Reshape and
			// Slice add into the base's range themselves, so every value
			// gets its own buffer here.
			g[v.ID()] = e.zeros(v.Shape()...)
		}
		return g[v.ID()]
	}
	in, out := l.prog.Input, l.prog.Output
	e.copy(grad(out).View(0), cy)
	for i := len(l.prog.Nodes) - 1; i >= 0 && e.err == nil; i-- {
		nd := l.prog.Nodes[i]
		c := g[nd.Out.ID()]
		if c == nil {
			continue
		}
		ds := make([]*Tensor, len(nd.In))
		for j, v := range nd.In {
			if !v.IsConst() {
				ds[j] = grad(v)
			}
		}
		e.vjp(l.ops[i], ds, l.values(e, nd.In), l.val[nd.Out.ID()], c)
		// Every reader of this value ran before (in reverse order): its
		// cotangent is complete and now consumed.
		c.Free()
		g[nd.Out.ID()] = nil
	}
	if r := g[in.ID()]; r != nil {
		e.copy(dst, r.View(0))
	} else {
		e.zero(dst)
	}
	e.free(g...)
	return e.err
}

// rerun recomputes every op's value from x on the device, in place: the
// primal on the device, without recording or any copy (the benchmarks'
// reference for the products).
func (l *Linearization) rerun() error {
	l.enter("rerun")
	defer l.mu.Unlock()
	e := &seq{b: l.be}
	for i, nd := range l.prog.Nodes {
		if o := l.ops[i]; !o.isView() {
			e.forward(o, l.val[nd.Out.ID()], l.values(e, nd.In))
		}
	}
	return e.err
}

// ---- the inverse products: the sweep executor on the device engine ----

// prepare analyzes the program, compiles its plan and factorizes its lumps
// on the device, on first use. The caller holds l.mu.
func (l *Linearization) prepare() (*sweep.Exec[*Tensor], error) {
	return l.prepareContext(context.Background())
}

func (l *Linearization) prepareContext(ctx context.Context) (*sweep.Exec[*Tensor], error) {
	if l.done {
		return l.inv, l.ierr
	}
	x, err := sweep.Build(ctx, l.prog, lump.Limits{}, sweep.Engine[*Tensor](&devEngine{l: l, e: &seq{b: l.be}}))
	if sweep.Cancelled(ctx, err) {
		return nil, err // not final
	}
	l.done = true
	if err != nil {
		l.ierr = err
		return nil, err
	}
	l.inv = x
	return x, nil
}

// Prepare analyzes the program and factorizes its lumps now, as
// inverse.Linearization.Prepare does: it returns ctx.Err() soon after ctx
// is done (the analysis checks ctx as it goes, the factorization before
// each lump), keeping nothing, and the first inverse product's errors
// otherwise.
func (l *Linearization) Prepare(ctx context.Context) error {
	if ctx == nil {
		panic("cuda: Prepare with a nil context")
	}
	l.enter("Prepare")
	defer l.mu.Unlock()
	_, err := l.prepareContext(ctx)
	return err
}

// sweep checks a device product's operands, takes the Linearization's
// lock, factorizes on first use and runs the product on a fresh workspace,
// freed after it.
func (l *Linearization) sweep(name string, dst, arg *Tensor, run func(x *sweep.Exec[*Tensor], w *sweep.Workspace[*Tensor]) error) error {
	checkDev(name, dst, arg, l.n, l.n)
	l.enter(name)
	defer l.mu.Unlock()
	x, err := l.prepare()
	if err != nil {
		return err
	}
	w := x.NewWorkspace()
	defer w.Close()
	return run(x, w)
}

// IJVPDevice writes J⁻¹·dy into dst (device tensors of n elements, not the
// same memory) by a reverse sweep over the lumps on the device, then the
// Refine steps, if any. The first inverse product analyzes the program and
// factorizes its lumps.
func (l *Linearization) IJVPDevice(dst, dy *Tensor) error {
	return l.sweep("IJVP", dst, dy, func(x *sweep.Exec[*Tensor], w *sweep.Workspace[*Tensor]) error {
		if err := x.IJVP(w, dst, dy); err != nil {
			return err
		}
		return l.refineSolve(w, dst, dy, true)
	})
}

// VIJPDevice writes J⁻ᵀ·cx into dst by a forward sweep over the lumps (in
// reverse order of IJVP's) on the device, then the Refine steps, if any.
func (l *Linearization) VIJPDevice(dst, cx *Tensor) error {
	return l.sweep("VIJP", dst, cx, func(x *sweep.Exec[*Tensor], w *sweep.Workspace[*Tensor]) error {
		if err := x.VIJP(w, dst, cx); err != nil {
			return err
		}
		return l.refineSolve(w, dst, cx, false)
	})
}

// refineSolve takes l.refine steps of iterative refinement of the solution
// x of J x = b (IJVP, ijvp true: r = b − J x by a device JVP) or Jᵀ x = b
// (VIJP: r = b − Jᵀ x by a VJP), each adding the inverse product of r to x,
// all on the device; it stops early when the residual is zero. Its steps
// are inverse's refineSolve's, one for one. The caller holds l.mu and has
// built l.inv; w is the product's workspace.
func (l *Linearization) refineSolve(w *sweep.Workspace[*Tensor], x, b *Tensor, ijvp bool) error {
	if l.refine == 0 {
		return nil
	}
	e := &seq{b: l.be}
	if l.rscr[0] == nil {
		// Once per Linearization; Close frees them.
		l.rscr = [3]*Tensor{e.alloc(l.n), e.alloc(l.n), e.alloc(1)}
		if e.err != nil {
			freeAll(l.rscr[:]...)
			l.rscr = [3]*Tensor{}
			return e.err
		}
	}
	r, c, s := l.rscr[0], l.rscr[1], l.rscr[2]
	xv, bv := x.View(0), b.View(0)
	var sum [1]float64
	for range l.refine {
		if ijvp {
			e.run(func() error { return l.jvp(r, xv) })
		} else {
			e.run(func() error { return l.vjp(r, xv) })
		}
		e.subFrom(r, bv) // r = b − J x
		// Σ|r| is zero exactly when every r_i is: a sum of non-negative
		// terms rounds to no less than its largest.
		e.run(func() error { return l.be.Unary("abs", Forward, 0, c, r, nil, nil) })
		e.run(func() error { return l.be.Sum(s, c) })
		e.run(func() error { return s.Download(sum[:]) })
		if e.err != nil {
			return e.err
		}
		if sum[0] == 0 {
			return nil
		}
		var err error
		if ijvp {
			err = l.inv.IJVP(w, c, r)
		} else {
			err = l.inv.VIJP(w, c, r)
		}
		if err != nil {
			return err
		}
		e.axpy(xv, 1, c)
	}
	return e.err
}

// LogAbsDet returns log|det J|, the sum over the lumps' factors. The first
// call analyzes and factorizes, as the first inverse product does.
func (l *Linearization) LogAbsDet() (float64, error) {
	l.enter("LogAbsDet")
	defer l.mu.Unlock()
	x, err := l.prepare()
	if err != nil {
		return 0, err
	}
	return x.LogDet, nil
}

// Lumps reports every lump, in solve order, as inverse.Linearization.Lumps
// does; it factorizes on first use.
func (l *Linearization) Lumps() ([]sweep.LumpInfo, error) {
	l.enter("Lumps")
	defer l.mu.Unlock()
	x, err := l.prepare()
	if err != nil {
		return nil, err
	}
	return x.Lumps(), nil
}

// MaxDenseElements bounds the dense matrices Jacobian and InverseJacobian
// build on the host: 2³⁰ float64 elements, 8 GiB (as inverse's).
var MaxDenseElements int64 = 1 << 30

// Jacobian returns the dense n×n Jacobian (row i = output i), from n JVPs
// with unit tangents. Past MaxDenseElements it returns tape.ErrTooLarge.
func (l *Linearization) Jacobian() (*tensor.Tensor, error) {
	return l.dense("Jacobian", l.xShape(), l.yShape(), l.JVPTo)
}

// InverseJacobian returns the dense J⁻¹ (row i = input i), from n IJVPs
// with unit vectors. Errors as for IJVP, and tape.ErrTooLarge.
func (l *Linearization) InverseJacobian() (*tensor.Tensor, error) {
	return l.dense("InverseJacobian", l.yShape(), l.xShape(), l.IJVPTo)
}

func (l *Linearization) dense(name string, argShape, resShape []int, product func(dst, v *tensor.Tensor) error) (*tensor.Tensor, error) {
	n := l.n
	if int64(n)*int64(n) > MaxDenseElements {
		return nil, fmt.Errorf("cuda: a dense %d×%d %s needs %.3g GB, over the MaxDenseElements limit of %d elements: %w",
			n, n, name, float64(n)*float64(n)*8/1e9, MaxDenseElements, tape.ErrTooLarge)
	}
	m := tensor.Zeros(n, n)
	md := m.Data()
	e, r := tensor.Zeros(argShape...), tensor.Zeros(resShape...)
	for c := range n {
		e.Data()[c] = 1
		if err := product(r, e); err != nil {
			return nil, err
		}
		for i, v := range r.Data() {
			md[i*n+c] = v
		}
		e.Data()[c] = 0
	}
	return m, nil
}

// Cond estimates κ₁(J) from the products, as inverse.Linearization.Cond
// does (sweep.NormEst1 on JVP/VJP and IJVP/VIJP, their host forms). Errors
// are IJVP's.
func (l *Linearization) Cond() (float64, error) {
	return sweep.Cond1(l.n, l.xShape(), l.yShape(), l.JVPTo, l.VJPTo, l.IJVPTo, l.VIJPTo)
}
