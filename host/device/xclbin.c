/* xclbin.c - kernel argument table and metadata-only xclbin (see xclbin.h).
 *
 * The container layout is XRT's xclbin.h (struct axlf and the section
 * structs), written field by field at the byte offsets below, little-endian.
 * Where XRT's headers are installed (MTX_HAVE_XRT) every offset is checked
 * against offsetof() on XRT's own structs at compile time. */
#include "device/xclbin.h"
#include "core/fsutil.h"
#include "format/image.h"
#include "hls/mtx_kernel_args.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- the argument table, generated from MTX_KERNEL_ARGS ---- */

#define MTX_XARG(name, ptr, type, bundle, bytes) { #name, ptr, #type, bundle, bytes, 0, -1 },
static mtx_kernel_arg g_args[] = { MTX_KERNEL_ARGS(MTX_XARG) };
#undef MTX_XARG
#define N_ARGS ((int)(sizeof g_args / sizeof g_args[0]))

static const char *g_bundles[sizeof g_args / sizeof g_args[0]];
static int g_n_banks;
static uint32_t g_regs_end;

/* Control registers as Vitis HLS assigns them for an s_axilite bundle:
 * 0x00 ap_ctrl, 0x04 GIE, 0x08 IER, 0x0c ISR, then each argument in
 * signature order from 0x10: its data words (two for a 64-bit pointer or
 * scalar, one for a 32-bit scalar) followed by one reserved word. The
 * driver headers Vitis HLS 2022.1 generates show it, e.g. for
 * vecadd(a, b, c, n) with 64-bit a, b, c, n: a at 0x10/0x14, 0x18 reserved,
 * b at 0x1c, c at 0x28, n at 0x34 (UCLA-VAST/TAPA-CS,
 * apps/vadd/VecAdd_1/.autopilot/db/driver/src/xvecadd_1_hw.h), and with a
 * 32-bit first scalar: size at 0x10, 0x14 reserved, next at 0x18
 * (CTSRD-CHERI/cheri-hls, examples/spmv_crs/.../xhls_top_hw.h, 2023.1). */
#define MTX_CTRL_FIRST_ARG 0x10u

static void table_init(void) {
    if (g_regs_end) return;
    uint32_t off = MTX_CTRL_FIRST_ARG;
    for (int i = 0; i < N_ARGS; i++) {
        mtx_kernel_arg *a = &g_args[i];
        a->offset = off;
        off += 4u * ((a->bytes + 3u) / 4u) + 4u;
        if (!a->is_pointer) continue;
        int b = 0;
        while (b < g_n_banks && strcmp(g_bundles[b], a->bundle) != 0) b++;
        if (b == g_n_banks) g_bundles[g_n_banks++] = a->bundle;
        a->bank = b;
    }
    g_regs_end = off;
}

int mtx_kernel_arg_count(void) { return N_ARGS; }

const mtx_kernel_arg *mtx_kernel_arg_get(int index) {
    table_init();
    return index >= 0 && index < N_ARGS ? &g_args[index] : NULL;
}

int mtx_kernel_arg_index(const char *name) {
    for (int i = 0; i < N_ARGS; i++)
        if (!strcmp(g_args[i].name, name)) return i;
    return -1;
}

int mtx_kernel_bank_count(void) {
    table_init();
    return g_n_banks;
}

uint32_t mtx_kernel_regs_end(void) {
    table_init();
    return g_regs_end;
}

/* ---- xclbin byte layout (XRT xclbin.h) ---- */

enum {
    AX_MAGIC = 0, AX_SIG_LEN = 8, AX_RESERVED = 12, AX_KEYBLOCK = 40, AX_UNIQUE_ID = 296,
    AX_HEADER = 304,
    AH_LENGTH = 0, AH_TIMESTAMP = 8, AH_VERSION_PATCH = 24, AH_VERSION_MAJOR = 26,
    AH_VERSION_MINOR = 27, AH_MODE = 28, AH_VBNV = 48, AH_UUID = 112, AH_NUM_SECTIONS = 144,
    AX_SECTIONS = 456, SH_BYTES = 40, SH_KIND = 0, SH_NAME = 4, SH_OFFSET = 24, SH_SIZE = 32,
    MT_DATA = 8, MD_BYTES = 40, MD_TYPE = 0, MD_USED = 1, MD_SIZE = 8, MD_BASE = 16, MD_TAG = 24,
    IL_DATA = 8, IP_BYTES = 80, IP_TYPE_OFF = 0, IP_PROPS = 4, IP_BASE = 8, IP_NAME = 16,
    CN_DATA = 4, CN_BYTES = 12, CN_ARG = 0, CN_IP = 4, CN_MEM = 8
};
/* Section kinds and enum values of xclbin.h. */
enum { K_EMBEDDED_METADATA = 2, K_MEM_TOPOLOGY = 6, K_CONNECTIVITY = 7, K_IP_LAYOUT = 8 };
enum { MEM_DDR4_TYPE = 1, IP_KERNEL_TYPE = 1, IP_INT_ENABLE = 1 };

