// Package newton solves F(x) = 0 for F: Rⁿ → Rⁿ written with invad ops,
// taking each Newton step dx = J⁻¹ F(x) by inverse accumulation mode
// (inverse.Linearization.IJVP) instead of forming and factorizing J.
//
// # Method
//
// Each iteration linearizes F at x (recording the tape and factorizing its
// lumps), takes dx = IJVP(F(x)), and moves to x − α·dx, where α starts at
// the damping factor (Damping) and is halved until ‖F‖₂ decreases enough
// (Armijo, unless NoLineSearch). The Chord option reuses one
// linearization's factorizations for several steps, paying only a primal
// run and an IJVP per step.
//
// # Memory
//
// Solve releases each of its own linearizations (inverse's Release) once
// its last step is taken, before the line search: its tape's values and
// factors are collected, and the next linearization reuses only its plan
// and its product buffers, which also serve as the factorization's
// scratch. While F is recorded and its lumps factorized, when a solve
// holds the most, Solve holds x and that one linearization; the step and
// F(x) come after. The line search holds x, the step, F(x), one trial
// point and F there, evaluated on a stream tape that keeps no values. A
// Linearizer's Linears are closed instead (where they have Close) before
// the next linearization and at the end.
//
// # Options
//
// Solve takes functional options, as inverse.Linearize does; none means
// the defaults:
//
//	res, err := newton.Solve(F, x0, newton.Tol(1e-12), newton.MaxIter(100),
//		newton.LinearizeWith(inverse.MaxLumpWidth(512)),
//		newton.Callback(func(it newton.Iter) error {
//			log.Printf("%d: ‖F‖∞ = %.3g", it.K, it.Residual)
//			return nil
//		}))
//
// An option given an argument out of range (NaN, ±Inf, negative, Damping
// above 1 or below 1e-10) panics where it is made, with a message starting
// "newton: " and naming the option; zero means the default.
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

// settings are what the options set; the zero value means the defaults.
type settings struct {
	maxIter      int
	tol          float64
	stepTol      float64
	noLineSearch bool
	damping      float64
	chord        int
	untilStall   bool
	callback     func(Iter) error
	linearize    []inverse.Option
	linearizer   func(F func(x *tape.Var) *tape.Var, x *tensor.Tensor) (Linear, error)
	eval         func(F func(x *tape.Var) *tape.Var, x *tensor.Tensor) (*tensor.Tensor, error)
}

// Option configures Solve and SolveContext. Options apply in order: where
// two set the same thing, the later wins (LinearizeWith appends).
type Option func(*settings)

// badOption panics with a caller's mistake in an option: an argument out of
// range (zero, the default, is never one).
func badOption(name string, v any, want string) {
	panic(fmt.Sprintf("newton: %s(%v): %s (zero means the default)", name, v, want))
}

// MaxIter bounds the iterations (default 50; zero means the default). It
// panics if k is negative.
func MaxIter(k int) Option {
	if k < 0 {
		badOption("MaxIter", k, "must not be negative")
	}
	return func(s *settings) { s.maxIter = k }
}

// Tol makes Solve stop, converged, when ‖F(x)‖∞ ≤ t (default 1e-10; zero
// means the default). It panics if t is NaN, infinite or negative.
func Tol(t float64) Option {
	if !(t >= 0) || math.IsInf(t, 0) {
		badOption("Tol", t, "must be finite and not negative")
	}
	return func(s *settings) { s.tol = t }
}

// StepTol makes Solve stop when a step ‖α·dx‖∞ ≤ t·(1 + ‖x‖∞) (default
// 1e-15; zero means the default): with ‖F‖∞ still above Tol, that is
// ErrNoConvergence. It panics if t is NaN, infinite or negative.
func StepTol(t float64) Option {
	if !(t >= 0) || math.IsInf(t, 0) {
		badOption("StepTol", t, "must be finite and not negative")
	}
	return func(s *settings) { s.stepTol = t }
}

// NoLineSearch makes every iteration take the damped step as it is,
// without halving it until ‖F‖₂ decreases.
func NoLineSearch() Option {
	return func(s *settings) { s.noLineSearch = true }
}

// Damping sets the first step length α each iteration tries, in (0, 1]
// (default 1; zero means the default); the line search halves it from
// there. It panics if a is NaN, negative, above 1, or below 1e-10, where
// the line search gives up.
func Damping(a float64) Option {
	switch {
	case !(a >= 0 && a <= 1):
		badOption("Damping", a, "must be in (0, 1]")
	case a != 0 && a < 1e-10:
		badOption("Damping", a, "must be at least 1e-10, where the line search gives up")
	}
	return func(s *settings) { s.damping = a }
}

