package cuda

import (
	"fmt"
	"unsafe"

	"github.com/invad/invad/internal/cudadrv"
	"github.com/invad/invad/tensor"
)

// Tensor is a dense row-major float64 tensor in device memory, owned by the
// Backend that made it. Free returns its memory to the Backend's cache.
type Tensor struct {
	be    *Backend
	ptr   cudadrv.DevicePtr
	class int
	shape []int
	n     int
}

// Shape returns the tensor's shape (not a copy: do not modify).
func (t *Tensor) Shape() []int { return t.shape }

// Len returns the number of elements.
func (t *Tensor) Len() int { return t.n }

// Backend returns the tensor's Backend.
func (t *Tensor) Backend() *Backend { return t.be }

// alloc takes a buffer of bytes from the cache; the caller holds the lock.
func (b *Backend) allocBytes(bytes int, shape []int, n int) (*Tensor, error) {
	p, c, err := b.alloc.get(max(bytes, 1))
	if err != nil {
		return nil, err
	}
	return &Tensor{be: b, ptr: p, class: c, shape: shape, n: n}, nil
}

// Alloc returns an uninitialized device tensor of the given shape.
func (b *Backend) Alloc(shape ...int) (*Tensor, error) {
	n := tensor.SizeOf(shape)
	var t *Tensor
	err := b.do(func() (err error) {
		t, err = b.allocBytes(8*n, append([]int(nil), shape...), n)
		return err
	})
	return t, err
}

// Upload copies a host tensor to a new device tensor.
func (b *Backend) Upload(src *tensor.Tensor) (*Tensor, error) {
	return b.UploadData(src.Shape(), src.Data())
}

// UploadData copies data, of the given shape, to a new device tensor. It
// panics if len(data) does not match the shape.
func (b *Backend) UploadData(shape []int, data []float64) (*Tensor, error) {
	n := tensor.SizeOf(shape)
	if len(data) != n {
		panic(fmt.Sprintf("cuda: UploadData of %d elements as shape %v", len(data), shape))
	}
	var t *Tensor
	err := b.do(func() error {
		var err error
		if t, err = b.allocBytes(8*n, append([]int(nil), shape...), n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if err := b.dev.htod(t.ptr, unsafe.Pointer(&data[0]), 8*n); err != nil {
			b.alloc.put(t.ptr, t.class)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// UploadTo copies data into dst's first len(data) elements. It panics if
// data is longer than dst.
func (b *Backend) UploadTo(dst *Tensor, data []float64) error {
	if len(data) > dst.n {
		panic(fmt.Sprintf("cuda: UploadTo of %d elements into %d", len(data), dst.n))
	}
	b.same(dst)
	if len(data) == 0 {
		return nil
	}
	return b.do(func() error { return b.dev.htod(dst.ptr, unsafe.Pointer(&data[0]), 8*len(data)) })
}

// Download waits for the stream and copies the tensor into dst. It panics
// if len(dst) != t.Len().
func (t *Tensor) Download(dst []float64) error {
	if len(dst) != t.n {
		panic(fmt.Sprintf("cuda: Download of %d elements into %d", t.n, len(dst)))
	}
	b := t.be
	return b.do(func() error {
		if t.n == 0 {
			return b.dev.sync()
		}
		return b.dev.dtoh(unsafe.Pointer(&dst[0]), t.ptr, 8*t.n)
	})
}

// ToHost returns a host copy of the tensor.
func (t *Tensor) ToHost() (*tensor.Tensor, error) {
	out := tensor.Zeros(t.shape...)
	if err := t.Download(out.Data()); err != nil {
		return nil, err
	}
	return out, nil
}

// Free returns the tensor's memory to its Backend's cache. The tensor must
// not be used afterwards; freeing twice panics.
func (t *Tensor) Free() {
	if t.be == nil {
		panic("cuda: Tensor freed twice")
	}
	if t.class < 0 {
		panic("cuda: Free of a view (free the tensor it views)")
	}
	b := t.be
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.alloc.put(t.ptr, t.class)
	}
	t.be = nil
}

// same panics unless every tensor belongs to b (nil tensors are skipped).
func (b *Backend) same(ts ...*Tensor) {
	for _, t := range ts {
		if t != nil && t.be != b {
			panic("cuda: tensor of another Backend, or freed")
		}
	}
}

// View returns the elements [off, off+n) of t as a tensor of the given shape
// (n is its size; no shape means a vector of the remaining elements),
// sharing t's memory: writes through either are seen by both. A view must
// not be freed and must not be used after t is freed. It panics if the
// range does not fit in t.
func (t *Tensor) View(off int, shape ...int) *Tensor {
	if t.be == nil {
		panic("cuda: View of a freed tensor")
	}
	if shape == nil {
		shape = []int{t.n - off}
	}
	n := tensor.SizeOf(shape)
	if off < 0 || n < 0 || off+n > t.n {
		panic(fmt.Sprintf("cuda: View of elements [%d, %d) of a tensor of %d", off, off+n, t.n))
	}
	return &Tensor{be: t.be, ptr: t.ptr + cudadrv.DevicePtr(8*off), class: -1, shape: append([]int(nil), shape...), n: n}
}
