package sweep

import (
	"context"
	"fmt"
	"slices"

	"github.com/invad/invad/lump"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Plan is a lump analysis compiled for the sweeps: per lump a short list of
// steps with every index range resolved (which buffer and offset each op
// input's tangent comes from, where each equation's rows go, where each
// solved atom lands), so that a product reads no lump structure. It depends
// on the analysis alone, is built once per program and shared, read-only,
// by every product and every engine.
type Plan struct {
	An *lump.Analysis
	*lump.Layout

	input, output int   // the program's input and output value ids
	lens          []int // per value id: its number of elements
	base          []int // the value ids that hold unknowns
	nodes         []*tape.Node

	lumps []lumpPlan
	// written[id]: the lumps' atoms cover value id whole, so the IJVP
	// writes every element of its unknowns buffer before reading it and may
	// take a released buffer as it is, not zeroed (see ijvpLive).
	written []bool

	// Headers: shaped views the op rules take, built once per workspace.
	hdrs   []hdrSpec
	hdrKey map[hdrKey]int
	uHdrs  map[int][]int // per value id: the headers over its unknowns
	// Scratch buffers: one per role, of the largest length a role needs.
	bufLen []int
}

// Scratch roles. An op input's gathered tangent or cotangent takes the
// role of its first slot among the op's inputs (0, 1, ...).
const (
	roleJV  = -1 // an op's product (its output's tangent or cotangent)
	roleRHS = -2
	roleSol = -3
	roleMu  = -4
	nRoles  = 4 // negative roles
)

// bufOf is the scratch buffer of a role: roles -1..-nRoles are buffers
// 0..nRoles-1, input slots follow.
func bufOf(role int) int {
	if role < 0 {
		return -role - 1
	}
	return nRoles + role
}

type hdrKey struct {
	u       bool // a view of a value's unknowns buffer; else of a scratch buffer
	id, off int  // the value id, or the scratch role
	shape   string
}

type hdrSpec struct {
	u     bool
	id    int // value id (u) or buffer index
	off   int
	shape []int
}

// piece: elements [off, off+n) of base value v (atom's range, or a part of
// it) go to position pos of an op input.
type piece struct{ atom, v, off, pos, n int }

type argKind uint8

const (
	argNone argKind = iota // zero tangent, or no cotangent wanted
	argSet                 // formed from pieces (or viewed)
	argDup                 // the same value as slot dup
)

// argSpec says how one op input's tangent (JVP) or cotangent (VJP) is
// formed: a view of one value's buffer when its pieces are that buffer's
// consecutive elements (view, vhdr), else gathered into (or, for a VJP,
// scattered from) the scratch buffer buf through header ghdr.
type argSpec struct {
	kind   argKind
	dup    int
	view   bool
	vhdr   int
	buf    int
	ghdr   int
	pieces []piece
	whole  bool // one piece covering the input (extraction may view it)
	shape  []int
}

// jvpSpec is one op's JVP with the atoms of an assignment known.
type jvpSpec struct {
	node int
	args []argSpec
	any  bool // some input has a tangent
	buf  int  // the product's scratch buffer
	dst  int  // its header, shaped like the output
}

// eqRow is one equation's rows in a list of equations.
type eqRow struct {
	row, n int     // its rows in the list's vector
	jv     int     // its op's jvpSpec in the list (-1: a pin of y)
	eqOff  int     // its rows within the op's output
	sign   float64 // −1 for an op's equation dv − J du = 0, +1 for y's
	out    bool    // an equation of y: its right-hand side is dy
	dyOff  int     // y's rows
	// pin: a pin's atom; self: the equation's own atom when the
	// assignment knows it; dst: an internal equation's own atom; -1 for
	// none. Their buffer ranges: (pv, po), (sv, so), (dv, do).
	pin, self, dst int
	pv, po         int
	sv, so         int
	dv, do         int
	// whole: an internal equation that is its op's whole output (one row):
	// the JVP writes into its atom through dhdr (shape: the output's), and
	// a VJP reads its accumulator there.
	whole bool
	dhdr  int
	shape []int
	// span (extraction only, on the first row of an op's run of rows): the
	// run covers the op's whole output, laid out in order in the trial
	// buffer, so the JVP writes it there at once; span is the run's length
	// in rows, spanShape the output's shape.
	span      int
	spanShape []int
}

// eqList is a list of equations evaluated together under one assignment:
// their ops' JVPs and their rows.
type eqList struct {
	jvps []jvpSpec
	rows []eqRow
	n    int
}

// pushSpec is one op's VJP of a cotangent c built from equations' λ, and
// where its input cotangents go.
type pushSpec struct {
	node     int
	args     []argSpec
	any      bool
	buf      int // c's scratch buffer (roleJV)
	c        int // c's header, shaped like the output
	partial  bool
	cLen     int
	rows     []eqRow // each equation's rows of c (eqOff) and its λ (row in sol, or its atom dst)
	subtract bool
	whole    bool // one internal equation covering the output: c is its accumulator (rows[0].dhdr)
}

type lumpKind uint8

const (
	kCopy   lumpKind = iota // a range of y: copied
	kExpand                 // a JVP from known values
	kStep                   // a Step whose pivot is a whole base value: solved in place
	kSolve                  // the general lump: right-hand side, solve, scatter
)

// place: elements [off, off+n) of base value v sit at pos of a lump's
// solution vector.
type place struct{ v, off, pos, n int }

type lumpPlan struct {
	kind lumpKind
	node int // a Step's op

	// kCopy
	cv, coff, cdy, cn int

	// kStep
	step     jvpSpec // the op's JVP with the other inputs known
	pivot    int     // the pivot's value id
	own      int     // the op's own value id, -1 for y's equation
	stepPush pushSpec

	// kSolve and kExpand
	pre, post *eqList // internal passes before and after the solve
	rhs       *eqList // the created equations
	rows      int
	rhsHdr    int
	solHdr    int
	negate    bool // a Step's block is −J
	places    []place

	// VIJP, general
	skipVIJP bool    // an expansion nothing outside reads: λ = 0
	killed   []place // r = b − acc on the killed atoms
	fold     bool    // fold the internal right-hand sides into the killed atoms
	internal []place // the internal atoms, saved in mu during the fold
	muLen    int
	revFold  []pushSpec
	pushes   []pushSpec // the created equations' ops
	created  []eqRow    // the created equations: λ in sol (row), own atom (self)
	revFinal []pushSpec

	// IJVP: skipPost, the internal pass after the solve (or an
	// expansion's pass) writes only values no later lump reads; drop, the
	// value ids whose unknowns buffers no later lump reads (see ijvpLive).
	skipPost bool
	drop     []int
	// solU: where the killed atoms are one range of a value in solution
	// order (a batch lump's x, say), the IJVP's solve writes there through
	// this header over the unknowns buffer, not into the solution buffer
	// and then copies; -1 otherwise.
	solU int

	// extraction of a Batch or DenseLump block
	ext      *eqList // the internal pass, atoms of the lump assigned
	extEqs   *eqList // the created equations, atoms of the lump assigned
	trialOff map[int]int
	trialLen int
	killPos  map[int]int // a sparse lump's killed atoms' positions in the solution vector
}

// Compile compiles an analysis into a Plan.
func Compile(an *lump.Analysis) *Plan {
	pl, _ := CompileContext(context.Background(), an)
	return pl
}

// CompileContext is Compile that checks ctx before each lump and returns
// ctx.Err() once it is done.
func CompileContext(ctx context.Context, an *lump.Analysis) (*Plan, error) {
	p := an.Prog
	pl := &Plan{An: an, Layout: an.Layout(), input: p.Input.ID(), output: p.Output.ID(),
		lens: make([]int, p.NumVars), nodes: p.Nodes, hdrKey: map[hdrKey]int{}, uHdrs: map[int][]int{}}
	pl.lens[p.Input.ID()] = p.Input.Len()
	for _, nd := range p.Nodes {
		pl.lens[nd.Out.ID()] = nd.Out.Len()
	}
	seen := map[int]bool{}
	for k, at := range an.Atoms {
		if an.LumpOf[k] >= 0 && !seen[at.Var] {
			seen[at.Var] = true
			pl.base = append(pl.base, at.Var)
		}
	}
	c := &compiler{Plan: pl, idx: map[*tape.Node]int{}}
	for i, nd := range p.Nodes {
		c.idx[nd] = i
	}
	pl.lumps = make([]lumpPlan, len(an.Lumps))
	for li := range an.Lumps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.lump(li)
	}
	for li := range pl.lumps {
		L := &pl.lumps[li]
		L.solU = -1
		if L.kind == kSolve && len(L.places) == 1 {
			if p := L.places[0]; p.pos == 0 && p.n == L.rows {
				L.solU = c.hdr(true, p.v, p.off, []int{L.rows})
			}
		}
	}
	pl.ijvpLive()
	return pl, nil
}

