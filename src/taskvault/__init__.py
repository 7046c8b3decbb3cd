"""taskvault: a terminal task manager whose every change is durable before it is acknowledged."""

# The one place the version is written: pyproject.toml reads it from here (hatch), and
# importlib.metadata is not used to look it up because importing it costs ~45 ms at start-up.
__version__ = "0.1.0"
