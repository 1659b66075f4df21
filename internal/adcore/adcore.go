// Package adcore holds the ordinary modes of automatic differentiation,
// the forward (JVP) and reverse (VJP) sweeps over a recorded program of
// one or several inputs, with their buffer plans. Package ad wraps them
// for users (any f, several inputs, Grad); package inverse uses them for
// its JVP, VJP, dense Jacobians and iterative refinement. The sweeps
// check nothing: the callers check shapes, memory overlap and finiteness.
package adcore

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/floats"

	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Sweeps runs the JVP and VJP of a program with respect to its inputs.
// Its methods may run concurrently: each takes a workspace of its own.
type Sweeps struct {
	P   *tape.Program
	Ins []*tape.Var // the inputs, in the order of the products' arguments

	varying []bool // per var id
	inIdx   []int  // per var id: index in Ins, or -1
	fwd     plan   // tangent buffers of the forward sweep
	rev     plan   // cotangent buffers of the reverse sweep
	idle    Idle[*workspace[float64]]
}

// New prepares the sweeps of p with respect to ins (distinct inputs of p's
// tape; the output may be one of them, or a constant).
func New(p *tape.Program, ins []*tape.Var) *Sweeps {
	s := &Sweeps{P: p, Ins: ins, varying: make([]bool, p.NumVars), inIdx: make([]int, p.NumVars)}
	for i := range s.inIdx {
		s.inIdx[i] = -1
	}
	for i, in := range ins {
		if s.inIdx[in.ID()] >= 0 {
			panic("adcore: an input given twice")
		}
		s.varying[in.ID()] = true
		s.inIdx[in.ID()] = i
	}
	for _, nd := range p.Nodes {
		s.varying[nd.Out.ID()] = true
	}
	s.fwd = s.forwardPlan()
	s.rev = s.reversePlan()
	return s
}

// ---- buffer plans ----

// plan assigns every value that needs a buffer during a sweep to a slot;
// values whose lifetimes do not overlap share a slot of the same size.
type plan struct {
	slot  []int // per var id: slot index, or -1
	sizes []int // per slot: number of elements
	// zero[j] lists the var ids whose buffers must be zeroed before node j
	// runs (reverse sweep accumulators).
	zero [][]int
}

type slotAlloc struct {
	p    *plan
	free map[int][]int // size -> free slots
}

func (a *slotAlloc) get(size int) int {
	if s := a.free[size]; len(s) > 0 {
		id := s[len(s)-1]
		a.free[size] = s[:len(s)-1]
		return id
	}
	a.p.sizes = append(a.p.sizes, size)
	return len(a.p.sizes) - 1
}

func (a *slotAlloc) put(slot int) { a.free[a.p.sizes[slot]] = append(a.free[a.p.sizes[slot]], slot) }

func newPlan(p *tape.Program) (*plan, *slotAlloc) {
	pl := &plan{slot: make([]int, p.NumVars), zero: make([][]int, len(p.Nodes))}
	for i := range pl.slot {
		pl.slot[i] = -1
	}
	return pl, &slotAlloc{p: pl, free: map[int][]int{}}
}

// forwardPlan: the inputs' tangents are the caller's arguments and the
// output's is the result, so none of them takes a slot. Every other op
// output takes one from its op until its last reader.
func (s *Sweeps) forwardPlan() plan {
	p := s.P
	pl, a := newPlan(p)
	out := p.Output.ID()
	for j, nd := range p.Nodes {
		if id := nd.Out.ID(); id != out {
			pl.slot[id] = a.get(nd.Out.Len())
		}
		first := firstUses(nd.In)
		for k, v := range nd.In {
			id := v.ID()
			if p.LastUse[id] == j && pl.slot[id] >= 0 && s.inIdx[id] < 0 && first.is(nd.In, k) {
				a.put(pl.slot[id])
			}
		}
	}
	return *pl
}

