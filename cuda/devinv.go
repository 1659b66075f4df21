package cuda

import (
	"errors"
	"fmt"
	"slices"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/tape"
)

// The inverse products on the device: the sweeps of package inverse
// (inverse/solve.go) over the same lump analysis, with the vectors in
// device memory and each op's rules run by its kernels: steps (the op's
// own factor), copies, expansions, batch lumps (their K×K blocks built from
// JVP columns and factorized by the device's batched LU) and dense lumps
// (built on the device, LU-factorized on the host, solved by products with
// A⁻¹ on the device).

// devInv is the inverse-mode half of a device Linearization: the lumps and
// their factors on the device.
type devInv struct {
	an *lump.Analysis
	*lump.Layout
	facs          []devFactor
	logdet        float64
	node          map[*tape.Node]int // a node's index in the program
	lens          []int              // per var id
	input, output int                // the program's input and output ids
}

// prepare analyzes the program and factorizes its lumps on first use.
// The caller holds l.mu.
func (l *Linearization) prepare() (*devInv, error) {
	if !l.done {
		l.done = true
		l.inv, l.ierr = l.buildInverse()
	}
	return l.inv, l.ierr
}

func (l *Linearization) buildInverse() (*devInv, error) {
	an, err := lump.Analyze(l.prog, lump.DefaultMaxWidth)
	if err != nil {
		return nil, err
	}
	s := &devInv{an: an, facs: make([]devFactor, len(an.Lumps)), node: map[*tape.Node]int{},
		lens: make([]int, l.prog.NumVars), input: l.prog.Input.ID(), output: l.prog.Output.ID()}
	for i, nd := range l.prog.Nodes {
		s.node[nd] = i
		s.lens[nd.Out.ID()] = nd.Out.Len()
	}
	s.lens[s.input] = l.n
	s.Layout = an.Layout()
	e := &seq{b: l.be}
	for li, lp := range an.Lumps {
		var f devFactor
		switch lp.Kind {
		case lump.Step:
			nd := lp.Node
			f, err = e.factor(l.ops[s.node[nd]], nd, lp.Input, l.values(e, nd.In), l.val[nd.Out.ID()])
			if err != nil {
				var se *tape.SingularError
				if errors.As(err, &se) {
					c := *se
					c.Pos = nd.Pos
					err = &c
				} else if e.err == nil {
					err = fmt.Errorf("cuda: op %s at tape position %d: %w", nd.Op.Name(), nd.Pos, err)
				}
			}
		case lump.Batch:
			f, err = l.factorBatch(s, li)
		case lump.DenseLump:
			f, err = l.factorDense(s, li)
		default:
			continue
		}
		if err != nil {
			s.free()
			return nil, err
		}
		s.facs[li] = f
		s.logdet += f.logAbsDet()
	}
	return s, nil
}

// free frees the factors' device memory.
func (s *devInv) free() {
	for _, f := range s.facs {
		if f != nil {
			f.free()
		}
	}
}

// blockError reports a refused lump as the CPU backend does.
func (s *devInv) blockError(li int, pivot float64, why string) error {
	e := &lump.SingularBlockError{Block: li, Size: s.an.Lumps[li].Width, Cond: pivot}
	for _, q := range s.an.Lumps[li].Eqs {
		if nd := s.an.Eqs[q].Node; nd != nil && (len(e.Nodes) == 0 || e.Nodes[len(e.Nodes)-1] != nd.Pos) {
			e.Ops, e.Nodes = append(e.Ops, nd.Op.Name()), append(e.Nodes, nd.Pos)
		}
	}
	return fmt.Errorf("cuda: %s: %w", why, e)
}

// column evaluates the created equations of lump li with the killed
// tangent unit on atom u (zero on the other killed atoms), the internal
// values propagated from it into trial, and nothing known: one column of
// A = ∂Created/∂Killed (of every block, for a batch).
func (w *sweep) column(li, u int, unit *Tensor, trial map[int]*Tensor, col *Tensor) {
	lp := &w.s.an.Lumps[li]
	as := func(k int) *Tensor {
		if k == u {
			return unit
		}
		return trial[k] // internal atoms; nil for everything else
	}
	w.internalPass(lp, as, false, func(k int) *Tensor { return trial[k] })
	w.evalEqs(lp.Created, as, col, false)
}

