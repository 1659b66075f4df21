package opstest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// fdStep is the central-difference step h: about eps^(1/3) ≈ 6e-6 for
// float64, which balances truncation error (h²·f‴/6) against rounding
// error (eps·|f|/h).
const fdStep = 6e-6

// Check runs every check of the package documentation on c and returns every
// failure, each a *Failure. It returns nil when the op conforms. It does not
// panic: a bad Case is a "case" failure, a panicking rule a "panic" failure.
func Check(c Case) []error { return newChecker(c).do((*checker).run) }

// newChecker returns a checker of c with its tolerances set.
func newChecker(c Case) *checker {
	k := &checker{c: c, tol: c.Tol, fdTol: c.FDTol, rng: newRand(), seen: map[string]bool{}}
	if k.tol == 0 {
		k.tol = DefaultTol
	}
	if k.fdTol == 0 {
		k.fdTol = DefaultFDTol
	}
	return k
}

// do runs checks, turns a panic into a "panic" failure, checks the guards
// and returns every failure.
func (k *checker) do(checks func(*checker)) (errs []error) {
	defer func() {
		if r := recover(); r != nil {
			k.fail("panic", -1, "%v (remaining checks skipped)", r)
		}
		k.checkGuards()
		errs = k.errs
	}()
	checks(k)
	return k.errs
}

// checker holds one Check run.
type checker struct {
	c          Case
	tol, fdTol float64
	rng        *rand.Rand
	errs       []error
	seen       map[string]bool // keys of failures reported once
	guards     []guard
	shapes     [][]int
	varying    []bool
	outShape   []int
	nOut       int
}

func (k *checker) fail(check string, input int, format string, a ...any) {
	k.errs = append(k.errs, &Failure{Case: k.c.Name, Check: check, Input: input, Msg: fmt.Sprintf(format, a...)})
}

// failOnce reports a failure the first time its key is seen: an op that
// mutates its input does it on every call.
func (k *checker) failOnce(key, check string, input int, format string, a ...any) {
	if !k.seen[key] {
		k.seen[key] = true
		k.fail(check, input, format, a...)
	}
}

func (k *checker) run() {
	if !k.validate() || !k.checkShape() {
		return
	}
	in := draw(k.rng, k.c.Inputs, nil)
	out := k.checkPrimal(in)
	if out == nil {
		return
	}
	ts, jv := k.checkJVP(in, out)
	k.checkVJP(in, out, ts, jv)
	k.checkAlias(in)
	blocks := k.checkStructure(in, out)
	k.checkInverse(in, out, blocks)
	k.checkSingular()
	k.checkOp32(in)
}

// validate reports what makes c unusable; it returns false if any.
func (k *checker) validate() bool {
	c, ok := k.c, true
	bad := func(format string, a ...any) {
		k.fail("case", -1, format, a...)
		ok = false
	}
	if c.Op == nil {
		bad("no Op")
	}
	if c.Ref == nil {
		bad("no Ref")
	}
	if len(c.Inputs) == 0 {
		bad("no Inputs")
	}
	anyVarying := false
	for i, in := range c.Inputs {
		if msg := in.invalid(); msg != "" {
			bad("input %d: %s", i, msg)
		}
		k.shapes = append(k.shapes, slices.Clone(in.Shape))
		k.varying = append(k.varying, !in.Const)
		anyVarying = anyVarying || !in.Const
	}
	if len(c.Inputs) > 0 && !anyVarying {
		bad("every input is Const: nothing to differentiate")
	}
	for s, sp := range c.SingularAt {
		if sp.Input < 0 || sp.Input >= len(c.Inputs) {
			bad("SingularAt[%d]: input %d out of range", s, sp.Input)
		}
		if len(sp.Values) != len(c.Inputs) {
			bad("SingularAt[%d]: %d value slices for %d inputs", s, len(sp.Values), len(c.Inputs))
			continue
		}
		for i, v := range sp.Values {
			if n := tensor.SizeOf(c.Inputs[i].Shape); len(v) != n {
				bad("SingularAt[%d]: input %d has %d values, shape %v needs %d", s, i, len(v), c.Inputs[i].Shape, n)
			}
		}
	}
	return ok
}