// ijvpLive marks, for the IJVP, the internal passes after a solve whose
// values no later lump reads (skipPost: the values of a lump's internal
// ops that only lead to it, x + 0.5·sin x's sin x once x is solved), and
// lists after each lump the value ids whose unknowns buffers no later lump
// reads, which the IJVP gives back to the workspace's pool for the lumps
// after to take: a chain of n ops then holds a few buffers at a time, not
// n. It reads the compiled steps, so it sees every buffer a lump touches,
// the gathered pieces of an op input included. x's buffer is read at the
// end. A value whose atoms, disjoint, cover it whole (written) has every
// element written by its lump (a copy, a step's pivot, a solve's places
// and internal passes, an expansion) before a later lump reads it, in
// solve order; a skipped pass's values no lump reads.
func (pl *Plan) ijvpLive() {
	an := pl.An
	covered := make([]int, len(pl.lens))
	for k, at := range an.Atoms {
		if an.LumpOf[k] >= 0 {
			covered[at.Var] += at.Len
		}
	}
	pl.written = make([]bool, len(pl.lens))
	for id, c := range covered {
		pl.written[id] = c > 0 && c == pl.lens[id]
	}
	read := make([]bool, len(pl.lens)) // by a later lump, or at the end
	read[pl.input] = true
	last := make([]int, len(pl.lens))
	for i := range last {
		last[i] = -1
	}
	for li := len(pl.lumps) - 1; li >= 0; li-- {
		L := &pl.lumps[li]
		if L.post != nil && (L.kind == kExpand || L.kind == kSolve) {
			dead := true
			for i := range L.post.rows {
				if r := &L.post.rows[i]; r.dst >= 0 && read[r.dv] {
					dead = false
				}
			}
			L.skipPost = dead
		}
		pl.ijvpIDs(L, func(id int) {
			read[id] = true
			if last[id] < 0 {
				last[id] = li
			}
		})
	}
	for id, li := range last {
		if li >= 0 && id != pl.input {
			pl.lumps[li].drop = append(pl.lumps[li].drop, id)
		}
	}
}

