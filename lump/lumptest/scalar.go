package lumptest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/internal/graph"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Elem is one scalar of a tape value: the unknown or the equation of its
// element Index.
type Elem struct {
	Var   int // the value's ID on its tape (tape.Var.ID)
	Index int // the flat row-major index of the element in the value
}

// Block is one diagonal block of the block triangular form.
type Block struct {
	// Unknowns are the block's scalar unknowns, ascending in the system's
	// numbering (x first, then op outputs in tape order).
	Unknowns []Elem
	// Equations are the block's equations, each named by the element of
	// the value it defines, ascending likewise. len(Equations) ==
	// len(Unknowns).
	Equations []Elem
	// Nodes are the tape positions (tape.Node.Pos), ascending and without
	// repeats, of the ops whose equations are in the block.
	Nodes []int
	// Killed are the unknowns whose own equation is not in the block, and
	// Created the equations whose own unknown is not in it (see the package
	// documentation). len(Killed) == len(Created) is the order of the
	// block's A after eliminating the values internal to it.
	Killed, Created []Elem
}

// Size returns the block's number of unknowns.
func (b *Block) Size() int { return len(b.Unknowns) }

// Width returns the order of the block's A = ∂Created/∂Killed: 0 for a
// self-matched expansion, 1 for a scalar step, k for a k×k lump.
func (b *Block) Width() int { return len(b.Killed) }

// ScalarBTF is the block triangular form of the extended Jacobian system of
// a small program, one node per scalar. Build it with Scalarize.
type ScalarBTF struct {
	n      int
	cols   []Elem // per unknown; x's elements are unknowns 0..n-1
	rows   []Elem // per equation
	yrow   int    // y's elements are equations yrow..yrow+n-1
	blocks []Block
	fac    []blockFactor // per block, in solve order
	logdet float64
	colOf  map[Elem]int // unknown → index
	block  []int        // per unknown: its block
}

// blockFactor solves one block given the unknowns of the earlier blocks.
type blockFactor struct {
	rows, cols []int     // global equation and unknown indices
	ext        [][]entry // per row of the block: its entries outside the block
	lu         mat.LU
}

// entry is a nonzero of an equation: coefficient val on unknown col.
type entry struct {
	col int
	val float64
}

// Scalarize writes the linearized program p as its extended Jacobian system
// (see the package documentation) and permutes it to block triangular form.
// limit bounds the number of scalar unknowns: this is an oracle for small
// programs.
//
// Scalarize panics if p is nil, if p's output does not have as many
// elements as its input, or if limit < 1. It returns *TooLargeError if the
// system has more than limit unknowns, *NonFiniteError if a JVP gives NaN
// or ±Inf, *lump.StructurallySingularError if the system has no perfect
// matching, and *lump.SingularBlockError if a block's LU is singular or its
// condition number exceeds mat.ConditionTolerance.
func Scalarize(p *tape.Program, limit int) (*ScalarBTF, error) {
	return ScalarizeShuffled(p, limit, nil)
}

