// Package newton solves F(x) = 0 for F: Rⁿ → Rⁿ written with invad ops,
// taking each Newton step dx = J⁻¹ F(x) by inverse accumulation mode
// (inverse.Linearization.IJVP) instead of forming and factorizing J.
//
// # Method
//
// Each iteration linearizes F at x (recording the tape and factorizing its
// lumps), takes dx = IJVP(F(x)), and moves to x − α·dx, where α starts at
// the damping factor and is halved until ‖F‖₂ decreases enough (Armijo,
// unless the line search is off). The chord option reuses one
// linearization's factorizations for several steps, paying only a primal
// run and an IJVP per step.
//
// # Errors
//
// Errors from the inverse layer (a singular lump, a width below n, NaN) come
// back wrapped with the iteration number: errors.Is and errors.As still
// match them. Not converging within MaxIter is ErrNoConvergence, with the
// result of the last iteration.
package newton

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// ErrNoConvergence is wrapped by the error Solve returns when MaxIter
// iterations do not reach the tolerances, the steps stall, or the line
// search cannot decrease the residual; Result.X is then the iterate with
// the smallest ‖F‖∞ seen. Its text has no package prefix: the errors that
// wrap it have one.
var ErrNoConvergence = errors.New("no convergence")

// Options configure Solve. The zero value means the defaults.
type Options struct {
	// MaxIter bounds the iterations (default 50).
	MaxIter int
	// Tol: stop when ‖F(x)‖∞ ≤ Tol (default 1e-10).
	Tol float64
	// StepTol: stop when ‖α·dx‖∞ ≤ StepTol·(1 + ‖x‖∞) (default 1e-15).
	StepTol float64
	// NoLineSearch takes the damped step as it is.
	NoLineSearch bool
	// Damping is the first step length tried, in (0, 1] (default 1).
	Damping float64
	// Chord reuses a linearization for this many steps before
	// linearizing again (default 1: full Newton).
	Chord int
	// UntilStall: once ‖F‖∞ ≤ Tol, keep taking full steps (no line
	// search) while they shrink (each at most half the one before:
	// Newton's quadratic phase) and stop, converged, at the first that
	// does not, without taking it. Where F is evaluated with
	// rounding errors amplified by an ill-conditioned J, as a fine
	// discretization's F (divided by h²), ‖F‖∞ ≤ Tol leaves x far less
	// accurate than the end of the steps does. MaxIter still bounds the
	// iterations; reaching it after ‖F‖∞ ≤ Tol is converged.
	UntilStall bool
	// Callback, if set, sees every iteration; an error from it stops the
	// solve and is returned.
	Callback func(Iter) error
	// Linearize options (lump width limit, ...).
	Linearize []inverse.Option
	// Linearizer, if set, makes each linearization instead of
	// inverse.Linearize (which then ignores the Linearize options): the
	// CUDA backend's cuda.Linearize, for one. A Linear with a Close method
	// is closed when the solve no longer needs it.
	Linearizer func(F func(x *tape.Var) *tape.Var, x *tensor.Tensor) (Linear, error)
	// Eval, if set, evaluates F for the line search instead of a run on
	// the CPU (cuda.Eval runs it on the GPU).
	Eval func(F func(x *tape.Var) *tape.Var, x *tensor.Tensor) (*tensor.Tensor, error)
}

// Linear is what a Newton iteration needs of a linearization of F at x:
// F(x), log|det J| and the step J⁻¹·F(x). *inverse.Linearization and
// *cuda.Linearization are Linears.
type Linear interface {
	Output() *tensor.Tensor
	LogAbsDet() (float64, error)
	IJVPTo(dst, dy *tensor.Tensor) error
}

// Iter describes one iteration.
type Iter struct {
	K            int           // iteration number, from 1
	Residual     float64       // ‖F(x)‖∞ after the step
	Step         float64       // ‖α·dx‖∞
	Alpha        float64       // the step length taken
	Refactorized bool          // a new linearization (tape and lump factors) was made
	Lumps        int           // lumps of the linearization used (0 for a Linear other than *inverse.Linearization)
	Time         time.Duration // wall time of the iteration, the three below and the rest
	// Where Time went: recording F and factorizing its lumps (zero when a
	// chord step reuses a linearization), the step J⁻¹·F(x) (one IJVP),
	// and the line search's evaluations of F.
	Linearize, Solve, LineSearch time.Duration
}

// Result is what Solve found.
type Result struct {
	X         *tensor.Tensor
	Residual  float64 // ‖F(X)‖∞
	Iters     int
	Converged bool
	History   []Iter
	// LogAbsDet is log|det J| at the last linearization.
	LogAbsDet float64
}

func norms(v []float64) (inf, two float64) {
	for _, a := range v {
		inf = math.Max(inf, math.Abs(a))
		two += a * a
	}
	return inf, math.Sqrt(two)
}

