package inverse

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/sweep"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// ldPass runs the second-order passes of one lump's colors for the log-det
// gradient (ldGrad.lump), on the whole values or, for a batch lump whose
// samples are the last axis of its values, on chunks of samples: columns
// [s0, s1) of every value with B columns, the others (weights) whole. A
// chunk of a few hundred samples keeps the values, tangents and cotangents
// of every color in cache, where whole values (64·B floats each for a
// hidden layer) would go through memory a dozen times per color.
type ldPass struct {
	g        *ldGrad
	ln       []ldNode
	rows     []sweep.LumpRow
	places   []sweep.Place
	produced map[int]bool // the values the lump's nodes compute

	// The chunk: B the samples, columns [s0, s1) of the values in sliced.
	chunked   bool
	B, s0, s1 int
	sliced    map[int]*tape.Var      // by id
	vals      map[int]*tensor.Tensor // a sliced value's chunk
	cvs       map[int]*tensor.Tensor // a sliced value's cotangent on the chunk, added into g.cv at the chunk's end
	// cvp: this worker's accumulators of the unsliced values' cotangents,
	// added to g.cv when the workers are done (nil: g.cv itself).
	cvp map[int]*tensor.Tensor
	mu  *sync.Mutex // the workers' lock on g.cv's slots

	// Tangents and their cotangents per value id, kept across colors
	// (zeroed where a color sets them); on: set in this color. dep: the
	// values whose tangent is not zero in this color; need: those whose
	// tangent a second-order rule reads, or a needed tangent's JVP (the
	// others are never computed: a linear op's output feeding linear ops
	// only, W₂·ḣ in X + W₂·tanh(W₁X)).
	tanT, ctT              map[int]*tensor.Tensor
	tanOn, ctOn, dep, need map[int]bool
	ins, ts, ds            []*tensor.Tensor
}

func newLDPass(g *ldGrad, ln []ldNode, rows []sweep.LumpRow, places []sweep.Place, produced map[int]bool) *ldPass {
	return &ldPass{g: g, ln: ln, rows: rows, places: places, produced: produced,
		tanT: map[int]*tensor.Tensor{}, ctT: map[int]*tensor.Tensor{},
		tanOn: map[int]bool{}, ctOn: map[int]bool{}, dep: map[int]bool{}, need: map[int]bool{}}
}

// chunkOf reports whether the pass runs on a chunk of v's samples.
func (p *ldPass) chunkOf(id int) bool { return p.chunked && p.sliced[id] != nil }

// value returns v's value, or its chunk.
func (p *ldPass) value(v *tape.Var) *tensor.Tensor {
	if p.chunkOf(v.ID()) {
		return p.vals[v.ID()]
	}
	return v.Value()
}

// shape returns v's shape in the pass: its last axis s1 − s0 long where
// it is sliced.
func (p *ldPass) shape(v *tape.Var) []int {
	sh := v.Shape()
	if !p.chunkOf(v.ID()) {
		return sh
	}
	c := append([]int(nil), sh...)
	c[len(c)-1] = p.s1 - p.s0
	return c
}

// take returns v's buffer in m (allocated on first use), marking it set
// in on; zero clears it if this color has not set it yet.
func (p *ldPass) take(m map[int]*tensor.Tensor, on map[int]bool, v *tape.Var, zero bool) *tensor.Tensor {
	t := m[v.ID()]
	if t == nil {
		t = tensor.Zeros(p.shape(v)...)
		m[v.ID()] = t
	} else if zero && !on[v.ID()] {
		clear(t.Data())
	}
	on[v.ID()] = true
	return t
}

func (p *ldPass) tan(id int) *tensor.Tensor {
	if p.tanOn[id] {
		return p.tanT[id]
	}
	return nil
}

// cvOf returns the accumulator of ∂ log|det J| / ∂v in the pass.
func (p *ldPass) cvOf(v *tape.Var) *tensor.Tensor {
	id := v.ID()
	if !p.chunkOf(id) && p.cvp == nil {
		if p.g.cv[id] == nil {
			p.g.cv[id] = tensor.Zeros(v.Shape()...)
		}
		return p.g.cv[id]
	}
	m := p.cvp
	if p.chunkOf(id) {
		m = p.cvs
	}
	if m[id] == nil {
		m[id] = tensor.Zeros(p.shape(v)...)
	}
	return m[id]
}

