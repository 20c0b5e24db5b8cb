"""Export of a trained network to other runtimes: ONNX (`minidl RUN_DIR --emit onnx`).

`onnx_graph.to_onnx` writes a built and trained `Program` as an `onnx.ModelProto`, one entry
per module class in its `EXPORTS`; `onnx_inputs` writes the model's inputs and the encoding of
categorical columns inside it. It sits beside the run folders, above the compiler (it reads
a `Program`) and below the command line, which only wires `--emit onnx` to it. The optional
`onnx` package is imported only when exporting; nothing is imported here.
"""

__all__: list[str] = []
