package lump_test

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/invad/invad/catalog"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/lump/lumptest"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// This file checks the tensor-level lump finder (Analyze) against the
// scalar-level oracle (lumptest.Scalarize) on small programs: the design
// note's section 5 says the irreducible blocks of the BTF are unique, so the
// tensor-level lumps, written out element by element, must be unions of the
// oracle's blocks, and equal to them where the ops' declared structures are
// exact.

// oracleLimit bounds the oracle's scalar unknowns: the programs below have
// at most a few hundred.
const oracleLimit = 4000

// oracleCase is a program f: Rⁿ → Rⁿ of the catalogue (package catalog,
// its Oracle set) for the comparison.
type oracleCase struct {
	name   string
	reason string
	shape  []int
	lo, hi float64 // x is drawn from [lo, hi)ⁿ, a generic point
	// exact: every op's declared structure is exactly its Jacobian's
	// nonzero pattern at a generic point, so the lumps, cut into the
	// blocks their kinds declare (see oracleDeclaredBlocks), must be the oracle's.
	exact bool
	// coarser: a declared structure hides zeros the oracle sees, so the
	// declared blocks must be strictly coarser than the oracle's.
	coarser bool
	f       func(x *tape.Var) *tape.Var
}

// oracleMatrix is a seeded r×c constant with entries in [-1, 1) and diag
// added on the diagonal (diagonally dominant when diag > c): the constants
// of the random programs, drawn as the catalogue's oracle programs draw
// theirs (catalog.OracleMatrix).
func oracleMatrix(like *tape.Var, seed uint64, r, c int, diag float64) *tape.Var {
	return ops.Const(like, catalog.OracleMatrix(seed, r, c, diag))
}

// oracleClaims lists the catalogue's regular Oracle programs in the order
// they are compared, with what the comparison claims of each; lo < hi
// replaces the program's domain.
var oracleClaims = []struct {
	name           string
	exact, coarser bool
	lo, hi         float64
}{
	{name: "exp2tanh", exact: true},
	{name: "x+sin(x)", exact: true},
	{name: "x*x", exact: true},
	{name: "Wx-oracle", exact: true},
	{name: "XW-oracle", exact: true},
	{name: "reshape-oracle", exact: true},
	{name: "coupling-oracle", exact: true},
	{name: "coupling-swapped", exact: true},
	// θ away from 0, so that sin θ is far from a structural zero.
	{name: "rotation-z", exact: true, lo: 0.3, hi: 1.3},
	{name: "rotation(a,b)", exact: true},
	{name: "chains-dense", exact: true},
	{name: "chains-softplus", exact: true},
	{name: "cumsum2d", exact: true},
	{name: "swap-pieces", exact: true},
	{name: "swap-pieces-tanh", exact: true},
	{name: "split-concat-maze", exact: true},
	{name: "one-way-coupling", exact: true},
	{name: "x-sin-swap", exact: true},
	{name: "residual-oracle", exact: true},
	{name: "residual-fm-oracle", exact: true},
	{name: "coupling-fm-oracle", exact: true},
	{name: "divlog", exact: true},
	{name: "identity", exact: true},
	{name: "reshape-only", exact: true},
	// A broadcast rank-0 value, a variable on both sides of a matrix
	// product: dense lumps; only oracleRefinement is claimed.
	{name: "broadcast"},
	{name: "broadcast-half"},
	{name: "xtimesX"},
	{name: "Wx-block-diagonal", coarser: true},
}

var oracleCases = func() []oracleCase {
	var cs []oracleCase
	for _, cl := range oracleClaims {
		p := catalog.MustGet(cl.name)
		c := oracleCase{name: p.Name, reason: p.About, shape: p.Shape, lo: p.Lo, hi: p.Hi, exact: cl.exact, coarser: cl.coarser, f: p.F}
		if cl.lo < cl.hi {
			c.lo, c.hi = cl.lo, cl.hi
		}
		cs = append(cs, c)
	}
	return cs
}()

// TestOracleCasesAreTheCatalogues: the comparison runs every program of
// the catalogue's Oracle set, the regular ones here and the structurally
// singular ones in oracleSingularCases.
func TestOracleCasesAreTheCatalogues(t *testing.T) {
	var regular, singular []string
	for _, p := range catalog.In(catalog.Oracle) {
		if p.Singular {
			singular = append(singular, p.Name)
		} else {
			regular = append(regular, p.Name)
		}
	}
	var got []string
	for _, c := range oracleCases {
		got = append(got, c.name)
	}
	if slices.Sort(got); !slices.Equal(got, slices.Sorted(slices.Values(regular))) {
		t.Errorf("regular cases %v, the catalogue's Oracle set has %v", got, regular)
	}
	got = nil
	for _, c := range oracleSingularCases {
		got = append(got, c.name)
	}
	if slices.Sort(got); !slices.Equal(got, slices.Sorted(slices.Values(singular))) {
		t.Errorf("singular cases %v, the catalogue's Oracle set has %v", got, singular)
	}
}

// oracleRecord runs f on a fresh tape at x and finishes the program.
func oracleRecord(f func(*tape.Var) *tape.Var, x *tensor.Tensor) *tape.Program {
	tp := tape.NewTape()
	in := tp.Input(x)
	return tp.Finish(in, f(in))
}

// oraclePoint draws x from [lo, hi)ⁿ with a fixed seed.
func oraclePoint(shape []int, lo, hi float64, seed uint64) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 21))
	x := tensor.Zeros(shape...)
	for i := range x.Data() {
		x.Data()[i] = lo + (hi-lo)*rng.Float64()
	}
	return x
}

