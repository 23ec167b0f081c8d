// rhc layer_norm kernel: layer_norm over the last axis of [16, 32]
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<f32>;
@group(0) @binding(2) var<storage, read> b1: array<f32>;
@group(0) @binding(3) var<storage, read> b2: array<f32>;
@group(0) @binding(4) var<storage, read_write> b3: array<f32>;

fn ldx(i0: u32, i1: u32) -> f32 {
  let x_0 = b0[i0 * 32u + i1];
  return x_0;
}

fn ldw(i0: u32) -> f32 {
  let x_1 = b1[i0];
  return x_1;
}

fn ldb(i0: u32) -> f32 {
  let x_2 = b2[i0];
  return x_2;
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lix: u32) {
  _ = u.d0;
  _ = &b0;
  _ = &b1;
  _ = &b2;
  _ = &b3;
  let flat = (wid.y * nwg.x + wid.x) * 64u + lix;
  if (flat >= 16u) { return; }
  var sum = 0.0f;
  for (var c = 0u; c < 32u; c++) { sum += ldx(flat, c); }
  let mean = sum / f32(32u);
  var sq = 0.0f;
  for (var c = 0u; c < 32u; c++) { let d = ldx(flat, c) - mean; sq += d * d; }
  let inv = 1.0f / sqrt(sq / f32(32u) + 0.000009999999747378752f);
  for (var c = 0u; c < 32u; c++) {
    b3[flat * 32u + c] = (ldx(flat, c) - mean) * inv * ldw(c) + ldb(c);
  }
}
