package sparse

import "slices"

// RCM returns a reverse Cuthill–McKee ordering of the n×n pattern p: a
// permutation that gathers the nonzeros of B = P A Pᵀ near the diagonal,
// for FactorBandPermuted. perm[i] is the original index placed at position
// i, so B(i, j) = A(perm[i], perm[j]).
//
// The ordering is computed on the symmetric structure of A + Aᵀ (diagonal
// entries and the values play no part); the degree of a node is its number
// of neighbours there. Each connected component is numbered by a
// breadth-first search that visits the unnumbered neighbours of each node
// by increasing degree (ties by the smaller index), and the numbering of
// the component is then reversed. The search starts from a
// pseudo-peripheral node found by George and Liu's algorithm, as in
// SPARSPAK's FNROOT: from a node r, build the level structure, move to the
// node of least degree in its last level, and repeat while the number of
// levels grows. That algorithm starts from the component's node of least
// degree (ties by index), and the components are taken in the order of
// those nodes, so a path is searched from one of its ends at once. The
// result is deterministic.
//
// RCM reduces the bandwidth heuristically, without a guarantee of the
// minimum: it gives 1 for a tridiagonal pattern in any order, 2 for a
// cyclic tridiagonal (circulant) one, and m for the 5-point stencil on an
// m×m grid, as its natural order (see PermutedBandwidth).
//
// It runs in O(n + nnz·log d) time, d the largest degree, and allocates
// O(n + nnz) memory: about 8·(3·nnz + 4·n) bytes at its peak, while the
// graph of A + Aᵀ is built.
//
// RCM panics if p is nil or malformed.
func RCM(p *Pattern) []int {
	checkPattern(p)
	n := p.N
	ptr, adj := symmetricAdjacency(p)
	deg := func(v int) int { return ptr[v+1] - ptr[v] }
	byDegree := func(a, b int) int {
		if c := deg(a) - deg(b); c != 0 {
			return c
		}
		return a - b
	}

	// The start candidates by increasing degree, ties by index: a
	// counting sort.
	maxDeg := 0
	for v := 0; v < n; v++ {
		maxDeg = max(maxDeg, deg(v))
	}
	count := make([]int, maxDeg+2)
	for v := 0; v < n; v++ {
		count[deg(v)+1]++
	}
	for d := 0; d <= maxDeg; d++ {
		count[d+1] += count[d]
	}
	starts := make([]int, n)
	for v := 0; v < n; v++ {
		starts[count[deg(v)]] = v
		count[deg(v)]++
	}

	perm := make([]int, n)
	// mark[v] is the stamp of the last search that reached v, 0 for none.
	// A search stays inside one component, and a component is numbered
	// before the next start is looked at, so a nonzero mark at a start
	// means numbered.
	mark := make([]int, n)
	stamp := 0

	// search runs the Cuthill–McKee search from root into q, which must
	// have room for the component: q[:size] is the component in search
	// order, q[last:size] its last level, and depth its number of levels.
	search := func(q []int, root int) (depth, last, size int) {
		stamp++
		q[0] = root
		mark[root] = stamp
		head, tail := 0, 1
		for head < tail {
			depth++
			last = head
			for end := tail; head < end; head++ {
				v := q[head]
				t0 := tail
				for _, w := range adj[ptr[v]:ptr[v+1]] {
					if mark[w] != stamp {
						mark[w] = stamp
						q[tail] = w
						tail++
					}
				}
				sortByDegree(q[t0:tail], byDegree)
			}
		}
		return depth, last, tail
	}

	numbered := 0 // perm[:numbered] is final
	for _, s := range starts {
		if mark[s] != 0 {
			continue
		}
		// The unnumbered tail of perm is the search queue: the component
		// takes exactly perm[numbered:numbered+size].
		q := perm[numbered:]

		// George–Liu. Every search is the Cuthill–McKee one, so q holds
		// the final root's numbering when the loop ends.
		depth, last, size := search(q, s)
		for depth < size { // depth == size: a path seen from one end
			x := q[last]
			for _, v := range q[last+1 : size] {
				if byDegree(v, x) < 0 {
					x = v
				}
			}
			d, l, _ := search(q, x)
			if d <= depth {
				break
			}
			depth, last = d, l
		}
		slices.Reverse(q[:size])
		numbered += size
	}
	return perm
}

