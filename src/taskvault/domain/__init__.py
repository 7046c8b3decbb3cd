"""The task model: pure values and rules, no I/O of any kind."""
