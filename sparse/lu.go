package sparse

import (
	"fmt"
	"github.com/invad/invad/internal/logprod"
	"math"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// pivotThreshold is the threshold u of the partial pivoting in FactorSparse:
// a candidate pivot is acceptable when its magnitude is at least u times
// the largest magnitude in its column, as in UMFPACK and SuperLU (0.1 there
// too). The diagonal is taken whenever it is acceptable.
const pivotThreshold = 0.1

// luPanel is the number of columns of a front that FactorSparse factorizes
// at a time before it updates the rest of the front with one matrix
// product.
const luPanel = 48

// SparseAnalysis is the symbolic analysis of a sparse LU factorization:
// the ordering, the elimination tree of the symmetric structure of
// B + Bᵀ, B = P A Pᵀ, its supernodes and the structure of each, and from
// them the exact size of the factor when no pivot is delayed (see
// Factor). It depends on the pattern only, so one analysis serves every
// matrix with that pattern; it keeps a reference to the pattern, which
// must not change. Its methods may be called concurrently.
type SparseAnalysis struct {
	p        *Pattern
	perm     []int // postordered: B(i, j) = A(perm[i], perm[j])
	ordering string

	// Supernode s holds the columns super[s] ≤ j < super[s+1] of B; its
	// parent in the supernodal elimination tree is sparent[s] (−1 for a
	// root), its children are chead[s], cnext[chead[s]], … (−1 ends the
	// list), and the rows below its diagonal block are
	// sidx[sptr[s]:sptr[s+1]], increasing.
	super, sparent, chead, cnext, sptr []int
	sidx                               []int32

	// The schedule: subtrees rooted at units[u] (with the supernodes
	// first[units[u]]..units[u]) are factorized by worker unitWorker[u];
	// the supernodes of no subtree, top (increasing), come after, on one
	// goroutine. With one worker, top is every supernode and units is
	// empty. segNNZ[w] and segIdx[w] are the values and indices that
	// worker w (w = workers: the top) stores when no pivot is delayed.
	units, unitWorker, top []int
	isUnit                 []bool
	segOf                  []int // the worker (or workers, for top) of each supernode
	workers                int
	segNNZ, segIdx         []int64

	nnzLU            int64
	maxFront         int
	bytes, peakBytes int64
}

// AnalyzeSparse runs the symbolic analysis of the LU factorization of the
// n×n matrices with pattern p in the order perm (perm[i] is the original
// index at position i, as from NestedDissection); a nil perm means
// NestedDissection(p). It does not allocate the factor: its Bytes and
// PeakBytes say how much Factor would, so that a caller can refuse a block
// over a memory budget first.
//
// The analysis works on the symmetric structure of B + Bᵀ, B = P A Pᵀ:
// Liu's elimination tree, a postorder (which changes perm without
// changing the fill), Gilbert, Ng and Peyton's column counts, the
// fundamental supernodes and the row structure of each. Its cost is
// O(nnz·α(n)) for the tree and the counts and O(Σ|struct|) for the
// structures, far below the factorization. It also splits the tree into
// subtrees for runtime.GOMAXPROCS(0) goroutines (see Factor).
//
// AnalyzeSparse panics if p is nil or malformed, n or nnz is 2³¹ or more
// (indices are stored as int32), or perm is
// neither nil nor a permutation of 0..n−1.
func AnalyzeSparse(p *Pattern, perm []int) *SparseAnalysis {
	return analyze(p, perm, runtime.GOMAXPROCS(0))
}

// SparseLUBytes returns AnalyzeSparse(p, perm).Bytes(): the bytes that
// FactorSparse(p, vals, perm) keeps in its factor when no pivot is
// delayed. It panics as AnalyzeSparse does.
func SparseLUBytes(p *Pattern, perm []int) int64 {
	return AnalyzeSparse(p, perm).Bytes()
}

// analyze is AnalyzeSparse for a given number of workers.
func analyze(p *Pattern, perm []int, workers int) *SparseAnalysis {
	checkPattern(p)
	n := p.N
	if n > math.MaxInt32 || p.NNZ() > math.MaxInt32 {
		panic("sparse: sparse LU of 2³¹ or more unknowns or nonzeros")
	}
	a := &SparseAnalysis{p: p, ordering: "given order"}
	if perm == nil {
		perm = NestedDissection(p)
		a.ordering = "nested dissection"
	} else {
		inversePerm(perm, n) // panics unless perm is a permutation
	}
	ptr, adj := symmetricAdjacency(p)
	bptr, badj := permutedGraph(ptr, adj, perm, nil, nil)
	parent := etree(bptr, badj)

	// Postorder the tree and renumber B by it: the fill is the same, the
	// descendants of a node come right before it, and the columns of a
	// supernode are consecutive.
	post := postorder(parent)
	a.perm = make([]int, n)
	newPos := make([]int, n)
	for k, v := range post {
		a.perm[k] = perm[v]
		newPos[v] = k
	}
	for k, v := range post {
		if pv := parent[v]; pv >= 0 {
			post[k] = newPos[pv] // post becomes the parent array
		} else {
			post[k] = -1
		}
	}
	parent = post
	bptr, badj = permutedGraph(ptr, adj, a.perm, bptr, badj)
	count := colCounts(bptr, badj, parent)

	a.supernodes(parent, count)
	a.structures(bptr, badj)
	a.schedule(workers)
	a.sizes()
	return a
}

// permutedGraph returns the adjacency of the graph ptr, adj renumbered by
// perm: the neighbours of position i are the positions of the neighbours
// of perm[i], in no particular order. It reuses bptr and badj if they are
// large enough.
func permutedGraph(ptr, adj, perm, bptr, badj []int) ([]int, []int) {
	n := len(perm)
	pos := inversePerm(perm, n)
	if cap(bptr) < n+1 {
		bptr = make([]int, n+1)
	}
	if cap(badj) < len(adj) {
		badj = make([]int, len(adj))
	}
	bptr, badj = bptr[:n+1], badj[:len(adj)]
	bptr[0] = 0
	for i, v := range perm {
		k := bptr[i]
		for _, w := range adj[ptr[v]:ptr[v+1]] {
			badj[k] = pos[w]
			k++
		}
		bptr[i+1] = k
	}
	return bptr, badj
}

// etree returns the elimination tree of the symmetric graph ptr, adj
// (Liu's algorithm with path compression): parent[j] is the parent of
// column j, −1 for a root.
func etree(ptr, adj []int) []int {
	n := len(ptr) - 1
	parent := make([]int, n)
	ancestor := make([]int, n)
	for k := range n {
		parent[k], ancestor[k] = -1, -1
		for _, i := range adj[ptr[k]:ptr[k+1]] {
			for i != -1 && i < k {
				next := ancestor[i]
				ancestor[i] = k
				if next == -1 {
					parent[i] = k
				}
				i = next
			}
		}
	}
	return parent
}

// postorder returns a postorder of the forest parent: post[k] is the k-th
// node, children visited by increasing index, trees by increasing root.
func postorder(parent []int) []int {
	n := len(parent)
	head := make([]int, n)
	next := make([]int, n)
	for j := range head {
		head[j] = -1
	}
	for j := n - 1; j >= 0; j-- {
		if pj := parent[j]; pj >= 0 {
			next[j] = head[pj]
			head[pj] = j
		}
	}
	post := make([]int, 0, n)
	var stack []int
	for r := range n {
		if parent[r] >= 0 {
			continue
		}
		stack = append(stack[:0], r)
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			if c := head[v]; c >= 0 {
				head[v] = next[c]
				stack = append(stack, c)
			} else {
				stack = stack[:len(stack)-1]
				post = append(post, v)
			}
		}
	}
	return post
}

