package cpu

// RCondMin32 is the float32 counterpart of RCondMin, the bound on 1/κ below
// which FactorBatch32 refuses a block (by the pivot test of FactorBatch):
// RCondMin = 1e-15 is about 4.5 ulps of 1 in float64 (ε = 2⁻⁵²), and
// RCondMin32 is the same 4.5 ulps of 1 in float32 (ε = 2⁻²³):
// RCondMin·2²⁹ ≈ 5.37e-7, so 1/RCondMin32 ≈ 1.9e6. At either bound κ·ε ≈
// 0.22: a solve may keep no correct digit, in float64 or in float32 alike.
const RCondMin32 = RCondMin * (0x1p-23 / 0x1p-52)

// BatchGrowthMax32 is the float32 counterpart of BatchGrowthMax, the pivot
// growth ρ = max|U|/max|A| past which FactorBatch32 refuses a block:
// BatchGrowthMax = 2²⁶ is 1/√ε of float64, at which the backward error
// bound k²·ε·ρ·max|A| of the factors (see BatchGrowthMax) is √ε relative;
// in float32 1/√ε = 2^11.5, rounded up to 2¹² (1/√u for the unit roundoff u =
// 2⁻²⁴), where the factors may be wrong in the fourth digit. Partial pivoting
// bounds ρ by 2^(k-1), so only blocks of order 14 or more (or an overflow,
// more likely in float32's range) can reach it.
const BatchGrowthMax32 = 0x1p12

// BatchLU32 is BatchLU in float32: the LU factorizations with partial
// pivoting, P_b A_b = L_b U_b, of m independent k×k blocks, computed and held
// in float32. The log-determinants and growth factors are float64: they are
// accumulated from the float32 pivots without further rounding to float32.
// Its methods are safe for concurrent use.
type BatchLU32 struct{ batchLU[float32] }

// FactorBatch32 is FactorBatch in float32: it factorizes m blocks of order k
// given in batch-minor layout (entry (i, j) of block b is a[(i*k+j)*m + b])
// in float32 arithmetic. a is not modified, and no reference to it is kept.
//
// FactorBatch32 refuses the whole batch, returning a nil *BatchLU32 and the
// first (lowest-index) refused block, under the rules of FactorBatch with
// float32's bounds: a NaN or infinite entry; a pivot |u_ii| ≤
// RCondMin32/k·max|A_b|, which proves κ∞ > 1/RCondMin32; pivot growth above
// BatchGrowthMax32 (which also catches an overflow in the elimination).
//
// FactorBatch32 panics if k or m is negative or len(a) != k*k*m.
func FactorBatch32(a []float32, k, m int) (*BatchLU32, *BatchSingular) {
	f := new(BatchLU32)
	if sing := FactorBatch32To(f, a, k, m); sing != nil {
		return nil, sing
	}
	return f, nil
}

// FactorBatch32To is FactorBatch32 into dst, whose storage it reuses when
// large enough: a loop that factorizes batches of one shape allocates only
// once. dst may be the zero BatchLU32. On a refusal dst holds an empty batch
// (K and M are 0) and keeps its storage. dst must not be in use by another
// goroutine. FactorBatch32To panics as FactorBatch32 does.
func FactorBatch32To(dst *BatchLU32, a []float32, k, m int) *BatchSingular {
	f := dst
	return factorBatch(&f.batchLU, a, k, m, "FactorBatch32", func(lo, hi int, c *batchChunk) {
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

// K returns the order of the blocks.
func (f *BatchLU32) K() int { return f.k }

// M returns the number of blocks.
func (f *BatchLU32) M() int { return f.m }

// LogAbsDet returns Σ_b log|det A_b|, 0 for an empty batch.
func (f *BatchLU32) LogAbsDet() float64 { return f.logdet }

// MaxGrowth returns the largest pivot growth factor max|U_b|/max|A_b| over the
// blocks: 1 for k = 1, at most 2^(k-1) in exact arithmetic, and 0 for an empty
// batch.
func (f *BatchLU32) MaxGrowth() float64 { return f.growth }

// Bytes returns the bytes of storage that f holds, reused by FactorBatch32To.
func (f *BatchLU32) Bytes() int64 { return f.bytes(4) }

// LogAbsDets writes log|det A_b| into dst[b] for every block. It panics if
// len(dst) != M().
func (f *BatchLU32) LogAbsDets(dst []float64) { f.logAbsDets(dst, "BatchLU32") }

// Solve writes A_b⁻¹ v_b into dst for every block b, in float32. v and dst
// are in batch-minor layout: element i of block b is v[i*m + b]. dst may be v
// itself but must not otherwise overlap it. Solve panics if len(v) or
// len(dst) is not K()*M().
func (f *BatchLU32) Solve(dst, v []float32) { f.solve(dst, v, false, "BatchLU32") }

// SolveT writes A_b⁻ᵀ v_b into dst for every block b, in the layout of Solve,
// under the same aliasing rule and panics.
func (f *BatchLU32) SolveT(dst, v []float32) { f.solve(dst, v, true, "BatchLU32") }

// badPivot32 reports the float32 pivot p at elimination step row of block b,
// refused against the threshold tiny = RCondMin32/k·max|A|.
func badPivot32(b, row int, p, tiny float32) *BatchSingular {
	return pivotRefusal(b, row, float64(p), float64(tiny), "RCondMin32")
}

// badGrowth32 reports the growth factor g of block b of a BatchLU32.
func badGrowth32(b int, g float64) *BatchSingular {
	return growthRefusal(b, g, BatchGrowthMax32, "BatchGrowthMax32")
}