// args sets p.ins and p.ts to nd's input values and computed tangents, and
// reports whether some input's tangent is not zero.
func (p *ldPass) args(nd *tape.Node) bool {
	p.ins, p.ts = p.ins[:0], p.ts[:0]
	any := false
	for _, v := range nd.In {
		p.ins = append(p.ins, p.value(v))
		p.ts = append(p.ts, p.tan(v.ID()))
		any = any || p.dep[v.ID()]
	}
	return any
}

func (p *ldPass) depIn(nd *tape.Node) bool {
	for _, v := range nd.In {
		if p.dep[v.ID()] {
			return true
		}
	}
	return false
}

// rangeOp copies (add false) or adds (add true) elements [off, off+n) of a
// value from src (laid out as the value, at src's start) into the pass's
// buffer dst of that value: all of them, or on a chunk the columns
// [s0, s1) of the rows they span (off and n multiples of B).
func (p *ldPass) rangeOp(dst []float64, id int, off, n int, src []float64, add bool) {
	if !p.chunkOf(id) {
		d := dst[off : off+n]
		if !add {
			copy(d, src[:n])
			return
		}
		for j, v := range src[:n] {
			d[j] += v
		}
		return
	}
	w, r0 := p.s1-p.s0, off/p.B
	for r := range n / p.B {
		d := dst[(r0+r)*w : (r0+r+1)*w]
		s := src[r*p.B+p.s0 : r*p.B+p.s1]
		if !add {
			copy(d, s)
			continue
		}
		for j, v := range s {
			d[j] += v
		}
	}
}

// mask zeroes t outside e's internal ranges.
func (p *ldPass) mask(e *ldNode, t *tensor.Tensor) {
	d := t.Data()
	if !p.chunked {
		for _, r := range e.zero {
			clear(d[r[0]:r[1]])
		}
		return
	}
	w := p.s1 - p.s0
	for _, r := range e.zero { // whole rows (chunkable checked it)
		clear(d[r[0]/p.B*w : r[1]/p.B*w])
	}
}

// color runs the pass of one color: s its seed on the killed atoms, w =
// M⁻ᵀ·(ω⊙s): the tangents of s forward through the lump's ops, then the
// cotangent w on the created rows back through them, each op adding its
// second-order term to the values it reads.
func (p *ldPass) color(s, w *tensor.Tensor) {
	g := p.g
	clear(p.tanOn)
	clear(p.ctOn)
	clear(p.dep)
	clear(p.need)
	for _, pl := range p.places {
		t := p.take(p.tanT, p.tanOn, g.varOf(pl.Var), true)
		p.rangeOp(t.Data(), pl.Var, pl.Off, pl.N, s.Data()[pl.Pos:], false)
		p.dep[pl.Var] = true
	}
	ln := p.ln
	for k := range ln {
		e := &ln[k]
		if nd := g.prog.Nodes[e.node]; p.depIn(nd) && (e.relabel || len(e.internal) > 0) {
			p.dep[nd.Out.ID()] = true // a created value's tangent is no unknown's
		}
	}
	for k := len(ln) - 1; k >= 0; k-- {
		e := &ln[k]
		nd := g.prog.Nodes[e.node]
		if (!e.relabel && !e.linear) || p.need[nd.Out.ID()] {
			for _, v := range nd.In {
				p.need[v.ID()] = p.need[v.ID()] || p.dep[v.ID()]
			}
		}
	}
	for k := range ln {
		e := &ln[k]
		nd := g.prog.Nodes[e.node]
		if !p.need[nd.Out.ID()] || !p.dep[nd.Out.ID()] {
			continue
		}
		p.args(nd)
		t := p.take(p.tanT, p.tanOn, nd.Out, false) // the JVP writes every element
		nd.Op.JVP(t, p.ins, p.value(nd.Out), p.ts)
		p.mask(e, t)
	}
	for k := len(ln) - 1; k >= 0; k-- {
		e := &ln[k]
		nd := g.prog.Nodes[e.node]
		var c *tensor.Tensor
		if p.ctOn[nd.Out.ID()] {
			c = p.ctT[nd.Out.ID()]
			p.mask(e, c)
		}
		for _, r := range e.created {
			row := p.rows[r]
			if c == nil {
				c = p.take(p.ctT, p.ctOn, nd.Out, true)
			}
			p.rangeOp(c.Data(), nd.Out.ID(), row.Off, row.N, w.Data()[row.Row:], true)
		}
		if c == nil || !p.args(nd) {
			continue
		}
		out := p.value(nd.Out)
		if !e.relabel && !e.linear {
			p.ds = p.ds[:0]
			for _, v := range nd.In {
				p.ds = append(p.ds, p.cvOf(v))
			}
			nd.Op.(tape.SecondOrder).SecondVJP(p.ds, p.ins, out, p.ts, c)
		}
		p.ds = p.ds[:0]
		any := false
		for _, v := range nd.In {
			var d *tensor.Tensor
			if p.dep[v.ID()] && p.produced[v.ID()] {
				d = p.take(p.ctT, p.ctOn, v, true)
				any = true
			}
			p.ds = append(p.ds, d)
		}
		if any {
			nd.Op.VJP(p.ds, p.ins, out, c)
		}
	}
}

