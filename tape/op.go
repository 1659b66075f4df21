package tape

import (
	"errors"
	"fmt"

	"github.com/invad/invad/tensor"
)

// Op is one primitive with its whole contract. Implementations must be safe
// for concurrent use: every method reads its receiver and inputs only.
//
// Shapes passed to the rules are those Shape accepted; the rules may assume
// them and need not check again.
type Op interface {
	// Name is the op's name in reports and errors, e.g. "exp" or "matmul".
	Name() string

	// Shape returns the output shape for the given input shapes. It panics
	// with a message starting with "ops: " if the shapes do not fit.
	Shape(in [][]int) []int

	// Forward writes the op's value at in into dst (every element).
	Forward(dst *tensor.Tensor, in []*tensor.Tensor)

	// JVP writes Σ_i (∂out/∂in_i) t[i] into dst (every element). t[i] == nil
	// is a symbolic zero tangent and costs nothing; at least one t[i] is set.
	// out is the op's value at in.
	JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor)

	// VJP adds (∂out/∂in_i)ᵀ c into dst[i] for every dst[i] != nil. Two
	// entries of dst may be the same tensor (an input used twice); the
	// contributions then add up.
	VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor)

	// Structure describes the block ∂out/∂in_i. varying[j] says whether
	// input j depends on the program's input (constants do not).
	Structure(i int, in [][]int, varying []bool) Structure

	// Inverse factorizes the block A = ∂out/∂in_p at the point in (whose
	// value is out). The input p must have the output's number of elements,
	// else the error is ErrNotSquare. A singular block gives a *SingularError.
	Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (Factor, error)
}

// SecondOrder is an Op with its second-order rule, which Hessian-vector
// products (reverse mode over forward mode) and the gradient of
// log|det J| need. Every op of package ops has one.
type SecondOrder interface {
	// SecondVJP adds ∂/∂in_i ⟨c, Σ_k (∂out/∂in_k)(in)·t[k]⟩ into dst[i] for
	// every dst[i] != nil: the derivative with respect to the op's inputs
	// of its JVP with the tangents t held fixed, contracted with c (shaped
	// like out). t[k] == nil is a zero tangent, and at least one is set;
	// out is the op's value at in. Two entries of dst may be the same
	// tensor (an input used twice); the contributions then add up. An op
	// whose JVP does not depend on its inputs (linear ops: Add, Slice,
	// Sum) adds nothing; a bilinear one (Mul, MatMul) adds the product of
	// c with the other input's tangent.
	SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor)
}

// Linear is an optional declaration of a SecondOrder op: Linear reports
// that its SecondVJP adds nothing, at every point and for every tangent,
// because its JVP does not depend on its inputs' values (Add, Sub, Scale,
// Reshape, Slice, Sum) or depends on them only piecewise (relu). A pass
// that carries tangents only as far as second-order rules read them (the
// gradient of log|det J|) computes none for such an op's inputs, and calls
// no SecondVJP of it. An op without the declaration is taken to read every
// tangent. The conformance suite (ops/opstest) checks that the
// differences of an op declared linear vanish.
type Linear interface {
	Linear() bool
}

// Op32 is an Op with float32 rules: the contracts of JVP and VJP on float32
// tensors (the values in and out are the recorded ones rounded to float32).
// The float32 engine of package inverse needs it of every op it runs; every
// op of package ops has it.
type Op32 interface {
	// JVP32 is JVP on float32 tensors: it writes Σ_i (∂out/∂in_i) t[i]
	// into dst (every element); t[i] == nil is a zero tangent, and at
	// least one is set.
	JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32)

	// VJP32 is VJP on float32 tensors: it adds (∂out/∂in_i)ᵀ c into dst[i]
	// for every dst[i] != nil; two entries of dst may be the same tensor,
	// and the contributions then add up. Sums (over a broadcast axis, a
	// matrix product's inner dimension) accumulate in float32, as BLAS
	// does.
	VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32)
}

// Factor32 is a Factor that solves float32 vectors itself (a diagonal's
// reciprocals, a running sum's differences): the float32 engine of
// package inverse calls it instead of widening each vector to float64.
// dst and v may be the same slice.
type Factor32 interface {
	Solve32(dst, v []float32)
	SolveT32(dst, v []float32)
}

// StructureLister is an Op whose inputs' structures cost less listed at
// once than asked one by one: Concat's Structure(i) sums the sizes of the
// inputs before i, so asking each of n inputs would cost O(n²).
type StructureLister interface {
	// Structures returns Structure(i, in, varying) for every input i.
	Structures(in [][]int, varying []bool) []Structure
}

// Structures returns the Structure of every input of op: the op's
// StructureLister if it is one, else one Structure call per varying input
// (a constant input's block is Zero).
func Structures(op Op, in [][]int, varying []bool) []Structure {
	if l, ok := op.(StructureLister); ok {
		return l.Structures(in, varying)
	}
	out := make([]Structure, len(in))
	for i := range in {
		if varying[i] {
			out[i] = op.Structure(i, in, varying)
		}
	}
	return out
}

// FactorSizer is implemented by ops that can say, from shapes alone, how
// many bytes their inverse rule allocates for the block with respect to
// input p (a diagonal's n values, the LU of a matrix factor W): the lump
// finder checks the memory budget with it before anything is allocated.
// Ops without it are estimated from their Structure.
type FactorSizer interface {
	FactorBytes(p int, in [][]int) int64
}

