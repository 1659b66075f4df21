// Package bench holds invad's benchmark programs, their plain-Go
// baselines, and the comparison harness behind `invad bench` (Run). The
// programs themselves live in package catalog (its Bench set); bench keeps
// its names for them (Elementwise10, Coupling, CouplingNet, Robertson, ...)
// as thin wrappers. The comparison runs eight problem families timed with
// invad's products, a dense Jacobian and LU, restarted GMRES on JVPs and,
// where Python with torch is installed, PyTorch, written out as a Markdown
// table, its raw results (bench.json, which Replot redraws from) and
// log-log SVG plots (svg.go, drawn with the standard library). Two of the
// families, residual and flow, are row-major batched networks (x of shape
// [B, d], programs in batched.go, not in the catalog): for them the
// comparison adds the per-sample log|det| (LogAbsDetAlong) and PyTorch's
// per-sample route, vmap(jacrev) + slogdet, with PyTorch's own primal.
//
// Run the Go benchmarks with
//
//	go test -run '^$' -bench . -benchtime 5x ./bench/
//
// and compare the sub-benchmarks of one run (record/plain, jvp/record,
// vjp/record): machines are shared and noisy, so ratios measured together
// are what the notes quote.
package bench