// ijvpIDs calls f with every value id whose unknowns buffer the IJVP of
// lump L reads or writes (some more than once).
func (pl *Plan) ijvpIDs(L *lumpPlan, f func(id int)) {
	switch L.kind {
	case kCopy:
		f(L.cv)
	case kExpand:
		if !L.skipPost {
			L.post.ids(pl, f)
		}
	case kStep:
		if L.own >= 0 {
			f(L.own)
		}
		L.step.ids(pl, f)
		f(L.pivot)
	case kSolve:
		if L.pre != nil {
			L.pre.ids(pl, f)
		}
		L.rhs.ids(pl, f)
		pl.hdrID(L.rhsHdr, f)
		pl.hdrID(L.solHdr, f)
		if L.solU >= 0 {
			pl.hdrID(L.solU, f)
		}
		for _, p := range L.places {
			f(p.v)
		}
		if L.post != nil && !L.skipPost {
			L.post.ids(pl, f)
		}
	}
}

// hdrID calls f with the value id of header h if it is a view of an
// unknowns buffer.
func (pl *Plan) hdrID(h int, f func(id int)) {
	if s := &pl.hdrs[h]; s.u {
		f(s.id)
	}
}

// ids calls f with every value id whose unknowns buffer the JVP reads or
// writes under the sweep's assignment (every piece known).
func (s *jvpSpec) ids(pl *Plan, f func(id int)) {
	pl.hdrID(s.dst, f)
	for i := range s.args {
		a := &s.args[i]
		if a.kind != argSet {
			continue
		}
		if a.view {
			pl.hdrID(a.vhdr, f)
		}
		pl.hdrID(a.ghdr, f)
		for _, p := range a.pieces {
			f(p.v)
		}
	}
}

