// Package ops defines invad's primitives. Each op is one value implementing
// the whole tape.Op contract: forward, JVP, VJP, the structure of its
// Jacobian block per input, and its inverse rule.
//
// The functions of this package (Add, Exp, MatMul, ...) apply an op to
// values on a tape and return the recorded result. A result that does not
// depend on the tape's input is folded into a constant.
//
// # Families
//
// Elementwise unary ops are declared once by f and f' (see Elementwise);
// their JVP, VJP and inverse rule (a diagonal block, inverted by reciprocals)
// follow from that declaration. Binary elementwise ops are declared by f and
// the two partial derivatives.
//
// # Broadcasting
//
// Binary elementwise ops take operands of the same shape, or one rank-0
// operand that is broadcast over the other.
//
// # Errors
//
// Shape mistakes panic with a message starting with "ops: ". Inverse rules
// return *tape.SingularError for a singular block (a zero derivative, a
// singular matrix) and tape.ErrNotSquare for an input whose size differs
// from the output's.
package ops