// Chord makes Solve use each linearization for k steps before linearizing
// again (default 1: full Newton; zero means the default), paying only a
// primal run and an IJVP per reused step. It panics if k is negative.
func Chord(k int) Option {
	if k < 0 {
		badOption("Chord", k, "must not be negative")
	}
	return func(s *settings) { s.chord = k }
}

// UntilStall makes Solve, once ‖F‖∞ ≤ Tol, keep taking full steps (no
// line search) while they shrink (each at most half the one before:
// Newton's quadratic phase) and stop, converged, at the first that does
// not, without taking it. Where F is evaluated with rounding errors
// amplified by an ill-conditioned J, as a fine discretization's F (divided
// by h²), ‖F‖∞ ≤ Tol leaves x far less accurate than the end of the steps
// does. MaxIter still bounds the iterations; reaching it after ‖F‖∞ ≤ Tol
// is converged.
func UntilStall() Option {
	return func(s *settings) { s.untilStall = true }
}

// Callback makes Solve call f after every iteration; an error from f stops
// the solve and is returned as it is. A nil f calls nothing.
func Callback(f func(Iter) error) Option {
	return func(s *settings) { s.callback = f }
}

// LinearizeWith appends opts to the options of every inverse.Linearize
// (lump width limit, refinement, ...); a Linearizer ignores them.
func LinearizeWith(opts ...inverse.Option) Option {
	return func(s *settings) { s.linearize = append(s.linearize, opts...) }
}

// Linearizer makes f make each linearization instead of inverse.Linearize
// (the LinearizeWith options are then ignored): the CUDA backend's
// cuda.Linearize, for one. A Linear with a Close method is closed when the
// solve no longer needs it. A nil f means inverse.Linearize.
func Linearizer(f func(F func(x *tape.Var) *tape.Var, x *tensor.Tensor) (Linear, error)) Option {
	return func(s *settings) { s.linearizer = f }
}

