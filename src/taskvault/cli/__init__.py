"""The command-line interface: one-shot commands and scripts."""
