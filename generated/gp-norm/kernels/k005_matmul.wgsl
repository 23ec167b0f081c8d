// rhc matmul kernel: [d0, d1, 1024] @ [1024, 3072], vec4 blocks, region store
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32, nBase: u32, nEnd: u32, bRowBase: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b2: array<f32>;
@group(0) @binding(4) var<storage, read> b3: array<f32>;
@group(0) @binding(5) var<storage, read_write> b4: array<f32>;
@group(0) @binding(6) var<storage, read_write> b5: array<f32>;
@group(0) @binding(7) var<storage, read_write> b6: array<f32>;

fn epilogue(acc: f32, i0: u32, i1: u32, i2: u32, flat: u32) -> f32 {
  let x_4 = b2[i2];
  let v_5 = (acc + x_4);
  return v_5;
}

fn qkv_store(acc: f32, accp: f32, i0: u32, i1: u32, i2: u32, flat: u32) {
  let part = i2 / 1024u;
  let c = i2 % 1024u;
  let h = c / 64u;
  let d = c % 64u;
  let x_6 = b3[i1 * 1024u + h * 32u + (d >> 1u)];
  let c_7 = x_6;
  let x_8 = b3[512u + i1 * 1024u + h * 32u + (d >> 1u)];
  let s_9 = x_8;
  let x_10 = epilogue(acc, i0, i1, i2, flat);
  let xp_11 = epilogue(accp, i0, i1, (i2 ^ 1u), (flat ^ 1u));
  let r_12 = select(xp_11 * s_9 + x_10 * c_7, x_10 * c_7 - xp_11 * s_9, (d & 1u) == 0u);
  let plain = x_10;
  let at_13 = i0 * (1024u * u.d1) + h * (64u * u.d1) + i1 * 64u + d;
  let at_14 = (64u * u.d2) + i0 * 1048576u + h * 65536u + i1 * 64u + d;
  let at_15 = (64u * u.d2) + i0 * 1048576u + h * 65536u + i1 * 64u + d;
  if (part == 0u) { b4[at_13] = r_12; }
  else if (part == 1u) { b5[at_14] = r_12; }
  else if (part == 2u) { b6[at_15] = plain; }
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
  let col = u.nBase + gid.x * 4u;
  let row = gid.y * 4u;
  let nEnd = min(3072u, u.nEnd);
  let mEnd = (u.d0 * u.d1);
  if (col >= nEnd || row >= mEnd) { return; }
  let a0Row = (0u + min(row + 0u, mEnd - 1u) * 1024u) / 4u;
  let a1Row = (0u + min(row + 1u, mEnd - 1u) * 1024u) / 4u;
  let a2Row = (0u + min(row + 2u, mEnd - 1u) * 1024u) / 4u;
  let a3Row = (0u + min(row + 3u, mEnd - 1u) * 1024u) / 4u;
  let bCol = (0u + col) / 4u;
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  if (row + 3u < mEnd) {
    for (var kk = 0u; kk < 256u; kk++) {
      let a0 = b1[a0Row + kk];
      let a1 = b1[a1Row + kk];
      let a2 = b1[a2Row + kk];
      let a3 = b1[a3Row + kk];
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
        let a0 = b1[a0Row + kk];
        let w0 = b0[bCol + (kk * 4u + 0u) * 768u];
        let w1 = b0[bCol + (kk * 4u + 1u) * 768u];
        let w2 = b0[bCol + (kk * 4u + 2u) * 768u];
        let w3 = b0[bCol + (kk * 4u + 3u) * 768u];
        acc0 += a0.x * w0 + a0.y * w1 + a0.z * w2 + a0.w * w3;
      }
    }
    if (row + 1u < mEnd) {
      for (var kk = 0u; kk < 256u; kk++) {
        let a1 = b1[a1Row + kk];
        let w0 = b0[bCol + (kk * 4u + 0u) * 768u];
        let w1 = b0[bCol + (kk * 4u + 1u) * 768u];
        let w2 = b0[bCol + (kk * 4u + 2u) * 768u];
        let w3 = b0[bCol + (kk * 4u + 3u) * 768u];
        acc1 += a1.x * w0 + a1.y * w1 + a1.z * w2 + a1.w * w3;
      }
    }
    if (row + 2u < mEnd) {
      for (var kk = 0u; kk < 256u; kk++) {
        let a2 = b1[a2Row + kk];
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
  let n_16 = col + 1u;
  if (row + 0u < mEnd && col + 1u < nEnd) { qkv_store(acc0.y, acc0.x, i_3, i_2, n_16, 0u + m_0 * 3072u + n_16); }
  let n_17 = col + 2u;
  if (row + 0u < mEnd && col + 2u < nEnd) { qkv_store(acc0.z, acc0.w, i_3, i_2, n_17, 0u + m_0 * 3072u + n_17); }
  let n_18 = col + 3u;
  if (row + 0u < mEnd && col + 3u < nEnd) { qkv_store(acc0.w, acc0.z, i_3, i_2, n_18, 0u + m_0 * 3072u + n_18); }
  let m_19 = row + 1u;
  let i_20 = m_19 % (u.d1);
  let i_21 = m_19 / (u.d1);
  if (row + 1u < mEnd && col + 0u < nEnd) { qkv_store(acc1.x, acc1.y, i_21, i_20, n_1, 0u + m_19 * 3072u + n_1); }
  if (row + 1u < mEnd && col + 1u < nEnd) { qkv_store(acc1.y, acc1.x, i_21, i_20, n_16, 0u + m_19 * 3072u + n_16); }
  if (row + 1u < mEnd && col + 2u < nEnd) { qkv_store(acc1.z, acc1.w, i_21, i_20, n_17, 0u + m_19 * 3072u + n_17); }
  if (row + 1u < mEnd && col + 3u < nEnd) { qkv_store(acc1.w, acc1.z, i_21, i_20, n_18, 0u + m_19 * 3072u + n_18); }
  let m_22 = row + 2u;
  let i_23 = m_22 % (u.d1);
  let i_24 = m_22 / (u.d1);
  if (row + 2u < mEnd && col + 0u < nEnd) { qkv_store(acc2.x, acc2.y, i_24, i_23, n_1, 0u + m_22 * 3072u + n_1); }
  if (row + 2u < mEnd && col + 1u < nEnd) { qkv_store(acc2.y, acc2.x, i_24, i_23, n_16, 0u + m_22 * 3072u + n_16); }
  if (row + 2u < mEnd && col + 2u < nEnd) { qkv_store(acc2.z, acc2.w, i_24, i_23, n_17, 0u + m_22 * 3072u + n_17); }
  if (row + 2u < mEnd && col + 3u < nEnd) { qkv_store(acc2.w, acc2.z, i_24, i_23, n_18, 0u + m_22 * 3072u + n_18); }
  let m_25 = row + 3u;
  let i_26 = m_25 % (u.d1);
  let i_27 = m_25 / (u.d1);
  if (row + 3u < mEnd && col + 0u < nEnd) { qkv_store(acc3.x, acc3.y, i_27, i_26, n_1, 0u + m_25 * 3072u + n_1); }
  if (row + 3u < mEnd && col + 1u < nEnd) { qkv_store(acc3.y, acc3.x, i_27, i_26, n_16, 0u + m_25 * 3072u + n_16); }
  if (row + 3u < mEnd && col + 2u < nEnd) { qkv_store(acc3.z, acc3.w, i_27, i_26, n_17, 0u + m_25 * 3072u + n_17); }
  if (row + 3u < mEnd && col + 3u < nEnd) { qkv_store(acc3.w, acc3.z, i_27, i_26, n_18, 0u + m_25 * 3072u + n_18); }
}
