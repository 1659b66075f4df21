package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// example is a named program f: Rⁿ → Rⁿ for explain and demo.
type example struct {
	about string
	build func(n int) func(x *tape.Var) *tape.Var
}

func randMatrix(rng *rand.Rand, r, c int, scale, diag float64) *tensor.Tensor {
	d := make([]float64, r*c)
	for i := range d {
		d[i] = scale * rng.NormFloat64() / math.Sqrt(float64(r))
	}
	for i := 0; i < min(r, c); i++ {
		d[i*c+i] += diag
	}
	return tensor.New([]int{r, c}, d)
}

var examples = map[string]example{
	"exp-tanh": {"y = exp(2 tanh x): three diagonal steps", func(n int) func(*tape.Var) *tape.Var {
		return func(x *tape.Var) *tape.Var { return ops.Exp(ops.Scale(ops.Tanh(x), 2)) }
	}},
	"x-sin": {"y = x + sin x: no square single op; one lump {sin, +}", func(n int) func(*tape.Var) *tape.Var {
		return func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Scale(ops.Sin(x), 0.5)) }
	}},
	"coupling": {"affine coupling layer on rows of 8: y = [a, b·exp(s(a)) + t(a)]", func(n int) func(*tape.Var) *tape.Var {
		return couplingProblem(max(n/16, 1))
	}},
	"wx": {"y = W x with a constant dense W: one step, LU of W cached", func(n int) func(*tape.Var) *tape.Var {
		W := randMatrix(rand.New(rand.NewPCG(3, 3)), n, n, 1, 3)
		return func(x *tape.Var) *tape.Var { return ops.MatMul(ops.Const(x, W), x) }
	}},
	"rotation": {"(a, b, z) = split(x); y = (a cos z − b sin z, a sin z + b cos z, z): batched 2×2 blocks", func(n int) func(*tape.Var) *tape.Var {
		return func(x *tape.Var) *tape.Var {
			k := x.Len() / 3
			p := ops.Split(x, k, k, x.Len()-2*k)
			a, b, z := p[0], p[1], ops.Slice(p[2], 0, k)
			c, s := ops.Cos(z), ops.Sin(z)
			return ops.Concat(ops.Sub(ops.Mul(a, c), ops.Mul(b, s)), ops.Add(ops.Mul(a, s), ops.Mul(b, c)), p[2])
		}
	}},
	"chains": {"two independent chains on the halves of x: never merged", func(n int) func(*tape.Var) *tape.Var {
		return func(x *tape.Var) *tape.Var {
			p := ops.Split(x, x.Len()/2, x.Len()-x.Len()/2)
			return ops.Concat(ops.Sigmoid(ops.Exp(p[0])), ops.LeakyReLU(ops.Cumsum(p[1]), 0.2))
		}
	}},
	"singular": {"(a, b) = split(x); s = a + b; y = concat(s, s): J is singular", func(n int) func(*tape.Var) *tape.Var {
		return func(x *tape.Var) *tape.Var {
			p := ops.Split(x, x.Len()/2, x.Len()-x.Len()/2)
			s := ops.Add(p[0], ops.Slice(p[1], 0, x.Len()/2))
			return ops.Concat(s, s)
		}
	}},
}

func exampleNames() string {
	var names []string
	for k := range examples {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func lookup(name string) (example, error) {
	e, ok := examples[name]
	if !ok {
		return e, fmt.Errorf("unknown program %q (have %s)", name, exampleNames())
	}
	return e, nil
}
