package cuda

import (
	"fmt"
	"unsafe"

	"github.com/invad/invad/internal/cudadrv"
)

// gemmTile is the side of the square tile of C one gemm block computes, with
// gemmTile² = ewBlock threads.
const gemmTile = 16

// GemmOperand is one factor of a matrix product: a row-major matrix on the
// device with its leading dimension, read as itself or transposed.
type GemmOperand struct {
	T     *Tensor
	LD    int  // elements between rows of the stored matrix
	Trans bool // use its transpose
}

// gemmLaunch builds C = alpha·op(A)·op(B) + beta·C for op(A) m×k, op(B) k×n.
func gemmLaunch(m, n, k int, alpha float64, a, b GemmOperand, beta float64, c cudadrv.DevicePtr, ldc int) launch {
	tiles := ((m + gemmTile - 1) / gemmTile) * ((n + gemmTile - 1) / gemmTile)
	flag := func(t bool) int32 {
		if t {
			return 1
		}
		return 0
	}
	return launch{name: "gemm", grid: uint32(max(1, tiles)), block: gemmTile * gemmTile,
		args: []any{flag(a.Trans), flag(b.Trans), int64(m), int64(n), int64(k), alpha, a.T.ptr, int64(a.LD),
			b.T.ptr, int64(b.LD), beta, c, int64(ldc)}}
}

// span is the number of elements a row-major r×c matrix with leading
// dimension ld occupies.
func span(r, c, ld int) int {
	if r == 0 || c == 0 {
		return 0
	}
	return (r-1)*ld + c
}

// Gemm computes dst = alpha·op(a)·op(b) + beta·dst for op(a) of m×k and
// op(b) of k×n, dst m×n row-major with leading dimension ldc; beta = 0
// ignores dst's contents. It covers ops.MatMul's forward (a·b), JVP
// (da·b + a·db, as two calls with beta 1 on the second) and VJP (g·bᵀ and
// aᵀ·g). It panics on a missing operand, a leading dimension below a row's
// length, an operand too short for its shape, or dst overlapping a or b
// (the same tensor).
func (b *Backend) Gemm(m, n, k int, alpha float64, a, bm GemmOperand, beta float64, dst *Tensor, ldc int) error {
	if a.T == nil || bm.T == nil || dst == nil {
		panic("cuda: Gemm: missing operand")
	}
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("cuda: Gemm of %d×%d by %d×%d", m, k, k, n))
	}
	b.same(a.T, bm.T, dst)
	if dst == a.T || dst == bm.T {
		panic("cuda: Gemm: dst is one of its factors")
	}
	check := func(what string, t *Tensor, rows, cols, ld int) {
		if ld < cols || t.n < span(rows, cols, ld) {
			panic(fmt.Sprintf("cuda: Gemm: %s of %d elements with leading dimension %d cannot hold %d×%d", what, t.n, ld, rows, cols))
		}
	}
	ar, ac := m, k
	if a.Trans {
		ar, ac = k, m
	}
	br, bc := k, n
	if bm.Trans {
		br, bc = n, k
	}
	check("a", a.T, ar, ac, a.LD)
	check("b", bm.T, br, bc, bm.LD)
	check("dst", dst, m, n, ldc)
	if m == 0 || n == 0 {
		return nil
	}
	l := gemmLaunch(m, n, k, alpha, a, bm, beta, dst.ptr, ldc)
	return b.do(func() error {
		if b.blas != nil && k > 0 { // cuBLAS refuses the leading dimensions of a k = 0 product
			return b.gemmCuBLAS(m, n, k, alpha, a, bm, beta, dst.ptr, ldc)
		}
		return b.launch(l)
	})
}

// gemmBatchedLaunch builds batch products C_s = alpha·op(A_s)·op(B_s) +
// beta·C_s, X_s at X's element s·stride.
func gemmBatchedLaunch(batch, m, n, k int, alpha float64, a GemmOperand, sa int, b GemmOperand, sb int, beta float64, c cudadrv.DevicePtr, ldc, sc int) launch {
	l := gemmLaunch(m, n, k, alpha, a, b, beta, c, ldc)
	tiles := int(l.grid)
	l.name, l.grid = "gemm_batched", uint32(tiles*batch)
	l.args = []any{l.args[0], l.args[1], int64(m), int64(n), int64(k), alpha, a.T.ptr, int64(a.LD), int64(sa),
		b.T.ptr, int64(b.LD), int64(sb), beta, c, int64(ldc), int64(sc)}
	return l
}

