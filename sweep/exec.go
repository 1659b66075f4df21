package sweep

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/invad/invad/lump"
	"github.com/invad/invad/sparse"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Exec is a compiled plan with its lumps' factors on one engine: the one
// executor of the inverse products. IJVP, VIJP and LogAbsDet run the plan
// against the engine; a CPU Exec serves concurrent products (each with its
// own Workspace), a device one a product at a time.
type Exec[V comparable] struct {
	P      *Plan
	E      Engine[V]
	F      []Factor[V] // per lump; nil for copies and expansions
	LogDet float64
	ctx    context.Context // while FactorizeContext runs: checked per column of a block
	// Progress, if set, is called by FactorizeContext after each lump it
	// factorizes with the number done and the total.
	Progress func(done, total int)
}

// stopped reports whether FactorizeContext's context is done: the block
// extractions stop early, and FactorLump returns its error.
func (x *Exec[V]) stopped() bool { return x.ctx != nil && x.ctx.Err() != nil }

// New returns an Exec of plan p on engine e with no lump factorized.
func New[V comparable](p *Plan, e Engine[V]) *Exec[V] {
	return &Exec[V]{P: p, E: e, F: make([]Factor[V], len(p.lumps))}
}

// Workspace is one product's buffers: the unknowns of every base value
// (u, per value id), the scratch buffers of the plan's roles and the
// shaped headers over them. A CPU Workspace is kept between products and
// then allocates nothing; a device one is Closed after its product.
type Workspace[V comparable] struct {
	x       *Exec[V]
	u       []V // per value id
	bufs    []V
	hdr     []V
	have    []bool // hdr built
	ts      []V
	free    map[int][]V // released vectors by length, for Take
	ones    V           // a vector of ones (batch extraction), onesLen long
	onesLen int
	// Bytes counts the unknowns buffers held; FreeBytes the released ones.
	Bytes, FreeBytes int64
	err              error
	// ijvp: an IJVP runs, which writes a Plan.written value's buffer
	// whole before reading it: U takes a released one as it is.
	ijvp bool
}

// Adopt moves w, a workspace of another Exec of the same Plan (a
// Linearization of the same program at another point, reusing the plan),
// to x with its buffers, and reports whether it could: false, leaving w as
// it was, for another plan. The buffers hold no values between products.
func (w *Workspace[V]) Adopt(x *Exec[V]) bool {
	if w.x.P != x.P {
		return false
	}
	w.x = x
	return true
}

// NewWorkspace returns an empty workspace: buffers are taken on first use.
func (x *Exec[V]) NewWorkspace() *Workspace[V] {
	p := x.P
	return &Workspace[V]{x: x, u: make([]V, len(p.lens)), bufs: make([]V, len(p.bufLen)),
		hdr: make([]V, len(p.hdrs)), have: make([]bool, len(p.hdrs)), free: map[int][]V{}}
}

// Take returns a zeroed vector of n elements: a released one, or new.
func (w *Workspace[V]) Take(n int) V {
	v, reused := w.take(n)
	if reused {
		w.x.E.Zero(v, 0, n)
	}
	return v
}

// takeDirty is Take for a vector the caller overwrites whole: a released
// one is not zeroed.
func (w *Workspace[V]) takeDirty(n int) V {
	v, _ := w.take(n)
	return v
}

// take returns a released vector of n elements (reused), or a new, zeroed
// one.
func (w *Workspace[V]) take(n int) (v V, reused bool) {
	if l := w.free[n]; len(l) > 0 {
		v = l[len(l)-1]
		w.free[n] = l[:len(l)-1]
		w.FreeBytes -= int64(n) * 8
		return v, true
	}
	return w.x.E.Alloc(n), false
}

// onesOf returns a vector of n ones, kept by the workspace.
func (w *Workspace[V]) onesOf(n int) V {
	var zero V
	if w.ones == zero || w.onesLen != n {
		w.Release(w.ones, w.onesLen)
		w.ones, w.onesLen = w.takeDirty(n), n
		fillOnes(w.x.E, w.ones, n)
	}
	return w.ones
}

// onesChunk is how many ones fillOnes uploads; it copies them on from
// there, so that a vector of n ones costs no host vector of n.
const onesChunk = 4096

// fillOnes sets v's first n elements to 1: a chunk uploaded, then copied
// on, doubling what is filled with each copy.
func fillOnes[V comparable](e Engine[V], v V, n int) {
	host := make([]float64, min(n, onesChunk))
	for i := range host {
		host[i] = 1
	}
	e.Upload(v, host)
	for done := len(host); done < n; done *= 2 {
		e.Copy(v, done, v, 0, min(done, n-done))
	}
}

// Release hands a vector of n elements back to Take.
func (w *Workspace[V]) Release(v V, n int) {
	var zero V
	if v == zero || n == 0 {
		return
	}
	w.free[n] = append(w.free[n], v)
	w.FreeBytes += int64(n) * 8
}