// reversePlan: cotangents accumulate. A value's buffer is taken (and
// zeroed) at its last reader, the first node the reverse sweep meets that
// reads it, and given back once its own op has run. The output's
// cotangent is the caller's argument and the inputs' are the results.
func (s *Sweeps) reversePlan() plan {
	p := s.P
	pl, a := newPlan(p)
	out := p.Output.ID()
	for j := len(p.Nodes) - 1; j >= 0; j-- {
		nd := p.Nodes[j]
		first := firstUses(nd.In)
		for k, v := range nd.In {
			id := v.ID()
			if !s.varying[id] || s.inIdx[id] >= 0 || id == out || !first.is(nd.In, k) || pl.slot[id] >= 0 {
				continue
			}
			pl.slot[id] = a.get(v.Len())
			pl.zero[j] = append(pl.zero[j], id)
		}
		if id := nd.Out.ID(); id != out && pl.slot[id] >= 0 {
			a.put(pl.slot[id])
		}
	}
	return *pl
}

// firstUse tells, per input of a node, whether it is the first occurrence
// of its value (a node may read a value twice). A node with few inputs is
// scanned in place; one with many (a Concat of thousands of slices) gets a
// table, built once, so that the plan stays O(inputs).
type firstUse []bool

// firstUses returns the table for a node with many inputs, nil otherwise.
func firstUses(vs []*tape.Var) firstUse {
	if len(vs) <= 16 {
		return nil
	}
	out := make(firstUse, len(vs))
	seen := make(map[*tape.Var]bool, len(vs))
	for k, v := range vs {
		out[k] = !seen[v]
		seen[v] = true
	}
	return out
}

// is reports whether input k of vs is its value's first occurrence.
func (f firstUse) is(vs []*tape.Var, k int) bool {
	if f != nil {
		return f[k]
	}
	for _, v := range vs[:k] {
		if v == vs[k] {
			return false
		}
	}
	return true
}

// workspace holds one sweep's buffers, with a tensor header per value, in
// the element type T of the sweep (float64, or float32 for Sweeps32).
type workspace[T tensor.Float] struct {
	tan []*tensor.Dense[T] // forward: per var id
	nz  []bool             // forward: per var id, the tangent is not a symbolic zero
	cot []*tensor.Dense[T] // reverse: per var id
	// live: reverse, per var id, the cotangent may be nonzero (seeded, or
	// added to by a node whose own cotangent is live); a node whose output
	// is not live is skipped.
	live []bool
	ins  []*tensor.Dense[T] // scratch for rule arguments
	ts   []*tensor.Dense[T]
}

func buffers[T tensor.Float](pl plan, p *tape.Program) []*tensor.Dense[T] {
	slots := make([][]T, len(pl.sizes))
	for i, s := range pl.sizes {
		slots[i] = make([]T, s)
	}
	hdr := make([]*tensor.Dense[T], p.NumVars)
	for _, nd := range p.Nodes {
		// A fresh slice: appending to nd.In could write into the node's
		// spare capacity, which other goroutines read.
		for _, v := range append(nd.In[:len(nd.In):len(nd.In)], nd.Out) {
			if s := pl.slot[v.ID()]; s >= 0 && hdr[v.ID()] == nil {
				hdr[v.ID()] = tensor.NewOf(v.Shape(), slots[s])
			}
		}
	}
	return hdr
}

// getWS takes an idle workspace of idle or makes one for s's plans.
func getWS[T tensor.Float](s *Sweeps, idle *Idle[*workspace[T]], forward bool) *workspace[T] {
	w, ok := idle.Get()
	if !ok {
		w = &workspace[T]{}
	}
	if forward && w.tan == nil {
		w.tan = buffers[T](s.fwd, s.P)
		w.nz = make([]bool, s.P.NumVars)
	}
	if !forward && w.cot == nil {
		w.cot = buffers[T](s.rev, s.P)
		w.live = make([]bool, s.P.NumVars)
	}
	return w
}

func putWS[T tensor.Float](idle *Idle[*workspace[T]], w *workspace[T]) {
	clear(w.ins)
	clear(w.ts)
	idle.Put(w)
}

// Idle keeps up to one idle workspace per core: enough for callers that run
// one product per core. Workspaces are kept here rather than in a sync.Pool,
// which the garbage collector empties: with values of megabytes, a dropped
// workspace would cost a fresh allocation of every sweep buffer. The zero
// Idle is empty and ready.
type Idle[T any] struct {
	mu   sync.Mutex
	free []T
}

// Get takes an idle workspace, false if there is none.
func (p *Idle[T]) Get() (T, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var zero T
	k := len(p.free)
	if k == 0 {
		return zero, false
	}
	w := p.free[k-1]
	p.free[k-1] = zero
	p.free = p.free[:k-1]
	return w, true
}

