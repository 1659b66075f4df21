package inverse

// SetLogDetGradChunk makes every chunked pass of the log-det gradient run
// on chunks of n samples (0: the default choice) and returns the function
// that restores the previous setting.
func SetLogDetGradChunk(n int) (restore func()) {
	old := ldChunkCols
	ldChunkCols = n
	return func() { ldChunkCols = old }
}

// ChunkedLumps returns how many lump passes ran on chunks of samples so
// far.
func ChunkedLumps() int64 { return chunkedLumps.Load() }
