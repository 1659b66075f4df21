package cuda

import (
	"fmt"
	"unsafe"

	"github.com/invad/invad/internal/cudadrv"
	"github.com/invad/invad/tensor"
)

// Strided copies and sums on the device (kernels/gather.cu): the index maps
// of Permute, SliceAxis, ConcatAxis, SumAxis and MeanAxis, and of the binary
// ops' NumPy broadcasting. The geometry travels to the kernel in a small
// buffer of long longs, uploaded per call.

// strided is an index space of row-major axes (dims) with, per axis, the
// step of a destination (dst) and of a source (src), from offsets dstOff
// and srcOff.
type strided struct {
	dims, dst, src []int
	dstOff, srcOff int
}

// reach returns the largest offset of the space dims with strides st, -1
// for an empty space. It panics on a negative stride.
func reach(dims, st []int) int {
	m := 0
	for i, d := range dims {
		if d == 0 {
			return -1
		}
		if st[i] < 0 {
			panic(fmt.Sprintf("cuda: negative stride in %v", st))
		}
		m += (d - 1) * st[i]
	}
	return m
}

// within panics unless off + reach fits in t.
func within(what string, t *Tensor, off, r int) {
	if off < 0 || off+r >= t.n {
		panic(fmt.Sprintf("cuda: %s: elements up to %d from %d outside a tensor of %d", what, off+r, off, t.n))
	}
}

// stridedLaunch builds the launch of strided_copy or strided_sum over n
// elements of the index space.
func stridedLaunch(name string, n int, add bool, alpha float64, meta, dst, src cudadrv.DevicePtr) launch {
	a := int32(0)
	if add {
		a = 1
	}
	return launch{name: name, grid: ewGrid(n), block: ewBlock, args: []any{int64(n), a, alpha, meta, dst, src}}
}

// withMeta uploads meta to a buffer of the allocator, calls f with it and
// gives it back; the caller holds the lock (inside do). Giving it back at
// once is safe: a later upload into it waits for the kernels before it.
func (b *Backend) withMeta(meta []int64, f func(cudadrv.DevicePtr) error) error {
	m, err := b.allocBytes(8*len(meta), nil, 0)
	if err != nil {
		return err
	}
	defer b.alloc.put(m.ptr, m.class)
	if err := b.dev.htod(m.ptr, unsafe.Pointer(&meta[0]), 8*len(meta)); err != nil {
		return err
	}
	return f(m.ptr)
}

func at(t *Tensor, off int) cudadrv.DevicePtr { return t.ptr + cudadrv.DevicePtr(8*off) }

// stridedCopy writes alpha·src[s.srcOff + i·s.src] into dst[s.dstOff +
// i·s.dst] for every index i of s.dims, or adds it with add. The
// destination indices must be distinct. It panics if either side reaches
// outside its tensor.
func (b *Backend) stridedCopy(dst, src *Tensor, s strided, alpha float64, add bool) error {
	if dst == nil || src == nil || len(s.dst) != len(s.dims) || len(s.src) != len(s.dims) {
		panic("cuda: stridedCopy: missing operand or strides of another rank")
	}
	b.same(dst, src)
	n := tensor.SizeOf(s.dims)
	if n == 0 {
		return nil
	}
	within("stridedCopy dst", dst, s.dstOff, reach(s.dims, s.dst))
	within("stridedCopy src", src, s.srcOff, reach(s.dims, s.src))
	meta := []int64{int64(len(s.dims))}
	for _, v := range [][]int{s.dims, s.dst, s.src} {
		for _, x := range v {
			meta = append(meta, int64(x))
		}
	}
	return b.do(func() error {
		return b.withMeta(meta, func(m cudadrv.DevicePtr) error {
			return b.launch(stridedLaunch("strided_copy", n, add, alpha, m, at(dst, s.dstOff), at(src, s.srcOff)))
		})
	})
}

// stridedSum writes into dst[j], for every index j of the space s.dims
// (dst contiguous, from s.dstOff), alpha·Σ_k src[s.srcOff + j·s.src +
// k·rsrc] over the index space k of rdims, in row-major order of k; with
// add it adds that. It panics if either side reaches outside its tensor.
func (b *Backend) stridedSum(dst, src *Tensor, s strided, rdims, rsrc []int, alpha float64, add bool) error {
	if dst == nil || src == nil || len(s.src) != len(s.dims) || len(rsrc) != len(rdims) {
		panic("cuda: stridedSum: missing operand or strides of another rank")
	}
	b.same(dst, src)
	n := tensor.SizeOf(s.dims)
	if n == 0 {
		return nil
	}
	within("stridedSum dst", dst, s.dstOff, n-1)
	if m := reach(rdims, rsrc); m >= 0 {
		within("stridedSum src", src, s.srcOff, reach(s.dims, s.src)+m)
	}
	meta := []int64{int64(len(s.dims))}
	for _, v := range [][]int{s.dims, s.src, {len(rdims)}, rdims, rsrc} {
		for _, x := range v {
			meta = append(meta, int64(x))
		}
	}
	return b.do(func() error {
		return b.withMeta(meta, func(m cudadrv.DevicePtr) error {
			return b.launch(stridedLaunch("strided_sum", n, add, alpha, m, at(dst, s.dstOff), at(src, s.srcOff)))
		})
	})
}

func (e *seq) stridedCopy(dst, src *Tensor, s strided, alpha float64, add bool) {
	e.run(func() error { return e.b.stridedCopy(dst, src, s, alpha, add) })
}

func (e *seq) stridedSum(dst, src *Tensor, s strided, rdims, rsrc []int, alpha float64, add bool) {
	e.run(func() error { return e.b.stridedSum(dst, src, s, rdims, rsrc, alpha, add) })
}