// U returns value id's unknowns buffer, zeroed on first use (but in an
// IJVP, which writes it whole first).
func (w *Workspace[V]) U(id int) V {
	var zero V
	if w.u[id] == zero {
		if w.ijvp && w.x.P.written[id] {
			w.u[id] = w.takeDirty(w.x.P.lens[id])
		} else {
			w.u[id] = w.Take(w.x.P.lens[id])
		}
		w.Bytes += int64(w.x.P.lens[id]) * 8
	}
	return w.u[id]
}

// Drop releases value id's unknowns buffer (the IJVP and the tapeless
// sweep, once no lump reads it).
func (w *Workspace[V]) Drop(id int) {
	var zero V
	if w.u[id] != zero {
		w.Bytes -= int64(w.x.P.lens[id]) * 8
		w.Release(w.u[id], w.x.P.lens[id])
		w.u[id] = zero
		for _, h := range w.x.P.uHdrs[id] {
			w.have[h], w.hdr[h] = false, zero
		}
	}
}

// Close frees every vector the workspace holds (device workspaces).
func (w *Workspace[V]) Close() {
	e := w.x.E
	var zero V
	for _, v := range w.u {
		if v != zero {
			e.Free(v)
		}
	}
	for _, v := range w.bufs {
		if v != zero {
			e.Free(v)
		}
	}
	for _, l := range w.free {
		for _, v := range l {
			e.Free(v)
		}
	}
	if w.ones != zero {
		e.Free(w.ones)
		w.ones, w.onesLen = zero, 0
	}
	clear(w.u)
	clear(w.bufs)
	clear(w.hdr)
	clear(w.have)
	clear(w.free)
}

// buf returns scratch buffer b.
func (w *Workspace[V]) buf(b int) V {
	var zero V
	if w.bufs[b] == zero {
		w.bufs[b] = w.x.E.Alloc(w.x.P.bufLen[b])
	}
	return w.bufs[b]
}

// h returns header i.
func (w *Workspace[V]) h(i int) V {
	if !w.have[i] {
		s := &w.x.P.hdrs[i]
		var base V
		if s.u {
			base = w.U(s.id)
		} else {
			base = w.buf(s.id)
		}
		w.hdr[i] = w.x.E.Shaped(base, s.off, s.shape)
		w.have[i] = true
	}
	return w.hdr[i]
}

// ---- factorization ----

// Factorize factorizes every lump not yet factorized and sums log|det|.
func (x *Exec[V]) Factorize() error { return x.FactorizeContext(context.Background()) }

// FactorizeContext is Factorize that checks ctx before each lump and
// each column of a block it forms, and returns ctx.Err() (with every
// factor freed) once it is done.
func (x *Exec[V]) FactorizeContext(ctx context.Context) error {
	w := x.NewWorkspace()
	defer w.Close()
	return x.factorize(ctx, w)
}

// FactorizeWith is FactorizeContext with w, an idle workspace of x (a
// product's, adopted from a Linearization of the same plan), for scratch:
// the block extractions take w's released vectors and its scratch buffers
// before new ones, and what they leave in w beyond what it held before
// (the vector of ones, trial buffers, buffers of roles only the
// extractions use) is freed after. w then holds what it held, and the
// factorization allocates only what w could not give. It panics if w is
// not x's.
func (x *Exec[V]) FactorizeWith(ctx context.Context, w *Workspace[V]) error {
	if w.x != x {
		panic("sweep: FactorizeWith with another Exec's workspace")
	}
	had := map[int]int{}
	for n, l := range w.free {
		had[n] = len(l)
	}
	var zero V
	hadBuf := make([]bool, len(w.bufs))
	for b, v := range w.bufs {
		hadBuf[b] = v != zero
	}
	defer func() {
		if w.ones != zero {
			w.Release(w.ones, w.onesLen)
			w.ones, w.onesLen = zero, 0
		}
		for n, l := range w.free {
			for len(l) > had[n] {
				x.E.Free(l[len(l)-1])
				l[len(l)-1] = zero
				l = l[:len(l)-1]
				w.FreeBytes -= int64(n) * 8
			}
			w.free[n] = l
		}
		for b, v := range w.bufs {
			if v == zero || hadBuf[b] {
				continue
			}
			x.E.Free(v)
			w.bufs[b] = zero
			for h := range x.P.hdrs {
				if s := &x.P.hdrs[h]; !s.u && s.id == b {
					w.have[h], w.hdr[h] = false, zero
				}
			}
		}
	}()
	return x.factorize(ctx, w)
}

// factorize factorizes every lump not yet factorized with w for scratch.
func (x *Exec[V]) factorize(ctx context.Context, w *Workspace[V]) error {
	x.ctx = ctx
	defer func() { x.ctx = nil }()
	for li := range x.P.lumps {
		err := ctx.Err()
		if err == nil {
			err = x.FactorLump(w, li)
		}
		if err != nil {
			x.FreeFactors()
			return err
		}
		if x.Progress != nil {
			x.Progress(li+1, len(x.P.lumps))
		}
	}
	return nil
}

