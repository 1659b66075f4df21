// A fake libcuda for the binding's tests: every function the binding
// resolves, with the C signature of cuda.h, recording what it was given so
// that the tests check the calling convention purego produces (arguments in
// registers and on the stack, out-parameters, strings). No GPU involved.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;

static CUresult init_result(void) {
    const char* s = getenv("FAKECUDA_INIT");
    return s ? atoi(s) : 0;
}

CUresult cuInit(unsigned flags) { return flags != 0 ? 1 : init_result(); }
CUresult cuDriverGetVersion(int* v) { *v = 12040; return 0; }
CUresult cuDeviceGetCount(int* n) { *n = 2; return 0; }
CUresult cuDeviceGet(CUdevice* d, int ordinal) {
    if (ordinal < 0 || ordinal >= 2) return 101;  // CUDA_ERROR_INVALID_DEVICE
    *d = 10 + ordinal;
    return 0;
}
CUresult cuDeviceGetName(char* name, int len, CUdevice d) { snprintf(name, len, "Fake GPU %d", d); return 0; }
CUresult cuDeviceGetAttribute(int* v, int attr, CUdevice d) {
    switch (attr) {
    case 75: *v = 9; return 0;
    case 76: *v = d - 10; return 0;
    case 16: *v = 132; return 0;
    }
    return 1;
}
CUresult cuDeviceTotalMem_v2(size_t* n, CUdevice d) { *n = (size_t)80 << 30; return 0; }
CUresult cuCtxCreate_v2(void** ctx, unsigned flags, CUdevice d) { *ctx = (void*)(uintptr_t)(0x1000 + d + flags); return 0; }
CUresult cuCtxDestroy_v2(void* ctx) { return ctx ? 0 : 201; }
CUresult cuCtxSetCurrent(void* ctx) { return 0; }
CUresult cuCtxSynchronize(void) { return 0; }
CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t n) {
    if (n > ((size_t)1 << 40)) return 2;  // CUDA_ERROR_OUT_OF_MEMORY
    *p = (CUdeviceptr)(uintptr_t)malloc(n);
    return 0;
}
CUresult cuMemFree_v2(CUdeviceptr p) { free((void*)(uintptr_t)p); return 0; }
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) { memcpy((void*)(uintptr_t)dst, src, n); return 0; }
CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) { memcpy(dst, (void*)(uintptr_t)src, n); return 0; }
CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n) { memcpy((void*)(uintptr_t)dst, (void*)(uintptr_t)src, n); return 0; }
CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned v, size_t n) {
    for (size_t i = 0; i < n; i++) ((unsigned*)(uintptr_t)dst)[i] = v;
    return 0;
}
CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned v, size_t n, void* s) { return cuMemsetD32_v2(dst, v, n); }
CUresult cuModuleLoadData(void** m, const void* image) { *m = (void*)0x2000; return 0; }
CUresult cuModuleLoadDataEx(void** m, const void* image, unsigned n, int* opts, void** vals) {
    if (strstr((const char*)image, "bad") != NULL) {
        for (unsigned i = 0; i < n; i++)
            if (opts[i] == 5) {  // CU_JIT_ERROR_LOG_BUFFER
                size_t size = 0;
                for (unsigned j = 0; j < n; j++)
                    if (opts[j] == 6) size = (size_t)(uintptr_t)vals[j];
                snprintf((char*)vals[i], size, "ptxas fatal: fake error in %s", (const char*)image);
            }
        return 218;  // CUDA_ERROR_INVALID_PTX
    }
    *m = (void*)0x2000;
    return 0;
}
CUresult cuModuleUnload(void* m) { return 0; }
CUresult cuModuleGetFunction(void** f, void* m, const char* name) {
    if (strcmp(name, "missing") == 0) return 500;  // CUDA_ERROR_NOT_FOUND
    *f = (void*)(uintptr_t)(0x3000 + strlen(name));
    return 0;
}

// The last launch, for fake_last_launch. A kernel "k(double* p, long long n,
// double x, int i)" has its arguments read as such.
static struct {
    uint64_t f, gx, gy, gz, bx, by, bz, shared, stream;
    uint64_t p, n;
    double x;
    int64_t i;
} last;

CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void* stream, void** params, void** extra) {
    last.f = (uintptr_t)f;
    last.gx = gx; last.gy = gy; last.gz = gz;
    last.bx = bx; last.by = by; last.bz = bz;
    last.shared = shared;
    last.stream = (uintptr_t)stream;
    if (extra != NULL) return 1;
    if (params != NULL) {
        last.p = *(uint64_t*)params[0];
        last.n = *(uint64_t*)params[1];
        last.x = *(double*)params[2];
        last.i = *(int*)params[3];
    }
    return 0;
}
void fake_last_launch(void* dst) { memcpy(dst, &last, sizeof last); }

CUresult cuStreamCreate(void** s, unsigned flags) { *s = (void*)(uintptr_t)(0x4000 + flags); return 0; }
CUresult cuStreamDestroy_v2(void* s) { return 0; }
CUresult cuStreamSynchronize(void* s) { return s == (void*)0x4000 ? 0 : 400; }
CUresult cuGetErrorName(CUresult r, const char** s) {
    switch (r) {
    case 0: *s = "CUDA_SUCCESS"; return 0;
    case 2: *s = "CUDA_ERROR_OUT_OF_MEMORY"; return 0;
    case 100: *s = "CUDA_ERROR_NO_DEVICE"; return 0;
    case 218: *s = "CUDA_ERROR_INVALID_PTX"; return 0;
    case 400: *s = "CUDA_ERROR_INVALID_HANDLE"; return 0;
    case 500: *s = "CUDA_ERROR_NOT_FOUND"; return 0;
    }
    return 1;
}
