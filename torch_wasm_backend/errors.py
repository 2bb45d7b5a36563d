"""The compiler's base error, shared by every stage (none of which needs torch to raise it)."""


class Unsupported(Exception):
    """The graph uses something this compiler cannot lower; the message says what. The
    backend then runs the graph in eager PyTorch (strict mode: raises)."""