// chunkedLumps counts the lump passes run on chunks (for the tests).
var chunkedLumps atomic.Int64

// ldChunkCols, when positive, is the chunk width of every chunked pass
// (the tests' small chunks); else chunkCols chooses.
var ldChunkCols = 0

// chunkable reports whether the pass of lump li can run on chunks of
// samples, and returns the chunk's width, setting p.B (the samples) and
// p.sliced (the values whose last axis holds them). It can for a batch
// lump whose blocks are the B columns of its values (its killed atoms,
// created rows and masked ranges whole rows of B), every op of it taking
// the chunk's shapes to the chunk's (Shape), and B large enough for
// chunks to pay (four of them at least); else the pass runs on whole
// values.
func (p *ldPass) chunkable(li int) (cols int, ok bool) {
	g := p.g
	lp := &g.an.Lumps[li]
	if lp.Kind.Form() != lump.BatchBlocks || len(p.places) == 0 {
		return 0, false
	}
	pv := g.varOf(p.places[0].Var)
	sh := pv.Shape()
	if len(sh) == 0 {
		return 0, false
	}
	B := sh[len(sh)-1]
	if B <= 0 || len(lp.Killed) == 0 || pv.Len()%B != 0 {
		return 0, false
	}
	// Rows of B: the killed atoms (their positions j·B + b: block b),
	// the created rows, the internal and masked ranges.
	whole := func(off, n int) bool { return off%B == 0 && n%B == 0 }
	for _, pl := range p.places {
		s := g.varOf(pl.Var).Shape()
		if len(s) == 0 || !whole(pl.Off, pl.N) || pl.Pos%B != 0 || s[len(s)-1] != B {
			return 0, false
		}
	}
	for _, r := range p.rows {
		if !whole(r.Off, r.N) || r.Row%B != 0 {
			return 0, false
		}
	}
	// The number of blocks is B: the solution holds k killed atoms of B.
	n := 0
	for _, pl := range p.places {
		n += pl.N
	}
	if n != len(lp.Killed)*B {
		return 0, false
	}
	sliced := map[int]*tape.Var{}
	lastB := func(v *tape.Var) bool {
		s := v.Shape()
		return len(s) > 0 && s[len(s)-1] == B
	}
	maxRows := 1
	for k := range p.ln {
		e := &p.ln[k]
		nd := g.prog.Nodes[e.node]
		if !lastB(nd.Out) {
			return 0, false
		}
		for _, r := range e.zero {
			if !whole(r[0], r[1]-r[0]) {
				return 0, false
			}
		}
		sliced[nd.Out.ID()] = nd.Out
		maxRows = max(maxRows, nd.Out.Len()/B)
		for _, v := range nd.In {
			if lastB(v) {
				sliced[v.ID()] = v
				maxRows = max(maxRows, v.Len()/B)
			}
		}
	}
	cols = ldChunkCols
	if cols <= 0 {
		// Each chunk value under cpu.Grain elements: the ops run it in
		// one goroutine, the chunks go to the cores.
		cols = max(16, (cpu.Grain-1)/maxRows)
		if B < 4*cols {
			return 0, false
		}
	}
	if cols >= B {
		return 0, false
	}
	// Every op must take the chunk's shapes to the chunk's.
	chunk := func(v *tape.Var) []int {
		s := append([]int(nil), v.Shape()...)
		if sliced[v.ID()] != nil {
			s[len(s)-1] = cols
		}
		return s
	}
	for k := range p.ln {
		nd := g.prog.Nodes[p.ln[k].node]
		in := make([][]int, len(nd.In))
		for j, v := range nd.In {
			in[j] = chunk(v)
		}
		if !shapeIs(nd.Op, in, chunk(nd.Out)) {
			return 0, false
		}
	}
	p.B, p.sliced = B, sliced
	return cols, true
}

