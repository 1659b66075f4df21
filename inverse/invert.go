package inverse

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/invad/invad/lump"
	"github.com/invad/invad/sweep"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Defaults of Invert's local Newton iterations.
const (
	// DefaultInvertTol: a lump is solved when ‖r‖∞ ≤ tol·s, r the residual
	// of its created values and s the largest magnitude among them (their
	// targets and their values at the iterate).
	DefaultInvertTol = 1e-13
	// DefaultInvertMaxIter bounds the Newton steps of one lump.
	DefaultInvertMaxIter = 50
	// invertFloor: a residual that stops shrinking (less than halved by a
	// step) at or below invertFloor·s is rounding, and accepted.
	invertFloor = 1e-11
	// maxHalvings bounds the step halvings of one Newton step.
	maxHalvings = 30
)

// StartAt makes Invert record f at x0 (shaped like x, not modified), the
// start point of every lump's Newton iteration. By default Invert starts
// at y itself, which needs f to map x's shape to y's. Linearize ignores it.
// It panics if x0 is nil.
func StartAt(x0 *tensor.Tensor) Option {
	if x0 == nil {
		panic("inverse: StartAt with a nil start point")
	}
	return func(l *Linearization) { l.start = x0 }
}

// InvertTol sets the relative residual at which Invert takes a lump as
// solved (default DefaultInvertTol). Linearize ignores it. It panics unless
// tol is positive and finite.
func InvertTol(tol float64) Option {
	if !(tol > 0) || math.IsInf(tol, 1) {
		panic(fmt.Sprintf("inverse: InvertTol(%g): the tolerance must be positive and finite", tol))
	}
	return func(l *Linearization) { l.invTol = tol }
}

// InvertMaxIter bounds the Newton steps Invert takes on one lump (default
// DefaultInvertMaxIter). Linearize ignores it. It panics if k < 1.
func InvertMaxIter(k int) Option {
	if k < 1 {
		panic(fmt.Sprintf("inverse: InvertMaxIter(%d): at least one step is needed", k))
	}
	return func(l *Linearization) { l.invMaxIter = k }
}

// InvertTrace makes Invert append one InvertLump per lump to *dst, in the
// order it solves them (also when it fails: the failing lump is the last).
// Linearize ignores it. It panics if dst is nil.
func InvertTrace(dst *[]InvertLump) Option {
	if dst == nil {
		panic("inverse: InvertTrace with a nil destination")
	}
	return func(l *Linearization) { l.invTrace = dst }
}

// InvertLump is what Invert did on one lump.
type InvertLump struct {
	Lump int
	Kind lump.Kind
	Ops  []string // "name@position", as the lump report names them
	// Iter is the number of Newton steps (factorizations of the block and
	// solves): a lump affine in its killed values takes one, and Invert
	// evaluates its residual Iter+1 times. Copies and expansions take none.
	Iter int
	// Residual is the last ‖r‖∞ relative to the scale of the lump's values.
	Residual float64
}