// Build analyzes p within the limits, compiles its plan and factorizes
// every lump on engine e: the work of a backend's first inverse product.
// It stops soon after ctx is done (the analysis checks it as it goes, the
// compilation and the factorization before each lump) (Cancelled then reports the error as
// ctx's: nothing was kept, and the work may be started again).
func Build[V comparable](ctx context.Context, p *tape.Program, lim lump.Limits, e Engine[V]) (*Exec[V], error) {
	return BuildProgress(ctx, p, lim, e, nil)
}

// BuildProgress is Build that reports its progress to progress (if not
// nil): stage "analysis" (done 0 of 1, then 1 of 1), then "factorization"
// after each lump (done of the number of lumps).
func BuildProgress[V comparable](ctx context.Context, p *tape.Program, lim lump.Limits, e Engine[V], progress func(stage string, done, total int)) (*Exec[V], error) {
	if progress != nil {
		progress("analysis", 0, 1)
	}
	an, err := lump.AnalyzeContext(ctx, p, lim)
	if err != nil {
		return nil, err
	}
	pl, err := CompileContext(ctx, an)
	if err != nil {
		return nil, err
	}
	x := New(pl, e)
	if progress != nil {
		progress("analysis", 1, 1)
		x.Progress = func(done, total int) { progress("factorization", done, total) }
	}
	if err := x.FactorizeContext(ctx); err != nil {
		return nil, err
	}
	x.Progress = nil
	return x, nil
}

// Cancelled reports whether err is ctx's own error, ctx being done: a
// Build that may be run again, not a final answer.
func Cancelled(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err())
}

// FreeFactors frees every factor.
func (x *Exec[V]) FreeFactors() {
	for i, f := range x.F {
		if f != nil {
			f.Free()
			x.F[i] = nil
		}
	}
}

// FactorLump factorizes lump li (w gives scratch) and adds its log|det A|.
func (x *Exec[V]) FactorLump(w *Workspace[V], li int) error {
	an := x.P.An
	lp := &an.Lumps[li]
	L := &x.P.lumps[li]
	b := Block[V]{Index: li, Lump: lp}
	var zero V
	switch lp.Kind.Form() {
	case lump.OpRule:
		b.Node = L.node
	case lump.BatchBlocks:
		b.A = x.extractBatch(w, li)
	case lump.DenseBlock:
		b.A = x.extractDense(w, li)
	case lump.SparseBlocks:
		b.A = x.extractSparse(w, li)
	default:
		return nil
	}
	err := x.E.Err()
	if err == nil && x.stopped() {
		err = x.ctx.Err()
	}
	if err != nil {
		if b.A != zero {
			w.Release(b.A, blockSize(lp))
		}
		return err
	}
	f, err := x.E.Factor(b)
	if b.A != zero {
		w.Release(b.A, blockSize(lp))
	}
	if err != nil {
		return x.factorError(li, err)
	}
	x.F[li] = f
	x.LogDet += f.LogAbsDet()
	return nil
}

func (x *Exec[V]) factorError(li int, err error) error {
	an := x.P.An
	lp := &an.Lumps[li]
	var sg *Singular
	if errors.As(err, &sg) {
		e := &lump.SingularBlockError{Block: li, Size: lp.Width, Cond: sg.Pivot, Figure: sg.Figure}
		for _, q := range lp.Eqs {
			if nd := an.Eqs[q].Node; nd != nil && (len(e.Nodes) == 0 || e.Nodes[len(e.Nodes)-1] != nd.Pos) {
				e.Ops, e.Nodes = append(e.Ops, nd.Op.Name()), append(e.Nodes, nd.Pos)
			}
		}
		return fmt.Errorf("inverse: %s: %w", sg.Why, e)
	}
	if lp.Kind.Form() != lump.OpRule {
		return err
	}
	nd := lp.Node
	var se *tape.SingularError
	if errors.As(err, &se) {
		c := *se
		c.Pos = nd.Pos
		return &c
	}
	var dev *DeviceError
	if errors.As(err, &dev) {
		return err
	}
	return fmt.Errorf("inverse: op %s at tape position %d: %w", nd.Op.Name(), nd.Pos, err)
}

// DeviceError wraps an engine's failure of its own (a device call), which
// the executor passes on as it is.
type DeviceError struct{ Err error }

func (e *DeviceError) Error() string { return e.Err.Error() }
func (e *DeviceError) Unwrap() error { return e.Err }

// blockSize returns the elements of a batch or dense block.
func blockSize(lp *lump.Lump) int {
	switch lp.Kind.Form() {
	case lump.BatchBlocks:
		return lp.K * lp.K * lp.M
	case lump.SparseBlocks:
		return lp.Sparse.Colors * lp.Width
	}
	return lp.Width * lp.Width
}

