package inverse

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/invad/invad/batch"
	"github.com/invad/invad/internal/adcore"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/sweep"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// ErrNoLogDetGrad is matched by the error LogAbsDetGrad returns for a lump
// whose gradient it does not form: a sparse lump (its block's inverse is
// dense), or a dense block wider than MaxLogDetGradColors.
var ErrNoLogDetGrad = errors.New("inverse: no log-det gradient for this lump")

// MaxLogDetGradColors bounds the solves LogAbsDetGrad spends on one lump
// whose block has no structure to color by (a dense lump, a triangular
// step): one per column, each a solve with the block and a second-order
// pass over the lump's ops.
var MaxLogDetGradColors = 4096

// LogAbsDetGrad returns log|det ∂f/∂xᵢ| at xs and its gradient with respect
// to every input (xᵢ itself and the others, a model's parameters, say),
// exactly: the sum over the lumps of tr(A⁻¹·∂A), each block A's inverse
// from its factorization and ∂A from the second-order rules of the lump's
// ops (tape.SecondOrder), then one reverse sweep of f from every value A
// reads back to the inputs. f is a function of several inputs as in
// LinearizeArg and package ad; f(xs) must have as many elements as xs[i].
// f is recorded once, every input varying; the program of xᵢ alone, the
// others fixed, is replayed from that recording without running an op
// again.
//
// A block diagonal in samples (a batch lump of K×K blocks, a diagonal or
// Kron step) costs K solves and K second-order passes over the lump's ops;
// a dense lump one per column (at most MaxLogDetGradColors). A batch lump
// whose samples are the last axis of its values (x of shape [d, B]) runs
// its passes on chunks of a few hundred samples, which stay in cache,
// spread over the cores. A sparse lump is refused (ErrNoLogDetGrad). A
// batch stored as rows through X·W is analyzed batch-minor, as Linearize
// does (per-sample blocks), and the gradient carried back to f as written.
//
// It panics as LinearizeArg does and returns its errors (a *SizeError, a
// *NonFiniteError), those of the factorization (a singular lump) and
// ErrNoLogDetGrad.
func LogAbsDetGrad(f func(xs ...*tape.Var) *tape.Var, xs []*tensor.Tensor, i int, opts ...Option) (float64, []*tensor.Tensor, error) {
	checkArgs("LogAbsDetGrad", f, xs, i)
	ld, _, grads, err := logDetGrad("LogAbsDetGrad", f, xs, i, nil, opts)
	return ld, grads, err
}

// LogAbsDetAlongGrad returns the per-sample log|det ∂f/∂xᵢ| along axis of
// xs[i] (LinearizeArg's LogAbsDetAlong(axis): one per index of that axis,
// the first or the last) and the gradient of Σ_b w[b]·logdet_b with
// respect to every input, exactly: importance weights, per-sample losses,
// or w = 1/B for the mean. w has as many elements as xs[i] has samples
// along axis (any shape), finite, of either sign; w all ones gives
// LogAbsDetGrad's gradient.
//
// It is LogAbsDetGrad's pass with each lump's seed s_c scaled by the
// weight of the sample of each of its columns before the transposed solve:
// Σ_c ⟨M⁻ᵀ(ω⊙s_c), ∂M·s_c⟩ = Σ_b w_b·tr(M_b⁻¹·∂M_b) for a block diagonal
// in samples (a batch lump, a diagonal or Kron step whose blocks lie
// within one sample, a dense lump inside one sample). A batch stored as
// rows through X·W is analyzed batch-minor, its samples along axis 0 of x
// as LogAbsDetAlong takes them.
//
// It panics as LogAbsDetGrad does, if axis is not an axis of xs[i], or if
// w is nil or does not have one element per sample. It returns
// LogAbsDetGrad's errors, *CouplingError (ErrCouplesSamples) naming the
// first lump that couples two samples, an error if axis is neither the
// first nor the last, and *NonFiniteError (ErrNonFinite) for a NaN or ±Inf
// in w.
func LogAbsDetAlongGrad(f func(xs ...*tape.Var) *tape.Var, xs []*tensor.Tensor, i, axis int, w *tensor.Tensor, opts ...Option) (*tensor.Tensor, []*tensor.Tensor, error) {
	checkArgs("LogAbsDetAlongGrad", f, xs, i)
	sh := xs[i].Shape()
	if axis < 0 || axis >= len(sh) {
		panic(fmt.Sprintf("inverse: LogAbsDetAlongGrad along axis %d: x has shape %v", axis, sh))
	}
	if w == nil {
		panic("inverse: LogAbsDetAlongGrad with a nil w")
	}
	if w.Len() != sh[axis] {
		panic(fmt.Sprintf("inverse: LogAbsDetAlongGrad: w has %d elements, want one per sample: %d along axis %d of x (shape %v)", w.Len(), sh[axis], axis, sh))
	}
	if bad, k := w.HasNonFinite(); bad {
		return nil, nil, &NonFiniteError{Where: "weights w", Pos: -1, Index: k, Value: w.Data()[k]}
	}
	_, parts, grads, err := logDetGrad("LogAbsDetAlongGrad", f, xs, i, &along{axis: axis, w: w.Data()}, opts)
	return parts, grads, err
}

