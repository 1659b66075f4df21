package lump

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/invad/invad/tape"
)

// DefaultMaxWidth is the largest dense lump (and the largest block order
// of a batch lump) Analyze accepts by default: a 4096×4096 block is 128 MB
// and a few seconds of LU.
const DefaultMaxWidth = 4096

// DefaultMaxBytes is the memory one lump's factorization may take by
// default (its block, its factors and their working copies, as estimated
// before anything is allocated): 1 GiB.
const DefaultMaxBytes int64 = 1 << 30

// Limits bounds the lumps Analyze accepts. Zero fields take the defaults.
type Limits struct {
	Width int   // a dense lump's width, a batch lump's block order K
	Bytes int64 // the estimated memory of one lump's factorization
}

// Atom is a maximal range of one value's elements that the program never
// cuts: every Split, Concat and elementwise op either covers it whole or not
// at all. Atoms are the unknowns of the tensor-level extended system.
type Atom struct {
	Var      int // the value's ID on the tape (an input or an op's output)
	Off, Len int // the element range [Off, Off+Len) of that value
}

// EdgeKind says how an equation touches an unknown atom.
type EdgeKind uint8

const (
	// Self: the equation's own value (coefficient I).
	Self EdgeKind = iota
	// Diag: an elementwise block between aligned atoms of one size.
	Diag
	// Pin: an element range of y that is an atom itself (y = concat(a, m)).
	Pin
	// DenseEdge: any other block (a matrix product, a running sum, a
	// broadcast scalar).
	DenseEdge
	// Partial: an elementwise block between ranges of an equation and an
	// atom that are not both whole, or not aligned: some rows of the
	// equation against as many elements of the atom, shifted (a stencil
	// written with Slice and Concat whose values are kept whole).
	Partial
)

// Touch is one unknown atom an equation involves.
type Touch struct {
	Atom int
	Kind EdgeKind
	// N is the number of the equation's rows that involve the atom: the
	// overlap of a Partial edge, the equation's length otherwise.
	N int
}

// Eq is an equation atom: rows [Off, Off+Len) of one op's equation
// dv − Σ J du = 0 (or Σ J du = dy for the output), or a Pin row range of y.
type Eq struct {
	Node     *tape.Node // the op whose equation this is; nil for a Pin
	Off, Len int        // rows of the op's output (or of y for a Pin)
	Out      bool       // an equation of y: its right-hand side is dy
	Self     int        // the atom of the op's own value, -1 for y's equations
	Touch    []Touch
}

// Kind is how a lump is factorized.
type Kind uint8

const (
	// Expansion: a value computed from known ones (a JVP, no solve).
	Expansion Kind = iota
	// Step: one op pivoting on one input of its output's size; the op's own
	// inverse rule factorizes it (diagonal, triangular, cached LU of W, ...).
	Step
	// Batch: k values of m elements coupled elementwise: m independent k×k
	// blocks, batched LU (k = 1: reciprocals).
	Batch
	// DenseLump: a general square block, dense LU.
	DenseLump
	// Copy: a range of y that is an atom itself (y = concat(a, m) pins a and
	// m): the unknown is dy's range, no solve.
	Copy
	// Sparse: a wide block whose ops couple elements through shifted
	// diagonals (a stencil written with Slice and Concat): its pattern from
	// the ops' index maps (Lump.Sparse), built with one JVP per column
	// color, banded LU.
	Sparse
)

var kindNames = [...]string{"expansion", "step", "batch", "dense", "copy", "sparse"}

func (k Kind) String() string { return kindNames[k] }

// Form is how the sweeps treat a lump kind's block: what the executor
// (package sweep) builds and hands to an engine's factorization.
type Form uint8

const (
	// Direct: nothing to factorize (a copy of dy's range, or an expansion
	// computed by a JVP).
	Direct Form = iota
	// OpRule: the op's own inverse rule factorizes its block (a Step).
	OpRule
	// BatchBlocks: M independent K×K blocks, built from K JVP columns (one
	// per killed atom, all blocks at once), batch-minor.
	BatchBlocks
	// DenseBlock: the Width×Width block, built from Width JVP columns,
	// column-major.
	DenseBlock
	// SparseBlocks: the products of the block with the sum of each color's
	// unit columns (Lump.Sparse.Colors JVPs), color-major, Width each; the
	// engine reads the values off them (sparse.Recover) and factorizes.
	SparseBlocks
)

// Form returns how the sweeps treat the kind's block. A new kind whose
// block is built as one of these needs no change to the sweeps.
func (k Kind) Form() Form {
	switch k {
	case Step:
		return OpRule
	case Batch:
		return BatchBlocks
	case DenseLump:
		return DenseBlock
	case Sparse:
		return SparseBlocks
	}
	return Direct
}

