// Package lump finds the lumps of a program: the groups of ops that inverse
// accumulation mode must treat as one square step. The mathematics is in
// docs/design.md (sections 3 to 5); this comment covers what the package
// computes and returns.
//
// Analyze(prog, maxWidth) builds the tensor-level extended Jacobian system
// of a recorded program and permutes it to block triangular form (BTF). The
// unknowns are Atoms: maximal element ranges of x or of an op output that
// the program never cuts. The equations (Eqs) are one per atom of each op
// output. A maximum flow with capacities equal to the atoms' sizes
// (flow.go) pairs each equation with the input it pivots on. The strongly
// connected components of the matched graph are the lumps. They are listed
// in Analysis.Lumps in the order inverse products solve them, and each is
// classified by Kind:
//
//   - Expansion: values recomputed from known ones by a JVP, with no solve.
//   - Step: one op pivoting on one input; the op's own inverse rule
//     factorizes it.
//   - Batch: K values of M elements coupled elementwise, giving M
//     independent K×K blocks and a batched LU.
//   - DenseLump: dense LU, bounded by maxWidth.
//   - Copy: a range of y that is an atom itself.
//   - Sparse: a wide block coupled through shifted diagonals (a stencil
//     written with Slice and Concat), whose pattern (Lump.Sparse) comes from
//     the ops' index maps; formed with one JVP per column color, banded LU;
//     bounded by memory.
//
// Analysis.Layout returns what the sweeps need to lay the analysis out in
// vectors: the killed atoms, the equations' offsets in their lumps, and the
// places of the solved atoms. Package sweep compiles an Analysis into the
// plan that the CPU engine (package inverse) and the CUDA engine (package
// cuda) both run.
//
// The test oracle the tensor-level lumps are checked against is in package
// lump/lumptest: its Scalarize builds the same system with one unknown and
// one equation per scalar and permutes it by a plain maximum matching and
// Tarjan's algorithm. It is for small programs in tests, not a runtime path.
//
// # The extended system
//
// For a program y = f(x) with f: Rⁿ → Rⁿ the unknowns are the tangents of
// every varying value except y: the elements of x and of every op output.
// The equations are, for every element of every op output v other than y,
//
//	dv − Σ_u J_vu du = 0,
//
// and for every element of y
//
//	Σ_u J_yu du = dy,
//
// where the sums run over v's varying inputs u. Constants carry no tangent,
// and an input read twice contributes the sum of both blocks. Eliminating
// the intermediate unknowns (unit lower triangular in tape order) leaves
// J dx = dy. So the x part of the solution is J⁻¹ dy, and |det| of the
// system equals |det J|.
//
// At tensor level (Analyze) ops that only relabel elements (Reshape, Slice,
// Concat, and any op whose varying blocks are identities or selections)
// have no equation of their own: their outputs are mapped to element
// ranges of base values (Analysis.Segs), so that a split of x is never
// mistaken for a coupling of its halves. An equation touches an atom by a
// Self, Diag, DenseEdge or Pin edge, taken from the ops' declared
// tape.Structure, not from the values at the recorded point (the oracle in
// lump/lumptest, which reads structure off the values, documents how the
// two can differ).
//
// # Blocks
//
// The blocks are the strongly connected components of the matched graph
// (equation q depends on equation p when q has a nonzero in the unknown
// matched to p). They are listed in an order in which they can be solved one
// after the other: from y back towards x. By Duff's theorem the blocks, as
// sets of equations and unknowns, do not depend on which perfect matching
// (here, which maximum flow) was found.
//
// A block's Killed unknowns are those whose own equation is not in the
// block (elements of x, or of values computed before the block). Its
// Created equations are those whose own unknown is not in it (elements of y,
// or of values read after the block). The other unknowns and equations
// belong to values computed and consumed inside the block (expansions such
// as the product terms of a rotation). Eliminating them leaves the block's
// square A = ∂Created/∂Killed, and log|det block| = log|det A|. In Analyze a
// Lump lists them as Killed, Created and Internal, and A has order Width.
//
// # Errors
//
// Caller mistakes (an output whose size differs from the input's) panic
// with a message starting with "lump: ". Data-dependent failures are
// returned as typed errors that errors.Is and errors.As match:
//
//   - *StructurallySingularError (ErrStructurallySingular): no perfect
//     matching exists. The error names the values where the width drops,
//     read off a minimum cut.
//   - *LumpTooLargeError (ErrLumpTooLarge): Analyze found a dense lump wider
//     than maxWidth. The error names the lump's ops.
//   - *SingularBlockError (tape.ErrSingular): a block is numerically
//     singular. Package sweep returns it for a lump whose factorization
//     fails; lumptest.Scalarize returns it for a singular block.
//
// # Ownership
//
// Analyze reads the program and its values. An Analysis keeps a reference
// to the program (Analysis.Prog) and to its nodes. It is immutable once
// built and safe for concurrent use. Layout allocates a new Layout on each
// call.
package lump