// oracleBlocks is a set of disjoint groups of scalar unknowns.
type oracleBlocks [][]lumptest.Elem

// keys renders each group as a sorted string, the groups sorted: two
// oracleBlocks values are equal iff their keys are.
func (p oracleBlocks) keys() []string {
	out := make([]string, 0, len(p))
	for _, g := range p {
		g = slices.Clone(g)
		slices.SortFunc(g, oracleCmpElem)
		out = append(out, fmt.Sprint(g))
	}
	slices.Sort(out)
	return out
}

func oracleCmpElem(a, b lumptest.Elem) int {
	if a.Var != b.Var {
		return a.Var - b.Var
	}
	return a.Index - b.Index
}

// groupOf maps each scalar to its group's index and lists the scalars
// found in two groups.
func (p oracleBlocks) groupOf() (map[lumptest.Elem]int, []string) {
	m := map[lumptest.Elem]int{}
	var dups []string
	for i, g := range p {
		for _, e := range g {
			if j, dup := m[e]; dup {
				dups = append(dups, fmt.Sprintf("scalar %v is in groups %d and %d", e, j, i))
			}
			m[e] = i
		}
	}
	return m, dups
}

// oracleScalarBlocks is the oracle's BTF with the views eliminated, as sets of
// scalars of base values (x and the outputs of ops that are not
// relabellings).
//
// The tensor level has no unknowns for the outputs of Reshape, Slice and
// Concat: it substitutes the base elements they view. At scalar level each
// view element v is an unknown with the equation dv − du = 0 on the one
// element u it views. Substituting u for v removes that equation and that
// unknown, and the BTF of the reduced system follows from the oracle's:
// the equation of v is matched either to v (then it is a step of its own
// and removing it keeps every cycle, now through the direct edge) or to u
// (then its only successor is the equation matched to v, and merging the
// two leaves the union of their blocks). Either way the reduced blocks are
// the oracle's blocks with the block of v's equation joined to the block of
// the unknown v, applied for every view element (union-find), then
// restricted to base scalars. y's own rows are equations, never unknowns,
// so a view that is y is not eliminated.
func oracleScalarBlocks(t *testing.T, s *lumptest.ScalarBTF, an *lump.Analysis) oracleBlocks {
	t.Helper()
	blocks := s.Blocks()
	parent := make([]int, len(blocks))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		if parent[i] != i {
			parent[i] = find(parent[i])
		}
		return parent[i]
	}
	eqBlock := map[lumptest.Elem]int{}
	for bi, b := range blocks {
		for _, e := range b.Equations {
			eqBlock[e] = bi
		}
	}
	base := map[int]bool{an.Prog.Input.ID(): true}
	for _, nd := range an.Prog.Nodes {
		if !an.IsRelabel(nd) {
			base[nd.Out.ID()] = true
			continue
		}
		if nd.Out == an.Prog.Output {
			continue
		}
		for i := range nd.Out.Len() {
			e := lumptest.Elem{Var: nd.Out.ID(), Index: i}
			ub, ok := s.BlockOf(e)
			eb, ok2 := eqBlock[e]
			if !ok || !ok2 {
				t.Fatalf("view element %v of %s@%d has no unknown or no equation in the oracle", e, nd.Op.Name(), nd.Pos)
			}
			parent[find(ub)] = find(eb)
		}
	}
	groups := map[int][]lumptest.Elem{}
	for bi, b := range blocks {
		for _, e := range b.Unknowns {
			if base[e.Var] {
				r := find(bi)
				groups[r] = append(groups[r], e)
			}
		}
	}
	var p oracleBlocks
	for _, r := range slices.Sorted(maps.Keys(groups)) {
		p = append(p, groups[r])
	}
	return p
}

// oracleAtomElems lists the scalars of an atom.
func oracleAtomElems(at lump.Atom) []lumptest.Elem {
	out := make([]lumptest.Elem, at.Len)
	for j := range out {
		out[j] = lumptest.Elem{Var: at.Var, Index: at.Off + j}
	}
	return out
}

// oracleTensorBlocks is the lumps as sets of scalars, one group per lump.
func oracleTensorBlocks(an *lump.Analysis) oracleBlocks {
	var p oracleBlocks
	for _, l := range an.Lumps {
		var g []lumptest.Elem
		for _, k := range l.Unknowns {
			g = append(g, oracleAtomElems(an.Atoms[k])...)
		}
		p = append(p, g)
	}
	return p
}

