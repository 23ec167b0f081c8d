// rhc matmul kernel: [d0, d1, 4096] @ [4096, 1024], vec4 blocks, fused epilogue
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32, nBase: u32, nEnd: u32, bRowBase: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b2: array<f32>;
@group(0) @binding(4) var<storage, read> b3: array<f32>;
@group(0) @binding(5) var<storage, read_write> b4: array<f32>;

fn epilogue(acc: f32, i0: u32, i1: u32, i2: u32, flat: u32) -> f32 {
  let x_4 = b2[flat];
  let x_5 = b3[i2];
  let v_6 = (acc + x_5);
  let v_7 = (x_4 + v_6);
  return v_7;
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
  let col = u.nBase + gid.x * 4u;
  let row = gid.y * 4u;
  let nEnd = min(1024u, u.nEnd);
  let mEnd = (u.d0 * u.d1);
  if (col >= nEnd || row >= mEnd) { return; }
  let a0Row = (0u + min(row + 0u, mEnd - 1u) * 4096u) / 4u;
  let a1Row = (0u + min(row + 1u, mEnd - 1u) * 4096u) / 4u;
  let a2Row = (0u + min(row + 2u, mEnd - 1u) * 4096u) / 4u;
  let a3Row = (0u + min(row + 3u, mEnd - 1u) * 4096u) / 4u;
  let bCol = (0u + col) / 4u;
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  if (row + 3u < mEnd) {
    for (var kk = 0u; kk < 1024u; kk++) {
      let a0 = b1[a0Row + kk];
      let a1 = b1[a1Row + kk];
      let a2 = b1[a2Row + kk];
      let a3 = b1[a3Row + kk];
      let w0 = b0[bCol + (kk * 4u + 0u) * 256u];
      let w1 = b0[bCol + (kk * 4u + 1u) * 256u];
      let w2 = b0[bCol + (kk * 4u + 2u) * 256u];
      let w3 = b0[bCol + (kk * 4u + 3u) * 256u];
      acc0 += a0.x * w0 + a0.y * w1 + a0.z * w2 + a0.w * w3;
      acc1 += a1.x * w0 + a1.y * w1 + a1.z * w2 + a1.w * w3;
      acc2 += a2.x * w0 + a2.y * w1 + a2.z * w2 + a2.w * w3;
      acc3 += a3.x * w0 + a3.y * w1 + a3.z * w2 + a3.w * w3;
    }
  } else {
    if (row + 0u < mEnd) {
      for (var kk = 0u; kk < 1024u; kk++) {
        let a0 = b1[a0Row + kk];
        let w0 = b0[bCol + (kk * 4u + 0u) * 256u];
        let w1 = b0[bCol + (kk * 4u + 1u) * 256u];
        let w2 = b0[bCol + (kk * 4u + 2u) * 256u];
        let w3 = b0[bCol + (kk * 4u + 3u) * 256u];
        acc0 += a0.x * w0 + a0.y * w1 + a0.z * w2 + a0.w * w3;
      }
    }
    if (row + 1u < mEnd) {
      for (var kk = 0u; kk < 1024u; kk++) {
        let a1 = b1[a1Row + kk];
        let w0 = b0[bCol + (kk * 4u + 0u) * 256u];
        let w1 = b0[bCol + (kk * 4u + 1u) * 256u];
        let w2 = b0[bCol + (kk * 4u + 2u) * 256u];
        let w3 = b0[bCol + (kk * 4u + 3u) * 256u];
        acc1 += a1.x * w0 + a1.y * w1 + a1.z * w2 + a1.w * w3;
      }
    }
    if (row + 2u < mEnd) {
      for (var kk = 0u; kk < 1024u; kk++) {
        let a2 = b1[a2Row + kk];
        let w0 = b0[bCol + (kk * 4u + 0u) * 256u];
        let w1 = b0[bCol + (kk * 4u + 1u) * 256u];
        let w2 = b0[bCol + (kk * 4u + 2u) * 256u];
        let w3 = b0[bCol + (kk * 4u + 3u) * 256u];
        acc2 += a2.x * w0 + a2.y * w1 + a2.z * w2 + a2.w * w3;
      }
    }
  }
  let m_0 = row + 0u;
  let n_1 = col + 0u;
  let i_2 = m_0 % (u.d1);
  let i_3 = m_0 / (u.d1);
  if (row + 0u < mEnd && col + 0u < nEnd) { b4[0u + m_0 * 1024u + n_1] = epilogue(acc0.x, i_3, i_2, n_1, 0u + m_0 * 1024u + n_1); }
  let n_8 = col + 1u;
  if (row + 0u < mEnd && col + 1u < nEnd) { b4[0u + m_0 * 1024u + n_8] = epilogue(acc0.y, i_3, i_2, n_8, 0u + m_0 * 1024u + n_8); }
  let n_9 = col + 2u;
  if (row + 0u < mEnd && col + 2u < nEnd) { b4[0u + m_0 * 1024u + n_9] = epilogue(acc0.z, i_3, i_2, n_9, 0u + m_0 * 1024u + n_9); }
  let n_10 = col + 3u;
  if (row + 0u < mEnd && col + 3u < nEnd) { b4[0u + m_0 * 1024u + n_10] = epilogue(acc0.w, i_3, i_2, n_10, 0u + m_0 * 1024u + n_10); }
  let m_11 = row + 1u;
  let i_12 = m_11 % (u.d1);
  let i_13 = m_11 / (u.d1);
  if (row + 1u < mEnd && col + 0u < nEnd) { b4[0u + m_11 * 1024u + n_1] = epilogue(acc1.x, i_13, i_12, n_1, 0u + m_11 * 1024u + n_1); }
  if (row + 1u < mEnd && col + 1u < nEnd) { b4[0u + m_11 * 1024u + n_8] = epilogue(acc1.y, i_13, i_12, n_8, 0u + m_11 * 1024u + n_8); }
  if (row + 1u < mEnd && col + 2u < nEnd) { b4[0u + m_11 * 1024u + n_9] = epilogue(acc1.z, i_13, i_12, n_9, 0u + m_11 * 1024u + n_9); }
  if (row + 1u < mEnd && col + 3u < nEnd) { b4[0u + m_11 * 1024u + n_10] = epilogue(acc1.w, i_13, i_12, n_10, 0u + m_11 * 1024u + n_10); }
  let m_14 = row + 2u;
  let i_15 = m_14 % (u.d1);
  let i_16 = m_14 / (u.d1);
  if (row + 2u < mEnd && col + 0u < nEnd) { b4[0u + m_14 * 1024u + n_1] = epilogue(acc2.x, i_16, i_15, n_1, 0u + m_14 * 1024u + n_1); }
  if (row + 2u < mEnd && col + 1u < nEnd) { b4[0u + m_14 * 1024u + n_8] = epilogue(acc2.y, i_16, i_15, n_8, 0u + m_14 * 1024u + n_8); }
  if (row + 2u < mEnd && col + 2u < nEnd) { b4[0u + m_14 * 1024u + n_9] = epilogue(acc2.z, i_16, i_15, n_9, 0u + m_14 * 1024u + n_9); }
  if (row + 2u < mEnd && col + 3u < nEnd) { b4[0u + m_14 * 1024u + n_10] = epilogue(acc2.w, i_16, i_15, n_10, 0u + m_14 * 1024u + n_10); }
  let m_17 = row + 3u;
  let i_18 = m_17 % (u.d1);
  let i_19 = m_17 / (u.d1);
  if (row + 3u < mEnd && col + 0u < nEnd) { b4[0u + m_17 * 1024u + n_1] = epilogue(acc3.x, i_19, i_18, n_1, 0u + m_17 * 1024u + n_1); }
  if (row + 3u < mEnd && col + 1u < nEnd) { b4[0u + m_17 * 1024u + n_8] = epilogue(acc3.y, i_19, i_18, n_8, 0u + m_17 * 1024u + n_8); }
  if (row + 3u < mEnd && col + 2u < nEnd) { b4[0u + m_17 * 1024u + n_9] = epilogue(acc3.z, i_19, i_18, n_9, 0u + m_17 * 1024u + n_9); }
  if (row + 3u < mEnd && col + 3u < nEnd) { b4[0u + m_17 * 1024u + n_10] = epilogue(acc3.w, i_19, i_18, n_10, 0u + m_17 * 1024u + n_10); }
}
