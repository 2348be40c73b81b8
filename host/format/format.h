/* format/ - reserved (layer 1): image and plan formats. This folder will
 * hold the layouts of the weight image and the layer-by-layer execution plan
 * the engine runs, written as plain fixed-width C (stdint types, no library
 * dependencies) so that hls/ and sim/ can include the same headers as the
 * host. It may include core/ only. No code yet. */
