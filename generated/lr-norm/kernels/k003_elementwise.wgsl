// rhc elementwise kernel: store f32[d1, 2, 16, 32]
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<f32>;
@group(0) @binding(2) var<storage, read> b1: array<f32>;
@group(0) @binding(3) var<storage, read_write> b2: array<f32>;

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

fn rh_sin(x: f32) -> f32 { return rh_sincos(x).x; }

fn rh_cos(x: f32) -> f32 { return rh_sincos(x).y; }

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lix: u32) {
  _ = u.d0;
  _ = &b0;
  _ = &b1;
  _ = &b2;
  let flat = (wid.y * nwg.x + wid.x) * 64u + lix;
  if (flat >= (1024u * u.d1)) { return; }
  let i_0 = flat % 32u;
  let i_1 = flat / 32u;
  let i_2 = i_1 % 16u;
  let i_3 = i_1 / 16u;
  let i_4 = i_3 % 2u;
  let i_5 = i_3 / 2u;
  let i_6 = ((i_5) * 16u + i_2) * 32u + i_0;
  let i_7 = i_6 % 32u;
  let i_8 = i_6 / 32u;
  let i_9 = i_8 % 16u;
  let i_10 = i_8 / 16u;
  let x_11 = b0[i_10];
  let x_12 = b1[i_9 * 32u + i_7];
  let v_13 = (x_11 * x_12);
  let v_14 = rh_sin(v_13);
  let i_15 = ((i_5) * 16u + i_2) * 32u + i_0;
  let i_16 = i_15 % 32u;
  let i_17 = i_15 / 32u;
  let i_18 = i_17 % 16u;
  let i_19 = i_17 / 16u;
  let x_20 = b0[i_19];
  let x_21 = b1[i_18 * 32u + i_16];
  let v_22 = (x_20 * x_21);
  let v_23 = rh_cos(v_22);
  let v_24 = select(v_14, v_23, i_4 < 1u);
  b2[flat] = v_24;
}