// ids calls f with every value id whose unknowns buffer the list's
// evaluation or internal pass reads or writes.
func (l *eqList) ids(pl *Plan, f func(id int)) {
	for i := range l.jvps {
		l.jvps[i].ids(pl, f)
	}
	for i := range l.rows {
		r := &l.rows[i]
		if r.pin >= 0 {
			f(r.pv)
		}
		if r.self >= 0 {
			f(r.sv)
		}
		if r.dst >= 0 {
			f(r.dv)
		}
		if r.whole {
			pl.hdrID(r.dhdr, f)
		}
	}
}

type compiler struct {
	*Plan
	idx map[*tape.Node]int
}

func (c *compiler) hdr(u bool, id, off int, shape []int) int {
	k := hdrKey{u: u, id: id, off: off, shape: fmt.Sprint(shape)}
	if h, ok := c.hdrKey[k]; ok {
		return h
	}
	c.hdrs = append(c.hdrs, hdrSpec{u: u, id: id, off: off, shape: shape})
	h := len(c.hdrs) - 1
	c.hdrKey[k] = h
	if u {
		c.uHdrs[id] = append(c.uHdrs[id], h)
	}
	return h
}

// scratch returns the scratch buffer of a role, grown to shape's size, and
// a header over it shaped shape.
func (c *compiler) scratch(role int, shape []int) (buf, hdr int) {
	b := bufOf(role)
	for len(c.bufLen) <= b {
		c.bufLen = append(c.bufLen, 0)
	}
	c.bufLen[b] = max(c.bufLen[b], tensor.SizeOf(shape))
	return b, c.hdr(false, b, 0, shape)
}

// pieces lists the atoms covering input in's elements that keep accepts,
// with their positions in the input.
func (c *compiler) pieces(in *tape.Var, keep func(int) bool) []piece {
	an := c.An
	var out []piece
	for _, sg := range an.Segs(in) {
		if sg.Var < 0 {
			continue
		}
		for _, k := range an.AtomsIn(sg.Var, sg.Off, sg.Len) {
			if keep != nil && !keep(k) {
				continue
			}
			at := an.Atoms[k]
			out = append(out, piece{atom: k, v: at.Var, off: at.Off, pos: sg.Pos + at.Off - sg.Off, n: at.Len})
		}
	}
	return out
}

// contiguous reports whether the pieces are consecutive elements of one
// value covering [0, n), and from which offset.
func contiguous(ps []piece, n int) (v, off int, ok bool) {
	if len(ps) == 0 {
		return 0, 0, false
	}
	at := 0
	for _, p := range ps {
		if p.pos != at || p.v != ps[0].v || p.off-p.pos != ps[0].off {
			return 0, 0, false
		}
		at += p.n
	}
	return ps[0].v, ps[0].off, at == n
}

// arg compiles op input i's tangent from the atoms assigned accepts.
func (c *compiler) arg(nd *tape.Node, i int, assigned func(int) bool, a []argSpec) argSpec {
	in := nd.In[i]
	if in.IsConst() {
		return argSpec{}
	}
	if j := lump.SlotOf(nd.In, i); j != i {
		if a[j].kind == argNone {
			return argSpec{}
		}
		return argSpec{kind: argDup, dup: j}
	}
	ps := c.pieces(in, assigned)
	if len(ps) == 0 {
		return argSpec{}
	}
	s := argSpec{kind: argSet, pieces: ps, shape: in.Shape()}
	s.whole = len(ps) == 1 && ps[0].pos == 0 && ps[0].n == in.Len()
	if v, off, ok := contiguous(ps, in.Len()); ok {
		s.view, s.vhdr = true, c.hdr(true, v, off, in.Shape())
	}
	s.buf, s.ghdr = c.scratch(i, in.Shape())
	return s
}

