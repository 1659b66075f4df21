package cpu

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/invad/invad/internal/logprod"
)

// BatchGrowthMax is the pivot growth factor ρ = max|U|/max|A| past which
// FactorBatch refuses a block. The LU factors with partial pivoting are the
// exact factors of A+ΔA with |ΔA| ≤ γ_k|L||U| ≤ k²·ε·ρ·max|A| (Higham,
// Accuracy and Stability of Numerical Algorithms, Thm 9.3, with |L| ≤ 1), so at
// ρ = 2²⁶ ≈ 1/√ε the factors may already be wrong in the eighth digit, before
// the conditioning of the solve loses any more. Partial pivoting bounds ρ by
// 2^(k-1), so only blocks of order 28 or more (or an overflow) can reach it.
const BatchGrowthMax = 0x1p26

// BatchLU holds the LU factorizations with partial pivoting, P_b A_b = L_b U_b,
// of m independent k×k blocks. Its methods are safe for concurrent use.
type BatchLU struct{ batchLU[float64] }

// float is the element type of a batched LU: BatchLU computes in float64,
// BatchLU32 in float32.
type float interface{ float32 | float64 }

// batchLU is the storage, the solves and the log-determinants that BatchLU
// and BatchLU32 share. The factor kernels are written per type: those of
// float64 keep maxima of |x| as integer maxima of Float64bits, which generic
// code cannot express without losing their speed.
type batchLU[T float] struct {
	k, m int
	// lu holds the factors: U on and above the diagonal, the multipliers
	// of the unit lower triangular L below it. For k ≤ 4 block b is at
	// lu[b*k*k:(b+1)*k*k], row-major; for k ≥ 5 the blocks are in tiles of
	// tile blocks in batch-minor layout (see factorGeneric).
	lu []T
	// code holds, for 2 ≤ k ≤ 4, the permutation of block b in two bits a
	// row: row i of P_b A_b is row code[b]>>(2i)&3 of A_b.
	code []uint8
	// piv holds, for k ≥ 5, the pivot rows of the elimination steps, per
	// tile as lu.
	piv    []int32
	tile   int
	logdet float64
	growth float64
}

// BatchSingular describes the first block that FactorBatch refused.
type BatchSingular struct {
	Block int     // index of the first refused block
	Row   int     // elimination step of the bad pivot, row of the non-finite entry, or -1 for pivot growth
	Pivot float64 // the bad pivot, the non-finite entry, or the growth factor
	// Figure names what Pivot is: "pivot", "non-finite entry" or "pivot
	// growth".
	Figure string
	Why    string
}

// Error makes a *BatchSingular usable as an error. A nil *BatchSingular stored
// in an error interface is not a nil error: convert only after checking.
func (s *BatchSingular) Error() string {
	return fmt.Sprintf("cpu: batched LU block %d, row %d: %s", s.Block, s.Row, s.Why)
}

// FactorBatch factorizes m blocks of order k given in batch-minor
// ("interleaved") layout: entry (i, j) of block b is a[(i*k+j)*m + b]. This is
// the layout in which the blocks arrive: k JVPs give k tangent tensors of m
// elements each. a is not modified, and no reference to it is kept.
//
// FactorBatch refuses the whole batch, returning a nil *BatchLU and the first
// (lowest-index) refused block, when a block
//   - has a NaN or infinite entry;
//   - has a pivot |u_ii| ≤ RCondMin/k·max|A_b|, zero included. Since
//     max|A|/|u_ii| ≤ k·‖A‖∞‖A⁻¹‖∞ (U⁻¹ = A⁻¹PᵀL and ‖L‖∞ ≤ k), such a pivot
//     proves, up to rounding, that the block's condition number κ∞ exceeds
//     1/RCondMin, the bound FactorLU puts on its condition estimate. This is
//     a cheap one-sided test: an ill-conditioned block whose pivots stay
//     large is not caught;
//   - has pivot growth max|U_b|/max|A_b| above BatchGrowthMax (which also
//     catches an overflow in the elimination).
//
// FactorBatch panics if k or m is negative or len(a) != k*k*m.
func FactorBatch(a []float64, k, m int) (*BatchLU, *BatchSingular) {
	f := new(BatchLU)
	if sing := FactorBatchTo(f, a, k, m); sing != nil {
		return nil, sing
	}
	return f, nil
}