// column evaluates the created equations of lump li with the killed
// tangent unit on atom u (zero on the other killed atoms), the internal
// values propagated from it into trial, and nothing known: one column of A
// (of every block, for a batch), written at dst[doff:].
func (x *Exec[V]) column(w *Workspace[V], L *lumpPlan, u int, unit, trial V, dst V, doff int) {
	x.columnOf(w, L, func(k int) (V, int, bool) {
		if k == u {
			return unit, 0, true
		}
		var zero V
		return zero, 0, false
	}, trial, dst, doff)
}

// columnOf is column with the killed tangents given by killed (an atom's
// vector and offset; false for a zero).
func (x *Exec[V]) columnOf(w *Workspace[V], L *lumpPlan, killed lookup[V], trial V, dst V, doff int) {
	look := func(k int) (V, int, bool) {
		if v, off, ok := killed(k); ok {
			return v, off, true
		}
		if off, ok := L.trialOff[k]; ok {
			return trial, off, true
		}
		var zero V
		return zero, 0, false
	}
	x.pass(w, L.ext, look, func(r *eqRow) (V, int) { return trial, L.trialOff[r.dst] })
	x.eval(w, L.extEqs, look, dst, doff)
}

// extractSparse forms a sparse lump's colored products: for each color c,
// A times the sum of color c's unit columns (the killed tangent, laid out
// as the solution vector), at offset c·Width. The engine reads A's values
// off them.
func (x *Exec[V]) extractSparse(w *Workspace[V], li int) V {
	lp := &x.P.An.Lumps[li]
	L := &x.P.lumps[li]
	sb := lp.Sparse
	n := lp.Width
	a := w.takeDirty(sb.Colors * n) // every product is written whole
	trial := w.takeDirty(max(L.trialLen, 1))
	seed := w.Take(n)
	host := make([]float64, n)
	killed := func(k int) (V, int, bool) {
		if pos, ok := L.killPos[k]; ok {
			return seed, pos, true
		}
		var zero V
		return zero, 0, false
	}
	for c := range sb.Colors {
		sparse.SeedTo(host, sb.Color, c)
		x.E.Upload(seed, host)
		x.columnOf(w, L, killed, trial, a, c*n)
	}
	w.Release(seed, n)
	w.Release(trial, max(L.trialLen, 1))
	return a
}

func (x *Exec[V]) extractBatch(w *Workspace[V], li int) V {
	lp := &x.P.An.Lumps[li]
	L := &x.P.lumps[li]
	e := x.E
	k, m := lp.K, lp.M
	// Every element of a, col and trial is written before it is read.
	a := w.takeDirty(k * k * m)
	ones := w.onesOf(m)
	trial := w.takeDirty(max(L.trialLen, 1))
	if k == 1 { // the one column is the block
		x.column(w, L, lp.Killed[0], ones, trial, a, 0)
		w.Release(trial, max(L.trialLen, 1))
		return a
	}
	col := w.takeDirty(k * m)
	for j, u := range lp.Killed {
		if x.stopped() {
			break
		}
		x.column(w, L, u, ones, trial, col, 0)
		for i := 0; i < k; i++ {
			e.Copy(a, (i*k+j)*m, col, i*m, m)
		}
	}
	w.Release(trial, max(L.trialLen, 1))
	w.Release(col, k*m)
	return a
}

// extractDense builds a dense lump's block column-major, one column per
// scalar killed unknown.
func (x *Exec[V]) extractDense(w *Workspace[V], li int) V {
	an := x.P.An
	lp := &an.Lumps[li]
	L := &x.P.lumps[li]
	e := x.E
	n := lp.Width
	a := w.takeDirty(n * n) // every column is written whole
	trial := w.takeDirty(max(L.trialLen, 1))
	c := 0
	for _, u := range lp.Killed {
		ln := an.Atoms[u].Len
		unit := w.Take(ln)
		host := make([]float64, ln)
		for j := range host {
			if x.stopped() {
				break
			}
			host[j] = 1
			e.Upload(unit, host)
			host[j] = 0
			x.column(w, L, u, unit, trial, a, c*n)
			c++
		}
		w.Release(unit, ln)
	}
	w.Release(trial, max(L.trialLen, 1))
	return a
}

// ---- the op rules under an assignment ----

// lookup resolves an atom to its vector and offset; ok false is a zero.
type lookup[V any] func(atom int) (V, int, bool)