// checkShape checks Op.Shape on the case's shapes and on BadShapes. It
// returns false if the output shape is unusable.
func (k *checker) checkShape() bool {
	out, msg := shapeOf(k.c.Op, cloneShapes(k.shapes))
	if msg != "" {
		k.fail("shape", -1, "Shape(%v) panicked: %s", k.shapes, msg)
		return false
	}
	if !tensor.SameShape(out, k.c.Out) {
		k.fail("shape", -1, "Shape(%v) = %v, want %v", k.shapes, out, k.c.Out)
		return false
	}
	k.outShape, k.nOut = slices.Clone(out), tensor.SizeOf(out)
	for _, bad := range k.c.BadShapes {
		out, msg := shapeOf(k.c.Op, cloneShapes(bad))
		switch {
		case msg == "":
			k.fail("shape", -1, "Shape(%v) = %v, want a panic", bad, out)
		case !strings.HasPrefix(msg, "ops: "):
			k.fail("shape", -1, "Shape(%v) panicked with %q, want a string starting with \"ops: \"", bad, msg)
		}
	}
	return true
}

// shapeOf calls op.Shape; msg is "" if it returned, else the panic value
// (quoted by %q if it is not a string, so that it fails the prefix test).
func shapeOf(op tape.Op, in [][]int) (out []int, msg string) {
	defer func() {
		if r := recover(); r != nil {
			if s, ok := r.(string); ok && s != "" {
				msg = s
			} else {
				msg = fmt.Sprintf("%T %q", r, fmt.Sprint(r))
			}
		}
	}()
	return op.Shape(in), ""
}

func cloneShapes(s [][]int) [][]int {
	c := make([][]int, len(s))
	for i, sh := range s {
		c[i] = slices.Clone(sh)
	}
	return c
}

// call runs one rule and reports every watched tensor it changed.
func (k *checker) call(rule string, fn func(), ws ...[]watched[float64]) {
	fn()
	for _, w := range ws {
		for _, m := range changed(w) {
			k.failOnce("unchanged/"+rule+"/"+strings.SplitN(m, " ", 2)[0], "unchanged", -1, "%s: %s", rule, m)
		}
	}
}

func nan(int) float64 { return math.NaN() }

func zero(int) float64 { return 0 }

func (k *checker) random(int) float64 { return uniform(k.rng) }

func (k *checker) forward(in []*tensor.Tensor) *tensor.Tensor {
	dst := guarded(&k.guards, "Forward dst", k.outShape, nan)
	k.call("Forward", func() { k.c.Op.Forward(dst, in) }, watch("input", in...))
	return dst
}

func (k *checker) jvp(in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) []float64 {
	dst := guarded(&k.guards, "JVP dst", k.outShape, nan)
	k.call("JVP", func() { k.c.Op.JVP(dst, in, out, t) }, watch("input", in...), watch("out", out), watch("tangent", t...))
	return dst.Data()
}

func (k *checker) vjp(dst, in []*tensor.Tensor, out, c *tensor.Tensor) {
	k.call("VJP", func() { k.c.Op.VJP(dst, in, out, c) }, watch("input", in...), watch("out", out), watch("cotangent", c))
}

func (k *checker) inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (f tape.Factor, err error) {
	k.call("Inverse", func() { f, err = k.c.Op.Inverse(p, in, out) }, watch("input", in...), watch("out", out))
	return f, err
}

// only returns a slice of n nil tensors but for t at i.
func only(n, i int, t *tensor.Tensor) []*tensor.Tensor {
	s := make([]*tensor.Tensor, n)
	s[i] = t
	return s
}

func clones(in []*tensor.Tensor) [][]float64 {
	c := make([][]float64, len(in))
	for i, t := range in {
		c[i] = slices.Clone(t.Data())
	}
	return c
}

