"""Optional CPU kernels for the encoders' 3x3 convolutions, ReLUs and 2x2 max-pool.

XLA's CPU runs a convolution on one thread and differentiates it and the
max-pool slowly; these run them as loops of matrix products over a few images
at a time (conv.py), by Winograd's F(2x2, 3x3) with the ReLU and pool in the
same loop (winograd.py, fused_conv.py), and pool with a one-select gradient
(pooling.py). BENCHMARKS.md has the figures. The encoders reach them only
through `conv_relu_pool`, when emojax.models.conv_backend selects "cpu".
"""
from emojax.models.cpu.encoder import conv_relu_pool