// tangent forms an op input's tangent, or reports it zero.
func (x *Exec[V]) tangent(w *Workspace[V], a *argSpec, look lookup[V]) (V, bool) {
	e := x.E
	var zero V
	if look == nil { // the sweep: every piece is assigned
		if a.view {
			return w.h(a.vhdr), true
		}
		t := w.h(a.ghdr)
		g := w.buf(a.buf)
		e.Zero(g, 0, tensor.SizeOf(a.shape))
		for _, p := range a.pieces {
			e.Copy(g, p.pos, w.U(p.v), p.off, p.n)
		}
		return t, true
	}
	if a.whole {
		if v, off, ok := look(a.pieces[0].atom); ok {
			return e.Shaped(v, off, a.shape), true
		}
		return zero, false
	}
	if v, off, ok := x.viewPieces(a, look); ok {
		return e.Shaped(v, off, a.shape), true
	}
	var g V
	have := false
	for _, p := range a.pieces {
		v, off, ok := look(p.atom)
		if !ok {
			continue
		}
		if !have {
			g, have = w.buf(a.buf), true
			e.Zero(g, 0, tensor.SizeOf(a.shape))
		}
		e.Copy(g, p.pos, v, off, p.n)
	}
	if !have {
		return zero, false
	}
	return w.h(a.ghdr), true
}

// viewPieces reports whether an input's pieces, resolved by look, are the
// consecutive elements of one vector covering the whole input (an
// extraction's trial buffer lays a value out in order), and where they
// start: the input is then a view, nothing gathered.
func (x *Exec[V]) viewPieces(a *argSpec, look lookup[V]) (V, int, bool) {
	var zero V
	p0 := a.pieces[0]
	v0, o0, ok := look(p0.atom)
	if !ok {
		return zero, 0, false
	}
	base, n := o0-p0.pos, 0
	for _, p := range a.pieces {
		v, o, ok := look(p.atom)
		if !ok || v != v0 || o-p.pos != base {
			return zero, 0, false
		}
		n += p.n
	}
	if base < 0 || n != tensor.SizeOf(a.shape) {
		return zero, 0, false
	}
	return v0, base, true
}

// jvp runs a compiled JVP; false if every tangent is zero.
func (x *Exec[V]) jvp(w *Workspace[V], s *jvpSpec, look lookup[V]) bool {
	return x.jvpTo(w, s, look, w.h(s.dst))
}

// jvpTo runs a compiled JVP into dst.
func (x *Exec[V]) jvpTo(w *Workspace[V], s *jvpSpec, look lookup[V], dst V) bool {
	var zero V
	w.ts = w.ts[:0]
	any := false
	for i := range s.args {
		a := &s.args[i]
		t := zero
		switch a.kind {
		case argSet:
			var ok bool
			t, ok = x.tangent(w, a, look)
			any = any || ok
		case argDup:
			t = w.ts[a.dup]
		}
		w.ts = append(w.ts, t)
	}
	if any {
		x.E.JVP(s.node, dst, w.ts)
	}
	clear(w.ts)
	return any
}

// pass runs an internal pass: each internal equation's rows of its op's
// JVP are written to its atom (out gives where).
func (x *Exec[V]) pass(w *Workspace[V], l *eqList, look lookup[V], out func(*eqRow) (V, int)) {
	e := x.E
	any := false
	for i := 0; i < len(l.rows); i++ {
		r := &l.rows[i]
		dst, off := out(r)
		if r.whole {
			// The equation is its op's whole output: the JVP writes into
			// the atom's buffer itself.
			var d V
			if look == nil {
				d = w.h(r.dhdr)
			} else {
				d = e.Shaped(dst, off, r.shape)
			}
			if !x.jvpTo(w, &l.jvps[r.jv], look, d) {
				e.Zero(dst, off, r.n)
			}
			continue
		}
		if r.span > 0 && look != nil {
			// The op's whole output, in order in dst: written at once.
			if !x.jvpTo(w, &l.jvps[r.jv], look, e.Shaped(dst, off-r.eqOff, r.spanShape)) {
				e.Zero(dst, off-r.eqOff, tensor.SizeOf(r.spanShape))
			}
			i += r.span - 1
			continue
		}
		if i == 0 || r.jv != l.rows[i-1].jv {
			any = x.jvp(w, &l.jvps[r.jv], look)
		}
		if any {
			e.Copy(dst, off, w.buf(l.jvps[r.jv].buf), r.eqOff, r.n)
		} else {
			e.Zero(dst, off, r.n)
		}
	}
}

// eval writes Σ_U C_{q,U} a_U of each equation into dst[doff+row:], with
// C the extended system's coefficients: +I on an equation's own value and
// on a pinned atom, sign·J on op inputs.
func (x *Exec[V]) eval(w *Workspace[V], l *eqList, look lookup[V], dst V, doff int) {
	e := x.E
	any := false
	for i := range l.rows {
		r := &l.rows[i]
		o := doff + r.row
		if r.jv < 0 {
			if r.pin < 0 {
				e.Zero(dst, o, r.n)
			} else if look == nil {
				e.Copy(dst, o, w.U(r.pv), r.po, r.n)
			} else if v, off, ok := look(r.pin); ok {
				e.Copy(dst, o, v, off, r.n)
			} else {
				e.Zero(dst, o, r.n)
			}
			continue
		}
		if i == 0 || r.jv != l.rows[i-1].jv {
			any = x.jvp(w, &l.jvps[r.jv], look)
		}
		if any {
			e.Scale(dst, o, r.sign, w.buf(l.jvps[r.jv].buf), r.eqOff, r.n)
		} else {
			e.Zero(dst, o, r.n)
		}
		if r.self >= 0 {
			if look == nil {
				e.Axpy(dst, o, 1, w.U(r.sv), r.so, r.n)
			} else if v, off, ok := look(r.self); ok {
				e.Axpy(dst, o, 1, v, off, r.n)
			}
		}
	}
}

