"""The desktop GUI: the composition root (``app``), the controllers that run operations on
the qasync loop and re-emit typed signals for the views, and the end-to-end smoke checks."""
