// word_setup.h - loads an image's dimensions, global section offsets and a
// plan's descriptor table into the word controller (mtx_word_ctrl), as the
// host would program it. Shared by tb_word.cpp and rtl_run.cpp.
#ifndef MTX_SIM_WORD_SETUP_H
#define MTX_SIM_WORD_SETUP_H

#include "sim_util.h"

extern "C" {
#include "format/image.h"
#include "format/plan.h"
}

namespace mtxsim {

// The harness must be out of reset; takes one clock per descriptor.
template <class M> void word_setup(Harness<M> &h, const mtx_image &im, const mtx_plan &plan) {
    const mtx_image_dims &d = im.dims;
    uint64_t sec[MTX_SEC_EXP2 + 1] = {0}, len = 0;
    for (uint32_t t = MTX_SEC_SRC_EMB; t <= MTX_SEC_EXP2; t++) mtx_image_find(&im, t, 0, &sec[t], &len);
    M *m = h.m;
    m->c_i = d.C;
    m->heads_i = d.H;
    m->f_i = d.F;
    m->vs_i = d.Vs;
    m->vt_i = d.Vt;
    m->ps_i = d.Ps;
    m->pt_i = d.Pt;
    m->eps_i = d.eps_q;
    m->bos_i = d.bos;
    m->eos_i = d.eos;
    m->src_emb_i = sec[MTX_SEC_SRC_EMB];
    m->src_pos_i = sec[MTX_SEC_SRC_POS];
    m->tgt_emb_i = sec[MTX_SEC_TGT_EMB];
    m->tgt_pos_i = sec[MTX_SEC_TGT_POS];
    m->enc_norm_i = sec[MTX_SEC_ENC_NORM];
    m->dec_norm_i = sec[MTX_SEC_DEC_NORM];
    m->lm_head_i = sec[MTX_SEC_LM_HEAD];
    m->lm_req_i = sec[MTX_SEC_LM_REQ];
    m->exp2_i = sec[MTX_SEC_EXP2];
    m->n_enc_i = plan.n_enc;
    m->n_dec_i = plan.n_dec;
    // descriptor table: encoder layers at 0.., decoder layers at MTX_MAX_STACK_LAYERS..
    for (int i = 0; i < plan.n_enc + plan.n_dec; i++) {
        const mtx_plan_desc &ds = i < plan.n_enc ? plan.enc[i] : plan.dec[i - plan.n_enc];
        m->desc_we_i = 1;
        m->desc_idx_i = i < plan.n_enc ? i : MTX_MAX_STACK_LAYERS + i - plan.n_enc;
        m->desc_w_i = ds.w_off;
        m->desc_k_i = ds.k_off;
        h.tick();
    }
    m->desc_we_i = 0;
}

} // namespace mtxsim

#endif