// Viewer is implemented by ops whose value only relabels its input's
// elements (Reshape, an axis-0 slice). Apply records View's result, which
// shares storage with the input, instead of copying through Forward.
type Viewer interface {
	View(in []*tensor.Tensor) *tensor.Tensor
}

// Factor is a factorization of a square Jacobian block A of size Size().
// Its methods are safe for concurrent use.
type Factor interface {
	// Size is the block's order.
	Size() int
	// Solve writes A⁻¹ v into dst. dst and v may be the same slice.
	Solve(dst, v []float64)
	// SolveT writes A⁻ᵀ v into dst. dst and v may be the same slice.
	SolveT(dst, v []float64)
	// LogAbsDet returns log|det A|.
	LogAbsDet() float64
}

// LogDetParter is a Factor whose log|det| splits over groups of the
// block's indices (the samples of a batch): LogAbsDetParts adds the
// log|det| of each group's sub-block to dst[group(i)], where group maps an
// index i of the block (an element of the pivot input) to its group, and
// reports false, leaving dst as it was, if the block couples indices of two
// groups.
type LogDetParter interface {
	LogAbsDetParts(dst []float64, group func(i int) int) bool
}

// Kind is the shape of a Jacobian block's nonzero pattern.
type Kind uint8

const (
	// Zero: the block is zero (the input is a constant, or out ignores it).
	Zero Kind = iota
	// Identity: out and in have the same size and the block is I.
	Identity
	// Diagonal: same sizes, out[k] depends on in[k] alone (elementwise).
	Diagonal
	// LowerTriangular: same sizes, out[k] depends on in[j] for j ≤ k only
	// (flat row-major order).
	LowerTriangular
	// BlockDiagonal: Blocks equal-sized dense blocks on the diagonal, each
	// (Rows/Blocks)×(Cols/Blocks).
	BlockDiagonal
	// Selection: out[OutOff+j] = in[InOff+j] for 0 ≤ j < Len, every other
	// entry zero. Split, Concat and Reshape only relabel elements.
	Selection
	// Dense: no known pattern.
	Dense
	// Kron: the block is A ⊗ I_Inner. Out and in are read as rows of Inner
	// elements (Rows/Inner and Cols/Inner of them), and element j of out's
	// row r depends on element j of in's rows alone: a matrix product W·X
	// with Inner columns, taken against X. With the samples of a batch
	// along the inner axis (a feature-major [d, B] value), the block couples
	// features within each sample and never two samples.
	Kron
)

var kindNames = [...]string{"zero", "identity", "diagonal", "lower-triangular", "block-diagonal", "selection", "dense", "kron"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Structure describes one Jacobian block ∂out/∂in, of Rows×Cols (output
// size × input size).
type Structure struct {
	Kind       Kind
	Rows, Cols int
	// Blocks is the number of diagonal blocks of a BlockDiagonal block.
	Blocks int
	// Inner is the length of the rows of a Kron block (the order of its
	// identity factor).
	Inner int
	// InOff, OutOff and Len place a Selection.
	InOff, OutOff, Len int
	// Constant says the block's entries do not depend on the point: the op
	// is linear in this input with coefficients from constants (W x with W
	// constant, Scale, Add). Its factorization can be cached.
	Constant bool
	// Shared says every block of a BlockDiagonal is the same matrix
	// (X W with W constant is I ⊗ Wᵀ).
	Shared bool
}

func (s Structure) String() string {
	str := fmt.Sprintf("%v %d×%d", s.Kind, s.Rows, s.Cols)
	switch s.Kind {
	case BlockDiagonal:
		str += fmt.Sprintf(" (%d blocks)", s.Blocks)
	case Selection:
		str += fmt.Sprintf(" (out[%d:%d] = in[%d:%d])", s.OutOff, s.OutOff+s.Len, s.InOff, s.InOff+s.Len)
	case Kron:
		if s.Inner > 0 {
			str += fmt.Sprintf(" (%d×%d ⊗ I%d)", s.Rows/s.Inner, s.Cols/s.Inner, s.Inner)
		}
	}
	if s.Constant {
		str += " constant"
	}
	if s.Shared {
		str += " shared"
	}
	return str
}

// ErrSingular is matched (errors.Is) by every *SingularError.
var ErrSingular = errors.New("singular Jacobian block")

// ErrNotSquare is returned by Op.Inverse for an input whose size differs
// from the output's.
var ErrNotSquare = errors.New("Jacobian block is not square")

// SingularError reports a singular (or numerically singular) block.
type SingularError struct {
	Op    string  // the op's name
	Pos   int     // the op's position on the tape, -1 if not known
	Input int     // which input the block is taken against
	Index int     // the flat index of the zero pivot or element
	Pivot float64 // the offending pivot or diagonal value
	Why   string  // "zero pivot", "pivot growth 1e17", ...
}

func (e *SingularError) Error() string {
	pos := ""
	if e.Pos >= 0 {
		pos = fmt.Sprintf(" at tape position %d", e.Pos)
	}
	return fmt.Sprintf("singular Jacobian block of %s%s w.r.t. operand %d: %s at index %d (pivot %g)",
		e.Op, pos, e.Input, e.Why, e.Index, e.Pivot)
}

// Is makes errors.Is(err, ErrSingular) true.
func (e *SingularError) Is(target error) bool { return target == ErrSingular }
