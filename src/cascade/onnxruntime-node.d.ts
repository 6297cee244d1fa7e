// onnxruntime-node 1.16.3 (the last release whose install runs no script: later ones fetch CUDA files from
// NuGet at install on linux/x64) re-exports onnxruntime-common but ships no declarations of its own.
declare module 'onnxruntime-node' {
  export * from 'onnxruntime-common';
}