// checkPrimal checks Forward (and View) against Ref and returns Forward's
// value, or nil if Ref is unusable.
func (k *checker) checkPrimal(in []*tensor.Tensor) *tensor.Tensor {
	ref := k.c.Ref(clones(in))
	if len(ref) != k.nOut {
		k.fail("case", -1, "Ref returned %d values, the output has %d", len(ref), k.nOut)
		return nil
	}
	out := k.forward(in)
	if m := mismatch(out.Data(), ref, k.tol); m != "" {
		k.fail("primal", -1, "Forward against Ref: %s", m)
	}
	if vw, ok := k.c.Op.(tape.Viewer); ok {
		var v *tensor.Tensor
		k.call("View", func() { v = vw.View(in) }, watch("input", in...))
		switch {
		case v == nil:
			k.fail("primal", -1, "View returned nil")
		case !tensor.SameShape(v.Shape(), k.outShape):
			k.fail("primal", -1, "View has shape %v, want %v", v.Shape(), k.outShape)
		default:
			if m := mismatch(v.Data(), ref, k.tol); m != "" {
				k.fail("primal", -1, "View against Ref: %s", m)
			}
		}
	}
	return out
}

// checkJVP checks each varying input's JVP against central differences and
// the all-tangents JVP against their sum. It returns the tangents and JVPs.
func (k *checker) checkJVP(in []*tensor.Tensor, out *tensor.Tensor) (ts []*tensor.Tensor, jv [][]float64) {
	ts, jv = make([]*tensor.Tensor, len(in)), make([][]float64, len(in))
	nv := 0
	for i := range in {
		if !k.varying[i] {
			continue
		}
		nv++
		ts[i] = guarded(&k.guards, "tangent", k.shapes[i], k.random)
		jv[i] = k.jvp(in, out, only(len(in), i, ts[i]))
		if m := mismatch(jv[i], k.centralDiff(in, i, ts[i].Data()), k.fdTol); m != "" {
			k.fail("jvp", i, "JVP against central differences of Forward: %s", m)
		}
	}
	if nv > 1 {
		sum := make([]float64, k.nOut)
		for i := range in {
			for r, v := range jv[i] {
				sum[r] += v
			}
		}
		if m := mismatch(k.jvp(in, out, ts), sum, k.tol); m != "" {
			k.fail("jvp", -1, "JVP with every tangent set against the sum of single-input JVPs: %s", m)
		}
	}
	return ts, jv
}

// centralDiff returns (F(in + h t e_i) - F(in - h t e_i)) / 2h.
func (k *checker) centralDiff(in []*tensor.Tensor, i int, t []float64) []float64 {
	step := func(sign float64) []*tensor.Tensor {
		x := make([]*tensor.Tensor, len(in))
		for j, v := range in {
			x[j] = v.Clone()
		}
		d := x[i].Data()
		for e := range d {
			d[e] += sign * fdStep * t[e]
		}
		return x
	}
	fp, fm := k.forward(step(1)).Data(), k.forward(step(-1)).Data()
	fd := make([]float64, len(fp))
	for r := range fd {
		fd[r] = (fp[r] - fm[r]) / (2 * fdStep)
	}
	return fd
}

// checkVJP runs the dot test per varying input, and checks that VJP adds
// into pre-filled accumulators, one input at a time and all at once.
func (k *checker) checkVJP(in []*tensor.Tensor, out *tensor.Tensor, ts []*tensor.Tensor, jv [][]float64) {
	cot := guarded(&k.guards, "cotangent", k.outShape, k.random)
	v0 := make([][]float64, len(in))
	nv := 0
	for i := range in {
		if !k.varying[i] {
			continue
		}
		nv++
		g := guarded(&k.guards, "VJP dst", k.shapes[i], zero)
		k.vjp(only(len(in), i, g), in, out, cot)
		v0[i] = slices.Clone(g.Data())
		lhs, la := dot(jv[i], cot.Data())
		rhs, ra := dot(ts[i].Data(), v0[i])
		if !(math.Abs(lhs-rhs) <= k.tol*(1+la+ra)) {
			k.fail("vjp", i, "dot test: <J t, c> = %.17g, <t, Jᵀ c> = %.17g", lhs, rhs)
		}
		pre := guarded(&k.guards, "VJP dst", k.shapes[i], k.random)
		want := addSlices(pre.Data(), v0[i])
		k.vjp(only(len(in), i, pre), in, out, cot)
		if m := mismatch(pre.Data(), want, k.tol); m != "" {
			k.fail("vjp", i, "VJP into a pre-filled accumulator against prefill + Jᵀ c: %s", m)
		}
	}
	if nv > 1 {
		dst := make([]*tensor.Tensor, len(in))
		want := make([][]float64, len(in))
		for i := range in {
			if k.varying[i] {
				dst[i] = guarded(&k.guards, "VJP dst", k.shapes[i], k.random)
				want[i] = addSlices(dst[i].Data(), v0[i])
			}
		}
		k.vjp(dst, in, out, cot)
		for i := range in {
			if dst[i] == nil {
				continue
			}
			if m := mismatch(dst[i].Data(), want[i], k.tol); m != "" {
				k.fail("vjp", i, "VJP into every accumulator at once against the single-input VJPs: %s", m)
			}
		}
	}
}

