package cpu

import (
	"runtime"
	"sync"
)

// Grain is the smallest range For splits across goroutines: below it the
// goroutine start-up (about a microsecond) outweighs the work.
const Grain = 1 << 15

// For calls body over [0, n) split into contiguous chunks, in parallel when n
// is at least Grain. body must be safe to run concurrently on disjoint ranges.
func For(n int, body func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < Grain || workers == 1 {
		if n > 0 {
			body(0, n)
		}
		return
	}
	chunks := min(workers, n/(Grain/2))
	var wg sync.WaitGroup
	wg.Add(chunks - 1)
	step := (n + chunks - 1) / chunks
	for c := 1; c < chunks; c++ {
		lo, hi := c*step, min((c+1)*step, n)
		go func() {
			defer wg.Done()
			body(lo, hi)
		}()
	}
	body(0, min(step, n))
	wg.Wait()
}