// oracleDeclaredBlocks is the lumps, each cut into the independent scalar blocks
// its kind declares:
//   - an Expansion or a Copy: one block per element (a JVP, or dy's range);
//   - a Batch of M independent blocks: block j holds element j of each of
//     its atoms, killed and internal (all of them have M elements);
//   - a Step: as the pivot's declared structure says: Identity, Diagonal,
//     Selection and LowerTriangular blocks are one scalar step per element
//     (the BTF of a triangular matrix with a nonzero diagonal is all
//     singletons), a BlockDiagonal of B blocks is B blocks of consecutive
//     elements of the pivot input, a Kron A ⊗ I of rows of m is m blocks
//     (one per position in a row), a Dense one is one block;
//   - a DenseLump: one block.
func oracleDeclaredBlocks(t *testing.T, an *lump.Analysis) oracleBlocks {
	t.Helper()
	var p oracleBlocks
	for li, l := range an.Lumps {
		var all []lumptest.Elem
		for _, k := range l.Unknowns {
			all = append(all, oracleAtomElems(an.Atoms[k])...)
		}
		singletons := func() {
			for _, e := range all {
				p = append(p, []lumptest.Elem{e})
			}
		}
		switch l.Kind {
		case lump.Expansion, lump.Copy:
			singletons()
		case lump.Batch:
			if l.M*len(l.Unknowns) != len(all) || l.K != len(l.Killed) {
				t.Fatalf("lump %d: batch of %d blocks with K = %d over %d atoms (%d killed) of %d scalars",
					li, l.M, l.K, len(l.Unknowns), len(l.Killed), len(all))
			}
			for j := range l.M {
				var g []lumptest.Elem
				for _, k := range l.Unknowns {
					at := an.Atoms[k]
					if at.Len != l.M {
						t.Fatalf("lump %d: batch with M = %d holds atom %+v", li, l.M, at)
					}
					g = append(g, lumptest.Elem{Var: at.Var, Index: at.Off + j})
				}
				p = append(p, g)
			}
		case lump.Step:
			nd := l.Node
			shapes := make([][]int, len(nd.In))
			vary := make([]bool, len(nd.In))
			for i, v := range nd.In {
				shapes[i], vary[i] = v.Shape(), !v.IsConst()
			}
			st := nd.Op.Structure(l.Input, shapes, vary)
			switch st.Kind {
			case tape.Identity, tape.Diagonal, tape.Selection, tape.LowerTriangular:
				singletons()
			case tape.BlockDiagonal:
				per := st.Cols / st.Blocks
				groups := make([][]lumptest.Elem, st.Blocks)
				for _, sg := range an.Segs(nd.In[l.Input]) {
					for j := range sg.Len {
						b := (sg.Pos + j) / per // the block of this position of the pivot input
						groups[b] = append(groups[b], lumptest.Elem{Var: sg.Var, Index: sg.Off + j})
					}
				}
				p = append(p, groups...)
			case tape.Kron:
				// A ⊗ I: one block per position within a row.
				groups := make([][]lumptest.Elem, st.Inner)
				for _, sg := range an.Segs(nd.In[l.Input]) {
					for j := range sg.Len {
						b := (sg.Pos + j) % st.Inner
						groups[b] = append(groups[b], lumptest.Elem{Var: sg.Var, Index: sg.Off + j})
					}
				}
				p = append(p, groups...)
			default:
				p = append(p, all)
			}
		default:
			p = append(p, all)
		}
	}
	return p
}

// oracleRefinement lists the ways in which coarse fails to be a coarsening of
// fine: both must be partitions of the same scalars, and every group of
// fine must lie inside one group of coarse (so each group of coarse is a
// union of whole groups of fine). No problems: coarse is fine or coarser.
func oracleRefinement(fine, coarse oracleBlocks) []string {
	gf, probs := fine.groupOf()
	gc, dups := coarse.groupOf()
	probs = append(probs, dups...)
	if len(gf) != len(gc) {
		probs = append(probs, fmt.Sprintf("%d scalar unknowns, the oracle has %d", len(gc), len(gf)))
	}
	for _, e := range slices.SortedFunc(maps.Keys(gc), oracleCmpElem) {
		if _, ok := gf[e]; !ok {
			probs = append(probs, fmt.Sprintf("scalar %v is not an unknown of the oracle", e))
		}
	}
	for i, g := range fine {
		want := -1
		for _, e := range g {
			c, ok := gc[e]
			if !ok {
				probs = append(probs, fmt.Sprintf("oracle block %d holds %v, which no group holds", i, e))
				continue
			}
			if want < 0 {
				want = c
			} else if c != want {
				probs = append(probs, fmt.Sprintf("oracle block %v is cut between groups %d and %d", g, want, c))
				break
			}
		}
	}
	return probs
}