func addSlices(a, b []float64) []float64 {
	s := make([]float64, len(a))
	for i := range a {
		s[i] = a[i] + b[i]
	}
	return s
}

// checkAlias passes one tensor as two varying inputs of the same shape (the
// later one's values at both places: Div(x, x) keeps the denominator's
// domain) and checks that tangents and accumulators shared between the two
// places give the summed contributions.
func (k *checker) checkAlias(in []*tensor.Tensor) {
	n := len(in)
	k.aliasPairs(in, func(i, j int, ain []*tensor.Tensor, out *tensor.Tensor) {
		t := guarded(&k.guards, "tangent", k.shapes[i], k.random)
		want := addSlices(k.jvp(ain, out, only(n, i, t)), k.jvp(ain, out, only(n, j, t)))
		both := only(n, i, t)
		both[j] = t
		if m := mismatch(k.jvp(ain, out, both), want, k.tol); m != "" {
			k.fail("alias", -1, "inputs %d and %d the same tensor, JVP with one tangent at both against the sum: %s", i, j, m)
		}
		cot := guarded(&k.guards, "cotangent", k.outShape, k.random)
		gi := guarded(&k.guards, "VJP dst", k.shapes[i], zero)
		gj := guarded(&k.guards, "VJP dst", k.shapes[j], zero)
		k.vjp(only(n, i, gi), ain, out, cot)
		k.vjp(only(n, j, gj), ain, out, cot)
		g := guarded(&k.guards, "VJP dst", k.shapes[i], k.random)
		wantG := addSlices(addSlices(g.Data(), gi.Data()), gj.Data())
		dst := only(n, i, g)
		dst[j] = g
		k.vjp(dst, ain, out, cot)
		if m := mismatch(g.Data(), wantG, k.tol); m != "" {
			k.fail("alias", -1, "inputs %d and %d the same tensor, VJP with one accumulator at both against prefill plus both contributions: %s", i, j, m)
		}
	})
}

// aliasPairs calls check for each pair i < j of varying inputs of one
// shape, with the inputs ain where the later one's values stand at both
// places (Div(x, x) keeps the denominator's domain) and the op's value
// out there.
func (k *checker) aliasPairs(in []*tensor.Tensor, check func(i, j int, ain []*tensor.Tensor, out *tensor.Tensor)) {
	for i := 0; i < len(in); i++ {
		for j := i + 1; j < len(in); j++ {
			if !k.varying[i] || !k.varying[j] || !tensor.SameShape(k.shapes[i], k.shapes[j]) {
				continue
			}
			ain := slices.Clone(in)
			ain[i] = in[j]
			check(i, j, ain, k.forward(ain))
		}
	}
}

// jacobian returns ∂out/∂in_i as a dense Rows×Cols row-major matrix, built
// column by column from JVPs with unit tangents.
func (k *checker) jacobian(i int, in []*tensor.Tensor, out *tensor.Tensor) []float64 {
	rows, cols := out.Len(), in[i].Len()
	J := make([]float64, rows*cols)
	for col := 0; col < cols; col++ {
		e := guarded(&k.guards, "unit tangent", k.shapes[i], func(j int) float64 {
			if j == col {
				return 1
			}
			return 0
		})
		d := k.jvp(in, out, only(len(in), i, e))
		for r := 0; r < rows; r++ {
			J[r*cols+col] = d[r]
		}
	}
	return J
}

