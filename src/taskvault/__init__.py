"""taskvault: a terminal task manager whose every change is durable before it is acknowledged."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("taskvault")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
