"""Run folders: what `--train` writes, and reading, checking and loading it again.

`run_folder` writes every file atomically into a new folder and reads the weights back
(nothing unpickled); `run_files` validates each file alone, `folder_checks` how they agree
with each other and with `spec.mdl`; `checkpoint` keeps what `--resume` needs while a run
trains; `saved_run` opens a finished folder and rebuilds its trained `Program`, which is
what `minidl.load` returns. A damaged folder is a `run_folder.RunFolderError` naming the file.

It sits below the command line (which drives training, `--predict` and `--resume` on these
folders) and above the compiler (it rebuilds programs), so that `import minidl` and
`minidl.load` never load `minidl.cli`. Nothing is imported here: `minidl.runs.run_folder`
imports the framework (torch), and the summary command must not.
"""

__all__: list[str] = []