// factorBytes estimates the memory of lump l's factorization from shapes:
// a batch's block as extracted, its copy and its factors (3·K²·M values); a
// dense block as extracted, transposed and factorized (3·Width²); a step's
// what its op says (tape.FactorSizer), else what its structure implies.
func (a *Analysis) factorBytes(l *Lump) int64 {
	switch l.Kind {
	case Batch:
		return 3 * 8 * int64(l.K) * int64(l.K) * int64(l.M)
	case DenseLump:
		return 3 * 8 * int64(l.Width) * int64(l.Width)
	case Sparse:
		// The colored products, the values, the banded LU and its order.
		sb := l.Sparse
		return 8*int64(sb.Colors)*int64(l.Width) + 8*int64(sb.Pattern.NNZ()) + sb.FactorBytes(l.Width)
	case Step:
		nd := l.Node
		sh, vary := shapesOf(nd)
		if fs, ok := nd.Op.(tape.FactorSizer); ok {
			return fs.FactorBytes(l.Input, sh)
		}
		s := nd.Op.Structure(l.Input, sh, vary)
		switch s.Kind {
		case tape.Zero, tape.Identity, tape.Selection, tape.LowerTriangular:
			return 0
		case tape.Diagonal:
			return 8 * int64(s.Rows)
		case tape.BlockDiagonal:
			b := int64(s.Rows / max(s.Blocks, 1))
			if s.Shared {
				return 2 * 8 * b * b
			}
			return 2 * 8 * b * b * int64(s.Blocks)
		}
		return 2 * 8 * int64(s.Rows) * int64(s.Cols)
	}
	return 0
}

// Structure describes lump i's block A: "12 blocks 1×1 (elementwise
// coupling)", "dense 40×40", a Step's op structure, ...
func (a *Analysis) Structure(i int) string {
	lp := &a.Lumps[i]
	switch lp.Kind {
	case Copy:
		return fmt.Sprintf("identity %d×%d", lp.Width, lp.Width)
	case Expansion:
		return "none"
	case Step:
		nd := lp.Node
		sh, vary := shapesOf(nd)
		return fmt.Sprintf("%v (w.r.t. operand %d of %s)", nd.Op.Structure(lp.Input, sh, vary), lp.Input, nd.Op.Name())
	case Batch:
		return fmt.Sprintf("%d blocks %d×%d", lp.M, lp.K, lp.K)
	case DenseLump:
		return fmt.Sprintf("dense %d×%d", lp.Width, lp.Width)
	case Sparse:
		sb := lp.Sparse
		if sb.LU != nil {
			return fmt.Sprintf("sparse %d×%d, %d nonzeros, %d colors, LU in nested dissection order, fill %.3g×", lp.Width, lp.Width,
				sb.Pattern.NNZ(), sb.Colors, float64(sb.LU.NNZ())/float64(sb.Pattern.NNZ()))
		}
		order := "natural order"
		if sb.Perm != nil {
			order = "reverse Cuthill–McKee order"
		}
		return fmt.Sprintf("sparse %d×%d, %d nonzeros, %d colors, band %d+%d in %s", lp.Width, lp.Width,
			sb.Pattern.NNZ(), sb.Colors, sb.KL, sb.KU, order)
	}
	return lp.Kind.String()
}

// Lump is one diagonal block of the block triangular form.
//
// Its unknowns split into Killed ones, whose own equation lies outside the
// lump (x, or values computed before it), and internal ones, values the
// lump computes and consumes itself; its equations into Created ones (the
// output's, or those of values whose unknown lies outside) and Internal
// ones, one per internal unknown. The internal equations are unit lower
// triangular in tape order, so the internal values follow from the killed
// ones by a JVP, and eliminating them leaves the lump's square block
// A = ∂Created/∂Killed, of order Width, with det A = ±det(lump).
type Lump struct {
	Kind     Kind
	Eqs      []int // indices into Analysis.Eqs
	Unknowns []int // indices into Analysis.Atoms
	Killed   []int // atoms, ascending
	Created  []int // equations, ascending
	Internal []int // equations in tape order (by op position, then offset)
	Width    int   // Σ of the killed atoms' sizes (0 for an expansion)
	// Node and Input: for a Step, the op and the input it pivots on.
	Node  *tape.Node
	Input int
	// K and M: for a Batch, M independent K×K blocks (K killed atoms of M
	// elements each).
	K, M int
	// Bytes estimates the memory its factorization takes (the block as
	// built, the factors and their working copies), from shapes alone.
	Bytes int64
	// Sparse: for a Sparse lump, its block's pattern, coloring and order.
	Sparse *SparseBlock
}

