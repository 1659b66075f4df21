// Package lumptest is the scalar-level test oracle of package lump: the
// reference that the tensor-level lumps of lump.Analyze are checked against
// on small programs. It is test support, not a runtime path: it costs one JVP
// per scalar input of every op and dense storage per op, and Scalarize
// refuses systems with more scalar unknowns than the limit it is given.
//
// Scalarize writes a linearized program as its extended Jacobian system
// (described in package lump) with one unknown and one equation per
// scalar, and permutes it to block triangular form (BTF) by a plain maximum
// matching (Hopcroft–Karp) and Tarjan's algorithm. The ScalarBTF it returns
// lists the blocks in solve order, solves J dx = dy block by block with
// dense LUs, and gives log|det J|.
//
// # The extended system at scalar level
//
// Every element of x and of every op output other than y is an unknown, and
// every element of every op output is an equation. Views (Reshape, Slice,
// Concat outputs) are values like any other: they have unknowns and
// equations of their own, where lump.Analyze maps them to ranges of base
// values. Unknowns are numbered x first, then the op outputs in tape order,
// and an element is named by an Elem: the value's ID on its tape and the
// element's flat row-major index. The blocks J_vu come from the op's own
// JVP with unit tangents at the recorded point; constants carry no tangent,
// and an input read twice contributes the sum of both blocks.
//
// # Structure is numerical in the oracle
//
// A structural nonzero is an entry that is numerically nonzero at the
// recorded point. An entry that vanishes there (cos x at x = π/2, x·x at
// x = 0, the two blocks of x − x cancelling) is a structural zero. At such a
// point the oracle may report finer blocks, or a structurally singular
// system, where lump.Analyze, which uses the ops' declared tape.Structure,
// would not. Test programs should be linearized at generic points.
//
// # Blocks
//
// The blocks are the strongly connected components of the matched graph
// (equation q depends on equation p when q has a nonzero in the unknown
// matched to p), listed in an order in which they can be solved one after
// the other: from y back towards x. By Duff's theorem the blocks, as sets of
// equations and unknowns, do not depend on which perfect matching was found
// (ScalarizeShuffled lets tests check this on other matchings). The pairing
// of equations to unknowns inside a block does depend on it, and is not
// reported.
//
// A Block's Killed unknowns are those whose own equation is not in the
// block (elements of x, or of values computed before the block). Its
// Created equations are those whose own unknown is not in it (elements of
// y, or of values read after the block). The other unknowns and equations
// belong to values computed and consumed inside the block; eliminating them
// leaves the block's square A = ∂Created/∂Killed, of order Width, and
// log|det block| = log|det A|. A self-matched expansion is a block of size
// 1 with width 0.
//
// # Errors
//
// Caller mistakes (a nil program, an output whose size differs from the
// input's, a limit below 1, a dy of the wrong length) panic with a message
// starting with "lumptest: ". Data-dependent failures are returned as typed
// errors that errors.Is and errors.As match:
//
//   - *TooLargeError (ErrTooLarge): the system has more scalar unknowns than
//     Scalarize's limit.
//   - *NonFiniteError (ErrNonFinite): a JVP yields NaN or ±Inf.
//   - *lump.StructurallySingularError (lump.ErrStructurallySingular): no
//     perfect matching exists. Its Cut is the minimum cut closest to y, read
//     off König's theorem, and does not depend on the matching.
//   - *lump.SingularBlockError (tape.ErrSingular): a block's LU is singular
//     or its condition number exceeds mat.ConditionTolerance.
//
// # Ownership
//
// Scalarize reads the program and its values and keeps no reference to
// them. A ScalarBTF is immutable once built and safe for concurrent use;
// the blocks that Blocks returns are its own and must not be modified.
// Solve and ExternalReads allocate their results, and Solve never modifies
// its argument.
package lumptest