// sweepOut writes an internal equation's rows to its atom's buffer.
func (w *Workspace[V]) sweepOut(r *eqRow) (V, int) { return w.U(r.dv), r.do }

// push runs a compiled VJP of the cotangent in its c buffer.
func (x *Exec[V]) push(w *Workspace[V], s *pushSpec) { x.pushC(w, s, w.h(s.c), 1) }

// pushC runs a compiled VJP of c, its gathered cotangents scattered times
// scale (±1: the true cotangent is scale·c; in-place accumulations need
// scale 1).
func (x *Exec[V]) pushC(w *Workspace[V], s *pushSpec, c V, scale float64) {
	if !s.any {
		return
	}
	e := x.E
	var zero V
	w.ts = w.ts[:0]
	for i := range s.args {
		a := &s.args[i]
		t := zero
		switch a.kind {
		case argSet:
			if a.view {
				t = w.h(a.vhdr)
			} else {
				t = w.h(a.ghdr)
				e.Zero(w.buf(a.buf), 0, tensor.SizeOf(a.shape))
			}
		case argDup:
			t = w.ts[a.dup]
		}
		w.ts = append(w.ts, t)
	}
	e.VJP(s.node, w.ts, c)
	clear(w.ts)
	sign := scale
	if s.subtract {
		sign = -sign
	}
	for i := range s.args {
		a := &s.args[i]
		if a.kind != argSet || a.view {
			continue
		}
		g := w.buf(a.buf)
		for _, p := range a.pieces {
			e.Axpy(w.U(p.v), p.off, sign, g, p.pos, p.n)
		}
	}
}

// ---- the sweeps ----

// IJVP solves J dx = dy lump by lump, from y back to x, into dst. In each
// lump the internal values are first propagated from the known ones, the
// created equations give the right-hand side, A solves for the killed
// unknowns, and the internal values are propagated once more with them
// where a later lump reads them. A value's unknowns buffer goes back to
// w's pool after the last lump that reads it (Plan: ijvpLive), for the
// lumps after to take, and x's once copied to dst: w holds the buffers of
// the values live at once, not one per value. A lump whose killed atoms
// are one range of a value is solved straight into it.
func (x *Exec[V]) IJVP(w *Workspace[V], dst, dy V) error {
	p, e := x.P, x.E
	w.ijvp = true
	defer func() { w.ijvp = false }()
	for li := range p.lumps {
		L := &p.lumps[li]
		switch L.kind {
		case kCopy:
			e.Copy(w.U(L.cv), L.coff, dy, L.cdy, L.cn)
		case kExpand:
			if !L.skipPost {
				x.pass(w, L.post, nil, w.sweepOut)
			}
		case kStep:
			// J_p⁻¹ (t − J_others·u_others), t the op's own tangent (dy
			// for the output), solved straight into the pivot's buffer.
			src := dy
			if L.own >= 0 {
				src = w.U(L.own)
			}
			if x.jvp(w, &L.step, nil) {
				jv := w.buf(L.step.buf)
				e.SubFrom(jv, 0, src, 0, p.lens[p.nodes[L.node].Out.ID()])
				src = w.h(L.step.dst)
			}
			w.fail(x.F[li].Solve(w.U(L.pivot), src))
		case kSolve:
			if L.pre != nil {
				x.pass(w, L.pre, nil, w.sweepOut)
			}
			rhs := w.h(L.rhsHdr)
			rb := w.buf(bufOf(roleRHS))
			// rhs = t − C·(known and internal values), t = dy on y's rows.
			x.eval(w, L.rhs, nil, rb, 0)
			for i := range L.rhs.rows {
				r := &L.rhs.rows[i]
				if r.out {
					e.SubFrom(rb, r.row, dy, r.dyOff, r.n)
				} else {
					e.Scale(rb, r.row, -1, rb, r.row, r.n)
				}
			}
			if L.solU >= 0 {
				// Solved in place: the killed atoms are one range.
				pl := L.places[0]
				w.fail(x.F[li].Solve(w.h(L.solU), rhs))
				if L.negate {
					u := w.U(pl.v)
					e.Scale(u, pl.off, -1, u, pl.off, L.rows)
				}
			} else {
				w.fail(x.F[li].Solve(w.h(L.solHdr), rhs))
				sb := w.buf(bufOf(roleSol))
				if L.negate {
					e.Scale(sb, 0, -1, sb, 0, L.rows)
				}
				for _, pl := range L.places {
					e.Copy(w.U(pl.v), pl.off, sb, pl.pos, pl.n)
				}
			}
			if L.post != nil && !L.skipPost {
				x.pass(w, L.post, nil, w.sweepOut)
			}
		}
		for _, id := range L.drop {
			w.Drop(id)
		}
	}
	e.Copy(dst, 0, w.U(p.input), 0, p.lens[p.input])
	w.Drop(p.input)
	return w.Done()
}