// sortByDegree sorts the few neighbours of one node: insertion sort for a
// short run, as from a stencil, and slices.SortFunc for a long one.
func sortByDegree(s []int, cmp func(a, b int) int) {
	if len(s) > 16 { // insertion sort's O(k²) overtakes O(k log k) near here
		slices.SortFunc(s, cmp)
		return
	}
	for i := 1; i < len(s); i++ {
		v := s[i]
		j := i
		for ; j > 0 && cmp(s[j-1], v) > 0; j-- {
			s[j] = s[j-1]
		}
		s[j] = v
	}
}

// symmetricAdjacency returns the adjacency of the graph of A + Aᵀ without
// self-loops or repeats: the neighbours of v are adj[ptr[v]:ptr[v+1]], in
// increasing order. adj has room for 2·nnz entries (its length is exact).
func symmetricAdjacency(p *Pattern) (ptr, adj []int) {
	n, nnz := p.N, p.NNZ()
	rowPtr, cols := p.RowPtr, p.Col

	// The transpose: rows of column j are rowIdx[colPtr[j]:colPtr[j+1]].
	colPtr, rowIdx := p.transpose()

	// Merge row v of A with row v of Aᵀ (column v of A), both sorted,
	// dropping v itself and repeats.
	ptr = make([]int, n+1)
	adj = make([]int, 0, 2*nnz)
	for v := 0; v < n; v++ {
		a, b := cols[rowPtr[v]:rowPtr[v+1]], rowIdx[colPtr[v]:colPtr[v+1]]
		for len(a) > 0 || len(b) > 0 {
			var w int
			switch {
			case len(b) == 0 || len(a) > 0 && a[0] < b[0]:
				w, a = a[0], a[1:]
			case len(a) == 0 || b[0] < a[0]:
				w, b = b[0], b[1:]
			default: // equal
				w, a, b = a[0], a[1:], b[1:]
			}
			if w != v {
				adj = append(adj, w)
			}
		}
		ptr[v+1] = len(adj)
	}
	return ptr, adj
}

// PermutedBandwidth returns the lower and upper bandwidths of B = P A Pᵀ,
// B(i, j) = A(perm[i], perm[j]), where A has the pattern p: kl is the
// largest i−j and ku the largest j−i over B's nonzeros, 0 when there is
// none on that side. A nil perm is the natural order and gives
// p.Bandwidth(). It is O(n + nnz) time and allocates n ints.
//
// PermutedBandwidth panics if p is nil or malformed, or perm is not nil and
// not a permutation of 0..n−1.
func PermutedBandwidth(p *Pattern, perm []int) (kl, ku int) {
	checkPattern(p)
	if perm == nil {
		return p.Bandwidth()
	}
	pos := inversePerm(perm, p.N)
	for a := 0; a < p.N; a++ {
		i := pos[a]
		for _, c := range p.Col[p.RowPtr[a]:p.RowPtr[a+1]] {
			d := i - pos[c]
			kl = max(kl, d)
			ku = max(ku, -d)
		}
	}
	return kl, ku
}

// inversePerm returns pos with pos[perm[i]] = i, panicking unless perm is a
// permutation of 0..n−1.
func inversePerm(perm []int, n int) []int {
	if len(perm) != n {
		panic("sparse: permutation of the wrong length")
	}
	pos := make([]int, n)
	for i := range pos {
		pos[i] = -1
	}
	for i, v := range perm {
		if uint(v) >= uint(n) || pos[v] >= 0 {
			panic("sparse: not a permutation")
		}
		pos[v] = i
	}
	return pos
}
