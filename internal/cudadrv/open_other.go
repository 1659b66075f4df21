//go:build !linux

package cudadrv

import "fmt"

// open reports that this binding reaches the driver on Linux only.
func open(names []string) (*library, error) {
	return nil, fmt.Errorf("%w: the CUDA binding is only built for Linux", ErrNoDriver)
}