// checkStructure checks every input's declared Structure against its dense
// block and returns the blocks it built (nil for constants).
func (k *checker) checkStructure(in []*tensor.Tensor, out *tensor.Tensor) [][]float64 {
	blocks := make([][]float64, len(in))
	for i := range in {
		s := k.c.Op.Structure(i, cloneShapes(k.shapes), slices.Clone(k.varying))
		rows, cols := k.nOut, in[i].Len()
		if s.Rows != rows || s.Cols != cols {
			k.fail("structure", i, "%v declared, the block is %dx%d", s, rows, cols)
			continue
		}
		if !k.varying[i] {
			if s.Kind != tape.Zero {
				k.fail("structure", i, "%v declared for a constant input, want zero", s)
			}
			continue
		}
		if rows*cols > MaxDense {
			k.fail("case", i, "block of %dx%d exceeds MaxDense = %d: use smaller shapes", rows, cols, MaxDense)
			continue
		}
		J := k.jacobian(i, in, out)
		blocks[i] = J
		k.checkPattern(i, s, J)
		if s.Constant {
			in2 := draw(k.rng, k.c.Inputs, in)
			J2 := k.jacobian(i, in2, k.forward(in2))
			if m := mismatch(J2, J, k.tol); m != "" {
				k.fail("structure", i, "%v declared, but the block differs at a second point: %s", s, m)
			}
		}
	}
	return blocks
}

// checkPattern checks the dense block J against s: entries outside the
// pattern exactly zero, declared ones within tolerance of 1, shared blocks
// equal.
func (k *checker) checkPattern(i int, s tape.Structure, J []float64) {
	rows, cols := s.Rows, s.Cols
	bad := func(format string, a ...any) {
		k.fail("structure", i, "%v declared: %s", s, fmt.Sprintf(format, a...))
	}
	square := func() bool {
		if rows != cols {
			bad("the block is not square")
		}
		return rows == cols
	}
	zeroAt := func(r, c int) bool { return false }
	oneAt := func(r, c int) bool { return false }
	switch s.Kind {
	case tape.Zero:
		zeroAt = func(r, c int) bool { return true }
	case tape.Identity:
		if !square() {
			return
		}
		zeroAt = func(r, c int) bool { return r != c }
		oneAt = func(r, c int) bool { return r == c }
	case tape.Diagonal:
		if !square() {
			return
		}
		zeroAt = func(r, c int) bool { return r != c }
	case tape.LowerTriangular:
		if !square() {
			return
		}
		zeroAt = func(r, c int) bool { return c > r }
	case tape.BlockDiagonal:
		b := s.Blocks
		if b < 1 || rows%b != 0 || cols%b != 0 {
			bad("%d blocks do not divide the block", b)
			return
		}
		br, bc := rows/b, cols/b
		zeroAt = func(r, c int) bool { return r/br != c/bc }
	case tape.Selection:
		if s.Len < 0 || s.InOff < 0 || s.OutOff < 0 || s.OutOff+s.Len > rows || s.InOff+s.Len > cols {
			bad("selection out of range")
			return
		}
		oneAt = func(r, c int) bool {
			j := r - s.OutOff
			return j >= 0 && j < s.Len && c == s.InOff+j
		}
		zeroAt = func(r, c int) bool { return !oneAt(r, c) }
	case tape.Kron:
		m := s.Inner
		if m < 1 || rows%m != 0 || cols%m != 0 {
			bad("rows of %d do not divide the block", m)
			return
		}
		zeroAt = func(r, c int) bool { return r%m != c%m }
	case tape.Dense:
	default:
		bad("unknown kind")
		return
	}
	nz, n1 := 0, 0
	var firstZ, first1 string
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			v := J[r*cols+c]
			switch {
			case oneAt(r, c) && !(math.Abs(v-1) <= k.tol):
				if n1 == 0 {
					first1 = fmt.Sprintf("(%d, %d) = %g", r, c, v)
				}
				n1++
			case zeroAt(r, c) && v != 0:
				if nz == 0 {
					firstZ = fmt.Sprintf("(%d, %d) = %g", r, c, v)
				}
				nz++
			}
		}
	}
	if nz > 0 {
		bad("%d entries outside the pattern are not zero, first %s", nz, firstZ)
	}
	if n1 > 0 {
		bad("%d entries that must be 1 are not, first %s", n1, first1)
	}
	if s.Shared {
		if s.Kind != tape.BlockDiagonal {
			bad("Shared is only meaningful for a block-diagonal block")
			return
		}
		br, bc := rows/s.Blocks, cols/s.Blocks
		for b := 1; b < s.Blocks; b++ {
			for r := 0; r < br; r++ {
				for c := 0; c < bc; c++ {
					v, w := J[(b*br+r)*cols+b*bc+c], J[r*cols+c]
					if !(math.Abs(v-w) <= k.tol*(1+math.Abs(w))) {
						bad("block %d differs from block 0 at (%d, %d): %g, want %g", b, r, c, v, w)
						return
					}
				}
			}
		}
	}
}

