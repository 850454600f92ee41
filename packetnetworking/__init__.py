"""Write a freshly installed bare-metal server's network configuration."""

__version__ = "1.0.0"
