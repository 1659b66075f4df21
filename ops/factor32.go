package ops

import "github.com/invad/invad/cpu"

// The float32 solves of the inverse rules' factors that need no float64
// arithmetic beyond a product (tape.Factor32): the float32 engine of
// package inverse calls them instead of widening every vector.

func (f *diagFactor) Solve32(dst, v []float32) {
	checkLen(len(f.inv), dst, v)
	inv := f.inv
	cpu.For(len(inv), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] = float32(float64(v[i]) * inv[i])
		}
	})
}
func (f *diagFactor) SolveT32(dst, v []float32) { f.Solve32(dst, v) }

func (f identityFactor) Solve32(dst, v []float32) {
	checkLen(int(f), dst, v)
	copy(dst, v)
}
func (f identityFactor) SolveT32(dst, v []float32) { f.Solve32(dst, v) }

func (f cumsumFactor) Solve32(dst, v []float32) {
	checkLen(f.Size(), dst, v)
	cumsumDiff(dst, v, f.rows, f.inner)
}
func (f cumsumFactor) SolveT32(dst, v []float32) {
	checkLen(f.Size(), dst, v)
	cumsumDiffT(dst, v, f.rows, f.inner)
}
