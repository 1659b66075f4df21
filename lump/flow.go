package lump

import (
	"slices"

	"github.com/invad/invad/internal/graph"
	"github.com/invad/invad/tape"
)

// ---- maximum flow: equations ← source, unknowns → sink ----

// dinic is a flow network in compressed form: node u's edges are
// [start[u], start[u+1]), edge i goes to to[i] with residual capacity
// cap[i], and rev[i] is its reverse edge.
type dinic struct {
	start, to, rev []int
	cap            []int64
	level, it, q   []int
	tick           func() // called once per augmenting path
}

// edges collects a network's edges before it is laid out.
type edges struct {
	n    int
	u, v []int
	c    []int64
}

// add adds the edge u → v of capacity c and returns its number.
func (es *edges) add(u, v int, c int64) int {
	es.u, es.v, es.c = append(es.u, u), append(es.v, v), append(es.c, c)
	return len(es.u) - 1
}

// build lays the edges out; pos[i] is edge i's place in the network.
func (es *edges) build(tick func()) (d *dinic, pos []int) {
	m := len(es.u)
	d = &dinic{start: make([]int, es.n+1), to: make([]int, 2*m), rev: make([]int, 2*m), cap: make([]int64, 2*m), tick: tick}
	for i := range m {
		d.start[es.u[i]+1]++
		d.start[es.v[i]+1]++
	}
	for u := range es.n {
		d.start[u+1] += d.start[u]
	}
	next := slices.Clone(d.start[:es.n])
	pos = make([]int, m)
	for i := range m {
		f, r := next[es.u[i]], next[es.v[i]]
		next[es.u[i]]++
		next[es.v[i]]++
		d.to[f], d.rev[f], d.cap[f] = es.v[i], r, es.c[i]
		d.to[r], d.rev[r] = es.u[i], f
		pos[i] = f
	}
	d.level, d.it = make([]int, es.n), make([]int, es.n)
	return d, pos
}

// flow returns the flow through the edge at pos (its reverse's capacity).
func (d *dinic) flow(pos int) int64 { return d.cap[d.rev[pos]] }

func (d *dinic) bfs(s, t int) bool {
	for i := range d.level {
		d.level[i] = -1
	}
	d.level[s] = 0
	q := append(d.q[:0], s)
	for h := 0; h < len(q); h++ {
		u := q[h]
		for e := d.start[u]; e < d.start[u+1]; e++ {
			if v := d.to[e]; d.cap[e] > 0 && d.level[v] < 0 {
				d.level[v] = d.level[u] + 1
				q = append(q, v)
			}
		}
	}
	d.q = q
	return d.level[t] >= 0
}

func (d *dinic) dfs(u, t int, f int64) int64 {
	if u == t {
		return f
	}
	for ; d.it[u] < d.start[u+1]; d.it[u]++ {
		e := d.it[u]
		if v := d.to[e]; d.cap[e] > 0 && d.level[v] == d.level[u]+1 {
			if got := d.dfs(v, t, min(f, d.cap[e])); got > 0 {
				d.cap[e] -= got
				d.cap[d.rev[e]] += got
				return got
			}
		}
	}
	return 0
}

func (d *dinic) maxflow(s, t int) int64 {
	var total int64
	for d.bfs(s, t) {
		copy(d.it, d.start)
		for {
			d.tick()
			f := d.dfs(s, t, 1<<62)
			if f == 0 {
				break
			}
			total += f
		}
	}
	return total
}

// reach marks the nodes reachable from s in the residual graph.
func (d *dinic) reach(s int) []bool {
	seen := make([]bool, len(d.level))
	seen[s] = true
	q := []int{s}
	for h := 0; h < len(q); h++ {
		u := q[h]
		for e := d.start[u]; e < d.start[u+1]; e++ {
			if v := d.to[e]; d.cap[e] > 0 && !seen[v] {
				seen[v] = true
				q = append(q, v)
			}
		}
	}
	return seen
}