// VIJP solves Jᵀ cy = cx lump by lump in reverse order, into dst (zeroed
// first). The unknowns buffers accumulate Σ Cᵀλ over the equations already
// solved.
func (x *Exec[V]) VIJP(w *Workspace[V], dst, cx V) error {
	p, e := x.P, x.E
	for _, id := range p.base {
		e.Zero(w.U(id), 0, p.lens[id])
	}
	e.Zero(dst, 0, p.lens[p.output])
	for li := len(p.lumps) - 1; li >= 0; li-- {
		x.VIJPLump(w, li, dst, cx)
	}
	return w.Done()
}

// VIJPLump solves lump li of the transposed system and pushes its λ on.
// In a lump with internal values the transposed elimination runs the
// internal equations backwards twice: once to fold their right-hand sides
// into the killed ones, once to get their own λ from the created
// equations' λ.
func (x *Exec[V]) VIJPLump(w *Workspace[V], li int, res, cx V) {
	p, e := x.P, x.E
	L := &p.lumps[li]
	if L.kind == kStep {
		// r = b − acc on the pivot, c = J_p⁻ᵀ r is the op's cotangent; λ
		// goes to the op's own accumulator (or to cy for the output) and c
		// to the op's other inputs.
		n := p.lens[L.pivot]
		r := w.U(L.pivot)
		// With no other input to push to (and the pivot not x), J_p⁻ᵀ acc =
		// −c straight from the accumulator saves forming r: sign says
		// which of c and −c the solve gives.
		form := L.stepPush.any || L.pivot == p.input
		sign := -1.0
		if form {
			sign = 1
			if L.pivot == p.input {
				e.SubFrom(r, 0, cx, 0, n)
			} else {
				e.Scale(r, 0, -1, r, 0, n)
			}
		}
		w.fail(x.F[li].SolveT(w.h(L.stepPush.c), r))
		if cb := w.buf(L.stepPush.buf); L.own < 0 {
			e.Scale(res, 0, sign, cb, 0, n) // λ = c for y
		} else {
			e.Axpy(w.U(L.own), 0, -sign, cb, 0, n) // λ = −c to the op's own value
		}
		if form {
			x.push(w, &L.stepPush)
		}
		return
	}
	if L.kind == kExpand && L.skipVIJP {
		return
	}
	// r_K = b_K − acc_K on the killed atoms, in place (b = cx on x). The
	// internal atoms keep acc_I = −r_I: the final sweep continues from it.
	for _, k := range L.killed {
		u := w.U(k.v)
		if k.v == p.input {
			e.SubFrom(u, k.off, cx, k.off, k.n)
		} else {
			e.Scale(u, k.off, -1, u, k.off, k.n)
		}
	}
	if L.fold {
		// Fold −C_IKᵀ C_IIᵀ⁻¹ r_I into the killed atoms by one backward
		// pass over the internal equations restricted to the lump; acc_I
		// is kept aside in mu and put back for the final sweep.
		mu := w.buf(bufOf(roleMu))
		for _, a := range L.internal {
			u := w.U(a.v)
			e.Copy(mu, a.pos, u, a.off, a.n)
			e.Scale(u, a.off, -1, u, a.off, a.n)
		}
		x.reverse(w, L.revFold, 1)
		for _, a := range L.internal {
			e.Copy(w.U(a.v), a.off, mu, a.pos, a.n)
		}
	}
	if L.kind != kExpand {
		// λ_C = A⁻ᵀ g_K, handed to cy and to the created values'
		// accumulators, and pushed through the created equations' ops.
		rb, sb := w.buf(bufOf(roleRHS)), w.buf(bufOf(roleSol))
		for _, pl := range L.places {
			e.Copy(rb, pl.pos, w.U(pl.v), pl.off, pl.n)
		}
		if L.kind == kCopy {
			e.Copy(sb, 0, rb, 0, L.rows)
		} else {
			w.fail(x.F[li].SolveT(w.h(L.solHdr), w.h(L.rhsHdr)))
			if L.negate {
				e.Scale(sb, 0, -1, sb, 0, L.rows)
			}
		}
		for i := range L.created {
			r := &L.created[i]
			if r.out {
				e.Copy(res, r.dyOff, sb, r.row, r.n)
			}
			if r.self >= 0 {
				e.Axpy(w.U(r.sv), r.so, 1, sb, r.row, r.n)
			}
		}
		for i := range L.pushes {
			s := &L.pushes[i]
			if !s.any {
				continue
			}
			cb := w.buf(s.buf)
			if s.partial {
				e.Zero(cb, 0, s.cLen)
			}
			for _, r := range s.rows {
				e.Scale(cb, r.eqOff, r.sign, sb, r.row, r.n)
			}
			x.push(w, s)
		}
	}
	// The internal equations backwards: each value's accumulator now holds
	// −(r − Σ Cᵀλ of the equations after it), so λ = −acc; pushing its Cᵀλ
	// feeds the internal values before it and the accumulators outside.
	x.reverse(w, L.revFinal, -1)
}