// Analysis is the tensor-level block triangular form of a program's
// extended Jacobian system.
type Analysis struct {
	Prog  *tape.Program
	Atoms []Atom
	Eqs   []Eq
	// Lumps in the order IJVP solves them: from y back to x. VIJP runs them
	// backwards.
	Lumps []Lump
	// LumpOf gives each atom's lump; Index its position in Lumps order.
	LumpOf []int

	segs      map[int][]Seg // per value: its element ranges in terms of atoms' values
	atomsOf   map[int][]int // per base value: its atoms by offset
	relabel   map[*tape.Node]bool
	n         int
	outIsNode bool
	ctx       context.Context // while Analyze runs
	ticks     int
	structs   map[*tape.Node]nodeStructs // while Analyze runs
	// kron: the nodes whose Kron blocks are followed row by row (nil:
	// none; every other Kron block is taken as dense).
	kron map[*tape.Node]bool
}

// cancelled unwinds Analyze when its context is done.
type cancelled struct{ err error }

// tick is called once per unit of analysis work; every 1024th call checks
// the context and unwinds Analyze (to AnalyzeContext's recover) if it is
// done.
func (a *Analysis) tick() {
	if a.ticks++; a.ticks&1023 == 0 && a.ctx != nil {
		if err := a.ctx.Err(); err != nil {
			panic(cancelled{err})
		}
	}
}

// Seg maps the element range [Pos, Pos+Len) of a value to the range
// [Off, Off+Len) of a base value (an input or a non-relabelling op's
// output), or to a constant when Var is -1.
type Seg struct {
	Pos, Len int
	Var, Off int
}

// Segs returns how a value's elements map to base values. A base value maps
// to itself.
func (a *Analysis) Segs(v *tape.Var) []Seg { return a.segs[v.ID()] }

// IsRelabel reports whether the node only relabels elements (Reshape, Slice,
// Concat): it has no equation of its own.
func (a *Analysis) IsRelabel(nd *tape.Node) bool { return a.relabel[nd] }

// AtomsIn returns the atoms covering [off, off+len) of base value id.
func (a *Analysis) AtomsIn(id, off, n int) []int {
	as := a.atomsOf[id]
	j, _ := slices.BinarySearchFunc(as, off, func(k, off int) int { return a.Atoms[k].Off - off })
	var out []int
	for ; j < len(as) && a.Atoms[as[j]].Off+a.Atoms[as[j]].Len <= off+n; j++ {
		out = append(out, as[j])
	}
	return out
}

// atomsOver returns the atoms of base value id that overlap [off, off+n).
func (a *Analysis) atomsOver(id, off, n int) []int {
	as := a.atomsOf[id]
	j, _ := slices.BinarySearchFunc(as, off, func(k, off int) int { return a.Atoms[k].Off + a.Atoms[k].Len - 1 - off })
	var out []int
	for ; j < len(as) && a.Atoms[as[j]].Off < off+n; j++ {
		out = append(out, as[j])
	}
	return out
}

// ErrLumpTooLarge is matched by *LumpTooLargeError.
var ErrLumpTooLarge = errors.New("lump: a dense lump is over the width limit")

// LumpTooLargeError names the ops of a lump over a limit: a dense lump
// wider than the width limit, a batch lump whose blocks are of higher order,
// or any lump (a step's cached LU of W included) whose factorization would
// take more memory than the budget. It is returned before anything is
// allocated.
type LumpTooLargeError struct {
	Kind         Kind
	Width, Limit int      // the lump's width (a batch's K) and the width limit
	Bytes        int64    // the estimated memory of its factorization
	Budget       int64    // the memory budget
	Ops          []string // "op@position"
}

func (e *LumpTooLargeError) Error() string {
	if e.Width > e.Limit {
		return fmt.Sprintf("lump: the ops %s form one %v lump of width %d, over the limit %d (its factorization needs about %.3g GB)",
			strings.Join(e.Ops, ", "), e.Kind, e.Width, e.Limit, float64(e.Bytes)/1e9)
	}
	return fmt.Sprintf("lump: the ops %s form one %v lump whose factorization needs about %.3g GB, over the budget of %.3g GB",
		strings.Join(e.Ops, ", "), e.Kind, float64(e.Bytes)/1e9, float64(e.Budget)/1e9)
}

// Is makes errors.Is(err, ErrLumpTooLarge) true.
func (e *LumpTooLargeError) Is(target error) bool { return target == ErrLumpTooLarge }

