// Package lump finds the lumps of a program: the groups of ops that inverse
// accumulation mode must treat as one square step (design note
// shared/design/inverse-mode.md, section 5).
//
// For now the package holds only the scalar-level reference that the
// tensor-level lump finder will be tested against: Scalarize, which writes
// the linearized program as its extended Jacobian system with one unknown
// and one equation per scalar, and permutes that system to block triangular
// form (BTF) by a maximum matching and strongly connected components. It is
// a test oracle for small programs, not a runtime path: it costs one JVP per
// scalar input of every op and dense storage per op.
//
// # The extended system
//
// For a program y = f(x) with f: Rⁿ → Rⁿ the unknowns are the tangents of
// every varying value except y: the elements of x and of every op output
// (views such as Reshape and Slice outputs included; at scalar level they
// are values like any other). Unknowns are numbered x first, then the op
// outputs in tape order. The equations are, for every element of every op
// output v other than y,
//
//	dv − Σ_u J_vu du = 0,
//
// and for every element of y
//
//	Σ_u J_yu du = dy,
//
// where the sums run over v's varying inputs u (constants carry no tangent;
// an input read twice contributes the sum of both blocks). The blocks J_vu
// come from the op's own JVP with unit tangents at the recorded point.
// Eliminating the intermediate unknowns (unit lower triangular in tape order)
// leaves J dx = dy, so the x part of the solution is J⁻¹ dy and
// |det| of the system equals |det J|.
//
// # Structure is numerical
//
// A structural nonzero is an entry that is numerically nonzero at the
// recorded point. An entry that vanishes there (cos x at x = π/2, x·x at
// x = 0, the two blocks of x − x cancelling) is a structural zero: at such a
// point the oracle may report finer blocks, or a structurally singular
// system, where the op's declared tape.Structure would not. Test programs
// should be linearized at generic points.
//
// # Blocks
//
// The blocks are the strongly connected components of the matched graph
// (equation q depends on equation p when q has a nonzero in the unknown
// matched to p), listed in an order in which they can be solved one after
// the other: from y back towards x. By Duff's theorem the blocks, as sets of
// equations and unknowns, do not depend on which perfect matching was found;
// the pairing of equations to unknowns inside a block does, and is not
// reported.
//
// A block's Killed unknowns are those whose own equation is not in the
// block (elements of x, or of values computed before the block), its
// Created equations those whose own unknown is not in it (elements of y, or
// of values read after the block). The other unknowns and equations belong
// to values computed and consumed inside the block (expansions such as the
// product terms of a rotation); eliminating them leaves the block's square
// A = ∂Created/∂Killed of the design note, and log|det block| = log|det A|.
// A self-matched expansion is a block of size 1 with width 0.
//
// # Errors
//
// Caller mistakes (a nil program, an output whose size differs from the
// input's, a dy of the wrong length, a limit below 1) panic with a message
// starting with "lump: ". Data-dependent failures are returned as typed
// errors that errors.Is and errors.As match: *TooLargeError (ErrTooLarge)
// when the program has more scalar unknowns than the limit,
// *StructurallySingularError (ErrStructurallySingular) when no perfect
// matching exists, naming the values where the width drops;
// *SingularBlockError (tape.ErrSingular) when a block is numerically
// singular; *NonFiniteError (ErrNonFinite) when a JVP yields NaN or ±Inf.
//
// # Ownership
//
// Scalarize reads the program and its values and keeps no reference to them.
// A ScalarBTF is immutable once built; Solve allocates its result and never
// modifies its argument.
package lump