func (w *sweep) trialBuffers(lp *lump.Lump) map[int]*Tensor {
	trial := map[int]*Tensor{}
	for _, q := range lp.Internal {
		k := w.s.an.Eqs[q].Self
		trial[k] = w.keepScratch(w.s.an.Atoms[k].Len)
	}
	return trial
}

// batchDev is a batch lump's M independent K×K blocks, LU-factorized on
// the device.
type batchDev struct {
	lu     *BatchLU
	logdet float64
}

func (f *batchDev) solve(e *seq, dst, v *Tensor)  { e.run(func() error { return f.lu.Solve(dst, v) }) }
func (f *batchDev) solveT(e *seq, dst, v *Tensor) { e.run(func() error { return f.lu.SolveT(dst, v) }) }
func (f *batchDev) logAbsDet() float64            { return f.logdet }
func (f *batchDev) free()                         { f.lu.Free() }

// factorBatch builds a batch lump's blocks on the device, batch-minor
// (entry (i, j) of block b at (i·K+j)·M + b; i over created equations, j
// over killed atoms), one column of every block per killed atom, and
// factorizes them there.
func (l *Linearization) factorBatch(s *devInv, li int) (devFactor, error) {
	lp := &s.an.Lumps[li]
	k, m := lp.K, lp.M
	w := l.newSweep(s)
	defer w.close()
	a := w.keepScratch(k * k * m)
	ones := make([]float64, m)
	for i := range ones {
		ones[i] = 1
	}
	unit := w.upload(ones, m)
	w.tmp = append(w.tmp, unit)
	col := w.keepScratch(k * m)
	trial := w.trialBuffers(lp)
	for j, u := range lp.Killed {
		w.column(li, u, unit, trial, col)
		for i := 0; i < k; i++ {
			w.copy(a.View((i*k+j)*m, m), col.View(i*m, m))
		}
		w.flushExcept(len(lp.Internal) + 3)
	}
	if w.err != nil {
		return nil, w.err
	}
	lu, err := l.be.FactorBatch(a, k, m)
	if err != nil {
		var bs *BatchSingular
		if errors.As(err, &bs) {
			return nil, s.blockError(li, bs.Pivot, bs.Error())
		}
		return nil, err
	}
	ld, err := lu.LogAbsDet()
	if err != nil {
		lu.Free()
		return nil, err
	}
	return &batchDev{lu: lu, logdet: ld}, nil
}

// factorDense builds a dense lump's Width×Width block on the device, one
// column per scalar killed unknown, and factorizes it on the host (the
// block is small: at most lump.DefaultMaxWidth); the solves are products
// with A⁻¹ on the device.
func (l *Linearization) factorDense(s *devInv, li int) (devFactor, error) {
	lp := &s.an.Lumps[li]
	n := lp.Width
	w := l.newSweep(s)
	defer w.close()
	at := w.keepScratch(n * n) // Aᵀ: column c of A is row c here
	trial := w.trialBuffers(lp)
	keep := len(lp.Internal) + 1
	c := 0
	for _, u := range lp.Killed {
		ln := s.an.Atoms[u].Len
		host := make([]float64, ln)
		for e := range host {
			host[e] = 1
			unit := w.upload(host, ln)
			host[e] = 0
			w.tmp = append(w.tmp, unit)
			w.column(li, u, unit, trial, at.View(c*n, n))
			w.flushExcept(keep)
			c++
		}
	}
	ath := w.download(at)
	if w.err != nil {
		return nil, w.err
	}
	a := make([]float64, n*n)
	for r := range n {
		for c := range n {
			a[r*n+c] = ath[c*n+r]
		}
	}
	lu, sing := cpu.FactorLU(a, n)
	if sing != nil {
		return nil, s.blockError(li, sing.Pivot, sing.Why)
	}
	f := &kronDev{k: n, c: 1, left: true, logdet: lu.LogAbsDet()}
	e := &seq{b: l.be}
	if f.winv = e.upload(lu.Inverse(), n, n); e.err != nil {
		return nil, e.err
	}
	return f, nil
}

