"""The shared GAN engine: training loop, losses, layers, callbacks and seeded randomness.

Nothing in ``synthgan.core`` knows about tables or images.
"""