// oracleCheckSolveOrder checks the bookkeeping of an Analysis and that its lumps
// can be solved in order: every equation and every unknown atom is in
// exactly one lump, LumpOf agrees with Lumps, each lump is square in
// scalars, and an equation touches only unknowns of its own lump or of
// earlier ones.
func oracleCheckSolveOrder(t *testing.T, an *lump.Analysis) {
	t.Helper()
	if len(an.LumpOf) != len(an.Atoms) {
		t.Fatalf("LumpOf has %d entries for %d atoms", len(an.LumpOf), len(an.Atoms))
	}
	eqLump := make([]int, len(an.Eqs))
	for i := range eqLump {
		eqLump[i] = -1
	}
	owner := make([]int, len(an.Atoms))
	for i := range owner {
		owner[i] = -1
	}
	for li, l := range an.Lumps {
		rows, cols := 0, 0
		for _, q := range l.Eqs {
			if eqLump[q] >= 0 {
				t.Errorf("equation %d is in lumps %d and %d", q, eqLump[q], li)
			}
			eqLump[q] = li
			rows += an.Eqs[q].Len
		}
		for _, k := range l.Unknowns {
			if owner[k] >= 0 {
				t.Errorf("atom %d is in lumps %d and %d", k, owner[k], li)
			}
			owner[k] = li
			cols += an.Atoms[k].Len
			if an.LumpOf[k] != li {
				t.Errorf("LumpOf[%d] = %d, but lump %d holds it", k, an.LumpOf[k], li)
			}
		}
		if rows != cols {
			t.Errorf("lump %d (%v, ops %v): %d equation rows for %d unknown scalars", li, l.Kind, an.LumpOps(li), rows, cols)
		}
		// Killed and internal unknowns, created and internal equations:
		// an internal equation is the own equation of an internal unknown,
		// and eliminating the internal values leaves A = ∂Created/∂Killed,
		// square of order Width.
		internal := map[int]bool{}
		for _, q := range l.Internal {
			if !slices.Contains(l.Eqs, q) || an.Eqs[q].Self < 0 || !slices.Contains(l.Unknowns, an.Eqs[q].Self) {
				t.Errorf("lump %d: internal equation %d is not the own equation of one of its unknowns", li, q)
				continue
			}
			internal[an.Eqs[q].Self] = true
		}
		width := 0
		for _, k := range l.Killed {
			if !slices.Contains(l.Unknowns, k) || internal[k] {
				t.Errorf("lump %d: killed atom %d is not an external unknown of the lump", li, k)
			}
			width += an.Atoms[k].Len
		}
		if len(l.Killed)+len(internal) != len(l.Unknowns) {
			t.Errorf("lump %d: %d killed and %d internal of %d unknowns", li, len(l.Killed), len(internal), len(l.Unknowns))
		}
		created := 0
		for _, q := range l.Created {
			if slices.Contains(l.Internal, q) || !slices.Contains(l.Eqs, q) {
				t.Errorf("lump %d: created equation %d is internal or not the lump's", li, q)
			}
			created += an.Eqs[q].Len
		}
		if len(l.Created)+len(l.Internal) != len(l.Eqs) {
			t.Errorf("lump %d: %d created and %d internal of %d equations", li, len(l.Created), len(l.Internal), len(l.Eqs))
		}
		if l.Width != width || created != width {
			t.Errorf("lump %d (%v, ops %v): Width %d, killed scalars %d, created rows %d: A is not square",
				li, l.Kind, an.LumpOps(li), l.Width, width, created)
		}
		if (l.Kind == lump.Expansion) != (width == 0) {
			t.Errorf("lump %d: kind %v with width %d", li, l.Kind, width)
		}
		for _, q := range l.Eqs {
			for _, tc := range an.Eqs[q].Touch {
				switch lk := an.LumpOf[tc.Atom]; {
				case lk < 0:
					t.Errorf("lump %d: equation %d touches atom %d (%+v), which is no unknown", li, q, tc.Atom, an.Atoms[tc.Atom])
				case lk > li:
					t.Errorf("lump %d (ops %v): equation %d touches atom %d of the later lump %d: not a solve order",
						li, an.LumpOps(li), q, tc.Atom, lk)
				}
			}
		}
	}
	for q, li := range eqLump {
		if li < 0 {
			t.Errorf("equation %d is in no lump", q)
		}
	}
	// Atoms of base values tile them, and an atom no lump holds may only
	// be an element range of y when y is an op's output.
	outIsOp := an.Prog.Output.Node() != nil && !an.IsRelabel(an.Prog.Output.Node())
	tiles := map[int][]lump.Atom{}
	for k, at := range an.Atoms {
		tiles[at.Var] = append(tiles[at.Var], at)
		if owner[k] < 0 && !(outIsOp && at.Var == an.Prog.Output.ID()) {
			t.Errorf("atom %d (%+v) is in no lump", k, at)
		}
		if owner[k] >= 0 && outIsOp && at.Var == an.Prog.Output.ID() {
			t.Errorf("atom %d (%+v) of y, an op's output, is an unknown of lump %d", k, at, owner[k])
		}
	}
	lens := map[int]int{an.Prog.Input.ID(): an.Prog.Input.Len()}
	for _, nd := range an.Prog.Nodes {
		if !an.IsRelabel(nd) {
			lens[nd.Out.ID()] = nd.Out.Len()
		}
	}
	for _, id := range slices.Sorted(maps.Keys(lens)) {
		ats := tiles[id]
		slices.SortFunc(ats, func(a, b lump.Atom) int { return a.Off - b.Off })
		at := 0
		for _, a := range ats {
			if a.Off != at || a.Len <= 0 {
				t.Errorf("atoms of value %d: %+v does not start at %d", id, a, at)
			}
			at = a.Off + a.Len
		}
		if at != lens[id] {
			t.Errorf("atoms of value %d cover [0, %d) of %d elements", id, at, lens[id])
		}
	}
}

// TestTensorLumpsAgainstScalarOracle compares Analyze with lumptest.Scalarize
// on every case: (a) each lump, and each of the independent scalar blocks its
// kind declares, is a union of the oracle's blocks; (b) for cases whose
// structures are exact, the declared blocks are the oracle's blocks; (d)
// the lumps come in a valid solve order.
func TestTensorLumpsAgainstScalarOracle(t *testing.T) {
	for _, c := range oracleCases {
		t.Run(c.name, func(t *testing.T) {
			prog := oracleRecord(c.f, oraclePoint(c.shape, c.lo, c.hi, 3))
			an, err := lump.Analyze(prog, 0)
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			s, err := lumptest.Scalarize(prog, oracleLimit)
			if err != nil {
				t.Fatalf("Scalarize: %v", err)
			}
			oracleCheckSolveOrder(t, an)
			fine := oracleScalarBlocks(t, s, an)
			if _, dups := fine.groupOf(); len(dups) > 0 {
				t.Fatalf("the oracle's blocks overlap: %v", dups)
			}
			// (a) Every lump is a union of the oracle's blocks, and so is
			// every independent block the lump's kind declares.
			if probs := oracleRefinement(fine, oracleTensorBlocks(an)); len(probs) > 0 {
				t.Errorf("lumps are not unions of the oracle's blocks (%s):\n%s\n%s", c.reason, strings.Join(probs, "\n"), oracleDescribe(an))
			}
			declared := oracleDeclaredBlocks(t, an)
			if probs := oracleRefinement(fine, declared); len(probs) > 0 {
				t.Errorf("declared blocks are not unions of the oracle's blocks (%s):\n%s\n%s", c.reason, strings.Join(probs, "\n"), oracleDescribe(an))
			}
			// (b) Where the declared structures are exact, the declared
			// blocks are the oracle's blocks.
			got, want := declared.keys(), fine.keys()
			if c.exact && !slices.Equal(got, want) {
				t.Errorf("declared blocks differ from the oracle's (%s):\n got %v\nwant %v\n%s", c.reason, got, want, oracleDescribe(an))
			}
			if c.coarser && len(got) >= len(want) {
				t.Errorf("declared blocks are not coarser than the oracle's (%s):\n got %v\nwant %v", c.reason, got, want)
			}
		})
	}
}