// sweep is one inverse product's state: the unknowns' vectors (u, per
// base value) and the temporaries of the lump at hand.
type sweep struct {
	*seq
	l   *Linearization
	s   *devInv
	u   []*Tensor
	tmp []*Tensor
}

func (l *Linearization) newSweep(s *devInv) *sweep {
	return &sweep{seq: &seq{b: l.be}, l: l, s: s, u: make([]*Tensor, l.prog.NumVars)}
}

// ubuf returns base value id's vector, zeroed on first use.
func (w *sweep) ubuf(id int) *Tensor {
	if w.u[id] == nil {
		w.u[id] = w.zeros(w.s.lens[id])
	}
	return w.u[id]
}

// atom returns atom k's range of its value's vector.
func (w *sweep) atom(k int) *Tensor {
	at := w.s.an.Atoms[k]
	return w.ubuf(at.Var).View(at.Off, at.Len)
}

// scratch returns a temporary of n elements (zeroed if asked), freed at the
// end of the lump.
func (w *sweep) scratch(n int, zero bool) *Tensor {
	t := w.alloc(n)
	if zero {
		w.zero(t)
	}
	w.tmp = append(w.tmp, t)
	return t
}

// keepScratch returns a temporary of n elements (uninitialized) that
// flushExcept keeps: take those first, before any other temporary.
func (w *sweep) keepScratch(n int) *Tensor { return w.scratch(n, false) }

// flushExcept frees the temporaries after the first keep.
func (w *sweep) flushExcept(keep int) {
	w.free(w.tmp[keep:]...)
	w.tmp = w.tmp[:keep]
}

func (w *sweep) flush() {
	w.free(w.tmp...)
	w.tmp = w.tmp[:0]
}

func (w *sweep) close() {
	w.flush()
	w.free(w.u...)
}

type assign func(atom int) *Tensor

// lumpAssignKnown assigns only the atoms known before lump li.
func (w *sweep) lumpAssignKnown(li int) assign {
	an := w.s.an
	return func(k int) *Tensor {
		if lk := an.LumpOf[k]; lk < 0 || lk >= li {
			return nil
		}
		return w.atom(k)
	}
}

// lumpAssign assigns the atoms known before lump li, and within the lump
// its internal atoms (and its killed ones if withKilled); nil elsewhere.
func (w *sweep) lumpAssign(li int, withKilled bool) assign {
	an := w.s.an
	return func(k int) *Tensor {
		lk := an.LumpOf[k]
		if lk < 0 || lk > li || (lk == li && w.s.Killed[k] && !withKilled) {
			return nil
		}
		return w.atom(k)
	}
}

// inputTangent builds the tangent of an op input from an assignment, nil
// if it is all zero.
func (w *sweep) inputTangent(in *tape.Var, as assign, direct bool) *Tensor {
	an := w.s.an
	segs := an.Segs(in)
	if len(segs) == 1 && segs[0].Var >= 0 {
		if atoms := an.AtomsIn(segs[0].Var, segs[0].Off, segs[0].Len); len(atoms) == 1 && an.Atoms[atoms[0]].Len == in.Len() {
			if src := as(atoms[0]); src != nil {
				return src.View(0, in.Shape()...)
			}
			return nil
		}
	}
	if direct && len(segs) == 1 && segs[0].Var == in.ID() {
		all := true
		for _, k := range an.AtomsIn(in.ID(), 0, in.Len()) {
			all = all && as(k) != nil
		}
		if all {
			return w.ubuf(in.ID()).View(0, in.Shape()...)
		}
	}
	var t *Tensor
	for _, sg := range segs {
		if sg.Var < 0 {
			continue
		}
		for _, k := range an.AtomsIn(sg.Var, sg.Off, sg.Len) {
			src := as(k)
			if src == nil {
				continue
			}
			if t == nil {
				t = w.scratch(in.Len(), true).View(0, in.Shape()...)
			}
			at := an.Atoms[k]
			w.copy(t.View(sg.Pos+at.Off-sg.Off, at.Len), src)
		}
	}
	return t
}