// GemmBatched computes batch products dst_s = alpha·op(a_s)·op(b_s) +
// beta·dst_s for s < batch, as Gemm does each, in one launch: x_s is the
// matrix of x starting at element s·stride of its tensor (a stride of 0
// reads the same matrix for every product). It always runs the package's
// kernel (cuBLAS, where enabled, serves Gemm only). It panics as Gemm does,
// for a negative batch or stride, a batch whose last matrix does not fit
// in its tensor, products of more than 2³¹ − 1 tiles in all, or dst
// matrices that overlap each other (sc below dst's span).
func (b *Backend) GemmBatched(batch, m, n, k int, alpha float64, a GemmOperand, sa int, bm GemmOperand, sb int, beta float64, dst *Tensor, ldc, sc int) error {
	if a.T == nil || bm.T == nil || dst == nil {
		panic("cuda: GemmBatched: missing operand")
	}
	if batch < 0 || m < 0 || n < 0 || k < 0 || sa < 0 || sb < 0 || sc < 0 {
		panic(fmt.Sprintf("cuda: GemmBatched of %d products %d×%d by %d×%d, strides %d %d %d", batch, m, k, k, n, sa, sb, sc))
	}
	b.same(a.T, bm.T, dst)
	if dst == a.T || dst == bm.T {
		panic("cuda: GemmBatched: dst is one of its factors")
	}
	check := func(what string, t *Tensor, rows, cols, ld, stride int) {
		if ld < cols || (batch > 0 && rows > 0 && cols > 0 && t.n < (batch-1)*stride+span(rows, cols, ld)) {
			panic(fmt.Sprintf("cuda: GemmBatched: %s of %d elements with leading dimension %d and stride %d cannot hold %d matrices %d×%d", what, t.n, ld, stride, batch, rows, cols))
		}
	}
	ar, ac := m, k
	if a.Trans {
		ar, ac = k, m
	}
	br, bc := k, n
	if bm.Trans {
		br, bc = n, k
	}
	check("a", a.T, ar, ac, a.LD, sa)
	check("b", bm.T, br, bc, bm.LD, sb)
	check("dst", dst, m, n, ldc, sc)
	if batch > 1 && sc < span(m, n, ldc) {
		panic(fmt.Sprintf("cuda: GemmBatched: dst matrices %d×%d (leading dimension %d) overlap at stride %d", m, n, ldc, sc))
	}
	if batch == 0 || m == 0 || n == 0 {
		return nil
	}
	if tiles := ((m + gemmTile - 1) / gemmTile) * ((n + gemmTile - 1) / gemmTile); tiles*batch > 1<<31-1 {
		panic(fmt.Sprintf("cuda: GemmBatched: %d products of %d tiles", batch, tiles))
	}
	l := gemmBatchedLaunch(batch, m, n, k, alpha, a, sa, bm, sb, beta, dst.ptr, ldc, sc)
	return b.do(func() error { return b.launch(l) })
}

// scratchPartials returns the Backend's partial-sums buffer of ewMaxGrid elements.
func (b *Backend) scratchPartials() (cudadrv.DevicePtr, error) {
	if b.scrat == nil {
		t, err := b.allocBytes(8*ewMaxGrid, []int{ewMaxGrid}, ewMaxGrid)
		if err != nil {
			return 0, err
		}
		b.scrat = t
	}
	return b.scrat.ptr, nil
}

// Sum writes Σ x into dst[0] (ops.Sum's forward), summing in an order that
// depends only on x's length. dst has one element.
func (b *Backend) Sum(dst, x *Tensor) error {
	if dst == nil || x == nil || dst.n != 1 {
		panic("cuda: Sum: missing operand or dst not of one element")
	}
	b.same(dst, x)
	grid := ewGrid(x.n)
	return b.do(func() error {
		part, err := b.scratchPartials()
		if err != nil {
			return err
		}
		if err := b.launch(launch{name: "sum_part", grid: grid, block: ewBlock, args: []any{int64(x.n), part, x.ptr}}); err != nil {
			return err
		}
		return b.launch(launch{name: "sum_finish", grid: 1, block: ewBlock, args: []any{int32(grid), dst.ptr, part}})
	})
}

// AddScalar adds c[0] to every element of g (ops.Sum's VJP). c has one
// element.
func (b *Backend) AddScalar(g, c *Tensor) error {
	if g == nil || c == nil || c.n != 1 {
		panic("cuda: AddScalar: missing operand or c not of one element")
	}
	b.same(g, c)
	if g.n == 0 {
		return nil
	}
	return b.do(func() error {
		return b.launch(launch{name: "bcast_add", grid: ewGrid(g.n), block: ewBlock, args: []any{int64(g.n), g.ptr, c.ptr}})
	})
}

// scanChunk is the number of rows one thread scans: at least 64, and enough
// that the carries of one column stay under 2¹⁶ chunks.
func scanChunk(r int) int { return max(64, (r+1<<16-1)>>16) }