// Put keeps w for a later Get, or drops it if enough are kept.
func (p *Idle[T]) Put(w T) {
	p.mu.Lock()
	if len(p.free) < runtime.GOMAXPROCS(0) {
		p.free = append(p.free, w)
	}
	p.mu.Unlock()
}

// ---- the sweeps ----

// rules are the values and op rules of one element type, for the sweeps
// written once for both: the tape's own (float64) or the float32 ones.
type rules[T tensor.Float] struct {
	val func(v *tape.Var) *tensor.Dense[T]
	jvp func(nd *tape.Node, dst *tensor.Dense[T], in []*tensor.Dense[T], out *tensor.Dense[T], t []*tensor.Dense[T])
	vjp func(nd *tape.Node, dst []*tensor.Dense[T], in []*tensor.Dense[T], out *tensor.Dense[T], c *tensor.Dense[T])
}

// rules64 are the tape's values and the ops' float64 rules.
var rules64 = rules[float64]{
	val: (*tape.Var).Value,
	jvp: func(nd *tape.Node, dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
		nd.Op.JVP(dst, in, out, t)
	},
	vjp: func(nd *tape.Node, dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
		nd.Op.VJP(dst, in, out, c)
	},
}

// JVPInto writes Σ_i J_i·dxs[i] into res (every element), J_i the Jacobian
// with respect to input i, shaped like the output; dxs[i] == nil is a zero
// tangent, and ops reached by none are skipped. res must not share memory
// with an argument, a value or a constant of the program.
func (s *Sweeps) JVPInto(res *tensor.Tensor, dxs ...*tensor.Tensor) {
	jvpInto(s, &s.idle, rules64, res, dxs)
}

func jvpInto[T tensor.Float](s *Sweeps, idle *Idle[*workspace[T]], r rules[T], res *tensor.Dense[T], dxs []*tensor.Dense[T]) {
	p := s.P
	out := p.Output.ID()
	if i := s.inIdx[out]; i >= 0 || !s.varying[out] {
		if i >= 0 && dxs[i] != nil {
			copy(res.Data(), dxs[i].Data())
		} else {
			clear(res.Data())
		}
		return
	}
	w := getWS(s, idle, true)
	defer putWS(idle, w)
	tan, nz := w.tan, w.nz
	for i, in := range s.Ins {
		tan[in.ID()], nz[in.ID()] = dxs[i], dxs[i] != nil
	}
	tan[out] = res
	for _, nd := range p.Nodes {
		w.ins, w.ts = w.ins[:0], w.ts[:0]
		any := false
		for _, v := range nd.In {
			w.ins = append(w.ins, r.val(v))
			if id := v.ID(); s.varying[id] && nz[id] {
				w.ts = append(w.ts, tan[id])
				any = true
			} else {
				w.ts = append(w.ts, nil)
			}
		}
		nz[nd.Out.ID()] = any
		if any {
			r.jvp(nd, tan[nd.Out.ID()], w.ins, r.val(nd.Out), w.ts)
		}
	}
	if !nz[out] {
		clear(res.Data())
	}
	for _, in := range s.Ins {
		tan[in.ID()] = nil
	}
	tan[out] = nil
}

// VJPInto writes into each res[i] != nil the cotangent of input i,
// J_iᵀ·cy (res[i] shaped like input i; nil: not wanted). res must not
// share memory with cy, a value or a constant of the program.
func (s *Sweeps) VJPInto(res []*tensor.Tensor, cy *tensor.Tensor) {
	reverse(s, &s.idle, rules64, res, cy, false, nil)
}