// nodeJVP returns Σ_i J_i t_i for the assignment, nil if every t_i is zero.
func (w *sweep) nodeJVP(nd *tape.Node, as assign, direct bool) *Tensor {
	ts := make([]*Tensor, len(nd.In))
	any := false
	for i, in := range nd.In {
		if !in.IsConst() {
			ts[i] = w.inputTangent(in, as, direct)
		}
		any = any || ts[i] != nil
	}
	if !any {
		return nil
	}
	dst := w.scratch(nd.Out.Len(), false).View(0, nd.Out.Shape()...)
	w.jvp(w.l.ops[w.s.node[nd]], dst, w.l.values(w.seq, nd.In), w.l.val[nd.Out.ID()], ts)
	return dst
}

// evalEqs writes Σ_U C_{q,U} a_U for each equation q of eqs into dst, the
// equations' rows one after another.
func (w *sweep) evalEqs(eqs []int, as assign, dst *Tensor, direct bool) {
	var jv *Tensor
	var last *tape.Node
	off := 0
	for _, q := range eqs {
		eq := &w.s.an.Eqs[q]
		rows := dst.View(off, eq.Len)
		off += eq.Len
		if eq.Node == nil {
			if src := as(eq.Touch[0].Atom); src != nil {
				w.copy(rows, src)
			} else {
				w.zero(rows)
			}
			continue
		}
		if eq.Node != last {
			jv, last = w.nodeJVP(eq.Node, as, direct), eq.Node
		}
		if jv != nil {
			w.scale(rows, eq.Sign(), jv.View(eq.Off, eq.Len))
		} else {
			w.zero(rows)
		}
		if eq.Self >= 0 {
			if src := as(eq.Self); src != nil {
				w.axpy(rows, 1, src)
			}
		}
	}
}

// internalPass computes the lump's internal values from the assignment, in
// tape order: u_v = J_v·(inputs) on each internal equation's rows, written
// to out(atom) (the atoms' own vectors when out is nil). direct is
// inputTangent's.
func (w *sweep) internalPass(lp *lump.Lump, as assign, direct bool, out func(atom int) *Tensor) {
	if out == nil {
		out = w.atom
	}
	var last *tape.Node
	var jv *Tensor
	for _, q := range lp.Internal {
		eq := &w.s.an.Eqs[q]
		if eq.Node != last {
			jv, last = w.nodeJVP(eq.Node, as, direct), eq.Node
		}
		dst := out(eq.Self)
		if jv == nil {
			w.zero(dst)
		} else {
			w.copy(dst, jv.View(eq.Off, eq.Len))
		}
	}
}

func (w *sweep) solveLump(li int, x, r *Tensor, trans bool) {
	lp := &w.s.an.Lumps[li]
	switch lp.Kind {
	case lump.Step:
		if trans {
			w.s.facs[li].solveT(w.seq, x, r)
		} else {
			w.s.facs[li].solve(w.seq, x, r)
		}
		if w.s.an.Eqs[lp.Eqs[0]].Sign() < 0 {
			w.scale(x, -1, x)
		}
	case lump.Batch, lump.DenseLump:
		if trans {
			w.s.facs[li].solveT(w.seq, x, r)
		} else {
			w.s.facs[li].solve(w.seq, x, r)
		}
	case lump.Copy:
		w.copy(x, r)
	default:
		panic(fmt.Sprintf("cuda: no device solve for a %v lump", lp.Kind))
	}
}

func (w *sweep) scatter(li int, x *Tensor) {
	for _, p := range w.s.Places[li] {
		at := w.s.an.Atoms[p[0]]
		w.copy(w.atom(p[0]), x.View(p[1], at.Len))
	}
}

func (w *sweep) gather(li int, x *Tensor) {
	for _, p := range w.s.Places[li] {
		at := w.s.an.Atoms[p[0]]
		w.copy(x.View(p[1], at.Len), w.atom(p[0]))
	}
}

