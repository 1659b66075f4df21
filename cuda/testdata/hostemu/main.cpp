// The host emulator of the invad kernels: a server that the tests of package
// cuda run as a child process and drive over stdin/stdout, as the Backend
// drives a GPU (see cuda/hostemu_test.go for the protocol). Pointers handed
// out are this process's addresses; built with AddressSanitizer, a kernel
// that reads or writes outside its buffers aborts the process.
#include "hostemu.h"

#include "batchlu.cu"
#include "elementwise.cu"
#include "gather.cu"
#include "linalg.cu"

#include <map>
#include <string>
#include <ucontext.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif
#include <type_traits>
#include <utility>
#include <vector>

namespace {

struct Kernel {
    int nargs;
    bool concurrent;  // has barriers: one OS thread per CUDA thread
    void (*call)(void* fn, const u64* args);
    void* fn;
};

template <class T>
T from_slot(u64 v) {
    if constexpr (std::is_pointer_v<T>) {
        return reinterpret_cast<T>(v);
    } else if constexpr (std::is_same_v<T, double>) {
        double d;
        memcpy(&d, &v, 8);
        return d;
    } else {
        return (T)v;
    }
}

template <class... A, size_t... I>
void call_unpacked(void (*fn)(A...), const u64* s, std::index_sequence<I...>) {
    fn(from_slot<A>(s[I])...);
}

template <class... A>
Kernel make_kernel(void (*fn)(A...), bool concurrent) {
    Kernel k;
    k.nargs = sizeof...(A);
    k.concurrent = concurrent;
    k.fn = reinterpret_cast<void*>(fn);
    k.call = [](void* f, const u64* s) {
        call_unpacked(reinterpret_cast<void (*)(A...)>(f), s, std::index_sequence_for<A...>{});
    };
    return k;
}

std::map<std::string, Kernel>& registry() {
    static std::map<std::string, Kernel> r;
    return r;
}

#define REG(name, conc) registry()[#name] = make_kernel(name, conc)
#define REG_UNARY(op)             \
    REG(ew_##op##_fwd, false);    \
    REG(ew_##op##_jvp, false);    \
    REG(ew_##op##_vjp, false);    \
    REG(ew_##op##_df, false)
#define REG_BINARY(op)                \
    REG(bin_##op##_fwd, false);       \
    REG(bin_##op##_jvp, false);       \
    REG(bin_##op##_vjp0, false);      \
    REG(bin_##op##_vjp1, false);      \
    REG(bin_##op##_vjpsum0, true);    \
    REG(bin_##op##_vjpsum1, true);    \
    REG(bin_##op##_df0, false);       \
    REG(bin_##op##_df1, false)
#define REG_LU(K)                  \
    REG(lu_factor_##K, false);     \
    REG(lu_solve_##K, false);      \
    REG(lu_solveT_##K, false)

void register_all() {
#define REG_UNARY_X(name, Op) REG_UNARY(name);
    INVAD_UNARY_OPS(REG_UNARY_X)
#undef REG_UNARY_X
    REG_BINARY(add); REG_BINARY(sub); REG_BINARY(mul); REG_BINARY(div);
    REG(sum_add_partials, true);
    REG_LU(1); REG_LU(2); REG_LU(3); REG_LU(4); REG_LU(5); REG_LU(6); REG_LU(7); REG_LU(8);
    REG(gemm, true);
    REG(gemm_batched, true);
    REG(sum_part, true);
    REG(sum_finish, true);
    REG(bcast_add, false);
    REG(diag_check, true);
    REG(scan_chunks, false);
    REG(scan_carry, false);
    REG(scan_add, false);
    REG(scan_diff, false);
    REG(lu_factor_warp, true);
    REG(lu_solve_gen, false);
    REG(lu_solveT_gen, false);
    REG(strided_copy, false);
    REG(strided_sum, false);
}

// The fibers of one CTA and their scheduler.
struct Fiber {
    ucontext_t ctx;
    std::vector<char> stack;
    emu::Barrier* wait = nullptr;  // the barrier it waits at
    long gen = 0;                  // that barrier's generation when it arrived
    bool done = false;
    unsigned tid = 0;
    emu::Warp* warp = nullptr;
    void* fake = nullptr;  // AddressSanitizer's fake stack while switched out
};
ucontext_t sched_ctx;
Fiber* current = nullptr;
const Kernel* cur_kernel = nullptr;
const u64* cur_args = nullptr;

// AddressSanitizer is told of every stack switch (its fiber interface).
#if defined(__SANITIZE_ADDRESS__)
const void* main_bottom = nullptr;
size_t main_size = 0;
void* sched_fake = nullptr;
void into_fiber(Fiber& f) {  // scheduler -> fiber
    __sanitizer_start_switch_fiber(&sched_fake, f.stack.data(), f.stack.size());
    swapcontext(&sched_ctx, &f.ctx);
    __sanitizer_finish_switch_fiber(sched_fake, nullptr, nullptr);
}
void entered_fiber(void* fake) { __sanitizer_finish_switch_fiber(fake, &main_bottom, &main_size); }
void out_of_fiber(Fiber& f, bool last) {  // fiber -> scheduler
    __sanitizer_start_switch_fiber(last ? nullptr : &f.fake, main_bottom, main_size);
    swapcontext(&f.ctx, &sched_ctx);
}
#else
void into_fiber(Fiber& f) { swapcontext(&sched_ctx, &f.ctx); }
void entered_fiber(void*) {}
void out_of_fiber(Fiber& f, bool) { swapcontext(&f.ctx, &sched_ctx); }
#endif

void fiber_main() {
    entered_fiber(nullptr);
    cur_kernel->call(cur_kernel->fn, cur_args);
    current->done = true;
    out_of_fiber(*current, true);
}

}  // namespace

void emu::wait_at(emu::Barrier* b, long gen) {
    Fiber* f = current;
    f->wait = b;
    f->gen = gen;
    out_of_fiber(*f, false);
    entered_fiber(f->fake);
    f->wait = nullptr;
}

namespace {

void run(const Kernel& k, unsigned grid, unsigned block, unsigned shared, const u64* args) {
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
    std::vector<char> smem(shared + 16);
    const size_t stack = 256 << 10;  // AddressSanitizer's frames are large
    std::vector<Fiber> fibers(k.concurrent ? block : 0);
    for (auto& f : fibers) f.stack.resize(stack);
    for (unsigned c = 0; c < grid; c++) {
        blockIdx = {c, 0, 0};
        memset(smem.data(), 0xff, smem.size());  // NaN: an unwritten read shows
        emu::dyn_smem = smem.data();
        if (!k.concurrent) {
            emu::cta_bar = nullptr;
            emu::warp = nullptr;
            for (unsigned t = 0; t < block; t++) {
                threadIdx = {t, 0, 0};
                k.call(k.fn, args);
            }
            continue;
        }
        if (block % 32 != 0) emu::die("a kernel with barriers launched with a partial warp");
        emu::Barrier cta;
        cta.n = (int)block;
        std::vector<emu::Warp> warps(block / 32);
        for (auto& w : warps) w.bar.n = 32;
        cur_kernel = &k;
        cur_args = args;
        for (unsigned t = 0; t < block; t++) {
            Fiber& f = fibers[t];
            f.done = false;
            f.wait = nullptr;
            f.tid = t;
            f.warp = &warps[t / 32];
            getcontext(&f.ctx);
            f.ctx.uc_stack.ss_sp = f.stack.data();
            f.ctx.uc_stack.ss_size = f.stack.size();
            f.ctx.uc_link = nullptr;
            makecontext(&f.ctx, fiber_main, 0);
        }
        for (unsigned left = block; left > 0;) {
            bool progress = false;
            for (auto& f : fibers) {
                if (f.done || (f.wait && f.wait->gen == f.gen)) continue;
                current = &f;
                threadIdx = {f.tid, 0, 0};
                emu::cta_bar = &cta;
                emu::warp = f.warp;
                into_fiber(f);
                progress = true;
                if (f.done) left--;
            }
            if (!progress) emu::die("deadlock: every thread waits at a barrier that cannot open");
        }
    }
}

bool rd(void* p, size_t n) { return fread(p, 1, n, stdin) == n; }
void wr(const void* p, size_t n) { fwrite(p, 1, n, stdout); }
void ok() {
    unsigned char s = 0;
    wr(&s, 1);
}
void fail(const std::string& msg) {
    unsigned char s = 1;
    uint32_t n = (uint32_t)msg.size();
    wr(&s, 1);
    wr(&n, 4);
    wr(msg.data(), n);
}

}  // namespace

int main() {
    register_all();
    std::map<u64, size_t> live;  // allocations and their sizes
    for (;;) {
        fflush(stdout);
        unsigned char op;
        if (!rd(&op, 1)) return 0;
        switch (op) {
        case 'A': {  // alloc: u64 bytes -> status, u64 ptr
            u64 n;
            rd(&n, 8);
            void* p = malloc(n ? n : 1);
            memset(p, 0xff, n);  // poison: NaN where a kernel reads unwritten memory
            u64 a = (u64)p;
            live[a] = n;
            ok();
            wr(&a, 8);
            break;
        }
        case 'F': {  // free: u64 ptr -> status
            u64 a;
            rd(&a, 8);
            if (!live.erase(a)) {
                fail("free of an unknown pointer");
                break;
            }
            free((void*)a);
            ok();
            break;
        }
        case 'W': {  // write: u64 ptr, u64 n, bytes -> status
            u64 a, n;
            rd(&a, 8);
            rd(&n, 8);
            std::vector<char> buf(n);
            rd(buf.data(), n);
            memcpy((void*)a, buf.data(), n);
            ok();
            break;
        }
        case 'R': {  // read: u64 ptr, u64 n -> status, bytes
            u64 a, n;
            rd(&a, 8);
            rd(&n, 8);
            ok();
            wr((void*)a, n);
            break;
        }
        case 'M': {  // memset32: u64 ptr, u32 v, u64 count -> status
            u64 a, n;
            uint32_t v;
            rd(&a, 8);
            rd(&v, 4);
            rd(&n, 8);
            for (u64 i = 0; i < n; i++) memcpy((char*)a + 4 * i, &v, 4);
            ok();
            break;
        }
        case 'L': {  // launch: u16 len, name, u32 grid, block, shared, nargs, u64 args -> status
            uint16_t len;
            rd(&len, 2);
            std::string name(len, '\0');
            rd(name.data(), len);
            uint32_t g[4];
            rd(g, 16);
            std::vector<u64> args(g[3] + 1);
            rd(args.data(), 8 * g[3]);
            auto it = registry().find(name);
            if (it == registry().end()) {
                fail("no kernel " + name);
                break;
            }
            if (it->second.nargs != (int)g[3]) {
                fail("kernel " + name + ": wrong number of arguments");
                break;
            }
            run(it->second, g[0], g[1], g[2], args.data());
            ok();
            break;
        }
        case 'N': {  // names -> status, u32 count, (u16 len, name)...
            ok();
            uint32_t n = (uint32_t)registry().size();
            wr(&n, 4);
            for (auto& [name, k] : registry()) {
                uint16_t l = (uint16_t)name.size();
                wr(&l, 2);
                wr(name.data(), l);
            }
            break;
        }
        default:
            fail("unknown command");
            return 1;
        }
    }
}
