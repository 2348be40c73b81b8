/* device/ - reserved (layer 2): the device interface and its backends. This
 * folder will hold one interface for loading an image and running a plan,
 * with the backends ref (the golden model on the host), csim (HLS C
 * simulation), rtl (RTL simulation) and xrt (the FPGA through XRT). It may
 * include model/, io/, data/, format/ and core/. No code yet. */