// colCounts returns the number of nonzeros in each column of the Cholesky
// factor of the symmetric graph ptr, adj (diagonal included), whose
// elimination tree parent is postordered (a child has a smaller index than
// its parent and the descendants of j are first[j]..j). It is the
// algorithm of Gilbert, Ng and Peyton as in CSparse's cs_counts: column j
// counts the row subtrees it is a leaf of, less the overlaps, found with
// least common ancestors by path compression.
func colCounts(ptr, adj, parent []int) []int {
	n := len(parent)
	count := make([]int, n)
	first := make([]int, n)
	maxFirst := make([]int, n)
	prevLeaf := make([]int, n)
	ancestor := make([]int, n)
	for k := range n {
		first[k], maxFirst[k], prevLeaf[k], ancestor[k] = -1, -1, -1, k
	}
	for k := range n {
		count[k] = 0
		if first[k] == -1 {
			count[k] = 1 // k is a leaf
		}
		for j := k; j != -1 && first[j] == -1; j = parent[j] {
			first[j] = k
		}
	}
	for j := range n {
		if pj := parent[j]; pj != -1 {
			count[pj]--
		}
		for _, i := range adj[ptr[j]:ptr[j+1]] {
			// Is j a leaf of the row subtree of i (i > j)?
			if i <= j || first[j] <= maxFirst[i] {
				continue
			}
			maxFirst[i] = first[j]
			jprev := prevLeaf[i]
			prevLeaf[i] = j
			count[j]++
			if jprev == -1 {
				continue // the first leaf of row subtree i
			}
			q := jprev
			for q != ancestor[q] {
				q = ancestor[q]
			}
			for s := jprev; s != q; {
				sp := ancestor[s]
				ancestor[s] = q
				s = sp
			}
			count[q]-- // q is the least common ancestor of jprev and j
		}
		if pj := parent[j]; pj != -1 {
			ancestor[j] = pj
		}
	}
	for j := range n {
		if pj := parent[j]; pj != -1 {
			count[pj] += count[j]
		}
	}
	return count
}

// supernodes sets super, sparent, chead and cnext from the postordered
// elimination tree and the column counts: the fundamental supernodes,
// where column j+1 joins j's supernode when it is j's parent, has j as its
// only child and one nonzero less. (Merging supernodes further, as
// CHOLMOD's relaxed amalgamation does, added 10–20 % explicit zeros to
// the 5-point grid and made FactorSparse no faster there.)
func (a *SparseAnalysis) supernodes(parent, count []int) {
	n := len(parent)
	kids := make([]int, n)
	for _, pj := range parent {
		if pj >= 0 {
			kids[pj]++
		}
	}
	a.super = a.super[:0]
	for j := range n {
		if j > 0 && parent[j-1] == j && count[j-1] == count[j]+1 && kids[j] == 1 {
			continue
		}
		a.super = append(a.super, j)
	}
	ns := len(a.super)
	a.super = append(a.super, n)
	snodeOf := make([]int, n)
	for s := range ns {
		for j := a.super[s]; j < a.super[s+1]; j++ {
			snodeOf[j] = s
		}
	}
	a.sparent = make([]int, ns)
	a.chead = make([]int, ns)
	a.cnext = make([]int, ns)
	for s := range ns {
		a.chead[s] = -1
	}
	for s := ns - 1; s >= 0; s-- {
		a.sparent[s] = -1
		if pj := parent[a.super[s+1]-1]; pj >= 0 {
			ps := snodeOf[pj]
			a.sparent[s] = ps
			a.cnext[s] = a.chead[ps]
			a.chead[ps] = s
		}
	}
}

// structures sets sptr and sidx: the rows of B below the diagonal block
// of each supernode, the union of the neighbours of its columns and of
// its children's structures, beyond its last column.
func (a *SparseAnalysis) structures(bptr, badj []int) {
	ns := len(a.super) - 1
	mark := make([]int, a.p.N)
	for i := range mark {
		mark[i] = -1
	}
	a.sptr = make([]int, ns+1)
	var sidx []int32
	for s := range ns {
		f, l := a.super[s], a.super[s+1]
		start := len(sidx)
		for v := f; v < l; v++ {
			for _, w := range badj[bptr[v]:bptr[v+1]] {
				if w >= l && mark[w] != s {
					mark[w] = s
					sidx = append(sidx, int32(w))
				}
			}
		}
		for c := a.chead[s]; c >= 0; c = a.cnext[c] {
			for _, w := range sidx[a.sptr[c]:a.sptr[c+1]] {
				if int(w) >= l && mark[w] != s {
					mark[w] = s
					sidx = append(sidx, w)
				}
			}
		}
		slices.Sort(sidx[start:])
		a.sptr[s+1] = len(sidx)
	}
	a.sidx = slices.Clip(sidx)
}

// frontSize returns the columns and the rows below them of supernode s.
func (a *SparseAnalysis) frontSize(s int) (q, r int) {
	return a.super[s+1] - a.super[s], a.sptr[s+1] - a.sptr[s]
}

// parallelMinWork is the estimated work (multiply-adds) below which
// Factor runs on one goroutine: starting workers costs microseconds. It
// is a variable so that the tests can schedule small matrices.
var parallelMinWork = 1 << 22