// FactorBatchTo is FactorBatch into dst, whose storage it reuses when large
// enough: a loop that factorizes batches of one shape allocates only once.
// dst may be the zero BatchLU. On a refusal dst holds an empty batch (K and M
// are 0) and keeps its storage. dst must not be in use by another goroutine.
// FactorBatchTo panics as FactorBatch does.
func FactorBatchTo(dst *BatchLU, a []float64, k, m int) *BatchSingular {
	f := dst
	return factorBatch(&f.batchLU, a, k, m, "FactorBatch", func(lo, hi int, c *batchChunk) {
		switch k {
		case 1:
			f.factor1(a, lo, hi, c)
		case 2:
			f.factor2(a, lo, hi, c)
		case 3:
			f.factor3(a, lo, hi, c)
		case 4:
			f.factor4(a, lo, hi, c)
		default:
			f.factorGeneric(a, lo, hi, c)
		}
	})
}

// factorBatch checks the shape given to the function name, sets f up for m
// blocks of order k, reusing its storage, and runs kernel over the blocks (k
// ≤ 4) or the tiles (k ≥ 5) [lo, hi) in parallel, each range with its own
// chunk. It returns the first refused block, leaving f empty, or nil.
func factorBatch[T float](f *batchLU[T], a []T, k, m int, name string, kernel func(lo, hi int, c *batchChunk)) *BatchSingular {
	if k < 0 || m < 0 {
		panic(fmt.Sprintf("cpu: %s of %d blocks of order %d", name, m, k))
	}
	if k > 0 && m > 0 && (k > math.MaxInt/k || k*k > math.MaxInt/m) || len(a) != k*k*m {
		panic(fmt.Sprintf("cpu: %s of %d elements as %d blocks of order %d", name, len(a), m, k))
	}
	*f = batchLU[T]{k: k, m: m, lu: resize(f.lu, k*k*m), code: f.code[:0], piv: f.piv[:0]}
	switch {
	case k >= 2 && k <= 4:
		f.code = resize(f.code, m)
	case k >= 5:
		f.piv = resize(f.piv, k*m)
		f.tile = genericTile(k)
	}
	if k == 0 || m == 0 {
		return nil
	}
	var (
		mu     sync.Mutex
		chunks []batchChunk
	)
	// lo and hi count blocks for k ≤ 4, tiles for k ≥ 5.
	body := func(lo, hi int) {
		c := batchChunk{lo: lo, acc: logprod.New()}
		kernel(lo, hi, &c)
		mu.Lock()
		chunks = append(chunks, c)
		mu.Unlock()
	}
	if work := k * k * (k + 3) / 3; k <= 4 {
		forBlocks(m, work, body)
	} else {
		f.forTiles(work, body)
	}
	// The chunks are disjoint ranges: in order of lo, the first refusal is
	// the first refused block, and the sum is the same for every run.
	slices.SortFunc(chunks, func(x, y batchChunk) int { return cmp.Compare(x.lo, y.lo) })
	for _, c := range chunks {
		if c.bad != nil {
			*f = batchLU[T]{lu: f.lu[:0], code: f.code[:0], piv: f.piv[:0]}
			return c.bad
		}
		f.logdet += c.acc.Log()
		f.growth = max(f.growth, c.growth)
	}
	return nil
}

// resize returns s with length n, reusing its array when large enough. The
// contents are not cleared: the kernels overwrite every element.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// K returns the order of the blocks.
func (f *BatchLU) K() int { return f.k }

// M returns the number of blocks.
func (f *BatchLU) M() int { return f.m }

// LogAbsDet returns Σ_b log|det A_b|, 0 for an empty batch.
func (f *BatchLU) LogAbsDet() float64 { return f.logdet }

// MaxGrowth returns the largest pivot growth factor max|U_b|/max|A_b| over the
// blocks: 1 for k = 1, at most 2^(k-1) in exact arithmetic, and 0 for an empty
// batch.
func (f *BatchLU) MaxGrowth() float64 { return f.growth }

