"""The compiler's errors, shared by every stage (none of which needs torch to raise them)."""


class Unsupported(Exception):
    """The graph uses something this compiler cannot lower; the message says what. The
    backend then runs the graph in eager PyTorch (strict mode: raises)."""


class IRError(ValueError):
    """A malformed IR program (``verify``): a bug in a stage, never the user's input."""
