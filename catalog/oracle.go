package catalog

import (
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// oracleConst is OracleMatrix(seed, r, c, diag) on x's tape.
func oracleConst(x *tape.Var, seed uint64, r, c int, diag float64) *tape.Var {
	return ops.Const(x, OracleMatrix(seed, r, c, diag))
}

// oraclePrograms are the oracle's own programs: fixed-shape programs whose
// lumps lump's tests compare with the scalar oracle's blocks (the "-oracle"
// ones are programs of the Inverse table with the oracle's own constants),
// then the structurally singular ones.
var oraclePrograms = []Program{
	{Name: "Wx-oracle", About: "constant dense operator: one dense step (the oracle's W)", Shape: []int{6}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle},
		F:    func(x *tape.Var) *tape.Var { return ops.MatMul(oracleConst(x, 1, 6, 6, 3), x) }},
	{Name: "XW-oracle", About: "row-batched product: block diagonal over the 4 rows (the oracle's W)", Shape: []int{4, 3}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle},
		F:    func(x *tape.Var) *tape.Var { return ops.Tanh(ops.MatMul(x, oracleConst(x, 2, 3, 3, 2))) }},
	{Name: "reshape-oracle", About: "reshape relabels; X W rows; reshape back (the oracle's W)", Shape: []int{12}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle},
		F: func(x *tape.Var) *tape.Var {
			m := ops.MatMul(ops.Reshape(x, 4, 3), oracleConst(x, 6, 3, 3, 2))
			return ops.Reshape(ops.Sigmoid(m), 12)
		}},
	{Name: "coupling-oracle", About: "affine coupling with an MLP: expansions and one diagonal step (the oracle's weights)", Shape: []int{8}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle},
		F: func(x *tape.Var) *tape.Var {
			ab := ops.Split(x, 4, 4)
			a, b := ab[0], ab[1]
			h := ops.Tanh(ops.MatMul(oracleConst(x, 3, 5, 4, 0), a))
			s := ops.MatMul(oracleConst(x, 4, 4, 5, 0), h)
			t := ops.MatMul(oracleConst(x, 5, 4, 5, 0), h)
			return ops.Concat(a, ops.Add(ops.Mul(b, ops.Exp(s)), t))
		}},
	{Name: "coupling-swapped", About: "coupling whose output puts the transformed half first", Shape: []int{6}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle},
		F: func(x *tape.Var) *tape.Var {
			ab := ops.Split(x, 2, 4)
			a, b := ab[0], ab[1]
			s := ops.Tanh(ops.MatMul(oracleConst(x, 7, 4, 2, 0), a))
			return ops.Concat(ops.Add(ops.Mul(b, ops.Exp(s)), ops.Sin(ops.MatMul(oracleConst(x, 8, 4, 2, 0), a))), a)
		}},
	{Name: "chains-dense", About: "independent chains on the halves: W a dense, b + sin b per element; never merged", Shape: []int{8}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle},
		F: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 4, 4)
			ya := ops.Tanh(ops.MatMul(oracleConst(x, 9, 4, 4, 2), p[0]))
			yb := ops.Add(p[1], ops.Sin(p[1]))
			return ops.Concat(ya, yb)
		}},
	{Name: "swap-pieces", About: "y = concat(b, a) of x's own pieces: copies only", Shape: []int{6}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle},
		F:    func(x *tape.Var) *tape.Var { p := ops.Split(x, 2, 4); return ops.Concat(p[1], p[0]) }},
	{Name: "swap-pieces-tanh", About: "y = concat(tanh b, a): a copy and a diagonal step", Shape: []int{7}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle},
		F:    func(x *tape.Var) *tape.Var { p := ops.Split(x, 3, 4); return ops.Concat(ops.Tanh(p[1]), p[0]) }},
	{Name: "split-concat-maze", About: "pieces recut at other boundaries; atoms must follow every cut", Shape: []int{8}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle},
		F: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 2, 2, 2, 2)
			u := ops.Concat(ops.Exp(p[2]), p[0], ops.Tanh(p[3]), p[1]) // permuted, half transformed
			q := ops.Split(u, 3, 5)                                    // cut across the old pieces
			v := ops.Concat(ops.Sigmoid(q[1]), ops.Add(q[0], ops.Sin(q[0])))
			r := ops.Split(v, 1, 6, 1)
			return ops.Concat(r[2], ops.Scale(r[1], -2), r[0])
		}},
	{Name: "one-way-coupling", About: "concat(a + sin b, b): triangular, so scalar steps and a copy", Shape: []int{8}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle},
		F: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 4, 4)
			return ops.Concat(ops.Add(p[0], ops.Sin(p[1])), p[1])
		}},
	{Name: "residual-oracle", About: "x + 0.3 tanh(W x): one dense lump (the oracle's W)", Shape: []int{6}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle},
		F: func(x *tape.Var) *tape.Var {
			return ops.Add(x, ops.Scale(ops.Tanh(ops.MatMul(oracleConst(x, 10, 6, 6, 0), x)), 0.3))
		}},
	{Name: "residual-fm-oracle", About: "X + W2 tanh(W1 X), X feature-major [4 features, 3 samples]: one batch lump of 3 blocks 4×4 (the oracle's W)", Shape: []int{4, 3}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle, Inverse}, Lumps: "batch:1",
		F: func(x *tape.Var) *tape.Var {
			h := ops.Tanh(ops.MatMul(oracleConst(x, 12, 5, 4, 0), x))
			return ops.Add(x, ops.MatMul(oracleConst(x, 13, 4, 5, 0), h))
		}},
	{Name: "coupling-fm-oracle", About: "feature-major [4, 3]: a 1×1 mixing W X, then an affine coupling whose scale reads the first two features through W X: one Kron step, copies, a diagonal step", Shape: []int{4, 3}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle, Inverse}, Lumps: "copy:2 expansion:3 step:2",
		F: func(x *tape.Var) *tape.Var {
			m := ops.MatMul(oracleConst(x, 14, 4, 4, 3), x)
			ab := ops.Split(m, 2, 2)
			s := ops.Tanh(ops.MatMul(oracleConst(x, 15, 2, 2, 0), ab[0]))
			return ops.Concat(ab[0], ops.Mul(ab[1], ops.Exp(s)))
		}},
	{Name: "broadcast-half", About: "a rank-0 sum of one half shifts the other half: one-way, dense edge", Shape: []int{6}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle},
		F: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3)
			return ops.Concat(p[0], ops.Add(ops.Tanh(p[1]), ops.Sum(ops.Sin(p[0]))))
		}},
	{Name: "Wx-block-diagonal", About: "W·x is declared dense, but this W is two 3×3 blocks: the oracle finds two lumps where Analyze has one", Shape: []int{6}, Lo: -1, Hi: 1,
		Sets: []Set{Oracle},
		F: func(x *tape.Var) *tape.Var {
			w := OracleMatrix(11, 6, 6, 3)
			d := w.Data()
			for i := range 6 {
				for j := range 6 {
					if i/3 != j/3 {
						d[i*6+j] = 0
					}
				}
			}
			return ops.Tanh(ops.MatMul(ops.Const(x, w), x))
		}},

	// Structurally singular: the width drops below n.
	{Name: "split-sum-concat", About: "design note §6: the width drops from n to n/2 at the +", Shape: []int{6}, Lo: -1, Hi: 1,
		Singular: true, Sets: []Set{Oracle},
		F: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 3, 3)
			s := ops.Add(p[0], p[1])
			return ops.Concat(s, s)
		}},
	{Name: "split-sum-concat-exp", About: "the sum is transformed, then used twice: the width is n/2 from the + on", Shape: []int{8}, Lo: -1, Hi: 1,
		Singular: true, Sets: []Set{Oracle},
		F: func(x *tape.Var) *tape.Var {
			p := ops.Split(x, 4, 4)
			s := ops.Exp(ops.Add(ops.Tanh(p[0]), p[1]))
			return ops.Concat(ops.Sin(s), s)
		}},
	{Name: "half-duplicated", About: "y = concat(a, a): the other half never reaches y", Shape: []int{4}, Lo: -1, Hi: 1,
		Singular: true, Sets: []Set{Oracle},
		F: func(x *tape.Var) *tape.Var { a := ops.Split(x, 2, 2)[0]; return ops.Concat(a, a) }},
	{Name: "rank0-bottleneck", About: "y = sum(tanh x) broadcast: every path crosses one scalar", Shape: []int{5}, Lo: -1, Hi: 1,
		Singular: true, Sets: []Set{Oracle},
		F: func(x *tape.Var) *tape.Var {
			return ops.Add(ops.Sum(ops.Tanh(x)), ops.Const(x, tensor.Zeros(5)))
		}},
}