// jvp compiles node nd's JVP with the atoms assigned accepts known.
func (c *compiler) jvp(nd *tape.Node, assigned func(int) bool) jvpSpec {
	s := jvpSpec{node: c.idx[nd], args: make([]argSpec, len(nd.In))}
	for i := range nd.In {
		s.args[i] = c.arg(nd, i, assigned, s.args)
		s.any = s.any || s.args[i].kind != argNone
	}
	s.buf, s.dst = c.scratch(roleJV, nd.Out.Shape())
	return s
}

func (c *compiler) atomRange(k int) (v, off int) {
	if k < 0 {
		return -1, 0
	}
	at := c.An.Atoms[k]
	return at.Var, at.Off
}

// eqs compiles equations evaluated together with the atoms assigned
// accepts known (internal: the lump's internal equations, each written to
// its own atom).
func (c *compiler) eqs(qs []int, assigned func(int) bool, internal bool) *eqList {
	an := c.An
	l := &eqList{}
	var last *tape.Node
	for _, q := range qs {
		eq := &an.Eqs[q]
		r := eqRow{row: l.n, n: eq.Len, jv: -1, eqOff: eq.Off, sign: eq.Sign(), out: eq.Out, dyOff: eq.Off, pin: -1, self: -1, dst: -1}
		l.n += eq.Len
		if eq.Node == nil {
			if k := eq.Touch[0].Atom; assigned(k) {
				r.pin = k
				r.pv, r.po = c.atomRange(k)
			}
		} else {
			if eq.Node != last {
				l.jvps = append(l.jvps, c.jvp(eq.Node, assigned))
				last = eq.Node
			}
			r.jv = len(l.jvps) - 1
			if internal {
				r.dst = eq.Self
				r.dv, r.do = c.atomRange(eq.Self)
			} else if eq.Self >= 0 && assigned(eq.Self) {
				r.self = eq.Self
				r.sv, r.so = c.atomRange(eq.Self)
			}
		}
		l.rows = append(l.rows, r)
	}
	if internal {
		for i := range l.rows {
			r := &l.rows[i]
			single := (i == 0 || l.rows[i-1].jv != r.jv) && (i+1 == len(l.rows) || l.rows[i+1].jv != r.jv)
			if single {
				c.markWhole(r, c.nodes[l.jvps[r.jv].node])
			}
		}
	}
	return l
}

// markWhole marks an internal equation, the only one of its op nd, that
// is nd's whole output: the op's JVP can write into its atom, and a VJP
// read its accumulator there.
func (c *compiler) markWhole(r *eqRow, nd *tape.Node) {
	if r.eqOff == 0 && r.n == nd.Out.Len() {
		r.whole, r.shape = true, nd.Out.Shape()
		r.dhdr = c.hdr(true, r.dv, r.do, r.shape)
	}
}

// push compiles the VJP of node nd for the equations rows (their eqOff
// within the op's output). Its cotangents go to the atoms to accepts (nil:
// all), added, or subtracted with subtract; value skip takes none. With
// inPlace, an input that is a whole base value accumulates in its own
// buffer, atoms to rejects included: only where those are never read
// again.
func (c *compiler) push(nd *tape.Node, rows []eqRow, to func(int) bool, inPlace, subtract bool, skip int) pushSpec {
	s := pushSpec{node: c.idx[nd], args: make([]argSpec, len(nd.In)), rows: rows, subtract: subtract, cLen: nd.Out.Len()}
	n := 0
	for _, r := range rows {
		n += r.n
	}
	s.partial = n < nd.Out.Len()
	s.buf, s.c = c.scratch(roleJV, nd.Out.Shape())
	for i, in := range nd.In {
		if in.IsConst() || in.ID() == skip {
			continue
		}
		if j := lump.SlotOf(nd.In, i); j != i {
			if s.args[j].kind != argNone {
				s.args[i] = argSpec{kind: argDup, dup: j}
			}
			continue
		}
		ps := c.pieces(in, to)
		if len(ps) == 0 {
			continue // no atom of it takes the cotangent
		}
		s.any = true
		if segs := c.An.Segs(in); inPlace && len(segs) == 1 && segs[0].Var == in.ID() {
			s.args[i] = argSpec{kind: argSet, view: true, vhdr: c.hdr(true, in.ID(), 0, in.Shape()), shape: in.Shape()}
			continue
		}
		a := argSpec{kind: argSet, pieces: ps, shape: in.Shape()}
		a.buf, a.ghdr = c.scratch(i, in.Shape())
		s.args[i] = a
	}
	return s
}

