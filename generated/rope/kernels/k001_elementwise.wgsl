// rhc elementwise kernel: store f32[d0, d1, 1024]
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<i32>;
@group(0) @binding(2) var<storage, read> b1: array<f32>;
@group(0) @binding(3) var<storage, read> b2: array<f32>;
@group(0) @binding(4) var<storage, read> b3: array<i32>;
@group(0) @binding(5) var<storage, read> b4: array<f32>;
@group(0) @binding(6) var<storage, read_write> b5: array<f32>;

fn ld_b1(i: u32) -> f32 {
  if (i < 33554432u) { return b1[i]; }
  return b2[i - 33554432u];
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lix: u32) {
  _ = u.d0;
  _ = &b0;
  _ = &b1;
  _ = &b2;
  _ = &b3;
  _ = &b4;
  _ = &b5;
  let flat = (wid.y * nwg.x + wid.x) * 64u + lix;
  if (flat >= (1024u * u.d0 * u.d1)) { return; }
  let i_0 = flat % 1024u;
  let i_1 = flat / 1024u;
  let i_2 = i_1 % (u.d1);
  let i_3 = i_1 / (u.d1);
  let x_4 = b0[i_3 * (u.d1) + i_2];
  let r_5 = min(u32(max(x_4, 0i)), 50256u);
  let x_6 = ld_b1(r_5 * 1024u + i_0);
  let x_7 = b3[i_2];
  let r_8 = min(u32(max(x_7, 0i)), 1023u);
  let x_9 = b4[r_8 * 1024u + i_0];
  let v_10 = (x_6 + x_9);
  b5[flat] = v_10;
}
