// rhc elementwise kernel: store f32[d1, 16, 32]
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<i32>;
@group(0) @binding(2) var<storage, read> b1: array<f32>;
@group(0) @binding(3) var<storage, read_write> b2: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lix: u32) {
  _ = u.d0;
  _ = &b0;
  _ = &b1;
  _ = &b2;
  let flat = (wid.y * nwg.x + wid.x) * 64u + lix;
  if (flat >= (512u * u.d1)) { return; }
  let i_0 = flat % 32u;
  let i_1 = flat / 32u;
  let i_2 = i_1 % 16u;
  let i_3 = i_1 / 16u;
  let i_4 = flat % 32u;
  let i_5 = flat / 32u;
  let i_6 = i_5 % 16u;
  let i_7 = i_5 / 16u;
  let x_8 = b0[i_7];
  let r_9 = min(u32(max(x_8, 0i)), 1023u);
  let x_10 = b1[r_9 * 1024u + (0u + 1u) * 512u + i_6 * 32u + i_4];
  b2[flat] = x_10;
}
