// Package inverse linearizes a program f: Rⁿ → Rⁿ at a point and offers its
// Jacobian products: JVP J·v and VJP vᵀ·J (ordinary forward and reverse
// modes), the dense Jacobian, and the inverse accumulation products IJVP
// J⁻¹·v and VIJP vᵀ·J⁻¹, with log|det J| and the dense inverse. Invert
// solves f(x) = y itself, lump by lump (Newton on each lump's killed values
// with its own block, from y back to x), on the CPU.
//
// # Use
//
//	f := func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Sin(x)) }
//	lin, err := inverse.Linearize(f, x)
//	jv, err := lin.JVP(v)
//
// # float32
//
// Linearize32 takes a float32 x and returns a Linearization32 with the
// same products on float32 tensors, computed in float32: the tangents and
// cotangents, every op's rules (tape.Op32), the sweeps and the batched LU
// of batch lumps. f itself is recorded in float64, as Linearize records
// it, and its values are rounded to float32 once; op rules' own factors
// (diagonals, a matrix factor's LU) are formed at the float64 values, and
// the rare dense and sparse lumps are factorized in float64 from their
// float32 blocks. On the composed test programs the float32 products
// agree with float64's to within 6e-7 normwise (TestFloat32Programs).
// Refine(k) refines in mixed precision: float64 residuals, float32
// corrections. Float64 gives the float64 Linearization of the same
// recording.
//
// # Log-determinants and their gradients
//
// LogAbsDet is log|det J|, LogAbsDetAlong one log|det| per sample along
// the first or last axis of x. For f of several inputs (x and a model's
// parameters), LogAbsDetGrad returns log|det ∂f/∂xᵢ| and its exact
// gradient in every input, and LogAbsDetAlongGrad the per-sample log-dets
// and the gradient of Σ_b w_b·logdet_b for weights w (importance weights,
// per-sample losses, 1/B for the mean): the same pass over the lumps, each
// column of a block weighted by its sample.
//
// # Concurrency
//
// A Linearization is immutable once built: every method but Release may be
// called from several goroutines at once. Each call takes its scratch buffers from a pool,
// so repeated calls allocate only their result, and the ...To forms (JVPTo,
// VJPTo, IJVPTo, VIJPTo), which write into a dst the caller owns, allocate
// nothing: the forms for hot loops such as Newton's method.
//
// # Cancellation
//
// The first inverse product analyzes the program and factorizes its lumps,
// which can take long for a program with wide lumps. Prepare(ctx) does that
// work ahead of time and returns ctx.Err() soon after ctx is done, keeping
// nothing: the next call starts over.
//
// # Ownership
//
// Linearize keeps x without copying it, as do ops.Const for constants: do
// not modify them while the Linearization is in use. It holds its tape's
// values, about one vector per op, and once factorized its lumps' factors
// and pooled product buffers; Release drops all but the plan and the
// buffers that a Reuse of it takes. Results are new tensors
// owned by the caller; arguments are never modified. A ...To form's dst
// comes first and must not share memory with its argument, x or f(x).
//
// # Errors
//
// Caller mistakes (a tangent of the wrong shape, f returning nil or a value
// from another tape) panic with a message starting with "inverse: ".
// Data-dependent failures are returned: *SizeError (ErrSize) when f(x) does
// not have n elements, *NonFiniteError (ErrNonFinite) for NaN or ±Inf in x,
// in an argument, or produced by an op, naming the op and its tape position,
// *CouplingError (ErrCouplesSamples) for a per-sample log-det of a J that
// couples samples, and *InvertError (ErrNoConvergence) for a lump of Invert whose Newton
// iteration does not converge.
package inverse