// schedule splits the supernodal tree for the given number of workers:
// starting from the roots, the subtree of most work is cut below its root
// (which goes to top) until no subtree holds more than 1/(2·workers) of
// the work, or top has grown to 16·workers supernodes; the subtrees are
// then given, by decreasing work, to the worker with the least so far.
// The work of a supernode is estimated as q·m² + m², q its columns and m
// its front's size.
func (a *SparseAnalysis) schedule(workers int) {
	ns := len(a.super) - 1
	a.isUnit = make([]bool, ns)
	work := make([]float64, ns) // of the subtree
	total := 0.0
	for s := range ns {
		q, r := a.frontSize(s)
		m := float64(q + r)
		work[s] += float64(q)*m*m + m*m
		if ps := a.sparent[s]; ps >= 0 {
			work[ps] += work[s]
		} else {
			total += work[s]
		}
	}
	a.workers = 1
	if workers > 1 && total >= float64(parallelMinWork) {
		var cand []int
		for s := range ns {
			if a.sparent[s] < 0 {
				cand = append(cand, s)
			}
		}
		var top []int
		for len(top) < 16*workers && len(cand) > 0 {
			big := 0
			for i, s := range cand {
				if work[s] > work[cand[big]] {
					big = i
				}
			}
			s := cand[big]
			if work[s] <= total/float64(2*workers) {
				break
			}
			top = append(top, s)
			cand[big] = cand[len(cand)-1]
			cand = cand[:len(cand)-1]
			for c := a.chead[s]; c >= 0; c = a.cnext[c] {
				cand = append(cand, c)
			}
		}
		if len(cand) >= 2 {
			a.workers = workers
			slices.SortFunc(cand, func(x, y int) int {
				switch {
				case work[x] > work[y]:
					return -1
				case work[x] < work[y]:
					return 1
				}
				return x - y
			})
			load := make([]float64, workers)
			a.units = cand
			a.unitWorker = make([]int, len(cand))
			for u, s := range cand {
				w := 0
				for v := range load {
					if load[v] < load[w] {
						w = v
					}
				}
				a.unitWorker[u] = w
				load[w] += work[s]
				a.isUnit[s] = true
			}
		}
	}
	// top: the supernodes outside every unit's subtree. A supernode is in
	// a unit's subtree iff walking up reaches a unit root; in postorder a
	// parent comes after its children, so one backward pass decides it.
	a.segOf = make([]int, ns)
	unitAt := make(map[int]int, len(a.units))
	for u, s := range a.units {
		unitAt[s] = u
	}
	for s := ns - 1; s >= 0; s-- {
		a.segOf[s] = a.workers // top
		if u, ok := unitAt[s]; ok {
			a.segOf[s] = a.unitWorker[u]
		} else if ps := a.sparent[s]; ps >= 0 && !a.isTop(ps) {
			a.segOf[s] = a.segOf[ps]
		}
	}
	a.top = a.top[:0]
	for s := range ns {
		if a.isTop(s) {
			a.top = append(a.top, s)
		}
	}
}

// isTop reports whether supernode s is outside every unit's subtree,
// once segOf is set from the roots down.
func (a *SparseAnalysis) isTop(s int) bool { return a.segOf[s] == a.workers }

// first returns the first supernode of the subtree rooted at s: the
// subtree is first(s)..s in postorder.
func (a *SparseAnalysis) first(s int) int {
	for a.chead[s] >= 0 {
		s = a.chead[s] // the first child has the smallest index
	}
	return s
}

// luFront is the part of a SparseLU that one front produced: q pivots at
// the steps k0..k0+q−1 and r rows of L and columns of U beyond them. Its
// values are segVal[seg][val:val+q·q+2·q·r]: the q×q block L11\U11 (L
// unit lower, U upper), then L21 (r×q) and U12 (q×r), all row-major.
// segIdx[seg][idx:idx+r] are the steps of L21's rows and
// segIdx[seg][idx+r:idx+2r] those of U12's columns.
type luFront struct {
	k0, q, r, seg, val, idx int
}

// Bytes of bookkeeping per front and per segment in the factor.
const (
	luFrontBytes   = int64(unsafe.Sizeof(luFront{}))
	luSegmentBytes = int64(unsafe.Sizeof([]float64{}) + unsafe.Sizeof([]int32{}))
)

// sizes sets nnzLU, segNNZ, segIdx, maxFront, bytes and peakBytes.
func (a *SparseAnalysis) sizes() {
	ns := len(a.super) - 1
	n := int64(a.p.N)
	a.segNNZ = make([]int64, a.workers+1)
	a.segIdx = make([]int64, a.workers+1)
	for s := range ns {
		q, r := a.frontSize(s)
		a.maxFront = max(a.maxFront, q+r)
		a.segNNZ[a.segOf[s]] += int64(q)*int64(q) + 2*int64(q)*int64(r)
		a.segIdx[a.segOf[s]] += 2 * int64(r)
	}
	for _, v := range a.segNNZ {
		a.nnzLU += v
	}
	var idx int64
	for _, v := range a.segIdx {
		idx += v
	}
	const word, half = 8, 4 // bytes in a float64 or int, and an int32
	a.bytes = word*a.nnzLU + half*idx + luFrontBytes*int64(ns) + 2*word*n +
		luSegmentBytes*int64(len(a.segNNZ))

	// The work memory, in float64s: each builder holds its largest front
	// and a stack of contribution blocks in postorder. The workers run
	// together, then the top alone; the blocks of the units wait for it.
	stackPeak := func(order []int) int64 {
		var stack, peak, front int64
		var blocks []int64
		for _, s := range order {
			for c := a.chead[s]; c >= 0; c = a.cnext[c] {
				if a.isUnit[c] && a.isTop(s) {
					continue // saved, not on this stack
				}
				stack -= blocks[len(blocks)-1]
				blocks = blocks[:len(blocks)-1]
			}
			q, r := a.frontSize(s)
			m := int64(q + r)
			front = max(front, m*m)
			cb := int64(r) * int64(r)
			peak = max(peak, stack+cb)
			stack += cb
			blocks = append(blocks, cb)
		}
		return peak + front
	}
	var workers, saved int64
	for w := range a.workers {
		if a.workers == 1 {
			break
		}
		var worst int64
		for u, s := range a.units {
			if a.unitWorker[u] == w {
				order := make([]int, 0, s-a.first(s)+1)
				for t := a.first(s); t <= s; t++ {
					order = append(order, t)
				}
				worst = max(worst, stackPeak(order))
			}
		}
		workers += worst
	}
	for _, s := range a.units {
		_, r := a.frontSize(s)
		saved += int64(r) * int64(r)
	}
	floats := max(workers, stackPeak(a.top)) + saved
	// Besides: per builder two int32 maps over the unknowns, the inverse
	// permutation, the transpose of A (int32 rows and value positions)
	// and, at the end, the int32 steps of each unknown.
	nnzA := int64(a.p.NNZ())
	work := word*floats + int64(a.workers+1)*2*half*n + word*n + 2*half*nnzA + word*(n+1) + 2*half*n
	a.peakBytes = a.bytes + work + a.ownBytes()
}

