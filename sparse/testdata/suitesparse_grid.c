/*
 * suitesparse_grid.c: times SuiteSparse's sparse direct solvers (UMFPACK,
 * KLU, and CHOLMOD's supernodal Cholesky) on the 5-point Laplacian of a
 * k×k grid, for comparison with the pure-Go sparse LU of this package
 * (BenchmarkFactorSparse in lu_bench_test.go). Not run by the tests.
 *
 * Matrix (n = k², unknown r·k+c, h = 1/(k+1)): J = L/h² + I, i.e. diagonal
 * −4(k+1)² + 1, and (k+1)² for the ±1 neighbours within a grid row (no wrap
 * across row ends) and the ±k neighbours; compressed column form. J is
 * symmetric negative definite, so CHOLMOD factors −J.
 *
 * With -dominant the values are instead those of BenchmarkFactorSparse
 * (same distribution, not the same random numbers): diagonal ±(c+1+u), c
 * the column's nonzero count, u uniform in [0,1); off-diagonals uniform in
 * [−1,1). That matrix is unsymmetric, so CHOLMOD is skipped.
 *
 * Each solver is timed as symbolic analysis + numeric factorization + one
 * solve; each line shows the best of `reps` runs per phase-sum (the phases
 * printed are those of the best run), the fill nnz(L+U) (diagonal counted
 * once; for CHOLMOD nnz(L), with nnz(L+Lᵀ) = 2·nnz(L) − n) and the relative
 * residual ‖Jx − b‖₂/‖b‖₂.
 *
 * Build (Debian, libsuitesparse-dev):
 *   gcc -O2 -I/usr/include/suitesparse -o suitesparse_grid suitesparse_grid.c \
 *     -lumfpack -lklu -lcholmod -lamd -lcolamd -lsuitesparseconfig -lm
 * Usage: ./suitesparse_grid [-dominant] [-reps R] [k ...]  (default 300 1000)
 *   reps defaults to 3 for k < 1000 and 1 for k >= 1000.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cholmod.h>
#include <klu.h>
#include <umfpack.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* xorshift64* uniform in [0,1) */
static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;
static double urand(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct {
    int n, nnz;
    int *Ap, *Ai;
    double *Ax;
} csc;

/* grid builds the k×k 5-point matrix in CSC with sorted row indices. */
static csc grid(int k, int dominant)
{
    csc A;
    int n = k * k, p = 0;
    A.n = n;
    A.Ap = malloc((n + 1) * sizeof(int));
    A.Ai = malloc(5 * (size_t)n * sizeof(int));
    A.Ax = malloc(5 * (size_t)n * sizeof(double));
    double s = (double)(k + 1) * (k + 1);
    for (int j = 0; j < n; j++) {
        int r = j / k, c = j % k;
        int rows[5], m = 0, dpos = -1;
        if (r > 0) rows[m++] = j - k;
        if (c > 0) rows[m++] = j - 1;
        dpos = m;
        rows[m++] = j;
        if (c < k - 1) rows[m++] = j + 1;
        if (r < k - 1) rows[m++] = j + k;
        A.Ap[j] = p;
        for (int t = 0; t < m; t++) {
            A.Ai[p + t] = rows[t];
            if (dominant) {
                A.Ax[p + t] = 2 * urand() - 1;
            } else {
                A.Ax[p + t] = (t == dpos) ? -4 * s + 1 : s;
            }
        }
        if (dominant) {
            double d = m + 1 + urand();
            A.Ax[p + dpos] = urand() < 0.5 ? -d : d;
        }
        p += m;
    }
    A.Ap[n] = p;
    A.nnz = p;
    return A;
}

/* resid returns ‖Ax − b‖₂/‖b‖₂. */
static double resid(const csc *A, const double *x, const double *b)
{
    double *r = malloc(A->n * sizeof(double));
    for (int i = 0; i < A->n; i++) r[i] = -b[i];
    for (int j = 0; j < A->n; j++)
        for (int p = A->Ap[j]; p < A->Ap[j + 1]; p++) r[A->Ai[p]] += A->Ax[p] * x[j];
    double nr = 0, nb = 0;
    for (int i = 0; i < A->n; i++) {
        nr += r[i] * r[i];
        nb += b[i] * b[i];
    }
    free(r);
    return sqrt(nr / nb);
}

typedef struct {
    double an, fa, so, tot; /* seconds */
    double fill;            /* nnz of the factor(s) */
    double res;
    char note[96];
} result;

static void keep_best(result *best, const result *r, int first)
{
    if (first || r->tot < best->tot) *best = *r;
}

static void print(const char *name, int k, const csc *A, const result *b, int reps)
{
    printf("k=%-5d n=%-8d %-16s analyze %8.3f s  factor %8.3f s  solve %7.3f s  total %8.3f s  "
           "nnz(factor) %11.0f  fill %5.1fx  resid %.2e  (best of %d) %s\n",
           k, A->n, name, b->an, b->fa, b->so, b->tot, b->fill, b->fill / A->nnz, b->res, reps,
           b->note);
    fflush(stdout);
}

static void run_umfpack(const csc *A, const double *b, double *x, int k, int reps, int ordering,
                        const char *name)
{
    double Control[UMFPACK_CONTROL], Info[UMFPACK_INFO];
    result best, r;
    umfpack_di_defaults(Control);
    if (ordering >= 0) Control[UMFPACK_ORDERING] = ordering;
    for (int it = 0; it < reps; it++) {
        void *Sym, *Num;
        int st;
        double t0 = now();
        st = umfpack_di_symbolic(A->n, A->n, A->Ap, A->Ai, A->Ax, &Sym, Control, Info);
        if (st != UMFPACK_OK) { fprintf(stderr, "umfpack_di_symbolic: %d\n", st); exit(1); }
        double t1 = now();
        st = umfpack_di_numeric(A->Ap, A->Ai, A->Ax, Sym, &Num, Control, Info);
        if (st != UMFPACK_OK) { fprintf(stderr, "umfpack_di_numeric: %d\n", st); exit(1); }
        double t2 = now();
        double lnz = Info[UMFPACK_LNZ], unz = Info[UMFPACK_UNZ];
        double strat = Info[UMFPACK_STRATEGY_USED], ord = Info[UMFPACK_ORDERING_USED];
        st = umfpack_di_solve(UMFPACK_A, A->Ap, A->Ai, A->Ax, x, b, Num, Control, Info);
        if (st != UMFPACK_OK) { fprintf(stderr, "umfpack_di_solve: %d\n", st); exit(1); }
        double t3 = now();
        r.an = t1 - t0; r.fa = t2 - t1; r.so = t3 - t2; r.tot = t3 - t0;
        r.fill = lnz + unz - A->n;
        r.res = resid(A, x, b);
        snprintf(r.note, sizeof r.note, "[strategy %s, ordering %s, L %.0f + U %.0f incl. diag]",
                 strat == UMFPACK_STRATEGY_SYMMETRIC ? "symmetric" : "unsymmetric",
                 ord == UMFPACK_ORDERING_AMD ? "AMD/COLAMD" : ord == UMFPACK_ORDERING_METIS ? "METIS" : "other",
                 lnz, unz);
        keep_best(&best, &r, it == 0);
        umfpack_di_free_numeric(&Num);
        umfpack_di_free_symbolic(&Sym);
    }
    print(name, k, A, &best, reps);
}

static void run_klu(const csc *A, const double *b, double *x, int k, int reps, int ordering,
                    const char *name)
{
    klu_common Common;
    result best, r;
    for (int it = 0; it < reps; it++) {
        klu_defaults(&Common);
        if (ordering >= 0) Common.ordering = ordering;
        memcpy(x, b, A->n * sizeof(double));
        double t0 = now();
        klu_symbolic *Sym = klu_analyze(A->n, A->Ap, A->Ai, &Common);
        if (!Sym) { fprintf(stderr, "klu_analyze: status %d\n", Common.status); exit(1); }
        double t1 = now();
        klu_numeric *Num = klu_factor(A->Ap, A->Ai, A->Ax, Sym, &Common);
        if (!Num) { fprintf(stderr, "klu_factor: status %d\n", Common.status); exit(1); }
        double t2 = now();
        if (!klu_solve(Sym, Num, A->n, 1, x, &Common)) { fprintf(stderr, "klu_solve: status %d\n", Common.status); exit(1); }
        double t3 = now();
        r.an = t1 - t0; r.fa = t2 - t1; r.so = t3 - t2; r.tot = t3 - t0;
        r.fill = (double)Num->lnz + Num->unz - A->n + Num->nzoff;
        r.res = resid(A, x, b);
        snprintf(r.note, sizeof r.note, "[ordering %d, %d BTF blocks, L %d + U %d incl. diag, nzoff %d]",
                 Common.ordering, Sym->nblocks, Num->lnz, Num->unz, Num->nzoff);
        keep_best(&best, &r, it == 0);
        klu_free_numeric(&Num, &Common);
        klu_free_symbolic(&Sym, &Common);
    }
    print(name, k, A, &best, reps);
}

/* run_cholmod factors −J (lower triangle, stype −1) and solves −J x = −b. */
static void run_cholmod(const csc *A, const double *b, double *x, int k, int reps, int ordering,
                        const char *name)
{
    cholmod_common c;
    result best, r;
    cholmod_start(&c);
    c.supernodal = CHOLMOD_SUPERNODAL;
    if (ordering >= 0) {
        c.nmethods = 1;
        c.method[0].ordering = ordering;
        c.postorder = 1;
    }
    int n = A->n, lnzA = 0;
    for (int j = 0; j < n; j++)
        for (int p = A->Ap[j]; p < A->Ap[j + 1]; p++) lnzA += A->Ai[p] >= j;
    cholmod_sparse *M = cholmod_allocate_sparse(n, n, lnzA, 1, 1, -1, CHOLMOD_REAL, &c);
    int *Mp = M->p, *Mi = M->i, q = 0;
    double *Mx = M->x;
    for (int j = 0; j < n; j++) {
        Mp[j] = q;
        for (int p = A->Ap[j]; p < A->Ap[j + 1]; p++)
            if (A->Ai[p] >= j) { Mi[q] = A->Ai[p]; Mx[q] = -A->Ax[p]; q++; }
    }
    Mp[n] = q;
    cholmod_dense *B = cholmod_allocate_dense(n, 1, n, CHOLMOD_REAL, &c);
    for (int i = 0; i < n; i++) ((double *)B->x)[i] = -b[i];
    for (int it = 0; it < reps; it++) {
        double t0 = now();
        cholmod_factor *L = cholmod_analyze(M, &c);
        if (!L) { fprintf(stderr, "cholmod_analyze: status %d\n", c.status); exit(1); }
        double t1 = now();
        if (!cholmod_factorize(M, L, &c) || c.status != CHOLMOD_OK) {
            fprintf(stderr, "cholmod_factorize: status %d\n", c.status); exit(1);
        }
        double t2 = now();
        cholmod_dense *X = cholmod_solve(CHOLMOD_A, L, B, &c);
        if (!X) { fprintf(stderr, "cholmod_solve: status %d\n", c.status); exit(1); }
        double t3 = now();
        memcpy(x, X->x, n * sizeof(double));
        r.an = t1 - t0; r.fa = t2 - t1; r.so = t3 - t2; r.tot = t3 - t0;
        r.fill = c.lnz; /* nnz(L) incl. diagonal */
        r.res = resid(A, x, b);
        int ord = c.method[c.selected].ordering;
        snprintf(r.note, sizeof r.note, "[nnz(L) only; ordering %s, supernodal %d, flops %.3g]",
                 ord == CHOLMOD_AMD ? "AMD" : ord == CHOLMOD_METIS ? "METIS" :
                 ord == CHOLMOD_NESDIS ? "NESDIS" : "other", L->is_super, c.fl);
        keep_best(&best, &r, it == 0);
        cholmod_free_dense(&X, &c);
        cholmod_free_factor(&L, &c);
    }
    print(name, k, A, &best, reps);
    cholmod_free_dense(&B, &c);
    cholmod_free_sparse(&M, &c);
    cholmod_finish(&c);
}

int main(int argc, char **argv)
{
    int dominant = 0, reps = 0, ks[16], nk = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-dominant")) dominant = 1;
        else if (!strcmp(argv[i], "-reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (nk < 16) ks[nk++] = atoi(argv[i]);
    }
    if (nk == 0) { ks[0] = 300; ks[1] = 1000; nk = 2; }
    printf("SuiteSparse %d.%d.%d, values: %s\n", SUITESPARSE_MAIN_VERSION, SUITESPARSE_SUB_VERSION,
           SUITESPARSE_SUBSUB_VERSION, dominant ? "random column-dominant (BenchmarkFactorSparse)" :
           "J = L/h^2 + I (5-point Laplacian)");
    for (int ik = 0; ik < nk; ik++) {
        int k = ks[ik], R = reps > 0 ? reps : (k >= 1000 ? 1 : 3);
        csc A = grid(k, dominant);
        double *b = malloc(A.n * sizeof(double)), *x = malloc(A.n * sizeof(double));
        for (int i = 0; i < A.n; i++) b[i] = 2 * urand() - 1;
        run_umfpack(&A, b, x, k, R, -1, "UMFPACK(default)");
        run_umfpack(&A, b, x, k, R, UMFPACK_ORDERING_METIS, "UMFPACK(METIS)");
        run_klu(&A, b, x, k, R, -1, "KLU(AMD)");
        if (!dominant) {
            run_cholmod(&A, b, x, k, R, -1, "CHOLMOD(default)");
            run_cholmod(&A, b, x, k, R, CHOLMOD_METIS, "CHOLMOD(METIS)");
        }
        free(A.Ap); free(A.Ai); free(A.Ax); free(b); free(x);
    }
    return 0;
}
