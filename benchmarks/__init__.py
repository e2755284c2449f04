"""Pulso's benchmarks: ``python -m benchmarks [NAME ...]`` runs them and prints a table each."""