// Invert returns x with f(x) = y, solved lump by lump (docs/design.md,
// "The exact inverse, lump by lump"):
// f is recorded at a start point (StartAt; by default y itself) and its
// lumps found as for Linearize (the options of Linearize apply, and a
// row-major batched program is analyzed batch-minor unless AsRecorded).
// Then, in the order IJVP solves them, from y back to x, each lump's killed
// values K are solved from g(K, R) = C, its created values C and the values
// R it reads being known by then (y's, solved by an earlier lump, or
// recomputed forward by an expansion): by Newton's method with the lump's
// own block A = ∂g/∂K, refactorized at each iterate, the values internal to
// the lump recomputed forward each time. A lump affine in K (an affine
// coupling's x2·exp(s(x1)) + t(x1), a product W·x) takes one step.
//
// Invert runs on the CPU engine. It works on its own recording: no
// Linearization a caller holds is touched, and y and the start point are not
// modified. The result is a new tensor shaped like x.
//
// It panics if f or y is nil, if f(x0) is not shaped like y for a start
// point given by StartAt, and on Linearize's panics. It returns an error if
// the default start point does not work (f does not take y's shape, or
// maps it to another), *NonFiniteError for NaN or ±Inf in y or in f at the
// start point, Linearize's and the lump analysis's errors
// (*lump.StructurallySingularError, *lump.LumpTooLargeError), and
// *InvertError (ErrNoConvergence) naming the lump whose Newton iteration did
// not converge within InvertMaxIter steps, met a singular block (then also
// matched by errors.Is(err, tape.ErrSingular)), or produced NaN or ±Inf.
func Invert(f func(x *tape.Var) *tape.Var, y *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	if f == nil {
		panic("inverse: Invert with a nil f")
	}
	if y == nil {
		panic("inverse: Invert with a nil y")
	}
	if bad, i := y.HasNonFinite(); bad {
		return nil, &NonFiniteError{Where: "y", Pos: -1, Index: i, Value: y.Data()[i]}
	}
	cfg := &Linearization{}
	for _, o := range opts {
		if o == nil {
			panic("inverse: a nil Option")
		}
		o(cfg)
	}
	byDefault := cfg.start == nil
	x0 := y
	if !byDefault {
		x0 = cfg.start
	}
	l, err := recordStart(f, x0.Clone(), byDefault, opts)
	if err != nil {
		return nil, err
	}
	if ys := l.prog.Output.Shape(); !tensor.SameShape(ys, y.Shape()) {
		if byDefault {
			return nil, fmt.Errorf("inverse: Invert: f maps y's shape %v to shape %v, so y cannot be the start point: give one shaped like x with StartAt", y.Shape(), ys)
		}
		panic(fmt.Sprintf("inverse: Invert: y has shape %v, f(x0) has shape %v", y.Shape(), ys))
	}
	iv, err := newInverter(l, y.Data())
	if err != nil {
		return nil, err
	}
	iv.tol, iv.maxIter, iv.trace = DefaultInvertTol, DefaultInvertMaxIter, cfg.invTrace
	if cfg.invTol > 0 {
		iv.tol = cfg.invTol
	}
	if cfg.invMaxIter > 0 {
		iv.maxIter = cfg.invMaxIter
	}
	for li := range iv.an.Lumps {
		if err := iv.solve(li); err != nil {
			return nil, err
		}
	}
	return iv.vals[l.prog.Input.ID()].Clone(), nil
}

// recordStart linearizes f at x0 (Invert's own copy of the start point).
// At the default start point, an op of f panicking on y's shape ("ops: ...")
// is reported as an error that says so; other panics go on.
func recordStart(f func(x *tape.Var) *tape.Var, x0 *tensor.Tensor, byDefault bool, opts []Option) (l *Linearization, err error) {
	if byDefault {
		defer func() {
			r := recover()
			if msg, ok := r.(string); ok && strings.HasPrefix(msg, "ops: ") {
				// An op's shape check: f takes another shape than y's.
				l, err = nil, fmt.Errorf("inverse: Invert: f does not take y's shape %v as its input (%s): give a start point shaped like x with StartAt", x0.Shape(), msg)
			} else if r != nil {
				panic(r)
			}
		}()
	}
	l, err = Linearize(f, x0, opts...)
	if err != nil {
		where := "the start point given by StartAt"
		if byDefault {
			where = "y, the default start point"
		}
		return nil, fmt.Errorf("inverse: Invert: recording f at %s: %w", where, err)
	}
	return l, nil
}

// inverter is one Invert: the program recorded at the start point, whose
// value tensors it updates in place as lumps are solved, and the sweep
// executor on a CPU engine over those same tensors, so that refactorizing
// a lump reads the current values.
type inverter struct {
	prog *tape.Program
	an   *lump.Analysis
	x    *cpuExec
	e    *cpuEngine
	w    *sweep.Workspace[*tensor.Tensor]
	idx  map[*tape.Node]int
	vals []*tensor.Tensor // per value id
	y    []float64
	// relabels[li]: the relabelling nodes (Split, Concat, ...) whose value
	// holds an element of lump li's, recomputed with it.
	relabels [][]int
	view     []bool           // per node: its value shares its input's storage
	fw       []*tensor.Tensor // per node: its value at the iterate, where not in place

	tol     float64
	maxIter int
	trace   *[]InvertLump
}

func newInverter(l *Linearization, y []float64) (*inverter, error) {
	p := l.prog
	an, err := lump.AnalyzeLimits(p, lump.Limits{Width: l.maxWidth, Bytes: l.maxBytes})
	if err != nil {
		return nil, err
	}
	e := newCPUEngine(p)
	x := sweep.New(sweep.Compile(an), sweep.Engine[*tensor.Tensor](e))
	iv := &inverter{prog: p, an: an, x: x, e: e, w: x.NewWorkspace(), idx: map[*tape.Node]int{}, y: y,
		vals: make([]*tensor.Tensor, p.NumVars),
		view: make([]bool, len(p.Nodes)), fw: make([]*tensor.Tensor, len(p.Nodes))}
	iv.vals[p.Input.ID()] = p.Input.Value()
	for i, nd := range p.Nodes {
		iv.idx[nd] = i
		iv.vals[nd.Out.ID()] = nd.Out.Value()
		if !an.IsRelabel(nd) || nd.Out.IsConst() {
			continue
		}
		for _, in := range nd.In {
			if tensor.Overlap(nd.Out.Value().Data(), in.Value().Data()) {
				iv.view[i] = true
			}
		}
	}
	iv.relabels = lumpRelabels(an, p, func(i int) bool { return iv.view[i] }) // a view follows its input by itself
	return iv, nil
}

