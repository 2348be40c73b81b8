// mtx_udiv - restoring divider, one quotient bit per cycle: floor(a / b) for
// unsigned a (NW bits) and b (DW bits). start_i loads the operands, done_o
// pulses NW cycles later with q_o valid (held until the next start). b = 0
// gives all ones (callers never divide by zero: docs/engine.md).
`default_nettype none

module mtx_udiv #(
  parameter int unsigned NW = 41,
  parameter int unsigned DW = 32
) (
  input  logic          clk_i,
  input  logic          rst_ni,
  input  logic          start_i,
  input  logic [NW-1:0] a_i,
  input  logic [DW-1:0] b_i,
  output logic          busy_o,
  output logic          done_o,
  output logic [NW-1:0] q_o
);

  localparam int unsigned CW = $clog2(NW + 1);

  logic          busy_q, busy_d;
  logic          done_q, done_d;
  logic [CW-1:0] cnt_q, cnt_d;
  logic [NW-1:0] q_q, q_d;     // dividend bits shift out as quotient bits shift in
  logic [DW:0]   rem_q, rem_d;
  logic [DW-1:0] b_q, b_d;
  logic [DW:0]   rem_sh;

  always_comb begin
    busy_d = busy_q;
    done_d = 1'b0;
    cnt_d  = cnt_q;
    q_d    = q_q;
    rem_d  = rem_q;
    b_d    = b_q;
    rem_sh = {rem_q[DW-1:0], q_q[NW-1]};
    if (busy_q) begin
      if (rem_sh >= {1'b0, b_q}) begin
        rem_d = rem_sh - {1'b0, b_q};
        q_d   = {q_q[NW-2:0], 1'b1};
      end else begin
        rem_d = rem_sh;
        q_d   = {q_q[NW-2:0], 1'b0};
      end
      cnt_d = cnt_q + CW'(1);
      if (cnt_q == CW'(NW - 1)) begin
        busy_d = 1'b0;
        done_d = 1'b1;
      end
    end else if (start_i) begin
      busy_d = 1'b1;
      cnt_d  = '0;
      q_d    = a_i;
      rem_d  = '0;
      b_d    = b_i;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q <= 1'b0;
      done_q <= 1'b0;
      cnt_q  <= '0;
      q_q    <= '0;
      rem_q  <= '0;
      b_q    <= '0;
    end else begin
      busy_q <= busy_d;
      done_q <= done_d;
      cnt_q  <= cnt_d;
      q_q    <= q_d;
      rem_q  <= rem_d;
      b_q    <= b_d;
    end
  end

  assign busy_o = busy_q;
  assign done_o = done_q;
  assign q_o    = q_q;

endmodule
