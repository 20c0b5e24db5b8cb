"""`python -m minidl.lsp`: the MDL language server over stdio."""

from minidl.lsp import main

main()
