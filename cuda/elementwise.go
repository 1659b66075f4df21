package cuda

import (
	"fmt"
	"slices"

	"github.com/invad/invad/internal/cudadrv"
)

// Rule selects one rule of an elementwise op.
type Rule uint8

const (
	// Forward writes f(x) into dst.
	Forward Rule = iota
	// JVP writes f'(x)·t into dst.
	JVP
	// VJP adds f'(x)·c into dst.
	VJP
	// Deriv writes f'(x) into dst: the diagonal of the op's Jacobian block,
	// which the inverse rule inverts.
	Deriv
)

var ruleSuffix = [...]string{"fwd", "jvp", "vjp", "df"}

func (r Rule) String() string {
	if int(r) < len(ruleSuffix) {
		return ruleSuffix[r]
	}
	return fmt.Sprintf("Rule(%d)", int(r))
}

func ptrOf(t *Tensor) cudadrv.DevicePtr {
	if t == nil {
		return 0
	}
	return t.ptr
}

// unaryLaunch builds the launch of rule r of op on n elements with operands
// (dst, x, y, t): y is f(x), t the tangent or cotangent; y is unused by
// Forward and t by Forward and Deriv.
func unaryLaunch(op string, r Rule, p float64, n int, dst, x, y, t cudadrv.DevicePtr) launch {
	if !slices.Contains(unaryOps, op) {
		panic(fmt.Sprintf("cuda: no kernels for the unary op %q", op))
	}
	l := launch{name: "ew_" + op + "_" + r.String(), grid: ewGrid(n), block: ewBlock}
	switch r {
	case Forward:
		l.args = []any{int64(n), p, dst, x}
	case JVP, VJP:
		l.args = []any{int64(n), p, dst, x, y, t}
	case Deriv:
		l.args = []any{int64(n), p, dst, x, y}
	default:
		panic(fmt.Sprintf("cuda: unknown rule %v", r))
	}
	return l
}

// Unary runs rule r of the unary op named op (see UnaryOps; the names of
// ops.Elementwise) over all elements: Forward writes f(x) into dst; JVP
// writes f'(x)·t; VJP adds f'(x)·t into dst (t is the cotangent); Deriv
// writes f'(x). y must hold f(x) for every rule but Forward, where it is
// ignored and may be nil, as t may for Forward and Deriv. p is the op's
// parameter: leaky_relu's alpha, scale's and add_scalar's c, ignored by the
// others. dst may be t; no other operands may overlap. Unary panics on an
// unknown op or rule, operands of different lengths, or a missing operand.
func (b *Backend) Unary(op string, r Rule, p float64, dst, x, y, t *Tensor) error {
	need := []*Tensor{dst, x}
	switch r {
	case JVP, VJP:
		need = append(need, y, t)
	case Deriv:
		need = append(need, y)
	}
	for _, u := range need {
		if u == nil {
			panic(fmt.Sprintf("cuda: %s %v: missing operand", op, r))
		}
		if u.n != dst.n {
			panic(fmt.Sprintf("cuda: %s %v: operands of %d and %d elements", op, r, dst.n, u.n))
		}
	}
	b.same(dst, x, y, t)
	l := unaryLaunch(op, r, p, dst.n, ptrOf(dst), ptrOf(x), ptrOf(y), ptrOf(t))
	if dst.n == 0 {
		return nil
	}
	return b.do(func() error { return b.launch(l) })
}

// stride is 1 for an operand of n elements and 0 for a broadcast scalar; it
// panics for any other length.
func stride(op string, len, n int) int64 {
	switch {
	case len == n:
		return 1
	case len == 1:
		return 0
	}
	panic(fmt.Sprintf("cuda: %s: operand of %d elements for %d outputs (only a one-element operand is broadcast)", op, len, n))
}

// binaryOperands are the device pointers and strides of a binary op's a, b
// and y over n outputs.
type binaryOperands struct {
	n      int
	a, b   cudadrv.DevicePtr
	sa, sb int64
	y      cudadrv.DevicePtr
}

func binaryName(op, rule string) string {
	if !slices.Contains(binaryOps, op) {
		panic(fmt.Sprintf("cuda: no kernels for the binary op %q", op))
	}
	return "bin_" + op + "_" + rule
}

func binaryForwardLaunch(op string, o binaryOperands, dst cudadrv.DevicePtr) launch {
	return launch{name: binaryName(op, "fwd"), grid: ewGrid(o.n), block: ewBlock,
		args: []any{int64(o.n), dst, o.a, o.sa, o.b, o.sb}}
}

func binaryJVPLaunch(op string, o binaryOperands, dst, ta, tb cudadrv.DevicePtr) launch {
	return launch{name: binaryName(op, "jvp"), grid: ewGrid(o.n), block: ewBlock,
		args: []any{int64(o.n), dst, o.a, o.sa, o.b, o.sb, o.y, ta, tb}}
}

