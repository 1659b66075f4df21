package cudadrv

import "sync"

// UseLibraries makes the binding forget the driver it loaded (if any) and
// load the first of names next time, as from scratch; restore undoes it. It
// is for tests that run the binding on a fake driver, and must not be called
// while driver calls are in flight or handles from the old driver are in use.
func UseLibraries(names []string) (restore func()) {
	orig := libNames
	reset()
	libNames = names
	return func() {
		reset()
		libNames = orig
	}
}

func reset() {
	loadOnce, loadLib, loadErr = sync.Once{}, nil, nil
	current.Store(nil)
	initOnce, initErr = sync.Once{}, nil
}
