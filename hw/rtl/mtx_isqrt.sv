// mtx_isqrt - floor(sqrt(n)) for uint64 n, bit-serial (restoring, one root
// bit per cycle): start_i loads n, done_o pulses 32 cycles later with root_o
// valid (held until the next start). start_i while busy is ignored.
`default_nettype none

module mtx_isqrt (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        start_i,
  input  logic [63:0] n_i,
  output logic        busy_o,
  output logic        done_o,
  output logic [31:0] root_o
);

  logic        busy_q, busy_d;
  logic        done_q, done_d;
  logic [4:0]  cnt_q, cnt_d;
  logic [63:0] n_q, n_d;
  logic [34:0] rem_q, rem_d;
  logic [31:0] root_q, root_d;
  logic [34:0] rem_sh;
  logic [34:0] trial;

  always_comb begin
    busy_d = busy_q;
    done_d = 1'b0;
    cnt_d  = cnt_q;
    n_d    = n_q;
    rem_d  = rem_q;
    root_d = root_q;
    rem_sh = {rem_q[32:0], n_q[63:62]};
    trial  = {1'b0, root_q, 2'b01};
    if (busy_q) begin
      n_d = {n_q[61:0], 2'b00};
      if (rem_sh >= trial) begin
        rem_d  = rem_sh - trial;
        root_d = {root_q[30:0], 1'b1};
      end else begin
        rem_d  = rem_sh;
        root_d = {root_q[30:0], 1'b0};
      end
      cnt_d = cnt_q + 5'd1;
      if (cnt_q == 5'd31) begin
        busy_d = 1'b0;
        done_d = 1'b1;
      end
    end else if (start_i) begin
      busy_d = 1'b1;
      cnt_d  = 5'd0;
      n_d    = n_i;
      rem_d  = '0;
      root_d = '0;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q <= 1'b0;
      done_q <= 1'b0;
      cnt_q  <= '0;
      n_q    <= '0;
      rem_q  <= '0;
      root_q <= '0;
    end else begin
      busy_q <= busy_d;
      done_q <= done_d;
      cnt_q  <= cnt_d;
      n_q    <= n_d;
      rem_q  <= rem_d;
      root_q <= root_d;
    end
  end

  assign busy_o = busy_q;
  assign done_o = done_q;
  assign root_o = root_q;

endmodule
