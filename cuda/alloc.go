package cuda

import (
	"errors"
	"math/bits"

	"github.com/invad/invad/internal/cudadrv"
)

// allocator is a caching allocator: freed buffers go to a free list per
// size class and are handed out again before new device memory is taken.
// Classes are 512 bytes and up, four per power of two, so a buffer wastes at
// most a quarter of its size. Its methods are called with the Backend's lock
// held; reuse is safe because the Backend has one stream, which orders every
// use of a buffer before its next owner's.
type allocator struct {
	alloc func(bytes int) (cudadrv.DevicePtr, error)
	free  func(cudadrv.DevicePtr) error
	lists map[int][]cudadrv.DevicePtr
	// inUse and cached count bytes by class size; peak is inUse's
	// largest value since the last resetPeak.
	inUse, cached, peak int
}

func (a *allocator) took(c int) {
	a.inUse += c
	a.peak = max(a.peak, a.inUse)
}

func (a *allocator) resetPeak() { a.peak = a.inUse }

func newAllocator(alloc func(int) (cudadrv.DevicePtr, error), free func(cudadrv.DevicePtr) error) *allocator {
	return &allocator{alloc: alloc, free: free, lists: map[int][]cudadrv.DevicePtr{}}
}

// sizeClass returns the size that a request of n bytes is served with.
func sizeClass(n int) int {
	const minClass = 512
	if n <= minClass {
		return minClass
	}
	// n in (2^e, 2^(e+1)]: classes 2^e·(1 + q/4), q = 1..4.
	e := bits.Len(uint(n-1)) - 1
	step := 1 << (e - 2)
	return (n + step - 1) / step * step
}

// get returns a buffer of at least n bytes and its class. When the device
// is out of memory it frees every cached buffer and tries once more.
func (a *allocator) get(n int) (cudadrv.DevicePtr, int, error) {
	c := sizeClass(n)
	if l := a.lists[c]; len(l) > 0 {
		p := l[len(l)-1]
		a.lists[c] = l[:len(l)-1]
		a.cached -= c
		a.took(c)
		return p, c, nil
	}
	p, err := a.alloc(c)
	if err != nil {
		var de *cudadrv.Error
		if errors.As(err, &de) && de.Code == 2 && a.cached > 0 { // CUDA_ERROR_OUT_OF_MEMORY
			if terr := a.trim(); terr != nil {
				return 0, 0, terr
			}
			p, err = a.alloc(c)
		}
		if err != nil {
			return 0, 0, err
		}
	}
	a.took(c)
	return p, c, nil
}

// put returns a buffer of class c from get to the cache.
func (a *allocator) put(p cudadrv.DevicePtr, c int) {
	a.lists[c] = append(a.lists[c], p)
	a.inUse -= c
	a.cached += c
}

// trim frees every cached buffer.
func (a *allocator) trim() error {
	var first error
	for c, l := range a.lists {
		for _, p := range l {
			if err := a.free(p); err != nil && first == nil {
				first = err
			}
			a.cached -= c
		}
		delete(a.lists, c)
	}
	return first
}