// scanLaunches builds the three launches of a scan of r rows of c columns.
func scanLaunches(r, c int, rev bool, y, x, part cudadrv.DevicePtr) []launch {
	L := scanChunk(r)
	nq := (r + L - 1) / L
	rv := int32(0)
	if rev {
		rv = 1
	}
	return []launch{
		{name: "scan_chunks", grid: ewGrid(nq * c), block: ewBlock, args: []any{int64(r), int64(c), int64(L), rv, y, x, part}},
		{name: "scan_carry", grid: ewGrid(c), block: ewBlock, args: []any{int64(nq), int64(c), rv, part}},
		{name: "scan_add", grid: ewGrid(r * c), block: ewBlock, args: []any{int64(r), int64(c), int64(L), y, part}},
	}
}

// rowsOf checks that x's n elements are rows of c columns and returns the
// number of rows.
func rowsOf(what string, n, c int) int {
	if c <= 0 || n%c != 0 {
		panic(fmt.Sprintf("cuda: %s: %d elements are not rows of %d columns", what, n, c))
	}
	return n / c
}

// Cumsum writes into dst the cumulative sum of x along axis 0, x seen as
// rows of cols columns (cols: the product of the trailing dimensions):
// ops.Cumsum's forward and JVP, or with reverse the sum from the last row
// up, its VJP. dst may be x.
func (b *Backend) Cumsum(dst, x *Tensor, cols int, reverse bool) error {
	if dst == nil || x == nil || dst.n != x.n {
		panic("cuda: Cumsum: missing operand or lengths differ")
	}
	b.same(dst, x)
	r := rowsOf("Cumsum", x.n, cols)
	if x.n == 0 {
		return nil
	}
	return b.do(func() error {
		L := scanChunk(r)
		part, err := b.allocBytes(8*((r+L-1)/L)*cols, nil, 0)
		if err != nil {
			return err
		}
		defer b.alloc.put(part.ptr, part.class) // do holds the lock that Free takes
		for _, l := range scanLaunches(r, cols, reverse, dst.ptr, x.ptr, part.ptr) {
			if err := b.launch(l); err != nil {
				return err
			}
		}
		return nil
	})
}

// CumsumDiff writes into dst the differences of consecutive rows of x,
// x seen as rows of cols columns: dst = J⁻¹·x for Cumsum's Jacobian J, or
// with transpose J⁻ᵀ·x (differences with the next row). dst must not be x.
func (b *Backend) CumsumDiff(dst, x *Tensor, cols int, transpose bool) error {
	if dst == nil || x == nil || dst.n != x.n || dst == x {
		panic("cuda: CumsumDiff: missing operand, lengths differ, or dst is x")
	}
	b.same(dst, x)
	r := rowsOf("CumsumDiff", x.n, cols)
	if x.n == 0 {
		return nil
	}
	rv := int32(0)
	if transpose {
		rv = 1
	}
	return b.do(func() error {
		return b.launch(launch{name: "scan_diff", grid: ewGrid(x.n), block: ewBlock,
			args: []any{int64(r), int64(cols), rv, dst.ptr, x.ptr}})
	})
}

// diagCheck returns Σ log|d_i| and the first index whose d_i cannot be
// inverted (zero, non-finite, or with an overflowing reciprocal), or
// d.Len() if there is none: the checks of a diagonal factor, with two
// scalars copied back. d must have fewer than 2³¹ elements.
func (b *Backend) diagCheck(d *Tensor) (logdet float64, firstBad int, err error) {
	if d.n >= 1<<31 {
		panic(fmt.Sprintf("cuda: diagCheck of %d elements", d.n))
	}
	b.same(d)
	if d.n == 0 {
		return 0, 0, nil
	}
	grid := ewGrid(d.n)
	err = b.do(func() error {
		part, err := b.scratchPartials()
		if err != nil {
			return err
		}
		out, err := b.allocBytes(16, nil, 0) // the sum, then the index
		if err != nil {
			return err
		}
		defer b.alloc.put(out.ptr, out.class)
		idx := out.ptr + 8
		if err := b.dev.memsetD32(idx, uint32(d.n), 1); err != nil {
			return err
		}
		if err := b.launch(launch{name: "diag_check", grid: grid, block: ewBlock, args: []any{int64(d.n), part, idx, d.ptr}}); err != nil {
			return err
		}
		if err := b.launch(launch{name: "sum_finish", grid: 1, block: ewBlock, args: []any{int32(grid), out.ptr, part}}); err != nil {
			return err
		}
		var res struct {
			sum float64
			bad int32
		}
		if err := b.dev.dtoh(unsafe.Pointer(&res), out.ptr, 12); err != nil {
			return err
		}
		logdet, firstBad = res.sum, int(res.bad)
		return nil
	})
	return logdet, firstBad, err
}