// oracleDescribe renders the lumps for a failure message.
func oracleDescribe(an *lump.Analysis) string {
	var b strings.Builder
	for li, l := range an.Lumps {
		var ats []string
		for _, k := range l.Unknowns {
			at := an.Atoms[k]
			ats = append(ats, fmt.Sprintf("v%d[%d:%d]", at.Var, at.Off, at.Off+at.Len))
		}
		fmt.Fprintf(&b, "lump %d: %v K=%d M=%d width %d ops %v unknowns %v\n", li, l.Kind, l.K, l.M, l.Width, an.LumpOps(li), ats)
	}
	return b.String()
}

// TestLumpKindsOfKnownPrograms pins the lumps the design note's section 6
// expects, so that the oracle comparison cannot pass by both sides agreeing
// on something trivial.
func TestLumpKindsOfKnownPrograms(t *testing.T) {
	type batch struct{ k, m int }
	cases := []struct {
		name    string
		kinds   map[lump.Kind]int
		batches []batch // the Batch lumps' K and M, in solve order
	}{
		{name: "exp2tanh", kinds: map[lump.Kind]int{lump.Step: 3}},
		{name: "x+sin(x)", kinds: map[lump.Kind]int{lump.Batch: 1}, batches: []batch{{1, 6}}},
		{name: "x*x", kinds: map[lump.Kind]int{lump.Batch: 1}, batches: []batch{{1, 5}}},
		{name: "Wx-oracle", kinds: map[lump.Kind]int{lump.Step: 1}},
		{name: "XW-oracle", kinds: map[lump.Kind]int{lump.Step: 2}},
		{name: "coupling-oracle", kinds: map[lump.Kind]int{lump.Copy: 2, lump.Expansion: 5, lump.Step: 2}},
		{name: "rotation-z", kinds: map[lump.Kind]int{lump.Copy: 3, lump.Expansion: 2, lump.Batch: 1}, batches: []batch{{2, 3}}},
		{name: "chains-dense", kinds: map[lump.Kind]int{lump.Copy: 2, lump.Step: 2, lump.Batch: 1}, batches: []batch{{1, 4}}},
		{name: "swap-pieces", kinds: map[lump.Kind]int{lump.Copy: 2}},
		{name: "x-sin-swap", kinds: map[lump.Kind]int{lump.Copy: 2, lump.Batch: 1}, batches: []batch{{2, 3}}},
		{name: "residual-oracle", kinds: map[lump.Kind]int{lump.DenseLump: 1}},
		// The samples along the inner axis: W X is A ⊗ I3, so the residual
		// block is 3 independent 4×4 blocks, one per sample.
		{name: "residual-fm-oracle", kinds: map[lump.Kind]int{lump.Batch: 1}, batches: []batch{{4, 3}}},
		{name: "coupling-fm-oracle", kinds: map[lump.Kind]int{lump.Copy: 2, lump.Expansion: 3, lump.Step: 2}},
		{name: "identity", kinds: map[lump.Kind]int{lump.Copy: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			i := slices.IndexFunc(oracleCases, func(o oracleCase) bool { return o.name == c.name })
			if i < 0 {
				t.Fatalf("no oracle case %q", c.name)
			}
			oc := oracleCases[i]
			an, err := lump.Analyze(oracleRecord(oc.f, oraclePoint(oc.shape, oc.lo, oc.hi, 3)), 0)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[lump.Kind]int{}
			var batches []batch
			for _, l := range an.Lumps {
				kinds[l.Kind]++
				if l.Kind == lump.Batch {
					batches = append(batches, batch{l.K, l.M})
				}
			}
			if !maps.Equal(kinds, c.kinds) || !slices.Equal(batches, c.batches) {
				t.Errorf("lump kinds %v, batches %v; want %v, %v\n%s", kinds, batches, c.kinds, c.batches, oracleDescribe(an))
			}
		})
	}
}

// TestStructurallySingularAgreesWithOracle: (c) a program whose width drops
// below n is structurally singular at both levels, with the same
// deficiency, and the oracle's cut holds n − deficiency scalars.
func TestStructurallySingularAgreesWithOracle(t *testing.T) {
	for _, c := range oracleSingularCases {
		t.Run(c.name, func(t *testing.T) {
			seT, seS := oracleSingularErrors(t, c)
			if seT.N != c.n || seS.N != c.n {
				t.Errorf("N = %d (tensor), %d (scalar); want %d", seT.N, seS.N, c.n)
			}
			if seT.Deficiency != seS.Deficiency || seS.Deficiency != c.deficiency {
				t.Errorf("deficiency %d (tensor), %d (scalar); want %d for both (%s)", seT.Deficiency, seS.Deficiency, c.deficiency, c.reason)
			}
			if got := oracleSiteCount(seS.Cut); got != c.n-c.deficiency {
				t.Errorf("scalar cut %v has %d scalars, want n − deficiency = %d", seS.Cut, got, c.n-c.deficiency)
			}
		})
	}
}