// along is LogAbsDetAlongGrad's request: the samples along axis of x,
// weighted by w.
type along struct {
	axis int
	w    []float64
}

// logDetGrad is LogAbsDetGrad (al nil: every weight 1) and
// LogAbsDetAlongGrad: log|det| (and its per-sample parts along al.axis)
// and the gradient of Σ_b w_b·logdet_b in every input.
func logDetGrad(name string, f func(xs ...*tape.Var) *tape.Var, xs []*tensor.Tensor, i int, al *along, opts []Option) (float64, *tensor.Tensor, []*tensor.Tensor, error) {
	for j, v := range xs {
		if bad, k := v.HasNonFinite(); bad {
			return 0, nil, nil, &NonFiniteError{Where: fmt.Sprintf("input %d", j), Pos: -1, Index: k, Value: v.Data()[k]}
		}
	}
	// f recorded once, every input varying: the values the gradient is
	// carried back through.
	tp := tape.NewTape()
	ins := make([]*tape.Var, len(xs))
	for j, v := range xs {
		ins[j] = tp.Input(v)
	}
	out := f(ins...)
	if err := checkOutput(tp, xs[i], out); err != nil {
		return 0, nil, nil, err
	}
	full := tp.Finish(ins[i], out)
	if bad, _ := out.Value().HasNonFinite(); bad {
		return 0, nil, nil, tape.FirstNonFinite(full, "")
	}
	// The same program with the other inputs held fixed, replayed from
	// the recording (no op runs again); toFull maps its values to full's.
	var toFull map[int]int
	fixed := func(x *tape.Var) *tape.Var {
		toFull = map[int]int{x.ID(): ins[i].ID()}
		at := map[int]*tape.Var{ins[i].ID(): x}
		get := func(v *tape.Var) *tape.Var {
			if a, ok := at[v.ID()]; ok {
				return a
			}
			a := x.Tape().Const(v.Value()) // another input, or a constant of f
			at[v.ID()], toFull[a.ID()] = a, v.ID()
			return a
		}
		for _, nd := range full.Nodes {
			in := make([]*tape.Var, len(nd.In))
			for k, v := range nd.In {
				in[k] = get(v)
			}
			a := x.Tape().Replay(nd.Op, in, nd.Out.Value())
			at[nd.Out.ID()], toFull[a.ID()] = a, nd.Out.ID()
		}
		return get(out)
	}
	// Recorded as it is, or batch-minor where Linearize would (a batch
	// stored as rows through X·W), keeping the trace of where each
	// batch-minor value comes from.
	h := fixed
	var src *tape.Program // the replayed program, when h is its batch-minor form
	var trace *batch.Trace
	rowMajor := false
	{
		rp := tape.NewTape()
		rx := rp.Input(xs[i])
		if sp := rp.Finish(rx, fixed(rx)); batch.Gains(sp) {
			rowMajor = true
			if mf, err := batch.MinorFuncTrace(sp); err == nil {
				src = sp
				h = func(x *tape.Var) *tape.Var {
					y, tr := mf(x)
					trace = tr
					return y
				}
			}
		}
	}
	lin, err := Linearize(h, xs[i], append(slices.Clone(opts), AsRecorded())...)
	if err != nil {
		return 0, nil, nil, err
	}
	x, err := lin.prepare()
	if err != nil {
		return 0, nil, nil, err
	}
	g := &ldGrad{prog: lin.prog, x: x, an: x.P.An, cv: make([]*tensor.Tensor, lin.prog.NumVars), rowMajor: rowMajor && src == nil}
	var parts *tensor.Tensor
	if al != nil {
		// The samples as LogAbsDetAlong takes them: lin is the
		// batch-minor program where LinearizeArg's would be.
		lin.minor = src != nil
		b, group, err := lin.samples(al.axis)
		if err != nil {
			return 0, nil, nil, err
		}
		if parts, err = sampleLogDets(x, al.axis, b, group); err != nil {
			return 0, nil, nil, err
		}
		g.group, g.weight, g.axis = group, al.w, al.axis
	}
	g.relabels = lumpRelabels(g.an, g.prog, nil)
	g.idx = make(map[*tape.Node]int, len(g.prog.Nodes))
	for k, nd := range g.prog.Nodes {
		g.idx[nd] = k
	}
	w := lin.getInvWS(x)
	defer lin.putInvWS(w)
	for li := range g.an.Lumps {
		if err := g.lump(w, li); err != nil {
			return 0, nil, nil, err
		}
	}

	// Back to full's values: through the batch-minor trace to the
	// replayed program's, then by toFull.
	cv := g.cv
	if src != nil {
		vars := make([]*tape.Var, src.NumVars)
		vars[src.Input.ID()] = src.Input
		for _, nd := range src.Nodes {
			vars[nd.Out.ID()] = nd.Out
			for _, v := range nd.In {
				vars[v.ID()] = v
			}
		}
		cv = make([]*tensor.Tensor, src.NumVars)
		for id, c := range g.cv {
			if c == nil {
				continue
			}
			o, ok := trace.Src[id]
			if !ok || vars[o.Var] == nil {
				if zero(c) { // a linear op's input: its second-order term is nothing
					continue
				}
				return 0, nil, nil, fmt.Errorf("inverse: %s: value %d of the batch-minor program has no source", name, id)
			}
			back := o.Back(c, vars[o.Var].Shape())
			if cv[o.Var] == nil {
				cv[o.Var] = back
			} else {
				vaxpy(cv[o.Var].Data(), 1, back.Data())
			}
		}
		// toFull is still the map of src's replay: Linearize recorded the
		// batch-minor program, not another replay.
	}
	seeds := make([]*tensor.Tensor, full.NumVars)
	for id, c := range cv {
		// A zero accumulator (a bilinear op's operand whose partner had no
		// tangent) seeds nothing: the sweep back skips what it alone feeds.
		if c == nil || zero(c) {
			continue
		}
		to, ok := toFull[id]
		if !ok {
			return 0, nil, nil, fmt.Errorf("inverse: %s: value %d has no counterpart in f's recording", name, id)
		}
		if seeds[to] == nil {
			seeds[to] = c
		} else {
			vaxpy(seeds[to].Data(), 1, c.Data())
		}
	}
	grads := make([]*tensor.Tensor, len(xs))
	for j, v := range xs {
		grads[j] = tensor.Zeros(v.Shape()...)
	}
	adcore.New(full, ins).VJPSeedInto(grads, nil, seeds)
	for _, gr := range grads {
		if err := checkResult(name, gr); err != nil {
			return 0, nil, nil, err
		}
	}
	return x.LogDet, parts, grads, nil
}

