package sweep

import (
	"errors"
	"fmt"
	"math"

	"github.com/invad/invad/lump"
	"github.com/invad/invad/sparse"
)

// Engine is what the executor needs of a backend: vectors of type V (host
// tensors on the CPU, device tensors on a GPU), the op rules on them, and
// the factorization of a lump's block. V's zero value is "no vector": a
// symbolic zero tangent in JVP, an input that takes no cotangent in VJP.
//
// The vector operations work on element ranges [off, off+n) of whole
// vectors, so the executor never builds views in its loops. A CPU engine is
// stateless and safe for concurrent products; a device engine may keep the
// first error of a product (Err) and so serves one product at a time.
type Engine[V comparable] interface {
	// Alloc returns a vector of n elements, zeroed; Free gives one back.
	Alloc(n int) V
	Free(v V)
	// Shaped returns elements [off, off+size(shape)) of v as a tensor of
	// that shape, sharing v's memory: the form the op rules take.
	Shaped(v V, off int, shape []int) V
	// Upload writes host values into v's first len(host) elements.
	Upload(v V, host []float64)

	Zero(v V, off, n int)
	Copy(dst V, doff int, src V, soff, n int)
	// Scale sets dst = a·src; dst may be src.
	Scale(dst V, doff int, a float64, src V, soff, n int)
	// Axpy adds a·src into dst.
	Axpy(dst V, doff int, a float64, src V, soff, n int)
	// SubFrom sets r = b − r.
	SubFrom(r V, roff int, b V, boff, n int)

	// JVP writes Σ J_i t[i] of the program's node-th op into dst (t[i]
	// zero: a zero tangent; at least one is set).
	JVP(node int, dst V, t []V)
	// VJP adds J_iᵀ c into every set dst[i] (two entries may be the same
	// vector: an input read twice).
	VJP(node int, dst []V, c V)

	// Factor factorizes a lump's block (see Block). Singular blocks give
	// *Singular (batch and dense) or the op's own error (a step).
	Factor(b Block[V]) (Factor[V], error)

	// Err returns the first error of the engine's operations since the
	// last call, and forgets it (nil on the CPU).
	Err() error
}

// Block is a lump's block handed to Engine.Factor.
type Block[V any] struct {
	Index int        // the lump's position in solve order
	Lump  *lump.Lump // its analysis: Kind, Width, K, M, Node, Input
	// Node is a Step's op as its position in the program's Nodes.
	Node int
	// A is the block the executor built from JVP columns: for a Batch, the
	// M independent K×K blocks batch-minor (entry (i, j) of block b at
	// (i·K+j)·M + b, i over created equations, j over killed atoms); for a
	// DenseLump, the Width×Width block column-major (column c at c·Width);
	// for a Sparse lump, the products of A with each color's seed
	// (Lump.Sparse), color-major (product c at c·Width), whose values
	// HostSparseFactor reads off. Zero for the other kinds. Factor does not
	// keep it.
	A V
}

// Factor is a factorization of one lump's square block, on one engine.
type Factor[V any] interface {
	// Solve writes A⁻¹ v into dst, SolveT A⁻ᵀ v; dst and v are different
	// vectors of the block's order.
	Solve(dst, v V) error
	SolveT(dst, v V) error
	LogAbsDet() float64
	// Describe says how the block was factorized ("batched LU", "op rule:
	// diagonal", ...) and, where measured, its largest pivot growth or
	// condition estimate (else 0).
	Describe() (how string, growth float64)
	// Bytes is the memory the factorization holds.
	Bytes() int64
	// Free gives its memory back (device factors); it is not used after.
	Free()
}

// Singular is a batch or dense block the engine refused: the executor
// turns it into *lump.SingularBlockError naming the lump's ops.
type Singular struct {
	Pivot  float64 // the offending pivot, entry, growth or condition figure
	Figure string  // what Pivot is: "pivot", "non-finite entry", "pivot growth", "reciprocal condition estimate"
	Why    string  // the engine's words
}

func (s *Singular) Error() string { return s.Why }

// HostSparseFactor reads a Sparse lump's block off its colored products
// (host memory, as Block.A holds them) and factorizes it by the lump's
// choice: a banded LU in its order, or a sparse LU on its symbolic
// analysis. It is the factorization both engines keep on the host. A zero
// pivot is *Singular naming the row of A (in created order).
func HostSparseFactor(lp *lump.Lump, products []float64) (SparseFactor, error) {
	sb := lp.Sparse
	n := lp.Width
	prods := make([][]float64, sb.Colors)
	for c := range prods {
		prods[c] = products[c*n : (c+1)*n]
	}
	var f SparseFactor
	var err error
	if sb.LU != nil {
		var lu *sparse.SparseLU
		if lu, err = sb.LU.Factor(sparse.Recover(sb.Pattern, sb.Color, prods)); err == nil {
			f = lu // a SparseFactor as it is
		}
	} else {
		var band *sparse.BandFactor
		if band, err = sparse.FactorBandColored(sb.Pattern, sb.Color, prods, sb.Perm); err == nil {
			kl, ku := band.Bandwidth()
			f = bandLU{band, fmt.Sprintf("banded LU, band %d+%d", kl, ku)}
		}
	}
	var se *sparse.SingularError
	if errors.As(err, &se) {
		return nil, &Singular{Pivot: se.Pivot, Figure: "pivot", Why: fmt.Sprintf("sparse: zero pivot at row %d of the block", se.Row)}
	}
	if err != nil {
		return nil, &Singular{Pivot: math.NaN(), Figure: "non-finite entry", Why: err.Error()}
	}
	return f, nil
}

// SparseFactor is a sparse lump's factorization on the host: solves in A
// and Aᵀ (dst and b may be the same slice), log|det A|, its memory and how
// it was made.
type SparseFactor interface {
	Solve(dst, b []float64)
	SolveT(dst, b []float64)
	LogAbsDet() float64
	Bytes() int64
	Describe() string
}

// bandLU is a banded LU with the words Describe gives.
type bandLU struct {
	*sparse.BandFactor
	how string
}

func (f bandLU) Describe() string { return f.how }
