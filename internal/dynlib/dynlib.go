// Package dynlib opens a shared library at run time through purego and
// binds Go func variables to its functions: how internal/cudadrv reaches
// the CUDA driver and internal/cublas cuBLAS, without cgo. It is built for
// Linux only; elsewhere Open reports that.
package dynlib

// Symbol is one function to resolve: its name in the library and a pointer
// to the func variable that receives it.
type Symbol struct {
	Name string
	Fptr any
}
