"""Image synthesis: DCGAN and class-conditional GAN synthesizers.

``DCGANSynthesizer().fit(images).sample(n)`` and
``ConditionalGANSynthesizer().fit(images, labels).sample(labels={3: 100})``; inputs are arrays,
tensors, torchvision-style datasets, ImageFolder-style folders or ``.npz`` files
(:func:`synthgan.image.data.read_images`).
"""

from synthgan.image.cgan import ConditionalGANSynthesizer
from synthgan.image.data import read_images, supported_sizes, write_images
from synthgan.image.dcgan import DCGANSynthesizer

__all__ = [
    "ConditionalGANSynthesizer",
    "DCGANSynthesizer",
    "read_images",
    "supported_sizes",
    "write_images",
]