// groups splits equations (ascending: an op's are consecutive) by op.
func (c *compiler) groups(qs []int) [][]int {
	var out [][]int
	for i := 0; i < len(qs); {
		nd := c.An.Eqs[qs[i]].Node
		j := i + 1
		for j < len(qs) && nd != nil && c.An.Eqs[qs[j]].Node == nd {
			j++
		}
		out = append(out, qs[i:j])
		i = j
	}
	return out
}

// reverseInternal compiles the lump's internal equations backwards, op by
// op: each op's cotangent is −sign times its equations' atoms (dst), pushed
// as push does with to, inPlace and subtract.
func (c *compiler) reverseInternal(lp *lump.Lump, to func(int) bool, inPlace, subtract bool) []pushSpec {
	gs := c.groups(lp.Internal)
	var out []pushSpec
	for g := len(gs) - 1; g >= 0; g-- {
		var rows []eqRow
		for _, q := range gs[g] {
			eq := &c.An.Eqs[q]
			v, off := c.atomRange(eq.Self)
			rows = append(rows, eqRow{n: eq.Len, eqOff: eq.Off, dst: eq.Self, dv: v, do: off, pin: -1, self: -1, jv: -1})
		}
		nd := c.An.Eqs[gs[g][0]].Node
		if len(rows) == 1 {
			c.markWhole(&rows[0], nd)
		}
		ps := c.push(nd, rows, to, inPlace, subtract, -1)
		ps.whole = rows[0].whole
		out = append(out, ps)
	}
	return out
}

