// Package gorgonia imports the forward part of a gorgonia.org/gorgonia
// expression graph into an invad program, so that inverse accumulation
// mode (IJVP, VIJP, LogAbsDet) and the other products run on models that Go
// ML pipelines already define in Gorgonia:
//
//	p, err := gorgonia.Import(g, x, y) // x, y: nodes of g
//	x0, err := p.InputValue()          // x's current value, as float64
//	lin, err := inverse.Linearize(p.F, x0)
//	dx, err := lin.IJVP(dy)            // J⁻¹ dy
//	ld, err := lin.LogAbsDet()         // log|det J|
//
// # What is imported
//
// Import takes the nodes the output depends on, stopping at the input, in
// the topological order of gorgonia.Sort, reading each node's operands
// through g.From. Nodes the output does not depend on are never looked at:
// a graph that gorgonia.Grad has extended with backward nodes imports like
// the forward graph alone. Every other leaf, a variable (a weight, a bias)
// or a constant, becomes an invad constant. Each Gorgonia op becomes the
// invad ops listed below, which compute the same function; the program is
// checked on an invad shape tape, node by node against Gorgonia's shapes.
//
// An op with no counterpart is an error naming the node and its op, never
// an approximation. Gorgonia's op types are unexported, so an op is
// identified by its Go type as %T prints it and by its String() form; the
// tests pin both for every op, so that a Gorgonia upgrade that changes them
// fails loudly.
//
// # Values and sharing
//
// F reads the leaves' values each time it runs, not at Import: a weight
// rebound with gorgonia.Let, or updated in place by a solver, is seen by
// the next recording. A float64 tensor value is shared with the invad
// program, not copied (package gtensor's rules); the tape then holds
// Gorgonia's memory, which must not change while a Linearization built from
// F is in use: step solvers between linearizations, not during one. A
// float32 value, a scalar or a transposed tensor is copied.
//
// A Program is immutable after Import and safe for concurrent use, provided
// nobody writes the graph's values meanwhile.
//
// # Parameters and gradients
//
// Func makes chosen leaves (weights, biases) inputs instead of constants:
//
//	f, err := p.Func(W, b)        // f(x, W, b), for package ad and inverse.LinearizeArg
//	θ, err := p.ParamValues(W, b) // their current values, as InputValue gives x's
//	ld, dx, dθ, err := gorgonia.LogAbsDetGrad(p, x0, []*G.Node{W, b})
//	// (G is gorgonia.org/gorgonia); dθ[k] is a *tensor.Dense like W, b
//
// LogAbsDetGrad is inverse.LogAbsDetGrad of Func: log|det ∂F/∂x| at x0 and
// the current weights, with its exact gradient (no differences) with
// respect to x0, an invad tensor, and to each leaf, a *tensor.Dense of
// Gorgonia's with the leaf's shape and dtype (float32 for a float32 leaf)
// in new memory, for a Gorgonia training loop. A maximum-likelihood flow
// minimizes ½|F(x)|² − log|det ∂F/∂x|: package ad's Grad of Func gives the
// first term's gradient, and DenseLike turns it into Gorgonia tensors too.
//
// Its cost is that of the lumps. A [B, d] batch stored as rows through x·W,
// as Gorgonia graphs usually are, is analyzed batch-minor, as
// inverse.Linearize does (per-sample blocks; the gradient is carried back
// to the graph's own layout), and so is a graph with the samples innermost
// (x of shape [d, B], W·x): the cost grows linearly in B either way (a
// residual block at B = 10⁴, d = 16: 1.3 s as rows, 0.8 s with the
// samples innermost, on a 2-core machine).
//
// A parameter must be a leaf the program reads, other than the input, of
// dtype float64 or float32; anything else is a *NodeError wrapping
// ErrParam (ErrDtype for another dtype). Ops imported only for constant
// operands (abs, ceil, floor, powers by other exponents) are refused
// (ErrUnsupported) on a value that depends on a parameter. The values
// ParamValues returns follow ValueOf's rules: float64 tensors are shared
// with Gorgonia, so the graph's values must not be written while a
// function of them is recorded or linearized, LogAbsDetGrad included;
// apply the gradients after it returns. A step of the function that
// depends on the input or a parameter moves elements (transposes, slices,
// repeats) with invad ops even where a caller passes that parameter as a
// constant, as inverse.LinearizeArg does: every recording then creates the
// same values, which inverse.LogAbsDetGrad relies on to match its two.
//
// # Dtypes
//
// Graphs of float64 and of float32 are imported. invad programs compute in
// float64: float32 values are converted to float64 when F runs, and the
// imported program then computes the same function in higher precision
// than Gorgonia does (they agree to float32 rounding, about 1e-6 relative).
// InputValue converts the input's value the same way. For products in
// float32 (half the memory of the tangents and factors), take the input's
// float32 value without a copy (gtensor.FromDense32) and linearize with
// inverse.Linearize32: the program is recorded in float64, its values
// rounded to float32 once, and every product computed in float32; hand the
// results back with gtensor.ToDense32.
//
// # Ops
//
// Each entry is the %T type, the String() forms, and the invad program.
//
//	gorgonia.elemUnaryOp   sin cos exp ln neg square sqrt inv cube tanh sigmoid log1p expm1 softplus
//	                       → Sin Cos Exp Log Neg Square Sqrt Recip Cube Tanh Sigmoid Log1p Expm1 Softplus
//	                       log2 → Scale(Log(x), 1/ln 2); invSqrt → Recip(Sqrt(x))
//	                       abs ceil floor → computed in Go, for constant operands only
//	gorgonia.elemBinOp     "+ false" "- false" "⊙ false" "÷ false" → Add Sub Mul Div; an operand
//	                       of one element is broadcast as a rank-0 value
//	                       "^ false" with a gorgonia.NewConstant exponent -1, 0.5, 1, 2, 3 →
//	                       Recip Sqrt (none) Square Cube; any exponent of constants
//	                       "< true" "> true" "<= true" ">= true" "== true" "!= true" → a constant
//	                       0/1 mask read from the operands' values (see below)
//	gorgonia.linAlgBinOp   "A × B" → MatMul; "A × b" → MatMul; "Aᵀ × b" → MatMul(bᵀ, A);
//	                       "a ⋅ b" → MatMul(aᵀ, b); "a ⊗ b" → MatMul(a, bᵀ) with a, b
//	                       reshaped; "Aᵀ × B" "A × Bᵀ" "Aᵀ × Bᵀ" → MatMul of Transposes;
//	                       "A ××× B" (and ᵀ forms) → BatchMatMul (of Permutes)
//	gorgonia.reshapeOp     "Reshape(…)" → Reshape
//	gorgonia.sumOp         "Σ[axes]" → Sum over every axis; SumAxis along some
//	*gorgonia.sliceOp      "T[:, a:b:s...]" → SliceAxis (a step > 1: a gather)
//	gorgonia.concatOp      "Concat(axis=k)" → ConcatAxis
//	gorgonia.transposeOp   "Aᵀ{…}" → Permute
//	*gorgonia.repeatOp     "Repeatk" (from BroadcastAdd and the other Broadcast* functions) → a gather
//	gorgonia.sizeOp        "SizeOf=n" "SizeOf(k)" → a constant
//	gorgonia.constantScalar, gorgonia.constantTensor, leaves → constants
//
// Slices, concatenations, transposes and sums along an axis become invad's
// axis ops, one op per Gorgonia op whatever the batch size, so a [B, d]
// graph imports as the same program a user would write natively (tested:
// the same lumps, per-sample blocks, at B = 20 and 400). A gather, left for
// repeats, strided slices and At, moves elements without arithmetic: a
// permutation of a constant computed in Go, or, for a value that depends on
// the input, one axis-0 Slice per run of consecutive source elements joined
// by a Concat (relabellings the lump finder sees through).
//
// Everything else is refused with ErrUnsupported, in particular: sign (its
// value at 0 differs between Gorgonia's scalar and tensor kernels), abs,
// ceil and floor of a value that depends on the input, a power by any other
// exponent, comparisons that return booleans, At (see below), the
// reductions Max and Norm's p ≠ 2 forms, SoftMax, LogSumExp (through Max),
// Dropout and the random ops, BatchNorm, convolutions, pooling, Im2Col,
// Tensordot, the sparsemax, CTC and YOLO ops, and every backward op.
//
// # ReLU and comparisons
//
// Gorgonia has no ReLU op: Rectify builds a ⊙ (a ≥ 0) and LeakyRelu
// (a ⊙ (a ≥ 0)) + (a ⊙ (a < 0)) ⊙ α. Both patterns are recognized and
// imported as ops.LeakyReLU(a, 0) and ops.LeakyReLU(a, α), which compute
// the same values and the same derivative, 1 at 0, as Gorgonia; a ⊙ (a < 0)
// alone becomes a − LeakyReLU(a, 0). Any other numeric comparison is a
// mask of 0 and 1 that is piecewise constant, so its derivative is zero
// wherever it is defined (Gorgonia's too): it is imported as a constant
// computed from its operands' values when F runs. inverse.Linearize
// records values and handles it. The tapeless inverse.VIJP records on a
// shape tape first, which holds the input's value but no other: a mask of
// the input works, a mask of an intermediate value makes F panic with a
// *ValueDependentError, which inverse.VIJP reports as
// inverse.ErrValueDependent.
//
// # Where Gorgonia v0.9.18 differs from its documentation
//
// The tests compare against Gorgonia's TapeMachine and gorgonia.Grad, and
// found these, each pinned by a test:
//
//   - At(a, i) is documented as the element a[i], but the TapeMachine
//     passes the whole operand a through; At is therefore refused.
//   - gorgonia.Grad is wrong for log2 (∂y·ln 2/x instead of ∂y/(x ln 2)),
//     invSqrt (−∂y/(2y³) instead of −∂y·y³/2), OuterProd, and a constant
//     tensor times a varying scalar. The imported programs agree with
//     central differences of Gorgonia's own forward run there.
//   - Gorgonia's sigmoid is exactly 1 above 19 and softplus is exactly x
//     above 16; the imported ops compute the functions themselves (the
//     difference is below 1.2e-7).
//   - After a TapeMachine has run a graph with backward nodes, intermediate
//     and output nodes' values may hold reused memory rather than their
//     forward values; leaves (which Import reads) keep theirs.
//
// # Errors
//
// Caller mistakes (a nil graph or node, a node from another graph, an x of
// the wrong size) panic with a message starting with "gorgonia: ". Import
// returns a *NodeError naming the node, its op's %T and String() forms and
// the reason, which errors.Is matches against ErrUnsupported, ErrNoValue,
// ErrDtype or ErrShape; and ErrNotConnected when the output does not
// depend on the input. Func, ParamValues and LogAbsDetGrad return a
// *NodeError wrapping ErrParam, ErrDtype or ErrUnsupported for a node
// that cannot be a parameter.
//
// # Dependencies
//
// Only this package and interop/gtensor import Gorgonia; the core packages
// (tensor, tape, ops, inverse, lump, cpu) do not, so programs that do not
// use Gorgonia do not compile it. Gorgonia v0.9.18 with gorgonia.org/tensor
// v0.9.24 panics at start-up on recent Go releases unless the module graph
// selects go4.org/unsafe/assume-no-moving-gc v0.0.0-20231121144256-b99613f794b6
// or later, as the invad go.mod does. Gorgonia must be built without its
// fastmath tag, whose sigmoid returns 0.
package gorgonia
