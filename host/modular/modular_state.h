/* modular_state.h - internal: trainer state access shared by modular.c and
 * modular_io.c (checkpoint and restore). Not part of the public API. */
#ifndef MTX_MODULAR_STATE_H
#define MTX_MODULAR_STATE_H

#include "modular/modular.h"

mtx_status mtx_modular_state_views(mtx_modular *m, float **adam_m, float **adam_v, int64_t *step,
                                   int64_t *epoch, int *batch);
mtx_status mtx_modular_set_position(mtx_modular *m, int64_t step, int64_t epoch, int batch);
mtx_bank *mtx_modular_bank_mut(mtx_modular *m);

#endif