// reverse runs the reverse sweep from the output's cotangent cy, adding
// seed(id) (nil: none) to each op output's cotangent before its op runs.
func reverse[T tensor.Float](s *Sweeps, idle *Idle[*workspace[T]], r rules[T], res []*tensor.Dense[T], cy *tensor.Dense[T], cyZero bool, seed func(id int) *tensor.Dense[T]) {
	p := s.P
	for _, r := range res {
		if r != nil {
			clear(r.Data()) // the inputs' cotangents accumulate
		}
	}
	out := p.Output.ID()
	if i := s.inIdx[out]; i >= 0 || !s.varying[out] {
		if i >= 0 && res[i] != nil {
			copy(res[i].Data(), cy.Data())
		}
		return
	}
	w := getWS(s, idle, false)
	defer putWS(idle, w)
	cot := w.cot
	for i, in := range s.Ins {
		cot[in.ID()] = res[i]
	}
	cot[out] = cy
	live := w.live
	clear(live)
	live[out] = !cyZero
	for j := len(p.Nodes) - 1; j >= 0; j-- {
		nd := p.Nodes[j]
		for _, id := range s.rev.zero[j] {
			clear(cot[id].Data())
		}
		if id := nd.Out.ID(); seed != nil && id != out {
			if sd := seed(id); sd != nil {
				add(cot[id].Data(), sd.Data())
				live[id] = true
			}
		}
		if !live[nd.Out.ID()] {
			continue // a zero cotangent: nothing to carry back
		}
		w.ins, w.ts = w.ins[:0], w.ts[:0]
		any := false
		for _, v := range nd.In {
			w.ins = append(w.ins, r.val(v))
			var c *tensor.Dense[T]
			if s.varying[v.ID()] {
				c = cot[v.ID()] // nil for an input not wanted
			}
			w.ts = append(w.ts, c)
			any = any || c != nil
			live[v.ID()] = live[v.ID()] || c != nil
		}
		if any {
			r.vjp(nd, w.ts, w.ins, r.val(nd.Out), cot[nd.Out.ID()])
		}
	}
	for _, in := range s.Ins {
		cot[in.ID()] = nil
	}
	cot[out] = nil
}

// add adds src into dst.
func add[T tensor.Float](dst, src []T) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// VJPSeedInto is VJPInto with cotangents injected along the way: seeds,
// indexed by value ID (nil entries, or a short slice, inject nothing), adds
// seeds[id] to the cotangent of that value, an input, an op's output or the
// output itself, whose cy may be nil. Each res[i] != nil gets the gradient
// of ⟨cy, f⟩ + Σ_v ⟨seeds[v], v⟩ with respect to input i, every value v a
// function of the inputs. Seeds on constants are ignored.
func (s *Sweeps) VJPSeedInto(res []*tensor.Tensor, cy *tensor.Tensor, seeds []*tensor.Tensor) {
	seed := func(id int) *tensor.Tensor {
		if id < len(seeds) {
			return seeds[id]
		}
		return nil
	}
	out := s.P.Output.ID()
	c := tensor.Zeros(s.P.Output.Shape()...)
	if cy != nil {
		copy(c.Data(), cy.Data())
	}
	if sd := seed(out); sd != nil {
		floats.Add(c.Data(), sd.Data())
	}
	// Without cy, the output's cotangent is zero unless seeded: the nodes
	// after the last seeded value carry nothing back and are skipped.
	reverse(s, &s.idle, rules64, res, c, cy == nil && seed(out) == nil, seed)
	for i, in := range s.Ins {
		if sd := seed(in.ID()); sd != nil && res[i] != nil && in.ID() != out {
			floats.Add(res[i].Data(), sd.Data())
		}
	}
}

// Dense returns the Jacobian with respect to input i as an m×nᵢ matrix
// (row r = output element r), from nᵢ JVPs with unit tangents (fwd) or m
// VJPs, split over the cores. The caller checks its size first.
func (s *Sweeps) Dense(i int, fwd bool) *tensor.Tensor {
	return dense(s, i, fwd, s.JVPInto, s.VJPInto)
}

func dense[T tensor.Float](s *Sweeps, i int, fwd bool, jvp func(*tensor.Dense[T], ...*tensor.Dense[T]), vjp func([]*tensor.Dense[T], *tensor.Dense[T])) *tensor.Dense[T] {
	inShape, outShape := s.Ins[i].Shape(), s.P.Output.Shape()
	n, m := s.Ins[i].Len(), s.P.Output.Len()
	J := tensor.ZerosOf[T](m, n)
	jd := J.Data()
	cols := n
	if !fwd {
		cols = m
	}
	ParallelCols(cols, func(lo, hi int) {
		var e, r *tensor.Dense[T]
		args := make([]*tensor.Dense[T], len(s.Ins))
		if fwd {
			e, r = tensor.ZerosOf[T](inShape...), tensor.ZerosOf[T](outShape...)
			args[i] = e
		} else {
			e, r = tensor.ZerosOf[T](outShape...), tensor.ZerosOf[T](inShape...)
			args[i] = r
		}
		for c := lo; c < hi; c++ {
			e.Data()[c] = 1
			if fwd {
				jvp(r, args...)
				for k, v := range r.Data() {
					jd[k*n+c] = v
				}
			} else {
				vjp(args, e)
				copy(jd[c*n:(c+1)*n], r.Data())
			}
			e.Data()[c] = 0
		}
	})
	return J
}