// TestStructurallySingularCutSize: the tensor-level error's Cut must be
// what StructurallySingularError documents, a minimum set of scalars that
// every path from x to y crosses, of N − Deficiency elements.
func TestStructurallySingularCutSize(t *testing.T) {
	for _, c := range oracleSingularCases {
		t.Run(c.name, func(t *testing.T) {
			seT, _ := oracleSingularErrors(t, c)
			if got := oracleSiteCount(seT.Cut); got != c.n-c.deficiency {
				t.Errorf("tensor cut %v has %d scalars, want n − deficiency = %d", seT.Cut, got, c.n-c.deficiency)
			}
		})
	}
}

type oracleSingularCase struct {
	name, reason string
	n            int
	deficiency   int
	f            func(x *tape.Var) *tape.Var
}

// oracleSingularCases are the catalogue's structurally singular Oracle
// programs with the deficiency each must have.
var oracleSingularCases = func() []oracleSingularCase {
	var cs []oracleSingularCase
	for _, c := range []struct {
		name       string
		deficiency int
	}{
		{"split-sum-concat", 3},
		{"split-sum-concat-exp", 4},
		{"half-duplicated", 2},
		{"rank0-bottleneck", 4},
	} {
		p := catalog.MustGet(c.name)
		cs = append(cs, oracleSingularCase{name: p.Name, reason: p.About, n: p.Len(), deficiency: c.deficiency, f: p.F})
	}
	return cs
}()

// oracleSingularErrors runs both finders on a singular case and fails unless both
// return a *StructurallySingularError.
func oracleSingularErrors(t *testing.T, c oracleSingularCase) (tensorErr, scalarErr *lump.StructurallySingularError) {
	t.Helper()
	prog := oracleRecord(c.f, oraclePoint([]int{c.n}, -1, 1, 4))
	_, errT := lump.Analyze(prog, 0)
	_, errS := lumptest.Scalarize(prog, oracleLimit)
	if !errors.Is(errT, lump.ErrStructurallySingular) || !errors.As(errT, &tensorErr) {
		t.Fatalf("Analyze: err = %v, want a *StructurallySingularError (%s)", errT, c.reason)
	}
	if !errors.Is(errS, lump.ErrStructurallySingular) || !errors.As(errS, &scalarErr) {
		t.Fatalf("Scalarize: err = %v, want a *StructurallySingularError (%s)", errS, c.reason)
	}
	return tensorErr, scalarErr
}

func oracleSiteCount(s []lump.Site) int {
	k := 0
	for _, v := range s {
		k += len(v.Index)
	}
	return k
}