// ScalarizeShuffled is Scalarize, except that a non-nil rng shuffles the
// nonzeros of every equation before matching, so that tests can reach other
// matchings and check that the blocks do not depend on the matching found.
// A nil rng shuffles nothing.
func ScalarizeShuffled(p *tape.Program, limit int, rng *rand.Rand) (*ScalarBTF, error) {
	if p == nil {
		panic("lumptest: Scalarize with a nil program")
	}
	if limit < 1 {
		panic("lumptest: Scalarize with a limit below 1")
	}
	in, out := p.Input, p.Output
	n := in.Len()
	if out.Len() != n {
		panic(fmt.Sprintf("lumptest: the output has %d elements, the input %d: inverse mode needs f: Rⁿ → Rⁿ", out.Len(), n))
	}

	// Number the unknowns (x, then op outputs but y) and the equations
	// (op outputs in tape order; y's own rows wherever its op sits).
	colOff := make([]int, p.NumVars)
	rowOff := make([]int, p.NumVars)
	for i := range colOff {
		colOff[i], rowOff[i] = -1, -1
	}
	s := &ScalarBTF{n: n}
	addCols := func(v *tape.Var) {
		colOff[v.ID()] = len(s.cols)
		for i := range v.Len() {
			s.cols = append(s.cols, Elem{v.ID(), i})
		}
	}
	addRows := func(v *tape.Var) {
		rowOff[v.ID()] = len(s.rows)
		for i := range v.Len() {
			s.rows = append(s.rows, Elem{v.ID(), i})
		}
	}
	addCols(in)
	total := n
	for _, nd := range p.Nodes {
		if nd.Out != out {
			total += nd.Out.Len()
		}
	}
	if total > limit {
		return nil, &TooLargeError{Unknowns: total, Limit: limit}
	}
	for _, nd := range p.Nodes {
		if nd.Out != out {
			addCols(nd.Out)
		}
		addRows(nd.Out)
	}
	var eqs [][]entry // per equation: its nonzeros
	for _, nd := range p.Nodes {
		rows, err := nodeRows(nd, out, colOff)
		if err != nil {
			return nil, err
		}
		eqs = append(eqs, rows...)
	}
	if rowOff[out.ID()] < 0 {
		// No op computes y. Either y is x (no ops: the equations are
		// dy = dx), or y is a constant (equations without nonzeros).
		addRows(out)
		for i := range n {
			if out == in {
				eqs = append(eqs, []entry{{col: i, val: 1}})
			} else {
				eqs = append(eqs, nil)
			}
		}
	}
	s.yrow = rowOff[out.ID()]
	if len(s.rows) != len(s.cols) || len(eqs) != len(s.rows) {
		panic(fmt.Sprintf("lumptest: internal error: %d equations, %d unknowns", len(s.rows), len(s.cols)))
	}

	// Match equations to unknowns over the nonzeros.
	adj := make([][]int, len(eqs))
	for r, es := range eqs {
		adj[r] = make([]int, len(es))
		for k, e := range es {
			adj[r][k] = e.col
		}
		if rng != nil {
			rng.Shuffle(len(adj[r]), func(i, j int) { adj[r][i], adj[r][j] = adj[r][j], adj[r][i] })
		}
	}
	matchRow, matchCol, size := maxMatching(adj, len(s.cols))
	if size < len(s.cols) {
		return nil, s.singularError(p, adj, matchRow, matchCol, rowOff)
	}

	// Equation q depends on equation p when q reads the unknown p pivots on.
	succ := make([][]int, len(eqs))
	for q, es := range eqs {
		for _, e := range es {
			if pr := matchCol[e.col]; pr != q {
				succ[pr] = append(succ[pr], q)
			}
		}
	}
	comps := graph.SCC(succ)
	slices.Reverse(comps) // sources first: the order to solve in

	s.block = make([]int, len(s.cols))
	s.colOf = make(map[Elem]int, len(s.cols))
	for c, e := range s.cols {
		s.colOf[e] = c
	}
	outID := out.ID()
	nodeOf := make([]*tape.Node, p.NumVars)
	for _, nd := range p.Nodes {
		nodeOf[nd.Out.ID()] = nd
	}
	for bi, comp := range comps {
		slices.Sort(comp)
		rows := comp
		cols := make([]int, len(rows))
		for i, r := range rows {
			cols[i] = matchRow[r]
		}
		slices.Sort(cols)
		local := make(map[int]int, len(cols))
		for j, c := range cols {
			local[c] = j
			s.block[c] = bi
		}
		b := Block{Unknowns: make([]Elem, len(cols)), Equations: make([]Elem, len(rows))}
		inBlockCol := make(map[Elem]bool, len(cols))
		inBlockRow := make(map[Elem]bool, len(rows))
		for j, c := range cols {
			b.Unknowns[j] = s.cols[c]
			inBlockCol[s.cols[c]] = true
		}
		for i, r := range rows {
			b.Equations[i] = s.rows[r]
			inBlockRow[s.rows[r]] = true
		}
		for _, u := range b.Unknowns {
			if u.Var == outID || !inBlockRow[u] {
				b.Killed = append(b.Killed, u)
			}
		}
		for _, e := range b.Equations {
			if e.Var == outID || !inBlockCol[e] {
				b.Created = append(b.Created, e)
			}
		}
		for _, r := range rows {
			if nd := s.rows[r].Var; nodeOf[nd] != nil {
				b.Nodes = append(b.Nodes, nodeOf[nd].Pos)
			}
		}
		slices.Sort(b.Nodes)
		b.Nodes = slices.Compact(b.Nodes)

		f := blockFactor{rows: rows, cols: cols, ext: make([][]entry, len(rows))}
		a := mat.NewDense(len(rows), len(cols), nil)
		for i, r := range rows {
			for _, e := range eqs[r] {
				if j, ok := local[e.col]; ok {
					a.Set(i, j, a.At(i, j)+e.val)
				} else {
					f.ext[i] = append(f.ext[i], e)
				}
			}
		}
		f.lu.Factorize(a)
		ld, _ := f.lu.LogDet()
		if cond := f.lu.Cond(); math.IsInf(ld, -1) || !(cond <= mat.ConditionTolerance) {
			if math.IsInf(ld, -1) {
				cond = math.Inf(1)
			}
			return nil, s.blockError(p, bi, b, cond)
		}
		s.logdet += ld
		s.blocks = append(s.blocks, b)
		s.fac = append(s.fac, f)
	}
	return s, nil
}

