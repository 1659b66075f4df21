package opstest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Default tolerances, used where a Case leaves its own at zero.
const (
	// DefaultTol bounds rounding error relative to 1 + |want|: about 5·10⁵
	// float64 ulps (2⁻⁵² ≈ 2.2e-16), room for reassociated sums and O(1)-conditioned solves
	// on the small blocks of a conformance case, while any wrong rule (an
	// error of order 1e-3 or more) fails.
	DefaultTol = 1e-10
	// DefaultFDTol bounds central-difference error: with the step fdStep the
	// truncation (h²·f‴/6) and rounding (eps·|f|/h) errors are each near
	// 1e-11 for functions of order 1, so 1e-6 leaves room for third
	// derivatives up to about 1e5 in the case's domain. The second-order
	// check differentiates the JVP instead, whose third derivative holds
	// f⁗: the same bound applies to it.
	DefaultFDTol = 1e-6
	// DefaultTol32 bounds float32 rounding: about 80 float32 ulps
	// (2⁻²³ ≈ 1.2e-7), room for f' evaluated from the rounded y = f(x)
	// (tanh' = 1 - y² loses digits as |y| nears 1).
	DefaultTol32 = 1e-5
	// MaxDense is the largest dense block (Rows·Cols entries) Check builds.
	MaxDense = 1 << 12
)

// Input describes one operand of a Case.
type Input struct {
	// Shape is the operand's shape; nil or empty is rank 0.
	Shape []int
	// Lo and Hi bound the values drawn uniformly at random; both zero means
	// [-1, 1]. Pick a domain where the op is smooth (positive for log).
	Lo, Hi float64
	// Gap excludes (-Gap, Gap) from the domain: values closer to zero are
	// drawn again (denominators, kinks at zero).
	Gap float64
	// Const marks a constant operand: it carries no tangent, its Structure
	// must be Zero, and it keeps its value at the second point of the
	// Constant-structure check.
	Const bool
	// Value, if not nil, fixes the operand's values (row-major), e.g. a
	// well-conditioned square matrix; the domain is then ignored, and the
	// second point of the Constant-structure check keeps these values too.
	Value []float64
}

// Singular is a point at which the block ∂out/∂in_Input is singular.
type Singular struct {
	// Input is the operand the block is taken against.
	Input int
	// Values holds every operand's values, row-major, in the Case's shapes.
	Values [][]float64
}

// Case is one conformance row: an op, the kind of point it is checked at,
// and an independent reference of its primal.
type Case struct {
	// Name and Reason say what the row covers and why it is there.
	Name, Reason string
	// Op is the op under test.
	Op tape.Op
	// Inputs describe the operands, in the op's order.
	Inputs []Input
	// Out is the output shape Op.Shape must give; nil is rank 0.
	Out []int
	// Ref computes the primal from the operands' values (row-major),
	// independently of Op: plain loops written with the test.
	Ref func(in [][]float64) []float64
	// Tol, FDTol and Tol32 override DefaultTol, DefaultFDTol and
	// DefaultTol32 when not zero.
	Tol, FDTol, Tol32 float64
	// BadShapes are input shape lists Op.Shape must reject.
	BadShapes [][][]int
	// SingularAt are points where Inverse must report a singular block.
	SingularAt []Singular
}

// Failure is one failed check. Every error of Check, CheckSecondOrder and
// Check32 is a *Failure.
type Failure struct {
	// Case is the Case's Name.
	Case string
	// Check is the check that failed: "case", "panic", "shape", "primal",
	// "jvp", "vjp", "alias", "structure", "inverse", "singular",
	// "unchanged" or "guard", "second" from CheckSecondOrder, with a "32/"
	// prefix from Check32 and from Check's checks of the float32 rules of a
	// tape.Op32 ("32/jvp", "32/vjp", "32/alias", "32/panic", ...).
	Check string
	// Input is the operand concerned, or -1.
	Input int
	// Msg says what was wrong, with the figures.
	Msg string
}

func (f *Failure) Error() string {
	in := ""
	if f.Input >= 0 {
		in = fmt.Sprintf(" (input %d)", f.Input)
	}
	return fmt.Sprintf("%s: %s%s: %s", f.Case, f.Check, in, f.Msg)
}

// Run checks c and reports every failure as an error on t.
func Run(t testing.TB, c Case) {
	t.Helper()
	for _, err := range Check(c) {
		t.Error(err)
	}
}

// Run32 checks the float32 kernels k of the elementwise op of c and reports
// every failure as an error on t.
func Run32(t testing.TB, c Case, k Kernels32) {
	t.Helper()
	for _, err := range Check32(c, k) {
		t.Error(err)
	}
}

// newRand returns the suite's seeded generator.
func newRand() *rand.Rand { return rand.New(rand.NewPCG(1, 1)) }

// Inputs returns the operand values Check and Check32 use for c, so that a
// caller can run the op another way (through the tape) at the same point.
// It panics with a message starting with "opstest: " if an Input's domain
// is empty or its Value has the wrong length.
func Inputs(c Case) []*tensor.Tensor { return draw(newRand(), c.Inputs, nil) }

// draw returns values for the inputs: fixed Values as given, constants from
// keep when keep is not nil, the rest drawn from their domains.
func draw(r *rand.Rand, ins []Input, keep []*tensor.Tensor) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(ins))
	for i, in := range ins {
		if msg := in.invalid(); msg != "" {
			panic(fmt.Sprintf("opstest: input %d: %s", i, msg))
		}
		n := tensor.SizeOf(in.Shape)
		switch {
		case in.Value != nil:
			out[i] = tensor.New(in.Shape, append([]float64(nil), in.Value...))
		case keep != nil && in.Const:
			out[i] = keep[i].Clone()
		default:
			lo, hi := in.domain()
			v := make([]float64, n)
			for k := range v {
				for {
					x := lo + (hi-lo)*r.Float64()
					if math.Abs(x) >= in.Gap {
						v[k] = x
						break
					}
				}
			}
			out[i] = tensor.New(in.Shape, v)
		}
	}
	return out
}

func (in Input) domain() (lo, hi float64) {
	if in.Lo == 0 && in.Hi == 0 {
		return -1, 1
	}
	return in.Lo, in.Hi
}

// invalid says what is wrong with in, or "".
func (in Input) invalid() string {
	for _, d := range in.Shape {
		if d < 0 {
			return fmt.Sprintf("negative dimension in shape %v", in.Shape)
		}
	}
	if in.Value != nil {
		if n := tensor.SizeOf(in.Shape); len(in.Value) != n {
			return fmt.Sprintf("Value has %d elements, shape %v needs %d", len(in.Value), in.Shape, n)
		}
		return ""
	}
	lo, hi := in.domain()
	if !(lo <= hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return fmt.Sprintf("bad domain [%g, %g]", lo, hi)
	}
	// The rejection loop of draw ends only if a part of [lo, hi] of
	// positive length lies outside (-Gap, Gap), or the domain is one point
	// outside it.
	if in.Gap > 0 && !(hi > in.Gap || lo < -in.Gap || (lo == hi && math.Abs(lo) >= in.Gap)) {
		return fmt.Sprintf("domain [%g, %g] lies inside the gap (-%g, %g)", lo, hi, in.Gap, in.Gap)
	}
	return ""
}