// match runs a maximum flow from the equations (capacity: their sizes) to
// the unknown atoms (capacity: their sizes) over the touch edges. It returns
// flow[e][t] > 0 where equation e pivots (partly) on its t-th touch. A flow
// below the total size means the system is structurally singular.
func (a *Analysis) match() ([][]int64, error) {
	ne := len(a.Eqs)
	src, sink := ne+len(a.Atoms), ne+len(a.Atoms)+1
	m := ne + len(a.Atoms)
	for _, eq := range a.Eqs {
		m += len(eq.Touch)
	}
	es := &edges{n: ne + len(a.Atoms) + 2, u: make([]int, 0, m), v: make([]int, 0, m), c: make([]int64, 0, m)}
	refs := make([]int, 0, m-ne-len(a.Atoms))
	var total int64
	for e, eq := range a.Eqs {
		es.add(src, e, int64(eq.Len))
		total += int64(eq.Len)
		for _, t := range eq.Touch {
			c := int64(t.N) // a Partial edge's overlap bounds its flow
			if t.Kind == DenseEdge {
				c = int64(a.n) + int64(eq.Len) // no bound but the ends'
			}
			refs = append(refs, es.add(e, ne+t.Atom, c))
		}
	}
	for k, at := range a.Atoms {
		if a.isUnknown(k) {
			es.add(ne+k, sink, int64(at.Len))
		}
	}
	d, pos := es.build(a.tick)
	if got := d.maxflow(src, sink); got < total {
		return nil, a.singular(d, total-got, ne)
	}
	flow := make([][]int64, ne)
	all := make([]int64, len(refs))
	for i, r := range refs {
		all[i] = d.flow(pos[r])
	}
	for e := range a.Eqs {
		flow[e], all = all[:len(a.Eqs[e].Touch):len(a.Eqs[e].Touch)], all[len(a.Eqs[e].Touch):]
	}
	return flow, nil
}

// singular builds the error from a minimum cut: equations the source cannot
// reach, and unknowns it can, are where the width drops.
func (a *Analysis) singular(d *dinic, deficiency int64, ne int) error {
	seen := d.reach(ne + len(a.Atoms))
	p := a.Prog
	sites := map[int]*Site{}
	var order []int
	mark := func(v *tape.Var, off, n int) {
		s := sites[v.ID()]
		if s == nil {
			s = &Site{Var: v.ID(), Op: "input", Pos: -1, Len: v.Len()}
			if nd := v.Node(); nd != nil {
				s.Op, s.Pos = nd.Op.Name(), nd.Pos
			}
			sites[v.ID()] = s
			order = append(order, v.ID())
		}
		for i := off; i < off+n; i++ {
			s.Index = append(s.Index, i)
		}
	}
	vars := map[int]*tape.Var{p.Input.ID(): p.Input, p.Output.ID(): p.Output}
	for _, nd := range p.Nodes {
		vars[nd.Out.ID()] = nd.Out
	}
	// König: the unreachable equations and the reachable unknowns cover
	// every edge. By value, x counts by its unknown, y by its equation, and
	// an op's value in between only where both its equation and its unknown
	// are in the cover: that is where the width drops.
	for e, eq := range a.Eqs {
		if seen[e] {
			continue
		}
		switch {
		case eq.Self >= 0 && seen[ne+eq.Self]:
			mark(eq.Node.Out, eq.Off, eq.Len)
		case eq.Out && eq.Node != nil:
			mark(eq.Node.Out, eq.Off, eq.Len)
		case eq.Out:
			mark(p.Output, eq.Off, eq.Len)
		}
	}
	for _, k := range a.atomsOf[p.Input.ID()] {
		if seen[ne+k] {
			at := a.Atoms[k]
			mark(vars[at.Var], at.Off, at.Len)
		}
	}
	err := &StructurallySingularError{N: a.n, Deficiency: int(deficiency)}
	for _, id := range order {
		s := sites[id]
		slices.Sort(s.Index)
		s.Index = slices.Compact(s.Index)
		err.Cut = append(err.Cut, *s)
	}
	return err
}

// ---- blocks: strongly connected components of the matched graph ----

// blocks finds the lumps: equation e → atom u for every touch, atom u →
// equation e where e pivots on u. Tarjan's algorithm (graph.SCC) returns the
// components in reverse topological order, which is the order IJVP solves
// them in (a lump's equations only touch unknowns of lumps listed before it).
func (a *Analysis) blocks(flow [][]int64) {
	ne := len(a.Eqs)
	nv := ne + len(a.Atoms)
	deg := make([]int, nv)
	for e, eq := range a.Eqs {
		deg[e] += len(eq.Touch)
		for t, tc := range eq.Touch {
			if flow[e][t] > 0 {
				deg[ne+tc.Atom]++
			}
		}
	}
	adj := make([][]int, nv)
	back := make([]int, sum(deg))
	for v, n := range deg {
		adj[v], back = back[:0:n], back[n:]
	}
	for e, eq := range a.Eqs {
		for t, tc := range eq.Touch {
			adj[e] = append(adj[e], ne+tc.Atom)
			if flow[e][t] > 0 {
				adj[ne+tc.Atom] = append(adj[ne+tc.Atom], e)
			}
		}
	}
	a.LumpOf = make([]int, len(a.Atoms))
	for i := range a.LumpOf {
		a.LumpOf[i] = -1
	}
	for _, comp := range graph.SCC(adj) {
		a.tick()
		var l Lump
		for _, w := range comp {
			if w < ne {
				l.Eqs = append(l.Eqs, w)
			} else if a.isUnknown(w - ne) {
				l.Unknowns = append(l.Unknowns, w-ne)
			}
		}
		if len(l.Eqs) == 0 {
			continue // an atom of y no equation pivots on: not an unknown
		}
		slices.Sort(l.Eqs)
		slices.Sort(l.Unknowns)
		for _, u := range l.Unknowns {
			a.LumpOf[u] = len(a.Lumps)
		}
		a.Lumps = append(a.Lumps, l)
	}
}