// Eval makes f evaluate F for the line search (and at x0) instead of a run
// on the CPU (cuda.Eval runs it on the GPU). A nil f means the CPU run.
func Eval(f func(F func(x *tape.Var) *tape.Var, x *tensor.Tensor) (*tensor.Tensor, error)) Option {
	return func(s *settings) { s.eval = f }
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

// Solve runs Newton's method from x0 (not modified), configured by opts
// (none: the defaults, MaxIter 50 and Tol 1e-10, full Newton with a line
// search on the CPU). F(x0) is evaluated first: a point within Tol is
// returned as converged without linearizing (so a root where J is singular
// is found, not refused).
//
// It panics if x0, F or an option is nil. (An option's argument out of
// range, NaN, negative, or Damping above 1 or below 1e-10, panics where
// the option is made.)
// Errors: those of the linearizations and inverse products, wrapped with
// the iteration (inverse.ErrSize when F changes its output size, a singular
// lump, ...); ErrNoConvergence when MaxIter iterations do not reach Tol, the
// line search finds no decrease, or the steps stall below StepTol while
// ‖F‖∞ is still above Tol. Converged is true only at a point whose
// ‖F‖∞ ≤ Tol; Result.Residual is always ‖F‖∞ at Result.X as evaluated (NaN
// if F could not be evaluated there).
func Solve(F func(x *tape.Var) *tape.Var, x0 *tensor.Tensor, opts ...Option) (*Result, error) {
	return SolveContext(context.Background(), F, x0, opts...)
}

// SolveContext is Solve that stops soon after ctx is done: it checks ctx
// before each iteration and passes it to the analysis and factorization of
// each linearization (Prepare, where the Linear has one, as
// *inverse.Linearization does). It then returns ctx.Err() wrapped with the
// iteration (errors.Is matches it) and the result of the last iteration
// completed. It panics if ctx is nil, and as Solve does.
func SolveContext(ctx context.Context, F func(x *tape.Var) *tape.Var, x0 *tensor.Tensor, opts ...Option) (*Result, error) {
	if ctx == nil {
		panic("newton: SolveContext with a nil context")
	}
	if x0 == nil {
		panic("newton: nil x0")
	}
	if F == nil {
		panic("newton: nil F")
	}
	opt := configure(opts)
	linearize := opt.linearizer
	own := linearize == nil // the Linearizations are Solve's own: it Releases them
	if own {
		// Each linearization reuses the analysis and plan of the one
		// before when F records the same program (inverse.Reuse).
		var prev *inverse.Linearization
		linearize = func(F func(x *tape.Var) *tape.Var, x *tensor.Tensor) (Linear, error) {
			l, err := inverse.Linearize(F, x, append(opt.linearize[:len(opt.linearize):len(opt.linearize)], inverse.Reuse(prev))...)
			if err != nil {
				return nil, err // not a typed nil in the interface
			}
			prev = l
			return l, nil
		}
	}
	evalF := opt.eval
	if evalF == nil {
		evalF = func(F func(x *tape.Var) *tape.Var, x *tensor.Tensor) (*tensor.Tensor, error) { return eval(F, x), nil }
	}
	x := x0.Clone()
	res := &Result{X: x, Residual: math.NaN()}
	var lin Linear
	// release drops what lin holds once the solve no longer needs it: a
	// Linear with Close is closed, and Solve's own Linearizations are
	// Released (the next one still Reuses the plan and buffers). Both may
	// be done twice.
	release := func() {
		if c, ok := lin.(interface{ Close() }); ok {
			c.Close()
		}
		if l, ok := lin.(*inverse.Linearization); ok && own {
			l.Release()
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
	if res.Residual <= opt.tol {
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
	age := opt.chord
	var dx *tensor.Tensor                   // the step, made with each linearization
	reached, prevStep := false, math.Inf(1) // UntilStall: ‖F‖∞ ≤ Tol seen; the last step
	for k := 1; k <= opt.maxIter; k++ {
		t0 := time.Now()
		it := Iter{K: k}
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("newton: iteration %d: %w", k, err)
		}
		if age >= opt.chord {
			tl := time.Now()
			release()
			// F(x) comes again with the linearization, and the step is
			// made after it: neither is held while F is recorded and its
			// lumps factorized, when a solve holds the most.
			fx, dx = nil, nil
			lin, err = linearize(F, x)
			if err != nil {
				return res, fmt.Errorf("newton: iteration %d: %w", k, err)
			}
			if p, ok := lin.(interface{ Prepare(context.Context) error }); ok {
				if err := p.Prepare(ctx); err != nil {
					return res, fmt.Errorf("newton: iteration %d: %w", k, err)
				}
			}
			// Solve's own Linearizations' F(x) is read in place (Release
			// leaves it to fx); a Linearizer's is copied, its Close may
			// free it.
			if fx = lin.Output(); !own {
				fx = fx.Clone()
			}
			if res.LogAbsDet, err = lin.LogAbsDet(); err != nil {
				return res, fmt.Errorf("newton: iteration %d: %w", k, err)
			}
			dx = tensor.Zeros(x.Shape()...)
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
		if own && age >= opt.chord {
			// The last step with lin: its tape and factors go before the
			// line search evaluates F.
			release()
		}
		ts = time.Now()
		_, f0 := norms(fx.Data())
		alpha := opt.damping
		xn := tensor.Zeros(x.Shape()...) // the trial point, rewritten by each trial
		var fn *tensor.Tensor
		for {
			xd, xnd := x.Data(), xn.Data()
			for i, d := range dx.Data() {
				xnd[i] = xd[i] - alpha*d
			}
			if fn, err = evalF(F, xn); err != nil {
				return res, fmt.Errorf("newton: iteration %d: evaluating F: %w", k, err)
			}
			_, f1 := norms(fn.Data())
			// Armijo on ½‖F‖²: the Newton direction decreases it at rate ‖F‖².
			// Past Tol (UntilStall) the full step is taken: its length,
			// not ‖F‖ at rounding level, decides.
			if opt.noLineSearch || reached || (f1 <= (1-1e-4*alpha)*f0 && !math.IsNaN(f1)) {
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
		if opt.callback != nil {
			if err := opt.callback(it); err != nil {
				return res, err
			}
		}
		if res.Residual <= opt.tol {
			if !opt.untilStall {
				res.Converged = true
				return res, nil
			}
			reached = true
		}
		prevStep = it.Step
		if reached {
			continue
		}
		if it.Step <= opt.stepTol*(1+xinf) {
			return noConvergence(fmt.Errorf("newton: iteration %d: the step %.3g fell below StepTol·(1 + ‖x‖∞) with ‖F‖∞ = %.3g still above Tol = %.3g: %w",
				k, it.Step, res.Residual, opt.tol, ErrNoConvergence))
		}
	}
	if reached {
		res.Converged = res.Residual <= opt.tol
		if res.Converged {
			return res, nil
		}
	}
	return noConvergence(fmt.Errorf("newton: ‖F‖∞ = %.3g after %d iterations, above Tol = %.3g: %w", res.Residual, opt.maxIter, opt.tol, ErrNoConvergence))
}

// configure applies opts to the zero settings and fills what they left
// zero with the defaults. The options checked their arguments when made.
func configure(opts []Option) settings {
	var s settings
	for _, o := range opts {
		if o == nil {
			panic("newton: a nil Option")
		}
		o(&s)
	}
	if s.maxIter == 0 {
		s.maxIter = 50
	}
	if s.tol == 0 {
		s.tol = 1e-10
	}
	if s.stepTol == 0 {
		s.stepTol = 1e-15
	}
	if s.damping == 0 {
		s.damping = 1
	}
	if s.chord == 0 {
		s.chord = 1
	}
	return s
}