// shapeIs reports whether op takes the shapes in to want (false if Shape
// panics).
func shapeIs(op tape.Op, in [][]int, want []int) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return tensor.SameShape(op.Shape(in), want)
}

// runChunked runs the colors (seeds[j], sols[j]) on the chunks of cols
// samples, the chunks spread over the cores, each worker with its own
// buffers; the sliced values' cotangents go to g.cv chunk by chunk
// (disjoint columns; the first chunk that writes one allocates it), the
// others through each worker's accumulators. An op's panic in a worker
// stops the others and is raised again on the caller's goroutine.
func (p *ldPass) runChunked(cols int, seeds, sols []*tensor.Tensor) {
	g := p.g
	B := p.B
	chunkedLumps.Add(1)
	nchunks := (B + cols - 1) / cols
	workers := min(runtime.GOMAXPROCS(0), nchunks)
	var next atomic.Int64
	var wg sync.WaitGroup
	ws := make([]*ldPass, workers)
	var (
		mu    sync.Mutex // g.cv's slots, and the first panic
		first any
		stop  atomic.Bool
	)
	for wi := range workers {
		q := newLDPass(g, p.ln, p.rows, p.places, p.produced)
		q.chunked, q.B, q.sliced, q.mu = true, B, p.sliced, &mu
		q.vals, q.cvs = map[int]*tensor.Tensor{}, map[int]*tensor.Tensor{}
		if workers > 1 {
			q.cvp = map[int]*tensor.Tensor{}
		}
		ws[wi] = q
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					if first == nil {
						first = r
					}
					mu.Unlock()
					stop.Store(true)
				}
			}()
			for {
				c := int(next.Add(1)) - 1
				if c >= nchunks || stop.Load() {
					return
				}
				q.runChunk(c*cols, min((c+1)*cols, B), seeds, sols)
			}
		}()
	}
	wg.Wait()
	if first != nil {
		panic(first) // an op's panic, on the caller's goroutine
	}
	for _, q := range ws {
		for id, t := range q.cvp {
			if g.cv[id] == nil {
				g.cv[id] = t
			} else {
				vaxpy(g.cv[id].Data(), 1, t.Data())
			}
		}
	}
}

// runChunk runs every color on samples [s0, s1): the sliced values'
// columns gathered, the colors' passes, the sliced cotangents added into
// g.cv's columns.
func (p *ldPass) runChunk(s0, s1 int, seeds, sols []*tensor.Tensor) {
	g := p.g
	if s1-s0 != p.s1-p.s0 { // another width (the last chunk): new buffers
		clear(p.vals)
		clear(p.cvs)
		clear(p.tanT)
		clear(p.ctT)
	}
	p.s0, p.s1 = s0, s1
	w := s1 - s0
	for id, v := range p.sliced {
		t := p.vals[id]
		if t == nil {
			t = tensor.Zeros(p.shape(v)...)
			p.vals[id] = t
		}
		p.rangeOp(t.Data(), id, 0, v.Len(), v.Value().Data(), false)
	}
	for _, t := range p.cvs {
		clear(t.Data())
	}
	for j := range seeds {
		p.color(seeds[j], sols[j])
	}
	for id, t := range p.cvs {
		if zero(t) {
			continue // no rule wrote it (a bilinear op's operand)
		}
		p.mu.Lock()
		if g.cv[id] == nil { // the first chunk to write it allocates it
			g.cv[id] = tensor.Zeros(p.sliced[id].Shape()...)
		}
		d, s := g.cv[id].Data(), t.Data()
		p.mu.Unlock()
		for r := range len(s) / w {
			dr, sr := d[r*p.B+s0:r*p.B+s1], s[r*w:(r+1)*w]
			for j, v := range sr {
				dr[j] += v
			}
		}
	}
}
