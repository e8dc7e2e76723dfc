"""Faces: a person's identity, FACS expression on MediaPipe's 3D face mesh, photographic
rendering (numpy rasteriser and shading), the procedural and diffusers backends, the optional
CLIP critic, and judges from pip wheels used only by tests and benchmarks. The diffusers
backend uses the procedural face as its layout guide.
"""
