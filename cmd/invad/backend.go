package main

import (
	"fmt"
	"io"

	"github.com/invad/invad/backend"
)

// resolveBackend turns a --backend value into the backend used (package
// backend): auto takes the GPU when there is one, else the CPU with a
// one-line notice saying what was found; cuda without a GPU is an error
// saying whether the driver or the device is missing. The caller closes it.
func resolveBackend(name string, out io.Writer) (backend.Backend, error) {
	be, err := backend.Open(name, out)
	if err != nil {
		if name == "cuda" {
			return nil, fmt.Errorf("--%v; use --backend cpu or auto", err)
		}
		return nil, fmt.Errorf("--%v", err)
	}
	return be, nil
}
