package lumptest_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/catalog"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/lump/lumptest"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// limit is the Scalarize limit for the test programs: generous for them (the
// largest has a few hundred scalar unknowns), small for an oracle.
const limit = 2000

// tol is the relative tolerance against the dense reference: the programs
// are well conditioned (cond J ≲ 1e3), so both sides agree to ~1e-13.
const tol = 1e-10

// matrix is the shared test programs' seeded matrix (catalog.Matrix).
var matrix = catalog.Matrix

// programs is the table of composed programs for the numerical checks: the
// catalogue's Scalar set (package catalog).
var programs = catalog.In(catalog.Scalar)

// linearize records f at x and fails the test on an error.
func linearize(t *testing.T, f func(*tape.Var) *tape.Var, x *tensor.Tensor) *inverse.Linearization {
	t.Helper()
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatalf("Linearize: %v", err)
	}
	return lin
}

// scalarizeOK linearizes f at x and scalarizes it, failing on an error.
func scalarizeOK(t *testing.T, f func(*tape.Var) *tape.Var, x *tensor.Tensor) (*lumptest.ScalarBTF, *inverse.Linearization) {
	t.Helper()
	lin := linearize(t, f, x)
	s, err := lumptest.Scalarize(lin.Program(), limit)
	if err != nil {
		t.Fatalf("Scalarize: %v", err)
	}
	return s, lin
}

// denseLU returns the LU of the dense Jacobian built from n JVPs.
func denseLU(t *testing.T, lin *inverse.Linearization) *mat.LU {
	t.Helper()
	J, err := lin.Jacobian()
	if err != nil {
		t.Fatalf("Jacobian: %v", err)
	}
	n := lin.Len()
	var lu mat.LU
	lu.Factorize(mat.NewDense(n, n, J.Data()))
	return &lu
}

func relErr(got, want []float64) float64 {
	var d, w float64
	for i := range got {
		d = math.Max(d, math.Abs(got[i]-want[i]))
		w = math.Max(w, math.Abs(want[i]))
	}
	return d / math.Max(w, 1e-300)
}

// TestSolveAgainstDenseLU checks Solve and LogAbsDet against an LU of the
// dense Jacobian for every program of the table, and Solve by the round
// trip J·Solve(dy) = dy through the program's own JVP.
func TestSolveAgainstDenseLU(t *testing.T) {
	for _, pr := range programs {
		t.Run(pr.Name, func(t *testing.T) {
			s, lin := scalarizeOK(t, pr.F, pr.Point(11))
			n := lin.Len()
			lu := denseLU(t, lin)
			rng := rand.New(rand.NewPCG(5, 5))
			for trial := range 3 {
				dy := make([]float64, n)
				for i := range dy {
					dy[i] = rng.NormFloat64()
				}
				got := s.Solve(dy)
				var want mat.VecDense
				if err := lu.SolveVecTo(&want, false, mat.NewVecDense(n, slices.Clone(dy))); err != nil {
					t.Fatalf("dense LU solve: %v", err)
				}
				if e := relErr(got, want.RawVector().Data); !(e <= tol) {
					t.Errorf("trial %d: Solve differs from the dense LU solve: relative error %g > %g\n got %v\nwant %v",
						trial, e, tol, got, want.RawVector().Data)
				}
				jv, err := lin.JVP(tensor.New(lin.Input().Shape(), got))
				if err != nil {
					t.Fatalf("JVP: %v", err)
				}
				if e := relErr(jv.Data(), dy); !(e <= tol) {
					t.Errorf("trial %d: J·Solve(dy) differs from dy: relative error %g > %g", trial, e, tol)
				}
			}
			ld, _ := lu.LogDet()
			if got := s.LogAbsDet(); !(math.Abs(got-ld) <= tol*math.Max(1, math.Abs(ld))) {
				t.Errorf("LogAbsDet = %.15g, want log|det J| = %.15g", got, ld)
			}
		})
	}
}