func (c *compiler) lump(li int) {
	an := c.An
	lp := &an.Lumps[li]
	L := &c.lumps[li]
	L.own = -1
	of := func(k int) int { return an.LumpOf[k] }
	known := func(k int) bool { return of(k) >= 0 && of(k) < li }
	withInternal := func(k int) bool { return of(k) >= 0 && (of(k) < li || (of(k) == li && !c.Killed[k])) }
	withKilled := func(k int) bool { return of(k) >= 0 && of(k) <= li }
	inLump := func(k int) bool { return of(k) == li }

	for _, pl := range c.Places[li] {
		at := an.Atoms[pl[0]]
		L.places = append(L.places, place{v: at.Var, off: at.Off, pos: pl[1], n: at.Len})
	}
	switch lp.Kind {
	case lump.Copy:
		L.kind = kCopy
		eq := &an.Eqs[lp.Eqs[0]]
		at := an.Atoms[lp.Unknowns[0]]
		L.cv, L.coff, L.cdy, L.cn = at.Var, at.Off, eq.Off, at.Len
	case lump.Expansion:
		L.kind = kExpand
		L.post = c.eqs(lp.Internal, withInternal, true)
		L.skipVIJP = !c.InternalRead[li]
	default:
		L.kind = kSolve
		if lp.Kind.Form() == lump.OpRule {
			nd := lp.Node
			L.node = c.idx[nd]
			L.negate = an.Eqs[lp.Eqs[0]].Sign() < 0
			in := nd.In[lp.Input]
			if segs := an.Segs(in); len(segs) == 1 && segs[0].Var == in.ID() {
				L.kind = kStep
				L.step = c.jvp(nd, withInternal)
				L.pivot = in.ID()
				if !an.Eqs[lp.Eqs[0]].Out {
					L.own = nd.Out.ID()
				}
				L.stepPush = c.push(nd, nil, nil, true, false, in.ID())
				L.stepPush.partial = false
				return
			}
		}
		as := withInternal
		if len(lp.Internal) > 0 {
			if c.InternalKnown[li] {
				L.pre = c.eqs(lp.Internal, withInternal, true)
			} else {
				// No known value feeds the internal values: with the
				// killed ones still zero they are zero too, and count as
				// absent.
				as = known
			}
			L.post = c.eqs(lp.Internal, withKilled, true)
		}
		L.rhs = c.eqs(lp.Created, as, false)
		L.rows = L.rhs.n
		_, L.rhsHdr = c.scratch(roleRHS, []int{L.rows})
		_, L.solHdr = c.scratch(roleSol, []int{L.rows})
		if f := lp.Kind.Form(); f == lump.BatchBlocks || f == lump.DenseBlock || f == lump.SparseBlocks {
			L.ext = c.eqs(lp.Internal, inLump, true)
			L.extEqs = c.eqs(lp.Created, inLump, false)
			L.trialOff = map[int]int{}
			if f == lump.SparseBlocks {
				L.killPos = map[int]int{}
				for _, pl := range c.Places[li] {
					L.killPos[pl[0]] = pl[1]
				}
			}
			L.layTrial(an, lp.Internal, c.nodes)
		}
	}
	if L.kind == kExpand && L.skipVIJP {
		return
	}
	// The general VIJP of the lump.
	for _, k := range lp.Killed {
		at := an.Atoms[k]
		L.killed = append(L.killed, place{v: at.Var, off: at.Off, n: at.Len})
	}
	if len(lp.Internal) > 0 && c.InternalRead[li] && lp.Kind != lump.Expansion {
		L.fold = true
		for _, q := range lp.Internal {
			at := an.Atoms[an.Eqs[q].Self]
			L.internal = append(L.internal, place{v: at.Var, off: at.Off, pos: L.muLen, n: at.Len})
			L.muLen += at.Len
		}
		c.scratch(roleMu, []int{L.muLen})
		L.revFold = c.reverseInternal(lp, inLump, false, true)
	}
	// After the solve, the lump's killed accumulators are read no more, and
	// an internal value's only where its op's push reaches an accumulator
	// read later: the final pushes skip the others (in a lump that feeds
	// only itself, every one of them).
	internalOf := map[int]*tape.Node{}
	for _, q := range lp.Internal {
		internalOf[an.Eqs[q].Self] = an.Eqs[q].Node
	}
	needed := map[*tape.Node]bool{}
	useful := func(k int) bool {
		if l := an.LumpOf[k]; l != li {
			return l >= 0
		}
		nd, ok := internalOf[k]
		return ok && needed[nd]
	}
	for _, q := range lp.Internal {
		nd := an.Eqs[q].Node
		for _, in := range nd.In {
			if in.IsConst() || needed[nd] {
				continue
			}
			for _, p := range c.pieces(in, nil) {
				if useful(p.atom) {
					needed[nd] = true
					break
				}
			}
		}
	}
	if lp.Kind != lump.Expansion {
		if L.rhs == nil { // a Copy lump
			L.rows = an.Rows(lp.Created)
			_, L.rhsHdr = c.scratch(roleRHS, []int{L.rows})
			_, L.solHdr = c.scratch(roleSol, []int{L.rows})
		}
		row := 0
		for _, g := range c.groups(lp.Created) {
			var rows []eqRow
			for _, q := range g {
				eq := &an.Eqs[q]
				r := eqRow{row: row, n: eq.Len, eqOff: eq.Off, sign: eq.Sign(), out: eq.Out, dyOff: eq.Off, pin: -1, self: eq.Self, dst: -1, jv: -1}
				r.sv, r.so = c.atomRange(eq.Self)
				row += eq.Len
				rows = append(rows, r)
				L.created = append(L.created, r)
			}
			if nd := an.Eqs[g[0]].Node; nd != nil {
				L.pushes = append(L.pushes, c.push(nd, rows, useful, true, false, -1))
			}
		}
	}
	L.revFinal = c.reverseInternal(lp, useful, true, false)
}