// pivotBuffer returns the vector of a Step's pivot input when that input is
// a base value (not a relabelling).
func (w *sweep) pivotBuffer(lp *lump.Lump) (*Tensor, bool) {
	if lp.Kind != lump.Step {
		return nil, false
	}
	in := lp.Node.In[lp.Input]
	segs := w.s.an.Segs(in)
	if len(segs) != 1 || segs[0].Var != in.ID() {
		return nil, false
	}
	return w.ubuf(in.ID()), true
}

// beginSweep checks a device product's operands, takes the Linearization's
// lock (endSweep gives it back), analyzes and factorizes on first use, and
// starts a sweep.
func (l *Linearization) beginSweep(name string, dst, arg *Tensor) (*sweep, *devInv, error) {
	checkDev(name, dst, arg, l.n, l.n)
	l.enter(name)
	s, err := l.prepare()
	if err != nil {
		return nil, nil, err
	}
	return l.newSweep(s), s, nil
}

// endSweep frees the sweep's vectors and gives the lock back.
func (l *Linearization) endSweep(w *sweep) {
	if w != nil {
		w.close()
	}
	l.mu.Unlock()
}

// IJVPDevice writes J⁻¹·dy into dst (device tensors of n elements, not the
// same memory) by a reverse sweep over the lumps on the device. The first
// inverse product analyzes the program and factorizes its lumps.
func (l *Linearization) IJVPDevice(dst, dy *Tensor) error {
	w, s, err := l.beginSweep("IJVP", dst, dy)
	defer l.endSweep(w)
	if err != nil {
		return err
	}
	an := s.an
	for li := range an.Lumps {
		lp := &an.Lumps[li]
		switch lp.Kind {
		case lump.Copy:
			eq := &an.Eqs[lp.Eqs[0]]
			w.copy(w.atom(lp.Unknowns[0]), dy.View(eq.Off, eq.Len))
			continue
		case lump.Expansion:
			w.internalPass(lp, w.lumpAssign(li, false), true, nil)
			w.flush()
			continue
		}
		if dstp, ok := w.pivotBuffer(lp); ok {
			// J_p⁻¹ (t − J_others·u_others), t the op's own tangent (dy for
			// the output), solved straight into the pivot's vector.
			nd := lp.Node
			var src *Tensor
			if an.Eqs[lp.Eqs[0]].Out {
				src = dy
			} else {
				src = w.ubuf(nd.Out.ID())
			}
			if jv := w.nodeJVP(nd, w.lumpAssign(li, false), true); jv != nil {
				w.subFrom(jv, src.View(0, jv.Shape()...))
				src = jv
			}
			s.facs[li].solve(w.seq, dstp, src)
			w.flush()
			continue
		}
		as := w.lumpAssign(li, false)
		if len(lp.Internal) > 0 {
			if s.InternalKnown[li] {
				w.internalPass(lp, as, true, nil)
			} else {
				// No known value feeds the internal values: with the killed
				// ones still zero they are zero too, and count as absent.
				as = w.lumpAssignKnown(li)
			}
		}
		n := s.an.Rows(lp.Created)
		rhs, sol := w.scratch(n, false), w.scratch(n, false)
		// rhs = t − C·(known and internal values), t = dy on the output's rows.
		w.evalEqs(lp.Created, as, rhs, true)
		off := 0
		for _, q := range lp.Created {
			eq := &an.Eqs[q]
			seg := rhs.View(off, eq.Len)
			if eq.Out {
				w.subFrom(seg, dy.View(eq.Off, eq.Len))
			} else {
				w.scale(seg, -1, seg)
			}
			off += eq.Len
		}
		w.solveLump(li, sol, rhs, false)
		w.scatter(li, sol)
		if len(lp.Internal) > 0 {
			w.internalPass(lp, w.lumpAssign(li, true), true, nil)
		}
		w.flush()
	}
	w.copy(dst, w.ubuf(s.input))
	return w.err
}