// TestBlockTriangular checks the invariants of the permutation on every
// program: the blocks partition the unknowns and the equations, every block
// is square with as many killed unknowns as created equations, BlockOf
// agrees with Blocks, and every equation reads only unknowns of its own
// block or of earlier ones (so the blocks can be solved in order).
func TestBlockTriangular(t *testing.T) {
	for _, pr := range programs {
		t.Run(pr.Name, func(t *testing.T) {
			s, _ := scalarizeOK(t, pr.F, pr.Point(11))
			seenU := map[lumptest.Elem]bool{}
			seenE := map[lumptest.Elem]bool{}
			for bi := range s.Blocks() {
				b := &s.Blocks()[bi]
				if len(b.Unknowns) != len(b.Equations) || len(b.Unknowns) == 0 {
					t.Fatalf("block %d has %d unknowns and %d equations", bi, len(b.Unknowns), len(b.Equations))
				}
				if len(b.Killed) != len(b.Created) {
					t.Errorf("block %d: %d killed, %d created", bi, len(b.Killed), len(b.Created))
				}
				for _, u := range b.Unknowns {
					if seenU[u] {
						t.Errorf("unknown %v in two blocks", u)
					}
					seenU[u] = true
					if got, ok := s.BlockOf(u); !ok || got != bi {
						t.Errorf("BlockOf(%v) = %d, %v; want %d", u, got, ok, bi)
					}
				}
				for _, e := range b.Equations {
					if seenE[e] {
						t.Errorf("equation %v in two blocks", e)
					}
					seenE[e] = true
				}
				for _, r := range s.ExternalReads(bi) {
					if r.Block >= bi {
						t.Errorf("block %d: equation %v reads unknown %v of later block %d", bi, r.Eq, r.Unknown, r.Block)
					}
				}
			}
			if len(seenU) != s.NumUnknowns() || len(seenE) != s.NumUnknowns() {
				t.Errorf("blocks cover %d unknowns and %d equations of %d", len(seenU), len(seenE), s.NumUnknowns())
			}
		})
	}
}

// partition is a comparable rendering of the blocks as sets.
func partition(s *lumptest.ScalarBTF) []string {
	var out []string
	for _, b := range s.Blocks() {
		out = append(out, fmt.Sprint(b.Unknowns, "|", b.Equations))
	}
	slices.Sort(out)
	return out
}

// TestBlocksIndependentOfMatching checks Duff's theorem, on which the
// oracle relies: shuffling the nonzeros reaches other perfect matchings,
// and the blocks (as sets) must not change.
func TestBlocksIndependentOfMatching(t *testing.T) {
	for _, pr := range programs {
		t.Run(pr.Name, func(t *testing.T) {
			lin := linearize(t, pr.F, pr.Point(11))
			ref, err := lumptest.Scalarize(lin.Program(), limit)
			if err != nil {
				t.Fatal(err)
			}
			want := partition(ref)
			for seed := range uint64(5) {
				s, err := lumptest.ScalarizeShuffled(lin.Program(), limit, rand.New(rand.NewPCG(seed, 3)))
				if err != nil {
					t.Fatal(err)
				}
				if got := partition(s); !slices.Equal(got, want) {
					t.Fatalf("seed %d: blocks differ from the unshuffled matching's:\n got %v\nwant %v", seed, got, want)
				}
				if d := math.Abs(s.LogAbsDet() - ref.LogAbsDet()); d > tol {
					t.Errorf("seed %d: LogAbsDet %g differs from %g", seed, s.LogAbsDet(), ref.LogAbsDet())
				}
			}
		})
	}
}

// sizes returns the multiset of block sizes and of widths, sorted.
func sizes(s *lumptest.ScalarBTF) (size, width []int) {
	for _, b := range s.Blocks() {
		size = append(size, b.Size())
		width = append(width, b.Width())
	}
	slices.Sort(size)
	slices.Sort(width)
	return size, width
}

func elems(v *tape.Var, idx ...int) []lumptest.Elem {
	out := make([]lumptest.Elem, len(idx))
	for i, k := range idx {
		out[i] = lumptest.Elem{v.ID(), k}
	}
	return out
}

