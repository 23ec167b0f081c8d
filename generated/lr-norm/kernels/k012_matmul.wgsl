// rhc matmul kernel: [d0, d3, 1024] @ [1024, 50257], vec4 blocks, B transposed
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32, nBase: u32, nEnd: u32, bRowBase: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> b2: array<f32>;
@group(0) @binding(4) var<storage, read_write> b3: array<f32>;

fn st_b2(i: u32, v: f32) {
  if (i < 32164480u) { b2[i] = v; return; }
  b3[i - 32164480u] = v; return;
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lix: u32) {
  _ = u.d0;
  _ = &b0;
  _ = &b1;
  _ = &b2;
  _ = &b3;
  let col = u.nBase + gid.x * 4u;
  let row = gid.y * 4u;
  let nEnd = min(50257u, u.nEnd);
  let mEnd = (u.d0 * u.d3);
  if (col >= nEnd || row >= mEnd) { return; }
  let a0Row = (0u + min(row + 0u, mEnd - 1u) * 1024u) / 4u;
  let a1Row = (0u + min(row + 1u, mEnd - 1u) * 1024u) / 4u;
  let a2Row = (0u + min(row + 2u, mEnd - 1u) * 1024u) / 4u;
  let a3Row = (0u + min(row + 3u, mEnd - 1u) * 1024u) / 4u;
  let b0Row = (0u + (min(col + 0u, nEnd - 1u) - u.bRowBase) * 1024u) / 4u;
  let b1Row = (0u + (min(col + 1u, nEnd - 1u) - u.bRowBase) * 1024u) / 4u;
  let b2Row = (0u + (min(col + 2u, nEnd - 1u) - u.bRowBase) * 1024u) / 4u;
  let b3Row = (0u + (min(col + 3u, nEnd - 1u) - u.bRowBase) * 1024u) / 4u;
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
      let w0 = b0[b0Row + kk];
      let w1 = b0[b1Row + kk];
      let w2 = b0[b2Row + kk];
      let w3 = b0[b3Row + kk];
      acc0 += vec4<f32>(dot(a0, w0), dot(a0, w1), dot(a0, w2), dot(a0, w3));
      acc1 += vec4<f32>(dot(a1, w0), dot(a1, w1), dot(a1, w2), dot(a1, w3));
      acc2 += vec4<f32>(dot(a2, w0), dot(a2, w1), dot(a2, w2), dot(a2, w3));
      acc3 += vec4<f32>(dot(a3, w0), dot(a3, w1), dot(a3, w2), dot(a3, w3));
    }
  } else {
    if (row + 0u < mEnd) {
      for (var kk = 0u; kk < 256u; kk++) {
        let a0 = b1[a0Row + kk];
        let w0 = b0[b0Row + kk];
        let w1 = b0[b1Row + kk];
        let w2 = b0[b2Row + kk];
        let w3 = b0[b3Row + kk];
        acc0 += vec4<f32>(dot(a0, w0), dot(a0, w1), dot(a0, w2), dot(a0, w3));
      }
    }
    if (row + 1u < mEnd) {
      for (var kk = 0u; kk < 256u; kk++) {
        let a1 = b1[a1Row + kk];
        let w0 = b0[b0Row + kk];
        let w1 = b0[b1Row + kk];
        let w2 = b0[b2Row + kk];
        let w3 = b0[b3Row + kk];
        acc1 += vec4<f32>(dot(a1, w0), dot(a1, w1), dot(a1, w2), dot(a1, w3));
      }
    }
    if (row + 2u < mEnd) {
      for (var kk = 0u; kk < 256u; kk++) {
        let a2 = b1[a2Row + kk];
        let w0 = b0[b0Row + kk];
        let w1 = b0[b1Row + kk];
        let w2 = b0[b2Row + kk];
        let w3 = b0[b3Row + kk];
        acc2 += vec4<f32>(dot(a2, w0), dot(a2, w1), dot(a2, w2), dot(a2, w3));
      }
    }
  }
  let m_0 = row + 0u;
  let n_1 = col + 0u;
  let i_2 = m_0 % (u.d3);
  let i_3 = m_0 / (u.d3);
  if (row + 0u < mEnd && col + 0u < nEnd) { st_b2(0u + m_0 * 50257u + n_1, acc0.x); }
  let n_4 = col + 1u;
  if (row + 0u < mEnd && col + 1u < nEnd) { st_b2(0u + m_0 * 50257u + n_4, acc0.y); }
  let n_5 = col + 2u;
  if (row + 0u < mEnd && col + 2u < nEnd) { st_b2(0u + m_0 * 50257u + n_5, acc0.z); }
  let n_6 = col + 3u;
  if (row + 0u < mEnd && col + 3u < nEnd) { st_b2(0u + m_0 * 50257u + n_6, acc0.w); }
  let m_7 = row + 1u;
  let i_8 = m_7 % (u.d3);
  let i_9 = m_7 / (u.d3);
  if (row + 1u < mEnd && col + 0u < nEnd) { st_b2(0u + m_7 * 50257u + n_1, acc1.x); }
  if (row + 1u < mEnd && col + 1u < nEnd) { st_b2(0u + m_7 * 50257u + n_4, acc1.y); }
  if (row + 1u < mEnd && col + 2u < nEnd) { st_b2(0u + m_7 * 50257u + n_5, acc1.z); }
  if (row + 1u < mEnd && col + 3u < nEnd) { st_b2(0u + m_7 * 50257u + n_6, acc1.w); }
  let m_10 = row + 2u;
  let i_11 = m_10 % (u.d3);
  let i_12 = m_10 / (u.d3);
  if (row + 2u < mEnd && col + 0u < nEnd) { st_b2(0u + m_10 * 50257u + n_1, acc2.x); }
  if (row + 2u < mEnd && col + 1u < nEnd) { st_b2(0u + m_10 * 50257u + n_4, acc2.y); }
  if (row + 2u < mEnd && col + 2u < nEnd) { st_b2(0u + m_10 * 50257u + n_5, acc2.z); }
  if (row + 2u < mEnd && col + 3u < nEnd) { st_b2(0u + m_10 * 50257u + n_6, acc2.w); }
  let m_13 = row + 3u;
  let i_14 = m_13 % (u.d3);
  let i_15 = m_13 / (u.d3);
  if (row + 3u < mEnd && col + 0u < nEnd) { st_b2(0u + m_13 * 50257u + n_1, acc3.x); }
  if (row + 3u < mEnd && col + 1u < nEnd) { st_b2(0u + m_13 * 50257u + n_4, acc3.y); }
  if (row + 3u < mEnd && col + 2u < nEnd) { st_b2(0u + m_13 * 50257u + n_5, acc3.z); }
  if (row + 3u < mEnd && col + 3u < nEnd) { st_b2(0u + m_13 * 50257u + n_6, acc3.w); }
}
