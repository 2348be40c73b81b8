# sim/rtl.mk - RTL lint, Verilator benches and synthesis (included by the
# top-level Makefile). Outputs under $(BUILD)/rtl and $(BUILD)/synth.
#   make rtl-test   lint, build and run every bench (part of make test)
#   make lint       verilator --lint-only -Wall on every hw/rtl file
#   make synth      yosys synth_xilinx (UltraScale+) -> $(BUILD)/synth/report.json
#   make rtl-test RTL_TRACE=1   debug build: benches accept +trace (FST)
#   make rtl-words  64 test words per plan (1x, 3x, 6x) against the golden model
#   make rtl-sim    the simulator behind modtx run --backend rtl
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
RTL_VFLAGS = --cc --exe --build -O3 -j 2 -Wall --x-assign fast --x-initial fast \
	$(if $(RTL_TRACE),--trace-fst) -y hw/rtl $(RTL_WAIVE) \
	-CFLAGS "-O1 -I$(CURDIR)/sim -I$(CURDIR)/host" -LDFLAGS "$(CURDIR)/$(RTL_BUILD)/ref_iops.o $(CURDIR)/$(RTL_BUILD)/iops.o -lm"

# Bench NAME: sim/tb_NAME.cpp driving top module RTL_TOP_NAME.
RTL_BENCHES := requant isqrt udiv argmax softmax rmsnorm pe_array linear engine layer word batch_io mem_arb
RTL_TOP_requant  := mtx_requant
RTL_TOP_isqrt    := mtx_isqrt
RTL_TOP_udiv     := mtx_udiv
RTL_TOP_argmax   := mtx_argmax
RTL_TOP_softmax  := mtx_softmax_row
RTL_TOP_rmsnorm  := mtx_rmsnorm_row
RTL_TOP_pe_array := mtx_pe_array
RTL_TOP_linear   := mtx_linear
RTL_TOP_engine   := mtx_engine
RTL_LIBS_engine  := $(CURDIR)/$(BUILD)/libmodtx.a -lz
RTL_DEPS_engine  := $(BUILD)/libmodtx.a $(RTL_BUILD)/img/image.bin
RTL_ARGS_engine  := $(RTL_BUILD)/img/image.bin $(RTL_BUILD)/img/1.00x.plan $(RTL_BUILD)/img/3.00x.plan $(RTL_BUILD)/img/6.00x.plan
RTL_TOP_batch_io := mtx_batch_io
RTL_TOP_mem_arb  := mtx_mem_arb
RTL_TOP_layer    := mtx_layer_ctrl
# Benches that run a real exported image: they link the golden model.
RTL_LIBS_layer   := $(CURDIR)/$(BUILD)/libmodtx.a -lz
RTL_ARGS_layer   := $(RTL_BUILD)/img/image.bin $(RTL_BUILD)/img/1.00x.plan 2
RTL_DEPS_layer   := $(BUILD)/libmodtx.a $(RTL_BUILD)/img/image.bin
RTL_TOP_word     := mtx_word_ctrl
RTL_LIBS_word    := $(RTL_LIBS_layer)
RTL_DEPS_word    := $(RTL_DEPS_layer)
RTL_ARGS_word    := $(RTL_BUILD)/img/image.bin $(RTL_BUILD)/img/6.00x.plan 16 $(RTL_BUILD)/img/3.00x.plan 4 $(RTL_BUILD)/img/1.00x.plan 2
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

rtl-test: lint $(RTL_BENCH_BINS) $(RTL_TOP_BENCH) $(RTL_SIM)
	@$(foreach b,$(RTL_BENCHES),$(RTL_BUILD)/tb_$(b)/bench $(RTL_ARGS_$(b)) || exit 1;)
	@$(RTL_TOP_BENCH) $(RTL_BUILD)/img/image.bin $(RTL_BUILD)/img/6.00x.plan
	@$(BUILD)/modtx run --backend ref --image $(RTL_BUILD)/img/image.bin --plan $(RTL_BUILD)/img/3.00x.plan \
	    $(RTL_RUN_WORDS) > $(RTL_BUILD)/run_ref.txt
	@$(BUILD)/modtx run --backend rtl --image $(RTL_BUILD)/img/image.bin --plan $(RTL_BUILD)/img/3.00x.plan \
	    --verbose $(RTL_RUN_WORDS) > $(RTL_BUILD)/run_rtl.txt 2> $(RTL_BUILD)/run_rtl.log
	@cmp -s $(RTL_BUILD)/run_ref.txt $(RTL_BUILD)/run_rtl.txt || \
	    (echo "rtl-test: modtx run --backend rtl differs from ref"; diff $(RTL_BUILD)/run_ref.txt $(RTL_BUILD)/run_rtl.txt; exit 1)
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

