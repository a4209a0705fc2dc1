"""Image synthesis: DCGAN and class-conditional GAN synthesizers.

``DCGANSynthesizer().fit(images).sample(n)`` and
``ConditionalGANSynthesizer().fit(images, labels).sample(labels={3: 100})``; inputs are arrays,
tensors, torchvision-style datasets, ImageFolder-style folders or ``.npz`` files
(:func:`synthgan.image.readers.read_images`).
"""

from synthgan.image.cgan import ConditionalGANSynthesizer
from synthgan.image.dcgan import DCGANSynthesizer
from synthgan.image.networks import check_size, supported_sizes
from synthgan.image.readers import read_images
from synthgan.image.writers import write_images

__all__ = [
    "ConditionalGANSynthesizer",
    "DCGANSynthesizer",
    "check_size",
    "read_images",
    "supported_sizes",
    "write_images",
]
