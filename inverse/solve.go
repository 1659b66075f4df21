package inverse

import (
	"errors"
	"fmt"
	"slices"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// invState is the inverse-mode half of a Linearization, built once on the
// first inverse product: the lumps and their factorizations.
type invState struct {
	// val gives an op's value: the tape's, or in a tapeless sweep the
	// streamed one.
	val func(*tape.Var) *tensor.Tensor
	an  *lump.Analysis
	*lump.Layout
	facs   []lumpFactor
	logdet float64
	// base lists the values that hold unknowns (x and op outputs except y
	// when y is an op's output), with their sizes.
	base []*tape.Var
}

type lumpFactor struct {
	step  tape.Factor
	batch *cpu.BatchLU
	dense *cpu.LU
}

// prepare analyzes the program and factorizes every lump, once.
func (l *Linearization) prepare() (*invState, error) {
	l.invOnce.Do(func() {
		l.inv, l.invErr = l.buildInverse()
	})
	return l.inv, l.invErr
}

func (l *Linearization) buildInverse() (*invState, error) {
	an, err := lump.Analyze(l.prog, l.maxWidth)
	if err != nil {
		return nil, err
	}
	s := newInvState(an, func(v *tape.Var) *tensor.Tensor { return v.Value() })
	w := l.newInvWS(s)
	for li := range an.Lumps {
		if err := s.factor(w, li); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// newInvState lays out an analysis for the sweeps; val gives op values.
func newInvState(an *lump.Analysis, val func(*tape.Var) *tensor.Tensor) *invState {
	s := &invState{an: an, val: val, facs: make([]lumpFactor, len(an.Lumps))}
	vars := map[int]*tape.Var{an.Prog.Input.ID(): an.Prog.Input}
	for _, nd := range an.Prog.Nodes {
		vars[nd.Out.ID()] = nd.Out
	}
	seen := map[int]bool{}
	for k, at := range an.Atoms {
		if an.LumpOf[k] >= 0 && !seen[at.Var] {
			seen[at.Var] = true
			s.base = append(s.base, vars[at.Var])
		}
	}
	s.Layout = an.Layout()
	return s
}

// factor factorizes lump li from the values at hand and adds its
// log|det A| to the total.
func (s *invState) factor(w *invWS, li int) error {
	lp := &s.an.Lumps[li]
	switch lp.Kind {
	case lump.Step:
		nd := lp.Node
		f, err := nd.Op.Inverse(lp.Input, s.values(nd.In), s.val(nd.Out))
		if err != nil {
			var se *tape.SingularError
			if errors.As(err, &se) {
				c := *se
				c.Pos = nd.Pos
				return &c
			}
			return fmt.Errorf("inverse: op %s at tape position %d: %w", nd.Op.Name(), nd.Pos, err)
		}
		s.facs[li].step = f
		s.logdet += f.LogAbsDet()
	case lump.Batch:
		a := s.extractBatch(w, li)
		f, sing := cpu.FactorBatch(a, lp.K, lp.M)
		w.release(a) // FactorBatch keeps its own copy
		if sing != nil {
			return s.blockError(li, sing.Pivot, sing.Error())
		}
		s.facs[li].batch = f
		s.logdet += f.LogAbsDet()
	case lump.DenseLump:
		a := s.extractDense(w, li)
		f, sing := cpu.FactorLU(a, lp.Width)
		w.release(a) // FactorLU keeps its own copy
		if sing != nil {
			return s.blockError(li, sing.Pivot, sing.Why)
		}
		s.facs[li].dense = f
		s.logdet += f.LogAbsDet()
	}
	return nil
}

func (s *invState) blockError(li int, pivot float64, why string) error {
	e := &lump.SingularBlockError{Block: li, Size: s.an.Lumps[li].Width, Cond: pivot}
	for _, q := range s.an.Lumps[li].Eqs {
		if nd := s.an.Eqs[q].Node; nd != nil && (len(e.Nodes) == 0 || e.Nodes[len(e.Nodes)-1] != nd.Pos) {
			e.Ops, e.Nodes = append(e.Ops, nd.Op.Name()), append(e.Nodes, nd.Pos)
		}
	}
	return fmt.Errorf("inverse: %s: %w", why, e)
}

func (s *invState) values(vs []*tape.Var) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		out[i] = s.val(v)
	}
	return out
}

// ---- workspaces ----

// invWS holds one inverse sweep's buffers: u[id] is the tangent (IJVP) or
// accumulated cotangent (VIJP) of base value id.
type invWS struct {
	u     [][]float64 // per var id, allocated on first use
	bytes int64       // bytes allocated in u
	lens  []int       // per var id: its number of elements
	// Scratch tensors, keyed by (value id, role): gath for an op input's
	// gathered tangent or cotangent (role: the input's first slot in its
	// op), jv for an op output's product (role -1). Their data is shared
	// by role and length (bufs), since at most one op's scratch is in use
	// at a time: the memory is one buffer per input slot and length, not
	// one per value.
	gath map[[2]int]*tensor.Tensor
	jv   map[[2]int]*tensor.Tensor
	bufs map[[2]int][]float64
	// free holds released buffers by length, for take: a factorization's
	// scratch and a tapeless sweep's dropped accumulators serve the next
	// lump instead of new memory (which at large n costs page faults).
	free      map[int][][]float64
	freeBytes int64 // bytes held in free
	rhs       []float64
	sol       []float64
	lam       []float64
	mu        []float64
	ins       []*tensor.Tensor
	ts        []*tensor.Tensor
}

func (l *Linearization) newInvWS(s *invState) *invWS {
	w := newInvWS(l.prog)
	for _, v := range s.base {
		w.ubuf(v.ID())
	}
	return w
}

func newInvWS(p *tape.Program) *invWS {
	w := &invWS{u: make([][]float64, p.NumVars), lens: make([]int, p.NumVars), gath: map[[2]int]*tensor.Tensor{}, jv: map[[2]int]*tensor.Tensor{}, bufs: map[[2]int][]float64{},
		free: map[int][][]float64{}}
	w.lens[p.Input.ID()] = p.Input.Len()
	for _, nd := range p.Nodes {
		w.lens[nd.Out.ID()] = nd.Out.Len()
	}
	return w
}

// ubuf returns the buffer of base value id, taking it (zeroed) on first use.
func (w *invWS) ubuf(id int) []float64 {
	if w.u[id] == nil {
		w.u[id] = w.take(w.lens[id])
		w.bytes += int64(w.lens[id]) * 8
	}
	return w.u[id]
}

// take returns a zeroed buffer of length n: a released one, or new memory.
func (w *invWS) take(n int) []float64 {
	if l := w.free[n]; len(l) > 0 {
		b := l[len(l)-1]
		w.free[n] = l[:len(l)-1]
		w.freeBytes -= int64(n) * 8
		clear(b)
		return b
	}
	return make([]float64, n)
}

// release hands buffers that are no longer read back to take.
func (w *invWS) release(bs ...[]float64) {
	for _, b := range bs {
		if len(b) > 0 {
			w.free[len(b)] = append(w.free[len(b)], b)
			w.freeBytes += int64(len(b)) * 8
		}
	}
}

// scratch returns the scratch tensor of value v in the given role (see
// invWS.gath), shaped like v, its contents left as the last user left them.
func (w *invWS) scratch(m map[[2]int]*tensor.Tensor, v *tape.Var, role int) *tensor.Tensor {
	key := [2]int{v.ID(), role}
	t := m[key]
	if t == nil {
		bk := [2]int{role, v.Len()}
		b := w.bufs[bk]
		if b == nil {
			b = make([]float64, v.Len())
			w.bufs[bk] = b
		}
		t = tensor.New(v.Shape(), b)
		m[key] = t
	}
	return t
}

func grow(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

// assign gives the tangent of an atom, or nil for a zero tangent.
type assign func(atom int) []float64

// knownBefore assigns the current values of atoms solved in lumps before li.
func (s *invState) knownBefore(w *invWS, li int) assign {
	return func(k int) []float64 {
		if s.an.LumpOf[k] < 0 || s.an.LumpOf[k] >= li {
			return nil
		}
		at := s.an.Atoms[k]
		return w.ubuf(at.Var)[at.Off : at.Off+at.Len]
	}
}

// inputTangent builds the tangent of an op input from an assignment, nil if
// it is all zero. A base input whose atoms are all assigned from w.u is
// passed without copying.
func (s *invState) inputTangent(w *invWS, in *tape.Var, slot int, as assign, direct bool) *tensor.Tensor {
	segs := s.an.Segs(in)
	if len(segs) == 1 && segs[0].Var >= 0 {
		// The input is one whole atom (or a relabelling of one): its
		// assigned slice serves as it is, without a copy.
		if atoms := s.an.AtomsIn(segs[0].Var, segs[0].Off, segs[0].Len); len(atoms) == 1 && s.an.Atoms[atoms[0]].Len == in.Len() {
			if src := as(atoms[0]); src != nil {
				return tensor.New(in.Shape(), src)
			}
			return nil
		}
	}
	if direct && len(segs) == 1 && segs[0].Var == in.ID() {
		all := true
		for _, k := range s.an.AtomsIn(in.ID(), 0, in.Len()) {
			all = all && as(k) != nil
		}
		if all {
			return tensor.New(in.Shape(), w.ubuf(in.ID()))
		}
	}
	var t *tensor.Tensor
	for _, sg := range segs {
		if sg.Var < 0 {
			continue
		}
		for _, k := range s.an.AtomsIn(sg.Var, sg.Off, sg.Len) {
			src := as(k)
			if src == nil {
				continue
			}
			if t == nil {
				t = w.scratch(w.gath, in, slot)
				clear(t.Data())
			}
			at := s.an.Atoms[k]
			copy(t.Data()[sg.Pos+at.Off-sg.Off:], src)
		}
	}
	return t
}

// nodeJVP returns Σ_i J_i t_i for the assignment, nil if every t_i is zero.
func (s *invState) nodeJVP(w *invWS, nd *tape.Node, as assign, direct bool) *tensor.Tensor {
	w.ins, w.ts = w.ins[:0], w.ts[:0]
	any := false
	for i, in := range nd.In {
		w.ins = append(w.ins, s.val(in))
		var t *tensor.Tensor
		if !in.IsConst() {
			t = s.inputTangent(w, in, lump.SlotOf(nd.In, i), as, direct)
		}
		w.ts = append(w.ts, t)
		any = any || t != nil
	}
	if !any {
		return nil
	}
	dst := w.scratch(w.jv, nd.Out, -1)
	nd.Op.JVP(dst, w.ins, s.val(nd.Out), w.ts)
	return dst
}

// evalEqs writes, for each equation q of eqs, the rows Σ_U C_{q,U} a_U into
// dst[off_q:...] (equations laid out one after another), with C the
// extended system's coefficients: +I on an equation's own value and on a
// pinned atom, sign·J on op inputs.
func (s *invState) evalEqs(w *invWS, eqs []int, as assign, dst []float64, direct bool) {
	var jv *tensor.Tensor
	var last *tape.Node
	off := 0
	for _, q := range eqs {
		eq := &s.an.Eqs[q]
		rows := dst[off : off+eq.Len]
		off += eq.Len
		clear(rows)
		if eq.Node == nil {
			if src := as(eq.Touch[0].Atom); src != nil {
				copy(rows, src)
			}
			continue
		}
		if eq.Node != last {
			jv, last = s.nodeJVP(w, eq.Node, as, direct), eq.Node
		}
		if jv != nil {
			vscaleTo(rows, eq.Sign(), jv.Data()[eq.Off:eq.Off+eq.Len])
		}
		if eq.Self >= 0 {
			if src := as(eq.Self); src != nil {
				vaxpy(rows, 1, src)
			}
		}
	}
}

// lumpAssign assigns the atoms known before lump li from w.u, and within
// the lump its internal atoms (and its killed ones if withKilled), also from
// w.u; everything else is zero.
func (s *invState) lumpAssign(w *invWS, li int, withKilled bool) assign {
	return func(k int) []float64 {
		lk := s.an.LumpOf[k]
		if lk < 0 || lk > li || (lk == li && s.Killed[k] && !withKilled) {
			return nil
		}
		at := s.an.Atoms[k]
		return w.ubuf(at.Var)[at.Off : at.Off+at.Len]
	}
}

// lumpAssignKnown assigns only the atoms known before lump li.
func (s *invState) lumpAssignKnown(w *invWS, li int) assign {
	return func(k int) []float64 {
		if lk := s.an.LumpOf[k]; lk < 0 || lk >= li {
			return nil
		}
		at := s.an.Atoms[k]
		return w.ubuf(at.Var)[at.Off : at.Off+at.Len]
	}
}

// internalPass computes the lump's internal values from the assignment, in
// tape order: u_v = J_v·(inputs) on each internal equation's rows, written
// to out(atom). The assignment must return out's slices for internal atoms.
func (s *invState) internalPass(w *invWS, lp *lump.Lump, as assign, direct bool, out func(atom int) []float64) {
	var last *tape.Node
	var jv *tensor.Tensor
	for _, q := range lp.Internal {
		eq := &s.an.Eqs[q]
		if eq.Node != last {
			jv, last = s.nodeJVP(w, eq.Node, as, direct), eq.Node
		}
		dst := out(eq.Self)
		if jv == nil {
			clear(dst)
		} else {
			copy(dst, jv.Data()[eq.Off:eq.Off+eq.Len])
		}
	}
}

// column evaluates the created equations of lump li with the killed
// tangent given by unit (on atom u, zero on the other killed atoms), the
// internal values propagated from it, and nothing known: one column (or, for
// a batch, one column of every block) of A = ∂Created/∂Killed.
func (s *invState) column(w *invWS, li, u int, unit []float64, trial map[int][]float64, col []float64) {
	lp := &s.an.Lumps[li]
	as := func(k int) []float64 {
		if k == u {
			return unit
		}
		return trial[k] // internal atoms; nil for everything else
	}
	s.internalPass(w, lp, as, false, func(k int) []float64 { return trial[k] })
	s.evalEqs(w, lp.Created, as, col, false)
}

func (s *invState) trialBuffers(w *invWS, lp *lump.Lump) map[int][]float64 {
	trial := map[int][]float64{}
	for _, q := range lp.Internal {
		k := s.an.Eqs[q].Self
		trial[k] = w.take(s.an.Atoms[k].Len)
	}
	return trial
}

// releaseTrial hands a lump's trial buffers back to w.
func releaseTrial(w *invWS, trial map[int][]float64) {
	for _, b := range trial {
		w.release(b)
	}
}

// extractBatch builds the K×K blocks of a batch lump, batch-minor:
// entry (i, j) of block b at [(i·K+j)·M + b], i over created equations and
// j over killed atoms.
func (s *invState) extractBatch(w *invWS, li int) []float64 {
	lp := &s.an.Lumps[li]
	k, m := lp.K, lp.M
	a := w.take(k * k * m)
	ones := w.take(m)
	for i := range ones {
		ones[i] = 1
	}
	col := w.take(k * m)
	trial := s.trialBuffers(w, lp)
	for j, u := range lp.Killed {
		s.column(w, li, u, ones, trial, col)
		for i := 0; i < k; i++ {
			copy(a[(i*k+j)*m:(i*k+j+1)*m], col[i*m:(i+1)*m])
		}
	}
	releaseTrial(w, trial)
	w.release(ones, col)
	return a
}

// extractDense builds a dense lump's Width×Width block A, one column per
// scalar killed unknown.
func (s *invState) extractDense(w *invWS, li int) []float64 {
	lp := &s.an.Lumps[li]
	n := lp.Width
	a := w.take(n * n)
	col := w.take(n)
	trial := s.trialBuffers(w, lp)
	c := 0
	for _, u := range lp.Killed {
		unit := make([]float64, s.an.Atoms[u].Len)
		for e := range unit {
			unit[e] = 1
			s.column(w, li, u, unit, trial, col)
			for r, v := range col {
				a[r*n+c] = v
			}
			unit[e] = 0
			c++
		}
	}
	releaseTrial(w, trial)
	w.release(col)
	return a
}

// ---- the sweeps ----

// ijvp solves J dx = dy lump by lump, from y back to x. In each lump the
// internal values are first propagated from the known ones, the created
// equations give the right-hand side, A solves for the killed unknowns, and
// the internal values are propagated once more with them.
func (l *Linearization) ijvp(s *invState, w *invWS, res, dy *tensor.Tensor) {
	an := s.an
	for li := range an.Lumps {
		lp := &an.Lumps[li]
		switch lp.Kind {
		case lump.Copy:
			eq := &an.Eqs[lp.Eqs[0]]
			at := an.Atoms[lp.Unknowns[0]]
			copy(w.ubuf(at.Var)[at.Off:at.Off+at.Len], dy.Data()[eq.Off:eq.Off+eq.Len])
			continue
		case lump.Expansion:
			s.internalPass(w, lp, s.lumpAssign(w, li, false), true, w.atomSlice(an))
			continue
		}
		if s.ijvpStep(w, li, dy) {
			continue
		}
		as := s.lumpAssign(w, li, false)
		if len(lp.Internal) > 0 {
			if s.InternalKnown[li] {
				s.internalPass(w, lp, as, true, w.atomSlice(an))
			} else {
				// No known value feeds the internal values: with the killed
				// ones still zero they are zero too, and count as absent.
				as = s.lumpAssignKnown(w, li)
			}
		}
		n := s.an.Rows(lp.Created)
		w.rhs = grow(w.rhs, n)
		w.sol = grow(w.sol, n)
		// rhs = t − C·(known and internal values), t = dy on the output's rows.
		s.evalEqs(w, lp.Created, as, w.rhs, true)
		off := 0
		for _, q := range lp.Created {
			eq := &an.Eqs[q]
			for i := 0; i < eq.Len; i++ {
				t := 0.0
				if eq.Out {
					t = dy.Data()[eq.Off+i]
				}
				w.rhs[off+i] = t - w.rhs[off+i]
			}
			off += eq.Len
		}
		s.solveLump(li, w.sol, w.rhs, false)
		s.scatter(w, li, w.sol)
		if len(lp.Internal) > 0 {
			s.internalPass(w, lp, s.lumpAssign(w, li, true), true, w.atomSlice(an))
		}
	}
	copy(res.Data(), w.ubuf(l.prog.Input.ID()))
}

// atomSlice returns the function giving an atom's slice of w.u.
func (w *invWS) atomSlice(an *lump.Analysis) func(int) []float64 {
	return func(k int) []float64 {
		at := an.Atoms[k]
		return w.ubuf(at.Var)[at.Off : at.Off+at.Len]
	}
}

// solveLump solves A x = r (or Aᵀ x = r) for lump li. For a Step the block
// is sign·J_p with rows in the op's output order and columns in its input's.
func (s *invState) solveLump(li int, x, r []float64, trans bool) {
	lp := &s.an.Lumps[li]
	f := &s.facs[li]
	switch lp.Kind {
	case lump.Step:
		if trans {
			f.step.SolveT(x, r)
		} else {
			f.step.Solve(x, r)
		}
		if sg := s.an.Eqs[lp.Eqs[0]].Sign(); sg < 0 {
			for i := range x {
				x[i] = -x[i]
			}
		}
	case lump.Batch:
		if trans {
			f.batch.SolveT(x, r)
		} else {
			f.batch.Solve(x, r)
		}
	case lump.DenseLump:
		if trans {
			f.dense.SolveT(x, r)
		} else {
			f.dense.Solve(x, r)
		}
	case lump.Copy:
		copy(x, r)
	}
}

func (s *invState) scatter(w *invWS, li int, x []float64) {
	for _, p := range s.Places[li] {
		at := s.an.Atoms[p[0]]
		copy(w.ubuf(at.Var)[at.Off:at.Off+at.Len], x[p[1]:p[1]+at.Len])
	}
}

func (s *invState) gather(w *invWS, li int, x []float64) {
	for _, p := range s.Places[li] {
		at := s.an.Atoms[p[0]]
		copy(x[p[1]:p[1]+at.Len], w.ubuf(at.Var)[at.Off:at.Off+at.Len])
	}
}

// vijp solves Jᵀ cy = cx lump by lump in reverse order. w.u accumulates
// Σ Cᵀλ over the equations already solved. In a lump with internal values
// the transposed elimination runs the internal equations backwards twice:
// once to fold their right-hand sides into the killed ones, once to get
// their own λ from the created equations' λ.
func (l *Linearization) vijp(s *invState, w *invWS, res, cx *tensor.Tensor) {
	an := s.an
	for _, v := range s.base {
		if w.u[v.ID()] != nil {
			vclear(w.u[v.ID()])
		}
	}
	xid := l.prog.Input.ID()
	for li := len(an.Lumps) - 1; li >= 0; li-- {
		s.vijpLump(w, li, xid, res, cx)
	}
}

// vijpLump solves lump li of the transposed system and pushes its λ on.
func (s *invState) vijpLump(w *invWS, li, xid int, res, cx *tensor.Tensor) {
	an := s.an
	lp := &an.Lumps[li]
	if s.vijpStep(w, li, xid, res, cx) {
		return
	}
	if lp.Kind == lump.Expansion && !s.InternalRead[li] {
		return // nothing reads its values outside: λ = 0
	}
	rows := s.an.Rows(lp.Eqs)
	w.lam = grow(w.lam, rows)
	lamOf := func(q int) []float64 {
		i, _ := slices.BinarySearch(lp.Eqs, q)
		o := s.EqOff[li][i]
		return w.lam[o : o+an.Eqs[q].Len]
	}
	// r_K = b_K − acc_K for the killed atoms, in place (b = cx on x). The
	// internal atoms keep acc_I = −r_I: the final sweep below continues
	// from it.
	for _, k := range lp.Killed {
		at := an.Atoms[k]
		r := w.ubuf(at.Var)[at.Off : at.Off+at.Len]
		if at.Var == xid {
			vsubFrom(r, cx.Data()[at.Off:at.Off+at.Len])
		} else {
			vscaleTo(r, -1, r)
		}
	}
	if len(lp.Internal) > 0 && s.InternalRead[li] && lp.Kind != lump.Expansion {
		// Fold −C_IKᵀ C_IIᵀ⁻¹ r_I into the killed atoms (g_K), by one
		// backward pass over the internal equations restricted to the
		// lump; acc_I is kept aside and put back for the final sweep.
		w.mu = w.mu[:0]
		for _, q := range lp.Internal {
			a := w.atomSlice(an)(an.Eqs[q].Self)
			w.mu = append(w.mu, a...)
			for i := range a {
				a[i] = -a[i]
			}
		}
		s.reverseInternal(w, lp, 1, func(k int) bool { return an.LumpOf[k] == li }, true)
		off := 0
		for _, q := range lp.Internal {
			a := w.atomSlice(an)(an.Eqs[q].Self)
			off += copy(a, w.mu[off:off+len(a)])
		}
	}
	if lp.Kind != lump.Expansion {
		// λ_C = A⁻ᵀ g_K, handed to cy and to the created values'
		// accumulators, and pushed through the created equations' ops.
		n := s.an.Rows(lp.Created)
		w.rhs = grow(w.rhs, n)
		w.sol = grow(w.sol, n)
		s.gather(w, li, w.rhs)
		s.solveLump(li, w.sol, w.rhs, true)
		off := 0
		for _, q := range lp.Created {
			eq := &an.Eqs[q]
			lq := lamOf(q)
			copy(lq, w.sol[off:off+eq.Len])
			off += eq.Len
			if eq.Out {
				copy(res.Data()[eq.Off:eq.Off+eq.Len], lq)
			}
			if eq.Self >= 0 {
				acc := w.atomSlice(an)(eq.Self)
				for j, v := range lq {
					acc[j] += v
				}
			}
		}
		s.pushGroups(w, lp.Created, lamOf)
	}
	// The internal equations backwards: each value's accumulator now holds
	// −(r − Σ Cᵀλ of the equations after it), so λ = −acc; pushing its Cᵀλ
	// feeds the internal values before it and the accumulators outside.
	s.reverseInternal(w, lp, -1, nil, false)
}

// pushGroups pushes the equations eqs (ascending, so those of one op are
// consecutive) op by op, adding Cᵀλ to every accumulator.
func (s *invState) pushGroups(w *invWS, eqs []int, lamOf func(int) []float64) {
	an := s.an
	for i := 0; i < len(eqs); {
		nd := an.Eqs[eqs[i]].Node
		j := i + 1
		for j < len(eqs) && nd != nil && an.Eqs[eqs[j]].Node == nd {
			j++
		}
		if nd != nil {
			s.push(w, eqs[i:j], lamOf, nil, false)
		}
		i = j
	}
}

// pivotBuffer returns the buffer of a Step's pivot input when that input is
// a base value (not a relabelling): the lump's unknowns are then exactly
// that buffer, in order.
func (s *invState) pivotBuffer(w *invWS, lp *lump.Lump) ([]float64, bool) {
	if lp.Kind != lump.Step {
		return nil, false
	}
	in := lp.Node.In[lp.Input]
	segs := s.an.Segs(in)
	if len(segs) != 1 || segs[0].Var != in.ID() {
		return nil, false
	}
	return w.ubuf(in.ID()), true
}

// ijvpStep is the IJVP of a Step lump whose pivot is a base value: the
// pivot's tangent is J_p⁻¹ (t − J_others·u_others), with t the op's own
// tangent (or dy for the output), solved straight into its buffer.
func (s *invState) ijvpStep(w *invWS, li int, dy *tensor.Tensor) bool {
	lp := &s.an.Lumps[li]
	dst, ok := s.pivotBuffer(w, lp)
	if !ok {
		return false
	}
	nd := lp.Node
	var src []float64
	if s.an.Eqs[lp.Eqs[0]].Out {
		src = dy.Data()
	} else {
		src = w.ubuf(nd.Out.ID())
	}
	if jv := s.nodeJVP(w, nd, s.lumpAssign(w, li, false), true); jv != nil {
		d := jv.Data()
		vsubFrom(d, src)
		src = d
	}
	s.facs[li].step.Solve(dst, src)
	return true
}

// vijpStep is the VIJP of a Step lump whose pivot is a base value:
// r = b − acc on the pivot, c = J_p⁻ᵀ r is the op's cotangent sign·λ, λ goes
// to the op's own accumulator (or to cy for the output), and c is pushed to
// the op's inputs.
func (s *invState) vijpStep(w *invWS, li, xid int, res, cx *tensor.Tensor) bool {
	lp := &s.an.Lumps[li]
	r, ok := s.pivotBuffer(w, lp)
	if !ok {
		return false
	}
	nd := lp.Node
	if nd.In[lp.Input].ID() == xid {
		vsubFrom(r, cx.Data())
	} else {
		vscaleTo(r, -1, r)
	}
	c := w.scratch(w.jv, nd.Out, -1)
	s.facs[li].step.SolveT(c.Data(), r)
	if s.an.Eqs[lp.Eqs[0]].Out {
		copy(res.Data(), c.Data()) // λ = c for the output (sign +1)
	} else {
		vaxpy(w.ubuf(nd.Out.ID()), -1, c.Data()) // λ = −c goes to the op's own value
	}
	// Cᵀλ to the pivot itself is A's part, already solved: its accumulator
	// is not read again, so only the other inputs get the push.
	s.pushCot(w, nd, c, nil, false, nd.In[lp.Input].ID())
	return true
}

// reverseInternal runs the lump's internal equations backwards, op by op:
// each equation's λ is sign times the accumulator of its own atom, and its
// Cᵀλ is pushed on as push does with keep and subtract. An internal equation
// is never the output's (its sign is −1), so the op's cotangent −λ is
// written straight from the accumulators, without storing λ.
func (s *invState) reverseInternal(w *invWS, lp *lump.Lump, sign float64, keep func(int) bool, subtract bool) {
	an := s.an
	for j := len(lp.Internal); j > 0; {
		i := j - 1
		nd := an.Eqs[lp.Internal[i]].Node
		for i > 0 && an.Eqs[lp.Internal[i-1]].Node == nd {
			i--
		}
		group := lp.Internal[i:j]
		c := w.scratch(w.jv, nd.Out, -1)
		if s.an.Rows(group) < nd.Out.Len() {
			clear(c.Data())
		}
		for _, q := range group {
			eq := &an.Eqs[q]
			vscaleTo(c.Data()[eq.Off:eq.Off+eq.Len], -sign, w.atomSlice(an)(eq.Self))
		}
		s.pushCot(w, nd, c, keep, subtract, -1)
		j = i
	}
}

// push applies the transposed coefficients of equations eqs (all of one op)
// to their λ: J_iᵀ(sign·λ) for every varying input. With keep == nil it adds
// the result to the accumulators of every atom (w.u); otherwise, with
// subtract, it subtracts it from the atoms for which keep is true only.
func (s *invState) push(w *invWS, eqs []int, lamOf func(int) []float64, keep func(int) bool, subtract bool) {
	an := s.an
	nd := an.Eqs[eqs[0]].Node
	c := w.scratch(w.jv, nd.Out, -1)
	rows := 0
	for _, q := range eqs {
		rows += an.Eqs[q].Len
	}
	if rows < nd.Out.Len() {
		clear(c.Data())
	}
	for _, q := range eqs {
		eq := &an.Eqs[q]
		dst := c.Data()[eq.Off : eq.Off+eq.Len]
		if eq.Sign() > 0 {
			copy(dst, lamOf(q))
		} else {
			vscaleTo(dst, -1, lamOf(q))
		}
	}
	s.pushCot(w, nd, c, keep, subtract, -1)
}

// pushCot applies J_iᵀ c for op nd's varying inputs other than value skip
// (-1: none), adding into w.u (keep == nil) or, restricted to the atoms keep
// accepts, subtracting.
func (s *invState) pushCot(w *invWS, nd *tape.Node, c *tensor.Tensor, keep func(int) bool, subtract bool, skip int) {
	an := s.an
	w.ins, w.ts = w.ins[:0], w.ts[:0]
	any := false
	for i, in := range nd.In {
		w.ins = append(w.ins, s.val(in))
		var dst *tensor.Tensor
		if !in.IsConst() && in.ID() != skip {
			any = true
			if segs := an.Segs(in); keep == nil && len(segs) == 1 && segs[0].Var == in.ID() {
				dst = tensor.New(in.Shape(), w.ubuf(in.ID()))
			} else {
				dst = w.scratch(w.gath, in, lump.SlotOf(nd.In, i))
				clear(dst.Data())
			}
		}
		w.ts = append(w.ts, dst)
	}
	if !any {
		return
	}
	nd.Op.VJP(w.ts, w.ins, s.val(nd.Out), c)
	for i, in := range nd.In {
		if in.IsConst() || in.ID() == skip || lump.SlotOf(nd.In, i) != i {
			continue
		}
		segs := an.Segs(in)
		if keep == nil && len(segs) == 1 && segs[0].Var == in.ID() {
			continue // accumulated in place
		}
		g := w.ts[i].Data()
		for _, sg := range segs {
			if sg.Var < 0 {
				continue
			}
			for _, k := range an.AtomsIn(sg.Var, sg.Off, sg.Len) {
				if keep != nil && !keep(k) {
					continue
				}
				at := an.Atoms[k]
				acc := w.ubuf(at.Var)[at.Off : at.Off+at.Len]
				src := g[sg.Pos+at.Off-sg.Off:]
				if subtract {
					vaxpy(acc, -1, src)
				} else {
					vaxpy(acc, 1, src)
				}
			}
		}
	}
}