#define CU_NAME MTX_KERNEL_NAME "_1"
#define CU_BASE 0x1000000ull       /* base address of the one compute unit */
#define CTRL_RANGE 0x1000u         /* its control register window */
#define BANK_KB (2ull << 20)       /* 2 GiB banks (an image is at most 1 GiB) */

#ifdef MTX_HAVE_XRT
#include <stddef.h>
#include <xclbin.h>
#define AX_CHECK(off, expr) _Static_assert((long)(off) == (long)(expr), #off " differs from XRT xclbin.h")
AX_CHECK(AX_SIG_LEN, offsetof(struct axlf, m_signature_length));
AX_CHECK(AX_RESERVED, offsetof(struct axlf, reserved));
AX_CHECK(AX_KEYBLOCK, offsetof(struct axlf, m_keyBlock));
AX_CHECK(AX_UNIQUE_ID, offsetof(struct axlf, m_uniqueId));
AX_CHECK(AX_HEADER, offsetof(struct axlf, m_header));
AX_CHECK(AX_SECTIONS, offsetof(struct axlf, m_sections));
AX_CHECK(AH_TIMESTAMP, offsetof(struct axlf_header, m_timeStamp));
AX_CHECK(AH_VERSION_PATCH, offsetof(struct axlf_header, m_versionPatch));
AX_CHECK(AH_VERSION_MAJOR, offsetof(struct axlf_header, m_versionMajor));
AX_CHECK(AH_VERSION_MINOR, offsetof(struct axlf_header, m_versionMinor));
AX_CHECK(AH_MODE, offsetof(struct axlf_header, m_mode));
AX_CHECK(AH_VBNV, offsetof(struct axlf_header, m_platformVBNV));
AX_CHECK(AH_UUID, offsetof(struct axlf_header, uuid));
AX_CHECK(AH_NUM_SECTIONS, offsetof(struct axlf_header, m_numSections));
AX_CHECK(SH_BYTES, sizeof(struct axlf_section_header));
AX_CHECK(SH_NAME, offsetof(struct axlf_section_header, m_sectionName));
AX_CHECK(SH_OFFSET, offsetof(struct axlf_section_header, m_sectionOffset));
AX_CHECK(SH_SIZE, offsetof(struct axlf_section_header, m_sectionSize));
AX_CHECK(MT_DATA, offsetof(struct mem_topology, m_mem_data));
AX_CHECK(MD_BYTES, sizeof(struct mem_data));
AX_CHECK(MD_USED, offsetof(struct mem_data, m_used));
AX_CHECK(MD_SIZE, offsetof(struct mem_data, m_size));
AX_CHECK(MD_BASE, offsetof(struct mem_data, m_base_address));
AX_CHECK(MD_TAG, offsetof(struct mem_data, m_tag));
AX_CHECK(IL_DATA, offsetof(struct ip_layout, m_ip_data));
AX_CHECK(IP_BYTES, sizeof(struct ip_data));
AX_CHECK(IP_PROPS, offsetof(struct ip_data, properties));
AX_CHECK(IP_BASE, offsetof(struct ip_data, m_base_address));
AX_CHECK(IP_NAME, offsetof(struct ip_data, m_name));
AX_CHECK(CN_DATA, offsetof(struct connectivity, m_connection));
AX_CHECK(CN_BYTES, sizeof(struct connection));
AX_CHECK(CN_IP, offsetof(struct connection, m_ip_layout_index));
AX_CHECK(CN_MEM, offsetof(struct connection, mem_data_index));
AX_CHECK(K_EMBEDDED_METADATA, EMBEDDED_METADATA);
AX_CHECK(K_MEM_TOPOLOGY, MEM_TOPOLOGY);
AX_CHECK(K_CONNECTIVITY, CONNECTIVITY);
AX_CHECK(K_IP_LAYOUT, IP_LAYOUT);
AX_CHECK(MEM_DDR4_TYPE, MEM_DDR4);
AX_CHECK(IP_KERNEL_TYPE, IP_KERNEL);
#endif

/* A growable text buffer for the XML. */
typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} xbuf;

__attribute__((format(printf, 2, 3))) static void xb_printf(xbuf *b, const char *fmt, ...) {
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { b->failed = 1; return; }
        if (b->p && b->len + (size_t)n < b->cap) { b->len += (size_t)n; return; }
        size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        char *q = realloc(b->p, cap);
        if (!q) { b->failed = 1; return; }
        b->p = q;
        b->cap = cap;
    }
}