// ownBytes returns the memory held by the analysis itself.
func (a *SparseAnalysis) ownBytes() int64 {
	const word, half = 8, 4
	return word*int64(len(a.perm)+len(a.super)+len(a.sparent)+len(a.chead)+len(a.cnext)+len(a.sptr)+
		len(a.units)+len(a.unitWorker)+len(a.top)+len(a.segOf)+2*len(a.segNNZ)) +
		half*int64(len(a.sidx)) + int64(len(a.isUnit))
}

// NNZ returns the number of entries that the factor L+U stores (L's unit
// diagonal not counted) when no pivot is delayed: Σ over supernodes of
// w² + 2·w·r, w its columns and r the rows below them, which is
// 2·nnz(C) − n for C the Cholesky factor of the structure of B + Bᵀ.
func (a *SparseAnalysis) NNZ() int { return int(a.nnzLU) }

// Bytes returns the bytes that Factor keeps in the factor when no pivot is
// delayed: 8 per entry of L+U, 8 per unknown for each of the two
// permutations, 4 per index of the structures (twice each: rows of L,
// columns of U) and a few words per supernode. It is the factor's Bytes
// exactly in that case. A delayed pivot (see Factor) moves a row and a
// column into the parent front and makes the factor larger.
func (a *SparseAnalysis) Bytes() int64 { return a.bytes }

// PeakBytes returns an estimate of the most memory held while Factor runs
// with this analysis, the analysis included: the factor (Bytes), the
// fronts being factorized and the stacks of contribution blocks waiting
// for their parents, a transposed copy of A's structure and a few maps
// over the unknowns.
func (a *SparseAnalysis) PeakBytes() int64 { return a.peakBytes }

// Perm returns a copy of the ordering that Factor factorizes in,
// postordered: B(i, j) = A(perm[i], perm[j]). It differs from the perm
// given to AnalyzeSparse by a renumbering that keeps the fill.
func (a *SparseAnalysis) Perm() []int { return slices.Clone(a.perm) }

// SparseLU is the LU factorization with threshold partial pivoting of a
// sparse n×n matrix A, from FactorSparse: A(R, C) = L U, R and C the row
// and column orders of the elimination steps, L unit lower triangular and
// U upper triangular. Its Solve and SolveT solve with A itself.
//
// A SparseLU is not changed after FactorSparse returns it, so several
// goroutines may call its methods at once. Each solve borrows scratch (an
// n-vector and a vector as long as the largest front) from a sync.Pool
// inside the factor, allocated on first use per goroutine solving at the
// same time, and again after garbage collections empty the pool. A
// SparseLU must not be copied.
type SparseLU struct {
	n, nnzA  int
	rowPerm  []int // rowPerm[k]: the original row of step k
	colPerm  []int // colPerm[k]: the original column of step k
	fronts   []luFront
	segVal   [][]float64
	segIdx   [][]int32
	maxR     int
	nnz      int64
	logDet   float64
	delayed  int
	ordering string
	scratch  sync.Pool // of *luScratch
}

type luScratch struct{ w, g []float64 }

// FactorSparse factorizes the n×n sparse matrix A with pattern p and CSR
// values vals (aligned with p.Col, as from Recover) in the order perm
// (perm[i] is the original index at position i); a nil perm means
// NestedDissection(p). It is AnalyzeSparse(p, perm).Factor(vals): check
// the analysis's Bytes or PeakBytes first where memory is limited, and
// keep the analysis to refactorize matrices with the same pattern.
// p, vals and perm are not modified.
//
// It returns the errors of (*SparseAnalysis).Factor, and panics if p is
// nil or malformed, n or nnz is 2³¹ or more, len(vals) != p.NNZ(), or perm
// is neither nil nor a permutation of 0..n−1.
func FactorSparse(p *Pattern, vals []float64, perm []int) (*SparseLU, error) {
	checkPattern(p)
	if len(vals) != p.NNZ() {
		panic("sparse: value array length differs from the pattern's nonzeros")
	}
	return AnalyzeSparse(p, perm).Factor(vals)
}

// Factor computes the LU factorization of the matrix with the analysis's
// pattern and the CSR values vals, by the multifrontal method: the
// supernodes are visited in postorder, and each assembles a dense front
// from A's entries in its rows and columns and its children's
// contribution blocks, eliminates its columns with threshold partial
// pivoting among its fully summed rows, and passes the Schur complement
// on to its parent. The dense work runs a panel of columns at a time,
// the updates on gonum's BLAS (Dtrsm and Dgemm). Independent subtrees
// run on separate goroutines, as many as the analysis planned for
// (runtime.GOMAXPROCS(0) when it ran); the top of the tree runs on one,
// with gonum's parallel Dgemm. The result does not depend on the
// schedule.
//
// Pivoting: in column k the diagonal entry is the pivot if its magnitude
// is at least 0.1 times the column's largest (over all the rows of the
// front, the rows of the ancestors' unknowns included); otherwise the
// largest fully summed entry is, if it passes the same test. If neither
// does, the column and a row are delayed: they join the parent's front,
// which is larger than the analysis said (the factor's Bytes then exceeds
// the analysis's), and are eliminated there. A root front eliminates all
// its columns. Matrices diagonally dominant by columns delay nothing.
//
// It returns, with a nil factor:
//   - a *SingularError (errors.Is(err, ErrSingular)) when a column has no
//     nonzero left to pivot on: its Row is the ORIGINAL index of that
//     column of A, an unknown that depends linearly on those eliminated
//     before it, and Pivot is 0 (or NaN if the elimination overflowed).
//     With several such columns, the first in the elimination order of
//     the first subtree that has one is named.
//   - a *NotFiniteError if vals holds a NaN or an infinity, the first in
//     row order; its Row and Col are A's indices.
//
// Factor panics if len(vals) != p.NNZ() or a is the zero SparseAnalysis.
func (a *SparseAnalysis) Factor(vals []float64) (*SparseLU, error) {
	p := a.p
	if p == nil {
		panic("sparse: SparseAnalysis holds no analysis")
	}
	n := p.N
	if len(vals) != p.NNZ() {
		panic("sparse: value array length differs from the pattern's nonzeros")
	}
	for i := range n {
		for k := p.RowPtr[i]; k < p.RowPtr[i+1]; k++ {
			if v := vals[k]; math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, &NotFiniteError{Row: i, Col: p.Col[k], Value: v}
			}
		}
	}
	sh := newLUShared(a, vals)
	saved := make(map[int]*contribution, len(a.units))
	builders := make([]*luBuilder, a.workers+1)
	if a.workers > 1 {
		errs := make([]error, len(a.units))
		blocks := make([]*contribution, len(a.units))
		var wg sync.WaitGroup
		for w := range a.workers {
			b := newLUBuilder(sh, w)
			builders[w] = b
			wg.Go(func() {
				for u, s := range a.units {
					if a.unitWorker[u] != w {
						continue
					}
					for t := a.first(s); t <= s; t++ {
						if errs[u] = b.front(t, nil); errs[u] != nil {
							break
						}
					}
					if errs[u] == nil {
						blocks[u] = b.popSaved()
					}
					b.reset()
				}
			})
		}
		wg.Wait()
		for u, err := range errs {
			if err != nil {
				return nil, err
			}
			if blocks[u] != nil {
				saved[a.units[u]] = blocks[u]
			}
		}
	}
	b := newLUBuilder(sh, a.workers)
	builders[a.workers] = b
	for _, s := range a.top {
		if err := b.front(s, saved); err != nil {
			return nil, err
		}
	}
	return sh.finish(builders), nil
}

