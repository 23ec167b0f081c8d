// rhc attention kernel: softmax(q k^T * scale, causal) v for q [d0, 16, d1, 64], k [d0, 16, d1 + d2, 64]: a thread per query
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<f32>;
@group(0) @binding(2) var<storage, read> b1: array<f32>;
@group(0) @binding(3) var<storage, read> b2: array<f32>;
@group(0) @binding(4) var<storage, read_write> b3: array<f32>;

fn ldq(i0: u32, i1: u32, i2: u32, i3: u32) -> f32 {
  let x_2 = b0[i0 * (1024u * u.d1) + i1 * (64u * u.d1) + i2 * 64u + i3];
  return x_2;
}

fn ldk(i0: u32, i1: u32, i2: u32, i3: u32) -> f32 {
  let x_3 = b1[i0 * 1048576u + i1 * 65536u + i2 * 64u + i3];
  return x_3;
}

fn ldv(i0: u32, i1: u32, i2: u32, i3: u32) -> f32 {
  let x_4 = b2[i0 * 1048576u + i1 * 65536u + i2 * 64u + i3];
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
  let i = gid.x;
  if (i >= (u.d1)) { return; }
  let i_0 = wid.y % 16u;
  let i_1 = wid.y / 16u;
  let q0 = vec4<f32>(ldq(i_1, i_0, i, 0u), ldq(i_1, i_0, i, 1u), ldq(i_1, i_0, i, 2u), ldq(i_1, i_0, i, 3u));
  let q1 = vec4<f32>(ldq(i_1, i_0, i, 4u), ldq(i_1, i_0, i, 5u), ldq(i_1, i_0, i, 6u), ldq(i_1, i_0, i, 7u));
  let q2 = vec4<f32>(ldq(i_1, i_0, i, 8u), ldq(i_1, i_0, i, 9u), ldq(i_1, i_0, i, 10u), ldq(i_1, i_0, i, 11u));
  let q3 = vec4<f32>(ldq(i_1, i_0, i, 12u), ldq(i_1, i_0, i, 13u), ldq(i_1, i_0, i, 14u), ldq(i_1, i_0, i, 15u));
  let q4 = vec4<f32>(ldq(i_1, i_0, i, 16u), ldq(i_1, i_0, i, 17u), ldq(i_1, i_0, i, 18u), ldq(i_1, i_0, i, 19u));
  let q5 = vec4<f32>(ldq(i_1, i_0, i, 20u), ldq(i_1, i_0, i, 21u), ldq(i_1, i_0, i, 22u), ldq(i_1, i_0, i, 23u));
  let q6 = vec4<f32>(ldq(i_1, i_0, i, 24u), ldq(i_1, i_0, i, 25u), ldq(i_1, i_0, i, 26u), ldq(i_1, i_0, i, 27u));
  let q7 = vec4<f32>(ldq(i_1, i_0, i, 28u), ldq(i_1, i_0, i, 29u), ldq(i_1, i_0, i, 30u), ldq(i_1, i_0, i, 31u));
  let q8 = vec4<f32>(ldq(i_1, i_0, i, 32u), ldq(i_1, i_0, i, 33u), ldq(i_1, i_0, i, 34u), ldq(i_1, i_0, i, 35u));
  let q9 = vec4<f32>(ldq(i_1, i_0, i, 36u), ldq(i_1, i_0, i, 37u), ldq(i_1, i_0, i, 38u), ldq(i_1, i_0, i, 39u));
  let q10 = vec4<f32>(ldq(i_1, i_0, i, 40u), ldq(i_1, i_0, i, 41u), ldq(i_1, i_0, i, 42u), ldq(i_1, i_0, i, 43u));
  let q11 = vec4<f32>(ldq(i_1, i_0, i, 44u), ldq(i_1, i_0, i, 45u), ldq(i_1, i_0, i, 46u), ldq(i_1, i_0, i, 47u));
  let q12 = vec4<f32>(ldq(i_1, i_0, i, 48u), ldq(i_1, i_0, i, 49u), ldq(i_1, i_0, i, 50u), ldq(i_1, i_0, i, 51u));
  let q13 = vec4<f32>(ldq(i_1, i_0, i, 52u), ldq(i_1, i_0, i, 53u), ldq(i_1, i_0, i, 54u), ldq(i_1, i_0, i, 55u));
  let q14 = vec4<f32>(ldq(i_1, i_0, i, 56u), ldq(i_1, i_0, i, 57u), ldq(i_1, i_0, i, 58u), ldq(i_1, i_0, i, 59u));
  let q15 = vec4<f32>(ldq(i_1, i_0, i, 60u), ldq(i_1, i_0, i, 61u), ldq(i_1, i_0, i, 62u), ldq(i_1, i_0, i, 63u));
  var o0 = vec4<f32>();
  var o1 = vec4<f32>();
  var o2 = vec4<f32>();
  var o3 = vec4<f32>();
  var o4 = vec4<f32>();
  var o5 = vec4<f32>();
  var o6 = vec4<f32>();
  var o7 = vec4<f32>();
  var o8 = vec4<f32>();
  var o9 = vec4<f32>();
  var o10 = vec4<f32>();
  var o11 = vec4<f32>();
  var o12 = vec4<f32>();
  var o13 = vec4<f32>();
  var o14 = vec4<f32>();
  var o15 = vec4<f32>();
  var m = -3.0e38f;
  var total = 0.0f;
  for (var j = 0u; j < min(i + (u.d2) + 1u, (u.d2 + u.d1)); j++) {
    let s = (dot(q0, vec4<f32>(ldk(i_1, i_0, j, 0u), ldk(i_1, i_0, j, 1u), ldk(i_1, i_0, j, 2u), ldk(i_1, i_0, j, 3u))) + dot(q1, vec4<f32>(ldk(i_1, i_0, j, 4u), ldk(i_1, i_0, j, 5u), ldk(i_1, i_0, j, 6u), ldk(i_1, i_0, j, 7u))) + dot(q2, vec4<f32>(ldk(i_1, i_0, j, 8u), ldk(i_1, i_0, j, 9u), ldk(i_1, i_0, j, 10u), ldk(i_1, i_0, j, 11u))) + dot(q3, vec4<f32>(ldk(i_1, i_0, j, 12u), ldk(i_1, i_0, j, 13u), ldk(i_1, i_0, j, 14u), ldk(i_1, i_0, j, 15u))) + dot(q4, vec4<f32>(ldk(i_1, i_0, j, 16u), ldk(i_1, i_0, j, 17u), ldk(i_1, i_0, j, 18u), ldk(i_1, i_0, j, 19u))) + dot(q5, vec4<f32>(ldk(i_1, i_0, j, 20u), ldk(i_1, i_0, j, 21u), ldk(i_1, i_0, j, 22u), ldk(i_1, i_0, j, 23u))) + dot(q6, vec4<f32>(ldk(i_1, i_0, j, 24u), ldk(i_1, i_0, j, 25u), ldk(i_1, i_0, j, 26u), ldk(i_1, i_0, j, 27u))) + dot(q7, vec4<f32>(ldk(i_1, i_0, j, 28u), ldk(i_1, i_0, j, 29u), ldk(i_1, i_0, j, 30u), ldk(i_1, i_0, j, 31u))) + dot(q8, vec4<f32>(ldk(i_1, i_0, j, 32u), ldk(i_1, i_0, j, 33u), ldk(i_1, i_0, j, 34u), ldk(i_1, i_0, j, 35u))) + dot(q9, vec4<f32>(ldk(i_1, i_0, j, 36u), ldk(i_1, i_0, j, 37u), ldk(i_1, i_0, j, 38u), ldk(i_1, i_0, j, 39u))) + dot(q10, vec4<f32>(ldk(i_1, i_0, j, 40u), ldk(i_1, i_0, j, 41u), ldk(i_1, i_0, j, 42u), ldk(i_1, i_0, j, 43u))) + dot(q11, vec4<f32>(ldk(i_1, i_0, j, 44u), ldk(i_1, i_0, j, 45u), ldk(i_1, i_0, j, 46u), ldk(i_1, i_0, j, 47u))) + dot(q12, vec4<f32>(ldk(i_1, i_0, j, 48u), ldk(i_1, i_0, j, 49u), ldk(i_1, i_0, j, 50u), ldk(i_1, i_0, j, 51u))) + dot(q13, vec4<f32>(ldk(i_1, i_0, j, 52u), ldk(i_1, i_0, j, 53u), ldk(i_1, i_0, j, 54u), ldk(i_1, i_0, j, 55u))) + dot(q14, vec4<f32>(ldk(i_1, i_0, j, 56u), ldk(i_1, i_0, j, 57u), ldk(i_1, i_0, j, 58u), ldk(i_1, i_0, j, 59u))) + dot(q15, vec4<f32>(ldk(i_1, i_0, j, 60u), ldk(i_1, i_0, j, 61u), ldk(i_1, i_0, j, 62u), ldk(i_1, i_0, j, 63u)))) * 0.125f;
    let mNew = max(m, s);
    let corr = exp(m - mNew);
    let p = exp(s - mNew);
    total = total * corr + p;
    o0 = o0 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 0u), ldv(i_1, i_0, j, 1u), ldv(i_1, i_0, j, 2u), ldv(i_1, i_0, j, 3u));
    o1 = o1 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 4u), ldv(i_1, i_0, j, 5u), ldv(i_1, i_0, j, 6u), ldv(i_1, i_0, j, 7u));
    o2 = o2 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 8u), ldv(i_1, i_0, j, 9u), ldv(i_1, i_0, j, 10u), ldv(i_1, i_0, j, 11u));
    o3 = o3 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 12u), ldv(i_1, i_0, j, 13u), ldv(i_1, i_0, j, 14u), ldv(i_1, i_0, j, 15u));
    o4 = o4 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 16u), ldv(i_1, i_0, j, 17u), ldv(i_1, i_0, j, 18u), ldv(i_1, i_0, j, 19u));
    o5 = o5 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 20u), ldv(i_1, i_0, j, 21u), ldv(i_1, i_0, j, 22u), ldv(i_1, i_0, j, 23u));
    o6 = o6 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 24u), ldv(i_1, i_0, j, 25u), ldv(i_1, i_0, j, 26u), ldv(i_1, i_0, j, 27u));
    o7 = o7 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 28u), ldv(i_1, i_0, j, 29u), ldv(i_1, i_0, j, 30u), ldv(i_1, i_0, j, 31u));
    o8 = o8 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 32u), ldv(i_1, i_0, j, 33u), ldv(i_1, i_0, j, 34u), ldv(i_1, i_0, j, 35u));
    o9 = o9 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 36u), ldv(i_1, i_0, j, 37u), ldv(i_1, i_0, j, 38u), ldv(i_1, i_0, j, 39u));
    o10 = o10 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 40u), ldv(i_1, i_0, j, 41u), ldv(i_1, i_0, j, 42u), ldv(i_1, i_0, j, 43u));
    o11 = o11 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 44u), ldv(i_1, i_0, j, 45u), ldv(i_1, i_0, j, 46u), ldv(i_1, i_0, j, 47u));
    o12 = o12 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 48u), ldv(i_1, i_0, j, 49u), ldv(i_1, i_0, j, 50u), ldv(i_1, i_0, j, 51u));
    o13 = o13 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 52u), ldv(i_1, i_0, j, 53u), ldv(i_1, i_0, j, 54u), ldv(i_1, i_0, j, 55u));
    o14 = o14 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 56u), ldv(i_1, i_0, j, 57u), ldv(i_1, i_0, j, 58u), ldv(i_1, i_0, j, 59u));
    o15 = o15 * corr + p * vec4<f32>(ldv(i_1, i_0, j, 60u), ldv(i_1, i_0, j, 61u), ldv(i_1, i_0, j, 62u), ldv(i_1, i_0, j, 63u));
    m = mNew;
  }
  let inv = 1.0f / total;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 0u] = o0.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 1u] = o0.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 2u] = o0.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 3u] = o0.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 4u] = o1.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 5u] = o1.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 6u] = o1.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 7u] = o1.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 8u] = o2.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 9u] = o2.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 10u] = o2.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 11u] = o2.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 12u] = o3.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 13u] = o3.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 14u] = o3.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 15u] = o3.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 16u] = o4.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 17u] = o4.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 18u] = o4.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 19u] = o4.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 20u] = o5.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 21u] = o5.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 22u] = o5.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 23u] = o5.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 24u] = o6.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 25u] = o6.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 26u] = o6.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 27u] = o6.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 28u] = o7.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 29u] = o7.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 30u] = o7.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 31u] = o7.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 32u] = o8.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 33u] = o8.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 34u] = o8.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 35u] = o8.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 36u] = o9.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 37u] = o9.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 38u] = o9.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 39u] = o9.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 40u] = o10.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 41u] = o10.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 42u] = o10.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 43u] = o10.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 44u] = o11.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 45u] = o11.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 46u] = o11.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 47u] = o11.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 48u] = o12.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 49u] = o12.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 50u] = o12.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 51u] = o12.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 52u] = o13.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 53u] = o13.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 54u] = o13.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 55u] = o13.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 56u] = o14.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 57u] = o14.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 58u] = o14.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 59u] = o14.w * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 60u] = o15.x * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 61u] = o15.y * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 62u] = o15.z * inv;
  b3[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + 63u] = o15.w * inv;
}
