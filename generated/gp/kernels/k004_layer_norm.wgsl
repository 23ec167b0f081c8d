// rhc layer_norm kernel: layer_norm over the last axis of [d0, d1, 1024]
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<f32>;
@group(0) @binding(2) var<storage, read> b1: array<f32>;
@group(0) @binding(3) var<storage, read> b2: array<f32>;
@group(0) @binding(4) var<storage, read_write> b3: array<f32>;

fn ldx(i0: u32, i1: u32, i2: u32) -> f32 {
  let x_2 = b0[i0 * (1024u * u.d1) + i1 * 1024u + i2];
  return x_2;
}

fn ldw(i0: u32) -> f32 {
  let x_3 = b1[i0];
  return x_3;
}

fn ldb(i0: u32) -> f32 {
  let x_4 = b2[i0];
  return x_4;
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
  if (flat >= (u.d0 * u.d1)) { return; }
  let i_0 = flat % (u.d1);
  let i_1 = flat / (u.d1);
  var sum = 0.0f;
  for (var c = 0u; c < 1024u; c++) { sum += ldx(i_1, i_0, c); }
  let mean = sum / f32(1024u);
  var sq = 0.0f;
  for (var c = 0u; c < 1024u; c++) { let d = ldx(i_1, i_0, c) - mean; sq += d * d; }
  let inv = 1.0f / sqrt(sq / f32(1024u) + 0.000009999999747378752f);
  for (var c = 0u; c < 1024u; c++) {
    b3[flat * 1024u + c] = (ldx(i_1, i_0, c) - mean) * inv * ldw(c) + ldb(c);
  }
}