// lumpRelabels lists, per lump, the relabelling nodes (Split, Concat, ...,
// by position in p) whose value holds an element of one of the lump's
// atoms, in tape order, leaving out those skip names (nil: none).
func lumpRelabels(an *lump.Analysis, p *tape.Program, skip func(i int) bool) [][]int {
	out := make([][]int, len(an.Lumps))
	for i, nd := range p.Nodes {
		if !an.IsRelabel(nd) || nd.Out.IsConst() || (skip != nil && skip(i)) {
			continue
		}
		for _, sg := range an.Segs(nd.Out) {
			if sg.Var < 0 {
				continue
			}
			for _, k := range an.AtomsIn(sg.Var, sg.Off, sg.Len) {
				if li := an.LumpOf[k]; li >= 0 {
					if r := out[li]; len(r) == 0 || r[len(r)-1] != i {
						out[li] = append(r, i)
					}
				}
			}
		}
	}
	return out
}

// lumpEval is how one lump's values are recomputed at an iterate: its
// nodes in tape order (the relabellings of its values, the ops of its
// internal and created equations), and after each op evaluated into a
// scratch value (fw) the rows to copy to its own value: the internal ones.
type lumpEval struct {
	nodes  []int
	copies [][][2]int // per entry of nodes: (off, n) ranges of internal rows
	redir  []int      // nodes whose engine output is redirected to fw
}

func (iv *inverter) evalPlan(li int) *lumpEval {
	an := iv.an
	lp := &an.Lumps[li]
	internal := map[int]bool{} // atoms
	rows := map[int][][2]int{} // node -> internal rows
	var eqNodes []int
	for _, q := range lp.Internal {
		eq := &an.Eqs[q]
		internal[eq.Self] = true
		i := iv.idx[eq.Node]
		rows[i] = append(rows[i], [2]int{eq.Off, eq.Len})
		eqNodes = append(eqNodes, i)
	}
	for _, q := range lp.Created {
		if nd := an.Eqs[q].Node; nd != nil {
			eqNodes = append(eqNodes, iv.idx[nd])
		}
	}
	le := &lumpEval{}
	nodes := append(slices.Clone(iv.relabels[li]), eqNodes...)
	slices.Sort(nodes)
	nodes = slices.Compact(nodes)
	for _, i := range nodes {
		nd := iv.prog.Nodes[i]
		var cp [][2]int
		if !an.IsRelabel(nd) {
			// In place when every element of the op's value is internal to
			// the lump; else into a scratch value the engine reads as the
			// op's, the known (created) values staying as they are.
			inPlace := true
			for _, k := range an.AtomsIn(nd.Out.ID(), 0, nd.Out.Len()) {
				if !internal[k] {
					inPlace = false
					break
				}
			}
			if !inPlace {
				if iv.fw[i] == nil {
					iv.fw[i] = tensor.Zeros(nd.Out.Shape()...)
				}
				le.redir = append(le.redir, i)
				cp = rows[i]
			}
		}
		le.nodes = append(le.nodes, i)
		le.copies = append(le.copies, cp)
	}
	return le
}

// eval recomputes the lump's values forward at the current iterate.
func (iv *inverter) eval(le *lumpEval) {
	e := iv.e
	for j, i := range le.nodes {
		if iv.view[i] {
			continue
		}
		nd := iv.prog.Nodes[i]
		nd.Op.Forward(e.outs[i], e.ins[i])
		if cp := le.copies[j]; len(cp) > 0 {
			src, dst := e.outs[i].Data(), nd.Out.Value().Data()
			for _, c := range cp {
				copy(dst[c[0]:c[0]+c[1]], src[c[0]:c[0]+c[1]])
			}
		}
	}
}