// VIJPDevice writes J⁻ᵀ·cx into dst by a forward sweep over the lumps (in
// reverse order of IJVP's) on the device.
func (l *Linearization) VIJPDevice(dst, cx *Tensor) error {
	w, s, err := l.beginSweep("VIJP", dst, cx)
	defer l.endSweep(w)
	if err != nil {
		return err
	}
	w.zero(dst)
	for li := len(s.an.Lumps) - 1; li >= 0; li-- {
		w.vijpLump(li, dst, cx)
		w.flush()
	}
	return w.err
}

func (w *sweep) vijpLump(li int, res, cx *Tensor) {
	s, an := w.s, w.s.an
	lp := &an.Lumps[li]
	if r, ok := w.pivotBuffer(lp); ok {
		// r = b − acc on the pivot, c = J_p⁻ᵀ r is the op's cotangent; λ
		// goes to the op's own accumulator (or to cy for the output) and c
		// to the op's other inputs.
		nd := lp.Node
		if nd.In[lp.Input].ID() == s.input {
			w.subFrom(r, cx)
		} else {
			w.scale(r, -1, r)
		}
		c := w.scratch(nd.Out.Len(), false)
		s.facs[li].solveT(w.seq, c, r)
		if an.Eqs[lp.Eqs[0]].Out {
			w.copy(res, c)
		} else {
			w.axpy(w.ubuf(nd.Out.ID()), -1, c)
		}
		w.pushCot(nd, c, nil, false, nd.In[lp.Input].ID())
		return
	}
	if lp.Kind == lump.Expansion && !s.InternalRead[li] {
		return // nothing reads its values outside: λ = 0
	}
	lam := w.scratch(s.an.Rows(lp.Eqs), false)
	lamOf := func(q int) *Tensor {
		i, _ := slices.BinarySearch(lp.Eqs, q)
		return lam.View(s.EqOff[li][i], an.Eqs[q].Len)
	}
	for _, k := range lp.Killed {
		at := an.Atoms[k]
		r := w.atom(k)
		if at.Var == s.input {
			w.subFrom(r, cx.View(at.Off, at.Len))
		} else {
			w.scale(r, -1, r)
		}
	}
	if len(lp.Internal) > 0 && s.InternalRead[li] && lp.Kind != lump.Expansion {
		// Fold −C_IKᵀ C_IIᵀ⁻¹ r_I into the killed atoms, by one backward
		// pass over the internal equations restricted to the lump; acc_I
		// is kept aside and put back for the final sweep.
		mu := w.scratch(s.an.Rows(lp.Internal), false)
		off := 0
		for _, q := range lp.Internal {
			a := w.atom(an.Eqs[q].Self)
			w.copy(mu.View(off, a.Len()), a)
			w.scale(a, -1, a)
			off += a.Len()
		}
		w.reverseInternal(lp, 1, func(k int) bool { return an.LumpOf[k] == li }, true)
		off = 0
		for _, q := range lp.Internal {
			a := w.atom(an.Eqs[q].Self)
			w.copy(a, mu.View(off, a.Len()))
			off += a.Len()
		}
	}
	if lp.Kind != lump.Expansion {
		n := s.an.Rows(lp.Created)
		rhs, sol := w.scratch(n, false), w.scratch(n, false)
		w.gather(li, rhs)
		w.solveLump(li, sol, rhs, true)
		off := 0
		for _, q := range lp.Created {
			eq := &an.Eqs[q]
			lq := lamOf(q)
			w.copy(lq, sol.View(off, eq.Len))
			off += eq.Len
			if eq.Out {
				w.copy(res.View(eq.Off, eq.Len), lq)
			}
			if eq.Self >= 0 {
				w.axpy(w.atom(eq.Self), 1, lq)
			}
		}
		for i := 0; i < len(lp.Created); {
			nd := an.Eqs[lp.Created[i]].Node
			j := i + 1
			for j < len(lp.Created) && nd != nil && an.Eqs[lp.Created[j]].Node == nd {
				j++
			}
			if nd != nil {
				w.push(lp.Created[i:j], lamOf)
			}
			i = j
		}
	}
	w.reverseInternal(lp, -1, nil, false)
}