// checkInverse checks the inverse rule of every input against its dense
// block; inputs of another size than the output's must give ErrNotSquare.
func (k *checker) checkInverse(in []*tensor.Tensor, out *tensor.Tensor, blocks [][]float64) {
	n := k.nOut
	for p := range in {
		if in[p].Len() != n {
			f, err := k.inverse(p, in, out)
			if !errors.Is(err, tape.ErrNotSquare) || f != nil {
				k.fail("inverse", p, "input of %d elements, output of %d: Inverse gave (%v, %v), want (nil, an error matching tape.ErrNotSquare)", in[p].Len(), n, f, err)
			}
			continue
		}
		f, err := k.inverse(p, in, out)
		switch {
		case err != nil:
			k.fail("inverse", p, "Inverse at a regular point: %v", err)
			continue
		case f == nil:
			k.fail("inverse", p, "Inverse returned no factor and no error")
			continue
		case f.Size() != n:
			k.fail("inverse", p, "factor Size() = %d, want %d", f.Size(), n)
			continue
		}
		J := blocks[p]
		if J == nil {
			if n*n > MaxDense {
				k.fail("case", p, "block of %dx%d exceeds MaxDense = %d: use smaller shapes", n, n, MaxDense)
				continue
			}
			J = k.jacobian(p, in, out)
		}
		k.checkFactor(p, f, J, in, out)
	}
}

// checkFactor checks f against the dense n×n block J of input p.
func (k *checker) checkFactor(p int, f tape.Factor, J []float64, in []*tensor.Tensor, out *tensor.Tensor) {
	n := k.nOut
	norm := 0.0 // max(‖J‖∞, ‖J‖₁), the scale of a backward-stable residual
	for r := 0; r < n; r++ {
		row, col := 0.0, 0.0
		for c := 0; c < n; c++ {
			row += math.Abs(J[r*n+c])
			col += math.Abs(J[c*n+r])
		}
		norm = max(norm, row, col)
	}
	// residual reports |A x - v| > tol·(1 + ‖A‖·‖x‖∞ + ‖v‖∞) anywhere.
	residual := func(what string, ax, x, v []float64) {
		scale := 1 + norm*maxAbs(x) + maxAbs(v)
		for r := range v {
			if !(math.Abs(ax[r]-v[r]) <= k.tol*scale) {
				k.fail("inverse", p, "%s: residual %g at %d (x = %g, tolerance %g)", what, ax[r]-v[r], r, x[r], k.tol*scale)
				return
			}
		}
	}
	watchAll := func(v *tensor.Tensor) [][]watched[float64] {
		return [][]watched[float64]{watch("v", v), watch("input", in...), watch("out", out)}
	}

	// Solve: A x = v, x in input space, v in output space.
	v := guarded(&k.guards, "solve rhs", k.outShape, k.random)
	x := guarded(&k.guards, "Solve dst", k.shapes[p], nan)
	k.call("Factor.Solve", func() { f.Solve(x.Data(), v.Data()) }, watchAll(v)...)
	residual("J·Solve(v) = v", k.jvp(in, out, only(len(in), p, x)), x.Data(), v.Data())

	// SolveT: Aᵀ w = u, w in output space, u in input space.
	u := guarded(&k.guards, "solveT rhs", k.shapes[p], k.random)
	w := guarded(&k.guards, "SolveT dst", k.outShape, nan)
	k.call("Factor.SolveT", func() { f.SolveT(w.Data(), u.Data()) }, watchAll(u)...)
	g := guarded(&k.guards, "VJP dst", k.shapes[p], zero)
	k.vjp(only(len(in), p, g), in, out, w)
	residual("Jᵀ·SolveT(v) = v", g.Data(), w.Data(), u.Data())

	// In place: dst and v the same slice.
	a := guarded(&k.guards, "Solve dst=v", k.outShape, func(i int) float64 { return v.Data()[i] })
	f.Solve(a.Data(), a.Data())
	if m := mismatch(a.Data(), x.Data(), k.tol); m != "" {
		k.fail("inverse", p, "Solve in place (dst aliasing v) against Solve into another slice: %s", m)
	}
	a = guarded(&k.guards, "SolveT dst=v", k.shapes[p], func(i int) float64 { return u.Data()[i] })
	f.SolveT(a.Data(), a.Data())
	if m := mismatch(a.Data(), w.Data(), k.tol); m != "" {
		k.fail("inverse", p, "SolveT in place (dst aliasing v) against SolveT into another slice: %s", m)
	}

	// Concurrent use: two goroutines solving at once (the race detector
	// sees shared scratch space) get the same answers.
	k.checkConcurrent(p, f, v.Data(), u.Data(), x.Data(), w.Data())

	// LogAbsDet against a gonum LU of the dense block.
	want := 0.0
	if n > 0 {
		var lu mat.LU
		lu.Factorize(mat.NewDense(n, n, slices.Clone(J)))
		want, _ = lu.LogDet()
	}
	if got := f.LogAbsDet(); !(math.Abs(got-want) <= k.tol*(1+math.Abs(want))) {
		k.fail("inverse", p, "LogAbsDet() = %.17g, log|det J| = %.17g", got, want)
	}
}