// luShared is what the builders of one factorization share, read only.
type luShared struct {
	a    *SparseAnalysis
	vals []float64
	pos  []int // pos[perm[i]] = i

	// The transpose of A: the rows of column c are colRow[colPtr[c]:
	// colPtr[c+1]], with values vals[colVal[...]].
	colPtr         []int
	colRow, colVal []int32
}

func newLUShared(a *SparseAnalysis, vals []float64) *luShared {
	p := a.p
	n := p.N
	sh := &luShared{a: a, vals: vals, pos: inversePerm(a.perm, n)}
	sh.colPtr = make([]int, n+1)
	for _, c := range p.Col {
		sh.colPtr[c+1]++
	}
	for c := range n {
		sh.colPtr[c+1] += sh.colPtr[c]
	}
	nnz := p.NNZ()
	sh.colRow, sh.colVal = make([]int32, nnz), make([]int32, nnz)
	next := slices.Clone(sh.colPtr[:n])
	for i := range n {
		for k := p.RowPtr[i]; k < p.RowPtr[i+1]; k++ {
			c := p.Col[k]
			sh.colRow[next[c]], sh.colVal[next[c]] = int32(i), int32(k)
			next[c]++
		}
	}
	return sh
}

// luBuilder factorizes fronts on one goroutine and keeps what they
// produce: one segment of the factor, with steps numbered from 0.
type luBuilder struct {
	*luShared
	seg int

	// Local position of an unknown in the current front's rows and
	// columns.
	rowLoc, colLoc []int32

	fbuf           []float64 // the dense front, row-major
	rowVar, colVar []int32   // the unknowns of its rows and columns
	save, tmp      []float64 // a column and a panel column of scratch
	cmap           []int32   // a child's column map
	kids           []*contribution

	// The stack of contribution blocks: values, and the unknowns of their
	// rows then of their columns.
	stack  []*contribution
	cbVal  []float64
	cbVars []int32

	// The output: fronts with local steps; the unknowns pivoted at each
	// step as row and as column.
	fronts        []luFront
	frontOf       []int // the supernode of each front
	val           []float64
	idx           []int32
	rowVars       []int32
	colVars       []int32
	delayed, maxR int
	nnz           int64
}

// contribution is a contribution block: an r×r Schur complement,
// row-major in val, whose first nd rows and columns are delayed (fully
// summed in the parent); its row unknowns are vars[:r] and its column
// unknowns vars[r:2r]. On a builder's stack, val and vars lie in cbVal
// and cbVars from valOff and varOff on.
type contribution struct {
	r, nd          int
	val            []float64
	vars           []int32
	valOff, varOff int
}

func newLUBuilder(sh *luShared, seg int) *luBuilder {
	a := sh.a
	n := a.p.N
	maps := make([]int32, 2*n)
	b := &luBuilder{
		luShared: sh,
		seg:      seg,
		rowLoc:   maps[:n],
		colLoc:   maps[n:],
		tmp:      make([]float64, luPanel),
		val:      make([]float64, 0, a.segNNZ[seg]),
		idx:      make([]int32, 0, a.segIdx[seg]),
	}
	return b
}

// grow makes the front scratch hold an m×m front.
func (b *luBuilder) grow(m int) {
	if len(b.rowVar) >= m {
		return
	}
	m = max(m, min(b.a.maxFront, 2*len(b.rowVar)))
	b.fbuf = make([]float64, m*m)
	b.rowVar = make([]int32, m)
	b.colVar = make([]int32, m)
	b.save = make([]float64, m)
	b.cmap = make([]int32, m)
}

// popSaved removes the contribution block of a finished subtree from the
// stack and returns it in memory of its own (nil if the subtree's root is
// a root of the whole tree and passes nothing on).
func (b *luBuilder) popSaved() *contribution {
	if len(b.stack) == 0 {
		return nil
	}
	c := b.stack[len(b.stack)-1]
	c.val = slices.Clone(c.val)
	c.vars = slices.Clone(c.vars)
	return c
}

// reset empties the stack for the next subtree.
func (b *luBuilder) reset() {
	b.stack = b.stack[:0]
	b.cbVal = b.cbVal[:0]
	b.cbVars = b.cbVars[:0]
}

