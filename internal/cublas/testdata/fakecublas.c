// A fake libcublas for the tests: "device" addresses are host addresses (as
// with the fake libcuda of internal/cudadrv), and the functions compute on
// them with plain loops, so a caller's argument mapping can be checked by
// its results. fake_state reports what the last calls received.
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct { int created, destroyed; uintptr_t stream; int last_ta, last_tb; } state;
static state st;
static int handle_token = 7;

void fake_state(state* s) { *s = st; }

int cublasCreate_v2(void** h) { st.created++; *h = &handle_token; return 0; }
int cublasDestroy_v2(void* h) { if (h != &handle_token) return 7; st.destroyed++; return 0; }
int cublasSetStream_v2(void* h, uintptr_t s) { if (h != &handle_token) return 7; st.stream = s; return 0; }
int cublasGetVersion_v2(void* h, int* v) { *v = 120304; return 0; }

// Column-major C = alpha op(A) op(B) + beta C; beta = 0 ignores C.
int cublasDgemm_v2(void* h, int ta, int tb, int m, int n, int k, const double* alpha, const double* A, int lda,
                   const double* B, int ldb, const double* beta, double* C, int ldc) {
    if (h != &handle_token) return 1;
    if (m < 0 || n < 0 || k < 0 || lda < (ta ? k : m) || ldb < (tb ? n : k) || ldc < m) return 7;
    st.last_ta = ta; st.last_tb = tb;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int p = 0; p < k; p++) {
                double a = ta ? A[p + i * (long)lda] : A[i + p * (long)lda];
                double b = tb ? B[j + p * (long)ldb] : B[p + j * (long)ldb];
                s += a * b;
            }
            double* c = &C[i + j * (long)ldc];
            *c = *beta == 0 ? *alpha * s : *alpha * s + *beta * *c;
        }
    return 0;
}

// Batched LU with partial pivoting, column-major, 1-based pivots; info[b] is
// the 1-based column of the first zero pivot or 0.
int cublasDgetrfBatched(void* h, int n, double** A, int lda, int* piv, int* info, int batch) {
    if (h != &handle_token) return 1;
    if (n < 0 || lda < n || batch < 0) return 7;
    for (int b = 0; b < batch; b++) {
        double* a = A[b];
        info[b] = 0;
        for (int c = 0; c < n; c++) {
            int p = c;
            for (int r = c + 1; r < n; r++)
                if (fabs(a[r + c * lda]) > fabs(a[p + c * lda])) p = r;
            piv[b * n + c] = p + 1;
            if (a[p + c * lda] == 0) { if (!info[b]) info[b] = c + 1; continue; }
            if (p != c)
                for (int j = 0; j < n; j++) { double t = a[c + j * lda]; a[c + j * lda] = a[p + j * lda]; a[p + j * lda] = t; }
            for (int r = c + 1; r < n; r++) {
                double l = a[r + c * lda] /= a[c + c * lda];
                for (int j = c + 1; j < n; j++) a[r + j * lda] -= l * a[c + j * lda];
            }
        }
    }
    return 0;
}