// logDetGradGroupBytes bounds the seeds and solutions of the colors that
// LogAbsDetGrad solves for at once, with a lump's factorization's own
// size if larger (a variable for the tests).
var logDetGradGroupBytes int64 = 256 << 20

// zero reports whether every element of t is 0.
func zero(t *tensor.Tensor) bool {
	for _, v := range t.Data() {
		if v != 0 {
			return false
		}
	}
	return true
}

// ldGrad accumulates the gradient of log|det J| with respect to the
// program's values, lump by lump.
type ldGrad struct {
	prog *tape.Program
	x    *cpuExec
	an   *lump.Analysis
	idx  map[*tape.Node]int
	cv   []*tensor.Tensor // per value id: ∂ log|det J| / ∂value, nil for zero
	vars []*tape.Var      // per value id, built on first use
	// relabels[li]: the relabelling nodes holding elements of lump li's
	// atoms (lumpRelabels)
	relabels [][]int
	// rowMajor: f stores a batch as rows through X·W, which Linearize
	// would analyze batch-minor; here its lump is dense across the samples.
	rowMajor bool
	// group and weight: LogAbsDetAlongGrad's samples (Linearization.samples)
	// and their weights; nil for LogAbsDetGrad, every weight 1.
	group  func(v, off int, dst []int) bool
	weight []float64
	axis   int       // the samples' axis of x
	om     []float64 // columnWeights' scratch, kept across lumps
	gs     []int     // the same for the samples of a place
}

