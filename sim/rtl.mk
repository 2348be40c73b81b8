# sim/rtl.mk - RTL lint, Verilator benches and synthesis (included by the
# top-level Makefile). Outputs under $(BUILD)/rtl and $(BUILD)/synth.
#   make rtl-test   lint, build and run every bench (part of make test)
#   make lint       verilator --lint-only -Wall on every hw/rtl file
#   make synth      yosys synth_xilinx (UltraScale+) -> $(BUILD)/synth/report.json
#   make rtl-test RTL_TRACE=1   debug build: benches accept +trace (FST)
#   make rtl-words  RTL_WORDS (256) test words per plan (1x, 3x, 6x) against the golden model
#   make rtl-sim    the simulator behind modtx run --backend rtl
#   make rtl-netlist  yosys' gate netlists (4 x 4 mtx_pe_array, mtx_requant)
#                   simulated by the RTL's own benches (part of make check-long)
VERILATOR ?= verilator
YOSYS     ?= yosys
RTL_BUILD := $(BUILD)/rtl$(if $(RTL_TRACE),-trace)
RTL_SRCS  := $(sort $(wildcard hw/rtl/*.sv))
RTL_WAIVE := hw/rtl/lint_waivers.vlt
# Verilator's own make reads OPT (and command-line overrides through
# MAKEFLAGS): without this, `make asan`'s sanitizer OPT would instrument the
# generated model, whose 64-bit arithmetic relies on wrap-around. LDFLAGS
# still links the sanitizer runtime that an instrumented libmodtx.a needs.
RTL_VENV  := env -u OPT -u MAKEFLAGS -u MFLAGS
# Verilator compiles its generated model with -Os by default; -O2 simulates
# the whole engine about 1.2x faster (16 words of the 1x plan through
# rtl_run: 39.6 s at -Os, 32.3 s at -O2; -O2 -march=native was no faster).
RTL_OPT   := -MAKEFLAGS "OPT_FAST=-O2"
RTL_VFLAGS = --cc --exe --build -O3 -j 2 $(RTL_OPT) -Wall --x-assign fast --x-initial fast \
	$(if $(RTL_TRACE),--trace-fst) -y hw/rtl $(RTL_WAIVE) \
	-CFLAGS "-O1 -I$(CURDIR)/sim -I$(CURDIR)/host" -LDFLAGS "$(CURDIR)/$(RTL_BUILD)/ref_iops.o $(CURDIR)/$(RTL_BUILD)/iops.o -lm"

# Bench NAME: sim/tb_NAME.cpp driving top module RTL_TOP_NAME.
RTL_BENCHES := requant requant_row isqrt udiv argmax softmax attention rmsnorm_rows pe_array linear engine layer word batch_io mem_arb top
RTL_TOP_requant  := mtx_requant
RTL_TOP_requant_row := mtx_requant_row
RTL_TOP_isqrt    := mtx_isqrt
RTL_TOP_udiv     := mtx_udiv
RTL_TOP_argmax   := mtx_argmax
RTL_TOP_softmax  := mtx_softmax_row
RTL_TOP_attention := mtx_attention
RTL_TOP_rmsnorm_rows := mtx_rmsnorm
RTL_TOP_pe_array := mtx_pe_array
RTL_TOP_linear   := mtx_linear
RTL_TOP_engine   := mtx_engine
RTL_LIBS_engine  := $(CURDIR)/$(BUILD)/libmodtx.a -lz
RTL_DEPS_engine  := $(BUILD)/libmodtx.a $(RTL_BUILD)/img/image.bin
RTL_ARGS_engine  := $(RTL_BUILD)/img/image.bin $(RTL_BUILD)/img/1.00x.plan $(RTL_BUILD)/img/3.00x.plan $(RTL_BUILD)/img/6.00x.plan
RTL_TOP_batch_io := mtx_batch_io
RTL_TOP_top      := mtx_top
RTL_LIBS_top     := $(RTL_LIBS_engine)
RTL_DEPS_top     := $(RTL_DEPS_engine)
RTL_ARGS_top     := $(RTL_BUILD)/img/image.bin $(RTL_BUILD)/img/6.00x.plan
RTL_TOP_mem_arb  := mtx_mem_arb
RTL_TOP_layer    := mtx_layer_ctrl
# Benches that run a real exported image: they link the golden model.
RTL_LIBS_layer   := $(CURDIR)/$(BUILD)/libmodtx.a -lz
RTL_ARGS_layer   := $(RTL_BUILD)/img/image.bin $(RTL_BUILD)/img/1.00x.plan 2
RTL_DEPS_layer   := $(BUILD)/libmodtx.a $(RTL_BUILD)/img/image.bin
RTL_TOP_word     := mtx_word_ctrl
RTL_LIBS_word    := $(RTL_LIBS_layer)
RTL_DEPS_word    := $(RTL_DEPS_layer)
# tb_word runs in rtl-test as two processes side by side (1x; 3x and 6x),
# 64 test words of each plan (about 100 s of CPU in all).
RTL_ARGS_word    := $(RTL_BUILD)/img/image.bin $(RTL_BUILD)/img/3.00x.plan 64 $(RTL_BUILD)/img/6.00x.plan 64
RTL_ARGS_word1   := $(RTL_BUILD)/img/image.bin $(RTL_BUILD)/img/1.00x.plan 64
RTL_BENCH_BINS := $(foreach b,$(RTL_BENCHES),$(RTL_BUILD)/tb_$(b)/bench)
# The simulator behind `modtx run --backend rtl`: host/device/backend_rtl.c
# looks for it at $(BUILD)/rtl/rtl_run/sim, beside modtx.
RTL_SIM := $(BUILD)/rtl/rtl_run/sim

.PHONY: rtl-test lint synth

ifeq ($(shell command -v $(VERILATOR) 2>/dev/null),)
rtl-test lint:
	@echo "$@: skipped: verilator not found"
else
lint:
	@for f in $(RTL_SRCS); do \
	    $(VERILATOR) --lint-only -Wall -y hw/rtl $(RTL_WAIVE) $$f || exit 1; \
	done; echo "lint: $(words $(RTL_SRCS)) files clean"

rtl-test: lint $(RTL_BENCH_BINS) $(RTL_SIM)
	@$(RTL_BUILD)/tb_word/bench $(RTL_ARGS_word1) > $(RTL_BUILD)/tb_word1.log 2>&1 & pid=$$!; \
	$(foreach b,$(RTL_BENCHES),$(RTL_BUILD)/tb_$(b)/bench $(RTL_ARGS_$(b)) || { wait $$pid; exit 1; };) \
	wait $$pid; r=$$?; cat $(RTL_BUILD)/tb_word1.log; exit $$r
	@$(BUILD)/modtx run --backend ref --image $(RTL_BUILD)/img/image.bin --plan $(RTL_BUILD)/img/3.00x.plan \
	    $(RTL_RUN_WORDS) > $(RTL_BUILD)/run_ref.txt
	@$(BUILD)/modtx run --backend rtl --image $(RTL_BUILD)/img/image.bin --plan $(RTL_BUILD)/img/3.00x.plan \
	    --batch 4 --verbose $(RTL_RUN_WORDS) > $(RTL_BUILD)/run_rtl.txt 2> $(RTL_BUILD)/run_rtl.log
	@cmp -s $(RTL_BUILD)/run_ref.txt $(RTL_BUILD)/run_rtl.txt || \
	    (echo "rtl-test: modtx run --backend rtl differs from ref"; diff $(RTL_BUILD)/run_ref.txt $(RTL_BUILD)/run_rtl.txt; exit 1)
	@awk '/^batch /{n++; s+=$$6} /^simulated:/{t=$$2} END{exit !(n == 2 && t > 0 && s == t)}' $(RTL_BUILD)/run_rtl.log || \
	    (echo "rtl-test: --verbose should print 2 batches whose cycles sum to the total:"; cat $(RTL_BUILD)/run_rtl.log; exit 1)
	@$(BUILD)/modtx run --backend rtl --image $(RTL_BUILD)/img/image.bin --plan $(RTL_BUILD)/img/6.00x.plan \
	    --split test --limit 3 --batch 2 --json > $(RTL_BUILD)/run_rtl.json
	@sed -n 's/.*"cycles":\([0-9]*\),.*"batch_cycles":\[\([0-9,]*\)\].*/\1 \2/p' $(RTL_BUILD)/run_rtl.json | \
	    awk '{c = $$1; n = split($$2, b, ","); for (i = 1; i <= n; i++) s += b[i]} END{exit !(n == 2 && c > 0 && s == c)}' || \
	    (echo "rtl-test: --json batch_cycles should hold 2 batches summing to cycles:"; cat $(RTL_BUILD)/run_rtl.json; exit 1)
	@echo "rtl-test: modtx run --backend rtl equals ref on $(words $(RTL_RUN_WORDS)) words (3x plan): $$(tail -1 $(RTL_BUILD)/run_rtl.log)"
endif

# The reference: the golden model's primitives and the benches' adapter.
$(RTL_BUILD)/ref_iops.o: sim/ref_iops.c sim/ref_iops.h host/engine/iops.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror -Ihost -c -o $@ $<

$(RTL_BUILD)/iops.o: host/engine/iops.c host/engine/iops.h host/format/maxima.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror -Ihost -c -o $@ $<

# The shipped bank exported for the benches that run real layers (6 s).
$(RTL_BUILD)/img/image.bin: $(BUILD)/modtx
	@mkdir -p $(@D)
	$(BUILD)/modtx export --model models/g2p-modular --out $(@D) --plans 1,3,6 > $(@D)/export.log

# More words: RTL_WORDS test words of each of the 1x, 3x and 6x plans
# through mtx_word_ctrl against the golden model, with the per-program
# cycle and PE-use table (docs/rtl.md).
RTL_WORDS ?= 256
.PHONY: rtl-words
rtl-words: $(RTL_BUILD)/tb_word/bench
	$(RTL_BUILD)/tb_word/bench $(RTL_BUILD)/img/image.bin $(RTL_BUILD)/img/1.00x.plan $(RTL_WORDS) \
	    $(RTL_BUILD)/img/3.00x.plan $(RTL_WORDS) $(RTL_BUILD)/img/6.00x.plan $(RTL_WORDS)

# The long RTL check (part of make check-long): RTL_LONG_WORDS test words
# of every plan of the shipped bank through `modtx run --backend rtl`
# (batches of 64, the simulator behind the rtl backend) against the golden
# model (--against ref); two plans at a time, the longest (lowest ratio)
# first, so that the two lanes end near together; one log per
# plan in $(BUILD)/rtl-long/export. It resumes: a plan whose log already says
# that none of its RTL_LONG_WORDS words differ is not run again (rm -rf
# $(BUILD)/rtl-long to start afresh, e.g. after the bank changed). Hours of
# simulation at 2,000 words: docs/rtl.md.
RTL_LONG_WORDS ?= 2000
RTL_LONG_DIR   := $(BUILD)/rtl-long
.PHONY: rtl-long
ifeq ($(shell command -v $(VERILATOR) 2>/dev/null),)
rtl-long:
	@echo "rtl-long: skipped: verilator not found"
else
rtl-long: $(BUILD)/modtx $(RTL_SIM)
	@mkdir -p $(RTL_LONG_DIR)
	test -f $(RTL_LONG_DIR)/export/image.bin || \
	    $(BUILD)/modtx export --model models/g2p-modular --out $(RTL_LONG_DIR)/export > $(RTL_LONG_DIR)/export.log
	ls $(RTL_LONG_DIR)/export/*.plan | xargs -P 2 -I{} sh -c \
	    'grep -qs "against ref: 0 of $(RTL_LONG_WORDS) words differ" {}.log && exit 0; \
	    $(BUILD)/modtx run --backend rtl --image $(RTL_LONG_DIR)/export/image.bin --plan {} --split test \
	    --limit $(RTL_LONG_WORDS) --against ref --verbose > {}.log.tmp 2>&1 && mv {}.log.tmp {}.log || \
	    { echo "rtl-long: {}: see {}.log.tmp"; tail -3 {}.log.tmp; exit 255; }'
	@for f in $(RTL_LONG_DIR)/export/*.plan.log; do echo "$$(basename $$f .log): $$(grep -h 'differ\|simulated' $$f | tr '\n' ' ')"; done
endif

# Words for the `modtx run --backend rtl` against ref check in rtl-test.
RTL_RUN_WORDS := hello world modular transformer phoneme quixotic zebra strength

# One Verilator model per bench; rebuilt when any RTL file or the harness changes.
.SECONDEXPANSION:
$(RTL_BUILD)/tb_%/bench: sim/tb_%.cpp sim/sim_util.h sim/mem_model.h sim/word_setup.h sim/top_host.h sim/axil.h $(RTL_SRCS) $(RTL_WAIVE) $(RTL_BUILD)/ref_iops.o $(RTL_BUILD)/iops.o $$(RTL_DEPS_$$*)
	@mkdir -p $(@D)
	$(RTL_VENV) $(VERILATOR) $(RTL_VFLAGS) $(if $(RTL_LIBS_$*),-LDFLAGS "$(RTL_LIBS_$*)") --top-module $(RTL_TOP_$*) -Mdir $(@D) -o bench \
	    hw/rtl/$(RTL_TOP_$*).sv $(CURDIR)/sim/tb_$*.cpp > $(@D)/build.log 2>&1 || (tail -30 $(@D)/build.log; exit 1)

# The simulator behind `modtx run --backend rtl` (RTL_SIM, defined above).
.PHONY: rtl-sim
ifeq ($(shell command -v $(VERILATOR) 2>/dev/null),)
rtl-sim:
	@echo "rtl-sim: skipped: verilator not found"
else
rtl-sim: $(RTL_SIM)
endif
$(BUILD)/rtl/rtl_run/sim: sim/rtl_run.cpp sim/top_host.h sim/axil.h sim/sim_util.h sim/mem_model.h $(RTL_SRCS) $(RTL_WAIVE)
	@mkdir -p $(@D)
	$(RTL_VENV) $(VERILATOR) --cc --exe --build -O3 -j 2 $(RTL_OPT) -Wall --x-assign fast --x-initial fast -y hw/rtl $(RTL_WAIVE) \
	    -CFLAGS "-O1 -I$(CURDIR)/sim -I$(CURDIR)/host" \
	    --top-module mtx_top -Mdir $(@D) -o sim hw/rtl/mtx_top.sv $(CURDIR)/sim/rtl_run.cpp \
	    > $(@D)/build.log 2>&1 || (tail -30 $(@D)/build.log; exit 1)

# The netlist guard: yosys 0.23 reads hw/rtl as `make synth` does
# (read_verilog -sv, every file), synthesises a small configuration to generic
# gates (synth -flatten; write_verilog -noattr maps the $_DFF_* cells to always
# blocks) and the same checker that passes the RTL must pass the netlist. A
# construct yosys reads differently from Verilator (a packed array of a
# typedef read as 8 bits, say) then fails here instead of silently making
# `make synth` describe another circuit. Benches: tb_pe_array at 4 x 4
# (PE_ROWS / PE_COLS) against the RTL with -GROWS=4 -GCOLS=4 and against the
# netlist; tb_requant against mtx_requant's netlist. Outputs in
# $(BUILD)/rtl/netlist; times in docs/rtl.md.
RTL_NL     := $(BUILD)/rtl/netlist
RTL_NL_OBJS := $(RTL_BUILD)/ref_iops.o $(RTL_BUILD)/iops.o
RTL_NL_V   = $(RTL_VENV) $(VERILATOR) --cc --exe --build -O3 -j 2 --x-assign fast --x-initial fast \
	-LDFLAGS "$(CURDIR)/$(RTL_BUILD)/ref_iops.o $(CURDIR)/$(RTL_BUILD)/iops.o -lm"
# The RTL's model as rtl-test builds it; the netlists' with the C++ at -O0
# (tens of thousands of gate assignments: -O1 triples the compile time, and
# the runs are short) and without Verilator's DFG optimiser, which in 5.006
# miscompiles the requant netlist (bit 63 of the product comes out inverted;
# yosys' own sat on the same netlist file, and Verilator -O0 or -fno-dfg,
# give the right value). The netlist is yosys' code, not ours: its lint
# warnings are not errors.
RTL_NL_RTL   = $(RTL_NL_V) -Wall -y hw/rtl $(RTL_WAIVE) -CFLAGS "-O1 -I$(CURDIR)/sim -I$(CURDIR)/host"
RTL_NL_GATES = $(RTL_NL_V) -fno-dfg -Wno-fatal -Wno-lint -Wno-style -MAKEFLAGS "OPT_FAST=-O0" \
	-CFLAGS "-I$(CURDIR)/sim -I$(CURDIR)/host"
RTL_NL_PE  := -CFLAGS "-DPE_ROWS=4 -DPE_COLS=4"
.PHONY: rtl-netlist
ifeq ($(and $(shell command -v $(YOSYS) 2>/dev/null),$(shell command -v $(VERILATOR) 2>/dev/null)),)
rtl-netlist:
	@echo "rtl-netlist: skipped: yosys or verilator not found"
else
rtl-netlist: $(RTL_NL)/pe_array_rtl/bench $(RTL_NL)/pe_array_gates/bench $(RTL_NL)/requant_gates/bench
	$(RTL_NL)/pe_array_rtl/bench
	$(RTL_NL)/pe_array_gates/bench
	$(RTL_NL)/requant_gates/bench
	@echo "rtl-netlist: the 4 x 4 mtx_pe_array and mtx_requant gate netlists pass the RTL's benches"
endif
# Gate netlists: NAME.v from top NAME with the chparam settings RTL_NL_SET_NAME.
RTL_NL_SET_mtx_pe_array := chparam -set ROWS 4 -set COLS 4 mtx_pe_array;
$(RTL_NL)/%.v: $(RTL_SRCS)
	@mkdir -p $(@D)
	$(YOSYS) -q -l $(@:.v=.log) -p "read_verilog -sv $(RTL_SRCS); $(RTL_NL_SET_$*) synth -flatten -top $*; write_verilog -noattr $@.tmp" > /dev/null
	@mv $@.tmp $@
$(RTL_NL)/pe_array_rtl/bench: sim/tb_pe_array.cpp sim/sim_util.h $(RTL_SRCS) $(RTL_WAIVE) $(RTL_NL_OBJS)
	@mkdir -p $(@D)
	$(RTL_NL_RTL) -GROWS=4 -GCOLS=4 $(RTL_NL_PE) --top-module mtx_pe_array -Mdir $(@D) -o bench \
	    hw/rtl/mtx_pe_array.sv $(CURDIR)/sim/tb_pe_array.cpp > $(@D)/build.log 2>&1 || (tail -30 $(@D)/build.log; exit 1)
$(RTL_NL)/pe_array_gates/bench: $(RTL_NL)/mtx_pe_array.v sim/tb_pe_array.cpp sim/sim_util.h $(RTL_NL_OBJS)
	@mkdir -p $(@D)
	$(RTL_NL_GATES) $(RTL_NL_PE) --top-module mtx_pe_array -Mdir $(@D) -o bench \
	    $(CURDIR)/$< $(CURDIR)/sim/tb_pe_array.cpp > $(@D)/build.log 2>&1 || (tail -30 $(@D)/build.log; exit 1)
$(RTL_NL)/requant_gates/bench: $(RTL_NL)/mtx_requant.v sim/tb_requant.cpp sim/sim_util.h $(RTL_NL_OBJS)
	@mkdir -p $(@D)
	$(RTL_NL_GATES) --top-module mtx_requant -Mdir $(@D) -o bench \
	    $(CURDIR)/$< $(CURDIR)/sim/tb_requant.cpp > $(@D)/build.log 2>&1 || (tail -30 $(@D)/build.log; exit 1)

SYNTH_TOPS ?= mtx_top mtx_linear mtx_attention mtx_softmax_row mtx_rmsnorm mtx_requant mtx_argmax
ifeq ($(shell command -v $(YOSYS) 2>/dev/null),)
synth:
	@echo "synth: skipped: yosys not found"
else
synth:
	@mkdir -p $(BUILD)/synth
	bash hw/synth/synth.sh "$(YOSYS)" $(BUILD)/synth "$(SYNTH_TOPS)" $(RTL_SRCS)
endif

# make test runs the RTL benches too, unless MTX_SUITES names suites without "rtl".
ifeq ($(MTX_SUITES),)
test: rtl-test
else ifneq ($(filter rtl,$(subst $(comma), ,$(MTX_SUITES))),)
test: rtl-test
endif