// Analyze finds the lumps of p with the width limit maxWidth (0 means
// DefaultMaxWidth) and the default memory budget: AnalyzeLimits.
func Analyze(p *tape.Program, maxWidth int) (*Analysis, error) {
	return AnalyzeLimits(p, Limits{Width: maxWidth})
}

// AnalyzeLimits finds the lumps of p: AnalyzeContext without a deadline.
func AnalyzeLimits(p *tape.Program, lim Limits) (*Analysis, error) {
	return AnalyzeContext(context.Background(), p, lim)
}

// AnalyzeContext finds the lumps of p. It returns *StructurallySingularError
// when fewer than n disjoint paths lead from x to y, and *LumpTooLargeError
// for a lump over a limit (checked on shapes, before anything is
// allocated). Its cost grows as O(a log a) in the number a of atoms (a
// stencil written with shifts has one atom per element), and it returns
// ctx.Err() soon after ctx is done. It panics if p's output and input sizes
// differ.
func AnalyzeContext(ctx context.Context, p *tape.Program, lim Limits) (an *Analysis, err error) {
	if ctx == nil {
		panic("lump: AnalyzeContext with a nil context")
	}
	if p.Output.Len() != p.Input.Len() {
		panic(fmt.Sprintf("lump: program maps %d elements to %d", p.Input.Len(), p.Output.Len()))
	}
	maxWidth := lim.Width
	if maxWidth <= 0 {
		maxWidth = DefaultMaxWidth
	}
	budget := lim.Bytes
	if budget <= 0 {
		budget = DefaultMaxBytes
	}
	if out := p.Output; out.IsConst() {
		// y does not depend on x: no path at all, a width of 0.
		idx := make([]int, out.Len())
		for i := range idx {
			idx[i] = i
		}
		site := Site{Var: out.ID(), Op: "constant output", Pos: -1, Len: out.Len(), Index: idx}
		return nil, &StructurallySingularError{N: p.Input.Len(), Deficiency: p.Input.Len(), UnmatchedEquations: []Site{site}}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a, err := analyze(ctx, p, nil)
	if err != nil {
		return nil, err
	}
	// A dense lump through a Kron block (W·X with the samples of a batch
	// along X's rows) may be a batch of small blocks: analyze again with
	// those blocks followed row by row. Only there: cutting every W·X into
	// rows would split steps and expansions into one lump per row.
	kron := map[*tape.Node]bool{}
	for i := range a.Lumps {
		if a.Lumps[i].Kind != DenseLump {
			continue
		}
		for _, e := range a.Lumps[i].Eqs {
			nd := a.Eqs[e].Node
			if nd == nil || kron[nd] {
				continue
			}
			sh, vary := shapesOf(nd)
			for _, s := range tape.Structures(nd.Op, sh, vary) {
				if s.Kind == tape.Kron && kronFits(s) {
					kron[nd] = true
				}
			}
		}
	}
	if len(kron) > 0 {
		if a, err = analyze(ctx, p, kron); err != nil {
			return nil, err
		}
	}
	for i := range a.Lumps {
		l := &a.Lumps[i]
		w := l.Width
		if l.Kind == Batch {
			w = l.K
		}
		wide := (l.Kind == DenseLump || l.Kind == Batch) && w > maxWidth // a Sparse lump is bounded by its memory
		if wide || l.Bytes > budget {
			return nil, &LumpTooLargeError{Kind: l.Kind, Width: w, Limit: maxWidth, Bytes: l.Bytes, Budget: budget, Ops: a.LumpOps(i)}
		}
	}
	return a, nil
}

// analyze builds the analysis of p, its Kron blocks followed row by row in
// the nodes of kron and taken as dense elsewhere.
func analyze(ctx context.Context, p *tape.Program, kron map[*tape.Node]bool) (an *Analysis, err error) {
	a := &Analysis{Prog: p, segs: map[int][]Seg{}, atomsOf: map[int][]int{}, relabel: map[*tape.Node]bool{}, n: p.Input.Len(), ctx: ctx,
		structs: map[*tape.Node]nodeStructs{}, kron: kron}
	defer func() {
		a.ctx, a.structs = nil, nil
		if r := recover(); r != nil {
			c, ok := r.(cancelled)
			if !ok {
				panic(r)
			}
			an, err = nil, c.err
		}
	}()
	a.buildSegs()
	a.buildAtoms()
	a.buildEqs()
	flow, err := a.match()
	if err != nil {
		return nil, err
	}
	a.blocks(flow)
	for i := range a.Lumps {
		a.tick()
		l := &a.Lumps[i]
		a.classify(l)
		l.Bytes = a.factorBytes(l)
	}
	return a, nil
}

// LumpOps names the ops whose equations are in lump i, as "op@position".
func (a *Analysis) LumpOps(i int) []string {
	var names []string
	seen := map[*tape.Node]bool{}
	for _, e := range a.Lumps[i].Eqs {
		nd := a.Eqs[e].Node
		if nd == nil {
			if !seen[nil] {
				names = append(names, "output")
				seen[nil] = true
			}
			continue
		}
		if !seen[nd] {
			seen[nd] = true
			names = append(names, fmt.Sprintf("%s@%d", nd.Op.Name(), nd.Pos))
		}
	}
	return names
}

// ---- segments ----

func shapesOf(nd *tape.Node) ([][]int, []bool) {
	sh := make([][]int, len(nd.In))
	vary := make([]bool, len(nd.In))
	for i, v := range nd.In {
		sh[i], vary[i] = v.Shape(), !v.IsConst()
	}
	return sh, vary
}

// structures returns which inputs of nd vary and every input's structure,
// computed once per node (tape.Structures: O(inputs) for Concat).
func (a *Analysis) structures(nd *tape.Node) ([]bool, []tape.Structure) {
	if c, ok := a.structs[nd]; ok {
		return c.vary, c.s
	}
	sh, vary := shapesOf(nd)
	c := nodeStructs{vary, tape.Structures(nd.Op, sh, vary)}
	for i := range c.s {
		if s := &c.s[i]; s.Kind == tape.Kron && (!a.kron[nd] || !kronFits(*s)) {
			s.Kind = tape.Dense
		}
	}
	if a.structs != nil { // while Analyze runs
		a.tick()
		a.structs[nd] = c
	}
	return c.vary, c.s
}

type nodeStructs struct {
	vary []bool
	s    []tape.Structure
}

// restrict returns the part of segs (ascending by Pos, contiguous) covering
// [lo, lo+n), moved to start at pos.
func restrict(segs []Seg, lo, n, pos int) []Seg {
	var out []Seg
	j, _ := slices.BinarySearchFunc(segs, lo, func(s Seg, lo int) int { return s.Pos + s.Len - 1 - lo })
	for _, s := range segs[j:] {
		a, b := max(s.Pos, lo), min(s.Pos+s.Len, lo+n)
		if s.Pos >= lo+n {
			break
		}
		if a >= b {
			continue
		}
		off := -1
		if s.Var >= 0 {
			off = s.Off + a - s.Pos
		}
		out = append(out, Seg{Pos: pos + a - lo, Len: b - a, Var: s.Var, Off: off})
	}
	return out
}

func (a *Analysis) buildSegs() {
	p := a.Prog
	a.segs[p.Input.ID()] = []Seg{{Len: p.Input.Len(), Var: p.Input.ID()}}
	for _, nd := range p.Nodes {
		if segs, ok := a.relabelSegs(nd); ok {
			a.relabel[nd] = true
			a.segs[nd.Out.ID()] = segs
			continue
		}
		a.segs[nd.Out.ID()] = []Seg{{Len: nd.Out.Len(), Var: nd.Out.ID()}}
	}
	out := p.Output
	a.outIsNode = out.Node() != nil && !a.relabel[out.Node()]
}

// relabelSegs returns the segments of nd's output if every varying input's
// block is an identity or a selection and no output element is covered twice.
func (a *Analysis) relabelSegs(nd *tape.Node) ([]Seg, bool) {
	vary, ss := a.structures(nd)
	type piece struct{ out, n, in, inOff int }
	var pieces []piece
	for i, v := range nd.In {
		if !vary[i] {
			continue
		}
		s := ss[i]
		switch s.Kind {
		case tape.Zero:
		case tape.Identity:
			pieces = append(pieces, piece{0, nd.Out.Len(), i, 0})
		case tape.Selection:
			pieces = append(pieces, piece{s.OutOff, s.Len, i, s.InOff})
		default:
			return nil, false
		}
		_ = v
	}
	slices.SortFunc(pieces, func(x, y piece) int { return x.out - y.out })
	var segs []Seg
	at := 0
	for _, pc := range pieces {
		if pc.out < at {
			return nil, false // overlapping: not a relabelling
		}
		if pc.out > at {
			segs = append(segs, Seg{Pos: at, Len: pc.out - at, Var: -1, Off: -1})
		}
		segs = append(segs, restrict(a.segs[nd.In[pc.in].ID()], pc.inOff, pc.n, pc.out)...)
		at = pc.out + pc.n
	}
	if n := nd.Out.Len(); at < n {
		segs = append(segs, Seg{Pos: at, Len: n - at, Var: -1, Off: -1})
	}
	return segs, true
}

// ---- atoms: cut points propagated through relabellings and elementwise ops ----

// link ties the elements [pos, pos+n) of base value v to [off, off+n) of
// base value base, element by element (a diagonal block): a cut inside one
// range is a cut at the same place of the other.
type link struct{ v, pos, n, base, off int }

// stab is one side of a link on one value: the range [lo, hi) and, for a
// point inside it, where the point lands on the other side (at + c − lo on
// value to).
type stab struct{ lo, hi, to, at int }

// stabIndex answers "which ranges contain c strictly inside" for the
// ranges of one value: the ranges sorted by lo form an implicit balanced
// tree (the middle of each index range is its root) with the largest hi of
// each subtree, so a query costs O(log r) plus O(log r) per range found.
type stabIndex struct {
	r     []stab
	maxHi []int // per index: the largest hi of the subtree rooted there
}

func newStabIndex(r []stab) *stabIndex {
	slices.SortFunc(r, func(x, y stab) int { return x.lo - y.lo })
	ix := &stabIndex{r: r, maxHi: make([]int, len(r))}
	ix.build(0, len(r))
	return ix
}

func (ix *stabIndex) build(lo, hi int) int {
	if lo >= hi {
		return -1
	}
	m := (lo + hi) / 2
	h := ix.r[m].hi
	h = max(h, ix.build(lo, m), ix.build(m+1, hi))
	ix.maxHi[m] = h
	return h
}

// each calls fn for every range with lo < c < hi.
func (ix *stabIndex) each(lo, hi, c int, fn func(s stab)) {
	for lo < hi {
		m := (lo + hi) / 2
		if ix.maxHi[m] <= c {
			return
		}
		s := ix.r[m]
		if s.lo >= c {
			hi = m // every range right of m starts at or after c
			continue
		}
		if s.hi > c {
			fn(s)
		}
		ix.each(m+1, hi, c, fn)
		hi = m
	}
}

// cutSet is the set of cut points of one base value, a bitset over
// positions 0..len.
type cutSet []uint64

func (s cutSet) add(c int) bool {
	w, b := c>>6, uint64(1)<<(c&63)
	if s[w]&b != 0 {
		return false
	}
	s[w] |= b
	return true
}

func (a *Analysis) buildAtoms() {
	p := a.Prog
	bases := []*tape.Var{p.Input}
	for _, nd := range p.Nodes {
		if !a.relabel[nd] {
			bases = append(bases, nd.Out)
		}
	}
	// The structural cuts: both ends of every base value, of every segment
	// a relabelling or an op reads, and of the output ranges an elementwise
	// op's input segments map to; and the links of the elementwise ops.
	type point struct{ id, c int }
	var structural []point
	for _, b := range bases {
		structural = append(structural, point{b.ID(), 0}, point{b.ID(), b.Len()})
	}
	cutSegs := func(segs []Seg) {
		for _, s := range segs {
			if s.Var >= 0 {
				structural = append(structural, point{s.Var, s.Off}, point{s.Var, s.Off + s.Len})
			}
		}
	}
	var links []link
	for _, nd := range p.Nodes {
		if a.relabel[nd] {
			cutSegs(a.segs[nd.Out.ID()])
			continue
		}
		vary, ss := a.structures(nd)
		for i, in := range nd.In {
			if !vary[i] {
				continue
			}
			segs := a.segs[in.ID()]
			cutSegs(segs)
			v := nd.Out.ID()
			if s := ss[i]; s.Kind == tape.Kron {
				// Rows of Inner elements: cut both sides at every row, and
				// tie every row of the input to the output's first and
				// every row of the output to the input's first, so that a
				// cut inside one row is a cut at the same place of all.
				m := s.Inner
				for r := 0; r <= s.Rows/m; r++ {
					structural = append(structural, point{v, r * m})
				}
				for c := 0; c < s.Cols/m; c++ {
					cutSegs(restrict(segs, c*m, m, 0))
				}
				tie := func(rs []Seg) {
					for _, sg := range rs {
						if sg.Var >= 0 && sg.Len > 1 {
							links = append(links, link{v, sg.Pos, sg.Len, sg.Var, sg.Off})
						}
					}
				}
				for c := 0; c < s.Cols/m; c++ {
					tie(restrict(segs, c*m, m, 0))
				}
				for r := 1; r < s.Rows/m; r++ {
					tie(restrict(segs, 0, m, r*m))
				}
				continue
			}
			if ss[i].Kind != tape.Diagonal {
				continue
			}
			for _, s := range segs {
				structural = append(structural, point{v, s.Pos}, point{v, s.Pos + s.Len})
				if s.Var >= 0 && s.Len > 1 {
					links = append(links, link{v, s.Pos, s.Len, s.Var, s.Off})
				}
			}
		}
	}
	cutSegs(a.segs[p.Output.ID()])

	// Close the cuts under the links: a worklist of new points, each looked
	// up once in its value's ranges. Where the links shift values against
	// each other around a cycle (a stencil: x + roll(x)), the closure cuts
	// every element; past a budget, close them under a spanning forest of
	// consistent links instead (consistent: they agree on one coordinate
	// for every value of a component), which leaves the shifted equations
	// touching atoms partly (Partial edges) and the values whole.
	closure := func(links []link, budget int) (map[int]cutSet, bool) {
		cuts := make(map[int]cutSet, len(bases))
		for _, b := range bases {
			cuts[b.ID()] = make(cutSet, b.Len()/64+1)
		}
		var work []point
		n := 0
		add := func(id, c int) {
			if cuts[id].add(c) {
				work = append(work, point{id, c})
				n++
			}
		}
		for _, pt := range structural {
			add(pt.id, pt.c)
		}
		ranges := map[int][]stab{}
		for _, l := range links {
			ranges[l.v] = append(ranges[l.v], stab{l.pos, l.pos + l.n, l.base, l.off})
			ranges[l.base] = append(ranges[l.base], stab{l.off, l.off + l.n, l.v, l.pos})
		}
		index := make(map[int]*stabIndex, len(ranges))
		for id, r := range ranges {
			index[id] = newStabIndex(r)
		}
		for len(work) > 0 {
			if n > budget {
				return nil, false
			}
			a.tick()
			pt := work[len(work)-1]
			work = work[:len(work)-1]
			if ix := index[pt.id]; ix != nil {
				ix.each(0, len(ix.r), pt.c, func(s stab) { add(s.to, s.at+pt.c-s.lo) })
			}
		}
		return cuts, true
	}
	cuts, ok := closure(links, 4*len(structural)+cutBudget)
	if !ok {
		cuts, _ = closure(consistentLinks(links), math.MaxInt)
	}
	for _, b := range bases {
		id, cs := b.ID(), cuts[b.ID()]
		prev := 0
		for w, word := range cs {
			for word != 0 {
				c := w<<6 + bits.TrailingZeros64(word)
				word &= word - 1
				if c == 0 {
					continue
				}
				a.atomsOf[id] = append(a.atomsOf[id], len(a.Atoms))
				a.Atoms = append(a.Atoms, Atom{Var: id, Off: prev, Len: c - prev})
				prev = c
			}
		}
	}
}

// cutBudget bounds the cuts the closure under every link may add beyond a
// few per structural cut before the analysis keeps shifted values whole
// (see buildAtoms): a stencil of up to about a thousand elements is cut
// into one atom per element (a Batch lump of one block), a larger one is
// a Sparse lump.
const cutBudget = 1024

// consistentLinks returns the links of a spanning forest of the link graph
// (values as nodes) that agree on one coordinate per component: a link
// ties element pos+t of v to element off+t of base, so their coordinates
// differ by off − pos. A weighted union-find keeps each value's offset
// from its component's root; a link that closes a cycle with another
// offset is left out.
func consistentLinks(links []link) []link {
	parent := map[int]int{}
	diff := map[int]int{} // coordinate of the value's element 0 minus its parent's
	var find func(v int) (int, int)
	find = func(v int) (int, int) {
		p, ok := parent[v]
		if !ok || p == v {
			return v, 0
		}
		r, d := find(p)
		parent[v], diff[v] = r, diff[v]+d
		return r, diff[v]
	}
	var out []link
	for _, l := range links {
		rv, dv := find(l.v)
		rb, db := find(l.base)
		if rv == rb {
			if dv+l.pos == db+l.off {
				out = append(out, l)
			}
			continue
		}
		parent[rv], diff[rv] = rb, db+l.off-dv-l.pos
		out = append(out, l)
	}
	return out
}

// segAtoms lists the atoms covering segs (constant segments skipped).
func (a *Analysis) segAtoms(segs []Seg) []int {
	var out []int
	for _, s := range segs {
		if s.Var >= 0 {
			out = append(out, a.AtomsIn(s.Var, s.Off, s.Len)...)
		}
	}
	return out
}

// ---- equations ----

// touchRank orders the kinds of an equation's touches of one atom: a dense
// block covers the others, a partial one a diagonal, the identity a
// diagonal.
var touchRank = [...]int{Self: 1, Diag: 0, Pin: 0, DenseEdge: 3, Partial: 2}

// mergeTouches sorts an equation's touches by atom and keeps, for an atom
// touched more than once, the kind of highest rank; the rows of partial
// touches add up (at most the equation's n).
func mergeTouches(ts []Touch, n int) []Touch {
	slices.SortFunc(ts, func(x, y Touch) int {
		if x.Atom != y.Atom {
			return x.Atom - y.Atom
		}
		return touchRank[y.Kind] - touchRank[x.Kind]
	})
	out := ts[:0]
	for _, t := range ts {
		if len(out) > 0 && out[len(out)-1].Atom == t.Atom {
			if last := &out[len(out)-1]; last.Kind == Partial && (t.Kind == Partial || t.Kind == Diag) {
				last.N = min(last.N+t.N, n)
			}
			continue
		}
		out = append(out, t)
	}
	return out
}

// kronMaxPairs bounds the row pairs of a Kron block the analysis follows
// (each output row touches every input row): past it, as for W·X with a
// wide W and few columns, the block is taken as dense.
const kronMaxPairs = 1 << 14

// kronFits reports whether the analysis follows Kron block s row by row.
func kronFits(s tape.Structure) bool {
	m := s.Inner
	return m > 0 && s.Rows%m == 0 && s.Cols%m == 0 && int64(s.Rows/m)*int64(s.Cols/m) <= kronMaxPairs
}

// diagOffsets returns, for the output elements [off, off+n) of a block s,
// the input offsets lo whose elements [lo, lo+n) they read one for one: a
// diagonal block's own range, or the same place in every row of a Kron
// block. It reports false for any other block, or for a range crossing a
// Kron row (never an atom's: the rows are cut).
func diagOffsets(s tape.Structure, off, n int) ([]int, bool) {
	switch s.Kind {
	case tape.Diagonal:
		return []int{off}, true
	case tape.Kron:
		m := s.Inner
		t := off % m
		if t+n > m {
			return nil, false
		}
		los := make([]int, s.Cols/m)
		for c := range los {
			los[c] = c*m + t
		}
		return los, true
	}
	return nil, false
}

func (a *Analysis) isUnknown(k int) bool {
	return !(a.outIsNode && a.Atoms[k].Var == a.Prog.Output.ID())
}

func (a *Analysis) buildEqs() {
	p := a.Prog
	for _, nd := range p.Nodes {
		if a.relabel[nd] {
			continue
		}
		vary, ss := a.structures(nd)
		out := nd.Out.ID() == p.Output.ID()
		for _, k := range a.atomsOf[nd.Out.ID()] {
			a.tick()
			at := a.Atoms[k]
			e := Eq{Node: nd, Off: at.Off, Len: at.Len, Out: out, Self: -1}
			var touch []Touch
			if !out {
				e.Self = k
				touch = append(touch, Touch{Atom: k, Kind: Self, N: at.Len})
			}
			for i, in := range nd.In {
				if !vary[i] {
					continue
				}
				if ss[i].Kind == tape.Zero {
					continue
				}
				if los, ok := diagOffsets(ss[i], at.Off, at.Len); ok {
					for _, lo := range los {
						for _, sg := range restrict(a.segs[in.ID()], lo, at.Len, 0) {
							if sg.Var < 0 {
								continue
							}
							for _, u := range a.atomsOver(sg.Var, sg.Off, sg.Len) {
								ua := a.Atoms[u]
								m := min(ua.Off+ua.Len, sg.Off+sg.Len) - max(ua.Off, sg.Off)
								kind := Diag
								if sg.Pos != 0 || sg.Off != ua.Off || m != at.Len || ua.Len != at.Len {
									kind = Partial
								}
								touch = append(touch, Touch{Atom: u, Kind: kind, N: m})
							}
						}
					}
				} else {
					for _, u := range a.segAtoms(a.segs[in.ID()]) {
						touch = append(touch, Touch{Atom: u, Kind: DenseEdge, N: at.Len})
					}
				}
			}
			e.Touch = mergeTouches(touch, at.Len)
			a.Eqs = append(a.Eqs, e)
		}
	}
	if a.outIsNode {
		return
	}
	for _, s := range a.segs[p.Output.ID()] {
		if s.Var < 0 {
			a.Eqs = append(a.Eqs, Eq{Off: s.Pos, Len: s.Len, Out: true, Self: -1})
			continue
		}
		for _, k := range a.AtomsIn(s.Var, s.Off, s.Len) {
			at := a.Atoms[k]
			a.Eqs = append(a.Eqs, Eq{Off: s.Pos + at.Off - s.Off, Len: at.Len, Out: true, Self: -1, Touch: []Touch{{Atom: k, Kind: Pin, N: at.Len}}})
		}
	}
}
