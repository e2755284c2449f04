"""Results: the snapshot taken at close, the figures every surface shows, exports."""
