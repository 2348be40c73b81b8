/* engine/ - reserved (layer 2): the integer quantizer and golden model.
 * This folder will hold the quantizer that turns a trained fp32 model or an
 * assembly of bank modules into integer weights and scales, and the golden
 * model that runs that integer arithmetic on the host bit for bit as the
 * hardware engine will, the reference the device backends are checked
 * against. It may include model/, io/, data/, format/ and core/. No code yet. */
