// Package batch rewrites a program whose input is a batch of samples
// stored as rows (x of shape [B, d...], the layout of ML pipelines) into the
// same function computed on batch-minor values (every value's sample axis
// moved last), so that the lump finder sees per-sample blocks.
//
// In row-major order a row-batched product X·W (W constant) is I_B ⊗ Wᵀ:
// each sample's elements are contiguous, and the lump finder, whose
// unknowns are element ranges, can only take the whole batch as one dense
// lump of width B·d. Stored feature-major ([d..., B]), the same product is
// Wᵀ ⊗ I_B, a Kron block: each feature is a range of B elements, one per
// sample, and a lump through it is B independent blocks of the per-sample
// width, found by an analysis whose cost does not depend on B (package
// lump). Minor records that program: x moved to batch-minor order by one
// transpose (ops.Transpose), every op replaced by its batch-minor
// counterpart (the same elementwise op, Wᵀ·X' for X·W, a constant
// broadcast operand with its sample axis moved, a reshape that keeps the
// samples, SliceAxis, ConcatAxis, SumAxis and Permute along the features
// one axis lower), and the output moved back. MinorFunc gives the same
// program as a function that records it on any tape: inverse.Linearize
// decides on a shape tape and records it once, the tapeless inverse.VIJP
// streams it, cuda.Linearize records it for the device. The rewritten program maps the same x to the same y, so its
// Jacobian is J itself, and every product, log|det| and lump report of a
// Linearization built on it is J's.
//
// # Which programs
//
// Every value that depends on x must keep the samples apart along axis 0:
// elementwise ops, binary ops whose varying operands have the output's rank
// (a constant may broadcast, a varying [B, 1] operand too), X·W and X·w
// with a constant right operand, reshapes that keep the leading axis,
// slices, concatenations, sums and permutations along the other axes. An op that mixes samples (W·X, a sum
// over all elements, a slice of the batch axis, a varying operand
// broadcast over the samples) makes Minor return a *MixError naming it.
//
// # Errors
//
// Minor and MinorFunc panic on nothing a program can hold; they return
// *MixError (errors.Is ErrMixes) when the program mixes samples.
package batch