/* The EMBEDDED_METADATA XML, in the shape v++ writes and XRT's parser
 * (xclbin_parser.cpp: project.platform.device.core.kernel with port, arg
 * and instance children) reads. */
static void metadata_xml(xbuf *b) {
    xb_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project name=\"%s\">\n"
                 "  <platform vendor=\"modtx\" boardid=\"none\" name=\"metadata-only\" featureRomTime=\"0\">\n"
                 "    <version major=\"1\" minor=\"0\"/>\n    <description/>\n"
                 "    <device name=\"fpga0\" fpgaDevice=\"\" addrWidth=\"0\">\n"
                 "      <core name=\"OCL_REGION_0\" target=\"bitstream\" type=\"clc_region\" clockFreq=\"0MHz\" numComputeUnits=\"1\">\n"
                 "        <kernelClocks>\n          <clock port=\"KERNEL_CLK\" frequency=\"300MHz\"/>\n"
                 "        </kernelClocks>\n"
                 "        <kernel name=\"%s\" language=\"c\" vlnv=\"xilinx.com:hls:%s:1.0\" "
                 "preferredWorkGroupSizeMultiple=\"0\" workGroupSize=\"1\" interrupt=\"true\" hwControlProtocol=\"ap_ctrl_hs\">\n",
              MTX_KERNEL_NAME, MTX_KERNEL_NAME, MTX_KERNEL_NAME);
    for (int k = 0; k < g_n_banks; k++)
        xb_printf(b, "          <port name=\"M_AXI_%s\" mode=\"master\" range=\"0xFFFFFFFFFFFFFFFF\" "
                     "portType=\"addressable\" base=\"0x0\"/>\n", g_bundles[k]);
    xb_printf(b, "          <port name=\"S_AXI_CONTROL\" mode=\"slave\" range=\"0x%X\" dataWidth=\"32\" "
                 "portType=\"addressable\" base=\"0x0\"/>\n", CTRL_RANGE);
    for (int i = 0; i < N_ARGS; i++) {
        const mtx_kernel_arg *a = &g_args[i];
        char port[64];
        if (a->is_pointer) snprintf(port, sizeof port, "M_AXI_%s", a->bundle);
        else snprintf(port, sizeof port, "S_AXI_CONTROL");
        xb_printf(b, "          <arg name=\"%s\" addressQualifier=\"%d\" id=\"%d\" port=\"%s\" size=\"0x%X\" "
                     "offset=\"0x%X\" hostOffset=\"0x0\" hostSize=\"0x%X\" type=\"%s\"/>\n",
                  a->name, a->is_pointer ? 1 : 0, i, port, a->bytes, a->offset, a->bytes, a->c_type);
    }
    xb_printf(b, "          <instance name=\"%s\">\n"
                 "            <addrRemap base=\"0x%llX\" range=\"0x%X\" port=\"S_AXI_CONTROL\"/>\n"
                 "          </instance>\n        </kernel>\n      </core>\n    </device>\n"
                 "  </platform>\n</project>\n",
              CU_NAME, (unsigned long long)CU_BASE, CTRL_RANGE);
}

static void put_le16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint64_t align8(uint64_t x) { return (x + 7u) & ~7ull; }

static void put_str(uint8_t *p, const char *s, size_t cap) {
    size_t n = strlen(s);
    memcpy(p, s, n < cap - 1 ? n : cap - 1); /* NUL-terminated: the rest is zero */
}

static void put_section(uint8_t *buf, int i, uint32_t kind, const char *name, uint64_t off,
                        uint64_t size) {
    uint8_t *h = buf + AX_SECTIONS + (size_t)i * SH_BYTES;
    mtx_put_le32(h + SH_KIND, kind);
    put_str(h + SH_NAME, name, 16);
    mtx_put_le64(h + SH_OFFSET, off);
    mtx_put_le64(h + SH_SIZE, size);
}


/* Section payloads (the buffer is zeroed; only non-zero fields are written). */
static void put_mem_topology(uint8_t *s) {
    mtx_put_le32(s, (uint32_t)g_n_banks);
    for (int k = 0; k < g_n_banks; k++) {
        uint8_t *m = s + MT_DATA + (size_t)k * MD_BYTES;
        char tag[16];
        m[MD_TYPE] = MEM_DDR4_TYPE;
        m[MD_USED] = 1;
        mtx_put_le64(m + MD_SIZE, BANK_KB);
        mtx_put_le64(m + MD_BASE, (uint64_t)k * BANK_KB * 1024u);
        snprintf(tag, sizeof tag, "bank%d", k);
        put_str(m + MD_TAG, tag, 16);
    }
}