// TestOracleComparisonCanFail tests the tester: a partition that merges
// two of the oracle's blocks is a coarsening but not equal, and one that
// cuts a block is no coarsening at all.
func TestOracleComparisonCanFail(t *testing.T) {
	oc := oracleCases[slices.IndexFunc(oracleCases, func(o oracleCase) bool { return o.name == "chains-dense" })]
	prog := oracleRecord(oc.f, oraclePoint(oc.shape, oc.lo, oc.hi, 3))
	an, err := lump.Analyze(prog, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := lumptest.Scalarize(prog, oracleLimit)
	if err != nil {
		t.Fatal(err)
	}
	fine := oracleScalarBlocks(t, s, an)
	declared := oracleDeclaredBlocks(t, an)
	if probs := oracleRefinement(fine, declared); len(probs) > 0 || !slices.Equal(declared.keys(), fine.keys()) {
		t.Fatalf("the unmodified blocks do not match: %v", probs)
	}
	// Merge the first two groups: still a coarsening, no longer equal.
	merged := append(oracleBlocks{append(slices.Clone(declared[0]), declared[1]...)}, declared[2:]...)
	if probs := oracleRefinement(fine, merged); len(probs) > 0 {
		t.Errorf("merging two groups should keep a coarsening: %v", probs)
	}
	if slices.Equal(merged.keys(), fine.keys()) {
		t.Errorf("merging two groups went unnoticed")
	}
	// Cut the dense W a block (the largest group) in two: not a coarsening.
	big := slices.IndexFunc(declared, func(g []lumptest.Elem) bool { return len(g) > 2 })
	if big < 0 {
		t.Fatal("no dense group to cut")
	}
	cut := slices.Clone(declared)
	g := cut[big]
	cut[big] = g[:1]
	cut = append(cut, g[1:])
	if probs := oracleRefinement(fine, cut); len(probs) == 0 {
		t.Errorf("cutting the dense block %v went unnoticed", g)
	}
	// Dropping a scalar is noticed too.
	if probs := oracleRefinement(fine, declared[1:]); len(probs) == 0 {
		t.Errorf("dropping group %v went unnoticed", declared[0])
	}
}

// oracleRandomProgram is a random program for the oracle sweep: x of n elements
// is cut into pieces, the steps split, merge, reorder and transform pieces
// (elementwise, coupled one way or two ways, dense, triangular, through a
// broadcast rank-0 value, row-batched), and y concatenates the pieces. It
// is deterministic in seed: f draws its choices from its own generator.
type oracleRandomProgram struct {
	seed     uint64
	n        int
	singular bool     // a step made the width drop (set while recording)
	log      []string // the steps taken (set while recording)
}

// oracleSweepSeeds is the number of random programs compared: each is a
// few milliseconds.
const oracleSweepSeeds = 300

func (rp *oracleRandomProgram) f(x *tape.Var) *tape.Var {
	rng := rand.New(rand.NewPCG(rp.seed, 31))
	rp.log, rp.singular = nil, false
	pieces := []*tape.Var{x}
	logf := func(format string, args ...any) { rp.log = append(rp.log, fmt.Sprintf(format, args...)) }
	// tame scales v into |v| ≤ 2 (a constant read off the recorded value)
	// before an op that saturates: tanh'(20) is exactly 0 in float64, and
	// the oracle would see a structural zero there.
	tame := func(v *tape.Var) *tape.Var {
		m := 0.0
		for _, e := range v.Value().Data() {
			m = max(m, e, -e)
		}
		if m > 2 {
			return ops.Scale(v, 2/m)
		}
		return v
	}
	// pair finds two distinct pieces of one length, if any.
	pair := func() (int, int, bool) {
		for _, i := range rng.Perm(len(pieces)) {
			for _, j := range rng.Perm(len(pieces)) {
				if i != j && pieces[i].Len() == pieces[j].Len() {
					return i, j, true
				}
			}
		}
		return 0, 0, false
	}
	unary := []struct {
		name string
		f    func(*tape.Var) *tape.Var
	}{
		{"tanh", ops.Tanh},
		{"exp∘tanh", func(v *tape.Var) *tape.Var { return ops.Exp(ops.Tanh(v)) }},
		{"sigmoid", ops.Sigmoid},
		{"softplus", ops.Softplus},
		{"v+sin v/2", func(v *tape.Var) *tape.Var { return ops.Add(v, ops.Scale(ops.Sin(v), 0.5)) }},
		{"cube∘tanh", func(v *tape.Var) *tape.Var { return ops.Cube(ops.Tanh(v)) }},
		{"v·v∘tanh", func(v *tape.Var) *tape.Var { w := ops.Tanh(v); return ops.Mul(w, w) }},
		{"leaky", func(v *tape.Var) *tape.Var { return ops.LeakyReLU(v, 0.3) }},
		{"−1.5v", func(v *tape.Var) *tape.Var { return ops.Scale(v, -1.5) }},
	}
	steps := 2 + rng.IntN(7)
	for range steps {
		i := rng.IntN(len(pieces))
		p := pieces[i]
		switch rng.IntN(12) {
		case 0: // split
			if p.Len() < 2 {
				continue
			}
			k := 1 + rng.IntN(p.Len()-1)
			sp := ops.Split(p, k, p.Len()-k)
			pieces = slices.Replace(pieces, i, i+1, sp...)
			logf("split piece %d at %d", i, k)
		case 1: // merge with the next piece
			if i+1 >= len(pieces) {
				continue
			}
			pieces = slices.Replace(pieces, i, i+2, ops.Concat(p, pieces[i+1]))
			logf("concat pieces %d, %d", i, i+1)
		case 2: // reorder
			j := rng.IntN(len(pieces))
			pieces[i], pieces[j] = pieces[j], pieces[i]
			logf("swap pieces %d, %d", i, j)
		case 3, 4: // elementwise
			u := unary[rng.IntN(len(unary))]
			pieces[i] = u.f(tame(p))
			logf("%s on piece %d", u.name, i)
		case 5: // one-way coupling q ← q + tanh p or q·exp p
			a, b, ok := pair()
			if !ok {
				continue
			}
			if rng.IntN(2) == 0 {
				pieces[b] = ops.Add(pieces[b], ops.Tanh(tame(pieces[a])))
				logf("piece %d += tanh(piece %d)", b, a)
			} else {
				pieces[b] = ops.Mul(pieces[b], ops.Exp(ops.Tanh(tame(pieces[a]))))
				logf("piece %d *= exp(tanh(piece %d))", b, a)
			}
		case 6: // two-way coupling from the old values
			a, b, ok := pair()
			if !ok {
				continue
			}
			pa, pb := pieces[a], pieces[b]
			pieces[a] = ops.Add(pa, ops.Scale(ops.Sin(pb), 0.5))
			pieces[b] = ops.Sub(pb, ops.Scale(ops.Cos(pa), 0.5))
			logf("pieces %d, %d coupled both ways", a, b)
		case 7: // dense
			w := oracleMatrix(x, rng.Uint64(), p.Len(), p.Len(), 2)
			if rng.IntN(2) == 0 {
				pieces[i] = ops.MatMul(w, p)
				logf("W·piece %d", i)
			} else {
				pieces[i] = ops.Add(p, ops.Scale(ops.Tanh(tame(ops.MatMul(w, p))), 0.3))
				logf("residual on piece %d", i)
			}
		case 8: // triangular
			pieces[i] = ops.Cumsum(p)
			logf("cumsum piece %d", i)
		case 9: // broadcast rank-0 value
			j := rng.IntN(len(pieces))
			if j == i {
				pieces[i] = ops.Add(p, ops.Scale(ops.Sum(ops.Tanh(tame(p))), 0.2))
				logf("piece %d += 0.2·Σ tanh(piece %d)", i, i)
			} else {
				pieces[j] = ops.Add(pieces[j], ops.Sum(ops.Sin(p)))
				logf("piece %d += Σ sin(piece %d)", j, i)
			}
		case 10: // row-batched X·W on a 2-D view, or (rarely) a width drop
			if rng.IntN(3) == 0 {
				if a, b, ok := pair(); ok {
					s := ops.Add(pieces[a], pieces[b])
					pieces[a], pieces[b] = s, ops.Sin(s)
					rp.singular = true
					logf("pieces %d, %d → s, sin s with s their sum: width drops", a, b)
				} else if l := p.Len(); l >= 2 {
					h := ops.Slice(p, 0, l/2)
					parts := []*tape.Var{h, ops.Tanh(h)}
					if l%2 == 1 {
						parts = append(parts, ops.Slice(p, l-1, l))
					}
					pieces[i] = ops.Concat(parts...)
					rp.singular = true
					logf("piece %d → its first half and tanh of it: width drops", i)
				}
				continue
			}
			r := largestDivisor(p.Len())
			if r == 0 {
				continue
			}
			c := p.Len() / r
			m := ops.MatMul(ops.Reshape(p, r, c), oracleMatrix(x, rng.Uint64(), c, c, 2))
			pieces[i] = ops.Reshape(ops.Tanh(tame(m)), p.Len())
			logf("X·W on piece %d viewed as %d×%d", i, r, c)
		case 11: // W·X on a feature-major view: a Kron block
			r := largestDivisor(p.Len())
			if r == 0 {
				continue
			}
			c := p.Len() / r
			v := ops.Reshape(p, r, c)
			w := oracleMatrix(x, rng.Uint64(), r, r, 2)
			if rng.IntN(2) == 0 {
				pieces[i] = ops.Reshape(ops.MatMul(w, v), p.Len())
				logf("W·X on piece %d viewed as %d×%d", i, r, c)
			} else {
				pieces[i] = ops.Reshape(ops.Add(v, ops.Scale(ops.Tanh(tame(ops.MatMul(w, v))), 0.3)), p.Len())
				logf("X + tanh(W·X) on piece %d viewed as %d×%d", i, r, c)
			}
		}
	}
	if len(pieces) == 1 {
		return pieces[0]
	}
	return ops.Concat(pieces...)
}

// largestDivisor returns the largest d with 2 ≤ d ≤ n/2 dividing n, 0 if
// none: the rows of a 2-D view of a piece of n elements.
func largestDivisor(n int) int {
	r := 0
	for d := 2; d*2 <= n; d++ {
		if n%d == 0 {
			r = d
		}
	}
	return r
}

// TestRandomProgramsAgainstScalarOracle runs the comparisons of
// TestTensorLumpsAgainstScalarOracle and TestStructurallySingularAgreesWithOracle
// on seeded random programs: both finders must agree on whether the program
// is structurally singular (and by how much), and otherwise the lumps must
// be in solve order and, cut into their declared blocks, be exactly the
// oracle's blocks (every op the generator uses declares an exact structure
// at a generic point).
func TestRandomProgramsAgainstScalarOracle(t *testing.T) {
	singular := 0
	for seed := range uint64(oracleSweepSeeds) {
		rp := &oracleRandomProgram{seed: seed, n: 2 + int(seed%7)}
		x := oraclePoint([]int{rp.n}, -1, 1, seed)
		prog := oracleRecord(rp.f, x)
		desc := fmt.Sprintf("seed %d, n = %d: %s", seed, rp.n, strings.Join(rp.log, "; "))
		an, errT := lump.Analyze(prog, 0)
		s, errS := lumptest.Scalarize(prog, oracleLimit)
		var seT, seS *lump.StructurallySingularError
		isT, isS := errors.As(errT, &seT), errors.As(errS, &seS)
		switch {
		case isT || isS:
			singular++
			if seT == nil || seS == nil {
				t.Errorf("%s\nAnalyze: %v\nScalarize: %v\nwant both structurally singular", desc, errT, errS)
			} else if seT.Deficiency != seS.Deficiency || seT.N != seS.N {
				t.Errorf("%s\ndeficiency %d of %d (tensor), %d of %d (scalar)", desc, seT.Deficiency, seT.N, seS.Deficiency, seS.N)
			}
			if !rp.singular {
				t.Errorf("%s\nstructurally singular without a width-dropping step: %v", desc, errS)
			}
			continue
		case errT != nil:
			t.Errorf("%s\nAnalyze: %v", desc, errT)
			continue
		case errS != nil:
			t.Errorf("%s\nScalarize: %v", desc, errS)
			continue
		}
		if rp.singular {
			t.Errorf("%s\na width-dropping step, but both finders found a perfect matching", desc)
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			oracleCheckSolveOrder(t, an)
			fine := oracleScalarBlocks(t, s, an)
			if probs := oracleRefinement(fine, oracleTensorBlocks(an)); len(probs) > 0 {
				t.Errorf("%s\nlumps are not unions of the oracle's blocks:\n%s\n%s", desc, strings.Join(probs, "\n"), oracleDescribe(an))
			}
			declared := oracleDeclaredBlocks(t, an)
			if got, want := declared.keys(), fine.keys(); !slices.Equal(got, want) {
				t.Errorf("%s\ndeclared blocks differ from the oracle's:\n got %v\nwant %v\n%s", desc, got, want, oracleDescribe(an))
			}
		})
	}
	// The sweep must exercise both outcomes.
	if singular == 0 || singular == oracleSweepSeeds {
		t.Errorf("%d of %d random programs are structurally singular: the sweep misses a case", singular, oracleSweepSeeds)
	}
}