// lump adds lump li's tr(M⁻¹ dM): for each color c of its block M (=
// ∂g/∂K, the created equations' values as functions of the killed atoms),
// w = M⁻ᵀ s_c and the gradient of ⟨w, M(v)·s_c⟩ with respect to every value
// v the lump's ops read, by a forward pass of the tangents from s_c
// through the lump's ops and a reverse pass with their second-order rules.
// With per-sample weights ω (g.weight) w = M⁻ᵀ(ω⊙s_c) instead, which adds
// tr(diag(ω)·M⁻¹ dM): the cross terms of a color vanish one by one, so
// each column k counts (M⁻¹ dM)_kk times the weight of its sample.
func (g *ldGrad) lump(ws *sweep.Workspace[*tensor.Tensor], li int) error {
	an := g.an
	lp := &an.Lumps[li]
	if lp.Kind == lump.Copy || lp.Kind == lump.Expansion {
		return nil
	}
	rows, rlen, slen := g.x.P.LumpRows(li)
	places := g.x.P.LumpPlaces(li)
	colors, err := g.colors(li, places, slen)
	if err != nil || len(colors) == 0 {
		return err
	}
	ln := g.lumpNodes(li, rows)
	// The values whose tangents the lump's nodes compute: only they carry
	// a cotangent back (the killed atoms' would be read by nothing).
	produced := map[int]bool{}
	for _, e := range ln {
		produced[g.prog.Nodes[e.node].Out.ID()] = true
	}
	var om []float64 // the columns' weights, nil for all 1
	if g.weight != nil {
		if om, err = g.columnWeights(li, places, slen); err != nil {
			return err
		}
	}
	pass := newLDPass(g, ln, rows, places, produced)
	cols, chunked := pass.chunkable(li)
	// The transposed solves of a group of colors at once (a batched LU
	// reads its factors once for the group), the group's seeds and
	// solutions within the larger of the lump's factorization and
	// logDetGradGroupBytes.
	budget := max(g.x.F[li].Bytes(), logDetGradGroupBytes)
	group := int(max(1, min(int64(len(colors)), budget/(8*int64(slen+rlen)))))
	seeds, sols := make([]*tensor.Tensor, group), make([]*tensor.Tensor, group)
	for j := range group {
		seeds[j], sols[j] = tensor.Zeros(slen), tensor.Zeros(rlen)
	}
	for c0 := 0; c0 < len(colors); c0 += group {
		cs := colors[c0:min(c0+group, len(colors))]
		for j, color := range cs {
			sd := seeds[j].Data()
			clear(sd)
			for _, k := range color {
				sd[k] = 1
				if om != nil { // the solve's seed is ω⊙s_c, the tangents' s_c
					sd[k] = om[k]
				}
			}
		}
		if err := g.x.SolveLumpT(ws, li, sols[:len(cs)], seeds[:len(cs)]); err != nil {
			return err
		}
		if om != nil {
			for j, color := range cs {
				for _, k := range color {
					seeds[j].Data()[k] = 1
				}
			}
		}
		if chunked {
			pass.runChunked(cols, seeds[:len(cs)], sols[:len(cs)])
			continue
		}
		for j := range cs {
			pass.color(seeds[j], sols[j])
		}
	}
	return nil
}