// binaryVJPLaunches builds the launches adding ∂f/∂(input k)·c into g: one
// kernel for a full input, or partial sums into part and their sum for a
// broadcast one.
func binaryVJPLaunches(op string, k int, o binaryOperands, g, c, part cudadrv.DevicePtr, broadcast bool) []launch {
	ks := fmt.Sprint(k)
	if !broadcast {
		return []launch{{name: binaryName(op, "vjp"+ks), grid: ewGrid(o.n), block: ewBlock,
			args: []any{int64(o.n), g, o.a, o.sa, o.b, o.sb, o.y, c}}}
	}
	grid := ewGrid(o.n)
	return []launch{
		{name: binaryName(op, "vjpsum"+ks), grid: grid, block: ewBlock,
			args: []any{int64(o.n), part, o.a, o.sa, o.b, o.sb, o.y, c}},
		{name: "sum_add_partials", grid: 1, block: ewBlock, args: []any{int32(grid), g, part}},
	}
}

func binaryDerivLaunch(op string, k int, o binaryOperands, dst cudadrv.DevicePtr) launch {
	return launch{name: binaryName(op, fmt.Sprint("df", k)), grid: ewGrid(o.n), block: ewBlock,
		args: []any{int64(o.n), dst, o.a, o.sa, o.b, o.sb, o.y}}
}

func (b *Backend) binaryOperands(op string, n int, x, y, out *Tensor) binaryOperands {
	if x == nil || y == nil {
		panic(fmt.Sprintf("cuda: %s: missing operand", op))
	}
	b.same(x, y, out)
	o := binaryOperands{n: n, a: x.ptr, b: y.ptr, sa: stride(op, x.n, n), sb: stride(op, y.n, n)}
	if out != nil {
		if out.n != n {
			panic(fmt.Sprintf("cuda: %s: output of %d elements, want %d", op, out.n, n))
		}
		o.y = out.ptr
	}
	return o
}

// BinaryForward writes f(a, c) into dst for the binary op named op (see
// BinaryOps). a and c have dst's length, or one element, broadcast.
func (b *Backend) BinaryForward(op string, dst, a, c *Tensor) error {
	if dst == nil {
		panic("cuda: BinaryForward: missing dst")
	}
	o := b.binaryOperands(op, dst.n, a, c, nil)
	b.same(dst)
	l := binaryForwardLaunch(op, o, dst.ptr)
	if dst.n == 0 {
		return nil
	}
	return b.do(func() error { return b.launch(l) })
}

// BinaryJVP writes ∂f/∂a·ta + ∂f/∂c·tc into dst, where y = f(a, c). A nil
// tangent is a zero one; at least one must be set. A tangent has its
// operand's length.
func (b *Backend) BinaryJVP(op string, dst, a, c, y, ta, tc *Tensor) error {
	if dst == nil || y == nil || (ta == nil && tc == nil) {
		panic("cuda: BinaryJVP: missing dst, y, or both tangents")
	}
	o := b.binaryOperands(op, dst.n, a, c, y)
	b.same(dst, ta, tc)
	if ta != nil && ta.n != a.n || tc != nil && tc.n != c.n {
		panic(fmt.Sprintf("cuda: %s JVP: tangents' lengths differ from their operands'", op))
	}
	l := binaryJVPLaunch(op, o, dst.ptr, ptrOf(ta), ptrOf(tc))
	if dst.n == 0 {
		return nil
	}
	return b.do(func() error { return b.launch(l) })
}

// BinaryVJP adds (∂f/∂(input k))ᵀ·cot into g, for k = 0 (a) or 1 (c), where
// y = f(a, c) and cot has y's length. g has the length of input k; for a
// broadcast input (one element) the contributions are summed in a fixed
// order, so the result does not depend on scheduling.
func (b *Backend) BinaryVJP(op string, k int, g, a, c, y, cot *Tensor) error {
	if g == nil || cot == nil || y == nil || (k != 0 && k != 1) {
		panic("cuda: BinaryVJP: missing g, y or cot, or k not 0 or 1")
	}
	o := b.binaryOperands(op, y.n, a, c, y)
	b.same(g, cot)
	in := [2]*Tensor{a, c}[k]
	if g.n != in.n || cot.n != y.n {
		panic(fmt.Sprintf("cuda: %s VJP: g of %d elements for an input of %d, cotangent of %d for %d outputs", op, g.n, in.n, cot.n, y.n))
	}
	if y.n == 0 {
		return nil
	}
	broadcast := in.n == 1 && y.n != 1
	return b.do(func() error {
		var part cudadrv.DevicePtr
		if broadcast {
			var err error
			if part, err = b.scratchPartials(); err != nil {
				return err
			}
		}
		for _, l := range binaryVJPLaunches(op, k, o, g.ptr, cot.ptr, part, broadcast) {
			if err := b.launch(l); err != nil {
				return err
			}
		}
		return nil
	})
}

// BinaryDeriv writes ∂f/∂(input k) into dst, of y's length, where
// y = f(a, c): the diagonal of the Jacobian block of a full input.
func (b *Backend) BinaryDeriv(op string, k int, dst, a, c, y *Tensor) error {
	if dst == nil || y == nil || (k != 0 && k != 1) {
		panic("cuda: BinaryDeriv: missing dst or y, or k not 0 or 1")
	}
	o := b.binaryOperands(op, y.n, a, c, y)
	b.same(dst)
	if dst.n != y.n {
		panic(fmt.Sprintf("cuda: %s Deriv: dst of %d elements for %d outputs", op, dst.n, y.n))
	}
	l := binaryDerivLaunch(op, k, o, dst.ptr)
	if dst.n == 0 {
		return nil
	}
	return b.do(func() error { return b.launch(l) })
}