// eval runs F at x on a stream tape: the values only, none kept.
func eval(F func(*tape.Var) *tape.Var, x *tensor.Tensor) *tensor.Tensor {
	return F(tape.NewStreamTape(nil).Input(x)).Value()
}

// Solve runs Newton's method from x0 (not modified). F(x0) is evaluated
// first: a point within Tol is returned as converged without linearizing
// (so a root where J is singular is found, not refused).
//
// It panics if x0 or F is nil, or an option is out of range (NaN,
// negative, Damping above 1 or below 1e-10; zero means the default).
// Errors: those of the linearizations and inverse products, wrapped with
// the iteration (inverse.ErrSize when F changes its output size, a singular
// lump, ...); ErrNoConvergence when MaxIter iterations do not reach Tol, the
// line search finds no decrease, or the steps stall below StepTol while
// ‖F‖∞ is still above Tol. Converged is true only at a point whose
// ‖F‖∞ ≤ Tol; Result.Residual is always ‖F‖∞ at Result.X as evaluated (NaN
// if F could not be evaluated there).
func Solve(F func(x *tape.Var) *tape.Var, x0 *tensor.Tensor, opt Options) (*Result, error) {
	return SolveContext(context.Background(), F, x0, opt)
}

// SolveContext is Solve that stops soon after ctx is done: it checks ctx
// before each iteration and passes it to the analysis and factorization of
// each linearization (Prepare, where the Linear has one, as
// *inverse.Linearization does). It then returns ctx.Err() wrapped with the
// iteration (errors.Is matches it) and the result of the last iteration
// completed. It panics if ctx is nil, and as Solve does.
func SolveContext(ctx context.Context, F func(x *tape.Var) *tape.Var, x0 *tensor.Tensor, opt Options) (*Result, error) {
	if ctx == nil {
		panic("newton: SolveContext with a nil context")
	}
	if x0 == nil {
		panic("newton: nil x0")
	}
	if F == nil {
		panic("newton: nil F")
	}
	opt = defaults(opt)
	linearize := opt.Linearizer
	if linearize == nil {
		// Each linearization reuses the analysis and plan of the one
		// before when F records the same program (inverse.Reuse).
		var prev *inverse.Linearization
		linearize = func(F func(x *tape.Var) *tape.Var, x *tensor.Tensor) (Linear, error) {
			l, err := inverse.Linearize(F, x, append(opt.Linearize[:len(opt.Linearize):len(opt.Linearize)], inverse.Reuse(prev))...)
			if err != nil {
				return nil, err // not a typed nil in the interface
			}
			prev = l
			return l, nil
		}
	}
	evalF := opt.Eval
	if evalF == nil {
		evalF = func(F func(x *tape.Var) *tape.Var, x *tensor.Tensor) (*tensor.Tensor, error) { return eval(F, x), nil }
	}
	x := x0.Clone()
	res := &Result{X: x, Residual: math.NaN()}
	var lin Linear
	release := func() {
		if c, ok := lin.(interface{ Close() }); ok {
			c.Close()
		}
	}
	defer func() { release() }()
	// F at x0 first: a root is returned before anything is factorized.
	fx, err := evalF(F, x)
	if err != nil {
		return res, fmt.Errorf("newton: evaluating F at x0: %w", err)
	}
	if fx.Len() != x.Len() {
		return res, fmt.Errorf("newton: at x0: %w", &inverse.SizeError{In: x.Shape(), Out: fx.Shape()})
	}
	res.Residual, _ = norms(fx.Data())
	if res.Residual <= opt.Tol {
		res.Converged = true
		return res, nil
	}
	// noConvergence returns err with Result.X and Residual the best iterate
	// seen, by ‖F‖∞ (x0 included).
	bestX, bestRes := x, res.Residual
	noConvergence := func(err error) (*Result, error) {
		if !(res.Residual <= bestRes) { // NaN too
			res.X, res.Residual = bestX, bestRes
		}
		return res, err
	}
	age := opt.Chord
	dx := tensor.Zeros(x.Shape()...)        // the step, reused by every iteration
	reached, prevStep := false, math.Inf(1) // UntilStall: ‖F‖∞ ≤ Tol seen; the last step
	for k := 1; k <= opt.MaxIter; k++ {
		t0 := time.Now()
		it := Iter{K: k}
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("newton: iteration %d: %w", k, err)
		}
		if age >= opt.Chord {
			tl := time.Now()
			release()
			lin, err = linearize(F, x)
			if err != nil {
				return res, fmt.Errorf("newton: iteration %d: %w", k, err)
			}
			if p, ok := lin.(interface{ Prepare(context.Context) error }); ok {
				if err := p.Prepare(ctx); err != nil {
					return res, fmt.Errorf("newton: iteration %d: %w", k, err)
				}
			}
			fx = lin.Output().Clone()
			if res.LogAbsDet, err = lin.LogAbsDet(); err != nil {
				return res, fmt.Errorf("newton: iteration %d: %w", k, err)
			}
			it.Refactorized, age = true, 0
			it.Linearize = time.Since(tl)
		}
		age++
		if cl, ok := lin.(*inverse.Linearization); ok {
			if k, err := cl.NumLumps(); err == nil {
				it.Lumps = k
			}
		}
		ts := time.Now()
		if err := lin.IJVPTo(dx, fx); err != nil {
			return res, fmt.Errorf("newton: iteration %d: %w", k, err)
		}
		it.Solve = time.Since(ts)
		ts = time.Now()
		_, f0 := norms(fx.Data())
		alpha := opt.Damping
		var xn, fn *tensor.Tensor
		for {
			xn = x.Clone()
			for i, d := range dx.Data() {
				xn.Data()[i] -= alpha * d
			}
			if fn, err = evalF(F, xn); err != nil {
				return res, fmt.Errorf("newton: iteration %d: evaluating F: %w", k, err)
			}
			_, f1 := norms(fn.Data())
			// Armijo on ½‖F‖²: the Newton direction decreases it at rate ‖F‖².
			// Past Tol (UntilStall) the full step is taken: its length,
			// not ‖F‖ at rounding level, decides.
			if opt.NoLineSearch || reached || (f1 <= (1-1e-4*alpha)*f0 && !math.IsNaN(f1)) {
				break
			}
			alpha /= 2
			if alpha < 1e-10 {
				return noConvergence(fmt.Errorf("newton: iteration %d: the line search found no step that decreases ‖F‖₂ from %.3g (‖F‖∞ = %.3g): %w", k, f0, res.Residual, ErrNoConvergence))
			}
		}
		it.LineSearch = time.Since(ts)
		step, _ := norms(dx.Data())
		xinf, _ := norms(x.Data())
		it.Step, it.Alpha = alpha*step, alpha
		if reached && it.Step > prevStep/2 {
			// The steps stopped shrinking: rounding decides them now. Keep
			// the iterate before this step.
			res.Converged = true
			return res, nil
		}
		x, fx = xn, fn
		res.X = x
		res.Residual, _ = norms(fx.Data())
		if res.Residual < bestRes {
			bestX, bestRes = x, res.Residual
		}
		it.Residual, it.Time = res.Residual, time.Since(t0)
		res.Iters = k
		res.History = append(res.History, it)
		if opt.Callback != nil {
			if err := opt.Callback(it); err != nil {
				return res, err
			}
		}
		if res.Residual <= opt.Tol {
			if !opt.UntilStall {
				res.Converged = true
				return res, nil
			}
			reached = true
		}
		prevStep = it.Step
		if reached {
			continue
		}
		if it.Step <= opt.StepTol*(1+xinf) {
			return noConvergence(fmt.Errorf("newton: iteration %d: the step %.3g fell below StepTol·(1 + ‖x‖∞) with ‖F‖∞ = %.3g still above Tol = %.3g: %w",
				k, it.Step, res.Residual, opt.Tol, ErrNoConvergence))
		}
	}
	if reached {
		res.Converged = res.Residual <= opt.Tol
		if res.Converged {
			return res, nil
		}
	}
	return noConvergence(fmt.Errorf("newton: ‖F‖∞ = %.3g after %d iterations, above Tol = %.3g: %w", res.Residual, opt.MaxIter, opt.Tol, ErrNoConvergence))
}