// TestDesignNoteExamples checks the block structure of every row of the
// design note's section 6 table.
func TestDesignNoteExamples(t *testing.T) {
	const n = 6 // even, and a multiple of 3 for the rotation

	t.Run("exp(2 tanh x): single-scalar steps", func(t *testing.T) {
		f := func(x *tape.Var) *tape.Var { return ops.Exp(ops.Scale(ops.Tanh(x), 2)) }
		s, _ := scalarizeOK(t, f, catalog.Uniform([]int{n}, -2, 2, 1))
		if s.NumUnknowns() != 3*n {
			t.Fatalf("%d unknowns, want 3n = %d (x, tanh, scale)", s.NumUnknowns(), 3*n)
		}
		for i, b := range s.Blocks() {
			if b.Size() != 1 || b.Width() != 1 || len(b.Nodes) != 1 {
				t.Errorf("block %d: size %d, width %d, nodes %v; want a single scalar step of one op", i, b.Size(), b.Width(), b.Nodes)
			}
		}
	})

	t.Run("x + sin x: one lump per element", func(t *testing.T) {
		var sx, y *tape.Var
		f := func(x *tape.Var) *tape.Var { sx = ops.Sin(x); y = ops.Add(x, sx); return y }
		x := catalog.Uniform([]int{n}, -3, 3, 2)
		s, lin := scalarizeOK(t, f, x)
		in := lin.Program().Input
		if len(s.Blocks()) != n {
			t.Fatalf("%d blocks, want n = %d", len(s.Blocks()), n)
		}
		want := []int{sx.Node().Pos, y.Node().Pos}
		for _, b := range s.Blocks() {
			k := b.Unknowns[0].Index
			if wantU := []lumptest.Elem{{in.ID(), k}, {sx.ID(), k}}; !slices.Equal(b.Unknowns, wantU) {
				t.Errorf("block unknowns %v, want %v (x and sin x of one element)", b.Unknowns, wantU)
			}
			if !slices.Equal(b.Nodes, want) {
				t.Errorf("block nodes %v, want %v (sin and +)", b.Nodes, want)
			}
			if b.Width() != 1 || !slices.Equal(b.Killed, elems(in, k)) || !slices.Equal(b.Created, elems(y, k)) {
				t.Errorf("block kills %v and creates %v, want x[%d] → y[%d]", b.Killed, b.Created, k, k)
			}
		}
		// A = 1 + cos x per element.
		want1 := 0.0
		for _, v := range x.Data() {
			want1 += math.Log(math.Abs(1 + math.Cos(v)))
		}
		if got := s.LogAbsDet(); math.Abs(got-want1) > tol*math.Max(1, math.Abs(want1)) {
			t.Errorf("LogAbsDet = %g, want Σ log|1 + cos x| = %g", got, want1)
		}
	})

	t.Run("affine coupling: every block a single op", func(t *testing.T) {
		var mlp []*tape.Var
		var sv *tape.Var
		f := func(x *tape.Var) *tape.Var {
			ab := ops.Split(x, n/2, n/2)
			a, b := ab[0], ab[1]
			pre := ops.MatMul(ops.Const(x, matrix(3, 5, n/2, 0)), a)
			h := ops.Tanh(pre)
			s := ops.MatMul(ops.Const(x, matrix(4, n/2, 5, 0)), h)
			t := ops.MatMul(ops.Const(x, matrix(5, n/2, 5, 0)), h)
			es := ops.Exp(s)
			mlp, sv = []*tape.Var{pre, h, s, t, es}, s
			return ops.Concat(a, ops.Add(ops.Mul(b, es), t))
		}
		s, _ := scalarizeOK(t, f, catalog.Uniform([]int{n}, -1, 1, 3))
		for i, b := range s.Blocks() {
			if b.Size() != 1 {
				t.Errorf("block %d has size %d, want 1: %v", i, b.Size(), b.Unknowns)
			}
		}
		for _, v := range mlp {
			for k := range v.Len() {
				bi, ok := s.BlockOf(lumptest.Elem{v.ID(), k})
				if !ok {
					t.Fatalf("value %d of %s is not an unknown", v.ID(), v.Node().Op.Name())
				}
				b := s.Blocks()[bi]
				if e := elems(v, k); !slices.Equal(b.Equations, e) || b.Width() != 0 {
					t.Errorf("%s[%d] is in block %v|%v of width %d, want a self-matched singleton",
						v.Node().Op.Name(), k, b.Unknowns, b.Equations, b.Width())
				}
			}
		}
		// log|det J| = Σ s(a).
		want := 0.0
		for _, v := range sv.Value().Data() {
			want += v
		}
		if got := s.LogAbsDet(); math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
			t.Errorf("LogAbsDet = %g, want Σ s(a) = %g", got, want)
		}
	})

	t.Run("W x: one dense lump", func(t *testing.T) {
		W := matrix(1, n, n, 3)
		f := func(x *tape.Var) *tape.Var { return ops.MatMul(ops.Const(x, W), x) }
		s, lin := scalarizeOK(t, f, catalog.Uniform([]int{n}, -1, 1, 4))
		bs := s.Blocks()
		if len(bs) != 1 {
			t.Fatalf("%d blocks, want 1", len(bs))
		}
		in := lin.Program().Input
		if want := elems(in, 0, 1, 2, 3, 4, 5); !slices.Equal(bs[0].Unknowns, want) || bs[0].Width() != n {
			t.Errorf("block unknowns %v width %d, want all of x, width %d", bs[0].Unknowns, bs[0].Width(), n)
		}
		var lu mat.LU
		lu.Factorize(mat.NewDense(n, n, W.Data()))
		if want, _ := lu.LogDet(); math.Abs(s.LogAbsDet()-want) > tol*math.Max(1, math.Abs(want)) {
			t.Errorf("LogAbsDet = %g, want log|det W| = %g", s.LogAbsDet(), want)
		}
	})

	t.Run("rotation by a third live value: 2x2 lumps per element", func(t *testing.T) {
		const m = n / 3
		var a, b, z, u, w *tape.Var
		var products []*tape.Var
		f := func(x *tape.Var) *tape.Var {
			p := ops.Split(x, m, m, m)
			a, b, z = p[0], p[1], p[2]
			c, d := ops.Cos(z), ops.Sin(z)
			ac, bd, ad, bc := ops.Mul(a, c), ops.Mul(b, d), ops.Mul(a, d), ops.Mul(b, c)
			products = []*tape.Var{ac, bd, ad, bc}
			u, w = ops.Sub(ac, bd), ops.Add(ad, bc)
			return ops.Concat(u, w, z)
		}
		s, _ := scalarizeOK(t, f, catalog.Uniform([]int{n}, 0.3, 1.3, 5))
		var lumps int
		for _, blk := range s.Blocks() {
			if blk.Width() <= 1 && blk.Size() == 1 {
				continue
			}
			lumps++
			k := blk.Killed[0].Index
			if wantK := append(elems(a, k), elems(b, k)...); !slices.Equal(blk.Killed, wantK) {
				t.Errorf("lump kills %v, want a[%d], b[%d]", blk.Killed, k, k)
			}
			if wantC := append(elems(u, k), elems(w, k)...); !slices.Equal(blk.Created, wantC) {
				t.Errorf("lump creates %v, want u[%d], w[%d]", blk.Created, k, k)
			}
			// The extended block also holds the four product expansions.
			var wantU []lumptest.Elem
			for _, v := range append([]*tape.Var{a, b}, products...) {
				wantU = append(wantU, elems(v, k)...)
			}
			slices.SortFunc(wantU, func(x, y lumptest.Elem) int { return x.Var - y.Var })
			if !slices.Equal(blk.Unknowns, wantU) {
				t.Errorf("lump unknowns %v, want %v", blk.Unknowns, wantU)
			}
		}
		if lumps != m {
			t.Errorf("%d lumps, want m = %d 2×2 lumps (one per element)", lumps, m)
		}
		// Every lump's A is a rotation, every other block unit: det J = 1.
		if got := s.LogAbsDet(); math.Abs(got) > tol {
			t.Errorf("LogAbsDet = %g, want 0 (rotations)", got)
		}
	})

	t.Run("two independent chains: never merged", func(t *testing.T) {
		const m = n / 2
		var a, b *tape.Var
		var half0, half1 []*tape.Var
		f := func(x *tape.Var) *tape.Var {
			p := ops.Split(x, m, m)
			a, b = p[0], p[1]
			wa := ops.MatMul(ops.Const(x, matrix(9, m, m, 2)), a) // one dense lump on the first half
			ya := ops.Tanh(wa)
			sb := ops.Sin(b) // a 2-scalar lump per element on the second half
			yb := ops.Add(b, sb)
			half0, half1 = []*tape.Var{a, wa, ya}, []*tape.Var{b, sb, yb}
			return ops.Concat(ya, yb)
		}
		s, lin := scalarizeOK(t, f, catalog.Uniform([]int{n}, -1, 1, 6))
		prog := lin.Program()
		half := func(e lumptest.Elem) int {
			switch {
			case e.Var == prog.Input.ID() || e.Var == prog.Output.ID():
				return e.Index / m
			case slices.ContainsFunc(half0, func(v *tape.Var) bool { return v.ID() == e.Var }):
				return 0
			case slices.ContainsFunc(half1, func(v *tape.Var) bool { return v.ID() == e.Var }):
				return 1
			}
			t.Fatalf("element %v of an unexpected value", e)
			return -1
		}
		var dense, pairs int
		for _, blk := range s.Blocks() {
			h := half(blk.Unknowns[0])
			for _, e := range append(slices.Clone(blk.Unknowns), blk.Equations...) {
				if half(e) != h {
					t.Errorf("block %v|%v mixes the halves", blk.Unknowns, blk.Equations)
					break
				}
			}
			switch blk.Width() {
			case m:
				dense++
			case 1:
				if blk.Size() == 2 {
					pairs++
				}
			}
		}
		if dense != 1 || pairs != m {
			t.Errorf("%d dense lumps of width %d and %d size-2 lumps; want 1 and %d", dense, m, pairs, m)
		}
	})

	t.Run("split-sum-concat: width drops at the add", func(t *testing.T) {
		var add *tape.Var
		f := func(x *tape.Var) *tape.Var {
			p := ops.Split(x, n/2, n/2)
			add = ops.Add(p[0], p[1])
			return ops.Concat(add, add)
		}
		lin := linearize(t, f, catalog.Uniform([]int{n}, -1, 1, 7))
		_, err := lumptest.Scalarize(lin.Program(), limit)
		if !errors.Is(err, lump.ErrStructurallySingular) {
			t.Fatalf("err = %v, want lump.ErrStructurallySingular", err)
		}
		var se *lump.StructurallySingularError
		if !errors.As(err, &se) {
			t.Fatalf("err is %T, want *lump.StructurallySingularError", err)
		}
		if se.N != n || se.Deficiency != n/2 {
			t.Errorf("N = %d, deficiency = %d; want %d, %d", se.N, se.Deficiency, n, n/2)
		}
		if len(se.Cut) != 1 {
			t.Fatalf("cut %v, want one value (the add's)", se.Cut)
		}
		c := se.Cut[0]
		if c.Op != "add" || c.Pos != add.Node().Pos || c.Var != add.ID() || len(c.Index) != n/2 || c.Len != n/2 {
			t.Errorf("cut %v, want all %d elements of add at tape position %d", c, n/2, add.Node().Pos)
		}
		if un := count(se.UnmatchedUnknowns); un != n/2 {
			t.Errorf("%d unmatched unknowns, want %d", un, n/2)
		}
		if ue := count(se.UnmatchedEquations); ue != n/2 {
			t.Errorf("%d unmatched equations, want %d", ue, n/2)
		}
		// The cut closest to y does not depend on the matching found.
		for seed := range uint64(5) {
			_, err := lumptest.ScalarizeShuffled(lin.Program(), limit, rand.New(rand.NewPCG(seed, 4)))
			var se2 *lump.StructurallySingularError
			if !errors.As(err, &se2) || se2.Deficiency != se.Deficiency || fmt.Sprint(se2.Cut) != fmt.Sprint(se.Cut) {
				t.Errorf("seed %d: %v, want the same deficiency and cut as %v", seed, err, se)
			}
		}
		msg := err.Error()
		for _, want := range []string{"from 6 to 3", "add at tape position 2"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q does not say %q", msg, want)
			}
		}
	})
}

