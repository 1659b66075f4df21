package ops

import (
	"github.com/invad/invad/cpu"
	"github.com/invad/invad/tensor"
)

// NumPy broadcasting of the binary elementwise ops: shapes are aligned on
// their last axes, a missing leading axis counts as 1, and along each axis
// the sizes are equal or one of them is 1 (that operand is read again for
// every index of the axis).

// broadcastShape returns the shape a and b broadcast to, and false if they
// do not broadcast.
func broadcastShape(a, b []int) ([]int, bool) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := range out {
		da, db := dimFromEnd(a, r-1-i), dimFromEnd(b, r-1-i)
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// dimFromEnd returns dimension len(s)-1-k of s, 1 past its first axis.
func dimFromEnd(s []int, k int) int {
	if k >= len(s) {
		return 1
	}
	return s[len(s)-1-k]
}

// bcastStrides returns, for each axis of out, the step in s's flat index
// when that axis's index grows by one: 0 along axes where s is broadcast
// (its size 1, or missing).
func bcastStrides(s, out []int) []int {
	st := make([]int, len(out))
	acc := 1
	for k := 0; k < len(s); k++ {
		i, d := len(out)-1-k, s[len(s)-1-k]
		if d != 1 {
			st[i] = acc
		}
		acc *= d
	}
	return st
}

// stridePlan walks a row-major index space (a broadcast output, a
// permuted value) with the flat indices of two operands, each stepping by
// its own stride along each axis. Axes are collapsed where both operands
// step through them contiguously, so that the inner runs are long.
type stridePlan struct {
	dims []int    // collapsed axes, outermost first
	st   [2][]int // each operand's stride along them
}

// newBcastPlan returns the plan of operands of shapes a and b broadcast to
// out (which broadcastShape gave).
func newBcastPlan(out, a, b []int) *stridePlan {
	return newStridePlan(out, bcastStrides(a, out), bcastStrides(b, out))
}

// newStridePlan returns the plan of the index space of shape dims whose
// operands step by sa and sb along its axes.
func newStridePlan(dims, sa, sb []int) *stridePlan {
	p := &stridePlan{}
	for i, d := range dims {
		if d == 1 {
			continue // its index is always 0
		}
		if n := len(p.dims) - 1; n >= 0 && p.st[0][n] == sa[i]*d && p.st[1][n] == sb[i]*d {
			// The previous axis steps over this one whole in both
			// operands: merge them.
			p.dims[n] *= d
			p.st[0][n], p.st[1][n] = sa[i], sb[i]
			continue
		}
		p.dims = append(p.dims, d)
		p.st[0] = append(p.st[0], sa[i])
		p.st[1] = append(p.st[1], sb[i])
	}
	return p
}

// inner returns the operands' strides along the innermost collapsed axis,
// the step within a run.
func (p *stridePlan) inner() (sa, sb int) {
	if r := len(p.dims); r > 0 {
		return p.st[0][r-1], p.st[1][r-1]
	}
	return 0, 0
}

// runs calls f for consecutive runs covering the flat range [lo, hi) of
// the index space: elements i..i+m-1 read a at ia + j·sa and b at ib + j·sb
// for j < m, with sa and sb from inner.
func (p *stridePlan) runs(lo, hi int, f func(i, ia, ib, m int)) {
	r := len(p.dims)
	if r == 0 {
		if lo < hi {
			f(lo, 0, 0, hi-lo)
		}
		return
	}
	idx := make([]int, r)
	ia, ib, rem := 0, 0, lo
	for d := r - 1; d >= 0; d-- {
		idx[d] = rem % p.dims[d]
		rem /= p.dims[d]
		ia += idx[d] * p.st[0][d]
		ib += idx[d] * p.st[1][d]
	}
	last := r - 1
	for i := lo; i < hi; {
		m := min(p.dims[last]-idx[last], hi-i)
		f(i, ia, ib, m)
		i += m
		idx[last] += m
		ia += m * p.st[0][last]
		ib += m * p.st[1][last]
		for d := last; d > 0 && idx[d] == p.dims[d]; d-- {
			idx[d] = 0
			ia += p.st[0][d-1] - p.dims[d]*p.st[0][d]
			ib += p.st[1][d-1] - p.dims[d]*p.st[1][d]
			idx[d-1]++
		}
	}
}

// stridedCopy walks the index space of shape dims and writes (add false) or
// adds (add true) src[Σ idx·ss] into dst[Σ idx·sd]. The destination indices
// must be distinct: the space is split across goroutines.
func stridedCopy[T tensor.Float](dst []T, sd []int, src []T, ss []int, dims []int, add bool) {
	p := newStridePlan(dims, sd, ss)
	a, b := p.inner()
	cpu.For(tensor.SizeOf(dims), func(lo, hi int) {
		p.runs(lo, hi, func(_, id, is, m int) {
			if add {
				for j := 0; j < m; j++ {
					dst[id+j*a] += src[is+j*b]
				}
				return
			}
			for j := 0; j < m; j++ {
				dst[id+j*a] = src[is+j*b]
			}
		})
	})
}
