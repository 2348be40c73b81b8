# modtx - top-level build.  `make` builds build/modtx and build/libmodtx.a;
# `make test` builds and runs the CUnit suites (exit status is the verdict).
CC       ?= cc
AR       ?= ar
VERILATOR ?= verilator
# -fvect-cost-model is GCC-only: added when $(CC) --version says GCC, so
# clang builds with the same -Werror warnings.
CC_IS_GCC := $(shell $(CC) --version 2>/dev/null | grep -qiE 'gcc|free software foundation' && echo 1)
OPT      ?= -O2 -g $(if $(CC_IS_GCC),-fvect-cost-model=dynamic)
WARN      = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -Ihost
CFLAGS   += $(OPT) $(WARN) -MMD -MP
LDLIBS   += -lopenblas -lcjson -lz -lm -lpthread
BUILD    ?= build
# hls/mtx_kernel_args.h is included as "hls/mtx_kernel_args.h" from the repository root.
CPPFLAGS += -I.
# XRT (Debian libxrt-dev): the xrt backend is compiled in when its headers are
# there (MTX_HAVE_XRT); otherwise it says "built without XRT". -isystem: XRT's
# headers do not pass -Wstrict-prototypes. Only libxrt_coreutil is linked.
XRT_INC  ?= /usr/include/xrt
MTX_HAVE_XRT := $(if $(wildcard $(XRT_INC)/xrt/xrt_device.h),1)
ifeq ($(MTX_HAVE_XRT),1)
CPPFLAGS += -DMTX_HAVE_XRT -isystem $(XRT_INC)
LDLIBS   += -lxrt_coreutil
endif

