// Package opstest is the conformance suite every invad op and every backend
// runs. A Case describes one op at one kind of point (input shapes and
// domains, which inputs are constants, an independent reference of the
// primal); Check runs every check on it and returns every failure, and Run
// reports them on a testing.TB.
//
// # What Check verifies
//
// At a seeded random point (rand.New(rand.NewPCG(1, 1)), see Inputs):
//
//   - shape: Op.Shape gives Case.Out, and panics with a message starting
//     with "ops: " for every entry of Case.BadShapes;
//   - primal: Op.Forward, into an output pre-filled with NaN, matches
//     Case.Ref (and so does Viewer.View where the op has it);
//   - jvp: for each varying input alone, Op.JVP matches central finite
//     differences of Op.Forward along a random tangent; with every tangent
//     set at once it is the sum of those;
//   - vjp: for each varying input, the dot test <J_i t, c> = <t, J_iᵀ c>;
//     the accumulator is pre-filled with random values and must end as
//     prefill + J_iᵀ c (VJP adds); all inputs at once give the same sums;
//   - alias: when two varying inputs of one shape are the same tensor
//     (Mul(x, x)), one tangent passed twice gives J_i t + J_j t and one
//     accumulator passed twice receives both contributions;
//   - structure: the dense block J_i, built column by column from JVPs with
//     unit tangents, has the declared tape.Structure: Rows and Cols are the
//     output and input sizes, a constant input is Zero, the kind's pattern
//     holds (entries outside it exactly zero, Identity and Selection ones
//     where declared, Shared blocks equal) and a Constant block is the same
//     at a second point (varying inputs redrawn, constants kept);
//   - inverse: for every input of the output's size, the Factor from
//     Op.Inverse has that Size, J_i·Solve(v) = v (through JVP),
//     J_iᵀ·SolveT(v) = v (through VJP), Solve and SolveT work in place
//     (dst aliasing v) and from two goroutines at once, and LogAbsDet
//     matches log|det J_i| from a gonum LU; for every other input, Inverse
//     returns an error matching tape.ErrNotSquare;
//   - singular: at each Case.SingularAt point, Inverse returns an error
//     matching tape.ErrSingular that errors.As turns into a
//     *tape.SingularError naming the op and the input, and no factor;
//   - unchanged: no rule call modifies its inputs, the output it is handed,
//     tangents, cotangents or the vector a Factor solves for;
//   - guard: every buffer handed to an op is the first len elements of a
//     slice with spare capacity filled with NaN; the spare part must still
//     be NaN after every call;
//   - float32, for an op that is a tape.Op32 (every op of package ops):
//     at the point rounded to float32, with float32 tangents and
//     cotangents, JVP32 (each varying input's tangent alone, the others
//     nil, and all at once) and VJP32 (into pre-filled accumulators, each
//     input alone and all at once: it must add) against the op's float64
//     JVP and VJP at that point widened to float64, and both with two
//     varying inputs of one shape passed as the same tensor; the rules
//     receive as out the float64 value rounded to float32. These checks
//     are named 32/jvp, 32/vjp, 32/alias, 32/unchanged, 32/guard and
//     32/panic. An op that is not a tape.Op32 (a backend's wrapper) skips
//     them.
//
// Check32 runs the float32 checks of an elementwise op (primal, JVP against
// central differences of the reference taken in float64, the VJP dot test
// and accumulation, unchanged inputs, guards) on the kernels a backend
// supplies in a Kernels32; CPU32 gives the CPU ones.
//
// # Second order
//
// CheckSecondOrder checks an op's second-order rule (tape.SecondOrder),
// again at the seeded point, with a random cotangent c and random tangents
// t for the varying inputs (nil for constants):
//
//   - the op must be a tape.SecondOrder;
//   - with every tangent set, and (for several varying inputs) with each
//     one's alone, SecondVJP into one zeroed accumulator per varying input
//     matches the central differences of g(u) = ⟨c, JVP(u; t)⟩ along each
//     element of that input, g taken through the op's own JVP at
//     out = Forward(u) (Check has compared that JVP with differences of
//     Forward); the accumulators of constant inputs are nil, so a write
//     into one is a "panic" failure;
//   - the accumulators of every varying input at once, pre-filled with
//     random values, end as prefill plus the single results (SecondVJP
//     adds);
//   - alias: when two varying inputs of one shape are the same tensor
//     (Mul(x, x)), with one tangent at both places, the two single
//     contributions add up to the central differences of g moving both
//     places at once, and one accumulator passed at both places receives
//     both;
//   - unchanged and guard, as for Check.
//
// The differences are compared with Case.FDTol, the sums with Case.Tol. It
// is separate from Check so that a backend whose ops run only their
// first-order rules elsewhere checks those alone.
//
// # Tolerances
//
// A value v is accepted against a reference w when |v - w| ≤ tol·(1 + |w|).
// Case.Tol bounds rounding (primal, dot test, solves, log-determinants,
// sums of accumulations), Case.FDTol bounds finite-difference error (of
// Forward for the JVP, of the JVP for the second-order rule), Case.Tol32 bounds float32
// rounding; zero means DefaultTol, DefaultFDTol and DefaultTol32. The
// float32 rules of a tape.Op32 are compared norm-wise instead, within
// Tol32·(1 + ‖want‖∞) at every element, which a sum whose terms cancel
// (a matrix product, a broadcast reduction) still meets. Sparsity
// patterns are checked exactly: an entry the declared Structure says is zero
// must be exactly zero, since the runtime skips it.
//
// # Using it from another backend
//
// The suite calls nothing but the tape.Op methods (and the Kernels32
// functions), so a backend passes its own ops in the same Cases as the CPU
// ones. Dense blocks are built from JVPs, so Check refuses (with a "case"
// failure) a block larger than MaxDense entries: conformance cases are small.
//
// # Errors
//
// Check never panics: a bad Case is reported as a *Failure with Check
// "case", and a panic inside a rule (other than the expected panics of
// Op.Shape) as one with Check "panic", after which the remaining checks are
// skipped. Every error Check and Check32 return is a *Failure. Inputs panics
// with a message starting with "opstest: " for an Input with an empty domain
// or a Value of the wrong length.
package opstest