// reverseInternal runs the lump's internal equations backwards, op by op:
// each equation's λ is sign times the accumulator of its own atom, and its
// Cᵀλ is pushed on as pushCot does with keep and subtract. An internal
// equation is never the output's (its sign is −1), so the op's cotangent
// −λ is written straight from the accumulators.
func (w *sweep) reverseInternal(lp *lump.Lump, sign float64, keep func(int) bool, subtract bool) {
	an := w.s.an
	for j := len(lp.Internal); j > 0; {
		i := j - 1
		nd := an.Eqs[lp.Internal[i]].Node
		for i > 0 && an.Eqs[lp.Internal[i-1]].Node == nd {
			i--
		}
		group := lp.Internal[i:j]
		c := w.scratch(nd.Out.Len(), w.s.an.Rows(group) < nd.Out.Len())
		for _, q := range group {
			eq := &an.Eqs[q]
			w.scale(c.View(eq.Off, eq.Len), -sign, w.atom(eq.Self))
		}
		w.pushCot(nd, c, keep, subtract, -1)
		j = i
	}
}

// push applies the transposed coefficients of equations eqs (all of one op)
// to their λ and adds the result to the accumulators.
func (w *sweep) push(eqs []int, lamOf func(int) *Tensor) {
	an := w.s.an
	nd := an.Eqs[eqs[0]].Node
	c := w.scratch(nd.Out.Len(), w.s.an.Rows(eqs) < nd.Out.Len())
	for _, q := range eqs {
		eq := &an.Eqs[q]
		dst := c.View(eq.Off, eq.Len)
		if eq.Sign() > 0 {
			w.copy(dst, lamOf(q))
		} else {
			w.scale(dst, -1, lamOf(q))
		}
	}
	w.pushCot(nd, c, nil, false, -1)
}

// pushCot adds J_iᵀ c into the accumulators of op nd's varying inputs
// other than value skip (-1: none); with keep, only into the atoms keep
// accepts, subtracting if asked.
func (w *sweep) pushCot(nd *tape.Node, c *Tensor, keep func(int) bool, subtract bool, skip int) {
	an := w.s.an
	ds := make([]*Tensor, len(nd.In))
	any := false
	for i, in := range nd.In {
		if in.IsConst() || in.ID() == skip {
			continue
		}
		any = true
		if j := lump.SlotOf(nd.In, i); j != i {
			ds[i] = ds[j]
			continue
		}
		if segs := an.Segs(in); keep == nil && len(segs) == 1 && segs[0].Var == in.ID() {
			ds[i] = w.ubuf(in.ID()).View(0, in.Shape()...)
		} else {
			ds[i] = w.scratch(in.Len(), true).View(0, in.Shape()...)
		}
	}
	if !any {
		return
	}
	w.vjp(w.l.ops[w.s.node[nd]], ds, w.l.values(w.seq, nd.In), w.l.val[nd.Out.ID()], c.View(0, nd.Out.Shape()...))
	for i, in := range nd.In {
		if in.IsConst() || in.ID() == skip || lump.SlotOf(nd.In, i) != i {
			continue
		}
		segs := an.Segs(in)
		if keep == nil && len(segs) == 1 && segs[0].Var == in.ID() {
			continue // accumulated in place
		}
		for _, sg := range segs {
			if sg.Var < 0 {
				continue
			}
			for _, k := range an.AtomsIn(sg.Var, sg.Off, sg.Len) {
				if keep != nil && !keep(k) {
					continue
				}
				at := an.Atoms[k]
				a := 1.0
				if subtract {
					a = -1
				}
				w.axpy(w.atom(k), a, ds[i].View(sg.Pos+at.Off-sg.Off, at.Len))
			}
		}
	}
}

// LogAbsDet returns log|det J|, the sum over the lumps' factors. The first
// call analyzes and factorizes, as the first inverse product does.
func (l *Linearization) LogAbsDet() (float64, error) {
	l.enter("LogAbsDet")
	defer l.mu.Unlock()
	s, err := l.prepare()
	if err != nil {
		return 0, err
	}
	return s.logdet, nil
}