func count(s []lump.Site) int {
	k := 0
	for _, v := range s {
		k += len(v.Index)
	}
	return k
}

// TestSplitHalvesNotMerged is the pitfall of the design note's section 5:
// (a, b) = split(x) reads all of x on a tensor-level graph, which invents
// a cycle through x and merges the halves into one false lump. At scalar
// level nothing may be merged that the Jacobian does not couple.
func TestSplitHalvesNotMerged(t *testing.T) {
	const n, m = 8, 4
	cases := []struct {
		name, reason string
		f            func(x *tape.Var) *tape.Var
		size, width  int // of every block
	}{
		{name: "swap", reason: "y = concat(b, a): a pure relabelling", size: 1, width: 1,
			f: func(x *tape.Var) *tape.Var { p := ops.Split(x, m, m); return ops.Concat(p[1], p[0]) }},
		{name: "elementwise halves", reason: "y = concat(exp(a), tanh(b))", size: 1, width: 1,
			f: func(x *tape.Var) *tape.Var {
				p := ops.Split(x, m, m)
				return ops.Concat(ops.Exp(p[0]), ops.Tanh(p[1]))
			}},
		{name: "one-way coupling", reason: "y = concat(a + sin b, b): triangular, so still scalar steps", size: 1, width: 1,
			f: func(x *tape.Var) *tape.Var {
				p := ops.Split(x, m, m)
				return ops.Concat(ops.Add(p[0], ops.Sin(p[1])), p[1])
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := scalarizeOK(t, c.f, catalog.Uniform([]int{n}, -1, 1, 8))
			for _, b := range s.Blocks() {
				if b.Size() != c.size || b.Width() > c.width {
					t.Errorf("block %v|%v has size %d width %d, want %d and ≤ %d: halves merged",
						b.Unknowns, b.Equations, b.Size(), b.Width(), c.size, c.width)
				}
			}
		})
	}

	// The control: a genuine two-way coupling of a[k] and b[k] is one lump
	// per element, of width 2, found by the same code.
	t.Run("two-way coupling", func(t *testing.T) {
		var a, b *tape.Var
		f := func(x *tape.Var) *tape.Var {
			p := ops.Split(x, m, m)
			a, b = p[0], p[1]
			return ops.Concat(ops.Add(a, ops.Sin(b)), ops.Sub(b, ops.Sin(a)))
		}
		s, _ := scalarizeOK(t, f, catalog.Uniform([]int{n}, -1, 1, 9))
		lumps := 0
		for _, blk := range s.Blocks() {
			if blk.Width() == 2 {
				lumps++
				k := blk.Killed[0].Index
				if want := append(elems(a, k), elems(b, k)...); !slices.Equal(blk.Killed, want) {
					t.Errorf("lump kills %v, want a[%d], b[%d]", blk.Killed, k, k)
				}
			} else if blk.Width() > 2 {
				t.Errorf("block of width %d: %v", blk.Width(), blk.Unknowns)
			}
		}
		if lumps != m {
			t.Errorf("%d width-2 lumps, want %d", lumps, m)
		}
	})
}