func (k *checker) checkConcurrent(p int, f tape.Factor, v, u, x, w []float64) {
	const workers = 2
	xs, ws := make([][]float64, workers), make([][]float64, workers)
	panics := make([]any, workers)
	var wg sync.WaitGroup
	for g := 0; g < workers; g++ {
		xs[g], ws[g] = make([]float64, len(x)), make([]float64, len(w))
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[g] = recover() }()
			f.Solve(xs[g], v)
			f.SolveT(ws[g], u)
		}()
	}
	wg.Wait()
	for g := 0; g < workers; g++ {
		if panics[g] != nil {
			k.fail("inverse", p, "concurrent solve panicked: %v", panics[g])
			return
		}
		if m := mismatch(xs[g], x, k.tol); m != "" {
			k.fail("inverse", p, "concurrent Solve: %s", m)
		}
		if m := mismatch(ws[g], w, k.tol); m != "" {
			k.fail("inverse", p, "concurrent SolveT: %s", m)
		}
	}
}

func maxAbs(s []float64) float64 {
	m := 0.0
	for _, v := range s {
		m = max(m, math.Abs(v))
	}
	return m
}

// checkSingular checks Inverse at each SingularAt point.
func (k *checker) checkSingular() {
	for s, sp := range k.c.SingularAt {
		in := make([]*tensor.Tensor, len(sp.Values))
		for i, v := range sp.Values {
			in[i] = tensor.New(k.shapes[i], slices.Clone(v))
		}
		p := sp.Input
		f, err := k.inverse(p, in, k.forward(in))
		var se *tape.SingularError
		switch {
		case !errors.Is(err, tape.ErrSingular):
			k.fail("singular", p, "SingularAt[%d]: Inverse gave error %v, want one matching tape.ErrSingular", s, err)
		case !errors.As(err, &se):
			k.fail("singular", p, "SingularAt[%d]: error %v is not a *tape.SingularError", s, err)
		case se.Op != k.c.Op.Name() || se.Input != p:
			k.fail("singular", p, "SingularAt[%d]: error names op %q input %d, want %q input %d", s, se.Op, se.Input, k.c.Op.Name(), p)
		}
		if f != nil {
			k.fail("singular", p, "SingularAt[%d]: Inverse returned a factor with its error", s)
		}
	}
}

// checkGuards reports every guard written past len: check "guard", or
// "32/guard" for the buffers of the float32 checks (named "32/...").
func (k *checker) checkGuards() {
	for _, g := range k.guards {
		if i := g.bad(); i >= 0 {
			check := "guard"
			if strings.HasPrefix(g.what, "32/") {
				check = "32/guard"
			}
			k.failOnce("guard/"+g.what, check, -1, "%s: element len+%d of its spare capacity was written", g.what, i)
		}
	}
}
