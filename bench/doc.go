// Package bench holds invad's benchmark programs and their plain-Go
// baselines. Run the Go benchmarks with
//
//	go test -run '^$' -bench . -benchtime 5x ./bench/
//
// and compare the sub-benchmarks of one run (record/plain, jvp/record,
// vjp/record): machines are shared and noisy, so ratios measured together
// are what the notes quote.
package bench