// columnWeights returns the weight of the sample of each column of lump
// li's block (each element of its solution vector, placed by places), or
// a *CouplingError if an element is in no sample. The result is g.om's
// scratch, valid until the next call.
func (g *ldGrad) columnWeights(li int, places []sweep.Place, slen int) ([]float64, error) {
	// The places are the lump's killed atoms, disjoint: they cover the
	// solution if their lengths add up to it.
	n := 0
	for _, pl := range places {
		n += pl.N
	}
	if n != slen {
		return nil, fmt.Errorf("inverse: LogAbsDetAlongGrad: the killed values of lump %d (%s) fill %d of its %d columns: no sample to weight the others by", li, strings.Join(g.an.LumpOps(li), " "), n, slen)
	}
	if cap(g.om) < slen {
		g.om = make([]float64, slen)
	}
	om := g.om[:slen]
	for _, pl := range places {
		g.gs = slices.Grow(g.gs[:0], pl.N)
		gs := g.gs[:pl.N]
		if !g.group(pl.Var, pl.Off, gs) {
			return nil, &CouplingError{Axis: g.axis, Lump: li, Ops: g.an.LumpOps(li)}
		}
		dst := om[pl.Pos : pl.Pos+pl.N]
		for j, b := range gs {
			dst[j] = g.weight[b]
		}
	}
	return om, nil
}

// varOf returns the value with the given id among the program's.
func (g *ldGrad) varOf(id int) *tape.Var {
	if g.vars == nil {
		g.vars = make([]*tape.Var, g.prog.NumVars)
		g.vars[g.prog.Input.ID()] = g.prog.Input
		for _, nd := range g.prog.Nodes {
			g.vars[nd.Out.ID()] = nd.Out
		}
	}
	return g.vars[id]
}

// ldNode is one node of a lump's pass: a relabelling of its values, or an
// op of its equations with the element ranges of its value that are the
// lump's internal unknowns (whose tangents carry on) and the indices of
// its created rows (in LumpRows).
type ldNode struct {
	node     int
	relabel  bool
	linear   bool // the op declares no second-order term (tape.Linear)
	internal [][2]int
	created  []int
	zero     [][2]int // the complement of internal in the op's value
}

// lumpNodes lists lump li's nodes in tape order; rows are its created
// equations (LumpRows).
func (g *ldGrad) lumpNodes(li int, rows []sweep.LumpRow) []ldNode {
	an := g.an
	lp := &an.Lumps[li]
	by := map[int]*ldNode{}
	get := func(i int, relabel bool) *ldNode {
		e := by[i]
		if e == nil {
			lo, ok := g.prog.Nodes[i].Op.(tape.Linear)
			e = &ldNode{node: i, relabel: relabel, linear: ok && lo.Linear()}
			by[i] = e
		}
		return e
	}
	for _, q := range lp.Internal {
		eq := &an.Eqs[q]
		e := get(g.idx[eq.Node], false)
		e.internal = append(e.internal, [2]int{eq.Off, eq.Len})
	}
	for r, row := range rows {
		e := get(g.idx[row.Node], false)
		e.created = append(e.created, r)
	}
	// The relabellings whose values hold elements of the lump's atoms.
	for _, i := range g.relabels[li] {
		get(i, true)
	}
	out := make([]ldNode, 0, len(by))
	for _, e := range by {
		if !e.relabel {
			slices.SortFunc(e.internal, func(a, b [2]int) int { return a[0] - b[0] })
			at := 0
			for _, r := range e.internal {
				if r[0] > at {
					e.zero = append(e.zero, [2]int{at, r[0]})
				}
				at = max(at, r[0]+r[1])
			}
			if n := g.prog.Nodes[e.node].Out.Len(); at < n {
				e.zero = append(e.zero, [2]int{at, n})
			}
		}
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b ldNode) int { return a.node - b.node })
	return out
}

// pivotPlaces returns, for each element of in (an op's pivot input, a base
// value or a relabelling of some), its position in the lump's solution,
// through the analysis' segments and the killed atoms' places; nil if an
// element is a constant's or no killed atom's.
func (g *ldGrad) pivotPlaces(in *tape.Var, places []sweep.Place) []int {
	byVar := map[int][]sweep.Place{}
	for _, pl := range places {
		byVar[pl.Var] = append(byVar[pl.Var], pl)
	}
	for _, ps := range byVar {
		slices.SortFunc(ps, func(a, b sweep.Place) int { return a.Off - b.Off })
	}
	pos := make([]int, in.Len())
	for _, sg := range g.an.Segs(in) {
		ps := byVar[sg.Var]
		if sg.Var < 0 || len(ps) == 0 {
			return nil
		}
		for e := sg.Pos; e < sg.Pos+sg.Len; e++ {
			off := sg.Off + e - sg.Pos
			k, _ := slices.BinarySearchFunc(ps, off, func(p sweep.Place, off int) int {
				switch {
				case p.Off+p.N <= off:
					return -1
				case p.Off > off:
					return 1
				}
				return 0
			})
			if k == len(ps) || ps[k].Off > off || off >= ps[k].Off+ps[k].N {
				return nil
			}
			pos[e] = ps[k].Pos + off - ps[k].Off
		}
	}
	return pos
}

