package inverse

import (
	"errors"
	"fmt"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// invState is the inverse-mode half of a Linearization, built once on the
// first inverse product: the lumps and their factorizations.
type invState struct {
	an     *lump.Analysis
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

// sign of the coefficient of an equation's inputs: dv − J du = 0 gives −1,
// the output's Σ J du = dy gives +1.
func sign(eq *lump.Eq) float64 {
	if eq.Out {
		return 1
	}
	return -1
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
	s := &invState{an: an, facs: make([]lumpFactor, len(an.Lumps))}
	seen := map[int]bool{}
	for k, at := range an.Atoms {
		if an.LumpOf[k] >= 0 && !seen[at.Var] {
			seen[at.Var] = true
			s.base = append(s.base, l.vars[at.Var])
		}
	}
	w := l.newInvWS(s)
	for li := range an.Lumps {
		lp := &an.Lumps[li]
		switch lp.Kind {
		case lump.Step:
			nd := lp.Node
			f, err := nd.Op.Inverse(lp.Input, values(nd.In), nd.Out.Value())
			if err != nil {
				var se *tape.SingularError
				if errors.As(err, &se) {
					c := *se
					c.Pos = nd.Pos
					return nil, &c
				}
				return nil, fmt.Errorf("inverse: op %s at tape position %d: %w", nd.Op.Name(), nd.Pos, err)
			}
			s.facs[li].step = f
			s.logdet += f.LogAbsDet()
		case lump.Batch:
			a := s.extractBatch(w, li)
			f, sing := cpu.FactorBatch(a, lp.K, lp.M)
			if sing != nil {
				return nil, s.blockError(li, sing.Pivot, sing.Error())
			}
			s.facs[li].batch = f
			s.logdet += f.LogAbsDet()
		case lump.DenseLump:
			a := s.extractDense(w, li)
			f, sing := cpu.FactorLU(a, lp.Width)
			if sing != nil {
				return nil, s.blockError(li, sing.Pivot, sing.Why)
			}
			s.facs[li].dense = f
			s.logdet += f.LogAbsDet()
		}
	}
	return s, nil
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

func values(vs []*tape.Var) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		out[i] = v.Value()
	}
	return out
}

// ---- workspaces ----

// invWS holds one inverse sweep's buffers: u[id] is the tangent (IJVP) or
// accumulated cotangent (VIJP) of base value id.
type invWS struct {
	u    [][]float64
	gath map[int]*tensor.Tensor // scratch per input value (relabelled inputs)
	jv   map[int]*tensor.Tensor // scratch per op output
	rhs  []float64
	sol  []float64
	ins  []*tensor.Tensor
	ts   []*tensor.Tensor
}

func (l *Linearization) newInvWS(s *invState) *invWS {
	w := &invWS{u: make([][]float64, l.prog.NumVars), gath: map[int]*tensor.Tensor{}, jv: map[int]*tensor.Tensor{}}
	for _, v := range s.base {
		w.u[v.ID()] = make([]float64, v.Len())
	}
	return w
}

func (w *invWS) scratch(m map[int]*tensor.Tensor, v *tape.Var) *tensor.Tensor {
	t := m[v.ID()]
	if t == nil {
		t = tensor.Zeros(v.Shape()...)
		m[v.ID()] = t
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
		return w.u[at.Var][at.Off : at.Off+at.Len]
	}
}

// inputTangent builds the tangent of an op input from an assignment, nil if
// it is all zero. A base input whose atoms are all assigned from w.u is
// passed without copying.
func (s *invState) inputTangent(w *invWS, in *tape.Var, as assign, direct bool) *tensor.Tensor {
	segs := s.an.Segs(in)
	if direct && len(segs) == 1 && segs[0].Var == in.ID() {
		all := true
		for _, k := range s.an.AtomsIn(in.ID(), 0, in.Len()) {
			all = all && as(k) != nil
		}
		if all {
			return tensor.New(in.Shape(), w.u[in.ID()])
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
				t = w.scratch(w.gath, in)
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
	for _, in := range nd.In {
		w.ins = append(w.ins, in.Value())
		var t *tensor.Tensor
		if !in.IsConst() {
			t = s.inputTangent(w, in, as, direct)
		}
		w.ts = append(w.ts, t)
		any = any || t != nil
	}
	if !any {
		return nil
	}
	dst := w.scratch(w.jv, nd.Out)
	nd.Op.JVP(dst, w.ins, nd.Out.Value(), w.ts)
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
			sg := sign(eq)
			for i, v := range jv.Data()[eq.Off : eq.Off+eq.Len] {
				rows[i] = sg * v
			}
		}
		if eq.Self >= 0 {
			if src := as(eq.Self); src != nil {
				for i, v := range src {
					rows[i] += v
				}
			}
		}
	}
}

// extractBatch builds the k×k blocks of a batch lump, batch-minor:
// entry (i, j) of block b at [(i·k+j)·m + b].
func (s *invState) extractBatch(w *invWS, li int) []float64 {
	lp := &s.an.Lumps[li]
	k, m := lp.K, lp.M
	a := make([]float64, k*k*m)
	ones := make([]float64, m)
	for i := range ones {
		ones[i] = 1
	}
	col := make([]float64, k*m)
	for j, u := range lp.Unknowns {
		s.evalEqs(w, lp.Eqs, func(at int) []float64 {
			if at == u {
				return ones
			}
			return nil
		}, col, false)
		for i := 0; i < k; i++ {
			copy(a[(i*k+j)*m:(i*k+j+1)*m], col[i*m:(i+1)*m])
		}
	}
	return a
}

// extractDense builds a dense lump's w×w block, one column per scalar unknown.
func (s *invState) extractDense(w *invWS, li int) []float64 {
	lp := &s.an.Lumps[li]
	n := lp.Width
	a := make([]float64, n*n)
	col := make([]float64, n)
	c := 0
	for _, u := range lp.Unknowns {
		unit := make([]float64, s.an.Atoms[u].Len)
		for e := range unit {
			unit[e] = 1
			s.evalEqs(w, lp.Eqs, func(at int) []float64 {
				if at == u {
					return unit
				}
				return nil
			}, col, false)
			for r, v := range col {
				a[r*n+c] = v
			}
			unit[e] = 0
			c++
		}
	}
	return a
}

// eqRows is the total number of rows of a lump's equations.
func (s *invState) eqRows(eqs []int) int {
	n := 0
	for _, q := range eqs {
		n += s.an.Eqs[q].Len
	}
	return n
}

// ---- the sweeps ----

// ijvp solves J dx = dy by the lumps in order, from y back to x.
func (l *Linearization) ijvp(s *invState, w *invWS, res, dy *tensor.Tensor) {
	an := s.an
	for li := range an.Lumps {
		lp := &an.Lumps[li]
		known := s.knownBefore(w, li)
		switch lp.Kind {
		case lump.Copy:
			eq := &an.Eqs[lp.Eqs[0]]
			at := an.Atoms[lp.Unknowns[0]]
			copy(w.u[at.Var][at.Off:at.Off+at.Len], dy.Data()[eq.Off:eq.Off+eq.Len])
		case lump.Expansion:
			eq := &an.Eqs[lp.Eqs[0]]
			at := an.Atoms[lp.Unknowns[0]]
			dst := w.u[at.Var][at.Off : at.Off+at.Len]
			if jv := s.nodeJVP(w, eq.Node, known, true); jv != nil {
				copy(dst, jv.Data()[eq.Off:eq.Off+eq.Len])
			} else {
				clear(dst)
			}
		default:
			n := s.eqRows(lp.Eqs)
			w.rhs = grow(w.rhs, n)
			w.sol = grow(w.sol, n)
			// rhs = t − C_known·u_known, t = dy on the output's rows.
			s.evalEqs(w, lp.Eqs, known, w.rhs, true)
			off := 0
			for _, q := range lp.Eqs {
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
		}
	}
	copy(res.Data(), w.u[l.prog.Input.ID()])
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
		if sg := sign(&s.an.Eqs[lp.Eqs[0]]); sg < 0 {
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
	}
}

// unknownLayout lists, for lump li, where each stretch of its solution
// vector goes: (atom, position in the vector). A Step's vector is shaped
// like its pivot input; a batch's is unknown-major; a dense one follows
// Unknowns.
func (s *invState) unknownLayout(li int) [][2]int {
	lp := &s.an.Lumps[li]
	var out [][2]int
	if lp.Kind == lump.Step {
		for _, sg := range s.an.Segs(lp.Node.In[lp.Input]) {
			for _, k := range s.an.AtomsIn(sg.Var, sg.Off, sg.Len) {
				out = append(out, [2]int{k, sg.Pos + s.an.Atoms[k].Off - sg.Off})
			}
		}
		return out
	}
	pos := 0
	for _, k := range lp.Unknowns {
		out = append(out, [2]int{k, pos})
		pos += s.an.Atoms[k].Len
	}
	return out
}

func (s *invState) scatter(w *invWS, li int, x []float64) {
	for _, p := range s.unknownLayout(li) {
		at := s.an.Atoms[p[0]]
		copy(w.u[at.Var][at.Off:at.Off+at.Len], x[p[1]:p[1]+at.Len])
	}
}

func (s *invState) gather(w *invWS, li int, x []float64) {
	for _, p := range s.unknownLayout(li) {
		at := s.an.Atoms[p[0]]
		copy(x[p[1]:p[1]+at.Len], w.u[at.Var][at.Off:at.Off+at.Len])
	}
}

// vijp solves Jᵀ cy = cx by the lumps in reverse order. w.u accumulates
// Σ Cᵀ λ over the equations already solved; λ of the output's equations is cy.
func (l *Linearization) vijp(s *invState, w *invWS, res, cx *tensor.Tensor) {
	an := s.an
	for _, v := range s.base {
		clear(w.u[v.ID()])
	}
	xid := l.prog.Input.ID()
	for li := len(an.Lumps) - 1; li >= 0; li-- {
		lp := &an.Lumps[li]
		n := s.eqRows(lp.Eqs)
		w.rhs = grow(w.rhs, n)
		w.sol = grow(w.sol, n)
		// r_U = b_U − acc_U with b = cx on x's atoms.
		s.gather(w, li, w.rhs)
		for _, p := range s.unknownLayout(li) {
			at := an.Atoms[p[0]]
			r := w.rhs[p[1] : p[1]+at.Len]
			for i := range r {
				r[i] = -r[i]
			}
			if at.Var == xid {
				for i := range r {
					r[i] += cx.Data()[at.Off+i]
				}
			}
		}
		lam := w.sol
		switch lp.Kind {
		case lump.Copy, lump.Expansion:
			copy(lam, w.rhs) // the block is I
		default:
			s.solveLump(li, lam, w.rhs, true)
		}
		// Push Cᵀλ to the unknowns the lump's equations touch, and hand the
		// output's λ to cy.
		off := 0
		for qi, q := range lp.Eqs {
			eq := &an.Eqs[q]
			lq := lam[off : off+eq.Len]
			off += eq.Len
			if eq.Out {
				copy(res.Data()[eq.Off:eq.Off+eq.Len], lq)
			}
			if eq.Self >= 0 {
				at := an.Atoms[eq.Self]
				acc := w.u[at.Var][at.Off : at.Off+at.Len]
				for i, v := range lq {
					acc[i] += v
				}
			}
			if eq.Node == nil {
				continue
			}
			// Collect every equation of this node in the lump into one cotangent.
			if qi > 0 && an.Eqs[lp.Eqs[qi-1]].Node == eq.Node {
				continue
			}
			s.pushNode(w, lp, qi, lam)
		}
	}
}

// pushNode adds J_iᵀ (sign·λ) for the op of equation lp.Eqs[qi] (and its
// following equations of the same op) into the accumulators of its inputs.
func (s *invState) pushNode(w *invWS, lp *lump.Lump, qi int, lam []float64) {
	an := s.an
	nd := an.Eqs[lp.Eqs[qi]].Node
	c := w.scratch(w.jv, nd.Out)
	clear(c.Data())
	off := 0
	for _, q := range lp.Eqs[:qi] {
		off += an.Eqs[q].Len
	}
	for _, q := range lp.Eqs[qi:] {
		eq := &an.Eqs[q]
		if eq.Node != nd {
			break
		}
		sg := sign(eq)
		for i, v := range lam[off : off+eq.Len] {
			c.Data()[eq.Off+i] = sg * v
		}
		off += eq.Len
	}
	w.ins, w.ts = w.ins[:0], w.ts[:0]
	for _, in := range nd.In {
		w.ins = append(w.ins, in.Value())
		var dst *tensor.Tensor
		if !in.IsConst() {
			if segs := an.Segs(in); len(segs) == 1 && segs[0].Var == in.ID() {
				dst = tensor.New(in.Shape(), w.u[in.ID()])
			} else {
				dst = w.scratch(w.gath, in)
				clear(dst.Data())
			}
		}
		w.ts = append(w.ts, dst)
	}
	nd.Op.VJP(w.ts, w.ins, nd.Out.Value(), c)
	for i, in := range nd.In {
		if in.IsConst() {
			continue
		}
		segs := an.Segs(in)
		if len(segs) == 1 && segs[0].Var == in.ID() {
			continue
		}
		if seenInput(nd.In, i) {
			continue // the same value's scratch was scattered already
		}
		g := w.ts[i].Data()
		for _, sg := range segs {
			if sg.Var < 0 {
				continue
			}
			acc := w.u[sg.Var][sg.Off : sg.Off+sg.Len]
			for j, v := range g[sg.Pos : sg.Pos+sg.Len] {
				acc[j] += v
			}
		}
	}
}

func seenInput(vs []*tape.Var, i int) bool {
	for _, v := range vs[:i] {
		if v == vs[i] {
			return true
		}
	}
	return false
}
