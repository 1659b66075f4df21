package cuda

import (
	"fmt"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// The device rule of MatMul: products by the gemm kernel (or cuBLAS), its
// block with respect to one operand solved by products with W⁻¹.

func init() {
	register(ops.MatMulOp, func(tape.Op) (devOp, bool) { return matMulRule{}, true })
}

type matMulRule struct{ notView }

func (matMulRule) forward(e *seq, dst *Tensor, in []*Tensor) {
	m, k, c := mmDims(in[0].Shape(), in[1].Shape())
	e.ok(e.b.Gemm(m, c, k, 1, GemmOperand{T: in[0], LD: k}, GemmOperand{T: in[1], LD: c}, 0, dst, c))
}

func (matMulRule) jvp(e *seq, dst *Tensor, in []*Tensor, out *Tensor, t []*Tensor) {
	m, k, c := mmDims(in[0].Shape(), in[1].Shape())
	beta := 0.0
	if t[0] != nil {
		e.ok(e.b.Gemm(m, c, k, 1, GemmOperand{T: t[0], LD: k}, GemmOperand{T: in[1], LD: c}, 0, dst, c))
		beta = 1
	}
	if t[1] != nil && e.err == nil {
		e.ok(e.b.Gemm(m, c, k, 1, GemmOperand{T: in[0], LD: k}, GemmOperand{T: t[1], LD: c}, beta, dst, c))
	}
}

func (matMulRule) vjp(e *seq, dst []*Tensor, in []*Tensor, out, c *Tensor) {
	m, k, cc := mmDims(in[0].Shape(), in[1].Shape())
	if dst[0] != nil { // ga += c·bᵀ
		e.run(func() error {
			return e.b.Gemm(m, k, cc, 1, GemmOperand{T: c, LD: cc}, GemmOperand{T: in[1], LD: cc, Trans: true}, 1, dst[0], k)
		})
	}
	if dst[1] != nil { // gb += aᵀ·c
		e.run(func() error {
			return e.b.Gemm(k, cc, m, 1, GemmOperand{T: in[0], LD: k, Trans: true}, GemmOperand{T: c, LD: cc}, 1, dst[1], cc)
		})
	}
}

// factor: the other operand is W, its host value (a constant) or a copy of
// the device's, factorized as the CPU's rule does (the same LU, errors and
// log|det|).
func (matMulRule) factor(e *seq, nd *tape.Node, p int, in []*Tensor, out *Tensor) (devFactor, error) {
	w := nd.In[1-p].Value()
	if w == nil {
		w = tensor.New(in[1-p].Shape(), e.download(in[1-p]))
		if e.err != nil {
			return nil, e.err
		}
	}
	lu, err := ops.MatMulLU(p, w)
	if err != nil {
		return nil, err
	}
	k := lu.Size()
	times := in[p].Len() / max(k, 1) // W's copies in the block: rows of X·W, columns of W·X
	f := &kronDev{k: k, left: p == 1, c: times, logdet: float64(times) * lu.LogAbsDet(),
		how: fmt.Sprintf("LU of the %d×%d W, once for %d copies (rcond %.2g), solved by W⁻¹ products", k, k, times, lu.RCond())}
	f.winv = e.upload(lu.Inverse(), k, k)
	if e.err != nil {
		return nil, e.err
	}
	return f, nil
}
