// Package sparse holds the pure-Go building blocks for sparse lumps (design
// section 8, "Sparse lumps"): the nonzero pattern of a lump's square block
// A, a column coloring that extracts A with one JVP per color instead of
// one per column, and an LU factorization with partial pivoting for banded
// A. Nothing here knows about tapes, ops or lumps; the executor maps the
// rows and columns of A to the ops' elements.
//
// It exists because gonum (gonum.org/v1/gonum, already a dependency) has no
// general banded LU: its lapack has Dgtsv (a tridiagonal solve that
// overwrites its inputs and keeps no factor) and the symmetric positive
// definite banded Cholesky Dpbtrf/Dpbtrs, but no Dgbtrf/Dgbtrs, and a
// lump's block is in general neither symmetric nor definite.
//
// # The pipeline
//
//	p := NewPattern(n, rows, cols)       // from the ops' index maps
//	color, k := ColorColumns(p)          // k JVPs instead of n
//	for c := range k {
//		SeedTo(t, color, c)                 // tangent Σ_{color j = c} e_j
//		products[c] = JVP(t)                // y_c = A t, length n
//	}
//	vals := Recover(p, color, products)   // A's values, aligned with p.Col
//	kl, ku := p.Bandwidth()
//	band, err := NewBandCSR(p, vals, kl, ku)
//	lu, err := FactorBand(band)           // check BandLUBytes(n, kl, ku) first
//	                                      // (FactorBandTo(lu, band) to refactorize)
//	lu.Solve(dy)                          // in place: dy ← A⁻¹ dy
//	lu.SolveT(cx)                         // in place: cx ← A⁻ᵀ cx
//
// # Ordering
//
// A block whose band is wide only because of its numbering is factorized
// in another order: perm := RCM(p) (reverse Cuthill–McKee on A + Aᵀ), then
// f, err := FactorBandPermuted(p, vals, perm), which factorizes
// B = P A Pᵀ, B(i, j) = A(perm[i], perm[j]), as a band of
// PermutedBandwidth(p, perm) (check EstimateBandFactorBytes first). RCM
// gives bandwidth 1 for a tridiagonal block in any numbering and 2 for a
// periodic one, but m for the m×m 5-point grid, no better than its natural
// order. f.Solve(dst, b) and f.SolveT(dst, b) solve with A itself and
// write dst, reading b in full first; they borrow scratch from a pool in
// f, allocate nothing in steady state, and are safe for concurrent use.
// The errors of FactorBandPermuted name A's indices: a *SingularError's
// Row is perm[k], the original unknown at the failed step k.
//
// # Sparse LU
//
// A block whose band stays wide in every order, such as the 5-point
// stencil of a 2-D grid, is factorized by the sparse LU instead:
//
//	perm := NestedDissection(p)           // fill-reducing order of A + Aᵀ
//	an := AnalyzeSparse(p, perm)          // symbolic: no values, no factor
//	if an.PeakBytes() > budget { … }      // refuse before allocating
//	f, err := an.Factor(vals)             // or FactorSparse(p, vals, perm)
//	f.Solve(dst, b); f.SolveT(dst, b)     // as BandFactor's
//
// NestedDissection splits the graph by level-structure separators (George
// and Liu) down to leaves of 64 nodes ordered by minimum degree. The
// analysis builds the elimination tree of B + Bᵀ, B = P A Pᵀ, its column
// counts and supernodes, and predicts the factor's size exactly when no
// pivot is delayed (AnalyzeSparse's Bytes, NNZ) and the peak memory of
// the factorization (PeakBytes). Factor is multifrontal: each supernode
// assembles a dense front, eliminates its columns with threshold partial
// pivoting (the diagonal while it is within a factor 10 of its column's
// largest entry, else the largest fully summed one, else the column is
// delayed to the parent front) and passes its Schur complement up; the
// dense updates run on gonum's BLAS, independent subtrees on separate
// goroutines. On the 5-point grid with k = 1000 (n = 10⁶) the fill
// nnz(L+U)/nnz(A) is 12.4 and the whole pipeline takes seconds (see
// BenchmarkFactorSparse), against 24 GB for the band. A *SingularError
// from Factor names the ORIGINAL index of the dependent column; its
// message speaks of a band matrix and an elimination step, but the
// number is that column.
//
// # Storage
//
// Pattern is compressed sparse row (CSR): the columns of row i are
// Col[RowPtr[i]:RowPtr[i+1]], strictly increasing. A CSR value array is
// aligned with Col: value k belongs to row i and column Col[k].
//
// Band and BandLU are column-major band storage as in LAPACK. Band holds
// A(i, j) for −kl ≤ j−i ≤ ku in a leading dimension of kl+ku+1 (the dgbmv
// layout). BandLU holds the factor in the dgbtrf layout, leading dimension
// ldab = 2kl+ku+1: partial pivoting inside the band lets U grow from ku to
// kl+ku super-diagonals, and the kl extra rows hold that fill; the
// multipliers of L sit below the diagonal of their column.
//
// # Ownership and aliasing
//
// Inputs are never modified: FactorBand copies its Band, Recover and
// NewBandCSR read their arguments. A function named ...To writes into its
// first argument dst, which must not alias an input; FactorBandTo reuses
// dst's memory for a refactorization. Solve and SolveT
// overwrite their argument in place and allocate nothing. Only FactorBandTo
// changes a BandLU, so several goroutines may call Solve and SolveT on one
// BandLU with distinct vectors.
//
// # Errors
//
// Caller mistakes (a negative size, a slice of the wrong length, an index
// out of range, a nil argument, a coloring that is not valid for the
// pattern) panic with a constant "sparse: ..." string; each exported doc
// comment says which. Failures that depend on the values return typed
// errors that errors.As can match:
//
//   - *SingularError: FactorBand met a zero pivot. Its Row is the index of
//     the elimination step, the first column of A that is linearly
//     dependent on the columns before it. This package knows nothing of
//     the program, so the caller maps Row to the op (and tape position) whose
//     element is unknown Row of the lump. errors.Is(err, ErrSingular) is
//     true for it.
//   - *NotFiniteError: the block holds a NaN or an infinity.
//   - *OutsideBandError: a nonzero of the pattern lies outside the band
//     given to NewBandCSR.
//
// No function returns NaN, or a silent zero, in place of an error.
//
// # Cost
//
// ColorColumns is O(Σ_i nnz(row i)²) time and O(n + nnz) memory (its
// lattice step, tried only where greedy is above the lower bound, adds
// O(nnz) and a bounded number of O(nnz) checks). For a band of half-width b
// it gives 2b+1 colors (3 for a tridiagonal block); for the 2-D 5-point
// stencil in natural order it gives the optimal 5, where greedy takes 7.
// FactorBand is O(n·kl·(kl+ku)) flops and BandLUBytes(n, kl, ku) =
// 8·n·(2kl+ku+2) bytes; Solve and SolveT are O(n·(2kl+ku)). The band
// approach suits stencils along one axis. It does not suit a 2-D grid in
// natural ordering: the 5-point stencil on an m×m grid has kl = ku = m, so
// the factor costs O(m⁴) flops and O(m³) memory (24 GB for m = 1000),
// where nested dissection and a sparse LU need O(m³) flops and
// O(m² log m) fill; that is a later step.
package sparse
