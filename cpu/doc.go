// Package cpu holds the CPU kernels of invad: a parallel loop over index
// ranges for elementwise work, and dense LU factorizations built on gonum's
// LAPACK.
//
// # Concurrency
//
// For splits large ranges over GOMAXPROCS goroutines; small ranges run on the
// calling goroutine with no allocation. Kernels never keep references to the
// slices they are given.
//
// # Errors
//
// Mismatched lengths panic with a message starting with "cpu: ". A singular
// matrix is reported by the factorization's return values, never as NaN.
package cpu
