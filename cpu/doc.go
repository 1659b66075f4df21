// Package cpu holds the CPU kernels of invad: a parallel loop over index
// ranges for elementwise work, dense LU factorizations built on gonum's
// LAPACK, and batched LUs of many small blocks, in float64 (FactorBatch) and
// in float32 (FactorBatch32), with kernels of their own.
//
// # Dtypes
//
// FactorBatch32 computes and stores in float32 under the rules of
// FactorBatch, with bounds scaled to float32's precision (RCondMin32,
// BatchGrowthMax32); its log-determinants and growth factors are float64.
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