// ParallelCols splits [0, n) over the available cores.
func ParallelCols(n int, body func(lo, hi int)) {
	workers := max(1, min(n, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	step := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += step {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			body(lo, hi)
		}(lo, min(lo+step, n))
	}
	wg.Wait()
}

// ---- second order ----

// GradJVPInto writes into res[i], for every res[i] != nil, the gradient
// with respect to input i of ⟨c, J·dx⟩, J·dx = Σₖ Jₖ·dxs[k] (nil: a zero
// tangent): reverse mode over forward mode, with each op's second-order
// rule (tape.SecondOrder). For a scalar f and c = 1 it is the Hessian of f
// times dx. It keeps every tangent of the forward sweep and allocates its
// buffers afresh. It returns false, writing nothing, if an op on the path
// has no second-order rule, with that op.
func (s *Sweeps) GradJVPInto(res []*tensor.Tensor, c *tensor.Tensor, dxs ...*tensor.Tensor) (*tape.Node, bool) {
	p := s.P
	for _, nd := range p.Nodes {
		if _, ok := nd.Op.(tape.SecondOrder); !ok {
			return nd, false
		}
	}
	for _, r := range res {
		if r != nil {
			clear(r.Data())
		}
	}
	out := p.Output.ID()
	if !s.varying[out] || s.inIdx[out] >= 0 {
		return nil, true // f linear in its inputs: no second derivative
	}
	// Forward: every tangent, kept (nil: zero).
	tan := make([]*tensor.Tensor, p.NumVars)
	for i, in := range s.Ins {
		tan[in.ID()] = dxs[i]
	}
	var ins, ts []*tensor.Tensor
	args := func(nd *tape.Node, of []*tensor.Tensor) bool {
		ins, ts = ins[:0], ts[:0]
		any := false
		for _, v := range nd.In {
			ins = append(ins, v.Value())
			var t *tensor.Tensor
			if s.varying[v.ID()] {
				t = of[v.ID()]
			}
			ts = append(ts, t)
			any = any || t != nil
		}
		return any
	}
	for _, nd := range p.Nodes {
		if args(nd, tan) {
			t := tensor.Zeros(nd.Out.Shape()...)
			nd.Op.JVP(t, ins, nd.Out.Value(), ts)
			tan[nd.Out.ID()] = t
		}
	}
	// Reverse: ct is the cotangent of each tangent, cv of each value; cv
	// gets the second-order terms and carries them back to the inputs.
	ct := make([]*tensor.Tensor, p.NumVars)
	cv := make([]*tensor.Tensor, p.NumVars)
	ct[out] = c
	for i, in := range s.Ins {
		cv[in.ID()] = res[i] // nil: not wanted
	}
	wanted := func(id int) bool { return s.inIdx[id] < 0 || res[s.inIdx[id]] != nil }
	dst := func(nd *tape.Node, of []*tensor.Tensor, inputs bool) []*tensor.Tensor {
		d := make([]*tensor.Tensor, len(nd.In))
		for k, v := range nd.In {
			id := v.ID()
			if !s.varying[id] || (s.inIdx[id] >= 0 && !inputs) || !wanted(id) {
				continue
			}
			if of[id] == nil {
				of[id] = tensor.Zeros(v.Shape()...)
			}
			d[k] = of[id]
		}
		return d
	}
	for j := len(p.Nodes) - 1; j >= 0; j-- {
		nd := p.Nodes[j]
		id := nd.Out.ID()
		if c := ct[id]; c != nil {
			if args(nd, tan) {
				nd.Op.(tape.SecondOrder).SecondVJP(dst(nd, cv, true), ins, nd.Out.Value(), ts, c)
			}
			args(nd, tan)
			nd.Op.VJP(dst(nd, ct, false), ins, nd.Out.Value(), c)
		}
		if c := cv[id]; c != nil {
			args(nd, tan)
			nd.Op.VJP(dst(nd, cv, true), ins, nd.Out.Value(), c)
		}
		ct[id], cv[id], tan[id] = nil, nil, nil // read no more: free early
	}
	return nil, true
}