// front assembles, factorizes and stores supernode s. Its children's
// contribution blocks are on the stack, or in saved for the roots of
// subtrees that other builders factorized.
func (b *luBuilder) front(s int, saved map[int]*contribution) error {
	a := b.a
	f, l := a.super[s], a.super[s+1]
	st := a.sidx[a.sptr[s]:a.sptr[s+1]]
	// The children by increasing index, whichever builder factorized
	// them, so that the sums do not depend on the schedule: those on the
	// stack are its top blocks, in the same order.
	onStack := 0
	for c := a.chead[s]; c >= 0; c = a.cnext[c] {
		if _, ok := saved[c]; !ok {
			onStack++
		}
	}
	kids := b.kids[:0]
	next := len(b.stack) - onStack
	for c := a.chead[s]; c >= 0; c = a.cnext[c] {
		if cb, ok := saved[c]; ok {
			kids = append(kids, cb)
		} else {
			kids = append(kids, b.stack[next])
			next++
		}
	}
	b.kids = kids
	nd := 0
	for _, c := range kids {
		nd += c.nd
	}
	np := nd + l - f // fully summed rows and columns
	m := np + len(st)
	b.grow(m)
	rowVar, colVar := b.rowVar[:m], b.colVar[:m]
	t := 0
	for _, c := range kids {
		copy(rowVar[t:], c.vars[:c.nd])
		copy(colVar[t:], c.vars[c.r:c.r+c.nd])
		t += c.nd
	}
	for v := f; v < l; v++ {
		rowVar[t], colVar[t] = int32(v), int32(v)
		t++
	}
	copy(rowVar[t:], st)
	copy(colVar[t:], st)
	for i := range m {
		b.rowLoc[rowVar[i]] = int32(i)
		b.colLoc[colVar[i]] = int32(i)
	}
	F := b.fbuf[:m*m]
	clear(F)

	// A's entries whose first unknown in the order is one of the
	// supernode's: row v from column f on, and column v below row l.
	p := a.p
	for v := f; v < l; v++ {
		orig := a.perm[v]
		lv := int(b.rowLoc[v])
		row := F[lv*m : lv*m+m]
		for k := p.RowPtr[orig]; k < p.RowPtr[orig+1]; k++ {
			if j := b.pos[p.Col[k]]; j >= f {
				row[b.colLoc[j]] += b.vals[k]
			}
		}
		for k := b.colPtr[orig]; k < b.colPtr[orig+1]; k++ {
			if i := b.pos[b.colRow[k]]; i >= l {
				F[int(b.rowLoc[i])*m+lv] += b.vals[b.colVal[k]]
			}
		}
	}

	// Extend-add the children's contribution blocks, then pop those on
	// the stack.
	for _, c := range kids {
		r := c.r
		cm := b.cmap[:r]
		for j, v := range c.vars[r : 2*r] {
			cm[j] = b.colLoc[v]
		}
		for i, v := range c.vars[:r] {
			row := F[int(b.rowLoc[v])*m : int(b.rowLoc[v])*m+m]
			for j, x := range c.val[i*r : i*r+r] {
				row[cm[j]] += x
			}
		}
	}
	if onStack > 0 {
		c := b.stack[len(b.stack)-onStack]
		b.cbVal = b.cbVal[:c.valOff]
		b.cbVars = b.cbVars[:c.varOff]
		b.stack = b.stack[:len(b.stack)-onStack]
	}

	q, err := b.partial(F, m, np)
	if err != nil {
		return err
	}
	if a.sparent[s] < 0 && q < np {
		// A root front pivots on every column whose maximum is nonzero,
		// so partial returns early only with an error; guard anyway.
		return &SingularError{Row: a.perm[colVar[q]], Pivot: 0}
	}
	b.delayed += np - q
	b.store(s, F, m, q)

	// Push the Schur complement F[q:m, q:m].
	if r := m - q; r > 0 {
		c := &contribution{r: r, nd: np - q, valOff: len(b.cbVal), varOff: len(b.cbVars)}
		for i := q; i < m; i++ {
			b.cbVal = append(b.cbVal, F[i*m+q:i*m+m]...)
		}
		b.cbVars = append(b.cbVars, rowVar[q:m]...)
		b.cbVars = append(b.cbVars, colVar[q:m]...)
		b.stack = append(b.stack, c)
		// The slices are taken after the appends, which may move the
		// buffers: the blocks below are re-sliced when used.
		b.reslice()
	}
	return nil
}

// reslice points the stack's blocks into the current cbVal and cbVars,
// which an append may have moved.
func (b *luBuilder) reslice() {
	for _, c := range b.stack {
		c.val = b.cbVal[c.valOff : c.valOff+c.r*c.r]
		c.vars = b.cbVars[c.varOff : c.varOff+2*c.r]
	}
}

// store appends the q pivots of the factorized front F (m×m) to the
// builder's segment, with unknowns for now in place of steps in idx.
func (b *luBuilder) store(s int, F []float64, m, q int) {
	r := m - q
	rowVar, colVar := b.rowVar[:m], b.colVar[:m]
	if q == 0 {
		return
	}
	b.fronts = append(b.fronts, luFront{k0: len(b.rowVars), q: q, r: r, seg: b.seg, val: len(b.val), idx: len(b.idx)})
	b.frontOf = append(b.frontOf, s)
	b.rowVars = append(b.rowVars, rowVar[:q]...)
	b.colVars = append(b.colVars, colVar[:q]...)
	for i := range q {
		b.val = append(b.val, F[i*m:i*m+q]...)
	}
	for i := q; i < m; i++ {
		b.val = append(b.val, F[i*m:i*m+q]...)
	}
	for i := range q {
		b.val = append(b.val, F[i*m+q:i*m+m]...)
	}
	b.idx = append(b.idx, rowVar[q:m]...)
	b.idx = append(b.idx, colVar[q:m]...)
	b.maxR = max(b.maxR, r)
	b.nnz += int64(q*q + 2*q*r)
}

// finish joins the builders' segments into the factor, with the fronts
// and their steps in the order of their supernodes, as one builder would
// have made them; the unknowns in the index arrays become steps.
func (sh *luShared) finish(builders []*luBuilder) *SparseLU {
	a := sh.a
	n := a.p.N
	ns := len(a.super) - 1
	lu := &SparseLU{
		n:        n,
		nnzA:     a.p.NNZ(),
		rowPerm:  make([]int, n),
		colPerm:  make([]int, n),
		segVal:   make([][]float64, len(builders)),
		segIdx:   make([][]int32, len(builders)),
		ordering: a.ordering,
	}
	// where[s]: builder and index of supernode s's front, −1 for none.
	type at struct{ b, t int32 }
	where := make([]at, ns)
	for s := range where {
		where[s] = at{-1, -1}
	}
	nf := 0
	for w, b := range builders {
		if b == nil {
			continue
		}
		for t, s := range b.frontOf {
			where[s] = at{int32(w), int32(t)}
		}
		nf += len(b.fronts)
		lu.segVal[w], lu.segIdx[w] = b.val, b.idx
		lu.delayed += b.delayed
		lu.maxR = max(lu.maxR, b.maxR)
		lu.nnz += b.nnz
	}
	lu.fronts = make([]luFront, 0, nf)
	steps := make([]int32, 2*n)
	rowStep, colStep := steps[:n], steps[n:]
	k0 := 0
	det := logprod.New()
	for s := range ns {
		if where[s].b < 0 {
			continue
		}
		b := builders[where[s].b]
		fr := b.fronts[where[s].t]
		for i := range fr.q {
			rv, cv := b.rowVars[fr.k0+i], b.colVars[fr.k0+i]
			rowStep[rv], colStep[cv] = int32(k0+i), int32(k0+i)
			lu.rowPerm[k0+i], lu.colPerm[k0+i] = a.perm[rv], a.perm[cv]
			det.Mul(b.val[fr.val+i*fr.q+i])
		}
		fr.k0 = k0
		k0 += fr.q
		lu.fronts = append(lu.fronts, fr)
	}
	lu.logDet = det.Log()
	for _, fr := range lu.fronts {
		idx := lu.segIdx[fr.seg]
		rows := idx[fr.idx : fr.idx+fr.r]
		cols := idx[fr.idx+fr.r : fr.idx+2*fr.r]
		for i, v := range rows {
			rows[i] = rowStep[v]
		}
		for j, v := range cols {
			cols[j] = colStep[v]
		}
	}
	maxR := lu.maxR
	lu.scratch.New = func() any {
		return &luScratch{w: make([]float64, n), g: make([]float64, maxR)}
	}
	return lu
}

