# modtx - top-level build.  `make` builds build/modtx and build/libmodtx.a;
# `make test` builds and runs the CUnit suites (exit status is the verdict).
CC       ?= cc
AR       ?= ar
# -fvect-cost-model is GCC-only: added when $(CC) --version says GCC, so
# clang builds with the same -Werror warnings.
CC_IS_GCC := $(shell $(CC) --version 2>/dev/null | grep -qiE 'gcc|free software foundation' && echo 1)
OPT      ?= -O2 -g $(if $(CC_IS_GCC),-fvect-cost-model=dynamic)
WARN      = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -Ihost
CFLAGS   += $(OPT) $(WARN) -MMD -MP
LDLIBS   += -lopenblas -lcjson -lz -lm -lpthread
BUILD    ?= build

# host/<layer>/*.c: every folder but cli/ is the library; cli/ is the modtx CLI.
LIB_SRCS  := $(filter-out host/cli/%.c,$(wildcard host/*/*.c))
# The HLS kernel compiled natively: the csim backend (host/device/backend_csim.c).
LIB_SRCS  += hls/mtx_engine.c
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard host/cli/*.c))
TEST_SRCS := $(filter-out tests/test_main.c,$(wildcard tests/test_*.c))
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/tests/test_main.o $(BUILD)/tests/testutil.o $(BUILD)/tests/cli_util.o
DEPS      := $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_OBJS:.o=.d)

.PHONY: all test asan deps bench check-long clean teacher bank students run

# Library and CLI.
all: $(BUILD)/modtx $(BUILD)/libmodtx.a

$(BUILD)/libmodtx.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

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
	bash tests/scripts/check_hls.sh
	bash tests/scripts/check_hls.sh --self-test
	MTX_BIN=$(BUILD)/modtx OPENBLAS_NUM_THREADS=2 $(BUILD)/test_modtx

# The same suites under AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
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
	OPENBLAS_NUM_THREADS=2 $(BUILD)/modtx bench --config models/g2p-teacher.json --threads 2 \
	    --model models/g2p-teacher --out $(BUILD)/bench/train.json

# The main job on the shipped defaults: from the shipped teacher, train a
# module bank with the bounded default budget (7 minutes on 2 cores; the sweep about 4 more),
# then sweep every reachable compression ratio and print the table and the
# plot's path. Re-running resumes (and so skips) a finished bank.
RUN_DIR ?= $(BUILD)/run
run: $(BUILD)/modtx
	$(BUILD)/modtx info --model models/g2p-teacher
	@mkdir -p $(RUN_DIR)
	$(BUILD)/modtx modularize --teacher models/g2p-teacher --config models/g2p-modular.json \
	    --out $(RUN_DIR)/bank $$( [ -f $(RUN_DIR)/bank/bank_state.safetensors ] && echo --resume )
	$(BUILD)/modtx sweep --model $(RUN_DIR)/bank --split test --out $(RUN_DIR)/sweep
	$(BUILD)/modtx predict --model models/g2p-teacher modular transformers compress phonemes

# Rebuild the shipped teacher from scratch (about 1 h 15 min + 20 min on 2
# cores) into TEACHER_OUT/teacher: the base run (models/g2p-teacher.json),
# two fine-tuning restarts of it with seeds 777 and 778 (one thread each,
# side by side), and the average of their weights. Re-running resumes every
# unfinished run and skips finished ones.
TEACHER_OUT ?= $(BUILD)/teacher
resume_or = $$( [ -f $(1)/train_state.safetensors ] && echo --resume || echo $(2) )
teacher: $(BUILD)/modtx
	$(BUILD)/modtx train --config models/g2p-teacher.json --out $(TEACHER_OUT)/base \
	    $(call resume_or,$(TEACHER_OUT)/base,)
	$(BUILD)/modtx train --config models/g2p-teacher-restart-777.json --out $(TEACHER_OUT)/ft777 \
	    $(call resume_or,$(TEACHER_OUT)/ft777,--init $(TEACHER_OUT)/base) & a=$$!; \
	$(BUILD)/modtx train --config models/g2p-teacher-restart-778.json --out $(TEACHER_OUT)/ft778 \
	    $(call resume_or,$(TEACHER_OUT)/ft778,--init $(TEACHER_OUT)/base) & b=$$!; \
	wait $$a && wait $$b
	$(BUILD)/modtx average --out $(TEACHER_OUT)/teacher $(TEACHER_OUT)/ft777 $(TEACHER_OUT)/ft778

# Rebuild the shipped module bank into BANK_OUT/bank (about 67 min + 4 x 30
# min on 2 cores), the teacher's recipe four times over: the base run
# (models/g2p-modular-long.json, 3000 steps); two fine-tuning restarts of it
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
	$(BUILD)/modtx modularize --teacher models/g2p-teacher --config models/g2p-modular-long.json \
	    --out $(BANK_OUT)/base $(call bank_resume_or,$(BANK_OUT)/base,)
	$(call restarts,$(BANK_OUT),models/g2p-modular-restart-,base,777,778,round1)
	$(call restarts,$(BANK_OUT),models/g2p-modular-restart-,round1,779,780,round2)
	$(call restarts,$(BANK_OUT),models/g2p-modular-restart-,round2,781,782,round3)
	$(call restarts,$(BANK_OUT),models/g2p-modular-restart-,round3,783,784,bank)

# Rebuild the two baseline students of the sweep (one-shape banks, 3 + 3 of
# m2 and 2 + 2 of m3) into STUDENT_OUT/{3x3,2x2}/student with the bank's
# recipe and objective, step for step: a 3000-step base run each (both side
# by side, one thread each, about 40 min), then four rounds of two 1000-step
# restarts and their mean (about 12 min a round for each student).
STUDENT_OUT ?= $(BUILD)/students
student_cfg = models/dev-study/$(1)/student-$(2)-restart-
student_base = $(BUILD)/modtx modularize --teacher models/g2p-teacher --config models/dev-study/steps/student-$(1)-3000-C.json \
	    --out $(STUDENT_OUT)/$(1)/base $(call bank_resume_or,$(STUDENT_OUT)/$(1)/base,)
students: $(BUILD)/modtx
	$(call student_base,3x3) & a=$$!; $(call student_base,2x2) & b=$$!; wait $$a && wait $$b
	for s in 3x3 2x2; do $(call restarts,$(STUDENT_OUT)/$$s,$(call student_cfg,steps,$$s),base,777,778,round1) || exit 1; done
	for s in 3x3 2x2; do $(call restarts,$(STUDENT_OUT)/$$s,$(call student_cfg,restarts2,$$s),round1,779,780,round2) || exit 1; done
	for s in 3x3 2x2; do $(call restarts,$(STUDENT_OUT)/$$s,$(call student_cfg,restarts3,$$s),round2,781,782,round3) || exit 1; done
	for s in 3x3 2x2; do $(call restarts,$(STUDENT_OUT)/$$s,$(call student_cfg,restarts4,$$s),round3,783,784,student) || exit 1; done

# Long checks (minutes): csim == golden on the whole test split for the 1x,
# 2x, 3x and 6x plans of the shipped bank (exported into $(BUILD)/check-long).
CHECK_LONG_DIR ?= $(BUILD)/check-long
check-long: $(BUILD)/modtx
	rm -rf $(CHECK_LONG_DIR)/export
	$(BUILD)/modtx export --model models/g2p-modular --out $(CHECK_LONG_DIR)/export
	for r in 1.00 2.00 3.00 6.00; do \
	    $(BUILD)/modtx run --backend csim --image $(CHECK_LONG_DIR)/export/image.bin --ratio $$r \
	        --split test --against ref || exit 1; \
	done

clean:
	rm -rf $(BUILD)

-include $(DEPS)
