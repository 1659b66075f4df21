// Package tape records a program built from invad ops and holds the contract
// that every op implements.
//
// # The op contract
//
// An Op is one Go value carrying every rule of a primitive: its forward
// computation, its JVP and VJP, the structure of its Jacobian block with
// respect to each input, and its inverse rule (a factorization of the block
// A = ∂out/∂in_p for an input p of the output's size). An Op32 also has
// its JVP and VJP on float32 tensors, and a SecondOrder its second-order
// rule; every op of package ops is both. The package ops defines the
// primitives; ops/opstest checks them.
//
// # Recording
//
// A Tape is created by NewTape; Input puts the program's input on it, Const
// puts constants on it, and Apply runs an op and records it. A value that does
// not depend on an input (a function of constants alone) is folded into a
// constant and never recorded: it carries no tangent. Finish prunes the ops
// the output does not depend on and computes liveness: for every value, the
// last op that reads it.
//
// # Ownership
//
// The tape keeps the tensors it is given (Input, Const) without copying; the
// caller must not modify them while the tape or anything built on it is in use.
// Values computed by ops are owned by the tape.
//
// # Errors
//
// Caller mistakes (values from two tapes, nil values, bad shapes) panic with a
// message starting with "tape: " (or "ops: " from an op's shape check).
// Data-dependent failures of an inverse rule are returned as *SingularError
// (matched by errors.Is(err, ErrSingular)) or ErrNotSquare.
package tape
