package gtensor_test

import (
	"errors"
	"fmt"

	gorgonia "gorgonia.org/tensor"

	"github.com/invad/invad/interop/gtensor"
)

func ExampleFromDense() {
	g := gorgonia.New(gorgonia.WithShape(2, 3), gorgonia.WithBacking([]float64{1, 2, 3, 4, 5, 6}))

	t, err := gtensor.FromDense(g)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Shape(), t.At(1, 2))

	// One backing array: a write through either tensor is seen by the other.
	t.Set(60, 1, 2)
	v, _ := g.At(1, 2)
	fmt.Println(v)

	// A transposed tensor is not row-major: FromDense refuses it, and
	// CopyFromDense copies it into a new row-major tensor.
	if err := g.T(); err != nil {
		fmt.Println(err)
		return
	}
	_, err = gtensor.FromDense(g)
	fmt.Println(errors.Is(err, gtensor.ErrLayout))
	c, err := gtensor.CopyFromDense(g)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Shape(), c.Data())
	// Output:
	// [2 3] 6
	// 60
	// true
	// [3 2] [1 4 2 5 3 60]
}