// colors returns the colors of lump li's block M as sets of solution
// indices: columns of one color never share a row of M, nor of M⁻ᵀ.
func (g *ldGrad) colors(li int, places []sweep.Place, slen int) ([][]int, error) {
	an := g.an
	lp := &an.Lumps[li]
	units := func() ([][]int, error) {
		if slen > MaxLogDetGradColors && g.rowMajor {
			return nil, fmt.Errorf("inverse: LogAbsDetGrad: f stores its samples as rows through X·W, which Linearize analyzes batch-minor and LogAbsDetGrad records as it is: lump %d is dense across the samples, %d wide, more than MaxLogDetGradColors = %d columns; write f with the samples innermost (x of shape [d, B], W·x): %w",
				li, slen, MaxLogDetGradColors, ErrNoLogDetGrad)
		}
		if slen > MaxLogDetGradColors {
			return nil, fmt.Errorf("inverse: LogAbsDetGrad: lump %d (%s) of width %d has no structure to color by and more than MaxLogDetGradColors = %d columns: %w",
				li, lp.Kind, slen, MaxLogDetGradColors, ErrNoLogDetGrad)
		}
		c := make([][]int, slen)
		for j := range c {
			c[j] = []int{j}
		}
		return c, nil
	}
	switch lp.Kind.Form() {
	case lump.SparseBlocks:
		return nil, fmt.Errorf("inverse: LogAbsDetGrad: lump %d is sparse (%s): %w", li, an.Structure(li), ErrNoLogDetGrad)
	case lump.DenseBlock:
		return units()
	case lump.BatchBlocks:
		// Killed atom j of every block: column j of each sample's block.
		c := make([][]int, len(lp.Killed))
		for j, k := range lp.Killed {
			at := an.Atoms[k]
			for _, pl := range places {
				if pl.Var == at.Var && pl.Off == at.Off {
					for p := pl.Pos; p < pl.Pos+pl.N; p++ {
						c[j] = append(c[j], p)
					}
				}
			}
		}
		return c, nil
	case lump.OpRule:
		nd := lp.Node
		shapes := make([][]int, len(nd.In))
		vary := make([]bool, len(nd.In))
		for k, v := range nd.In {
			shapes[k], vary[k] = v.Shape(), !v.IsConst()
		}
		st := nd.Op.Structure(lp.Input, shapes, vary)
		// The structured colors are classes of the pivot input's elements:
		// pos maps each to its place in the solution (nil if some element
		// is not a killed unknown).
		pos := g.pivotPlaces(nd.In[lp.Input], places)
		inOrder := pos != nil
		at := func(cls [][]int) [][]int {
			for _, c := range cls {
				for k, e := range c {
					c[k] = pos[e]
				}
			}
			return cls
		}
		switch {
		case st.Kind == tape.Identity || st.Kind == tape.Selection || st.Kind == tape.Zero:
			return nil, nil // a constant block: no gradient
		case st.Constant && len(nd.In) == 1:
			// A block of no value (a permutation, a scale by the op's own
			// parameter): no gradient. With other inputs its entries are
			// theirs (W in W·x), which may be the parameters.
			return nil, nil
		case st.Kind == tape.Diagonal:
			all := make([]int, slen)
			for j := range all {
				all[j] = j
			}
			return [][]int{all}, nil
		case inOrder && st.Kind == tape.Kron && st.Inner > 0:
			k := slen / st.Inner
			c := make([][]int, k)
			for j := range c {
				for s := range st.Inner {
					c[j] = append(c[j], j*st.Inner+s)
				}
			}
			return at(c), nil
		case inOrder && st.Kind == tape.BlockDiagonal && st.Blocks > 0:
			bs := slen / st.Blocks
			c := make([][]int, bs)
			for j := range c {
				for b := range st.Blocks {
					c[j] = append(c[j], b*bs+j)
				}
			}
			return at(c), nil
		}
		return units()
	}
	return nil, nil
}
