// `rhc/onnx`: the ONNX backend on an IR graph, for callers that hold a graph and weights (from
// `rhc`'s lowerSpec and initWeights or loadCheckpoint): write a standard ONNX model, or run one
// with onnxruntime-node on the CPU (rhc's fast CPU path; the native library loads on the first
// session). From a spec in one call: compileOnnx in `rhc`. Node only.

export {
  DEFAULT_OPSET,
  RHC_VERSION,
  exportOnnx,
  isRhcOnnxFile,
  onnxMetadata,
  prepareForOnnx,
  renderModel,
  runOnnx,
  openSession,
  runLogits,
  runSession,
  idsTensor,
  floatTensor,
  type ExportOptions,
  type ExportResult,
  type FeedTensor,
} from '../backends/onnx/index.ts';