# host/<layer>/*.c: every folder but cli/ is the library; cli/ is the modtx CLI.
LIB_SRCS  := $(filter-out host/cli/%.c,$(wildcard host/*/*.c))
# The HLS kernel compiled natively: the csim backend (host/device/backend_csim.c).
LIB_SRCS  += hls/mtx_engine.c
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard host/cli/*.c))
TEST_SRCS := $(filter-out tests/test_main.c,$(wildcard tests/test_*.c))
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/tests/test_main.o $(BUILD)/tests/testutil.o $(BUILD)/tests/cli_util.o
DEPS      := $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_OBJS:.o=.d)

.PHONY: all test asan deps bench check-long clean teacher bank students run run-rtl fuzz xo xclbin

# Library and CLI.
all: $(BUILD)/modtx $(BUILD)/libmodtx.a

$(BUILD)/libmodtx.a: $(LIB_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/modtx: $(CLI_OBJS) $(BUILD)/libmodtx.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# gcc knows neither HLS pragmas nor that loop labels name loops for synthesis.
$(BUILD)/hls/mtx_engine.o: CFLAGS += -Wno-unknown-pragmas -Wno-unused-label
# The kernel's header is included as "hls/mtx_engine.h".
$(BUILD)/host/device/backend_csim.o $(BUILD)/tests/test_hls.o: CPPFLAGS += -I.

# Every tests/test_NAME.c defines `void mtx_suite_NAME(void)`; the list of
# suites is generated so adding a file is enough to add a suite.
$(BUILD)/tests/suites.def: $(TEST_SRCS)
	@mkdir -p $(dir $@)
	@for f in $(notdir $(basename $(TEST_SRCS))); do echo "SUITE($${f#test_})"; done > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/test_main.o: CPPFLAGS += -I$(BUILD)/tests
$(BUILD)/tests/test_main.o: $(BUILD)/tests/suites.def

$(BUILD)/test_modtx: $(TEST_OBJS) $(BUILD)/libmodtx.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) -lcunit $(LDLIBS)

# Run the unit and integration suites; exit status is non-zero on any failure.
test: $(BUILD)/test_modtx $(BUILD)/modtx
	bash tests/scripts/check_layers.sh
	bash tests/scripts/check_sizes.sh
	bash tests/scripts/check_hls.sh
	bash tests/scripts/check_hls.sh --self-test
	MTX_BIN=$(BUILD)/modtx OPENBLAS_NUM_THREADS=2 $(BUILD)/test_modtx

# The same suites under AddressSanitizer and UndefinedBehaviorSanitizer, in
# build/asan or in the BUILD given on the command line.
asan:
	$(MAKE) BUILD=$(if $(filter command line,$(origin BUILD)),$(BUILD),build/asan) OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" test

# Install the Debian packages the project needs (run as root).
deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    build-essential libopenblas-dev libcunit1-dev libcjson-dev zlib1g-dev pocketsphinx-en-us \
	    verilator yosys libxrt-dev clang

# Training-speed and decode-speed benchmark; writes build/bench/train.json.
bench: $(BUILD)/modtx
	@mkdir -p $(BUILD)/bench
	OPENBLAS_NUM_THREADS=2 $(BUILD)/modtx bench --config models/recipes/g2p-teacher.json --threads 2 \
	    --model models/g2p-teacher --out $(BUILD)/bench/train.json

# The main job on the shipped defaults: from the shipped teacher, train a
# module bank with the bounded default budget, sweep every reachable
# compression ratio (a fixed sample of 3000 test words, no pruned* search;
# the shipped bank's full sweep is in docs/RESULTS.md) into RUN_DIR/bank/sweep,
# export the bank to int8 (image.bin + one plan per ratio), then score every
# plan on the integer golden model (ref) beside its fp32 assembly and check
# the HLS kernel (csim) against it word for word on the same test words.
# Re-running resumes (and so skips) a finished bank. Each stage's wall time
# is printed at the end (scripts/stage_times.sh, log in RUN_DIR/stages.txt).
RUN_DIR ?= $(BUILD)/run
RUN_ENGINE_WORDS ?= 500
STAGE = bash scripts/stage_times.sh run $(RUN_DIR)/stages.txt
run: $(BUILD)/modtx
	@mkdir -p $(RUN_DIR) && rm -f $(RUN_DIR)/stages.txt
	$(STAGE) info $(BUILD)/modtx info --model models/g2p-teacher
	$(STAGE) bank $(BUILD)/modtx modularize --teacher models/g2p-teacher --config models/recipes/g2p-modular.json \
	    --out $(RUN_DIR)/bank $$( [ -f $(RUN_DIR)/bank/bank_state.safetensors ] && echo --resume )
	$(STAGE) sweep $(BUILD)/modtx sweep --model $(RUN_DIR)/bank --split test --sample 3000 --no-pruned
	$(STAGE) export $(BUILD)/modtx export --model $(RUN_DIR)/bank --out $(RUN_DIR)/export
	$(STAGE) engines $(BUILD)/modtx run --backend ref --image $(RUN_DIR)/export/image.bin --plans all \
	    --split test --sample $(RUN_ENGINE_WORDS) --compare --against csim
	$(STAGE) rtl $(MAKE) --no-print-directory run-rtl
	$(STAGE) predict $(BUILD)/modtx predict --model models/g2p-teacher modular transformers compress phonemes
	@echo "make run: wall time per stage"; bash scripts/stage_times.sh report $(RUN_DIR)/stages.txt

# The last accelerator step of make run: 8 test words through the RTL engine
# under Verilator (backend rtl) for the 1x and 6x plans, checked word for word
# against the golden model, with simulated cycles per word and PE use.
run-rtl: $(BUILD)/modtx
ifeq ($(shell command -v $(VERILATOR) 2>/dev/null),)
	@echo "run-rtl: skipped: verilator not found"
else
	$(MAKE) --no-print-directory rtl-sim
	$(BUILD)/modtx run --backend rtl --image $(RUN_DIR)/export/image.bin --plans 1.00x.plan,6.00x.plan \
	    --split test --sample 8 --against ref
endif

# Rebuild the shipped teacher from scratch (about 1 h 15 min + 20 min on 2
# cores) into TEACHER_OUT/teacher: the base run (models/recipes/g2p-teacher.json),
# two fine-tuning restarts of it with seeds 777 and 778 (one thread each,
# side by side), and the average of their weights. Re-running resumes every
# unfinished run and skips finished ones.
TEACHER_OUT ?= $(BUILD)/teacher
resume_or = $$( [ -f $(1)/train_state.safetensors ] && echo --resume || echo $(2) )
teacher: $(BUILD)/modtx
	$(BUILD)/modtx train --config models/recipes/g2p-teacher.json --out $(TEACHER_OUT)/base \
	    $(call resume_or,$(TEACHER_OUT)/base,)
	$(BUILD)/modtx train --config models/recipes/g2p-teacher-restart-777.json --out $(TEACHER_OUT)/ft777 \
	    $(call resume_or,$(TEACHER_OUT)/ft777,--init $(TEACHER_OUT)/base) & a=$$!; \
	$(BUILD)/modtx train --config models/recipes/g2p-teacher-restart-778.json --out $(TEACHER_OUT)/ft778 \
	    $(call resume_or,$(TEACHER_OUT)/ft778,--init $(TEACHER_OUT)/base) & b=$$!; \
	wait $$a && wait $$b
	$(BUILD)/modtx average --out $(TEACHER_OUT)/teacher $(TEACHER_OUT)/ft777 $(TEACHER_OUT)/ft778

# Rebuild the shipped module bank into BANK_OUT/bank (about 67 min + 4 x 30
# min on 2 cores), the teacher's recipe four times over: the base run
# (models/recipes/g2p-modular-long.json, 3000 steps); two fine-tuning restarts of it
# with seeds 777 and 778 (modularize --init, one thread each, side by side)
# and the mean of their modules; then three more rounds, each two restarts
# of the previous mean (seeds 779/780, 781/782, 783/784) and their mean.
# Re-running resumes every unfinished run and skips finished ones.
BANK_OUT ?= $(BUILD)/bankrun
bank_resume_or = $$( [ -f $(1)/bank_state.safetensors ] && echo --resume || echo $(2) )
# One round of restarts: $(1) output folder, $(2) config path up to the seed,
# $(3) the previous mean (a folder in $(1)), $(4) $(5) the seeds, $(6) the
# name of their mean. The two runs go side by side, one thread each.
restarts = \
	$(BUILD)/modtx modularize --teacher models/g2p-teacher --config $(2)$(4).json \
	    --out $(1)/ft$(4) $(call bank_resume_or,$(1)/ft$(4),--init $(1)/$(3)) & a=$$!; \
	$(BUILD)/modtx modularize --teacher models/g2p-teacher --config $(2)$(5).json \
	    --out $(1)/ft$(5) $(call bank_resume_or,$(1)/ft$(5),--init $(1)/$(3)) & b=$$!; \
	wait $$a && wait $$b && \
	$(BUILD)/modtx average --out $(1)/$(6) $(1)/ft$(4) $(1)/ft$(5)
bank: $(BUILD)/modtx
	$(BUILD)/modtx modularize --teacher models/g2p-teacher --config models/recipes/g2p-modular-long.json \
	    --out $(BANK_OUT)/base $(call bank_resume_or,$(BANK_OUT)/base,)
	$(call restarts,$(BANK_OUT),models/recipes/g2p-modular-restart-,base,777,778,round1)
	$(call restarts,$(BANK_OUT),models/recipes/g2p-modular-restart-,round1,779,780,round2)
	$(call restarts,$(BANK_OUT),models/recipes/g2p-modular-restart-,round2,781,782,round3)
	$(call restarts,$(BANK_OUT),models/recipes/g2p-modular-restart-,round3,783,784,bank)

# Rebuild the two baseline students of the sweep (one-shape banks, 3 + 3 of
# m2 and 2 + 2 of m3) into STUDENT_OUT/{3x3,2x2}/student with the bank's
# recipe and objective, step for step: a 3000-step base run each (both side
# by side, one thread each, about 40 min), then four rounds of two 1000-step
# restarts and their mean (about 12 min a round for each student).
STUDENT_OUT ?= $(BUILD)/students
student_cfg = models/recipes/g2p-student-$(1)-restart-
student_base = $(BUILD)/modtx modularize --teacher models/g2p-teacher --config models/recipes/g2p-student-$(1).json \
	    --out $(STUDENT_OUT)/$(1)/base $(call bank_resume_or,$(STUDENT_OUT)/$(1)/base,)
students: $(BUILD)/modtx
	$(call student_base,3x3) & a=$$!; $(call student_base,2x2) & b=$$!; wait $$a && wait $$b
	for s in 3x3 2x2; do $(call restarts,$(STUDENT_OUT)/$$s,$(call student_cfg,$$s),base,777,778,round1) || exit 1; done
	for s in 3x3 2x2; do $(call restarts,$(STUDENT_OUT)/$$s,$(call student_cfg,$$s),round1,779,780,round2) || exit 1; done
	for s in 3x3 2x2; do $(call restarts,$(STUDENT_OUT)/$$s,$(call student_cfg,$$s),round2,781,782,round3) || exit 1; done
	for s in 3x3 2x2; do $(call restarts,$(STUDENT_OUT)/$$s,$(call student_cfg,$$s),round3,783,784,student) || exit 1; done

# Fuzz the image and plan parsers with libFuzzer under ASan and UBSan, one
# target after the other, FUZZ_SECONDS each, from seeds of the tiny fixture
# (tests/fuzz/fuzz_seed.c). Binaries, corpora and any crash-* inputs land in
# $(BUILD)/fuzz; the exit status is non-zero when a target found a crash.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
FUZZ_SRCS := host/format/image.c host/format/plan.c host/core/mtx.c host/core/fsutil.c
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(WARN) $(CPPFLAGS) -Itests
ifeq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
fuzz:
	@echo "skipped: clang not found ($(FUZZ_CC))"
else
fuzz:
	@mkdir -p $(BUILD)/fuzz/corpus_image $(BUILD)/fuzz/corpus_plan
	$(CC) $(CPPFLAGS) $(WARN) -O1 -Itests -o $(BUILD)/fuzz/fuzz_seed tests/fuzz/fuzz_seed.c $(FUZZ_SRCS) -lz
	$(BUILD)/fuzz/fuzz_seed $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $(BUILD)/fuzz/fuzz_image tests/fuzz/fuzz_image.c $(FUZZ_SRCS) -lz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $(BUILD)/fuzz/fuzz_plan tests/fuzz/fuzz_plan.c $(FUZZ_SRCS) -lz
	cd $(BUILD)/fuzz && ./fuzz_image -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -print_final_stats=1 \
	    -artifact_prefix=image- corpus_image; a=$$?; \
	./fuzz_plan -max_total_time=$(FUZZ_SECONDS) -max_len=2048 -print_final_stats=1 \
	    -artifact_prefix=plan- corpus_plan; b=$$?; \
	echo "fuzz: fuzz_image exit $$a, fuzz_plan exit $$b"; [ $$a -eq 0 ] && [ $$b -eq 0 ]
endif
# Vitis flow for Alveo cards (hw/, docs/deploy.md). `make xo` compiles the
# HLS kernel hls/mtx_engine.c into a Vitis kernel (hw/hls.cfg: 300 MHz, the
# card's part); `make xclbin TARGET=sw_emu|hw_emu|hw PLATFORM=...` links it
# for one card (hw/u50.cfg, hw/u55c.cfg, hw/u280.cfg: memory banks, 300 MHz)
# into $(HW_OUT)/mtx_engine.xclbin, plus emconfig.json for the emulation
# targets. Both need Vitis (v++ on PATH) and print "skipped: v++ not found"
# without it.
VPP      ?= v++
TARGET   ?= hw
PLATFORM ?= xilinx_u55c_gen3x16_xdma_3_202210_1
CARD      = $(firstword $(foreach c,u50 u55c u280,$(if $(findstring _$(c)_,$(PLATFORM)),$(c))))
PART_u50  = xcu50-fsvh2104-2-e
PART_u55c = xcu55c-fsvh2892-2L-e
PART_u280 = xcu280-fsvh2892-2L-e
HW_OUT    = $(BUILD)/hw/$(TARGET).$(PLATFORM)
vpp_or_skip = if ! command -v $(VPP) >/dev/null 2>&1; then echo "skipped: v++ not found (install Vitis, docs/deploy.md)"; exit 0; fi; \
	if [ -z "$(CARD)" ]; then echo "make: PLATFORM=$(PLATFORM) is not a u50, u55c or u280 platform" >&2; exit 2; fi
xo:
	@$(vpp_or_skip); set -e; mkdir -p $(HW_OUT); \
	$(VPP) -c --mode hls --part $(PART_$(CARD)) --config hw/hls.cfg --work_dir $(HW_OUT)/hls; \
	xo=$$(find $(HW_OUT)/hls -name '*.xo' | head -n 1); test -n "$$xo"; cp "$$xo" $(HW_OUT)/mtx_engine.xo; \
	echo "$(HW_OUT)/mtx_engine.xo"

xclbin:
	@$(vpp_or_skip); set -e; $(MAKE) --no-print-directory xo; \
	$(VPP) -l -t $(TARGET) --platform $(PLATFORM) --config hw/$(CARD).cfg --temp_dir $(HW_OUT)/link \
	    -o $(HW_OUT)/mtx_engine.xclbin $(HW_OUT)/mtx_engine.xo; \
	if [ "$(TARGET)" != hw ]; then emconfigutil --platform $(PLATFORM) --od $(HW_OUT); fi; \
	echo "$(HW_OUT)/mtx_engine.xclbin"

# Long checks (hours): csim == golden on the whole test split for the 1x,
# 2x, 3x and 6x plans of the shipped bank (exported into $(BUILD)/check-long);
# rtl-netlist: yosys' gate netlists pass the RTL's benches; rtl-long: the RTL
# under Verilator == golden on RTL_LONG_WORDS test words of every plan
# (sim/rtl.mk).
CHECK_LONG_DIR ?= $(BUILD)/check-long
check-long: $(BUILD)/modtx rtl-netlist rtl-long
	rm -rf $(CHECK_LONG_DIR)/export
	$(BUILD)/modtx export --model models/g2p-modular --out $(CHECK_LONG_DIR)/export
	for r in 1.00 2.00 3.00 6.00; do \
	    $(BUILD)/modtx run --backend csim --image $(CHECK_LONG_DIR)/export/image.bin --ratio $$r \
	        --split test --against ref || exit 1; \
	done

clean:
	rm -rf $(BUILD)

-include $(DEPS)

# RTL lint, benches and synthesis: rtl-test, lint, synth (hw/rtl, sim/).
comma := ,
include sim/rtl.mk