// defaults fills the zero options with their defaults and panics on an
// option out of range.
func defaults(opt Options) Options {
	bad := func(name string, v float64, want string) {
		panic(fmt.Sprintf("newton: Options.%s = %v: %s (zero means the default)", name, v, want))
	}
	switch {
	case opt.MaxIter < 0:
		bad("MaxIter", float64(opt.MaxIter), "must not be negative")
	case opt.Chord < 0:
		bad("Chord", float64(opt.Chord), "must not be negative")
	case !(opt.Tol >= 0) || math.IsInf(opt.Tol, 0):
		bad("Tol", opt.Tol, "must be finite and not negative")
	case !(opt.StepTol >= 0) || math.IsInf(opt.StepTol, 0):
		bad("StepTol", opt.StepTol, "must be finite and not negative")
	case !(opt.Damping >= 0 && opt.Damping <= 1):
		bad("Damping", opt.Damping, "must be in (0, 1]")
	case opt.Damping != 0 && opt.Damping < 1e-10:
		bad("Damping", opt.Damping, "must be at least 1e-10, where the line search gives up")
	}
	if opt.MaxIter == 0 {
		opt.MaxIter = 50
	}
	if opt.Tol == 0 {
		opt.Tol = 1e-10
	}
	if opt.StepTol == 0 {
		opt.StepTol = 1e-15
	}
	if opt.Damping == 0 {
		opt.Damping = 1
	}
	if opt.Chord == 0 {
		opt.Chord = 1
	}
	return opt
}
