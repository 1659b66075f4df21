package main

import (
	"fmt"
	"io"
)

// resolveBackend turns a --backend value into the backend used. Only the
// CPU backend exists in this build: auto falls back to it with a one-line
// notice, cuda is an error.
func resolveBackend(name string, out io.Writer) (string, error) {
	switch name {
	case "cpu":
		return "cpu", nil
	case "auto":
		fmt.Fprintln(out, "backend auto: this build has no CUDA backend; using the CPU")
		return "cpu", nil
	case "cuda":
		return "", fmt.Errorf("--backend cuda: this build has no CUDA backend yet; use cpu or auto")
	}
	return "", fmt.Errorf("--backend %q: want auto, cpu or cuda", name)
}
