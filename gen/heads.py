"""The list of heads: importing this module registers every head with gen.core.registry.

A new head is a new package plus one line here. The registry imports this module the first
time it is asked about heads, so ``import gen`` itself stays light (no torch).
"""

from gen import image, music  # noqa: F401