// Bytes returns the bytes of storage that f holds, reused by FactorBatchTo.
func (f *BatchLU) Bytes() int64 { return f.bytes(8) }

// LogAbsDets writes log|det A_b| into dst[b] for every block. It panics if
// len(dst) != M().
func (f *BatchLU) LogAbsDets(dst []float64) { f.logAbsDets(dst, "BatchLU") }

// Solve writes A_b⁻¹ v_b into dst for every block b. v and dst are in
// batch-minor layout: element i of block b is v[i*m + b]. dst may be v itself
// but must not otherwise overlap it. Solve panics if len(v) or len(dst) is not
// K()*M().
func (f *BatchLU) Solve(dst, v []float64) { f.solve(dst, v, false, "BatchLU") }

// SolveT writes A_b⁻ᵀ v_b into dst for every block b, in the layout of Solve,
// under the same aliasing rule and panics.
func (f *BatchLU) SolveT(dst, v []float64) { f.solve(dst, v, true, "BatchLU") }

// SolveTMany is SolveT for several right-hand sides at once: dst[r] =
// A_b⁻ᵀ v[r]_b, each pair as SolveT takes it. For k ≥ 5 it solves every
// right-hand side on one tile of factors before the next, so that the
// factors come from memory once instead of once per right-hand side (the
// log-det gradient solves with every column of the blocks). It panics if
// dst and v differ in length, and as SolveT does.
func (f *BatchLU) SolveTMany(dst, v [][]float64) { f.solveTMany(dst, v, "BatchLU") }

// solveTMany is SolveTMany of the type name.
func (f *batchLU[T]) solveTMany(dst, v [][]T, name string) {
	if len(dst) != len(v) {
		panic(fmt.Sprintf("cpu: %s.SolveTMany of %d right-hand sides into %d", name, len(v), len(dst)))
	}
	k, m := f.k, f.m
	if k < 5 || len(v) < 2 {
		for r := range v {
			f.solve(dst[r], v[r], true, name)
		}
		return
	}
	for r := range v {
		if len(v[r]) != k*m || len(dst[r]) != k*m {
			panic(fmt.Sprintf("cpu: %s solve of %d blocks of order %d given %d and %d elements", name, m, k, len(v[r]), len(dst[r])))
		}
	}
	if m == 0 {
		return
	}
	f.forTiles(2*k*k*len(v), func(qlo, qhi int) {
		x := make([]T, k*f.tile)
		for q := qlo; q < qhi; q++ {
			for r := range v {
				f.solveTTile(x, dst[r], v[r], q)
			}
		}
	})
}

// bytes returns the bytes of f's slices, of elements of size bytes each.
func (f *batchLU[T]) bytes(size int64) int64 {
	return size*int64(cap(f.lu)) + int64(cap(f.code)) + 4*int64(cap(f.piv))
}

// logAbsDets is LogAbsDets of the type name.
func (f *batchLU[T]) logAbsDets(dst []float64, name string) {
	if len(dst) != f.m {
		panic(fmt.Sprintf("cpu: %s.LogAbsDets of %d blocks into %d elements", name, f.m, len(dst)))
	}
	k, kk := f.k, f.k*f.k
	switch {
	case k == 0:
		clear(dst)
	case k <= 4:
		forBlocks(f.m, 4*k, func(lo, hi int) {
			for b := lo; b < hi; b++ {
				acc := logprod.New()
				w := f.lu[b*kk : (b+1)*kk]
				for i := 0; i < kk; i += k + 1 {
					acc.Mul(float64(w[i]))
				}
				dst[b] = acc.Log()
			}
		})
	default:
		f.forTiles(4*k, func(qlo, qhi int) {
			for q := qlo; q < qhi; q++ {
				t0, n, w, _ := f.tileOf(q)
				for t := range n {
					acc := logprod.New()
					for e := 0; e < kk; e += k + 1 {
						acc.Mul(float64(w[e*n+t]))
					}
					dst[t0+t] = acc.Log()
				}
			}
		})
	}
}

