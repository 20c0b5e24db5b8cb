"""The MDL grammar (`mdl.lark`), shipped inside the installed package as `minidl.grammar`."""
