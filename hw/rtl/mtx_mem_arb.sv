// mtx_mem_arb - joins two read masters onto one read port (16-byte beats,
// responses in request order). Requests are granted round-robin when both
// masters ask in the same cycle; each granted request pushes its master's
// number into a Depth-entry queue, and each response goes to the master at
// the queue's head, so both masters see their own responses in order. At
// most Depth requests are outstanding: with the queue full no request is
// granted until a response has come back (a memory of latency L and no
// stalls needs Depth >= L + 1 for one beat a cycle).
`default_nettype none

module mtx_mem_arb #(
  parameter int unsigned Depth = 8
) (
  input  logic         clk_i,
  input  logic         rst_ni,
  // master 0
  input  logic         m0_req_valid_i,
  output logic         m0_req_ready_o,
  input  logic [63:0]  m0_req_addr_i,
  output logic         m0_rsp_valid_o,
  output logic [127:0] m0_rsp_data_o,
  // master 1
  input  logic         m1_req_valid_i,
  output logic         m1_req_ready_o,
  input  logic [63:0]  m1_req_addr_i,
  output logic         m1_rsp_valid_o,
  output logic [127:0] m1_rsp_data_o,
  // memory
  output logic         mem_req_valid_o,
  input  logic         mem_req_ready_i,
  output logic [63:0]  mem_req_addr_o,
  input  logic         mem_rsp_valid_i,
  input  logic [127:0] mem_rsp_data_i
);

  localparam int unsigned PW = $clog2(Depth);

  logic [Depth-1:0] who_q;          // master of each outstanding request
  logic [PW-1:0]    wp_q, rp_q;
  logic [PW:0]      count_q;
  logic             last_q;         // master granted last
  logic             full, gnt, fire, head;

  assign full = (count_q == (PW+1)'(Depth));
  // master 1 when it alone asks, or both ask and master 0 went last
  assign gnt  = m1_req_valid_i && (!m0_req_valid_i || !last_q);
  assign fire = mem_req_valid_o && mem_req_ready_i;
  assign head = who_q[rp_q];

  assign mem_req_valid_o = (m0_req_valid_i || m1_req_valid_i) && !full;
  assign mem_req_addr_o  = gnt ? m1_req_addr_i : m0_req_addr_i;
  assign m0_req_ready_o  = fire && !gnt;
  assign m1_req_ready_o  = fire && gnt;
  assign m0_rsp_valid_o  = mem_rsp_valid_i && !head;
  assign m1_rsp_valid_o  = mem_rsp_valid_i && head;
  assign m0_rsp_data_o   = mem_rsp_data_i;
  assign m1_rsp_data_o   = mem_rsp_data_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      who_q   <= '0;
      wp_q    <= '0;
      rp_q    <= '0;
      count_q <= '0;
      last_q  <= 1'b0;
    end else begin
      if (fire) begin
        who_q[wp_q] <= gnt;
        wp_q        <= wp_q + 1'b1;
        last_q      <= gnt;
      end
      if (mem_rsp_valid_i) rp_q <= rp_q + 1'b1;
      count_q <= count_q + (fire ? 1 : 0) - (mem_rsp_valid_i ? 1 : 0);
    end
  end

`ifndef SYNTHESIS
  always_ff @(posedge clk_i) begin
    if (rst_ni && mem_rsp_valid_i && count_q == '0) $error("mtx_mem_arb: response with none outstanding");
  end
`endif

endmodule
