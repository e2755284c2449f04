"""The composition root: the entry points that put Pulso together.

``pulso.app`` builds the python-telegram-bot ``Application`` (the runtime's
services from :mod:`pulso.bootstrap`, the edge's handlers from
:mod:`handlers`); ``pulso.cli`` is the ``pulso`` command. Only this package
may import every other one; nothing imports it (but ``bot/__main__.py``, the
process entry of ``python -m bot``).
"""
