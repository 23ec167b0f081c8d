// rhc matmul kernel: [d0, d1, 1024] @ [1024, 4096], vec4 blocks, rows of A layer-normalised, fused epilogue
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32, nBase: u32, nEnd: u32, bRowBase: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b2: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> b3: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> b4: array<f32>;
@group(0) @binding(6) var<storage, read_write> b5: array<f32>;

fn rh_tanh(x0: f32) -> f32 {
  let x = clamp(x0, -10.0f, 10.0f);
  let a = abs(x);
  if (a < 0.125f) {
    let z = x * x;
    return x * (1.0f + z * (-0.333333333f + z * (0.133333333f + z * (-0.0539682540f + z * 0.0218694885f))));
  }
  let e = exp(-2.0f * a);
  return sign(x) * (1.0f - e) / (1.0f + e);
}

fn epilogue(acc: f32, i0: u32, i1: u32, i2: u32, flat: u32) -> f32 {
  let x_4 = b4[i2];
  let v_5 = (acc + x_4);
  let v_6 = (0.5f * v_5);
  let v_7 = (0.044714998453855515f * v_5);
  let v_8 = (v_7 * v_5);
  let v_9 = (v_8 * v_5);
  let v_10 = (v_5 + v_9);
  let v_11 = (0.7978845834732056f * v_10);
  let v_12 = rh_tanh(v_11);
  let v_13 = (1.0f + v_12);
  let v_14 = (v_6 * v_13);
  return v_14;
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
  let col = u.nBase + gid.x * 4u;
  let row = gid.y * 4u;
  let nEnd = min(4096u, u.nEnd);
  let mEnd = (u.d0 * u.d1);
  if (col >= nEnd || row >= mEnd) { return; }
  let a0Row = (0u + min(row + 0u, mEnd - 1u) * 1024u) / 4u;
  let a1Row = (0u + min(row + 1u, mEnd - 1u) * 1024u) / 4u;
  let a2Row = (0u + min(row + 2u, mEnd - 1u) * 1024u) / 4u;
  let a3Row = (0u + min(row + 3u, mEnd - 1u) * 1024u) / 4u;
  var sum0 = 0.0f;
  for (var kk = 0u; kk < 256u; kk++) { sum0 += dot(b1[a0Row + kk], vec4<f32>(1.0f)); }
  let mean0 = sum0 / f32(1024u);
  var sq0 = 0.0f;
  for (var kk = 0u; kk < 256u; kk++) { let d = b1[a0Row + kk] - vec4<f32>(mean0); sq0 += dot(d, d); }
  let inv0 = 1.0f / sqrt(sq0 / f32(1024u) + 0.000009999999747378752f);
  var sum1 = 0.0f;
  for (var kk = 0u; kk < 256u; kk++) { sum1 += dot(b1[a1Row + kk], vec4<f32>(1.0f)); }
  let mean1 = sum1 / f32(1024u);
  var sq1 = 0.0f;
  for (var kk = 0u; kk < 256u; kk++) { let d = b1[a1Row + kk] - vec4<f32>(mean1); sq1 += dot(d, d); }
  let inv1 = 1.0f / sqrt(sq1 / f32(1024u) + 0.000009999999747378752f);
  var sum2 = 0.0f;
  for (var kk = 0u; kk < 256u; kk++) { sum2 += dot(b1[a2Row + kk], vec4<f32>(1.0f)); }
  let mean2 = sum2 / f32(1024u);
  var sq2 = 0.0f;
  for (var kk = 0u; kk < 256u; kk++) { let d = b1[a2Row + kk] - vec4<f32>(mean2); sq2 += dot(d, d); }
  let inv2 = 1.0f / sqrt(sq2 / f32(1024u) + 0.000009999999747378752f);
  var sum3 = 0.0f;
  for (var kk = 0u; kk < 256u; kk++) { sum3 += dot(b1[a3Row + kk], vec4<f32>(1.0f)); }
  let mean3 = sum3 / f32(1024u);
  var sq3 = 0.0f;
  for (var kk = 0u; kk < 256u; kk++) { let d = b1[a3Row + kk] - vec4<f32>(mean3); sq3 += dot(d, d); }
  let inv3 = 1.0f / sqrt(sq3 / f32(1024u) + 0.000009999999747378752f);
  let bCol = (0u + col) / 4u;
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  if (row + 3u < mEnd) {
    for (var kk = 0u; kk < 256u; kk++) {
      let a0 = (b1[a0Row + kk] - vec4<f32>(mean0)) * inv0 * b2[0u + kk] + b3[0u + kk];
      let a1 = (b1[a1Row + kk] - vec4<f32>(mean1)) * inv1 * b2[0u + kk] + b3[0u + kk];
      let a2 = (b1[a2Row + kk] - vec4<f32>(mean2)) * inv2 * b2[0u + kk] + b3[0u + kk];
      let a3 = (b1[a3Row + kk] - vec4<f32>(mean3)) * inv3 * b2[0u + kk] + b3[0u + kk];
      let w0 = b0[bCol + (kk * 4u + 0u) * 1024u];
      let w1 = b0[bCol + (kk * 4u + 1u) * 1024u];
      let w2 = b0[bCol + (kk * 4u + 2u) * 1024u];
      let w3 = b0[bCol + (kk * 4u + 3u) * 1024u];
      acc0 += a0.x * w0 + a0.y * w1 + a0.z * w2 + a0.w * w3;
      acc1 += a1.x * w0 + a1.y * w1 + a1.z * w2 + a1.w * w3;
      acc2 += a2.x * w0 + a2.y * w1 + a2.z * w2 + a2.w * w3;
      acc3 += a3.x * w0 + a3.y * w1 + a3.z * w2 + a3.w * w3;
    }
  } else {
    if (row + 0u < mEnd) {
      for (var kk = 0u; kk < 256u; kk++) {
        let a0 = (b1[a0Row + kk] - vec4<f32>(mean0)) * inv0 * b2[0u + kk] + b3[0u + kk];
        let w0 = b0[bCol + (kk * 4u + 0u) * 1024u];
        let w1 = b0[bCol + (kk * 4u + 1u) * 1024u];
        let w2 = b0[bCol + (kk * 4u + 2u) * 1024u];
        let w3 = b0[bCol + (kk * 4u + 3u) * 1024u];
        acc0 += a0.x * w0 + a0.y * w1 + a0.z * w2 + a0.w * w3;
      }
    }
    if (row + 1u < mEnd) {
      for (var kk = 0u; kk < 256u; kk++) {
        let a1 = (b1[a1Row + kk] - vec4<f32>(mean1)) * inv1 * b2[0u + kk] + b3[0u + kk];
        let w0 = b0[bCol + (kk * 4u + 0u) * 1024u];
        let w1 = b0[bCol + (kk * 4u + 1u) * 1024u];
        let w2 = b0[bCol + (kk * 4u + 2u) * 1024u];
        let w3 = b0[bCol + (kk * 4u + 3u) * 1024u];
        acc1 += a1.x * w0 + a1.y * w1 + a1.z * w2 + a1.w * w3;
      }
    }
    if (row + 2u < mEnd) {
      for (var kk = 0u; kk < 256u; kk++) {
        let a2 = (b1[a2Row + kk] - vec4<f32>(mean2)) * inv2 * b2[0u + kk] + b3[0u + kk];
        let w0 = b0[bCol + (kk * 4u + 0u) * 1024u];
        let w1 = b0[bCol + (kk * 4u + 1u) * 1024u];
        let w2 = b0[bCol + (kk * 4u + 2u) * 1024u];
        let w3 = b0[bCol + (kk * 4u + 3u) * 1024u];
        acc2 += a2.x * w0 + a2.y * w1 + a2.z * w2 + a2.w * w3;
      }
    }
  }
  let m_0 = row + 0u;
  let n_1 = col + 0u;
  let i_2 = m_0 % (u.d1);
  let i_3 = m_0 / (u.d1);
  if (row + 0u < mEnd && col + 0u < nEnd) { b5[0u + m_0 * 4096u + n_1] = epilogue(acc0.x, i_3, i_2, n_1, 0u + m_0 * 4096u + n_1); }
  let n_15 = col + 1u;
  if (row + 0u < mEnd && col + 1u < nEnd) { b5[0u + m_0 * 4096u + n_15] = epilogue(acc0.y, i_3, i_2, n_15, 0u + m_0 * 4096u + n_15); }
  let n_16 = col + 2u;
  if (row + 0u < mEnd && col + 2u < nEnd) { b5[0u + m_0 * 4096u + n_16] = epilogue(acc0.z, i_3, i_2, n_16, 0u + m_0 * 4096u + n_16); }
  let n_17 = col + 3u;
  if (row + 0u < mEnd && col + 3u < nEnd) { b5[0u + m_0 * 4096u + n_17] = epilogue(acc0.w, i_3, i_2, n_17, 0u + m_0 * 4096u + n_17); }
  let m_18 = row + 1u;
  let i_19 = m_18 % (u.d1);
  let i_20 = m_18 / (u.d1);
  if (row + 1u < mEnd && col + 0u < nEnd) { b5[0u + m_18 * 4096u + n_1] = epilogue(acc1.x, i_20, i_19, n_1, 0u + m_18 * 4096u + n_1); }
  if (row + 1u < mEnd && col + 1u < nEnd) { b5[0u + m_18 * 4096u + n_15] = epilogue(acc1.y, i_20, i_19, n_15, 0u + m_18 * 4096u + n_15); }
  if (row + 1u < mEnd && col + 2u < nEnd) { b5[0u + m_18 * 4096u + n_16] = epilogue(acc1.z, i_20, i_19, n_16, 0u + m_18 * 4096u + n_16); }
  if (row + 1u < mEnd && col + 3u < nEnd) { b5[0u + m_18 * 4096u + n_17] = epilogue(acc1.w, i_20, i_19, n_17, 0u + m_18 * 4096u + n_17); }
  let m_21 = row + 2u;
  let i_22 = m_21 % (u.d1);
  let i_23 = m_21 / (u.d1);
  if (row + 2u < mEnd && col + 0u < nEnd) { b5[0u + m_21 * 4096u + n_1] = epilogue(acc2.x, i_23, i_22, n_1, 0u + m_21 * 4096u + n_1); }
  if (row + 2u < mEnd && col + 1u < nEnd) { b5[0u + m_21 * 4096u + n_15] = epilogue(acc2.y, i_23, i_22, n_15, 0u + m_21 * 4096u + n_15); }
  if (row + 2u < mEnd && col + 2u < nEnd) { b5[0u + m_21 * 4096u + n_16] = epilogue(acc2.z, i_23, i_22, n_16, 0u + m_21 * 4096u + n_16); }
  if (row + 2u < mEnd && col + 3u < nEnd) { b5[0u + m_21 * 4096u + n_17] = epilogue(acc2.w, i_23, i_22, n_17, 0u + m_21 * 4096u + n_17); }
  let m_24 = row + 3u;
  let i_25 = m_24 % (u.d1);
  let i_26 = m_24 / (u.d1);
  if (row + 3u < mEnd && col + 0u < nEnd) { b5[0u + m_24 * 4096u + n_1] = epilogue(acc3.x, i_26, i_25, n_1, 0u + m_24 * 4096u + n_1); }
  if (row + 3u < mEnd && col + 1u < nEnd) { b5[0u + m_24 * 4096u + n_15] = epilogue(acc3.y, i_26, i_25, n_15, 0u + m_24 * 4096u + n_15); }
  if (row + 3u < mEnd && col + 2u < nEnd) { b5[0u + m_24 * 4096u + n_16] = epilogue(acc3.z, i_26, i_25, n_16, 0u + m_24 * 4096u + n_16); }
  if (row + 3u < mEnd && col + 3u < nEnd) { b5[0u + m_24 * 4096u + n_17] = epilogue(acc3.w, i_26, i_25, n_17, 0u + m_24 * 4096u + n_17); }
}