// partial eliminates up to np columns of the m×m front F, whose first np
// rows and columns are fully summed, with threshold partial pivoting: it
// returns q, the number eliminated, and leaves F as [L11\U11 U12; L21 S]
// with S = F[q:m, q:m] the Schur complement whose first np−q rows and
// columns are the delayed ones. rowVar, colVar and rowLoc, colLoc follow
// the row and column interchanges.
//
// It works a panel of luPanel columns at a time: inside the panel each
// column is brought up to date from the panel's earlier columns (left
// looking), and a column that fails the threshold test is restored to its
// state at the start of the panel and swapped with the last candidate
// column; after the panel, the rest of the front is updated by a
// triangular solve and a matrix product.
func (b *luBuilder) partial(F []float64, m, np int) (int, error) {
	rowVar, colVar := b.rowVar[:m], b.colVar[:m]
	save, tmp := b.save[:m], b.tmp
	pl := np // candidate columns are k..pl−1
	k := 0
	for k < pl {
		j0 := k
		j1 := min(k+luPanel, pl)
		for k < j1 {
			kk := k - j0
			for i := j0; i < m; i++ {
				save[i-j0] = F[i*m+k]
			}
			// U's entries of column k in the panel's rows.
			for t := range kk {
				row := (j0 + t) * m
				v := F[row+k] - dot(F[row+j0:row+j0+t], tmp[:t])
				tmp[t] = v
				F[row+k] = v
			}
			colMax, candMax, cand := 0.0, -1.0, -1
			bad := false
			for i := k; i < m; i++ {
				row := i * m
				v := F[row+k]
				if kk > 0 {
					v -= dot(F[row+j0:row+k], tmp[:kk])
					F[row+k] = v
				}
				av := math.Abs(v)
				if av != av || av > math.MaxFloat64 {
					bad = true
				}
				if av > colMax {
					colMax = av
				}
				if i < np && av > candMax {
					candMax, cand = av, i
				}
			}
			if bad || colMax == 0 {
				piv := colMax
				if bad {
					piv = math.NaN()
				}
				return 0, &SingularError{Row: b.a.perm[colVar[k]], Pivot: piv}
			}
			thr := pivotThreshold * colMax
			r := -1
			if d := int(b.rowLoc[colVar[k]]); d >= k && d < np && rowVar[d] == colVar[k] &&
				math.Abs(F[d*m+k]) >= thr {
				r = d
			} else if candMax >= thr {
				r = cand
			}
			if r < 0 {
				// Delay column k: restore it and swap it with the last
				// candidate, which is at the state of the panel's start.
				for i := j0; i < m; i++ {
					F[i*m+k] = save[i-j0]
				}
				pl--
				if pl != k {
					for i := range m {
						F[i*m+k], F[i*m+pl] = F[i*m+pl], F[i*m+k]
					}
					colVar[k], colVar[pl] = colVar[pl], colVar[k]
					b.colLoc[colVar[k]], b.colLoc[colVar[pl]] = int32(k), int32(pl)
				}
				j1 = min(j1, pl)
				continue
			}
			if r != k {
				rk, rr := F[k*m:k*m+m], F[r*m:r*m+m]
				for j := range rk {
					rk[j], rr[j] = rr[j], rk[j]
				}
				rowVar[k], rowVar[r] = rowVar[r], rowVar[k]
				b.rowLoc[rowVar[k]], b.rowLoc[rowVar[r]] = int32(k), int32(r)
			}
			inv := 1 / F[k*m+k]
			for i := k + 1; i < m; i++ {
				F[i*m+k] *= inv
			}
			k++
		}
		if k > j0 && j1 < m {
			updateTrailing(F, m, j0, j1)
		}
	}
	return pl, nil
}

// updateTrailing applies the eliminations j0..j1−1 of the front F (m×m,
// row-major) to its columns j1..m−1: U12 = L11⁻¹ F[j0:j1, j1:m] and
// F[j1:m, j1:m] −= L21 U12, with L11 unit lower in F[j0:j1, j0:j1] and
// L21 = F[j1:m, j0:j1].
func updateTrailing(F []float64, m, j0, j1 int) {
	nb, w := j1-j0, m-j1
	if nb*w*w < 1<<15 { // below about 32³ gonum's setup outweighs the work
		for t := 1; t < nb; t++ {
			dst := F[(j0+t)*m+j1 : (j0+t)*m+m]
			for u := range t {
				if lv := F[(j0+t)*m+j0+u]; lv != 0 {
					axpy(dst, -lv, F[(j0+u)*m+j1:(j0+u)*m+m])
				}
			}
		}
		for i := j1; i < m; i++ {
			dst := F[i*m+j1 : i*m+m]
			for u := range nb {
				if lv := F[i*m+j0+u]; lv != 0 {
					axpy(dst, -lv, F[(j0+u)*m+j1:(j0+u)*m+m])
				}
			}
		}
		return
	}
	l11 := blas64.Triangular{Uplo: blas.Lower, Diag: blas.Unit, N: nb, Stride: m, Data: F[j0*m+j0:]}
	u12 := blas64.General{Rows: nb, Cols: w, Stride: m, Data: F[j0*m+j1:]}
	blas64.Trsm(blas.Left, blas.NoTrans, 1, l11, u12)
	l21 := blas64.General{Rows: w, Cols: nb, Stride: m, Data: F[j1*m+j0:]}
	s := blas64.General{Rows: w, Cols: w, Stride: m, Data: F[j1*m+j1:]}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, -1, l21, u12, 1, s)
}

// dot returns Σ x[i]·y[i] over len(x) ≤ len(y).
func dot(x, y []float64) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy sets y[i] += alpha·x[i] over len(y) ≤ len(x).
func axpy(y []float64, alpha float64, x []float64) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func (f *SparseLU) mustHold() {
	if f.scratch.New == nil {
		panic("sparse: SparseLU holds no factor")
	}
}

// Solve writes into dst the solution x of A x = b, with A the matrix given
// to FactorSparse. dst may be b itself or overlap it in any way: b is read
// in full before dst is written, and is not modified unless it shares
// memory with dst. Solve allocates nothing in steady state (see SparseLU)
// and may run concurrently with other Solve and SolveT calls on f that
// write distinct dst.
//
// Solve panics if len(dst) or len(b) is not n, or f is the zero SparseLU.
func (f *SparseLU) Solve(dst, b []float64) { f.solve(dst, b, false) }