// nodeRows returns the equations of nd's output: dv − Σ_u J_vu du for an
// intermediate v, Σ_u J_yu du for the output y. The blocks J_vu are read
// off the op's JVP, one unit tangent per input element.
func nodeRows(nd *tape.Node, out *tape.Var, colOff []int) ([][]entry, error) {
	m := nd.Out.Len()
	vals := make([]*tensor.Tensor, len(nd.In))
	for i, v := range nd.In {
		vals[i] = v.Value()
	}
	// dense[id] is the m×len block against the value id, summed over the
	// slots that read it.
	dense := map[int][]float64{}
	var ids []int
	for i, v := range nd.In {
		if v.IsConst() {
			continue
		}
		id, k := v.ID(), v.Len()
		if colOff[id] < 0 {
			panic(fmt.Sprintf("lumptest: internal error: %s at tape position %d reads value %d, which is not an unknown", nd.Op.Name(), nd.Pos, id))
		}
		blk, ok := dense[id]
		if !ok {
			blk = make([]float64, m*k)
			dense[id] = blk
			ids = append(ids, id)
		}
		ts := make([]*tensor.Tensor, len(nd.In))
		unit := tensor.Zeros(v.Shape()...)
		ts[i] = unit
		dst := tensor.Zeros(nd.Out.Shape()...)
		for j := range k {
			unit.Data()[j] = 1
			nd.Op.JVP(dst, vals, nd.Out.Value(), ts)
			unit.Data()[j] = 0
			for r, x := range dst.Data() {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return nil, &NonFiniteError{Op: nd.Op.Name(), Pos: nd.Pos, Input: i, Col: j, Row: r, Value: x}
				}
				blk[r*k+j] += x
			}
		}
	}
	slices.Sort(ids)
	sign := -1.0
	if nd.Out == out {
		sign = 1
	}
	rows := make([][]entry, m)
	for r := range m {
		if nd.Out != out {
			rows[r] = append(rows[r], entry{col: colOff[nd.Out.ID()] + r, val: 1})
		}
		for _, id := range ids {
			blk := dense[id]
			k := len(blk) / m
			for j, x := range blk[r*k : (r+1)*k] {
				if x != 0 {
					rows[r] = append(rows[r], entry{col: colOff[id] + j, val: sign * x})
				}
			}
		}
	}
	return rows, nil
}

// sites groups elements by value, naming each value's op.
func sites(p *tape.Program, elems []Elem) []lump.Site {
	byVar := map[int]*lump.Site{}
	var order []int
	lens := map[int]int{p.Input.ID(): p.Input.Len()}
	ops := map[int]*tape.Node{}
	for _, nd := range p.Nodes {
		lens[nd.Out.ID()] = nd.Out.Len()
		ops[nd.Out.ID()] = nd
	}
	lens[p.Output.ID()] = p.Output.Len()
	for _, e := range elems {
		st, ok := byVar[e.Var]
		if !ok {
			st = &lump.Site{Var: e.Var, Op: "input", Pos: -1, Len: lens[e.Var]}
			if nd := ops[e.Var]; nd != nil {
				st.Op, st.Pos = nd.Op.Name(), nd.Pos
			} else if e.Var != p.Input.ID() {
				st.Op = "constant"
			}
			byVar[e.Var] = st
			order = append(order, e.Var)
		}
		st.Index = append(st.Index, e.Index)
	}
	slices.Sort(order)
	out := make([]lump.Site, len(order))
	for i, id := range order {
		out[i] = *byVar[id]
		slices.Sort(out[i].Index)
	}
	return out
}