static void put_ip_layout(uint8_t *s) {
    mtx_put_le32(s, 1);
    uint8_t *ip = s + IL_DATA;
    mtx_put_le32(ip + IP_TYPE_OFF, IP_KERNEL_TYPE);
    mtx_put_le32(ip + IP_PROPS, IP_INT_ENABLE); /* ap_ctrl_hs (0) in bits 8..15 */
    mtx_put_le64(ip + IP_BASE, CU_BASE);
    put_str(ip + IP_NAME, MTX_KERNEL_NAME ":" CU_NAME, 64);
}

static void put_connectivity(uint8_t *s, int n_ptr) {
    mtx_put_le32(s, (uint32_t)n_ptr);
    int c = 0;
    for (int i = 0; i < N_ARGS; i++) {
        if (!g_args[i].is_pointer) continue;
        uint8_t *e = s + CN_DATA + (size_t)c++ * CN_BYTES;
        mtx_put_le32(e + CN_ARG, (uint32_t)i);
        mtx_put_le32(e + CN_IP, 0);
        mtx_put_le32(e + CN_MEM, (uint32_t)g_args[i].bank);
    }
}

mtx_status mtx_xclbin_build(uint8_t **out, uint64_t *bytes) {
    table_init();
    *out = NULL;
    *bytes = 0;
    xbuf xml = { 0 };
    metadata_xml(&xml);
    if (xml.failed) {
        free(xml.p);
        return mtx_set_error(MTX_ERR_NOMEM, "xclbin: out of memory building the metadata XML");
    }
    int n_ptr = 0;
    for (int i = 0; i < N_ARGS; i++) n_ptr += g_args[i].is_pointer;
    enum { N_SEC = 4 };
    uint64_t sz[N_SEC] = { MT_DATA + (uint64_t)g_n_banks * MD_BYTES, IL_DATA + IP_BYTES,
                           CN_DATA + (uint64_t)n_ptr * CN_BYTES, xml.len + 1 };
    uint64_t off[N_SEC], end = align8(AX_SECTIONS + (uint64_t)N_SEC * SH_BYTES);
    for (int i = 0; i < N_SEC; i++) {
        off[i] = end;
        end = align8(end + sz[i]);
    }
    uint8_t *buf = calloc(1, end);
    if (!buf) {
        free(xml.p);
        return mtx_set_error(MTX_ERR_NOMEM, "xclbin: out of memory (%llu bytes)", (unsigned long long)end);
    }
    memcpy(buf + AX_MAGIC, "xclbin2", 8);
    mtx_put_le32(buf + AX_SIG_LEN, 0xFFFFFFFFu); /* -1: not signed */
    memset(buf + AX_RESERVED, 0xFF, 28);
    memset(buf + AX_KEYBLOCK, 0xFF, 256);
    uint8_t *h = buf + AX_HEADER;
    mtx_put_le64(h + AH_LENGTH, end);
    put_le16(h + AH_VERSION_PATCH, 0);
    h[AH_VERSION_MAJOR] = 2;
    h[AH_VERSION_MINOR] = 13;
    put_le16(h + AH_MODE, 0); /* XCLBIN_FLAT */
    put_str(h + AH_VBNV, "modtx:metadata-only", 64);
    mtx_put_le32(h + AH_NUM_SECTIONS, N_SEC);
    put_section(buf, 0, K_MEM_TOPOLOGY, "mem_topology", off[0], sz[0]);
    put_section(buf, 1, K_IP_LAYOUT, "ip_layout", off[1], sz[1]);
    put_section(buf, 2, K_CONNECTIVITY, "connectivity", off[2], sz[2]);
    put_section(buf, 3, K_EMBEDDED_METADATA, "metadata", off[3], sz[3]);
    put_mem_topology(buf + off[0]);
    put_ip_layout(buf + off[1]);
    put_connectivity(buf + off[2], n_ptr);
    memcpy(buf + off[3], xml.p, xml.len + 1);
    free(xml.p);
    /* uuid (XRT's identity of an xclbin): four crc32 of the content with
     * the uuid still zero, each salted, marked RFC 4122 version 4. */
    uint8_t *u = h + AH_UUID;
    for (uint32_t k = 0; k < 4; k++) {
        uLong c = crc32(0L, (const Bytef *)&k, sizeof k);
        c = crc32(c, buf, (uInt)end);
        mtx_put_le32(u + 4 * k, (uint32_t)c);
    }
    u[6] = (uint8_t)((u[6] & 0x0Fu) | 0x40u);
    u[8] = (uint8_t)((u[8] & 0x3Fu) | 0x80u);
    *out = buf;
    *bytes = end;
    return MTX_OK;
}

mtx_status mtx_xclbin_write(const char *path) {
    uint8_t *buf;
    uint64_t n;
    mtx_status st = mtx_xclbin_build(&buf, &n);
    if (st != MTX_OK) return st;
    st = mtx_write_file_atomic(path, buf, (size_t)n);
    free(buf);
    return st;
}
