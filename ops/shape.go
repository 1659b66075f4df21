package ops

import (
	"fmt"

	"github.com/invad/invad/tensor"
)

func arity(name string, in [][]int, n int) {
	if len(in) != n {
		panic(fmt.Sprintf("ops: %s takes %d inputs, got %d", name, n, len(in)))
	}
}

func notSquare(name string, p int, in [][]int, out []int) error {
	return fmt.Errorf("ops: %s: input %d has shape %v, output %v: %w", name, p, in[p], out, errNotSquare)
}

func sizes(in [][]int) []int {
	s := make([]int, len(in))
	for i, sh := range in {
		s[i] = tensor.SizeOf(sh)
	}
	return s
}