// solve is Solve (trans false) or SolveT (trans true) of the type name.
func (f *batchLU[T]) solve(dst, v []T, trans bool, name string) {
	k, m := f.k, f.m
	if len(v) != k*m || len(dst) != k*m {
		panic(fmt.Sprintf("cpu: %s solve of %d blocks of order %d given %d and %d elements", name, m, k, len(v), len(dst)))
	}
	if k == 0 || m == 0 {
		return
	}
	if k >= 5 {
		f.forTiles(2*k*k, func(qlo, qhi int) {
			if trans {
				f.solveTGeneric(dst, v, qlo, qhi)
			} else {
				f.solveGeneric(dst, v, qlo, qhi)
			}
		})
		return
	}
	forBlocks(m, 2*k*k, func(lo, hi int) {
		switch {
		case k == 1:
			f.solve1(dst, v, lo, hi)
		case k == 2 && !trans:
			f.solve2(dst, v, lo, hi)
		case k == 2:
			f.solveT2(dst, v, lo, hi)
		case k == 3 && !trans:
			f.solve3(dst, v, lo, hi)
		case k == 3:
			f.solveT3(dst, v, lo, hi)
		case k == 4 && !trans:
			f.solve4(dst, v, lo, hi)
		default:
			f.solveT4(dst, v, lo, hi)
		}
	})
}

// forBlocks runs body over the blocks [0, m) like For, counting each block as
// work elementwise operations, so that a few heavy blocks still spread over
// the goroutines while many light ones stay on one.
func forBlocks(m, work int, body func(lo, hi int)) {
	work = min(max(work, 1), math.MaxInt/max(m, 1))
	if work == 1 {
		For(m, body)
		return
	}
	For(m*work, func(lo, hi int) {
		// Rounding both ends up gives disjoint ranges that cover [0, m).
		if blo, bhi := (lo+work-1)/work, (hi+work-1)/work; blo < bhi {
			body(blo, bhi)
		}
	})
}

// batchChunk is what one goroutine of FactorBatch reports.
type batchChunk struct {
	lo     int
	acc    logprod.Acc
	growth float64
	bad    *BatchSingular
}

// nonFinite reports the first NaN or infinite entry of block b, whose entry
// (i, j) is at(i*k+j).
func nonFinite(b, k int, at func(e int) float64) *BatchSingular {
	for e := 0; e < k*k; e++ {
		if x := at(e); math.IsNaN(x) || math.IsInf(x, 0) {
			return &BatchSingular{Block: b, Row: e / k, Pivot: x, Figure: "non-finite entry", Why: fmt.Sprintf("non-finite entry %v at (%d, %d)", x, e/k, e%k)}
		}
	}
	panic("cpu: nonFinite called on a finite block")
}

// badPivot reports pivot p at elimination step row of block b, refused
// against the threshold tiny.
func badPivot(b, row int, p, tiny float64) *BatchSingular {
	return pivotRefusal(b, row, p, tiny, "RCondMin")
}

// pivotRefusal reports pivot p at elimination step row of block b, refused
// against the threshold tiny = rcond/k·max|A|.
func pivotRefusal(b, row int, p, tiny float64, rcond string) *BatchSingular {
	why := "zero pivot"
	switch {
	case math.IsNaN(p) || math.IsInf(p, 0):
		why = "non-finite pivot: overflow in the elimination"
	case p != 0:
		why = fmt.Sprintf("pivot %.3g within %s/k·max|A| = %.3g: condition number above 1/%[2]s", p, rcond, tiny)
	}
	return &BatchSingular{Block: b, Row: row, Pivot: p, Figure: "pivot", Why: why}
}

// badGrowth reports the growth factor g of block b.
func badGrowth(b int, g float64) *BatchSingular {
	return growthRefusal(b, g, BatchGrowthMax, "BatchGrowthMax")
}

// growthRefusal reports the growth factor g of block b, above the bound gmax
// called name.
func growthRefusal(b int, g, gmax float64, name string) *BatchSingular {
	return &BatchSingular{Block: b, Row: -1, Pivot: g, Figure: "pivot growth", Why: fmt.Sprintf("pivot growth %.3g above %s = %.3g", g, name, gmax)}
}
