// rhc elementwise kernel: store f32[d1, 1, 1]
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<i32>;
@group(0) @binding(2) var<storage, read_write> b1: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lix: u32) {
  _ = u.d0;
  _ = &b0;
  _ = &b1;
  let flat = (wid.y * nwg.x + wid.x) * 64u + lix;
  if (flat >= (u.d1)) { return; }
  let x_0 = b0[flat];
  let v_1 = f32(x_0);
  b1[flat] = v_1;
}