// reverse runs internal equations backwards: each op's cotangent is −sign
// times its equations' accumulators, pushed on.
func (x *Exec[V]) reverse(w *Workspace[V], ps []pushSpec, sign float64) {
	e := x.E
	for i := range ps {
		s := &ps[i]
		if !s.any {
			continue // no accumulator read later takes its cotangent
		}
		if s.whole {
			// One equation, the op's whole output: its accumulator is c
			// itself, up to the sign, which the scatter takes instead
			// (an in-place accumulation only happens with sign −1).
			x.pushC(w, s, w.h(s.rows[0].dhdr), -sign)
			continue
		}
		cb := w.buf(s.buf)
		if s.partial {
			e.Zero(cb, 0, s.cLen)
		}
		for _, r := range s.rows {
			e.Scale(cb, r.eqOff, -sign, w.U(r.dv), r.do, r.n)
		}
		x.push(w, s)
	}
}

func (w *Workspace[V]) fail(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

// Done returns the first error of the sweeps since the last call (a
// factor's or the engine's), and forgets it.
func (w *Workspace[V]) Done() error {
	err := w.err
	w.err = nil
	if e := w.x.E.Err(); err == nil {
		err = e
	}
	return err
}

// PartedFactor is a Factor whose log|det| splits over groups of its
// block's indices, as tape.LogDetParter says: for a Batch lump the indices
// are its M blocks, for a Step the elements of its pivot input.
type PartedFactor interface {
	LogAbsDetParts(dst []float64, group func(i int) int) bool
}

// LogAbsDetParts adds each lump's log|det| to the groups (the samples of a
// batch) its elements belong to: group(v, off, dst) writes into dst[j] the
// group of element off+j of base value v, for every j < len(dst), and
// reports false if one has none. Every lump must lie in one group per
// independent block: it returns the index of the first lump that couples
// two groups (or holds an element of none), −1 if none does; dst is then
// partly summed. Every lump must be factorized.
func (x *Exec[V]) LogAbsDetParts(dst []float64, group func(v, off int, dst []int) bool) int {
	an := x.P.An
	var gs, tmp []int // the groups of a lump's elements, and scratch; reused
	for li := range an.Lumps {
		lp := &an.Lumps[li]
		switch lp.Kind {
		case lump.Copy, lump.Expansion:
			continue
		case lump.Step:
			segs := an.Segs(lp.Node.In[lp.Input])
			n := 0
			for _, sg := range segs {
				n += sg.Len
			}
			gs = slices.Grow(gs[:0], n)[:n]
			pos := 0
			for _, sg := range segs {
				if sg.Var < 0 || !group(sg.Var, sg.Off, gs[pos:pos+sg.Len]) {
					return li
				}
				pos += sg.Len
			}
			pf, ok := x.F[li].(PartedFactor)
			if !ok || !pf.LogAbsDetParts(dst, func(i int) int { return gs[i] }) {
				return li
			}
		case lump.Batch:
			gs = slices.Grow(gs[:0], lp.M)[:lp.M]
			tmp = slices.Grow(tmp[:0], lp.M)[:lp.M]
			for u, k := range lp.Unknowns {
				at := an.Atoms[k]
				into := gs
				if u > 0 {
					into = tmp
				}
				if !group(at.Var, at.Off, into[:lp.M]) || (u > 0 && !slices.Equal(tmp, gs)) {
					return li
				}
			}
			pf, ok := x.F[li].(PartedFactor)
			if !ok || !pf.LogAbsDetParts(dst, func(b int) int { return gs[b] }) {
				return li
			}
		default: // one block: all of it in one group
			g0 := -2
			for _, k := range lp.Unknowns {
				at := an.Atoms[k]
				tmp = slices.Grow(tmp[:0], at.Len)[:at.Len]
				if !group(at.Var, at.Off, tmp) {
					return li
				}
				for _, g := range tmp {
					if g0 != -2 && g != g0 {
						return li
					}
					g0 = g
				}
			}
			dst[g0] += x.F[li].LogAbsDet()
		}
	}
	return -1
}
