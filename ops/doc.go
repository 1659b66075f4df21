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
// Elementwise unary ops are declared once by f, f' and f″ (see
// Elementwise); their JVP, VJP, inverse rule (a diagonal block, inverted by
// reciprocals) and second-order rule follow from that declaration. Binary
// elementwise ops are declared by f, the two partial derivatives and the
// three second ones.
//
// # Float32
//
// Every op is also a tape.Op32: JVP32 and VJP32 are its JVP and VJP on
// float32 tensors, for the float32 engine. Each op's float64 and float32
// rules are one generic function over the element type (the matrix
// products call gonum's blas64 or blas32); elementwise partials are
// evaluated in float64 at the float32 values and rounded, and sums
// accumulate in float32.
//
// # Second order
//
// Every op is also a tape.SecondOrder: SecondVJP adds the derivative of
// ⟨c, JVP(in; t)⟩ with respect to each input, the tangents t held fixed,
// which reverse mode over forward mode needs (Hessian-vector products, the
// gradient of log|det J|). Ops whose JVP does not read their inputs (Neg,
// Scale, AddScalar, Add, Sub, Reshape, Slice, Concat, Cumsum, Sum, Permute,
// SliceAxis, ConcatAxis, SumAxis) add nothing. An elementwise unary op adds
// c ⊙ f″(x) ⊙ t, from the f″ its declaration gives (D2F; zero on either
// side of the kinks of Abs and LeakyReLU, and taken as zero at them). A
// binary op adds, to each operand, c times its row of the Hessian of f
// applied to the two tangents (Mul: c ⊙ t_b to a and c ⊙ t_a to b), summed
// over broadcast axes as its VJP sums. MatMul and BatchMatMul, bilinear,
// add c·t_bᵀ to a and t_aᵀ·c to b: their VJP with each operand replaced by
// the other's tangent.
//
// # Broadcasting
//
// Binary elementwise ops (Add, Sub, Mul, Div) broadcast their operands as
// NumPy does: the shapes are aligned on their last axes, a missing leading
// axis counts as size 1, and along each axis the two sizes are equal or one
// of them is 1; the result takes the larger size of each axis. So
// Add(X [B,h], b [h]) adds b to each of the B rows, Mul(X [B,d], s [B,1])
// scales row i by s[i], [B,1] + [1,d] gives [B,d], and a rank-0 operand is
// broadcast over the other. Shapes that do not broadcast panic with
// "ops: add: shapes [2 3] and [4] do not broadcast".
//
// The VJP of a broadcast operand sums the cotangent over the axes it is
// broadcast along. Its Jacobian block is dense (output size × operand
// size) and never square: an operand that depends on the program's input
// and is broadcast couples every output element it feeds, which the lump
// analysis sees as a dense edge. The block of an operand with the output's
// shape stays diagonal, whatever the other operand's shape.
//
// # Axes
//
// SliceAxis, SplitAxis and ConcatAxis along axis 0 record Slice and Concat,
// whose blocks are selections that the lump analysis treats as relabelled
// elements. Along another axis they are strided copies (SliceAxisOp,
// ConcatAxisOp) whose blocks are declared dense, unless every dimension
// before the axis is 1 (then they are selections too). Permute and
// Transpose declare a dense block (a permutation: the analysis has no kind
// for it yet) unless the flat order is kept; alone on a lump, the inverse
// permutation solves it. SumAxis and MeanAxis are block diagonal along the
// last axis and dense otherwise. BatchMatMul is block diagonal per row (with
// respect to its left operand) and per sample (with respect to a 3-D right
// operand).
//
// # Errors
//
// Shape mistakes panic with a message starting with "ops: ". Inverse rules
// return *tape.SingularError for a singular block (a zero derivative, a
// singular matrix) and tape.ErrNotSquare for an input whose size differs
// from the output's.
package ops