// singularError describes a system without a perfect matching. The
// minimum cut comes from König's theorem: with Z the rows and columns
// reachable by alternating paths from the unmatched equations, the rows
// outside Z and the columns inside Z cover every nonzero. Every
// intermediate value has both a row and a column joined by its unit
// diagonal, so the cover holds at least one of the two; the scalars whose
// cover holds more (an intermediate with both, an element of x by its
// column, an element of y by its row) separate x from y, and there are
// exactly as many of them as the width.
func (s *ScalarBTF) singularError(p *tape.Program, adj [][]int, matchRow, matchCol []int, rowOff []int) error {
	rowIn, colIn := alternatingReach(adj, matchRow, matchCol)
	inID, outID := p.Input.ID(), p.Output.ID()
	var cut, unU, unE []Elem
	for c, e := range s.cols {
		if matchCol[c] < 0 {
			unU = append(unU, e)
		}
		if !colIn[c] {
			continue
		}
		switch {
		case e.Var == inID && inID != outID:
			cut = append(cut, e)
		default:
			if ro := rowOff[e.Var]; ro >= 0 && !rowIn[ro+e.Index] {
				cut = append(cut, e)
			}
		}
	}
	for r, e := range s.rows {
		if matchRow[r] < 0 {
			unE = append(unE, e)
		}
		if e.Var == outID && !rowIn[r] {
			cut = append(cut, e)
		}
	}
	return &lump.StructurallySingularError{
		N:                  s.n,
		Deficiency:         len(s.cols) - countMatched(matchRow),
		Cut:                sites(p, cut),
		UnmatchedUnknowns:  sites(p, unU),
		UnmatchedEquations: sites(p, unE),
	}
}

func countMatched(matchRow []int) int {
	k := 0
	for _, c := range matchRow {
		if c >= 0 {
			k++
		}
	}
	return k
}

func (s *ScalarBTF) blockError(p *tape.Program, bi int, b Block, cond float64) error {
	e := &lump.SingularBlockError{Block: bi, Size: b.Size(), Nodes: b.Nodes, Cond: cond}
	for _, pos := range b.Nodes {
		for _, nd := range p.Nodes {
			if nd.Pos == pos {
				e.Ops = append(e.Ops, nd.Op.Name())
			}
		}
	}
	return e
}

// Len returns n, the number of elements of x and of y.
func (s *ScalarBTF) Len() int { return s.n }

// NumUnknowns returns the number of scalar unknowns (and equations) of the
// extended system.
func (s *ScalarBTF) NumUnknowns() int { return len(s.cols) }

// Blocks returns the blocks in solve order: every block's equations read
// only unknowns of itself and of earlier blocks. The slice and the blocks
// are the ScalarBTF's own: do not modify them.
func (s *ScalarBTF) Blocks() []Block { return s.blocks }

// BlockOf returns the index in Blocks of the block holding the unknown e,
// and false if e is not an unknown of the system.
func (s *ScalarBTF) BlockOf(e Elem) (int, bool) {
	c, ok := s.colOf[e]
	if !ok {
		return -1, false
	}
	return s.block[c], true
}

// ExternalRead is a nonzero of a block's equation Eq on the unknown Unknown
// of another block, Block (an earlier one, in solve order).
type ExternalRead struct {
	Eq, Unknown Elem
	Block       int
}

// ExternalReads lists the nonzeros of the equations of block bi (an index
// in Blocks) on unknowns outside the block, equation by equation in the
// block's order. It panics if bi is out of range.
func (s *ScalarBTF) ExternalReads(bi int) []ExternalRead {
	var out []ExternalRead
	for i, r := range s.fac[bi].rows {
		for _, e := range s.fac[bi].ext[i] {
			out = append(out, ExternalRead{Eq: s.rows[r], Unknown: s.cols[e.col], Block: s.block[e.col]})
		}
	}
	return out
}

// Solve returns dx = J⁻¹ dy, solving the extended system block by block in
// order, each block by its dense LU. It panics if len(dy) != Len().
func (s *ScalarBTF) Solve(dy []float64) []float64 {
	if len(dy) != s.n {
		panic(fmt.Sprintf("lumptest: Solve: dy has %d elements, want %d", len(dy), s.n))
	}
	u := make([]float64, len(s.cols))
	for bi := range s.fac {
		f := &s.fac[bi]
		rhs := mat.NewVecDense(len(f.rows), nil)
		for i, r := range f.rows {
			v := 0.0
			if r >= s.yrow && r < s.yrow+s.n {
				v = dy[r-s.yrow]
			}
			for _, e := range f.ext[i] {
				v -= e.val * u[e.col]
			}
			rhs.SetVec(i, v)
		}
		var sol mat.VecDense
		// The condition was checked in Scalarize; an error here is at most
		// mat.Condition for a block on the tolerance's edge.
		_ = f.lu.SolveVecTo(&sol, false, rhs)
		for j, c := range f.cols {
			u[c] = sol.AtVec(j)
		}
	}
	return append([]float64(nil), u[:s.n]...)
}

// LogAbsDet returns log|det J|, the sum of log|det| over the blocks (the
// intermediate equations make the rest unit triangular, and the sign of
// dv − J du does not change |det|).
func (s *ScalarBTF) LogAbsDet() float64 { return s.logdet }
