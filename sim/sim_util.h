// sim_util.h - the harness every bench shares: a C++ loop drives the clock,
// a cycle limit turns a hang into a failure, +trace writes FST (debug builds
// made with --trace-fst), and finish() turns any mismatch into exit 1.
#ifndef MTX_SIM_UTIL_H
#define MTX_SIM_UTIL_H

#include <verilated.h>
#if VM_TRACE
#include <verilated_fst_c.h>
#endif

#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace mtxsim {

// splitmix64: seeded, same seed same inputs.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next()
    {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    int64_t range(int64_t lo, int64_t hi) // inclusive
    {
        return lo + (int64_t)(next() % (uint64_t)(hi - lo + 1));
    }
};

template <class M> class Harness {
  public:
    M *m;
    uint64_t cycle = 0;
    uint64_t limit;
    int fails = 0;
    const char *name;

    Harness(int argc, char **argv, const char *bench, uint64_t cycle_limit)
        : limit(cycle_limit), name(bench)
    {
        ctx_ = new VerilatedContext;
        ctx_->commandArgs(argc, argv);
        m = new M{ctx_};
#if VM_TRACE
        const char *arg = ctx_->commandArgsPlusMatch("trace");
        if (arg && arg[0]) {
            ctx_->traceEverOn(true);
            tfp_ = new VerilatedFstC;
            m->trace(tfp_, 99);
            std::string path = std::string(bench) + ".fst";
            tfp_->open(path.c_str());
            std::printf("%s: tracing to %s\n", bench, path.c_str());
        }
#endif
        t0_ = std::chrono::steady_clock::now();
    }
    ~Harness()
    {
#if VM_TRACE
        if (tfp_)
            tfp_->close();
#endif
        m->final();
        delete m;
        delete ctx_;
    }

    void tick()
    {
        m->clk_i = 0;
        m->eval();
        dump();
        m->clk_i = 1;
        m->eval();
        dump();
        cycle++;
        if (cycle > limit) {
            std::fprintf(stderr, "%s: FAIL: cycle limit %llu exceeded\n", name,
                         (unsigned long long)limit);
            std::exit(2);
        }
    }
    void reset()
    {
        m->rst_ni = 0;
        m->clk_i = 0;
        m->eval();
        tick();
        tick();
        m->rst_ni = 1;
        tick();
    }
    // Records a mismatch (the first few are printed).
    void fail(const char *fmt, ...)
    {
        if (fails++ < 10) {
            va_list ap;
            va_start(ap, fmt);
            std::fprintf(stderr, "%s: mismatch: ", name);
            std::vfprintf(stderr, fmt, ap);
            std::fprintf(stderr, "\n");
            va_end(ap);
        }
    }
    int finish(const char *what)
    {
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
        if (fails) {
            std::fprintf(stderr, "%s: FAIL: %d mismatches (%s)\n", name, fails, what);
            return 1;
        }
        std::printf("%s: ok: %s; %llu cycles in %.2f s (%.0f cycles/s)\n", name, what,
                    (unsigned long long)cycle, s, s > 0 ? cycle / s : 0.0);
        return 0;
    }

  private:
    VerilatedContext *ctx_;
#if VM_TRACE
    VerilatedFstC *tfp_ = nullptr;
    uint64_t time_ = 0;
    void dump()
    {
        if (tfp_)
            tfp_->dump(time_++);
    }
#else
    void dump() {}
#endif
    std::chrono::steady_clock::time_point t0_;
};

} // namespace mtxsim

#endif