// SolveT writes into dst the solution x of Aᵀ x = b. As for Solve, dst may
// overlap b, it allocates nothing in steady state and it may run
// concurrently with other calls on f that write distinct dst.
//
// SolveT panics if len(dst) or len(b) is not n, or f is the zero
// SparseLU.
func (f *SparseLU) SolveT(dst, b []float64) { f.solve(dst, b, true) }

// solve works in step order: A(R, C) = L U, so A x = b is L U y = c with
// c[k] = b[R[k]] and x[C[k]] = y[k], and Aᵀ x = b is Uᵀ Lᵀ y = c with
// c[k] = b[C[k]] and x[R[k]] = y[k].
func (f *SparseLU) solve(dst, b []float64, trans bool) {
	f.mustHold()
	if len(dst) != f.n || len(b) != f.n {
		panic("sparse: SparseLU solve with a vector of the wrong length")
	}
	sc := f.scratch.Get().(*luScratch)
	w := sc.w
	in, out := f.rowPerm, f.colPerm
	if trans {
		in, out = out, in
	}
	for k, v := range in {
		w[k] = b[v]
	}
	if trans {
		f.upperT(w, sc.g)
		f.lowerT(w, sc.g)
	} else {
		f.lower(w)
		f.upper(w, sc.g)
	}
	for k, v := range out {
		dst[v] = w[k]
	}
	f.scratch.Put(sc)
}

// blocks returns the parts of front fr: L11\U11 (q×q), L21 (r×q), U12
// (q×r), and the steps of L21's rows and of U12's columns.
func (f *SparseLU) blocks(fr luFront) (lu, l21, u12 []float64, rows, cols []int32) {
	q, r := fr.q, fr.r
	v := f.segVal[fr.seg][fr.val : fr.val+q*q+2*q*r]
	x := f.segIdx[fr.seg][fr.idx : fr.idx+2*r]
	return v[:q*q], v[q*q : q*q+r*q], v[q*q+r*q:], x[:r], x[r:]
}

// lower solves L y = w in place, front by front.
func (f *SparseLU) lower(w []float64) {
	for _, fr := range f.fronts {
		q := fr.q
		lu, l21, _, rows, _ := f.blocks(fr)
		y := w[fr.k0 : fr.k0+q]
		for i := 1; i < q; i++ {
			y[i] -= dot(lu[i*q:i*q+i], y)
		}
		for i, st := range rows {
			w[st] -= dot(l21[i*q:i*q+q], y)
		}
	}
}

// upper solves U y = w in place, fronts in reverse.
func (f *SparseLU) upper(w, g []float64) {
	for t := len(f.fronts) - 1; t >= 0; t-- {
		fr := f.fronts[t]
		q, r := fr.q, fr.r
		lu, _, u12, _, cols := f.blocks(fr)
		y := w[fr.k0 : fr.k0+q]
		gg := g[:r]
		for j, st := range cols {
			gg[j] = w[st]
		}
		for i := q - 1; i >= 0; i-- {
			v := y[i] - dot(u12[i*r:i*r+r], gg) - dot(lu[i*q+i+1:i*q+q], y[i+1:])
			y[i] = v / lu[i*q+i]
		}
	}
}

// upperT solves Uᵀ y = w in place, front by front.
func (f *SparseLU) upperT(w, g []float64) {
	for _, fr := range f.fronts {
		q, r := fr.q, fr.r
		lu, _, u12, _, cols := f.blocks(fr)
		y := w[fr.k0 : fr.k0+q]
		for i := range q {
			y[i] /= lu[i*q+i]
			axpy(y[i+1:], -y[i], lu[i*q+i+1:i*q+q])
		}
		gg := g[:r]
		clear(gg)
		for i := range q {
			axpy(gg, y[i], u12[i*r:i*r+r])
		}
		for j, st := range cols {
			w[st] -= gg[j]
		}
	}
}

// lowerT solves Lᵀ y = w in place, fronts in reverse.
func (f *SparseLU) lowerT(w, g []float64) {
	for t := len(f.fronts) - 1; t >= 0; t-- {
		fr := f.fronts[t]
		q, r := fr.q, fr.r
		lu, l21, _, rows, _ := f.blocks(fr)
		y := w[fr.k0 : fr.k0+q]
		gg := g[:r]
		for i, st := range rows {
			gg[i] = w[st]
		}
		for i := range r {
			axpy(y, -gg[i], l21[i*q:i*q+q])
		}
		for i := q - 1; i >= 1; i-- {
			axpy(y[:i], -y[i], lu[i*q:i*q+i])
		}
	}
}

// LogAbsDet returns log|det A|, the sum of log|U(k, k)|: row and column
// permutations keep |det|. It is 0 for n = 0 and panics if f is the zero
// SparseLU.
func (f *SparseLU) LogAbsDet() float64 {
	f.mustHold()
	return f.logDet
}

// NNZ returns the number of entries stored for L+U (L's unit diagonal not
// counted), explicit zeros of the dense fronts included: the analysis's
// NNZ when no pivot was delayed. It panics if f is the zero SparseLU.
func (f *SparseLU) NNZ() int {
	f.mustHold()
	return int(f.nnz)
}

// Delayed returns the number of times a column failed the threshold test
// in its front and was passed on to the parent front (0 when every pivot
// was found where the analysis planned it). It panics if f is the zero
// SparseLU.
func (f *SparseLU) Delayed() int {
	f.mustHold()
	return f.delayed
}

// Bytes returns the memory f holds: values, indices, the fronts' records
// and the two permutations, not the scratch that solves borrow. It equals
// the analysis's Bytes when no pivot was delayed, and is 0 for the zero
// SparseLU.
func (f *SparseLU) Bytes() int64 {
	if f.scratch.New == nil {
		return 0
	}
	const word, half = 8, 4
	b := luFrontBytes*int64(cap(f.fronts)) + word*int64(cap(f.rowPerm)+cap(f.colPerm)) +
		luSegmentBytes*int64(len(f.segVal))
	for w := range f.segVal {
		b += word*int64(cap(f.segVal[w])) + half*int64(cap(f.segIdx[w]))
	}
	return b
}

// Describe returns a one-line summary: the ordering, the size, the fill
// nnz(L+U)/nnz(A), the number of fronts and of delayed pivots, and the
// memory. It panics if f is the zero SparseLU.
func (f *SparseLU) Describe() string {
	f.mustHold()
	fill := 0.0
	if f.nnzA > 0 {
		fill = float64(f.nnz) / float64(f.nnzA)
	}
	return fmt.Sprintf("sparse LU, %s, n=%d, nnz(A)=%d, nnz(L+U)=%d, fill %.1f×, %d fronts, %d delayed, %.3g MB",
		f.ordering, f.n, f.nnzA, f.nnz, fill, len(f.fronts), f.delayed, float64(f.Bytes())/1e6)
}
