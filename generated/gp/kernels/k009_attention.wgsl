// rhc attention kernel: combine 64 partial softmaxes into attention's output [d0, 16, d1, 64]
// u.d0..: the run-time sizes in the plan's symbol order
struct Params { d0: u32, d1: u32, d2: u32, d3: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> b0: array<f32>;
@group(0) @binding(2) var<storage, read_write> b1: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lix: u32) {
  _ = u.d0;
  _ = &b0;
  _ = &b1;
  let i_0 = wid.x % 16u;
  let i_1 = wid.x / 16u;
  let i = wid.y;
  let len = max(16u, ((u.d2 + u.d1) + 63u) / 64u);
  let chunks = (min(i + (u.d2) + 1u, (u.d2 + u.d1)) + len - 1u) / len;
  var mx = -3.0e38f;
  for (var c = 0u; c < chunks; c++) { mx = max(mx, b0[((wid.x * 4u + i) * 64u + c) * 66u]); }
  for (var d = lix; d < 64u; d += 64u) {
    var acc = 0.0f;
    var total = 0.0f;
    for (var c = 0u; c < chunks; c++) {
      let at = ((wid.x * 4u + i) * 64u + c) * 66u;
      let w = exp(b0[at] - mx);
      total += w * b0[at + 1u];
      acc += w * b0[at + 2u + d];
    }
    b1[i_1 * (1024u * u.d1) + i_0 * 64u + i * 1024u + d] = acc / total;
  }
}
