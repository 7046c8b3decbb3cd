"""Commands: one registry that feeds parsing, help, completion and the docs."""
