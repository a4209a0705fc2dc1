"""The shared GAN engine: the fit session, the training loop, losses, layers, callbacks, seeded
randomness, threads and devices.

Nothing in ``synthgan.core`` knows about tables, images or differential privacy: the session
drives whatever networks and step model an estimator describes, and reaches DP through the
``PrivacyWrapper`` protocol it defines (implemented by :mod:`synthgan.privacy`).
"""