// split sorts a lump's unknowns into killed and internal ones and its
// equations into created and internal ones.
func (a *Analysis) split(l *Lump) {
	internal := map[int]bool{}
	for _, e := range l.Eqs {
		if s := a.Eqs[e].Self; s >= 0 && sortedHas(l.Unknowns, s) {
			internal[s] = true
			l.Internal = append(l.Internal, e)
		} else {
			l.Created = append(l.Created, e)
		}
	}
	for _, u := range l.Unknowns {
		if !internal[u] {
			l.Killed = append(l.Killed, u)
			l.Width += a.Atoms[u].Len
		}
	}
	slices.SortStableFunc(l.Internal, func(x, y int) int {
		ex, ey := a.Eqs[x], a.Eqs[y]
		if ex.Node.Pos != ey.Node.Pos {
			return ex.Node.Pos - ey.Node.Pos
		}
		return ex.Off - ey.Off
	})
}

// classify decides how a lump is factorized.
func (a *Analysis) classify(l *Lump) {
	a.split(l)
	if len(l.Killed) == 0 {
		l.Kind = Expansion
		return
	}
	if len(l.Eqs) == 1 && len(a.Eqs[l.Eqs[0]].Touch) == 1 && a.Eqs[l.Eqs[0]].Touch[0].Kind == Pin {
		l.Kind = Copy
		return
	}
	if a.isStep(l) {
		l.Kind = Step
		return
	}
	in := map[int]bool{}
	for _, u := range l.Unknowns {
		in[u] = true
	}
	m := a.Atoms[l.Unknowns[0]].Len
	batch := len(l.Created) == len(l.Killed)
	partial := false
	for _, e := range l.Eqs {
		eq := a.Eqs[e]
		batch = batch && eq.Len == m
		for _, t := range eq.Touch {
			if in[t.Atom] && (t.Kind == DenseEdge || t.Kind == Partial || a.Atoms[t.Atom].Len != m) {
				batch = false
			}
			partial = partial || (in[t.Atom] && t.Kind == Partial)
		}
	}
	if batch {
		l.Kind, l.K, l.M = Batch, len(l.Killed), m
		return
	}
	if l.Width >= sparseMinWidth && partial {
		if sb, ok := a.sparseBlock(l, in); ok {
			l.Kind, l.Sparse = Sparse, sb
			return
		}
	}
	l.Kind = DenseLump
}

// isStep: every equation of the lump belongs to one op and covers its whole
// output, and the unknowns are exactly the atoms of one input p of the
// output's size, read by no other input of the op.
func (a *Analysis) isStep(l *Lump) bool {
	nd := a.Eqs[l.Eqs[0]].Node
	if nd == nil {
		return false
	}
	rows := 0
	for _, e := range l.Eqs {
		if a.Eqs[e].Node != nd {
			return false
		}
		rows += a.Eqs[e].Len
	}
	if rows != nd.Out.Len() {
		return false
	}
	for p, in := range nd.In {
		if in.IsConst() || in.Len() != nd.Out.Len() {
			continue
		}
		segs := a.segs[in.ID()]
		atoms := a.segAtoms(segs)
		if len(atoms) != len(l.Unknowns) {
			continue
		}
		ok := true
		for _, s := range segs {
			ok = ok && s.Var >= 0
		}
		sorted := slices.Clone(atoms)
		slices.Sort(sorted)
		ok = ok && slices.Equal(sorted, l.Unknowns) && len(slices.Compact(sorted)) == len(atoms)
		for q, other := range nd.In {
			if q == p || other.IsConst() || !ok {
				continue
			}
			for _, u := range a.segAtoms(a.segs[other.ID()]) {
				if sortedHas(l.Unknowns, u) {
					ok = false
				}
			}
		}
		if ok {
			l.Node, l.Input = nd, p
			return true
		}
	}
	return false
}

// sortedHas reports whether the ascending list xs holds x.
func sortedHas(xs []int, x int) bool {
	_, ok := slices.BinarySearch(xs, x)
	return ok
}

func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}
