// rhc elementwise kernel: store f32[1024, 16, 32]
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<f32>;
@group(0) @binding(2) var<storage, read_write> b1: array<f32>;

fn rh_sincos(x: f32) -> vec2<f32> {
  let j = round(x * 0.636619772367581343f);
  let r = ((x - j * 1.5703125f) - j * 4.837512969970703125e-4f) - j * 7.54978995489188216e-8f;
  let z = r * r;
  let s = r + r * z * ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f);
  let c = 1.0f - 0.5f * z + z * z * ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f);
  let q = i32(j) & 3i;
  if (q == 0i) { return vec2<f32>(s, c); }
  if (q == 1i) { return vec2<f32>(c, -s); }
  if (q == 2i) { return vec2<f32>(-s, -c); }
  return vec2<f32>(-c, s);
}

fn rh_cos(x: f32) -> f32 { return rh_sincos(x).y; }

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lix: u32) {
  _ = u.d0;
  _ = &b0;
  _ = &b1;
  let flat = (wid.y * nwg.x + wid.x) * 64u + lix;
  if (flat >= 524288u) { return; }
  let i_0 = flat % 32u;
  let i_1 = flat / 32u;
  let i_2 = i_1 % 16u;
  let i_3 = i_1 / 16u;
  let x_4 = b0[flat];
  let v_5 = rh_cos(x_4);
  b1[flat] = v_5;
}