// TestIdentityProgram: y = x has no ops; the system is dy = dx.
func TestIdentityProgram(t *testing.T) {
	f := func(x *tape.Var) *tape.Var { return x }
	s, _ := scalarizeOK(t, f, tensor.New([]int{3}, []float64{1, 2, 3}))
	if len(s.Blocks()) != 3 || s.NumUnknowns() != 3 {
		t.Fatalf("%d blocks, %d unknowns; want 3, 3", len(s.Blocks()), s.NumUnknowns())
	}
	for _, b := range s.Blocks() {
		if b.Width() != 1 || len(b.Nodes) != 0 {
			t.Errorf("block %v|%v: width %d, nodes %v; want width 1 and no ops", b.Unknowns, b.Equations, b.Width(), b.Nodes)
		}
	}
	dy := []float64{4, -5, 6}
	if got := s.Solve(dy); !slices.Equal(got, dy) {
		t.Errorf("Solve(%v) = %v", dy, got)
	}
	if got := s.LogAbsDet(); got != 0 {
		t.Errorf("LogAbsDet = %g, want 0", got)
	}
}

// TestErrors checks the data-dependent failures.
func TestErrors(t *testing.T) {
	t.Run("too large", func(t *testing.T) {
		lin := linearize(t, programs[0].F, programs[0].Point(1)) // 3n = 21 unknowns
		_, err := lumptest.Scalarize(lin.Program(), 20)
		var te *lumptest.TooLargeError
		if !errors.Is(err, lumptest.ErrTooLarge) || !errors.As(err, &te) || te.Unknowns != 21 || te.Limit != 20 {
			t.Errorf("err = %v, want a lumptest.TooLargeError of 21 unknowns over 20", err)
		}
		if _, err := lumptest.Scalarize(lin.Program(), 21); err != nil {
			t.Errorf("at the limit: %v", err)
		}
	})

	t.Run("numerically singular block", func(t *testing.T) {
		// 1 + cos π = 0 exactly in float64: the lump {sin, +} is singular.
		var y *tape.Var
		f := func(x *tape.Var) *tape.Var { y = ops.Add(x, ops.Sin(x)); return y }
		lin := linearize(t, f, tensor.New([]int{3}, []float64{0.5, math.Pi, 1}))
		_, err := lumptest.Scalarize(lin.Program(), limit)
		var se *lump.SingularBlockError
		if !errors.Is(err, tape.ErrSingular) || !errors.As(err, &se) {
			t.Fatalf("err = %v, want a *lump.SingularBlockError", err)
		}
		if se.Size != 2 || !slices.Equal(se.Ops, []string{"sin", "add"}) || se.Nodes[1] != y.Node().Pos {
			t.Errorf("error names a block of size %d with ops %v at %v; want sin and add", se.Size, se.Ops, se.Nodes)
		}
	})

	t.Run("numerically zero Jacobian", func(t *testing.T) {
		// x·0: the entry is zero at every point, so structurally zero here.
		f := func(x *tape.Var) *tape.Var { return ops.Mul(x, ops.Const(x, tensor.Zeros(4))) }
		lin := linearize(t, f, tensor.New([]int{4}, []float64{1, 2, 3, 4}))
		_, err := lumptest.Scalarize(lin.Program(), limit)
		var se *lump.StructurallySingularError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want a *lump.StructurallySingularError", err)
		}
		if se.Deficiency != 4 || len(se.Cut) != 0 || len(se.UnmatchedEquations) != 1 || se.UnmatchedEquations[0].Op != "mul" {
			t.Errorf("deficiency %d, cut %v, unmatched equations %v; want 4, none, all of mul", se.Deficiency, se.Cut, se.UnmatchedEquations)
		}
		if !strings.Contains(err.Error(), "from 4 to 0") {
			t.Errorf("message %q", err)
		}
	})

	t.Run("width drops at the input's slice", func(t *testing.T) {
		// y = concat(a, a) with (a, b) = split(x): b is dead code and a is
		// the bottleneck, of n/2.
		var a *tape.Var
		f := func(x *tape.Var) *tape.Var { a = ops.Split(x, 2, 2)[0]; return ops.Concat(a, a) }
		lin := linearize(t, f, tensor.New([]int{4}, []float64{1, 2, 3, 4}))
		_, err := lumptest.Scalarize(lin.Program(), limit)
		var se *lump.StructurallySingularError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want a *lump.StructurallySingularError", err)
		}
		if se.Deficiency != 2 || len(se.Cut) != 1 || se.Cut[0].Op != "slice" || se.Cut[0].Var != a.ID() {
			t.Errorf("deficiency %d, cut %v; want 2 at the slice", se.Deficiency, se.Cut)
		}
	})
}

func TestPanics(t *testing.T) {
	lin := linearize(t, programs[0].F, programs[0].Point(1))
	s, err := lumptest.Scalarize(lin.Program(), limit)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"nil program", func() { lumptest.Scalarize(nil, limit) }},
		{"limit 0", func() { lumptest.Scalarize(lin.Program(), 0) }},
		{"short dy", func() { s.Solve(make([]float64, s.Len()-1)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, ok := r.(string); !ok || !strings.HasPrefix(msg, "lumptest: ") {
					t.Errorf("recovered %v, want a panic with a \"lumptest: \" message", r)
				}
			}()
			c.f()
		})
	}
}