# The long check: 64 test words of each of the 1x, 3x and 6x plans through
# mtx_word_ctrl against the golden model (about 7 minutes; docs/rtl.md).
.PHONY: rtl-words
rtl-words: $(RTL_BUILD)/tb_word/bench
	$(RTL_BUILD)/tb_word/bench $(RTL_BUILD)/img/image.bin $(RTL_BUILD)/img/1.00x.plan 64 \
	    $(RTL_BUILD)/img/3.00x.plan 64 $(RTL_BUILD)/img/6.00x.plan 64

# Words for the `modtx run --backend rtl` against ref check in rtl-test.
RTL_RUN_WORDS := hello world modular transformer phoneme quixotic zebra strength

# One Verilator model per bench; rebuilt when any RTL file or the harness changes.
.SECONDEXPANSION:
$(RTL_BUILD)/tb_%/bench: sim/tb_%.cpp sim/sim_util.h sim/mem_model.h sim/word_setup.h $(RTL_SRCS) $(RTL_WAIVE) $(RTL_BUILD)/ref_iops.o $(RTL_BUILD)/iops.o $$(RTL_DEPS_$$*)
	@mkdir -p $(@D)
	$(RTL_VENV) $(VERILATOR) $(RTL_VFLAGS) $(if $(RTL_LIBS_$*),-LDFLAGS "$(RTL_LIBS_$*)") --top-module $(RTL_TOP_$*) -Mdir $(@D) -o bench \
	    hw/rtl/$(RTL_TOP_$*).sv $(CURDIR)/sim/tb_$*.cpp > $(@D)/build.log 2>&1 || (tail -30 $(@D)/build.log; exit 1)

# The draft whole engine (hw/rtl/draft/mtx_top.sv) over the stand-in word
# controller of sim/stub, which has the batched controller's announced ports
# (when that controller is on main: drop -y sim/stub and move the top into hw/rtl).
RTL_TOP_BENCH := $(RTL_BUILD)/tb_top/bench
$(RTL_TOP_BENCH): sim/tb_top.cpp sim/sim_util.h sim/mem_model.h sim/stub/mtx_word_ctrl.sv hw/rtl/draft/mtx_top.sv $(RTL_SRCS) $(RTL_WAIVE) $(BUILD)/libmodtx.a $(RTL_BUILD)/img/image.bin
	@mkdir -p $(@D)
	$(RTL_VENV) $(VERILATOR) --cc --exe --build -O3 -j 2 -Wall --x-assign fast --x-initial fast -y sim/stub -y hw/rtl $(RTL_WAIVE) \
	    -CFLAGS "-O1 -I$(CURDIR)/sim -I$(CURDIR)/host" -LDFLAGS "$(CURDIR)/$(BUILD)/libmodtx.a -lz" \
	    --top-module mtx_top -Mdir $(@D) -o bench hw/rtl/draft/mtx_top.sv $(CURDIR)/sim/tb_top.cpp \
	    > $(@D)/build.log 2>&1 || (tail -30 $(@D)/build.log; exit 1)

# The simulator behind `modtx run --backend rtl` (RTL_SIM, defined above).
.PHONY: rtl-sim
ifeq ($(shell command -v $(VERILATOR) 2>/dev/null),)
rtl-sim:
	@echo "rtl-sim: skipped: verilator not found"
else
rtl-sim: $(RTL_SIM)
endif
$(BUILD)/rtl/rtl_run/sim: sim/rtl_run.cpp sim/sim_util.h sim/mem_model.h sim/word_setup.h $(RTL_SRCS) $(RTL_WAIVE) $(BUILD)/libmodtx.a
	@mkdir -p $(@D)
	$(RTL_VENV) $(VERILATOR) --cc --exe --build -O3 -j 2 -Wall --x-assign fast --x-initial fast -y hw/rtl $(RTL_WAIVE) \
	    -CFLAGS "-O1 -I$(CURDIR)/sim -I$(CURDIR)/host" -LDFLAGS "$(CURDIR)/$(BUILD)/libmodtx.a -lz" \
	    --top-module mtx_word_ctrl -Mdir $(@D) -o sim hw/rtl/mtx_word_ctrl.sv $(CURDIR)/sim/rtl_run.cpp \
	    > $(@D)/build.log 2>&1 || (tail -30 $(@D)/build.log; exit 1)

SYNTH_TOPS ?= mtx_word_ctrl mtx_engine mtx_linear mtx_softmax_row mtx_rmsnorm_row mtx_requant mtx_argmax
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
