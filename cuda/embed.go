package cuda

import (
	"embed"
	"fmt"
)

// ptxFS holds the generated PTX, kernels/NAME.ARCH.ptx.
//
//go:embed kernels/*.ptx
var ptxFS embed.FS

// Archs are the virtual architectures the PTX is generated for, lowest
// first.
var Archs = []string{"compute_70", "compute_90"}

// Sources are the kernel source files, without their .cu suffix.
var Sources = []string{"batchlu", "elementwise", "gather", "linalg"}

// PTX returns the embedded PTX of source (one of Sources) for arch (one of
// Archs). It panics if there is none.
func PTX(source, arch string) []byte {
	b, err := ptxFS.ReadFile("kernels/" + source + "." + arch + ".ptx")
	if err != nil {
		panic(fmt.Sprintf("cuda: no embedded PTX for %s on %s", source, arch))
	}
	return b
}

// archFor returns the architecture whose PTX a GPU of compute capability
// major.minor loads: the highest not above it, or "" if the GPU is older than
// all of them.
func archFor(major, minor int) string {
	cc := 10*major + minor
	best := ""
	for _, a := range Archs {
		var n int
		fmt.Sscanf(a, "compute_%d", &n)
		if n <= cc {
			best = a
		}
	}
	return best
}
