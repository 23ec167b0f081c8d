// rhc matmul kernel: [d0, d1, 1024] @ [1024, 3072], vec4 blocks, rows of A layer-normalised, region store
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32, nBase: u32, nEnd: u32, bRowBase: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b2: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> b3: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> b4: array<f32>;
@group(0) @binding(6) var<storage, read_write> b5: array<f32>;
@group(0) @binding(7) var<storage, read_write> b6: array<f32>;
@group(0) @binding(8) var<storage, read_write> b7: array<f32>;

fn epilogue(acc: f32, i0: u32, i1: u32, i2: u32, flat: u32) -> f32 {
  let x_4 = b4[i2];
  let v_5 = (acc + x_4);
  return v_5;
}

fn qkv_store(acc: f32, accp: f32, i0: u32, i1: u32, i2: u32, flat: u32) {
  let part = i2 / 1024u;
  let c = i2 % 1024u;
  let h = c / 64u;
  let d = c % 64u;
  let plain = epilogue(acc, i0, i1, i2, flat);
  let at_6 = i0 * (1024u * u.d1) + h * (64u * u.d1) + i1 * 64u + d;
  let at_7 = (64u * u.d2) + i0 * 1048576u + h * 65536u + i1 * 64u + d;
  let at_8 = (64u * u.d2) + i0 * 1048576u + h * 65536u + i1 * 64u + d;
  if (part == 0u) { b5[at_6] = plain; }
  else if (part == 1u) { b6[at_7] = plain; }
  else if (part == 2u) { b7[at_8] = plain; }
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
  _ = &b6;
  _ = &b7;
  let col = u.nBase + gid.x * 4u;
  let row = gid.y * 4u;
  let nEnd = min(3072u, u.nEnd);
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
      let w0 = b0[bCol + (kk * 4u + 0u) * 768u];
      let w1 = b0[bCol + (kk * 4u + 1u) * 768u];
      let w2 = b0[bCol + (kk * 4u + 2u) * 768u];
      let w3 = b0[bCol + (kk * 4u + 3u) * 768u];
      acc0 += a0.x * w0 + a0.y * w1 + a0.z * w2 + a0.w * w3;
      acc1 += a1.x * w0 + a1.y * w1 + a1.z * w2 + a1.w * w3;
      acc2 += a2.x * w0 + a2.y * w1 + a2.z * w2 + a2.w * w3;
      acc3 += a3.x * w0 + a3.y * w1 + a3.z * w2 + a3.w * w3;
    }
  } else {
    if (row + 0u < mEnd) {
      for (var kk = 0u; kk < 256u; kk++) {
        let a0 = (b1[a0Row + kk] - vec4<f32>(mean0)) * inv0 * b2[0u + kk] + b3[0u + kk];
        let w0 = b0[bCol + (kk * 4u + 0u) * 768u];
        let w1 = b0[bCol + (kk * 4u + 1u) * 768u];
        let w2 = b0[bCol + (kk * 4u + 2u) * 768u];
        let w3 = b0[bCol + (kk * 4u + 3u) * 768u];
        acc0 += a0.x * w0 + a0.y * w1 + a0.z * w2 + a0.w * w3;
      }
    }
    if (row + 1u < mEnd) {
      for (var kk = 0u; kk < 256u; kk++) {
        let a1 = (b1[a1Row + kk] - vec4<f32>(mean1)) * inv1 * b2[0u + kk] + b3[0u + kk];
        let w0 = b0[bCol + (kk * 4u + 0u) * 768u];
        let w1 = b0[bCol + (kk * 4u + 1u) * 768u];
        let w2 = b0[bCol + (kk * 4u + 2u) * 768u];
        let w3 = b0[bCol + (kk * 4u + 3u) * 768u];
        acc1 += a1.x * w0 + a1.y * w1 + a1.z * w2 + a1.w * w3;
      }
    }
    if (row + 2u < mEnd) {
      for (var kk = 0u; kk < 256u; kk++) {
        let a2 = (b1[a2Row + kk] - vec4<f32>(mean2)) * inv2 * b2[0u + kk] + b3[0u + kk];
        let w0 = b0[bCol + (kk * 4u + 0u) * 768u];
        let w1 = b0[bCol + (kk * 4u + 1u) * 768u];
        let w2 = b0[bCol + (kk * 4u + 2u) * 768u];
        let w3 = b0[bCol + (kk * 4u + 3u) * 768u];
        acc2 += a2.x * w0 + a2.y * w1 + a2.z * w2 + a2.w * w3;
      }
    }
  }
  let m_0 = row + 0u;
  let n_1 = col + 0u;
  let i_2 = m_0 % (u.d1);
  let i_3 = m_0 / (u.d1);
  if (row + 0u < mEnd && col + 0u < nEnd) { qkv_store(acc0.x, acc0.y, i_3, i_2, n_1, 0u + m_0 * 3072u + n_1); }
  let n_9 = col + 1u;
  if (row + 0u < mEnd && col + 1u < nEnd) { qkv_store(acc0.y, acc0.x, i_3, i_2, n_9, 0u + m_0 * 3072u + n_9); }
  let n_10 = col + 2u;
  if (row + 0u < mEnd && col + 2u < nEnd) { qkv_store(acc0.z, acc0.w, i_3, i_2, n_10, 0u + m_0 * 3072u + n_10); }
  let n_11 = col + 3u;
  if (row + 0u < mEnd && col + 3u < nEnd) { qkv_store(acc0.w, acc0.z, i_3, i_2, n_11, 0u + m_0 * 3072u + n_11); }
  let m_12 = row + 1u;
  let i_13 = m_12 % (u.d1);
  let i_14 = m_12 / (u.d1);
  if (row + 1u < mEnd && col + 0u < nEnd) { qkv_store(acc1.x, acc1.y, i_14, i_13, n_1, 0u + m_12 * 3072u + n_1); }
  if (row + 1u < mEnd && col + 1u < nEnd) { qkv_store(acc1.y, acc1.x, i_14, i_13, n_9, 0u + m_12 * 3072u + n_9); }
  if (row + 1u < mEnd && col + 2u < nEnd) { qkv_store(acc1.z, acc1.w, i_14, i_13, n_10, 0u + m_12 * 3072u + n_10); }
  if (row + 1u < mEnd && col + 3u < nEnd) { qkv_store(acc1.w, acc1.z, i_14, i_13, n_11, 0u + m_12 * 3072u + n_11); }
  let m_15 = row + 2u;
  let i_16 = m_15 % (u.d1);
  let i_17 = m_15 / (u.d1);
  if (row + 2u < mEnd && col + 0u < nEnd) { qkv_store(acc2.x, acc2.y, i_17, i_16, n_1, 0u + m_15 * 3072u + n_1); }
  if (row + 2u < mEnd && col + 1u < nEnd) { qkv_store(acc2.y, acc2.x, i_17, i_16, n_9, 0u + m_15 * 3072u + n_9); }
  if (row + 2u < mEnd && col + 2u < nEnd) { qkv_store(acc2.z, acc2.w, i_17, i_16, n_10, 0u + m_15 * 3072u + n_10); }
  if (row + 2u < mEnd && col + 3u < nEnd) { qkv_store(acc2.w, acc2.z, i_17, i_16, n_11, 0u + m_15 * 3072u + n_11); }
  let m_18 = row + 3u;
  let i_19 = m_18 % (u.d1);
  let i_20 = m_18 / (u.d1);
  if (row + 3u < mEnd && col + 0u < nEnd) { qkv_store(acc3.x, acc3.y, i_20, i_19, n_1, 0u + m_18 * 3072u + n_1); }
  if (row + 3u < mEnd && col + 1u < nEnd) { qkv_store(acc3.y, acc3.x, i_20, i_19, n_9, 0u + m_18 * 3072u + n_9); }
  if (row + 3u < mEnd && col + 2u < nEnd) { qkv_store(acc3.z, acc3.w, i_20, i_19, n_10, 0u + m_18 * 3072u + n_10); }
  if (row + 3u < mEnd && col + 3u < nEnd) { qkv_store(acc3.w, acc3.z, i_20, i_19, n_11, 0u + m_18 * 3072u + n_11); }
}