// layTrial places a block lump's internal atoms in the trial buffer of its
// extraction. A value all of whose atoms are internal to the lump (an op's
// output cut into pieces by slices elsewhere) gets its elements in order,
// so that its op's JVP writes the whole output there at once and the ops
// reading it view it instead of gathering its pieces; the rows of such an
// op's run are marked with span. A slot is reused once the value in it is
// read no more in the pass (the created equations read theirs to the end),
// so a chain of n-element ops needs a few n of trial, not one per op.
func (L *lumpPlan) layTrial(an *lump.Analysis, internal []int, nodes []*tape.Node) {
	covered := map[int]int{} // value id -> elements among the internal atoms
	for _, q := range internal {
		at := an.Atoms[an.Eqs[q].Self]
		covered[at.Var] += at.Len
	}
	// The slots: a whole value, or one atom. item[k] is atom k's slot and
	// its offset in the slot.
	type slot struct{ n, def, last, off int }
	var slots []slot
	type where struct{ slot, off int }
	item := map[int]where{}
	whole := map[int]int{} // value id -> its slot
	rows := L.ext.rows
	run := 0 // the op run of row i
	for i, q := range internal {
		if i > 0 && rows[i].jv != rows[i-1].jv {
			run++
		}
		eq := &an.Eqs[q]
		at := an.Atoms[eq.Self]
		if eq.Node != nil && covered[at.Var] == eq.Node.Out.Len() && at.Var == eq.Node.Out.ID() {
			s, ok := whole[at.Var]
			if !ok {
				s = len(slots)
				whole[at.Var] = s
				slots = append(slots, slot{n: eq.Node.Out.Len(), def: run, last: run})
			}
			item[eq.Self] = where{s, at.Off}
			continue
		}
		item[eq.Self] = where{len(slots), 0}
		slots = append(slots, slot{n: at.Len, def: run, last: run})
	}
	runs := run + 1
	use := func(jv jvpSpec, r int) {
		for _, a := range jv.args {
			for _, p := range a.pieces {
				if w, ok := item[p.atom]; ok {
					slots[w.slot].last = max(slots[w.slot].last, r)
				}
			}
		}
	}
	run = 0
	for i := range rows {
		if i > 0 && rows[i].jv != rows[i-1].jv {
			run++
		}
		if i == 0 || rows[i].jv != rows[i-1].jv {
			use(L.ext.jvps[rows[i].jv], run)
		}
	}
	for _, jv := range L.extEqs.jvps {
		use(jv, runs) // read to the end
	}
	for _, r := range L.extEqs.rows {
		if r.pin >= 0 {
			if w, ok := item[r.pin]; ok {
				slots[w.slot].last = runs
			}
		}
	}
	// First fit over the free ranges, run by run: a run's outputs are
	// placed before its inputs' slots are freed, so an op never writes
	// over what it reads. Past a few hundred slots, one after another.
	type span struct{ off, n int }
	var free []span
	reuse := len(slots) <= 256
	byDef := make([][]int, runs+1)
	byLast := make([][]int, runs+1)
	for s, sl := range slots {
		byDef[sl.def] = append(byDef[sl.def], s)
		byLast[sl.last] = append(byLast[sl.last], s)
	}
	for r := 0; r <= runs; r++ {
		for _, s := range byDef[r] {
			sl := &slots[s]
			sl.off = -1
			for i, f := range free {
				if f.n >= sl.n {
					sl.off = f.off
					free[i] = span{f.off + sl.n, f.n - sl.n}
					break
				}
			}
			if sl.off < 0 {
				sl.off = L.trialLen
				L.trialLen += sl.n
			}
		}
		if !reuse {
			continue
		}
		for _, s := range byLast[r] {
			free = append(free, span{slots[s].off, slots[s].n})
		}
		slices.SortFunc(free, func(a, b span) int { return a.off - b.off })
		merged := free[:0]
		for _, f := range free {
			if f.n == 0 {
				continue
			}
			if k := len(merged) - 1; k >= 0 && merged[k].off+merged[k].n == f.off {
				merged[k].n += f.n
				continue
			}
			merged = append(merged, f)
		}
		free = merged
	}
	for k, w := range item {
		L.trialOff[k] = slots[w.slot].off + w.off
	}
	for i := 0; i < len(rows); {
		j, n := i, 0
		for j < len(rows) && rows[j].jv == rows[i].jv {
			n += rows[j].n
			j++
		}
		nd := nodes[L.ext.jvps[rows[i].jv].node]
		if _, ok := whole[nd.Out.ID()]; ok && n == nd.Out.Len() && j-i > 1 {
			rows[i].span, rows[i].spanShape = j-i, nd.Out.Shape()
		}
		i = j
	}
}
