"""`minidl RUN_DIR --predict DIR|IMAGE...`: a trained image classifier's predictions.

A folder means every PNG or JPEG in it and in its subfolders (a test folder of class
subfolders works as it is); files are taken as given. Each row is the image's `file`, then
`prediction` and one `p_LABEL` column per class (or `output` for one output), as
`--predict` writes for CSV rows. Images are read as in training: the spec's `size`
resizes, and they are converted to the channels the network was trained on.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from minidl.cli.predict import output_columns
from minidl.compiler.predictions import classes_of, decide, network_outputs
from minidl.compiler.program import Program
from minidl.data import DataError, read_images
from minidl.data.images import IMAGE_SUFFIXES, image_files
from minidl.lang import ir
from minidl.runs.run_folder import write_atomic

__all__ = ["image_inputs", "predict_images"]


def image_inputs(paths: list[Path]) -> list[Path]:
    """The image files that `paths` (folders or files) name, in order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = image_files(path)
            for folder in sorted(p for p in path.iterdir() if p.is_dir()):
                inside.extend(image_files(folder))
            if not inside:
                raise DataError(
                    str(path), 0, "E372", f"`{path}` holds no PNG or JPEG image", "check the path"
                )
            files.extend(inside)
        elif not path.exists():
            raise DataError(str(path), 0, "E301", f"no file `{path}`", "check the path")
        elif path.suffix.lower() not in IMAGE_SUFFIXES:
            raise DataError(
                str(path),
                0,
                "E378",
                f"`{path}` is not a PNG or JPEG image, and this run was trained on images",
                "give image files or a folder of them",
            )
        else:
            files.append(path)
    return files


def predict_images(program: Program, paths: list[Path], out: Path | None) -> int:
    """Write the predictions for the images `paths` name to `out` (standard output if
    None); return the number of images. Faults are `DataError`s, and nothing is written."""
    image = program.data[0].shape
    assert not isinstance(image, int), "predict_images needs a network trained on images"
    data = program.spec.data
    size = data.size if isinstance(data, ir.ImagesData) else None
    files = image_inputs(paths)
    pixels = read_images(files, size, image[0])
    if tuple(pixels.shape[1:]) != image:
        found = "x".join(str(v) for v in pixels.shape[1:])
        raise DataError(
            str(files[0]),
            0,
            "E373",
            f"`{files[0]}` is {found} (channels x height x width), but the network was "
            f"trained on {'x'.join(str(v) for v in image)} images",
            f"resize the images to {image[1]}x{image[2]}, or train with `size=[H, W]`",
        )
    outputs = network_outputs(program, pixels)
    indices, columns = decide(program, outputs)
    classes = classes_of(program, outputs.shape[-1])
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["file", *output_columns(program, outputs.shape[-1])])
    for file, index, values in zip(files, indices.tolist(), columns.tolist(), strict=True):
        writer.writerow([str(file), classes[index], *(repr(float(v)) for v in values)])
    if out is None:
        sys.stdout.write(text.getvalue())
        sys.stdout.flush()
    else:
        write_atomic(out, text.getvalue().encode("utf-8"))
    return len(files)
