// rhc elementwise kernel: append to a KV cache [d0, 16, d1, 64]
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<f32>;
@group(0) @binding(2) var<storage, read> b1: array<f32>;
@group(0) @binding(3) var<storage, read> b2: array<f32>;
@group(0) @binding(4) var<storage, read_write> b3: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lix: u32) {
  _ = u.d0;
  _ = &b0;
  _ = &b1;
  _ = &b2;
  _ = &b3;
  let flat = (wid.y * nwg.x + wid.x) * 64u + lix;
  if (flat >= (1024u * u.d0 * u.d1)) { return; }
  let i_0 = flat % 64u;
  let i_1 = flat / 64u;
  let i_2 = i_1 % (u.d1);
  let i_3 = i_1 / (u.d1);
  let i_4 = i_3 % 16u;
  let i_5 = i_3 / 16u;
  let i_6 = i_0 & ~1u;
  let x_7 = b0[1024u + i_5 * (3072u * u.d1) + i_2 * 3072u + i_4 * 64u + i_6];
  let x_8 = b0[1024u + i_5 * (3072u * u.d1) + i_2 * 3072u + i_4 * 64u + (i_6 + 1u)];
  let i_9 = i_0 >> 1u;
  let x_10 = b1[i_2 * 512u + i_4 * 32u + i_9];
  let x_11 = b2[i_2 * 512u + i_4 * 32u + i_9];
  let v_12 = select(x_7 * x_11 + x_8 * x_10, x_7 * x_10 - x_8 * x_11, (i_0 & 1u) == 0u);
  b3[(64u * u.d2) + i_5 * 1048576u + i_4 * 65536u + i_2 * 64u + i_0] = v_12;
}