// residual writes r = target − g at the created equations' rows and
// returns ‖r‖∞ and the scale: the largest magnitude of the targets and
// of g.
func (iv *inverter) residual(rows []sweep.LumpRow, r []float64) (res, scale float64) {
	for _, row := range rows {
		g := iv.e.outs[iv.idx[row.Node]].Data()[row.Off : row.Off+row.N]
		t := row.Node.Out.Value().Data()[row.Off : row.Off+row.N]
		if row.Out {
			t = iv.y[row.Off : row.Off+row.N]
		}
		d := r[row.Row : row.Row+row.N]
		for j := range d {
			d[j] = t[j] - g[j]
			res = max(res, math.Abs(d[j]))
			scale = max(scale, math.Abs(t[j]), math.Abs(g[j]))
		}
	}
	return res, scale
}

// solve solves lump li: a copy of y's range, an expansion computed
// forward, or Newton's method on g(K, R) = C.
func (iv *inverter) solve(li int) error {
	an := iv.an
	lp := &an.Lumps[li]
	rec := InvertLump{Lump: li, Kind: lp.Kind}
	if iv.trace != nil {
		rec.Ops = an.LumpOps(li)
		defer func() { *iv.trace = append(*iv.trace, rec) }()
	}
	le := iv.evalPlan(li)
	// The engine reads the ops of the lump's equations at the iterate: a
	// created value keeps its (known) target for the ops that read it.
	for _, i := range le.redir {
		iv.e.outs[i] = iv.fw[i]
	}
	defer func() {
		for _, i := range le.redir {
			iv.e.outs[i] = iv.prog.Nodes[i].Out.Value()
		}
	}()
	if lp.Kind == lump.Copy {
		for _, pl := range iv.x.P.LumpPlaces(li) {
			copy(iv.vals[pl.Var].Data()[pl.Off:pl.Off+pl.N], iv.y[pl.Pos:pl.Pos+pl.N])
		}
		iv.eval(le)
		return nil
	}
	if lp.Kind == lump.Expansion {
		iv.eval(le)
		return nil
	}
	rows, rlen, slen := iv.x.P.LumpRows(li)
	places := iv.x.P.LumpPlaces(li)
	r, sol := tensor.Zeros(rlen), tensor.Zeros(slen)
	var k0 []float64 // the killed values before a step
	fail := func(it int, rel float64, err error) error {
		rec.Iter, rec.Residual = it, rel
		return &InvertError{Lump: li, Ops: an.LumpOps(li), Iter: it, Residual: rel, Err: err}
	}
	// measure evaluates the lump at the iterate: its residual r, ‖r‖∞,
	// the scale and ‖r‖∞ relative to it.
	measure := func() (res, scale, rel float64) {
		iv.eval(le)
		res, scale = iv.residual(rows, r.Data())
		rel = res
		if scale > 0 {
			rel = res / scale
		}
		return res, scale, rel
	}
	res, scale, rel := measure()
	prev := math.Inf(1)
	for it := 0; ; it++ {
		if math.IsNaN(res) || math.IsInf(res, 0) {
			return fail(it, rel, fmt.Errorf("inverse: Invert: non-finite residual after %d Newton steps", it))
		}
		if res <= iv.tol*scale || (res <= invertFloor*scale && res > prev/2) {
			rec.Iter, rec.Residual = it, rel
			return nil
		}
		if it == iv.maxIter {
			return fail(it, rel, nil)
		}
		if err := iv.x.Refactor(iv.w, li); err != nil {
			return fail(it, rel, err)
		}
		if err := iv.x.SolveLump(iv.w, li, sol, r); err != nil {
			return fail(it, rel, err)
		}
		if bad, _ := sol.HasNonFinite(); bad {
			return fail(it, rel, fmt.Errorf("inverse: Invert: non-finite Newton step %d", it+1))
		}
		// K ← K + α·dK, α = 1 unless the residual grows: then halved, up
		// to maxHalvings times (a safeguard for starts far from the
		// solution; an affine lump always takes the full step).
		k0 = k0[:0]
		for _, pl := range places {
			k0 = append(k0, iv.vals[pl.Var].Data()[pl.Off:pl.Off+pl.N]...)
		}
		sd := sol.Data()
		prev = res
		for alpha, h := 1.0, 0; ; alpha, h = alpha/2, h+1 {
			o := 0
			for _, pl := range places {
				dst := iv.vals[pl.Var].Data()[pl.Off : pl.Off+pl.N]
				for j := range dst {
					dst[j] = k0[o+j] + alpha*sd[pl.Pos+j]
				}
				o += pl.N
			}
			res, scale, rel = measure()
			if res < prev || res <= iv.tol*scale || h == maxHalvings {
				break
			}
		}
	}
}
